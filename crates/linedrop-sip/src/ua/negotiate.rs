//! RFC 4028 negotiation: the per-line options, and what the Session-Expires and Min-SE of
//! a request or response mean for a dialog's session timer, in both roles.

use std::time::Duration;

use crate::message::{HeaderName, Method, Refresher, Request, Response, SessionExpires};

/// RFC 4028 §4: no session interval may be below 90 seconds.
pub const MIN_SE_FLOOR: Duration = Duration::from_secs(90);

/// The SIP options of one line: session timers and keepalives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineOptions {
    /// The session interval we ask for (RFC 4028 Session-Expires); `None` turns session
    /// timers off for the line (an offer with Session-Expires is then still honoured).
    pub session_expires: Option<Duration>,
    /// The smallest session interval we accept (Min-SE); smaller offers get 422.
    pub min_se: Duration,
    /// How often a confirmed call is probed with an in-dialog OPTIONS; `None` for never.
    pub keepalive: Option<Duration>,
}

impl Default for LineOptions {
    fn default() -> Self {
        Self {
            session_expires: Some(Duration::from_secs(1800)),
            min_se: MIN_SE_FLOOR,
            keepalive: None,
        }
    }
}

impl LineOptions {
    /// Checks the options; the error names the offending field.
    pub fn validate(&self) -> Result<(), String> {
        if self.min_se < MIN_SE_FLOOR {
            return Err(format!(
                "min_se must be at least {} s (RFC 4028)",
                MIN_SE_FLOOR.as_secs()
            ));
        }
        if self.session_expires.is_some_and(|s| s < self.min_se) {
            return Err("session_expires must not be below min_se".into());
        }
        if self.keepalive.is_some_and(|k| k < Duration::from_secs(1)) {
            return Err("keepalive must be at least 1 s".into());
        }
        Ok(())
    }
}

/// A negotiated session timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Session {
    /// The session interval.
    pub(crate) interval: Duration,
    /// Whether we send the refreshes.
    pub(crate) we_refresh: bool,
}

/// What we make of the Session-Expires of a request (an INVITE, or a refresh) we serve.
pub(crate) enum Negotiated {
    /// Use this session timer (or none).
    Use(Option<Session>),
    /// The interval is below our Min-SE: answer 422 with this Min-SE.
    TooSmall(Duration),
}

/// RFC 4028 §9: the UAS side. `current` is the dialog's timer, kept when a refresh omits
/// Session-Expires.
pub(crate) fn negotiate_as_uas(
    req: &Request,
    opts: &LineOptions,
    current: Option<Session>,
) -> Negotiated {
    let h = req.headers();
    let supports = h
        .supported()
        .unwrap_or_default()
        .iter()
        .any(|o| o.eq_ignore_ascii_case("timer"));
    let Some(se) = h.session_expires().ok().flatten() else {
        // No timer asked for: keep the one the dialog has (with us refreshing, which
        // needs nothing from the far end), else none.
        return Negotiated::Use(current.map(|s| Session {
            we_refresh: true,
            ..s
        }));
    };
    let asked = Duration::from_secs(u64::from(se.delta));
    // A UAC without the extension cannot retry; §9 lets us raise the interval instead.
    if asked < opts.min_se && supports {
        return Negotiated::TooSmall(opts.min_se);
    }
    let their_min = h
        .min_se()
        .ok()
        .flatten()
        .map(|s| Duration::from_secs(u64::from(s)))
        .unwrap_or(MIN_SE_FLOOR);
    let ours = opts.session_expires.unwrap_or(asked);
    let interval = asked.min(ours).max(their_min).max(opts.min_se);
    let we_refresh = match se.refresher() {
        Some(Refresher::Uas) => true,
        Some(Refresher::Uac) => false,
        // §9: the UAS picks; the UAC refreshes when it can.
        None => !supports,
    };
    Negotiated::Use(Some(Session {
        interval,
        we_refresh,
    }))
}

/// RFC 4028 §7.2: the UAC side, from the 2xx to our INVITE or refresh. No Session-Expires
/// in the 2xx means no session expiration.
pub(crate) fn from_2xx_as_uac(resp: &Response) -> Option<Session> {
    let se = resp.headers().session_expires().ok().flatten()?;
    // A far end that answers with less than RFC 4028's floor breaks §9; holding it to the
    // floor keeps it from making us refresh many times a second.
    Some(Session {
        interval: Duration::from_secs(u64::from(se.delta)).max(MIN_SE_FLOOR),
        we_refresh: se.refresher() != Some(Refresher::Uas),
    })
}

