//! The bytes of a journal segment: a header, then one frame per batch.
//!
//! ```text
//! segment := "LDJ1" columns:u32 frame*
//! frame   := length:u32 checksum:u64 payload            (length = payload bytes)
//! payload := count:u32 record{count}
//! record  := value{columns}                             (in crate::columns order)
//! value   := 0 | 1 i64 | 2 length:u32 utf8-bytes        (NULL, integer, text)
//! ```
//!
//! All integers little-endian. A frame is written by one `write(2)` after its batch is
//! complete, so a process that dies leaves at most its last frame torn; the checksum tells a
//! torn or damaged frame from a whole one, and reading stops there.

use crate::columns::{self, Sink, Source, Value, COLUMNS};
use crate::error::StoreError;
use crate::record::Record;

/// The first four bytes of every segment.
const MAGIC: &[u8; 4] = b"LDJ1";

/// The segment header's length: the magic and the column count.
pub(super) const HEADER_LEN: usize = 8;

/// A frame's length and checksum.
const FRAME_HEAD: usize = 12;

/// The largest frame a reader accepts: far above any batch the writer makes (a batch is at
/// most a few thousand records of a few hundred bytes), so a larger length is damage.
const MAX_FRAME: usize = 256 << 20;

/// Appends a segment header to `out`.
pub(super) fn header(out: &mut Vec<u8>) {
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(COLUMNS.len() as u32).to_le_bytes());
}

/// Appends one frame holding `records` to `out`. `holders` is scratch space.
pub(super) fn encode(
    out: &mut Vec<u8>,
    records: &[Record],
    holders: &mut String,
) -> Result<(), StoreError> {
    let start = out.len();
    out.extend_from_slice(&[0; FRAME_HEAD]);
    let count = u32::try_from(records.len())
        .map_err(|_| StoreError::InvalidRecord("a batch of over 2^32 records".into()))?;
    out.extend_from_slice(&count.to_le_bytes());
    let mut sink = Encoder(out);
    for r in records {
        columns::write(r, holders, &mut sink)?;
    }
    let payload = start + FRAME_HEAD;
    let length = u32::try_from(out.len() - payload)
        .map_err(|_| StoreError::InvalidRecord("a batch of over 4 GiB".into()))?;
    let sum = checksum(&out[payload..]);
    out[start..start + 4].copy_from_slice(&length.to_le_bytes());
    out[start + 4..payload].copy_from_slice(&sum.to_le_bytes());
    Ok(())
}

struct Encoder<'a>(&'a mut Vec<u8>);

impl Sink for Encoder<'_> {
    fn put(&mut self, value: Value<'_>) -> Result<(), StoreError> {
        match value {
            Value::Null => self.0.push(0),
            Value::Int(v) => {
                self.0.push(1);
                self.0.extend_from_slice(&v.to_le_bytes());
            }
            Value::Text(t) => {
                let len = u32::try_from(t.len())
                    .map_err(|_| StoreError::InvalidRecord("a text of over 4 GiB".into()))?;
                self.0.push(2);
                self.0.extend_from_slice(&len.to_le_bytes());
                self.0.extend_from_slice(t.as_bytes());
            }
        }
        Ok(())
    }
}

/// What reading a segment found.
#[derive(Debug, Default)]
pub(super) struct Decoded {
    /// The records of every whole frame, in order.
    pub(super) records: Vec<Record>,
    /// Where reading stopped before the end of the bytes: the offset of the first frame that
    /// was torn or damaged. `None` when every byte belonged to a whole frame.
    pub(super) stopped_at: Option<usize>,
}

