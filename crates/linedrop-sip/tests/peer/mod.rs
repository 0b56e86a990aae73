//! A scripted far end for one live user agent: the test writes the far end's SIP messages as
//! text, feeds them to an `Engine<SipProvider>` on a simulated clock, and reads back what the
//! agent sent. Every interleaving (a CANCEL one microsecond after a 200, a BYE before the ACK)
//! is written out exactly, and a 32-second timer costs nothing.
//!
//! The agent is `alice` at 127.0.0.1:5060; the far end is `bob` at 127.0.0.2:5060, over UDP
//! unless a test says otherwise. Timers are RFC 3261's defaults (T1 500 ms, T2 4 s, T4 5 s).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use linedrop_core::*;
use linedrop_sip::message::{parse_message, HeaderName, Message, Method, Request, Response};
use linedrop_sip::ua::{Peer, SipConfig, SipProvider};

/// The agent's address.
pub const UA: &str = "127.0.0.1:5060";
/// The far end's address.
pub const FAR: &str = "127.0.0.2:5060";
/// The agent's line.
pub const UA_URI: &str = "sip:alice@127.0.0.1:5060";
/// The far end's address of record and contact.
pub const FAR_URI: &str = "sip:bob@127.0.0.2:5060";

/// 64·T1 with RFC 3261's default T1: Timers B, F, H, J, L, M.
pub const T1X64: Duration = Duration::from_secs(32);

/// One message the agent sent, and when (since the rig started).
#[derive(Debug, Clone)]
pub struct Sent {
    pub at: Duration,
    pub to: Peer,
    /// The bytes as sent.
    pub raw: String,
    /// The message, if our own parser reads it back (a 400 that copies a malformed header
    /// from the request it answers may not be).
    pub parsed: Option<Message>,
}

impl Sent {
    pub fn msg(&self) -> &Message {
        self.parsed
            .as_ref()
            .unwrap_or_else(|| panic!("the agent sent unparsable bytes:\n{}", self.raw))
    }

    pub fn req(&self) -> &Request {
        match self.msg() {
            Message::Request(r) => r,
            Message::Response(r) => panic!("expected a request, got {}", r.status().as_u16()),
        }
    }

    pub fn resp(&self) -> &Response {
        match self.msg() {
            Message::Response(r) => r,
            Message::Request(r) => panic!("expected a response, got {}", r.method()),
        }
    }

    /// `INVITE`, `BYE`, ... for a request; `200 BYE`, `487 INVITE`, ... for a response.
    pub fn label(&self) -> String {
        match &self.parsed {
            Some(m) => label(m),
            None => {
                let code = self.raw.split(' ').nth(1).unwrap_or("?");
                let method = self
                    .raw
                    .lines()
                    .find_map(|l| l.strip_prefix("CSeq:"))
                    .and_then(|v| v.split_whitespace().nth(1))
                    .unwrap_or("?");
                format!("{code} {method}")
            }
        }
    }

    /// The status line's reason phrase, for a response.
    pub fn phrase(&self) -> String {
        let first = self.raw.lines().next().unwrap_or_default();
        first.splitn(3, ' ').nth(2).unwrap_or_default().to_string()
    }
}

pub fn label(m: &Message) -> String {
    match m {
        Message::Request(r) => r.method().to_string(),
        Message::Response(r) => {
            let method = r
                .headers()
                .cseq()
                .map(|c| c.method.to_string())
                .unwrap_or_default();
            format!("{} {method}", r.status().as_u16())
        }
    }
}

/// One agent, one app, one line, and a far end that is only a socket address.
pub struct Rig {
    pub engine: Engine<SipProvider>,
    pub now: Now,
    start: Instant,
    pub app: AppId,
    pub line: LineId,
    pub far: SocketAddr,
    pub events: Vec<AppEvent>,
    /// Other addresses the agent may send to (proxies on a route set).
    pub also: Vec<SocketAddr>,
    log: Vec<Sent>,
    n: u64,
}

impl Default for Rig {
    fn default() -> Self {
        Self::new()
    }
}

impl Rig {
    pub fn new() -> Self {
        Self::with_config(|_| {})
    }

