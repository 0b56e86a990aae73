//! What RFC 4475 and RFC 5118 expect of each torture message, and what linedrop does with it.
//!
//! One row per file in this folder. `codec` and `answer` are what the message codec does when the
//! file arrives as one UDP datagram (asserted by `tests/torture.rs`); `upper_layer` is what the
//! RFC asks of the layers above the codec (transaction layer, user agent, transport), for their
//! tests to reuse: `#[path = "data/torture/expected.rs"] mod expected;`. `EXPECTED.md` beside
//! this file is the same table for people.

#![allow(dead_code)]

use linedrop_sip::message::{HeaderError, HeaderName, ParseError, UriError};

/// What `parse_message` does with the file.
#[derive(Debug)]
pub enum Codec {
    /// It returns the message.
    Parses,
    /// It refuses it with exactly this error.
    Refuses(ParseError),
}

/// What the agent sends back, decided by the codec alone.
#[derive(Debug, PartialEq, Eq)]
pub enum Answer {
    /// Nothing: the message goes up; `upper_layer` says what happens there.
    PassUp,
    /// A response with this status, from `ParseError::response_hint` and
    /// `salvage_request_parts`.
    Status(u16),
    /// Nothing: a malformed response is dropped, never answered.
    Drop,
}

/// One torture message.
#[derive(Debug)]
pub struct Case {
    /// The file name in this folder.
    pub file: &'static str,
    /// The RFC section that describes it.
    pub rfc: &'static str,
    /// That section's title.
    pub title: &'static str,
    /// What the codec does.
    pub codec: Codec,
    /// What the codec makes the agent answer.
    pub answer: Answer,
    /// What the RFC asks of the layers above (empty when nothing is left to do).
    pub upper_layer: &'static str,
}

use Answer::{Drop, PassUp, Status};
use Codec::{Parses, Refuses};

const fn bad(name: HeaderName, fault: HeaderError) -> Codec {
    Refuses(ParseError::BadHeader { name, fault })
}

