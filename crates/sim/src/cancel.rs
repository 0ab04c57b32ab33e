//! Cancellation of a running simulation from outside it: the flag itself is
//! [`xpufleet_model::cancel`] (shared with the planner), re-exported here so callers keep their
//! paths; the engine looks at it every [`CHECK_EVERY`] events and stops with
//! [`crate::Stopped::Cancelled`].

pub use xpufleet_model::cancel::{current, requested, scope, within};

/// Events between two looks at the flag: about a millisecond of work.
pub const CHECK_EVERY: u64 = 4096;
