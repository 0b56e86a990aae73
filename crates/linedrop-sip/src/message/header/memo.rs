//! A small per-thread memo of the header values parsed last.
//!
//! Parsing is a pure function of a value's text, and the same texts come back message after
//! message: a call's ACK and BYE carry its INVITE's From, a peer sends the same Contact on every
//! INVITE. So the last few results per kind are kept, keyed by that text, and a read of the same
//! text gets a copy instead of a parse; the addresses (From, To, Contact) are kept behind an
//! `Arc`, so the parser's reading of them (which the message keeps, see [`super::parsed`]) is
//! shared rather than copied. The memory held is bounded (a few entries per thread, values up to
//! [`MAX_KEY`] bytes), and a miss costs one comparison per entry.
//!
//! Its user is the parser: the user agent reads the values the message keeps, not this. It
//! earns its place there: parsing every address and URI afresh (a SIP URI costs ~1.5k
//! instructions) made the SIP thread's work per call ~19k instructions larger under SIPp's uac
//! (`bench/callgrind.sh`), because the URIs inside every From, To and Contact and the
//! Request-URIs of one peer repeat from call to call even where the addresses do not.

use std::cell::RefCell;
use std::thread::LocalKey;

/// Values longer than this are parsed every time: the memo must not pin large buffers.
const MAX_KEY: usize = 256;

/// The last `N` results of one parse function; a new one replaces the one read least
/// recently, so a value every message repeats (a peer's Contact, its Request-URI) stays while
/// the values of one message come and go around it.
pub(crate) struct Memo<T, E, const N: usize> {
    slots: [Option<(String, Result<T, E>)>; N],
    /// When each slot was last read or written, in reads of this memo.
    used: [u64; N],
    clock: u64,
}

impl<T, E, const N: usize> Memo<T, E, N> {
    pub(crate) const fn new() -> Self {
        Memo {
            slots: [const { None }; N],
            used: [0; N],
            clock: 0,
        }
    }
}

/// `parse(text)`, from `memo` when `text` was parsed recently on this thread.
pub(crate) fn memoized<T: Clone + 'static, E: Clone + 'static, const N: usize>(
    memo: &'static LocalKey<RefCell<Memo<T, E, N>>>,
    text: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<T, E> {
    with_parsed(memo, text, parse, |v| v.clone())
}

/// `read(&parse(text))`, parsing only when `text` was not parsed recently on this thread: a
/// caller that needs only part of the value (a tag, a branch, whether it is valid) does not
/// pay for a copy of all of it.
pub(crate) fn with_parsed<T: 'static, E: 'static, R, const N: usize>(
    memo: &'static LocalKey<RefCell<Memo<T, E, N>>>,
    text: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
    read: impl FnOnce(&Result<T, E>) -> R,
) -> R {
    if text.len() > MAX_KEY {
        return read(&parse(text));
    }
    // One access to the thread-local: the closures are lent to it and taken back if the
    // thread is being torn down (then the memo is gone and the value is parsed).
    let mut fns = Some((parse, read));
    let memo_read = memo.try_with(|m| {
        let (parse, read) = fns.take()?;
        Some(with_memo(m, text, parse, read))
    });
    match (memo_read, fns) {
        (Ok(Some(r)), _) => r,
        (_, Some((parse, read))) => read(&parse(text)),
        // Invariant: the closures are either taken (and the memo answered) or still here.
        (_, None) => unreachable!("memo closures lost"),
    }
}

/// `a == b`, the ends compared first: texts of one kind share their start and differ in their
/// end (the From of every call from one peer differs only in its tag), so a miss is found
/// without comparing the common part.
fn same_text(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.last_chunk::<8>() == b.last_chunk::<8>() && a == b
}

fn with_memo<T, E, R, const N: usize>(
    m: &RefCell<Memo<T, E, N>>,
    text: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
    read: impl FnOnce(&Result<T, E>) -> R,
) -> R {
    // Taken only here and never across a call out: a nested use cannot happen, and if it
    // ever did it would parse without the memo rather than panic.
    let Ok(mut m) = m.try_borrow_mut() else {
        return read(&parse(text));
    };
    let m = &mut *m;
    m.clock += 1;
    let hit = m
        .slots
        .iter()
        .position(|s| s.as_ref().is_some_and(|(k, _)| same_text(k, text)));
    if let Some(i) = hit {
        if let Some(u) = m.used.get_mut(i) {
            *u = m.clock;
        }
        if let Some(Some((_, v))) = m.slots.get(i) {
            return read(v);
        }
    }
    let value = parse(text);
    // The least recently used slot (an empty one first: it was never used).
    let i = (0..N)
        .min_by_key(|&i| m.used.get(i).copied().unwrap_or(0))
        .unwrap_or(0);
    if let Some(u) = m.used.get_mut(i) {
        *u = m.clock;
    }
    match m.slots.get_mut(i) {
        // Reuse the key's buffer: a steady state allocates nothing here.
        Some(Some((k, v))) => {
            k.clear();
            k.push_str(text);
            *v = value;
            read(v)
        }
        Some(slot) => read(&slot.insert((text.to_owned(), value)).1),
        None => read(&value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::error::HeaderError;
    use std::cell::Cell;

    thread_local! {
        static TEST: RefCell<Memo<usize, HeaderError, 2>> = const { RefCell::new(Memo::new()) };
    }

    #[test]
    fn texts_compare_as_equality_does() {
        let texts = [
            "",
            "a",
            "abcdefg",
            "abcdefgh",
            "xbcdefgh",
            "abcdefgx",
            "sipp <sip:sipp@127.0.0.1:5061>;tag=1SIPpTag001",
            "sipp <sip:sipp@127.0.0.1:5061>;tag=1SIPpTag002",
            "tipp <sip:sipp@127.0.0.1:5061>;tag=1SIPpTag001",
        ];
        for a in texts {
            for b in texts {
                assert_eq!(same_text(a, b), a == b, "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn hits_return_the_same_result_and_misses_parse() {
        let calls = Cell::new(0);
        let parse = |s: &str| {
            calls.set(calls.get() + 1);
            if s.is_empty() {
                Err(HeaderError::Empty)
            } else {
                Ok(s.len())
            }
        };
        assert_eq!(memoized(&TEST, "abc", parse), Ok(3));
        assert_eq!(memoized(&TEST, "abc", parse), Ok(3));
        assert_eq!(calls.get(), 1);
        assert_eq!(memoized(&TEST, "", parse), Err(HeaderError::Empty));
        assert_eq!(memoized(&TEST, "", parse), Err(HeaderError::Empty));
        assert_eq!(calls.get(), 2);
        // A third key evicts the one read least recently: "abc", read before "".
        assert_eq!(memoized(&TEST, "wxyz", parse), Ok(4));
        assert_eq!(memoized(&TEST, "", parse), Err(HeaderError::Empty));
        assert_eq!(calls.get(), 3);
        assert_eq!(memoized(&TEST, "abc", parse), Ok(3));
        assert_eq!(calls.get(), 4);
        // A key read again stays while others come and go around it.
        for (n, other) in ["p", "q", "r"].into_iter().enumerate() {
            assert_eq!(memoized(&TEST, "abc", parse), Ok(3));
            assert_eq!(memoized(&TEST, other, parse), Ok(1));
            assert_eq!(calls.get(), 5 + n);
        }
        let long = "x".repeat(MAX_KEY + 1);
        assert_eq!(memoized(&TEST, &long, parse), Ok(MAX_KEY + 1));
        assert_eq!(memoized(&TEST, &long, parse), Ok(MAX_KEY + 1));
        assert_eq!(calls.get(), 9);
    }
}
