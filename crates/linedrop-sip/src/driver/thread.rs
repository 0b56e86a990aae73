//! Running the engine task on a thread of its own, with a single-threaded runtime.
//!
//! The task is one hot loop that owns the engine: on a multi-threaded runtime it shares the
//! I/O driver with workers that have nothing to do, and its worker parked on a futex as well
//! as in `epoll_wait` (2 % of the daemon's profile at 1,000 calls/s). A current-thread
//! runtime blocks in `epoll_wait` on the task's own thread and runs it as soon as it
//! returns; the rest of the program (an HTTP API, say) keeps its own runtime.

use std::future::Future;
use std::io;

use linedrop_core::Engine;
use tokio::sync::{mpsc, oneshot};

use super::outputs::Outputs;
use super::socket::Sockets;
use super::Command;
use crate::ua::SipProvider;

/// The engine task on its thread; [`DriverThread::join`] gives the engine back.
#[derive(Debug)]
pub struct DriverThread {
    done: oneshot::Receiver<Engine<SipProvider>>,
}

impl DriverThread {
    /// Waits for [`run`](super::run) to return (its `shutdown` resolved) and returns the
    /// engine; `None` if the thread died (a panic in the engine task).
    pub async fn join(self) -> Option<Engine<SipProvider>> {
        self.done.await.ok()
    }
}

/// [`run`](super::run) on a new thread named `linedrop-sip`, with a current-thread runtime
/// of its own. The sockets (bound in any runtime) are moved to it before this returns, so a
/// failure to do so is this call's error, not a silent stop later.
pub fn spawn_thread<O, F>(
    sockets: Sockets,
    engine: Engine<SipProvider>,
    commands: mpsc::Receiver<Command>,
    outputs: O,
    shutdown: F,
) -> io::Result<DriverThread>
where
    O: Outputs + Send + 'static,
    F: Future<Output = ()> + Send + 'static,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let sockets = {
        // Registers the sockets with the new runtime's reactor instead of the caller's.
        let _in_new = runtime.enter();
        sockets.moved_to_current_runtime()?
    };
    let (done_tx, done) = oneshot::channel();
    std::thread::Builder::new()
        .name("linedrop-sip".into())
        .spawn(move || {
            let engine = runtime.block_on(super::run(sockets, engine, commands, outputs, shutdown));
            let _ = done_tx.send(engine);
        })?;
    Ok(DriverThread { done })
}