    pub fn with_config(f: impl FnOnce(&mut SipConfig)) -> Self {
        // A test's one clock read: its base instant; time then moves only by hand.
        #[allow(clippy::disallowed_methods)]
        let start = Instant::now();
        let now = Now::new(
            start,
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
        );
        let ids = CallIds::starting_at(1);
        let mut cfg = SipConfig::new(UA.parse().unwrap());
        cfg.rng_seed = 7;
        f(&mut cfg);
        let provider = SipProvider::new(cfg, ids.clone());
        let mut engine = Engine::new(EngineConfig { call_ids: ids }, provider);
        let line = engine.add_line(LineConfig::new(UA_URI)).unwrap();
        let app = engine.open_app("test");
        engine.open_line(app, line, Privilege::Owner).unwrap();
        Rig {
            engine,
            now,
            start,
            app,
            line,
            far: FAR.parse().unwrap(),
            events: vec![],
            also: vec![],
            log: vec![],
            n: 0,
        }
    }

    /// A fresh token for branches, tags and Call-IDs of the far end.
    pub fn fresh(&mut self, what: &str) -> String {
        self.n += 1;
        match what {
            "branch" => format!("z9hG4bKfar{}", self.n),
            _ => format!("{what}{}", self.n),
        }
    }

    pub fn elapsed(&self) -> Duration {
        self.now.instant - self.start
    }

    fn collect(&mut self) {
        let at = self.elapsed();
        while let Some(t) = self.engine.provider_mut().poll_transmit() {
            let parsed = parse_message(&t.bytes).ok();
            let raw = String::from_utf8_lossy(&t.bytes).into_owned();
            self.log.push(Sent {
                at,
                to: t.to,
                raw,
                parsed,
            });
        }
        while let Some(e) = self.engine.poll_event() {
            self.events.push(e);
        }
        while self.engine.poll_record().is_some() {}
    }

    /// The far end sends `text` to the agent over UDP.
    pub fn feed(&mut self, text: impl AsRef<[u8]>) {
        let from = Peer::udp(self.far);
        self.feed_from(from, text);
    }

    pub fn feed_from(&mut self, from: Peer, text: impl AsRef<[u8]>) {
        let now = self.now;
        self.engine
            .provider_mut()
            .handle_message(now, from, text.as_ref());
        self.engine.pump(now);
        self.collect();
    }

    /// Pumps the engine after a test fed its provider directly, and collects the outputs.
    pub fn pump(&mut self) {
        let now = self.now;
        self.engine.pump(now);
        self.collect();
    }

    /// Runs every timer due within `d`, in order, then moves the clock to the end of `d`.
    pub fn advance(&mut self, d: Duration) {
        let until = self.now.instant + d;
        while let Some(at) = self.engine.poll_timeout() {
            if at > until {
                break;
            }
            self.now = self.now.advance_to(at);
            let now = self.now;
            self.engine.handle_timeout(now);
            self.collect();
        }
        self.now = self.now.advance_to(until);
        self.collect();
    }

    /// Everything the agent sent since the last call, oldest first.
    pub fn sent(&mut self) -> Vec<Sent> {
        self.collect();
        let far = self.far;
        for s in &self.log {
            assert!(
                s.to.addr == far || self.also.contains(&s.to.addr),
                "the agent sent {} somewhere else ({})",
                s.label(),
                s.to.addr
            );
        }
        std::mem::take(&mut self.log)
    }

    /// The labels of what the agent sent since the last call.
    pub fn labels(&mut self) -> Vec<String> {
        self.sent().iter().map(Sent::label).collect()
    }

    /// The one message the agent sent since the last call; fails if it sent more or none.
    pub fn one(&mut self, label: &str) -> Sent {
        let sent = self.sent();
        let labels: Vec<String> = sent.iter().map(Sent::label).collect();
        assert_eq!(
            labels,
            vec![label.to_string()],
            "expected exactly one {label}"
        );
        sent.into_iter().next().unwrap()
    }

    /// Discards what the agent sent so far.
    pub fn clear(&mut self) {
        self.sent();
    }

    // ---- the engine side ----

    pub fn dial(&mut self) -> CallHandle {
        let now = self.now;
        let h = self.engine.dial(now, self.app, self.line, FAR_URI).unwrap();
        self.collect();
        h
    }

    /// The handle of the newest inbound call.
    pub fn offered(&self) -> CallHandle {
        self.events
            .iter()
            .rev()
            .find_map(|e| match e.kind {
                EventKind::NewCall {
                    direction: Direction::Inbound,
                    ..
                } => Some(e.handle),
                _ => None,
            })
            .expect("an inbound call was offered")
    }

    pub fn state(&self, h: CallHandle) -> CallState {
        self.engine.info(h).unwrap().state
    }

    pub fn term(&self, h: CallHandle) -> Termination {
        self.engine
            .info(h)
            .unwrap()
            .termination
            .expect("the call has ended")
    }