/// The headers of a 2xx that accepts `session` (we are the UAS of the transaction).
pub(crate) fn uas_headers(session: &Session, req: &Request) -> Vec<(HeaderName, String)> {
    let refresher = if session.we_refresh {
        Refresher::Uas
    } else {
        Refresher::Uac
    };
    let mut out = vec![
        (HeaderName::Supported, "timer".to_string()),
        (
            HeaderName::SessionExpires,
            SessionExpires::new(secs(session.interval), Some(refresher)).to_string(),
        ),
    ];
    let supports = req
        .headers()
        .supported()
        .unwrap_or_default()
        .iter()
        .any(|o| o.eq_ignore_ascii_case("timer"));
    // §9: Require only when the UAC must act on it (it refreshes) and said it can.
    if !session.we_refresh && supports {
        out.push((HeaderName::Require, "timer".to_string()));
    }
    out
}

/// Whether a message's Allow lists UPDATE.
pub(crate) fn allows_update(h: &crate::message::Headers) -> bool {
    h.allow().unwrap_or_default().contains(&Method::Update)
}

pub(crate) fn secs(d: Duration) -> u32 {
    u32::try_from(d.as_secs()).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{parse_message, Message};

    fn invite(extra: &str) -> Request {
        let text = format!(
            "INVITE sip:a@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.2;branch=z9hG4bK1\r\n\
             From: <sip:b@127.0.0.2>;tag=1\r\nTo: <sip:a@127.0.0.1>\r\nCall-ID: c\r\n\
             CSeq: 1 INVITE\r\n{extra}Content-Length: 0\r\n\r\n"
        );
        match parse_message(text.as_bytes()) {
            Ok(Message::Request(r)) => r,
            other => panic!("{other:?}"),
        }
    }

    fn used(n: Negotiated) -> Option<Session> {
        match n {
            Negotiated::Use(s) => s,
            Negotiated::TooSmall(m) => panic!("422 with {m:?}"),
        }
    }

    #[test]
    fn the_uas_lets_a_capable_uac_refresh_and_refreshes_for_one_that_is_not() {
        let opts = LineOptions::default();
        let s = used(negotiate_as_uas(
            &invite("Supported: timer\r\nSession-Expires: 600\r\n"),
            &opts,
            None,
        ))
        .unwrap();
        assert_eq!((s.interval.as_secs(), s.we_refresh), (600, false));
        let s = used(negotiate_as_uas(
            &invite("Session-Expires: 600\r\n"),
            &opts,
            None,
        ))
        .unwrap();
        assert!(s.we_refresh);
        let s = used(negotiate_as_uas(
            &invite("Supported: timer\r\nSession-Expires: 600;refresher=uas\r\n"),
            &opts,
            None,
        ))
        .unwrap();
        assert!(s.we_refresh);
    }

    #[test]
    fn too_small_is_422_for_a_capable_uac_and_raised_for_one_that_is_not() {
        let opts = LineOptions::default();
        assert!(matches!(
            negotiate_as_uas(&invite("Supported: timer\r\nSession-Expires: 60\r\n"), &opts, None),
            Negotiated::TooSmall(m) if m == MIN_SE_FLOOR
        ));
        let s = used(negotiate_as_uas(
            &invite("Session-Expires: 60\r\n"),
            &opts,
            None,
        ))
        .unwrap();
        assert_eq!(s.interval, MIN_SE_FLOOR);
        // Longer than ours: we shorten it, but never below their Min-SE.
        let s = used(negotiate_as_uas(
            &invite("Supported: timer\r\nSession-Expires: 7200\r\nMin-SE: 3600\r\n"),
            &opts,
            None,
        ))
        .unwrap();
        assert_eq!(s.interval.as_secs(), 3600);
        assert_eq!(used(negotiate_as_uas(&invite(""), &opts, None)), None);
    }

    #[test]
    fn options_are_checked_by_field() {
        let bad = LineOptions {
            min_se: Duration::from_secs(30),
            ..LineOptions::default()
        };
        assert!(bad.validate().unwrap_err().contains("min_se"));
        let bad = LineOptions {
            session_expires: Some(Duration::from_secs(100)),
            min_se: Duration::from_secs(200),
            ..LineOptions::default()
        };
        assert!(bad.validate().unwrap_err().contains("session_expires"));
    }
}
