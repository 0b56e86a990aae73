//! Minimal SDP offer/answer (RFC 3264) for audio calls: enough to set up a call with a
//! phone that insists on a session description. Media itself comes later; until then the
//! port we advertise receives nothing.

use std::net::IpAddr;

use crate::message::{ip_string, Digits};

/// The codecs we accept, in order of preference: (payload type, encoding name).
const CODECS: [(u8, &str); 2] = [(0, "PCMU"), (8, "PCMA")];

/// Why an offer cannot be answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SdpError {
    /// The body is not SDP we can read (no `v=0`, or no media line).
    #[error("malformed SDP: {0}")]
    Malformed(&'static str),
    /// No audio stream offers PCMU or PCMA (answered 488 Not Acceptable Here).
    #[error("no common codec (PCMU or PCMA) in the offer")]
    NoCommonCodec,
}

/// Our offer: one audio stream with PCMU and PCMA.
pub fn offer(session_id: u64, ip: IpAddr, port: u16) -> String {
    let pts: Vec<u8> = CODECS.iter().map(|(pt, _)| *pt).collect();
    session(session_id, ip, port, &pts)
}

/// Our answer to `offer`: the first of its audio codecs we support (RFC 3264 §6.1 lets the
/// answerer pick one), or an error to answer with 488.
pub fn answer(offer: &str, session_id: u64, ip: IpAddr, port: u16) -> Result<String, SdpError> {
    let pt = choose_codec(offer)?;
    Ok(session(session_id, ip, port, &[pt]))
}

/// The payload type we would use with this description (offer or answer).
pub fn choose_codec(sdp: &str) -> Result<u8, SdpError> {
    if lines(sdp).next() != Some("v=0") {
        return Err(SdpError::Malformed("does not start with v=0"));
    }
    // Read in place, without collecting the offered formats or the rtpmap names: every
    // inbound call with an offer comes here, and the first format offered nearly always
    // decides it.
    let mut saw_audio = false;
    for line in lines(sdp) {
        let Some(m) = line.strip_prefix("m=audio ") else {
            continue;
        };
        saw_audio = true;
        // m=audio <port> <proto> <fmt> ...; port 0 means the stream is declined.
        let mut parts = m.split_ascii_whitespace();
        let port = parts.next().unwrap_or("0");
        let _proto = parts.next();
        if port == "0" {
            continue;
        }
        for pt in parts.filter_map(|f| f.parse::<u8>().ok()) {
            // Encoding names are compared without case (RFC 4566 §6), in place.
            let name = rtpmap_name(sdp, pt);
            let known = CODECS.iter().any(|(static_pt, n)| match name {
                Some(name) => name.eq_ignore_ascii_case(n),
                None => pt == *static_pt,
            });
            if known {
                return Ok(pt);
            }
        }
    }
    if !saw_audio {
        return Err(SdpError::Malformed("no audio stream"));
    }
    Err(SdpError::NoCommonCodec)
}

/// The lines of `sdp` as `str::lines` gives them, trailing whitespace trimmed. Found by a
/// byte loop: SDP lines are short, and the `char` searcher behind `str::lines` cost more
/// per line than the bytes it looked at.
fn lines(sdp: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(sdp).filter(|s| !s.is_empty());
    std::iter::from_fn(move || {
        let s = rest?;
        let (line, next) = match s.bytes().position(|b| b == b'\n') {
            // A '\n' byte is a whole character: both slices fall on character boundaries.
            Some(i) => (
                s.get(..i).unwrap_or_default(),
                s.get(i + 1..).filter(|n| !n.is_empty()),
            ),
            None => (s, None),
        };
        rest = next;
        Some(line.trim_end())
    })
}

/// The encoding name of the first `a=rtpmap` for payload type `pt`, anywhere in `sdp`.
fn rtpmap_name(sdp: &str, pt: u8) -> Option<&str> {
    lines(sdp)
        .filter_map(|line| line.strip_prefix("a=rtpmap:"))
        .find_map(|map| {
            let mut parts = map.splitn(2, ' ');
            let p = parts.next().and_then(|p| p.parse::<u8>().ok());
            let name = parts.next().and_then(|n| n.split('/').next());
            match (p, name) {
                (Some(p), Some(name)) if p == pt => Some(name),
                _ => None,
            }
        })
}