    pub fn answer(&mut self, h: CallHandle) {
        let now = self.now;
        self.engine.answer(now, h).unwrap();
        self.collect();
    }

    pub fn accept(&mut self, h: CallHandle) {
        let now = self.now;
        self.engine.accept(now, h).unwrap();
        self.collect();
    }

    pub fn hang_up(&mut self, h: CallHandle, hangup: Hangup) {
        let now = self.now;
        self.engine.drop_call(now, h, hangup).unwrap();
        self.collect();
    }

    pub fn reject(&mut self, h: CallHandle, hangup: Hangup) {
        let now = self.now;
        self.engine.reject(now, h, hangup).unwrap();
        self.collect();
    }

    /// How many terminations the engine wrote for the call (must be one).
    pub fn terminations(&self, h: CallHandle) -> usize {
        let id = self.engine.call_id(h).unwrap();
        self.events
            .iter()
            .filter(|e| e.call == id && matches!(e.kind, EventKind::Terminated(_)))
            .count()
    }

    /// Releases every handle, runs out every timer (ten simulated minutes), and checks that
    /// nothing of any call is left and that no call needed the engine's forced teardown.
    /// Returns what the agent sent meanwhile.
    pub fn quiesce(&mut self) -> Vec<Sent> {
        let now = self.now;
        for (h, _) in self.engine.handles_of(self.app).unwrap() {
            self.engine.release(now, h, Release::DropFirst).unwrap();
        }
        self.collect();
        self.advance(Duration::from_secs(600));
        let l = self.engine.ledger();
        assert!(l.is_quiescent(), "not quiescent: {l:?}");
        assert_eq!(
            l.forced_teardowns, 0,
            "a call needed the engine's forced teardown"
        );
        self.sent()
    }

    /// Asserts the ledger's provider counts (dialogs, transactions, tombstones).
    pub fn counts(&self) -> (u64, u64, u64) {
        let p = self.engine.ledger().provider;
        (p.dialogs, p.transactions, p.tombstones)
    }
}

// ---- the far end's messages ----

/// Appends Content-Length and the body to header lines, with CRLFs.
pub fn with_body(head: &[String], body: &str) -> String {
    let mut s = String::new();
    for l in head {
        s.push_str(l);
        s.push_str("\r\n");
    }
    if !body.is_empty() {
        s.push_str("Content-Type: application/sdp\r\n");
    }
    s.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    s
}

/// A minimal SDP offer or answer from the far end.
pub fn far_sdp() -> String {
    "v=0\r\no=bob 1 1 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\n\
     m=audio 5004 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
        .to_string()
}

/// A response of the far end to a request the agent sent: Via, From, To, Call-ID and CSeq
/// copied, `to_tag` added to To when it has none, a Contact on 1xx/2xx to INVITE, then
/// `extra` header lines.
pub fn respond(req: &Request, status: u16, to_tag: Option<&str>, extra: &[&str]) -> String {
    let h = req.headers();
    let reason = linedrop_sip::message::StatusCode::new(status)
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Whatever");
    let mut head = vec![format!("SIP/2.0 {status} {reason}")];
    for v in h.get_all(HeaderName::Via) {
        head.push(format!("Via: {v}"));
    }
    head.push(format!("From: {}", h.get(HeaderName::From).unwrap()));
    let to = h.get(HeaderName::To).unwrap();
    match to_tag {
        Some(t) if !to.contains("tag=") && status > 100 => head.push(format!("To: {to};tag={t}")),
        _ => head.push(format!("To: {to}")),
    }
    head.push(format!("Call-ID: {}", h.get(HeaderName::CallId).unwrap()));
    head.push(format!("CSeq: {}", h.get(HeaderName::CSeq).unwrap()));
    let invite = req.method() == &Method::Invite;
    let own_contact = extra
        .iter()
        .any(|e| e.to_ascii_lowercase().starts_with("contact:"));
    if invite && status > 100 && status < 300 && !own_contact {
        head.push(format!("Contact: <{FAR_URI}>"));
    }
    head.extend(extra.iter().map(|s| s.to_string()));
    let body = if invite && (200..300).contains(&status) {
        far_sdp()
    } else {
        String::new()
    };
    with_body(&head, &body)
}

/// A dialog as the far end sees it: enough to write its requests to the agent.
#[derive(Debug, Clone)]
pub struct Dialog {
    pub call_id: String,
    pub far_tag: String,
    /// The agent's tag, once it has given one.
    pub ua_tag: Option<String>,
    /// Where the far end's requests go (the agent's Contact, or its line).
    pub target: String,
    /// The far end's last CSeq number.
    pub cseq: u32,
    /// The far end's initial INVITE, when the far end called (for CANCEL and ACK).
    pub invite_branch: Option<String>,
}

