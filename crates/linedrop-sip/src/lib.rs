//! SIP for linedrop.
//!
//! The protocol logic is sans-IO: every module here turns input (bytes, and later `now`) into
//! output, and never touches a socket or reads a clock. A thin tokio driver, added later, owns the
//! sockets and the one real clock.
//!
//! # Layout
//!
//! - [`message`]: the SIP message codec (RFC 3261 §7, §20, §25; RFC 4475 and RFC 5118 torture
//!   messages). Parsing of datagrams ([`message::parse_message`]) and of streams
//!   ([`message::Framer`]), typed headers, serialisation and the builders the user agent uses to
//!   answer requests, including the "salvage" path that lets the agent answer a malformed
//!   request with `400`/`505`/`513`.
//!
//! The other modules (transactions, the user agent, the tokio driver, ...) build on
//! [`message`] and document themselves.
//!
//! # Panics
//!
//! Nothing in this crate panics on peer input. Malformed input is an `Err`; an `unwrap` is only
//! used where an internal invariant guarantees success, and says so in an `// Invariant:` comment.

pub mod driver;
pub mod message;
pub mod sdp;
pub mod transaction;
pub mod ua;
