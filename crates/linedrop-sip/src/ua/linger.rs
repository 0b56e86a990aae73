//! Server transactions past their work: what a UDP server transaction keeps for most of its
//! 64·T1.
//!
//! A BYE's transaction has answered within a millisecond and then waits for Timer J (32 s at
//! the default T1) only to answer a retransmitted BYE again; an INVITE's, once its 2xx is
//! acknowledged, waits for Timer L only to absorb retransmitted INVITEs. At R calls/s some
//! 64·R of them wait at once, and each held its whole entry (about 300 bytes: the machine,
//! the peer, its timer slots) for it; the kernel zeroed the fresh pages that growth took,
//! some 8 % of the SIP thread's time in a benchmark's first half-minute (4,000 calls/s).
//! Once a transaction's call is closed and the machine has nothing left but that
//! ([`InviteServer::remainder`], [`NonInviteServer::remainder`]), it is replaced by a
//! [`Linger`] in a slot of [`Lingering`], under an id of its own that its index entry and
//! timer are moved to, and the entry's memory goes back to the allocator while it is still
//! warm, for the next call's transactions. A final response that holds only the request's
//! own headers (a BYE's 200) is not even kept: a retransmission has it built again.
//!
//! [`InviteServer::remainder`]: crate::transaction::InviteServer::remainder
//! [`NonInviteServer::remainder`]: crate::transaction::NonInviteServer::remainder

use std::num::{NonZeroU16, NonZeroU64};
use std::sync::Arc;

use super::{MethodKey, Purpose, SipProvider, Tsx};
use crate::message::Request;
use crate::transaction::{Remainder, Wire};
use crate::ua::Peer;

/// What is left of a server transaction: its key, and what a retransmitted request gets.
/// Its timer is the one the transaction had.
#[derive(Debug)]
pub(crate) struct Linger {
    /// The key it is indexed under, apart (as a tuple it would take 8 bytes more).
    branch: Arc<str>,
    method: MethodKey,
    answer: Answer,
    retransmissions: u32,
}

/// How a lingering transaction answers a retransmitted request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Answer {
    /// It does not: an INVITE's after its ACK, or after our 2xx.
    Absorb,
    /// With the response sent before, kept.
    Resend(Wire),
    /// With a response of this status built again from the retransmission: the response
    /// held nothing else (a BYE's 200), and its bytes, the largest part of what a call
    /// leaves behind for 64·T1, need not be kept.
    Rebuild(NonZeroU16),
}

/// Lingering transactions, in slots reused as they free. A hash table in stages held about
/// three times the room its entries needed (each stage sized for twice what all held,
/// and hashbrown's rounding): 268 bytes a call for two 48-byte entries. The slots come in
/// chunks of a fixed size, so adding room never moves (or pauses to copy) what is there.
/// Their ids, handed out here, have the top bit set, so they never meet a live
/// transaction's.
#[derive(Debug, Default)]
pub(crate) struct Lingering {
    chunks: Vec<Box<[Option<Linger>]>>,
    /// Slots handed out so far (the free ones among them are in `free`).
    used: usize,
    free: Vec<usize>,
}

/// Slots per chunk: 160 KB.
const CHUNK: usize = 4096;

/// The bit that marks a lingering transaction's id (live ones count up from 1). A slot is
/// reused without a generation: a linger's id is held only by the index (cleared, if still
/// its own, when it ends) and by its timer entry (which is what ends it), so none outlives it.
const LINGER_ID: u64 = 1 << 63;

impl Lingering {
    fn insert(&mut self, linger: Linger) -> u64 {
        let slot = self.free.pop().unwrap_or_else(|| {
            if self.used == self.chunks.len() * CHUNK {
                self.chunks.push((0..CHUNK).map(|_| None).collect());
            }
            self.used += 1;
            self.used - 1
        });
        self.chunks[slot / CHUNK][slot % CHUNK] = Some(linger);
        LINGER_ID | slot as u64
    }

    fn slot(&mut self, id: u64) -> Option<&mut Option<Linger>> {
        let slot = usize::try_from(id & !LINGER_ID).ok()?;
        if id & LINGER_ID == 0 || slot >= self.used {
            return None;
        }
        Some(&mut self.chunks[slot / CHUNK][slot % CHUNK])
    }

    #[cfg(test)]
    pub(crate) fn get(&mut self, id: u64) -> Option<&Linger> {
        self.slot(id)?.as_ref()
    }

    fn get_mut(&mut self, id: u64) -> Option<&mut Linger> {
        self.slot(id)?.as_mut()
    }