/// Every message, RFC 4475 in section order, then RFC 5118.
#[rustfmt::skip]
pub const CASES: &[Case] = &[
    // ---- RFC 4475 §3.1.1: valid messages; parsers must accept them ----
    Case { file: "wsinv.dat", rfc: "RFC 4475 §3.1.1.1", title: "A Short Tortuous INVITE", codec: Parses, answer: PassUp, upper_layer: "" },
    Case { file: "intmeth.dat", rfc: "RFC 4475 §3.1.1.2", title: "Wide Range of Valid Characters", codec: Parses, answer: PassUp, upper_layer: "UAS: 501 Not Implemented (unknown method)" },
    Case { file: "esc01.dat", rfc: "RFC 4475 §3.1.1.3", title: "Valid Use of the % Escaping Mechanism", codec: Parses, answer: PassUp, upper_layer: "compare URIs after unescaping (RFC 3261 §19.1.4)" },
    Case { file: "escnull.dat", rfc: "RFC 4475 §3.1.1.4", title: "Escaped Nulls in URIs", codec: Parses, answer: PassUp, upper_layer: "registrar: two distinct contacts; never shorten a user at %00" },
    Case { file: "esc02.dat", rfc: "RFC 4475 §3.1.1.5", title: "Use of % When It Is Not an Escape", codec: Parses, answer: PassUp, upper_layer: "UAS: 501 Not Implemented (RE%47IST%45R is not REGISTER)" },
    Case { file: "lwsdisp.dat", rfc: "RFC 4475 §3.1.1.6", title: "Message with No LWS between Display Name and <", codec: Parses, answer: PassUp, upper_layer: "" },
    Case { file: "longreq.dat", rfc: "RFC 4475 §3.1.1.7", title: "Long Values in Header Fields", codec: Parses, answer: PassUp, upper_layer: "" },
    Case { file: "dblreq.dat", rfc: "RFC 4475 §3.1.1.8", title: "Extra Trailing Octets in a UDP Datagram", codec: Parses, answer: PassUp, upper_layer: "handle the REGISTER; the trailing INVITE is noise (RFC 3261 §18.3)" },
    Case { file: "semiuri.dat", rfc: "RFC 4475 §3.1.1.9", title: "Semicolon-Separated Parameters in URI User Part", codec: Parses, answer: PassUp, upper_layer: "" },
    Case { file: "transports.dat", rfc: "RFC 4475 §3.1.1.10", title: "Varied and Unknown Transport Types", codec: Parses, answer: PassUp, upper_layer: "" },
    Case { file: "mpart01.dat", rfc: "RFC 4475 §3.1.1.11", title: "Multipart MIME Message", codec: Parses, answer: PassUp, upper_layer: "" },
    Case { file: "unreason.dat", rfc: "RFC 4475 §3.1.1.12", title: "Unusual Reason Phrase", codec: Parses, answer: PassUp, upper_layer: "" },
    Case { file: "noreason.dat", rfc: "RFC 4475 §3.1.1.13", title: "Empty Reason Phrase", codec: Parses, answer: PassUp, upper_layer: "" },
    // ---- RFC 4475 §3.1.2: invalid messages ----
    Case { file: "badinv01.dat", rfc: "RFC 4475 §3.1.2.1", title: "Extraneous Header Field Separators", codec: bad(HeaderName::Via, HeaderError::BadParam), answer: Status(400), upper_layer: "" },
    Case { file: "clerr.dat", rfc: "RFC 4475 §3.1.2.2", title: "Content Length Larger Than Message", codec: Refuses(ParseError::ContentLengthExceedsBody { declared: 9999, available: 154 }), answer: Status(400), upper_layer: "over TCP: the Framer waits for more bytes; the transport closes an idle connection" },
    Case { file: "ncl.dat", rfc: "RFC 4475 §3.1.2.3", title: "Negative Content-Length", codec: bad(HeaderName::ContentLength, HeaderError::BadNumber), answer: Status(400), upper_layer: "over TCP: framing lost (FrameError::fatal), close the connection" },
    Case { file: "scalar02.dat", rfc: "RFC 4475 §3.1.2.4", title: "Request Scalar Fields with Overlarge Values", codec: bad(HeaderName::CSeq, HeaderError::OutOfRange), answer: Status(400), upper_layer: "" },
    Case { file: "scalarlg.dat", rfc: "RFC 4475 §3.1.2.5", title: "Response Scalar Fields with Overlarge Values", codec: bad(HeaderName::CSeq, HeaderError::OutOfRange), answer: Drop, upper_layer: "" },
    Case { file: "quotbal.dat", rfc: "RFC 4475 §3.1.2.6", title: "Unterminated Quoted String in Display Name", codec: bad(HeaderName::To, HeaderError::UnterminatedQuote), answer: Status(400), upper_layer: "" },
    Case { file: "ltgtruri.dat", rfc: "RFC 4475 §3.1.2.7", title: "<> Enclosing Request-URI", codec: Refuses(ParseError::BadRequestUri(UriError::Bracketed)), answer: Status(400), upper_layer: "" },
    Case { file: "lwsruri.dat", rfc: "RFC 4475 §3.1.2.8", title: "Malformed SIP Request-URI (embedded LWS)", codec: Refuses(ParseError::BadRequestUri(UriError::Whitespace)), answer: Status(400), upper_layer: "" },
    Case { file: "lwsstart.dat", rfc: "RFC 4475 §3.1.2.9", title: "Multiple SP Separating Request-Line Elements", codec: Parses, answer: PassUp, upper_layer: "liberal choice allowed by the RFC; the extra SP are never written back" },
    Case { file: "trws.dat", rfc: "RFC 4475 §3.1.2.10", title: "SP Characters at End of Request-Line", codec: Parses, answer: PassUp, upper_layer: "liberal choice allowed by the RFC; the extra SP are never written back" },
    Case { file: "escruri.dat", rfc: "RFC 4475 §3.1.2.11", title: "Escaped Headers in SIP Request-URI", codec: Refuses(ParseError::BadRequestUri(UriError::HeadersNotAllowed)), answer: Status(400), upper_layer: "" },
    Case { file: "baddate.dat", rfc: "RFC 4475 §3.1.2.12", title: "Invalid Time Zone in Date Header Field", codec: Parses, answer: PassUp, upper_layer: "Date is not used: accept (the RFC's liberal choice)" },
    Case { file: "regbadct.dat", rfc: "RFC 4475 §3.1.2.13", title: "Failure to Enclose name-addr URI in <>", codec: bad(HeaderName::Contact, HeaderError::MissingAngleBrackets), answer: Status(400), upper_layer: "" },
    Case { file: "badaspec.dat", rfc: "RFC 4475 §3.1.2.14", title: "Spaces within addr-spec", codec: bad(HeaderName::To, HeaderError::BadUri(UriError::Whitespace)), answer: Status(400), upper_layer: "" },
    Case { file: "baddn.dat", rfc: "RFC 4475 §3.1.2.15", title: "Non-token Characters in Display Name", codec: bad(HeaderName::From, HeaderError::BadDisplayName), answer: Status(400), upper_layer: "" },
    Case { file: "badvers.dat", rfc: "RFC 4475 §3.1.2.16", title: "Unknown Protocol Version", codec: Refuses(ParseError::UnsupportedVersion), answer: Status(505), upper_layer: "" },
    Case { file: "mismatch01.dat", rfc: "RFC 4475 §3.1.2.17", title: "Start Line and CSeq Method Mismatch", codec: Refuses(ParseError::CSeqMethodMismatch), answer: Status(400), upper_layer: "" },
    Case { file: "mismatch02.dat", rfc: "RFC 4475 §3.1.2.18", title: "Unknown Method with CSeq Method Mismatch", codec: Refuses(ParseError::CSeqMethodMismatch), answer: Status(400), upper_layer: "400, not 501" },
    Case { file: "bigcode.dat", rfc: "RFC 4475 §3.1.2.19", title: "Overlarge Response Code", codec: Refuses(ParseError::BadStatusCode), answer: Drop, upper_layer: "" },
    // ---- RFC 4475 §3.2: transaction layer ----
    Case { file: "badbranch.dat", rfc: "RFC 4475 §3.2.1", title: "Missing Transaction Identifier", codec: Parses, answer: PassUp, upper_layer: "transaction layer: Via::has_rfc3261_branch() is false; answer 400 statelessly or match RFC 2543-style" },
    // ---- RFC 4475 §3.3: application layer ----
    Case { file: "insuf.dat", rfc: "RFC 4475 §3.3.1", title: "Missing Required Header Fields", codec: Refuses(ParseError::MissingHeader(HeaderName::CallId)), answer: Status(400), upper_layer: "the 400 lacks From/To/Call-ID, which the request did not carry" },
    Case { file: "unkscm.dat", rfc: "RFC 4475 §3.3.2", title: "Request-URI with Unknown Scheme", codec: Parses, answer: PassUp, upper_layer: "UAS: 416 Unsupported URI Scheme (Uri::is_sip() is false); never route on To" },
    Case { file: "novelsc.dat", rfc: "RFC 4475 §3.3.3", title: "Request-URI with Known but Atypical Scheme", codec: Parses, answer: PassUp, upper_layer: "UAS: 416 Unsupported URI Scheme" },
    Case { file: "unksm2.dat", rfc: "RFC 4475 §3.3.4", title: "Unknown URI Schemes in Header Fields", codec: Parses, answer: PassUp, upper_layer: "registrar: 400 (To is not a SIP AOR); proxy: route normally" },
    Case { file: "bext01.dat", rfc: "RFC 4475 §3.3.5", title: "Proxy-Require and Require", codec: Parses, answer: PassUp, upper_layer: "UAS: 420 Bad Extension with Unsupported listing Headers::require()" },
    Case { file: "invut.dat", rfc: "RFC 4475 §3.3.6", title: "Unknown Content-Type", codec: Parses, answer: PassUp, upper_layer: "UAS: 415 Unsupported Media Type" },
    Case { file: "regaut01.dat", rfc: "RFC 4475 §3.3.7", title: "Unknown Authorization Scheme", codec: Parses, answer: PassUp, upper_layer: "registrar: 401 with a known scheme; UA that is not a registrar: 405" },
    Case { file: "multi01.dat", rfc: "RFC 4475 §3.3.8", title: "Multiple Values in Single Value Required Fields", codec: Refuses(ParseError::DuplicateHeader(HeaderName::CallId)), answer: Status(400), upper_layer: "" },
    Case { file: "mcl01.dat", rfc: "RFC 4475 §3.3.9", title: "Multiple Content-Length Values", codec: Refuses(ParseError::DuplicateHeader(HeaderName::ContentLength)), answer: Status(400), upper_layer: "over TCP: framing lost (FrameError::fatal), close the connection" },
    Case { file: "bcast.dat", rfc: "RFC 4475 §3.3.10", title: "200 OK Response with Broadcast Via Header Field Value", codec: Parses, answer: PassUp, upper_layer: "UAC: discard (more than one Via, RFC 3261 §8.1.3.3); never send to 255.255.255.255" },
    Case { file: "zeromf.dat", rfc: "RFC 4475 §3.3.11", title: "Max-Forwards of Zero", codec: Parses, answer: PassUp, upper_layer: "UAS: process normally (proxy: 483 Too Many Hops)" },
    Case { file: "cparam01.dat", rfc: "RFC 4475 §3.3.12", title: "REGISTER with a Contact Header Parameter", codec: Parses, answer: PassUp, upper_layer: "registrar: unknownparam is a Contact parameter" },
    Case { file: "cparam02.dat", rfc: "RFC 4475 §3.3.13", title: "REGISTER with a url-parameter", codec: Parses, answer: PassUp, upper_layer: "registrar: unknownparam is a URI parameter, kept in the binding" },
    Case { file: "regescrt.dat", rfc: "RFC 4475 §3.3.14", title: "REGISTER with a URL Escaped Header", codec: Parses, answer: PassUp, upper_layer: "registrar: accept; keep the escaped header in the binding" },
    Case { file: "sdp01.dat", rfc: "RFC 4475 §3.3.15", title: "Unacceptable Accept Offering", codec: Parses, answer: PassUp, upper_layer: "UAS: 406 Not Acceptable (or 400)" },
    // ---- RFC 4475 §3.4: backward compatibility ----
    Case { file: "inv2543.dat", rfc: "RFC 4475 §3.4.1", title: "INVITE with RFC 2543 Syntax", codec: Parses, answer: PassUp, upper_layer: "transaction layer: no branch, RFC 2543 matching; no From tag" },
    // ---- RFC 5118 ----
    Case { file: "ipv6-good.dat", rfc: "RFC 5118 §4.1", title: "Valid SIP Message with an IPv6 Reference", codec: Parses, answer: PassUp, upper_layer: "" },
    Case { file: "ipv6-bad.dat", rfc: "RFC 5118 §4.2", title: "Invalid SIP Message with an IPv6 Reference", codec: Refuses(ParseError::BadRequestUri(UriError::BadPort)), answer: Status(400), upper_layer: "" },
    Case { file: "port-ambiguous.dat", rfc: "RFC 5118 §4.3", title: "Port Ambiguous in a SIP URI", codec: Parses, answer: PassUp, upper_layer: "host is 2001:db8::10:5070, no port (well formed, semantically surprising)" },
    Case { file: "port-unambiguous.dat", rfc: "RFC 5118 §4.4", title: "Port Unambiguous in a SIP URI", codec: Parses, answer: PassUp, upper_layer: "" },
    Case { file: "via-received-param-with-delim.dat", rfc: "RFC 5118 §4.5", title: "IPv6 Reference Delimiters in Via Header", codec: Parses, answer: PassUp, upper_layer: "" },
    Case { file: "via-received-param-no-delim.dat", rfc: "RFC 5118 §4.5", title: "IPv6 Reference Delimiters in Via Header", codec: Parses, answer: PassUp, upper_layer: "" },
    // The RFC calls it valid, but its Content-Length (268) exceeds the 251 bytes of body the
    // archive holds; over UDP, RFC 3261 §18.3 makes that a 400. torture.rs also checks that the
    // same bytes with a corrected Content-Length parse.
    Case { file: "ipv6-in-sdp.dat", rfc: "RFC 5118 §4.6", title: "SIP Request with IPv6 Addresses in SDP Body", codec: Refuses(ParseError::ContentLengthExceedsBody { declared: 268, available: 251 }), answer: Status(400), upper_layer: "archive's Content-Length is wrong; see torture.rs" },
    Case { file: "mult-ip-in-header.dat", rfc: "RFC 5118 §4.7", title: "Multiple IP Addresses in SIP Headers", codec: Parses, answer: PassUp, upper_layer: "" },
    // Content-Length (181) is shorter than the archived body (189): the tail is discarded.
    Case { file: "mult-ip-in-sdp.dat", rfc: "RFC 5118 §4.8", title: "Multiple IP Addresses in SDP", codec: Parses, answer: PassUp, upper_layer: "body is the first 181 bytes (RFC 3261 §18.3)" },
    // Content-Length (236) is shorter than the archived body (245): the tail is discarded.
    Case { file: "ipv4-mapped-ipv6.dat", rfc: "RFC 5118 §4.9", title: "IPv4-Mapped IPv6 Addresses", codec: Parses, answer: PassUp, upper_layer: "body is the first 236 bytes (RFC 3261 §18.3)" },
    Case { file: "ipv6-bug-abnf-3-colons.dat", rfc: "RFC 5118 §4.10", title: "IPv6 Reference Bug in RFC 3261 ABNF", codec: Parses, answer: PassUp, upper_layer: "tolerated as the two-colon form (the RFC says must tolerate)" },
    Case { file: "ipv6-correct-abnf-2-colons.dat", rfc: "RFC 5118 §4.10", title: "IPv6 Reference Bug in RFC 3261 ABNF", codec: Parses, answer: PassUp, upper_layer: "" },
];
