//! The record journal: where a [`crate::RecordWriter`] makes records durable, one `write(2)`
//! a batch on the sender's thread, before they reach the store in large transactions.
//!
//! A journal is a series of numbered segment files, `{path}.1`, `{path}.2`, ..., each
//! appended to for about a second and then sealed; a sealed segment is deleted once every
//! record in it is committed to the store. So the files on disk always hold every record that
//! was reported durable and is not yet in the store, and [`replay`] puts them there after a
//! crash: writes are idempotent upserts, so a record that was in both is written twice
//! harmlessly.

mod frame;

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::StoreError;
use crate::record::Record;
use crate::store::Store;

/// How long a segment is appended to before it is sealed and its records go to the store:
/// a store commit's fixed cost is shared by this much traffic, and a record is at most about
/// this late in the store (a query first asks for what is missing: see
/// [`crate::RecordWriter::settle`]).
pub const SEAL_AFTER: Duration = Duration::from_secs(1);

/// The size past which a segment is sealed sooner than [`SEAL_AFTER`], so that neither the
/// files nor the records held for the store grow large under a heavy load.
const SEAL_BYTES: u64 = 8 << 20;

/// Where a writer journals, and how hard it syncs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalConfig {
    /// The segments' common path: segment `n` is this path with `.n` appended. The daemon
    /// uses its database's path with `-pending` appended.
    pub path: PathBuf,
    /// `fdatasync` each batch before reporting it durable (on the thread that writes it, a
    /// sender's: it waits for the disk), so records survive a power loss
    /// as well as a crash of the process. Off, a batch is durable once written to the
    /// operating system (as with SQLite's `synchronous=NORMAL`), and reaches the disk at the
    /// store's next (synced) commit, about a second later.
    pub sync: bool,
    /// How long a segment is appended to before it is sealed and its records go to the
    /// store ([`SEAL_AFTER`] unless a test needs another).
    pub seal_after: Duration,
}

impl JournalConfig {
    /// The journal beside the database at `db`: `{db}-pending.N`, not synced per batch,
    /// segments sealed after [`SEAL_AFTER`].
    pub fn beside(db: &Path) -> Self {
        let mut path = db.as_os_str().to_owned();
        path.push("-pending");
        Self {
            path: path.into(),
            sync: false,
            seal_after: SEAL_AFTER,
        }
    }
}

/// The directory a journal's segments are in.
fn dir_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// What [`replay`] found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Replayed {
    /// Segments read and deleted.
    pub segments: usize,
    /// Records written to the store.
    pub records: usize,
    /// Segments that ended in a torn or damaged frame, with the bytes after its start that
    /// were not read. A process that died mid-write leaves one; those bytes were never
    /// reported durable.
    pub torn: Vec<(PathBuf, u64)>,
}

/// The segment files of the journal at `path`, lowest number first.
fn segments(path: &Path) -> Result<Vec<(u64, PathBuf)>, StoreError> {
    let io = |e: std::io::Error| StoreError::Backend(format!("{}: {e}", path.display()));
    let dir = dir_of(path);
    let Some(stem) = path.file_name().and_then(|n| n.to_str()) else {
        return Err(StoreError::Backend(format!(
            "journal path {} has no file name",
            path.display()
        )));
    };
    let mut found = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(found),
        Err(e) => return Err(io(e)),
    };
    for entry in entries {
        let entry = entry.map_err(io)?;
        let name = entry.file_name();
        let number = name
            .to_str()
            .and_then(|n| n.strip_prefix(stem))
            .and_then(|n| n.strip_prefix('.'))
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|n| n.parse::<u64>().ok());
        if let Some(number) = number {
            found.push((number, entry.path()));
        }
    }
    found.sort_unstable();
    Ok(found)
}

/// Writes every record the journal at `path` holds into `store`, oldest first, deleting each
/// segment once its records are committed. The daemon calls it at start, before
/// [`Store::close_orphans`], so that a call whose end was journalled before a crash keeps
/// its real end. A segment that is not a journal of this build is an error, and stays.
pub fn replay(path: &Path, store: &mut impl Store) -> Result<Replayed, StoreError> {
    let mut replayed = Replayed::default();
    for (_, segment) in segments(path)? {
        let shown = segment.display().to_string();
        let bytes = std::fs::read(&segment)
            .map_err(|e| StoreError::Backend(format!("reading {shown}: {e}")))?;
        let decoded = frame::decode(&bytes, &shown)?;
        if !decoded.records.is_empty() {
            store.apply(&decoded.records)?;
        }
        if let Some(at) = decoded.stopped_at {
            replayed
                .torn
                .push((segment.clone(), (bytes.len() - at) as u64));
        }
        std::fs::remove_file(&segment)
            .map_err(|e| StoreError::Backend(format!("removing {shown}: {e}")))?;
        replayed.segments += 1;
        replayed.records += decoded.records.len();
    }
    Ok(replayed)
}

/// The segment being appended to.
struct Segment {
    file: File,
    path: PathBuf,
    /// Bytes written so far (the header included).
    len: u64,
    opened: Instant,
}

