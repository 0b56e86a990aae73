//! SIP for linedrop (in progress).
