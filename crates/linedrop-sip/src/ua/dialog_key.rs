//! The key a dialog (and its tombstone) is found by: (Call-ID, our tag), looked up with the
//! `&str`s of a received request, so an ACK or a BYE builds (and allocates) no key.
//!
//! The hash covers our tag alone, with the cheap [`IdHasher`]. The tag is made here, at
//! random (`rng::Ids::tag`), for every dialog: a peer can echo it but never choose the tags
//! that go into the table, so the keys are well spread whatever a request carries, which is
//! what SipHash would otherwise buy (see `linedrop_core::id_hash`). A lookup by a tag from
//! the wire is one probe like any other. Equality still compares both parts: two dialogs
//! that drew the same tag stay apart, and the Call-ID of a request must match too.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::sync::Arc;

use linedrop_core::IdHasher;

/// (Call-ID, our tag): a dialog as we know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DialogKey {
    pub(crate) call_id: Arc<str>,
    pub(crate) tag: Arc<str>,
}

/// A table keyed by dialogs (see the module docs for its hasher).
pub(crate) type DialogMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

/// Either an owned [`DialogKey`] or a pair of borrowed `&str`: what a lookup accepts.
pub(crate) trait DialogRef {
    fn call_id(&self) -> &str;
    fn tag(&self) -> &str;
}

impl DialogRef for DialogKey {
    fn call_id(&self) -> &str {
        &self.call_id
    }

    fn tag(&self) -> &str {
        &self.tag
    }
}

impl DialogRef for (&str, &str) {
    fn call_id(&self) -> &str {
        self.0
    }

    fn tag(&self) -> &str {
        self.1
    }
}

impl Hash for dyn DialogRef + '_ {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // Our tag alone (see the module docs); equal keys have equal tags.
        self.tag().hash(state);
    }
}

impl PartialEq for dyn DialogRef + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.tag() == other.tag() && self.call_id() == other.call_id()
    }
}

impl Eq for dyn DialogRef + '_ {}

// The owned key hashes and compares exactly as its borrowed form does (a `Borrow` must).
impl Hash for DialogKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (self as &dyn DialogRef).hash(state);
    }
}

impl<'a> Borrow<dyn DialogRef + 'a> for DialogKey {
    fn borrow(&self) -> &(dyn DialogRef + 'a) {
        self
    }
}

impl<'a> Borrow<dyn DialogRef + 'a> for Arc<DialogKey> {
    fn borrow(&self) -> &(dyn DialogRef + 'a) {
        &**self
    }
}

/// The lookup form of (Call-ID, tag).
pub(crate) fn lookup<'a>(pair: &'a (&'a str, &'a str)) -> &'a (dyn DialogRef + 'a) {
    pair
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(call_id: &str, tag: &str) -> DialogKey {
        DialogKey {
            call_id: call_id.into(),
            tag: tag.into(),
        }
    }

    #[test]
    fn a_dialog_is_found_by_borrowed_strs_and_only_by_both_parts() {
        let mut m: DialogMap<DialogKey, u32> = DialogMap::default();
        m.insert(key("c1@h", "aaaa"), 1);
        m.insert(key("c2@h", "aaaa"), 2); // the same tag drawn twice stays apart
        m.insert(key("c1@h", "bbbb"), 3);
        assert_eq!(m.get(lookup(&("c1@h", "aaaa"))), Some(&1));
        assert_eq!(m.get(lookup(&("c2@h", "aaaa"))), Some(&2));
        assert_eq!(m.get(lookup(&("c1@h", "bbbb"))), Some(&3));
        assert_eq!(m.get(lookup(&("c3@h", "aaaa"))), None);
        assert_eq!(m.get(lookup(&("c1@h", "cccc"))), None);
        assert_eq!(m.remove(lookup(&("c2@h", "aaaa"))), Some(2));
        assert_eq!(m.get(lookup(&("c1@h", "aaaa"))), Some(&1));
    }

    #[test]
    fn a_shared_key_is_found_the_same_way() {
        let mut m: DialogMap<Arc<DialogKey>, u32> = DialogMap::default();
        for i in 0..1000 {
            m.insert(Arc::new(key(&format!("call-{i}"), &format!("{i:012x}"))), i);
        }
        for i in 0..1000 {
            let (c, t) = (format!("call-{i}"), format!("{i:012x}"));
            assert_eq!(m.get(lookup(&(&c, &t))), Some(&i));
        }
        assert!(!m.contains_key(lookup(&("call-1", "000000000002"))));
    }
}
