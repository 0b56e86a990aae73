//! Durable call records for linedrop (in progress).