impl Dialog {
    /// The far end calls the agent: a new dialog, not yet with the agent's tag.
    pub fn inbound(rig: &mut Rig) -> Dialog {
        Dialog {
            call_id: format!("{}@127.0.0.2", rig.fresh("call")),
            far_tag: rig.fresh("ft"),
            ua_tag: None,
            target: UA_URI.to_string(),
            cseq: 0,
            invite_branch: None,
        }
    }

    /// The dialog the agent's INVITE creates, with the far end's tag `far_tag`.
    pub fn from_ua_invite(invite: &Request, far_tag: &str) -> Dialog {
        let h = invite.headers();
        let target = match h.contact() {
            Ok(Some(linedrop_sip::message::Contacts::List(l))) => l[0].uri.to_string(),
            _ => UA_URI.to_string(),
        };
        Dialog {
            call_id: h.call_id().unwrap().to_string(),
            far_tag: far_tag.to_string(),
            ua_tag: h.from().unwrap().tag().map(str::to_owned),
            target,
            cseq: 0,
            invite_branch: None,
        }
    }

    /// Learns the agent's tag from its response.
    pub fn learn(&mut self, resp: &Sent) {
        if let Some(t) = resp.resp().headers().to().unwrap().tag() {
            self.ua_tag = Some(t.to_owned());
        }
    }

    /// A request of the far end in this dialog. BYE, INVITE, ... take the next CSeq; ACK
    /// and CANCEL reuse the INVITE's.
    pub fn request(&mut self, method: &str, branch: &str, extra: &[&str], body: &str) -> String {
        let seq = match method {
            "ACK" | "CANCEL" => self.cseq,
            _ => {
                self.cseq += 1;
                self.cseq
            }
        };
        let ruri = &self.target;
        let to = match (&self.ua_tag, method) {
            (_, "CANCEL") => format!("<{UA_URI}>"),
            (Some(t), _) => format!("<{UA_URI}>;tag={t}"),
            (None, _) => format!("<{UA_URI}>"),
        };
        let mut head = vec![
            format!("{method} {ruri} SIP/2.0"),
            format!("Via: SIP/2.0/UDP 127.0.0.2:5060;branch={branch}"),
            "Max-Forwards: 70".to_string(),
            format!("From: <{FAR_URI}>;tag={}", self.far_tag),
            format!("To: {to}"),
            format!("Call-ID: {}", self.call_id),
            format!("CSeq: {seq} {method}"),
        ];
        if method == "INVITE" {
            head.push(format!("Contact: <{FAR_URI}>"));
        }
        head.extend(extra.iter().map(|s| s.to_string()));
        with_body(&head, body)
    }

    /// The far end's initial INVITE.
    pub fn invite(&mut self, branch: &str) -> String {
        self.invite_branch = Some(branch.to_string());
        self.request("INVITE", branch, &[], &far_sdp())
    }

    /// The CANCEL of the far end's INVITE (same branch).
    pub fn cancel(&mut self, extra: &[&str]) -> String {
        let b = self
            .invite_branch
            .clone()
            .expect("the far end sent an INVITE");
        self.request("CANCEL", &b, extra, "")
    }

    /// The ACK of a non-2xx final to the far end's INVITE (same branch).
    pub fn ack_failure(&mut self) -> String {
        let b = self
            .invite_branch
            .clone()
            .expect("the far end sent an INVITE");
        self.request("ACK", &b, &[], "")
    }

    /// The ACK of a 2xx (a new transaction).
    pub fn ack_2xx(&mut self, branch: &str) -> String {
        self.request("ACK", branch, &[], "")
    }

    pub fn bye(&mut self, branch: &str, extra: &[&str]) -> String {
        self.request("BYE", branch, extra, "")
    }
}

/// The Reason header values of a message, as written.
pub fn reasons(m: &Message) -> Vec<String> {
    m.headers()
        .get_all(HeaderName::Reason)
        .map(str::to_owned)
        .collect()
}

/// The To tag of a message.
pub fn to_tag(m: &Message) -> Option<String> {
    m.headers()
        .to()
        .ok()
        .and_then(|t| t.tag().map(str::to_owned))
}

/// The top Via branch of a message.
pub fn branch(m: &Message) -> String {
    m.headers().top_via().unwrap().branch().unwrap().to_owned()
}

/// The CSeq number of a message.
pub fn cseq(m: &Message) -> u32 {
    m.headers().cseq().unwrap().seq
}
