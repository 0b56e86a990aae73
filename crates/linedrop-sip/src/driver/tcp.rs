//! The TCP tasks: one accept loop, and per connection a reader (framing messages off the
//! stream) and a writer (fed by a queue). They only move bytes and report to the engine task
//! through one channel of [`TcpEvent`]s; the engine task decides everything.
//!
//! A connection's tasks stop when the engine task drops its entry: the writer sees its queue
//! close (it flushes what is queued, then shuts the write side down), and the reader sees its
//! stop signal.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};

use crate::message::{Framer, ParseConfig, ParseError};
use crate::transaction::Wire;
use crate::ua::ConnId;

/// How long the accept loop waits after an error (out of file descriptors, typically)
/// before accepting again, so that it does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// The reader's buffer: one read takes at most this much.
const READ_CHUNK: usize = 16 * 1024;

/// The writer gathers the messages queued when it wakes into one write of up to about this
/// much: over loopback or a busy trunk, a write per message was a system call (and the
/// TCP stack's work) per message.
const WRITE_BATCH: usize = 64 * 1024;

/// What the TCP tasks tell the engine task.
#[derive(Debug)]
pub(crate) enum TcpEvent {
    /// The listener accepted a connection; the engine task numbers it and starts its tasks.
    Accepted(TcpStream, SocketAddr),
    /// The listener failed to accept (it backs off and tries again).
    AcceptFailed(io::Error),
    /// An outbound connection is established; its queued messages are being written.
    Connected(ConnId),
    /// An outbound connect failed (`None`: it timed out).
    ConnectFailed(ConnId, Option<io::Error>),
    /// One complete message, framed off the stream (its bytes, not yet parsed).
    Message(ConnId, Vec<u8>),
    /// A message whose framing was intact but whose content is malformed: its raw bytes, so
    /// the user agent can answer it (400, 505, 513) if it was an answerable request.
    Malformed(ConnId, Vec<u8>, ParseError),
    /// The connection is gone.
    Closed(ConnId, CloseReason),
}

/// Why a connection ended, as its tasks saw it.
#[derive(Debug)]
pub(crate) enum CloseReason {
    /// The peer closed its side.
    Eof,
    /// Reading failed.
    Read(io::Error),
    /// Writing failed.
    Write(io::Error),
    /// The stream can no longer be framed (no or bad Content-Length, endless headers).
    FramingLost(ParseError),
}

/// What every task of one connection needs.
#[derive(Debug, Clone)]
pub(crate) struct ConnIo {
    /// The connection's number.
    pub(crate) conn: ConnId,
    /// The engine task's TCP event channel.
    pub(crate) events: mpsc::Sender<TcpEvent>,
    /// The framer's size limit.
    pub(crate) max_message_size: usize,
    /// How long the writer may make no progress, with messages waiting, before it gives up.
    pub(crate) write_stall_timeout: Duration,
}

/// The writer's end of a connection's queue.
#[derive(Debug)]
pub(crate) struct Queue {
    /// The messages, in order.
    pub(crate) rx: mpsc::UnboundedReceiver<Wire>,
    /// Bytes queued and not yet written, shared with the engine task's entry (which bounds
    /// it); the writer subtracts each message once it is written.
    pub(crate) queued: Arc<AtomicUsize>,
}

