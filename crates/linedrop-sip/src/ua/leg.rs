//! The user agent's per-call state: one INVITE dialog, from the first request to `close`.

use std::sync::Arc;

use linedrop_core::CallId;

use super::negotiate::LineOptions;
use super::peer::Peer;
use super::session::LegTimers;
use crate::message::{Request, Uri};

/// Where a call is on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Outbound: INVITE sent, nothing heard (a CANCEL must wait for a provisional).
    Calling,
    /// Outbound: a provisional response arrived.
    Early,
    /// Inbound: INVITE received, no final response yet.
    Offered,
    /// Inbound: our 2xx is out, its ACK not yet in.
    Accepting,
    /// The dialog is confirmed.
    Confirmed,
    /// Outbound: we are cancelling (the CANCEL is out, or waits for a provisional).
    Cancelling,
    /// Inbound: our final error response is out, its ACK not yet in.
    Rejecting,
    /// Our BYE is out.
    Byeing,
    /// The wire is done with this call (TornDown reported).
    Done,
}

/// How we end the call on the wire, kept from the engine's `end` for the messages that
/// carry it (the Reason header of BYE and CANCEL).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct EndReason {
    pub(crate) q850: Option<u8>,
    pub(crate) text: Option<String>,
}

/// One call's dialog state.
#[derive(Debug)]
pub(crate) struct Leg {
    pub(crate) id: CallId,
    pub(crate) outbound: bool,
    /// SIP Call-ID. This and the next four are shared with the dialog's key, the engine's
    /// call and the call's records: a copy of each for every one of them was about a dozen
    /// allocations per call (`bench/callgrind.sh`).
    pub(crate) call_id: Arc<str>,
    pub(crate) local_tag: Arc<str>,
    pub(crate) remote_tag: Option<Arc<str>>,
    /// Our address (From when we call, To when they do), without tag.
    pub(crate) local_uri: Arc<str>,
    /// Theirs, without tag.
    pub(crate) remote_uri: Arc<str>,
    /// The last CSeq number we used in this dialog.
    pub(crate) local_cseq: u32,
    /// Where in-dialog requests go (the remote target, RFC 3261 §12.1).
    pub(crate) remote_target: Uri,
    /// The route set (already in the order to put in Route headers).
    pub(crate) route_set: Vec<String>,
    /// Where the dialog's messages go on the wire.
    pub(crate) peer: Peer,
    pub(crate) phase: Phase,
    /// Our INVITE client transaction, or their INVITE server transaction.
    pub(crate) invite_tsx: Option<u64>,
    /// Outbound: our INVITE (for CANCEL, and a retry after 422). Inbound: their INVITE, for
    /// our responses; dropped once our final response is out (the transaction resends
    /// that), since a confirmed call may last hours and the parsed INVITE is its largest
    /// part.
    pub(crate) invite: Option<Box<Request>>,
    /// The CSeq number of that INVITE: what the ACK of its 2xx carries (RFC 3261 §13.2.2.4,
    /// §17.2.3) and what tells a merged request (§8.2.2.2), kept after the INVITE is gone.
    pub(crate) invite_seq: u32,
    /// The SDP we sent or will send in our 2xx.
    pub(crate) local_sdp: Option<String>,
    /// Why we are ending, once we are.
    pub(crate) end: Option<EndReason>,
    /// Inbound: BYE as soon as the ACK arrives (ended while our 2xx was unacknowledged).
    pub(crate) bye_after_ack: bool,
    /// Outbound: CANCEL as soon as a provisional arrives (ended while still Calling).
    pub(crate) cancel_pending: bool,
    /// Their re-INVITE being answered (its ACK comes to the dialog).
    pub(crate) reinvite_tsx: Option<u64>,
    /// Retransmissions attributed to this call.
    pub(crate) retransmissions: u64,
    /// Outbound: the furthest progress reported (1 Proceeding, 2 Ringback), so that
    /// duplicated, retransmitted or reordered provisionals are not reported again.
    pub(crate) progress: u8,
    /// The line's SIP options, copied when the call began.
    pub(crate) opts: LineOptions,
    /// Session timer and keepalive state.
    pub(crate) timers: LegTimers,
}

impl Leg {
    /// Inbound: our final response is out, so their INVITE is no longer needed.
    pub(crate) fn drop_invite(&mut self) {
        if !self.outbound {
            self.invite = None;
        }
    }

    /// Whether the wire still owes the engine a `TornDown`.
    pub(crate) fn is_done(&self) -> bool {
        self.phase == Phase::Done
    }
}
