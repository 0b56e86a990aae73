//! Where the engine's events and records go.

use std::time::Instant;

use linedrop_core::{AppEvent, RecordUpdate};
use tokio::sync::mpsc;

/// The consumer of what the engine produces. Called on the engine task after every input,
/// so it must not block: hand the value on (to a channel, a WebSocket fan-out, a store
/// writer) and return.
pub trait Outputs: Send {
    /// An event for one app.
    fn event(&mut self, event: AppEvent);
    /// A change the store must make durable.
    fn record(&mut self, record: RecordUpdate);

    /// Called once per wake-up of the engine task, after that wake-up's events and records
    /// were handed over and before the task sleeps: outputs that hold what they were given
    /// for a while (a record journal that writes one batch a linger) write what is due
    /// now. Returns when they want the next call at the latest; the task wakes then if
    /// nothing wakes it sooner. The same rule applies: it must not block for long.
    fn write_due(&mut self, now: Instant) -> Option<Instant> {
        let _ = now;
        None
    }
}

/// One output of the engine, as [`ChannelOutputs`] sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// From [`Outputs::event`].
    Event(AppEvent),
    /// From [`Outputs::record`] (boxed: a record carries the whole call info, five times
    /// the size of an event).
    Record(Box<RecordUpdate>),
}

/// [`Outputs`] that forwards everything, in order, to an unbounded channel: for tests and
/// simple programs. Unbounded because the engine task must never wait for a consumer; a
/// consumer that stops reading makes it grow. If the receiver is gone, outputs are dropped.
#[derive(Debug, Clone)]
pub struct ChannelOutputs {
    /// Where everything goes.
    tx: mpsc::UnboundedSender<Output>,
}

impl ChannelOutputs {
    /// The outputs and the receiving end of their channel.
    pub fn new() -> (Self, mpsc::UnboundedReceiver<Output>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Self { tx }, rx)
    }
}

impl Outputs for ChannelOutputs {
    fn event(&mut self, event: AppEvent) {
        // A gone receiver means nobody listens any more: dropping is what it asked for.
        let _ = self.tx.send(Output::Event(event));
    }

    fn record(&mut self, record: RecordUpdate) {
        let _ = self.tx.send(Output::Record(Box::new(record)));
    }
}