/// Accepts connections until the engine task aborts it or goes away.
pub(crate) async fn accept_loop(listener: TcpListener, events: mpsc::Sender<TcpEvent>) {
    loop {
        let event = match listener.accept().await {
            Ok((stream, addr)) => TcpEvent::Accepted(stream, addr),
            Err(e) => {
                if events.send(TcpEvent::AcceptFailed(e)).await.is_err() {
                    return;
                }
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        if events.send(event).await.is_err() {
            return;
        }
    }
}

/// Starts the reader and the writer of an established connection.
pub(crate) fn start(io: ConnIo, stream: TcpStream, queue: Queue, stop: oneshot::Receiver<()>) {
    // Nagle would hold back a small request while the previous one is unacknowledged.
    let _ = stream.set_nodelay(true);
    let (read, write) = stream.into_split();
    tokio::spawn(reader(io.clone(), read, stop));
    tokio::spawn(writer(io, write, queue));
}

/// Opens an outbound connection, then runs it like an accepted one. Stops early if the
/// engine task drops the connection's entry while connecting.
pub(crate) async fn connect(
    io: ConnIo,
    addr: SocketAddr,
    timeout: Duration,
    queue: Queue,
    mut stop: oneshot::Receiver<()>,
) {
    let attempt = tokio::time::timeout(timeout, TcpStream::connect(addr));
    let result = tokio::select! {
        result = attempt => result,
        _ = &mut stop => return,
    };
    match result {
        Ok(Ok(stream)) => {
            // Reported before the reader starts, so the engine task learns of the
            // connection before any message read on it (one channel keeps the order).
            if io.events.send(TcpEvent::Connected(io.conn)).await.is_ok() {
                start(io, stream, queue, stop);
            }
        }
        Ok(Err(e)) => {
            let _ = io
                .events
                .send(TcpEvent::ConnectFailed(io.conn, Some(e)))
                .await;
        }
        Err(_elapsed) => {
            let _ = io.events.send(TcpEvent::ConnectFailed(io.conn, None)).await;
        }
    }
}

/// Reads the stream and frames messages off it until EOF, an error, lost framing or the
/// stop signal (the stop sends nothing: the engine task already forgot the connection).
async fn reader(io: ConnIo, mut read: OwnedReadHalf, mut stop: oneshot::Receiver<()>) {
    let mut framer = Framer::with_config(ParseConfig::with_max_message_size(io.max_message_size));
    let mut buf = vec![0u8; READ_CHUNK];
    let reason = loop {
        let n = tokio::select! {
            read = read.read(&mut buf) => match read {
                Ok(0) => break CloseReason::Eof,
                Ok(n) => n,
                Err(e) => break CloseReason::Read(e),
            },
            _ = &mut stop => return,
        };
        framer.push(buf.get(..n).unwrap_or_default());
        if let Err(reason) = forward_messages(&io, &mut framer).await {
            match reason {
                Some(reason) => break reason,
                None => return,
            }
        }
    };
    let _ = io.events.send(TcpEvent::Closed(io.conn, reason)).await;
}

/// Sends every complete message buffered in `framer` to the engine task. `Err(Some)` ends the
/// connection; `Err(None)` means the engine task is gone.
async fn forward_messages(io: &ConnIo, framer: &mut Framer) -> Result<(), Option<CloseReason>> {
    loop {
        let event = match framer.next_frame() {
            Ok(None) => return Ok(()),
            // The frame goes to the user agent as read: it parses it once (and answers it
            // if it is malformed), rather than parsed here, re-serialised and parsed again.
            Ok(Some(frame)) => TcpEvent::Message(io.conn, frame),
            Err(e) if e.fatal => return Err(Some(CloseReason::FramingLost(e.error))),
            Err(e) => TcpEvent::Malformed(io.conn, e.raw, e.error),
        };
        // Awaiting here is the back-pressure: a fast sender waits for the engine.
        io.events.send(event).await.map_err(|_| None)?;
    }
}

/// Writes queued messages in order until the queue closes (then shuts the write side down,
/// which the peer sees as a close), a write fails, or no byte could be written for the stall
/// timeout (the peer stopped reading). The messages waiting when it wakes go in one write
/// (up to [`WRITE_BATCH`] bytes); a lone message is written from where it is.
async fn writer(io: ConnIo, mut write: OwnedWriteHalf, mut queue: Queue) {
    while let Some(first) = queue.rx.recv().await {
        let batch;
        let bytes: &[u8] = match queue.rx.try_recv() {
            Err(_) => &first,
            Ok(second) => {
                // Allocated per batch, not kept: a connection idle after a burst holds none.
                let mut b = Vec::with_capacity(WRITE_BATCH.min(8 * (first.len() + second.len())));
                b.extend_from_slice(&first);
                b.extend_from_slice(&second);
                while b.len() < WRITE_BATCH {
                    match queue.rx.try_recv() {
                        Ok(more) => b.extend_from_slice(&more),
                        Err(_) => break,
                    }
                }
                batch = b;
                &batch
            }
        };
        if let Err(e) = write_within(&mut write, bytes, io.write_stall_timeout).await {
            let _ = io
                .events
                .send(TcpEvent::Closed(io.conn, CloseReason::Write(e)))
                .await;
            return;
        }
        queue.queued.fetch_sub(bytes.len(), Ordering::Relaxed);
    }
    let _ = write.shutdown().await;
}

/// `write_all`, failing with `TimedOut` when one write makes no progress for `stall`: a peer
/// that reads slowly keeps the connection; one that stopped reading does not.
async fn write_within(write: &mut OwnedWriteHalf, bytes: &[u8], stall: Duration) -> io::Result<()> {
    let mut rest = bytes;
    while !rest.is_empty() {
        match tokio::time::timeout(stall, write.write(rest)).await {
            Ok(Ok(0)) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(Ok(n)) => rest = rest.get(n..).unwrap_or_default(),
            Ok(Err(e)) => return Err(e),
            Err(_elapsed) => {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("no write progress for {stall:?}: the peer is not reading"),
                ))
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Messages queued before the writer runs (more than one batch of them) arrive whole, in
    /// order, once each; the queued bytes return to zero; closing the queue closes the stream.
    #[tokio::test]
    async fn the_writer_batches_what_is_queued_without_losing_or_reordering() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap());
        let (client, accepted) = tokio::join!(client, listener.accept());
        let (mut peer, _) = accepted.unwrap();
        let (_read, write) = client.unwrap().into_split();
        let (tx, rx) = mpsc::unbounded_channel::<Wire>();
        let queued = Arc::new(AtomicUsize::new(0));
        let mut want = Vec::new();
        // Sizes from a byte to a third of a batch, so batches end at the bound and between.
        for i in 0..400u32 {
            let i_ = i as usize;
            let len = if i % 50 == 0 {
                WRITE_BATCH / 3 + i_
            } else {
                1 + (i_ * 37) % 300
            };
            let msg: Vec<u8> = (0..len).map(|j| (i_ + j) as u8).collect();
            want.extend_from_slice(&msg);
            queued.fetch_add(msg.len(), Ordering::Relaxed);
            tx.send(Wire::from(msg)).unwrap();
        }
        drop(tx);
        let (events, _events_rx) = mpsc::channel(4);
        let io = ConnIo {
            conn: ConnId(1),
            events,
            max_message_size: 65_536,
            write_stall_timeout: Duration::from_secs(10),
        };
        let shared = Arc::clone(&queued);
        let task = tokio::spawn(writer(io, write, Queue { rx, queued: shared }));
        let mut got = Vec::new();
        peer.read_to_end(&mut got).await.unwrap();
        task.await.unwrap();
        assert_eq!(got.len(), want.len());
        assert!(got == want, "the bytes differ from the messages in order");
        assert_eq!(queued.load(Ordering::Relaxed), 0);
    }
}