    fn remove(&mut self, id: u64) -> Option<Linger> {
        let linger = self.slot(id)?.take()?;
        self.free.push((id & !LINGER_ID) as usize);
        Some(linger)
    }

    /// How many linger.
    pub(crate) fn len(&self) -> usize {
        self.used - self.free.len()
    }
}

impl SipProvider {
    /// Replaces transaction `id` by a [`Linger`] if that is all it still needs: a server
    /// transaction over UDP whose call is closed and whose machine is only waiting out its
    /// last timer.
    pub(crate) fn settle(&mut self, id: u64) {
        let Some(entry) = self.tsx.get(&id) else {
            return;
        };
        if entry.call.is_some() || entry.purpose != Purpose::Server {
            return;
        }
        let remainder = match &entry.tsx {
            Tsx::InviteServer(t) => t.remainder(),
            Tsx::NonInviteServer(t) => t.remainder(),
            _ => None,
        };
        let Some(Remainder {
            resend,
            until,
            retransmissions,
        }) = remainder
        else {
            return;
        };
        let Some(entry) = self.tsx.remove(&id) else {
            return;
        };
        debug_assert_eq!(entry.deadline, Some(until));
        let (branch, method) = entry.key;
        let answer = match (resend, entry.rebuild) {
            (None, _) => Answer::Absorb,
            (Some(_), Some(status)) => Answer::Rebuild(status),
            (Some(bytes), None) => Answer::Resend(bytes),
        };
        // The index and the timer set point at the linger from now on, under its own id.
        let linger_id = self.lingering.insert(Linger {
            branch: Arc::clone(&branch),
            method,
            answer,
            retransmissions,
        });
        if let Some(b) = self.tsx_index.get_mut(&*branch) {
            if b.get(method) == Some(id) {
                b.set(method, NonZeroU64::new(linger_id));
            }
        }
        self.timers.remove(&(until, id));
        self.timers.insert((until, linger_id));
    }

    /// Request `req` retransmitted to lingering transaction `id` (if it is one): answered
    /// again with the final response, or absorbed. The response goes back where the
    /// request came from, as the first one did (a server transaction answers its request's
    /// source).
    pub(crate) fn linger_retransmit(&mut self, id: u64, from: Peer, req: &Request) -> bool {
        let Some(linger) = self.lingering.get_mut(id) else {
            return false;
        };
        let bytes = match &linger.answer {
            Answer::Absorb => return true,
            Answer::Resend(bytes) => Arc::clone(bytes),
            // The same request from the same source: the same bytes as the first time.
            Answer::Rebuild(status) => SipProvider::plain_reply(req, status.get(), from),
        };
        linger.retransmissions += 1;
        self.send(from, bytes);
        true
    }

