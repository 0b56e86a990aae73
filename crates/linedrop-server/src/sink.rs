//! Where the engine's outputs go: events to the hub (written as JSON by the clients' tasks
//! that send them), records to the store's writer (written to its journal from the engine
//! task's own wake-ups; each call's end is logged once its record is in the store).

use std::sync::Arc;
use std::time::Instant;

use linedrop_core::{AppEvent, IdMap, LineId, RecordUpdate};
use linedrop_sip::driver::Outputs;
use linedrop_store::RecordWriter;

use crate::hub::Hub;

/// The daemon's [`Outputs`].
pub struct Sink {
    /// Event streams.
    pub hub: Arc<Hub>,
    /// The record writer.
    pub writer: Arc<RecordWriter>,
    /// Line addresses, for records. By [`IdMap`]: a line id is ours, and SipHash cost more
    /// than the rest of the lookup, twice a call. Shared with the records, which hold them
    /// without a copy.
    pub line_addresses: IdMap<LineId, Arc<str>>,
}

impl Outputs for Sink {
    fn event(&mut self, event: AppEvent) {
        self.hub.push(event);
    }

    fn record(&mut self, record: RecordUpdate) {
        let line = match &record {
            RecordUpdate::Created(i) | RecordUpdate::Ended(i) => i.line,
        };
        let address = match self.line_addresses.get(&line) {
            Some(a) => Arc::clone(a),
            None => Arc::from(""),
        };
        if let Err(e) = self.writer.send(record, address) {
            // The writer thread is gone (store failing at shutdown): counted in its stats.
            tracing::error!(error = %e, "record not queued");
        }
    }

    fn write_due(&mut self, now: Instant) -> Option<Instant> {
        // The journal write rides on the SIP thread's wake-ups: no thread is woken for it.
        self.writer.write_due(now)
    }
}
