//! Record queries: filters, order and keyset pagination.

use std::fmt;
use std::str::FromStr;
use std::time::SystemTime;

use linedrop_core::{Cause, Direction, Origin};

use crate::error::StoreError;
use crate::record::Record;

/// The most records one page may hold; a bigger limit is refused rather than cut, so a
/// client never mistakes a capped page for the whole answer.
pub const MAX_LIMIT: u32 = 1000;

/// The page size when a query does not say.
pub const DEFAULT_LIMIT: u32 = 100;

/// Which end of the id space a query starts from. Ids grow with creation, so id order is
/// creation order without the ties that equal timestamps would give.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Order {
    /// Highest id first.
    #[default]
    NewestFirst,
    /// Lowest id first.
    OldestFirst,
}

/// Where the next page starts: after the last id of the previous page, in that page's
/// order. Opaque to clients; its text form (`Display`/`FromStr`) travels in URLs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub(crate) order: Order,
    pub(crate) after: u64,
}

impl Cursor {
    /// The order of the query that produced it.
    pub fn order(&self) -> Order {
        self.order
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tag = match self.order {
            Order::NewestFirst => 'n',
            Order::OldestFirst => 'o',
        };
        write!(f, "{tag}{}", self.after)
    }
}

impl FromStr for Cursor {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || StoreError::InvalidQuery(format!("malformed cursor {s:?}"));
        let mut chars = s.chars();
        let order = match chars.next() {
            Some('n') => Order::NewestFirst,
            Some('o') => Order::OldestFirst,
            _ => return Err(bad()),
        };
        let after = chars.as_str().parse().map_err(|_| bad())?;
        Ok(Cursor { order, after })
    }
}

/// Which records to return. Every filter is optional; set ones must all hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordQuery {
    /// Created at or after this time.
    pub created_from: Option<SystemTime>,
    /// Created strictly before this time.
    pub created_before: Option<SystemTime>,
    /// On the line with this address.
    pub line: Option<String>,
    /// Ended with this origin.
    pub origin: Option<Origin>,
    /// Ended with this cause.
    pub cause: Option<Cause>,
    /// Ended with this SIP status.
    pub sip_status: Option<u16>,
    /// Set up in this direction.
    pub direction: Option<Direction>,
    /// Completed (`true`) or still open (`false`).
    pub completed: Option<bool>,
    /// Newest or oldest first.
    pub order: Order,
    /// Continue after a previous page; must come from a query with the same order.
    pub cursor: Option<Cursor>,
    /// At most this many records (1 to [`MAX_LIMIT`]).
    pub limit: u32,
}

impl Default for RecordQuery {
    fn default() -> Self {
        Self {
            created_from: None,
            created_before: None,
            line: None,
            origin: None,
            cause: None,
            sip_status: None,
            direction: None,
            completed: None,
            order: Order::default(),
            cursor: None,
            limit: DEFAULT_LIMIT,
        }
    }
}

impl RecordQuery {
    /// Refuses a query that cannot mean what its caller wants.
    pub fn validate(&self) -> Result<(), StoreError> {
        if self.limit == 0 || self.limit > MAX_LIMIT {
            return Err(StoreError::InvalidQuery(format!(
                "limit {} is outside 1..={MAX_LIMIT}",
                self.limit
            )));
        }
        if let (Some(from), Some(before)) = (self.created_from, self.created_before) {
            if from >= before {
                return Err(StoreError::InvalidQuery(
                    "created_from must be before created_before".into(),
                ));
            }
        }
        if let Some(cursor) = self.cursor {
            if cursor.order != self.order {
                return Err(StoreError::InvalidQuery(
                    "the cursor comes from a query in the other order".into(),
                ));
            }
        }
        Ok(())
    }
}

/// One page of records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordPage {
    /// The records, in the query's order.
    pub records: Vec<Record>,
    /// Where the next page starts; `None` when this page is the last.
    pub next_cursor: Option<Cursor>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_through_text() {
        for cursor in [
            Cursor {
                order: Order::NewestFirst,
                after: 42,
            },
            Cursor {
                order: Order::OldestFirst,
                after: u64::MAX,
            },
        ] {
            assert_eq!(cursor.to_string().parse::<Cursor>(), Ok(cursor));
        }
        for bad in ["", "n", "x1", "n-1", "o1x"] {
            assert!(matches!(
                bad.parse::<Cursor>(),
                Err(StoreError::InvalidQuery(_))
            ));
        }
    }
}