fn session(session_id: u64, ip: IpAddr, port: u16, pts: &[u8]) -> String {
    // Written piece by piece with `Digits` rather than `write!`: every call answers or offers
    // once, and `fmt` cost several times the work of the text itself.
    let family = if ip.is_ipv6() { "IP6" } else { "IP4" };
    // An IPv4 address is written on the stack: only IPv6 goes through `fmt` (and a String).
    let (v4, v6);
    let ip = match ip {
        IpAddr::V4(a) => {
            v4 = Digits::of_ipv4(a);
            v4.as_str()
        }
        IpAddr::V6(_) => {
            v6 = ip_string(ip);
            v6.as_str()
        }
    };
    let mut s = String::with_capacity(200);
    s.push_str("v=0\r\no=linedrop ");
    s.push_str(Digits::of(session_id).as_str());
    for part in [
        " 1 IN ",
        family,
        " ",
        ip,
        "\r\ns=linedrop\r\nc=IN ",
        family,
        " ",
        ip,
    ] {
        s.push_str(part);
    }
    s.push_str("\r\nt=0 0\r\nm=audio ");
    s.push_str(Digits::of(u64::from(port)).as_str());
    s.push_str(" RTP/AVP");
    for pt in pts {
        s.push(' ');
        s.push_str(Digits::of(u64::from(*pt)).as_str());
    }
    s.push_str("\r\n");
    for pt in pts {
        let name = CODECS
            .iter()
            .find(|(p, _)| p == pt)
            .map_or("PCMU", |(_, n)| n);
        s.push_str("a=rtpmap:");
        s.push_str(Digits::of(u64::from(*pt)).as_str());
        s.push(' ');
        s.push_str(name);
        s.push_str("/8000\r\n");
    }
    s.push_str("a=sendrecv\r\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIPP_OFFER: &str = "v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";

    #[test]
    fn session_text_is_what_fmt_would_write() {
        for (id, ip, port, pts) in [
            (7u64, "127.0.0.1", 4000u16, &[0u8][..]),
            (u64::MAX, "::1", 65535, &[0, 8][..]),
            (0, "10.20.30.40", 0, &[8, 0][..]),
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            let family = if ip.is_ipv6() { "IP6" } else { "IP4" };
            let mut want = format!(
                "v=0\r\no=linedrop {id} 1 IN {family} {ip}\r\ns=linedrop\r\nc=IN {family} {ip}\r\nt=0 0\r\nm=audio {port} RTP/AVP"
            );
            for pt in pts {
                want.push_str(&format!(" {pt}"));
            }
            want.push_str("\r\n");
            for pt in pts {
                let name = if *pt == 8 { "PCMA" } else { "PCMU" };
                want.push_str(&format!("a=rtpmap:{pt} {name}/8000\r\n"));
            }
            want.push_str("a=sendrecv\r\n");
            assert_eq!(session(id, ip, port, pts), want);
        }
    }

    #[test]
    fn lines_are_what_str_lines_gives() {
        for text in [
            "",
            "\n",
            "\r\n",
            "a",
            "a\n",
            "a\r\n",
            "a\n\n",
            "a\r\n\r\nb",
            "\n\nb ",
            "v=0\r\nm=x \r\n",
        ] {
            let want: Vec<&str> = text.lines().map(str::trim_end).collect();
            assert_eq!(lines(text).collect::<Vec<_>>(), want, "{text:?}");
        }
    }

    #[test]
    fn the_first_format_we_know_wins_across_audio_streams() {
        // A declined stream is skipped; a later stream's formats count, in order; a name
        // is found wherever its rtpmap line is, the first one for a payload type winning.
        let sdp = "v=0\r\nm=audio 0 RTP/AVP 0\r\nm=audio 2 RTP/AVP 97 96\r\n\
                   a=rtpmap:96 PCMA/8000\r\na=rtpmap:97 opus/48000\r\na=rtpmap:96 PCMU/8000\r\n";
        assert_eq!(choose_codec(sdp), Ok(96));
        let later = "v=0\nm=audio 1 RTP/AVP 96\nm=audio 2 RTP/AVP 8\na=rtpmap:96 opus/48000\n";
        assert_eq!(choose_codec(later), Ok(8));
        assert!(matches!(choose_codec(""), Err(SdpError::Malformed(_))));
    }

    #[test]
    fn answers_sipps_pcmu_offer_with_pcmu() {
        let a = answer(SIPP_OFFER, 7, "127.0.0.1".parse().unwrap(), 4000).unwrap();
        assert!(a.contains("m=audio 4000 RTP/AVP 0\r\n"), "{a}");
        assert!(a.contains("a=rtpmap:0 PCMU/8000"));
        assert_eq!(choose_codec(&a), Ok(0));
    }

    #[test]
    fn our_offer_carries_both_codecs_and_prefers_pcmu() {
        let o = offer(1, "::1".parse().unwrap(), 4000);
        assert!(o.contains("c=IN IP6 ::1"));
        assert!(o.contains("m=audio 4000 RTP/AVP 0 8\r\n"));
        assert_eq!(choose_codec(&o), Ok(0));
    }

    #[test]
    fn dynamic_names_and_refusals() {
        let pcma_only = "v=0\r\nm=audio 1 RTP/AVP 96 8\r\na=rtpmap:96 opus/48000/2\r\n";
        assert_eq!(choose_codec(pcma_only), Ok(8));
        let lower = "v=0\r\nm=audio 1 RTP/AVP 96\r\na=rtpmap:96 pcma/8000\r\n";
        assert_eq!(choose_codec(lower), Ok(96), "encoding names ignore case");
        let none = "v=0\r\nm=audio 1 RTP/AVP 96\r\na=rtpmap:96 opus/48000/2\r\n";
        assert_eq!(choose_codec(none), Err(SdpError::NoCommonCodec));
        let declined = "v=0\r\nm=audio 0 RTP/AVP 0\r\n";
        assert_eq!(choose_codec(declined), Err(SdpError::NoCommonCodec));
        assert!(matches!(choose_codec("hello"), Err(SdpError::Malformed(_))));
        assert!(matches!(
            choose_codec("v=0\r\nm=video 1 RTP/AVP 31\r\n"),
            Err(SdpError::Malformed(_))
        ));
    }
}