    /// Ends lingering transaction `id` (its timer fired), if it is one.
    pub(crate) fn end_linger(&mut self, id: u64) -> bool {
        let Some(linger) = self.lingering.remove(id) else {
            return false;
        };
        self.unindex(&linger.branch, linger.method, id);
        self.stats.retransmissions += u64::from(linger.retransmissions);
        true
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use linedrop_core::{Now, Provider};

    use super::*;
    use crate::transaction::{NonInviteServer, TimerConfig};

    fn at(instant: Instant) -> Now {
        Now::new(instant, std::time::SystemTime::UNIX_EPOCH)
    }

    /// An in-dialog BYE (its To has our tag) on `branch`.
    fn bye(branch: &str) -> Request {
        request("BYE", branch, ";tag=b")
    }

    /// A `method` request on `branch`, its To ending in `to_params`.
    fn request(method: &str, branch: &str, to_params: &str) -> Request {
        let text = format!(
            "{method} sip:us@127.0.0.1 SIP/2.0\r\n\
             Via: SIP/2.0/UDP 127.0.0.2:5060;branch={branch}\r\n\
             From: <sip:them@127.0.0.2>;tag=a\r\n\
             To: <sip:us@127.0.0.1>{to_params}\r\n\
             Call-ID: c1\r\n\
             CSeq: 2 {method}\r\n\
             Max-Forwards: 70\r\n\
             Content-Length: 0\r\n\r\n"
        );
        match crate::message::parse_message(text.as_bytes()) {
            Ok(crate::message::Message::Request(r)) => r,
            other => panic!("not a request: {other:?}"),
        }
    }

    #[test]
    fn an_answered_udp_request_keeps_only_its_response_under_its_key_until_timer_j() {
        #[allow(clippy::disallowed_methods)]
        let now = Instant::now();
        let mut ua = SipProvider::for_tests();
        let peer = Peer::udp("127.0.0.2:5060".parse().unwrap());
        let ok: Wire = b"SIP/2.0 200 OK\r\n\r\n"[..].into();
        let mut t = NonInviteServer::new(ua.tsx_timers(), false);
        t.respond(now, 200, Arc::clone(&ok));
        let key = ("z9hG4bKb".into(), MethodKey::ServerOther);
        let id = ua.add_tsx(
            now,
            Tsx::NonInviteServer(t),
            peer,
            None,
            Purpose::Server,
            key,
        );
        assert_eq!(
            ua.poll_transmit().map(|t| (t.to, t.bytes)),
            Some((peer, Arc::clone(&ok)))
        );
        assert!(ua.tsx.get(&id).is_none(), "the machine is gone");
        // Its key finds the linger, under an id no live transaction has.
        let lid = ua.find_tsx("z9hG4bKb", MethodKey::ServerOther).unwrap();
        assert!(lid != id && ua.lingering.get(lid).is_some());
        assert!(
            ua.lingering.get(id).is_none() && !ua.linger_retransmit(id, peer, &bye("z9hG4bKb"))
        );
        assert_eq!((ua.ledger().transactions, ua.ledger().timers), (1, 1));

        // Sent again, to where the retransmission came from.
        let moved = Peer::udp("127.0.0.3:5062".parse().unwrap());
        assert!(ua.linger_retransmit(lid, moved, &bye("z9hG4bKb")));
        assert_eq!(
            ua.poll_transmit().map(|t| (t.to, t.bytes)),
            Some((moved, ok))
        );
        assert!(
            !ua.linger_retransmit(lid + 1, moved, &bye("z9hG4bKb")),
            "not a lingering transaction"
        );

        let j = TimerConfig::default().t1x64();
        ua.handle_timeout(at(now + j - std::time::Duration::from_millis(1)));
        assert_eq!(ua.ledger().transactions, 1, "not before Timer J");
        ua.handle_timeout(at(now + j));
        assert_eq!((ua.ledger().transactions, ua.ledger().timers), (0, 0));
        assert!(ua.tsx_index.is_empty(), "its key left the index");
        assert_eq!(ua.stats().retransmissions, 1);
        assert!(ua.poll_transmit().is_none());
        assert_eq!(std::mem::size_of::<Linger>(), 48);

        // The next one takes the freed slot, and only it answers there.
        let mut t = NonInviteServer::new(ua.tsx_timers(), false);
        t.respond(now + j, 200, b"again"[..].into());
        let key = ("z9hG4bKn".into(), MethodKey::ServerOther);
        ua.add_tsx(
            now + j,
            Tsx::NonInviteServer(t),
            peer,
            None,
            Purpose::Server,
            key,
        );
        ua.poll_transmit();
        assert_eq!(ua.find_tsx("z9hG4bKn", MethodKey::ServerOther), Some(lid));
        assert_eq!(ua.find_tsx("z9hG4bKb", MethodKey::ServerOther), None);
        assert!(ua.linger_retransmit(lid, peer, &bye("z9hG4bKn")));
        assert_eq!(
            ua.poll_transmit().map(|t| t.bytes),
            Some(b"again"[..].into())
        );
    }

    /// A response that holds only the request's headers is not kept: the retransmission
    /// gets it built again, byte for byte, extra headers of its method included.
    #[test]
    fn a_plain_response_is_built_again_for_a_retransmission_not_kept() {
        #[allow(clippy::disallowed_methods)]
        let now = at(Instant::now());
        let mut ua = SipProvider::for_tests();
        let peer = Peer::udp("127.0.0.2:5060".parse().unwrap());
        let options = request("OPTIONS", "z9hG4bKo", ";tag=b");
        let mut sent = Vec::new();
        for (req, branch) in [(bye("z9hG4bKp"), "z9hG4bKp"), (options, "z9hG4bKo")] {
            ua.reply(now, peer, &branch.into(), &req, 200, None);
            let first = ua.poll_transmit().unwrap().bytes;
            let id = ua.find_tsx(branch, MethodKey::ServerOther).unwrap();
            let linger = ua.lingering.get(id).expect("lingers");
            assert_eq!(
                linger.answer,
                Answer::Rebuild(NonZeroU16::new(200).unwrap())
            );
            assert!(ua.linger_retransmit(id, peer, &req));
            let again = ua.poll_transmit().unwrap();
            assert_eq!((again.to, &*again.bytes), (peer, &*first), "{branch}");
            sent.push(String::from_utf8(first.to_vec()).unwrap());
        }
        assert!(
            sent[0].starts_with("SIP/2.0 200 OK\r\n")
                && sent[0].contains("\r\nTo: <sip:us@127.0.0.1>;tag=b\r\n")
        );
        assert!(
            sent[1].contains("\r\nAllow: ") && sent[1].contains("\r\nAccept: application/sdp\r\n")
        );
        assert_eq!(
            ua.stats().retransmissions,
            0,
            "counted when the linger ends"
        );

        // Outside a dialog the response adds a tag of ours (§8.2.6.2), which only the
        // bytes kept can repeat.
        let options = request("OPTIONS", "z9hG4bKq", "");
        ua.reply(now, peer, &"z9hG4bKq".into(), &options, 200, None);
        let first = ua.poll_transmit().unwrap().bytes;
        let text = String::from_utf8(first.to_vec()).unwrap();
        assert!(text.contains("\r\nTo: <sip:us@127.0.0.1>;tag="), "{text}");
        let id = ua.find_tsx("z9hG4bKq", MethodKey::ServerOther).unwrap();
        assert_eq!(
            ua.lingering.get(id).unwrap().answer,
            Answer::Resend(first.clone())
        );
        assert!(ua.linger_retransmit(id, peer, &options));
        assert_eq!(ua.poll_transmit().unwrap().bytes, first);
    }

    #[test]
    fn lingers_across_chunks_keep_their_ids_and_freed_slots_are_reused() {
        let linger = |n: usize| Linger {
            branch: n.to_string().into(),
            method: MethodKey::ServerOther,
            answer: Answer::Absorb,
            retransmissions: 0,
        };
        let mut l = Lingering::default();
        let ids: Vec<u64> = (0..CHUNK + 10).map(|n| l.insert(linger(n))).collect();
        assert_eq!((l.len(), l.chunks.len()), (CHUNK + 10, 2));
        for (n, &id) in ids.iter().enumerate() {
            assert_eq!(&*l.get(id).unwrap().branch, n.to_string(), "{n}");
        }
        let gone = ids[CHUNK + 3];
        assert_eq!(&*l.remove(gone).unwrap().branch, (CHUNK + 3).to_string());
        assert!(l.get(gone).is_none() && l.remove(gone).is_none());
        assert_eq!(l.insert(linger(7)), gone, "the freed slot first");
        assert_eq!((l.len(), l.chunks.len()), (CHUNK + 10, 2));
        assert!(
            l.get(5).is_none(),
            "a live transaction's id is not a linger's"
        );
        assert!(
            l.get(LINGER_ID | (CHUNK as u64 + 10)).is_none(),
            "never handed out"
        );
    }

    #[test]
    fn a_request_answered_over_tcp_leaves_nothing_and_a_call_keeps_its_machine() {
        #[allow(clippy::disallowed_methods)]
        let now = Instant::now();
        let mut ua = SipProvider::for_tests();
        let tcp = Peer {
            transport: crate::ua::Transport::Tcp,
            ..Peer::udp("127.0.0.2:5060".parse().unwrap())
        };
        let mut t = NonInviteServer::new(ua.tsx_timers(), true);
        t.respond(now, 200, b"200"[..].into());
        let key = ("z9hG4bKt".into(), MethodKey::ServerOther);
        ua.add_tsx(
            now,
            Tsx::NonInviteServer(t),
            tcp,
            None,
            Purpose::Server,
            key,
        );
        ua.handle_timeout(at(now));
        assert_eq!(ua.ledger().transactions, 0, "Timer J is zero over TCP");

        // A transaction of a call that is not closed yet keeps its machine (the call's
        // record counts its retransmissions).
        let call = linedrop_core::CallId(7);
        let udp = Peer::udp("127.0.0.2:5060".parse().unwrap());
        let mut t = NonInviteServer::new(ua.tsx_timers(), false);
        t.respond(now, 200, b"200"[..].into());
        let key = ("z9hG4bKc".into(), MethodKey::ServerOther);
        let id = ua.add_tsx(
            now,
            Tsx::NonInviteServer(t),
            udp,
            Some(call),
            Purpose::Server,
            key,
        );
        assert!(ua.tsx.get(&id).is_some() && ua.lingering.len() == 0);
        ua.close(at(now), call);
        assert!(ua.tsx.get(&id).is_none() && ua.lingering.len() == 1);
    }
}
