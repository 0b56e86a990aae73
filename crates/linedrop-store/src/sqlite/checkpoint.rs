//! Checkpoints off the commit path: a thread with its own connection copies the write-ahead
//! log into the database file while the writer keeps committing.
//!
//! SQLite's automatic checkpoint runs inside the commit that crosses its threshold (1,000
//! pages): that commit, and every record queued behind it, waits for the copy and its two
//! syncs (a few milliseconds each here), which made the tail of the time to a durable record.
//! A checkpoint needs no writer lock in WAL mode, so another connection can run it while
//! commits continue; only the log's restart from its beginning needs a moment when the
//! checkpoint has caught up with the last commit, which a steady stream of commits may never
//! leave. When the log has grown past [`CATCH_UP_FRAMES`] without one, the writer runs the
//! next checkpoint itself, between two commits: the background pass has copied nearly
//! everything, so that one copies little, and the log restarts at the next commit. So the
//! log stays bounded under any load, and the commit path pays a checkpoint only that rarely.
//!
//! Durability is unchanged: a commit is in the log file before it returns, whoever
//! checkpoints later, and a checkpoint syncs the log before copying it, as before.

use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

use rusqlite::{Connection, OpenFlags};

use crate::error::StoreError;

/// Commits between two background passes: at low rates a commit adds two or three pages,
/// so a pass copies a few hundred. Often, because the log restarts (and stays small) only
/// when a pass ends before the next commit, and a large log is dear: SQLite's log index
/// finds a page by probing past every earlier frame of it, and the rows' last pages are in
/// nearly every commit (callgrind at 100 calls/s: passes every 256 commits let the log reach
/// thousands of frames, and `walIndexAppend` cost 10,000 more instructions a call).
pub(crate) const COMMITS_PER_PASS: u64 = 64;

/// How long a commit waits for a pass when fewer than [`COMMITS_PER_PASS`] follow it. A
/// writer with a journal commits about once a second, each commit a segment's worth of
/// pages: counting commits alone would let the log grow for a minute.
const PASS_AFTER: std::time::Duration = std::time::Duration::from_secs(1);

/// The log size, in frames (pages), past which the writer checkpoints itself: the background
/// passes have not let the log restart since it was 64 MiB (4 KiB pages). That checkpoint
/// costs the commit path two syncs; at 3,000 calls/s the log grows by about 3,400 frames a
/// second under a steady stream, so this makes it one pause every few seconds (at 3,000
/// calls/s a 16 MiB bound showed more records over 5 ms).
pub(crate) const CATCH_UP_FRAMES: i64 = 16_384;

/// Commits without a background pass beginning after which the writer checkpoints itself
/// anyway: the thread is starved or stuck, and the log must not grow without bound.
const STALLED_COMMITS: u64 = 16 * COMMITS_PER_PASS;

#[derive(Default)]
struct State {
    /// Commits since the last pass began.
    commits: u64,
    /// The last pass found the log past [`CATCH_UP_FRAMES`]: the writer should catch up.
    behind: bool,
    /// The writer is checkpointing: no pass starts meanwhile, so the writer's never finds
    /// the checkpoint lock taken by one.
    catching_up: bool,
    /// The store is being dropped.
    stop: bool,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

/// The state's values are plain counters and flags, consistent whatever a panicking holder
/// was doing.
fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The background checkpointer of one writing connection; stops and joins when dropped.
pub(crate) struct Checkpointer {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Checkpointer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checkpointer").finish_non_exhaustive()
    }
}

impl Checkpointer {
    /// Opens a second connection to `path` and starts the thread that checkpoints on it.
    /// The writing connection must have its automatic checkpoint turned off.
    pub(crate) fn spawn(path: &Path) -> Result<Self, StoreError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(|e| StoreError::Open {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        // Never started by this connection's own (nonexistent) commits, but set anyway so
        // the only checkpoints are the ones below.
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
        });
        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("linedrop-checkpoint".into())
            .spawn(move || run(&conn, &thread_shared))
            .map_err(|e| StoreError::Backend(format!("cannot start the checkpointer: {e}")))?;
        Ok(Self {
            shared,
            thread: Some(thread),
        })
    }

    /// Counts a commit, waking the thread every [`COMMITS_PER_PASS`]. True when the writer
    /// should checkpoint now, itself: it must then call [`Checkpointer::catch_up`], which
    /// lets the thread's passes resume.
    pub(crate) fn committed(&self) -> bool {
        let mut state = lock(&self.shared.state);
        state.commits += 1;
        let stalled = state.commits >= STALLED_COMMITS;
        if stalled {
            // Counted again from here, so a writer whose catch-up keeps failing (BUSY: the
            // thread is mid-pass after all) retries every STALLED_COMMITS, not every commit.
            state.commits = COMMITS_PER_PASS;
        }
        if std::mem::take(&mut state.behind) || stalled {
            state.catching_up = true;
            return true;
        }
        if state.commits >= COMMITS_PER_PASS {
            self.shared.wake.notify_one();
        }
        false
    }

    /// The writer's own checkpoint on its connection `conn`, between two commits, so that
    /// it copies through the last commit and the next one restarts the log. Its outcome
    /// needs no handling: if the background thread held the checkpoint lock (a pass is
    /// running) or it failed, the next pass reports the log still too long, or the writer's
    /// count of commits asks again.
    pub(crate) fn catch_up(&self, conn: &Connection) {
        let _ = passive(conn);
        lock(&self.shared.state).catching_up = false;
        self.shared.wake.notify_one();
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        lock(&self.shared.state).stop = true;
        self.shared.wake.notify_one();
        if let Some(thread) = self.thread.take() {
            // A panic in the thread has nowhere to go from a drop; the log is only larger.
            let _ = thread.join();
        }
    }
}

/// What a passive checkpoint did.
enum Pass {
    /// Every frame of the log that no reader still needs is in the database file; the log
    /// holds `log` frames (pages) since it last restarted.
    Done { log: i64 },
    /// Another connection was checkpointing.
    Busy,
}

/// `PRAGMA wal_checkpoint(PASSIVE)`: copies what it can without waiting for any lock.
fn passive(conn: &Connection) -> rusqlite::Result<Pass> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
        let busy: i64 = r.get(0)?;
        let log: i64 = r.get(1)?;
        Ok(if busy != 0 {
            Pass::Busy
        } else {
            Pass::Done { log }
        })
    })
}

/// The thread: wait for enough commits (or a commit and [`PASS_AFTER`]), checkpoint,
/// repeat until stopped.
fn run(conn: &Connection, shared: &Shared) {
    loop {
        {
            let state = lock(&shared.state);
            let (mut state, _) = shared
                .wake
                .wait_timeout_while(state, PASS_AFTER, |s| {
                    !s.stop && (s.commits < COMMITS_PER_PASS || s.behind || s.catching_up)
                })
                .unwrap_or_else(PoisonError::into_inner);
            if state.stop {
                return;
            }
            if state.commits == 0 || state.behind || state.catching_up {
                continue;
            }
            state.commits = 0;
        }
        // An error (a full disk, say) leaves the log uncopied and growing; the catch-up
        // below hands the next try to the writer, whose own commits will report the fault.
        let behind = match passive(conn) {
            Ok(Pass::Done { log }) => log > CATCH_UP_FRAMES,
            Ok(Pass::Busy) => false,
            Err(_) => true,
        };
        if behind {
            lock(&shared.state).behind = true;
        }
    }
}
