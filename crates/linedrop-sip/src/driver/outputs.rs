//! Where the engine's events and records go.

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
