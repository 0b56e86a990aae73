//! The way into the engine task from anywhere else: closures sent over a channel.

use std::time::Duration;

use linedrop_core::{Engine, Now};
use tokio::sync::{mpsc, oneshot};

use super::Command;
use crate::ua::SipProvider;

/// How often [`drain`] asks whether the engine is drained. Shutdown is rare and bounded by
/// its deadline; a short poll is simpler than a waiter registry in the loop.
const DRAIN_POLL: Duration = Duration::from_millis(10);

/// The driver task has ended (or ended before it could answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the SIP driver is not running")]
pub struct Closed;

/// A cloneable way to run code on the engine task. The engine is never shared: each call is
/// a closure the task runs between two inputs, after which it drains the engine's outputs.
#[derive(Debug, Clone)]
pub struct Handle {
    /// The task's command queue (bounded: a flood of commands waits instead of growing it).
    tx: mpsc::Sender<Command>,
}

/// A [`Handle`] and the receiver to pass to [`run`](super::run); `capacity` bounds the
/// commands queued and not yet run.
pub fn channel(capacity: usize) -> (Handle, mpsc::Receiver<Command>) {
    let (tx, rx) = mpsc::channel(capacity.max(1));
    (Handle { tx }, rx)
}

impl Handle {
    /// Runs `f` on the engine task with the current time and returns its result.
    pub async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Engine<SipProvider>, Now) -> T + Send + 'static,
    ) -> Result<T, Closed> {
        let (reply, answer) = oneshot::channel();
        let command: Command = Box::new(move |engine, now| {
            // The caller may have given up waiting; the work is done either way.
            let _ = reply.send(f(engine, now));
        });
        self.tx.send(command).await.map_err(|_| Closed)?;
        answer.await.map_err(|_| Closed)
    }

    /// Queues `f` without waiting for it to run.
    pub async fn send(
        &self,
        f: impl FnOnce(&mut Engine<SipProvider>, Now) + Send + 'static,
    ) -> Result<(), Closed> {
        self.tx.send(Box::new(f)).await.map_err(|_| Closed)
    }
}

/// The graceful half of a shutdown: stops taking calls, ends every live one (origin
/// `shutdown`: CANCEL, BYE or a final response as each call's state requires) and waits,
/// while the driver keeps running the wire, until [`Engine::is_drained`] or `within` has
/// passed. Returns whether it drained in time. Resolve the shutdown future of
/// [`run`](super::run) afterwards to get the engine back.
pub async fn drain(handle: &Handle, within: Duration) -> Result<bool, Closed> {
    handle
        .call(|engine, now| {
            engine.shutdown(now);
        })
        .await?;
    let wait = async {
        let mut tick = tokio::time::interval(DRAIN_POLL);
        loop {
            tick.tick().await;
            // Closes the engine in the same step as the answer: see `Engine::finish_drain`.
            if handle.call(|engine, _| engine.finish_drain()).await? {
                return Ok(());
            }
        }
    };
    match tokio::time::timeout(within, wait).await {
        Ok(Ok(())) => Ok(true),
        Ok(Err(closed)) => Err(closed),
        Err(_elapsed) => Ok(false),
    }
}
