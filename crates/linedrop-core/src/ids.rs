//! Identifiers: the global call id, and the generational keys of apps, lines and handles.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The global identifier of a call: the same for every app, in every event and record.
///
/// Ids are never reused within one id space (see [`CallIds`]), so a record or an event can
/// always be tied to the one call it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CallId(pub u64);

impl fmt::Display for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The allocator of [`CallId`]s, shared by the engine and its provider.
///
/// Inbound calls are born in the provider (a SIP INVITE arrives) and outbound ones in the
/// engine (`dial`); both take ids from this one counter so they never collide. It is an
/// atomic only so that it can be shared by reference count; nothing here blocks.
#[derive(Debug, Clone)]
pub struct CallIds(Arc<AtomicU64>);

impl CallIds {
    /// A new id space whose first id is `first` (a daemon passes one past the highest id in
    /// its store, so ids stay unique across restarts).
    pub fn starting_at(first: u64) -> Self {
        Self(Arc::new(AtomicU64::new(first.max(1))))
    }

    /// Takes the next id.
    pub fn next_id(&self) -> CallId {
        CallId(self.0.fetch_add(1, Ordering::Relaxed))
    }
}

impl Default for CallIds {
    fn default() -> Self {
        Self::starting_at(1)
    }
}

macro_rules! generational_key {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name {
            pub(crate) index: u32,
            pub(crate) generation: u32,
        }

        impl $name {
            /// The key as one number (index in the low half, generation in the high half), for
            /// logs and wire formats.
            pub fn to_bits(self) -> u64 {
                (u64::from(self.generation) << 32) | u64::from(self.index)
            }

            /// The inverse of [`Self::to_bits`]. A forged or stale value is harmless: the
            /// engine answers `invalid_handle` for any key it does not hold.
            pub fn from_bits(bits: u64) -> Self {
                Self { index: bits as u32, generation: (bits >> 32) as u32 }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}v{}", self.index, self.generation)
            }
        }
    };
}

generational_key!(
    /// An app: a holder of calls (a Rust program, or an API client identified by its token).
    AppId
);
generational_key!(
    /// A line: a local address calls are made from and offered to.
    LineId
);
generational_key!(
    /// One app's handle to one call. Generational: once released, the same key never names
    /// another call, even when its slot is reused.
    CallHandle
);
