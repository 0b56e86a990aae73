//! Reading just enough of a malformed request to answer it (RFC 3261 §8.2: a UAS answers a
//! bad request with `400`, a bad version with `505`, an oversized one with `513`).

use std::borrow::Cow;

use super::header::HeaderName;
use super::method::Method;
use super::parse::{find_head_end, skip_leading_crlf};
use super::response::Response;
use super::status::StatusCode;

/// The parts of a request that a response copies, read leniently from raw bytes.
///
/// Values are raw (unfolded, trimmed): they are copied back, not interpreted. `via` holds each
/// Via header line in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SalvagedRequest {
    /// The method of the request line.
    pub method: Method,
    /// Every Via header value, in order (at least one).
    pub via: Vec<String>,
    /// The From value, if found.
    pub from: Option<String>,
    /// The To value, if found.
    pub to: Option<String>,
    /// The Call-ID value, if found.
    pub call_id: Option<String>,
    /// The CSeq value, if found.
    pub cseq: Option<String>,
}

/// Reads the Via, From, To, Call-ID and CSeq of a request that failed to parse.
///
/// `None` when nothing should be answered: the bytes are a response (a malformed response is
/// dropped), an ACK (never answered), not a request line at all, or a request without any Via
/// (there is nowhere to send the answer). When it returns `Some`, answer with
/// [`ParseError::response_hint`](super::ParseError::response_hint) and
/// [`SalvagedRequest::response`]. Never panics, whatever the bytes.
pub fn salvage_request_parts(bytes: &[u8]) -> Option<SalvagedRequest> {
    let bytes = skip_leading_crlf(bytes);
    let head = match find_head_end(bytes, 0) {
        Some(i) => bytes.get(..i)?,
        None => bytes,
    };
    let mut lines = head
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let start = lines.next()?;
    let method_text = std::str::from_utf8(start.split(|&b| b == b' ').next()?).ok()?;
    let method: Method = method_text.parse().ok()?;
    if method == Method::Ack || !start.contains(&b' ') {
        return None;
    }

    let mut out = SalvagedRequest {
        method,
        via: Vec::new(),
        from: None,
        to: None,
        call_id: None,
        cseq: None,
    };
    let mut current: Option<(HeaderName, Vec<u8>)> = None;
    for line in lines {
        if line.first().is_some_and(|&b| b == b' ' || b == b'\t') {
            if let Some((_, v)) = current.as_mut() {
                v.extend_from_slice(line);
            }
            continue;
        }
        if let Some((name, v)) = current.take() {
            out.store(name, &v);
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let Ok(name) = std::str::from_utf8(line.get(..colon).unwrap_or_default()) else {
            continue;
        };
        if let Some(h) = HeaderName::from_name(name.trim_end_matches([' ', '\t'])) {
            current = Some((h, line.get(colon + 1..).unwrap_or_default().to_vec()));
        }
    }
    if let Some((name, v)) = current.take() {
        out.store(name, &v);
    }
    (!out.via.is_empty()).then_some(out)
}

impl SalvagedRequest {
    fn store(&mut self, name: HeaderName, raw: &[u8]) {
        let text = String::from_utf8_lossy(raw);
        // Control characters (a stray CR, a NUL) would corrupt the answer's header lines.
        let clean: Cow<'_, str> = if text.chars().any(|c| c.is_control() && c != '\t') {
            Cow::Owned(
                text.chars()
                    .map(|c| if c.is_control() { ' ' } else { c })
                    .collect(),
            )
        } else {
            text
        };
        let v = clean.trim().to_owned();
        let slot = match name {
            HeaderName::Via => {
                self.via.push(v);
                return;
            }
            HeaderName::From => &mut self.from,
            HeaderName::To => &mut self.to,
            HeaderName::CallId => &mut self.call_id,
            HeaderName::CSeq => &mut self.cseq,
            _ => return,
        };
        // The first occurrence wins, as the answer must match what most parsers read.
        if slot.is_none() {
            *slot = Some(v);
        }
    }

    /// The answer with the given status and reason: the salvaged headers copied in the order
    /// of RFC 3261 §8.2.6.2 and `Content-Length: 0`. Adding a To tag is the caller's job.
    pub fn response(&self, status: StatusCode, reason: &str) -> Response {
        let mut r = Response::with_reason(status, reason);
        let h = r.headers_mut();
        for v in &self.via {
            h.push(HeaderName::Via, v);
        }
        let singles = [
            (HeaderName::From, &self.from),
            (HeaderName::To, &self.to),
            (HeaderName::CallId, &self.call_id),
            (HeaderName::CSeq, &self.cseq),
        ];
        for (name, value) in singles {
            if let Some(v) = value {
                h.push(name, v);
            }
        }
        r.set_body(Vec::new());
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn salvages_a_broken_request() {
        let raw = b"INVITE sip:a@b SIP/2.0\r\nv: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\
            Via: SIP/2.0/UDP\r\n  g\r\nt: \"open <sip:a@b>\r\nf: <sip:c@d>;tag=1\r\ni: x@y\r\n\
            CSeq: 1 INVITE\r\nCSeq: 2 INVITE\r\n\r\nbody";
        let s = salvage_request_parts(raw).expect("answerable");
        assert_eq!(s.method, Method::Invite);
        assert_eq!(s.via, ["SIP/2.0/UDP h;branch=z9hG4bK1", "SIP/2.0/UDP  g"]);
        assert_eq!(s.to.as_deref(), Some("\"open <sip:a@b>"));
        assert_eq!(s.cseq.as_deref(), Some("1 INVITE"));
        let r = s.response(StatusCode::BAD_REQUEST, "Bad Request - x");
        let bytes = r.to_bytes();
        let text = String::from_utf8_lossy(&bytes);
        assert!(text
            .starts_with("SIP/2.0 400 Bad Request - x\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"));
        assert!(text.ends_with("Content-Length: 0\r\n\r\n"));
    }

    #[test]
    fn never_answers_responses_acks_or_viales_requests() {
        assert_eq!(
            salvage_request_parts(b"SIP/2.0 200 OK\r\nVia: x\r\n\r\n"),
            None
        );
        assert_eq!(
            salvage_request_parts(b"ACK sip:a@b SIP/2.0\r\nVia: x\r\n\r\n"),
            None
        );
        assert_eq!(
            salvage_request_parts(b"OPTIONS sip:a@b SIP/2.0\r\nTo: x\r\n\r\n"),
            None
        );
        assert_eq!(salvage_request_parts(b""), None);
        assert_eq!(salvage_request_parts(b"\xff\xfe garbage"), None);
    }
}
