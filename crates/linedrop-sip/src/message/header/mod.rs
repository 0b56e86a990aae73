//! Headers: the ordered raw list ([`Headers`]) and the typed values read from it.
//!
//! One file per typed header family, each with its print/parse tests.

mod accessors;
mod cseq;
mod map;
pub(crate) mod memo;
mod name;
mod name_addr;
pub(crate) mod parsed;
mod reason;
mod simple;
mod via;

pub use cseq::CSeq;
pub use map::{HeaderField, Headers};
pub use name::HeaderName;
pub use name_addr::{Contacts, DisplayName, NameAddr};
pub use reason::Reason;
pub use simple::{MediaType, Refresher, RetryAfter, SessionExpires};
pub use via::{Transport, Via, BRANCH_MAGIC_COOKIE};

pub(crate) use simple::{parse_content_length, parse_max_forwards};