/// Appends batches to the journal's newest segment; owned by the writer, under its lock.
pub(crate) struct Appender {
    config: JournalConfig,
    /// The number the next segment takes.
    next: u64,
    current: Option<Segment>,
    /// The current segment must take no more frames (a failed write left it unsure).
    spoiled: bool,
    /// The bytes of one batch, reused.
    buf: Vec<u8>,
    holders: String,
}

impl Appender {
    /// An appender whose first segment numbers above every segment already on disk (which
    /// [`replay`] should have emptied), so it never appends to a file it did not create.
    pub(crate) fn new(config: JournalConfig) -> Result<Self, StoreError> {
        let next = segments(&config.path)?.last().map_or(1, |(n, _)| n + 1);
        Ok(Self {
            config,
            next,
            current: None,
            spoiled: false,
            buf: Vec::new(),
            holders: String::new(),
        })
    }

    /// Makes `records` durable as one frame, in a new segment if none is open. On an error
    /// nothing of this batch counts and the caller tries again later: the segment is cut
    /// back to its last whole frame, or, if even that fails, spoiled (sealed at the next
    /// [`Appender::due`]), so a torn frame can only ever be a segment's last.
    pub(crate) fn append(&mut self, records: &[Record]) -> Result<(), StoreError> {
        self.buf.clear();
        let fresh = self.current.is_none();
        if fresh {
            frame::header(&mut self.buf);
        }
        frame::encode(&mut self.buf, records, &mut self.holders)?;
        let segment = match &mut self.current {
            Some(segment) => segment,
            empty => {
                let segment = open(&self.config, self.next)?;
                self.next += 1;
                empty.insert(segment)
            }
        };
        let sync = self.config.sync;
        let written = segment.file.write_all(&self.buf).and_then(|()| {
            if sync {
                segment.file.sync_data()
            } else {
                Ok(())
            }
        });
        match written {
            Ok(()) => {
                segment.len += self.buf.len() as u64;
                Ok(())
            }
            Err(e) => {
                if segment.file.set_len(segment.len).is_err() {
                    self.spoiled = true;
                }
                Err(StoreError::Backend(format!(
                    "journal {}: {e}",
                    segment.path.display()
                )))
            }
        }
    }

    /// Whether the open segment must take no more frames: a failed write could not be cut
    /// back, so it may end in a torn frame.
    pub(crate) fn spoiled(&self) -> bool {
        self.spoiled
    }

    /// Whether the open segment should be sealed now: it is old or large enough, or spoiled.
    pub(crate) fn due(&self) -> bool {
        self.current.as_ref().is_some_and(|s| {
            self.spoiled || s.len >= SEAL_BYTES || s.opened.elapsed() >= self.config.seal_after
        })
    }

    /// How long a segment is appended to before it is due for sealing by age.
    pub(crate) fn seal_after(&self) -> Duration {
        self.config.seal_after
    }

    /// Ends the open segment, if any, and returns its path: it takes no more frames, and
    /// may be deleted once every record appended to it is in the store.
    pub(crate) fn seal(&mut self) -> Option<PathBuf> {
        self.spoiled = false;
        self.current.take().map(|s| s.path)
    }
}

/// Creates segment `number`, refusing one that exists. With `sync`, the directory entry is
/// made durable too, or a power loss could lose the file with its synced contents.
fn open(config: &JournalConfig, number: u64) -> Result<Segment, StoreError> {
    let mut path = config.path.as_os_str().to_owned();
    path.push(format!(".{number}"));
    let path = PathBuf::from(path);
    let err = |e: std::io::Error| StoreError::Backend(format!("creating {}: {e}", path.display()));
    let file = OpenOptions::new()
        .append(true)
        .create_new(true)
        .open(&path)
        .map_err(err)?;
    if config.sync {
        File::open(dir_of(&path))
            .and_then(|d| d.sync_all())
            .map_err(err)?;
    }
    Ok(Segment {
        file,
        path,
        len: 0,
        opened: Instant::now(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An appender for the journal `j` in `dir`, unsynced, sealing after the default age.
    fn appender_at(dir: &Path) -> Appender {
        Appender::new(JournalConfig {
            path: dir.join("j"),
            sync: false,
            seal_after: SEAL_AFTER,
        })
        .unwrap()
    }

    #[test]
    fn a_spoiled_segment_comes_due_and_the_next_batch_opens_a_new_one() {
        let dir = tempfile::tempdir().unwrap();
        let mut appender = appender_at(dir.path());
        appender.append(&[]).unwrap();
        assert!(!appender.due(), "young and small");
        // As a failed write that could not be cut back leaves it.
        appender.spoiled = true;
        assert!(appender.due() && appender.spoiled());
        let first = appender.seal().unwrap();
        assert!(!appender.spoiled());
        appender.append(&[]).unwrap();
        let second = appender.seal().unwrap();
        assert_eq!(
            (first, second),
            (dir.path().join("j.1"), dir.path().join("j.2"))
        );
    }

    #[test]
    fn an_appender_numbers_above_the_segments_it_finds() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("j.7"), b"").unwrap();
        std::fs::write(dir.path().join("j.x"), b"").unwrap();
        let mut appender = appender_at(dir.path());
        appender.append(&[]).unwrap();
        assert_eq!(appender.seal(), Some(dir.path().join("j.8")));
    }
}