/// Reads a segment's bytes. A header of another format is an error (the file is not one of
/// ours, or is from a build with other columns); a segment shorter than its header was
/// created but never written, and holds nothing.
pub(super) fn decode(bytes: &[u8], shown: &str) -> Result<Decoded, StoreError> {
    if bytes.len() < HEADER_LEN {
        return Ok(Decoded {
            records: Vec::new(),
            stopped_at: (!bytes.is_empty()).then_some(0),
        });
    }
    if &bytes[..4] != MAGIC {
        return Err(StoreError::Corrupt {
            what: format!("{shown} is not a linedrop record journal"),
        });
    }
    let columns = read_u32(bytes, 4).unwrap_or_default() as usize;
    if columns != COLUMNS.len() {
        return Err(StoreError::Corrupt {
            what: format!(
                "{shown} holds records of {columns} columns; this build writes {}",
                COLUMNS.len()
            ),
        });
    }
    let mut decoded = Decoded::default();
    let mut at = HEADER_LEN;
    while at < bytes.len() {
        match frame(bytes, at) {
            Some((records, next)) => {
                decoded.records.extend(records);
                at = next;
            }
            None => {
                decoded.stopped_at = Some(at);
                break;
            }
        }
    }
    Ok(decoded)
}

/// The records of the frame at `at` and the offset after it; `None` if it is torn or
/// damaged (a short frame, a checksum that does not match, values that do not parse).
fn frame(bytes: &[u8], at: usize) -> Option<(Vec<Record>, usize)> {
    let length = read_u32(bytes, at)? as usize;
    if length > MAX_FRAME {
        return None;
    }
    let sum = u64::from_le_bytes(bytes.get(at + 4..at + FRAME_HEAD)?.try_into().ok()?);
    let payload = bytes.get(at + FRAME_HEAD..at + FRAME_HEAD + length)?;
    if checksum(payload) != sum {
        return None;
    }
    let count = read_u32(payload, 0)? as usize;
    let mut cursor = Cursor {
        bytes: payload,
        at: 4,
    };
    let mut records = Vec::with_capacity(count.min(length / COLUMNS.len()));
    for _ in 0..count {
        let values = cursor.record()?;
        records.push(columns::read(&values).ok()?);
    }
    (cursor.at == payload.len()).then_some((records, at + FRAME_HEAD + length))
}

fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

/// Reads values out of a frame's payload.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let out = self.bytes.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(out)
    }

    fn value(&mut self) -> Option<Value<'a>> {
        match self.take(1)?[0] {
            0 => Some(Value::Null),
            1 => Some(Value::Int(i64::from_le_bytes(
                self.take(8)?.try_into().ok()?,
            ))),
            2 => {
                let len = u32::from_le_bytes(self.take(4)?.try_into().ok()?) as usize;
                std::str::from_utf8(self.take(len)?).ok().map(Value::Text)
            }
            _ => None,
        }
    }

    fn record(&mut self) -> Option<Values<'a>> {
        let mut values = [Value::Null; COLUMNS.len()];
        for v in &mut values {
            *v = self.value()?;
        }
        Some(Values(values))
    }
}

/// One journalled record's values, as a [`Source`].
struct Values<'a>([Value<'a>; COLUMNS.len()]);

impl Source for Values<'_> {
    fn value(&self, column: usize) -> Result<Value<'_>, StoreError> {
        Ok(self.0[column])
    }
}

/// A 64-bit checksum of a frame's payload, eight bytes a step. It only has to tell a torn or
/// damaged frame from a whole one (nobody forges our own files), so it need not be a CRC.
fn checksum(bytes: &[u8]) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let mix = |h: u64, w: u64| (h ^ w).wrapping_mul(K).rotate_left(29);
    let mut h = K ^ bytes.len() as u64;
    let mut words = bytes.chunks_exact(8);
    for w in &mut words {
        let mut word = [0; 8];
        word.copy_from_slice(w);
        h = mix(h, u64::from_le_bytes(word));
    }
    let mut tail = [0; 8];
    tail[..words.remainder().len()].copy_from_slice(words.remainder());
    h = mix(h, u64::from_le_bytes(tail));
    h ^ (h >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flipped_bit_anywhere_changes_the_checksum() {
        let bytes: Vec<u8> = (0..37u8).collect();
        let sum = checksum(&bytes);
        for i in 0..bytes.len() {
            for bit in 0..8 {
                let mut damaged = bytes.clone();
                damaged[i] ^= 1 << bit;
                assert_ne!(checksum(&damaged), sum, "byte {i} bit {bit}");
            }
        }
        assert_ne!(checksum(&bytes[..36]), sum, "a shorter payload");
    }
}
