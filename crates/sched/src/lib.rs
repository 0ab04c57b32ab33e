//! The scheduler: fleet state, the queue and `now` in; decisions out.
//!
//! Pipeline, per waiting job (Nomad's words): *feasibility* (the job's allowed types with a
//! throughput above zero → pools whose cached compliance verdict lets the tenant use them →
//! enough free accelerators → a gang placement on the fewest nodes, in one scale-up domain where
//! it fits, never across sites unless the job allows it) → *ranking* (by policy: most room,
//! fastest type, earliest finish, cheapest within the deadline) → *placement*. A job left
//! waiting has a [`Reason`].
//!
//! Modules follow the pipeline: `feasibility` (candidates, [`never_runnable`], miss reasons),
//! `score` (one scoring function per policy), `reserve` (expected ends, EASY backfill's
//! reservation), `policy` (the queue pass, [`schedule`]) and `rounds` ([`RoundPlanner`], which
//! plans pass after pass for a driver, round policies from a job order it keeps).
//!
//! **Architecture invariant:** `sched` is pure. It never reads a clock or a file; the simulator
//! and any future live driver plan through the same pipeline ([`schedule`], or a
//! [`RoundPlanner`] that gives the plans `schedule` would) and re-check each decision when they
//! apply it ([`FleetState::allocate`]).

pub mod access;
mod feasibility;
pub mod fleet;
pub mod policy;
pub mod queue;
pub mod reason;
mod reserve;
mod rounds;
mod score;

pub use access::{Access, Denial, PoolQuery};
pub use feasibility::never_runnable;
pub use fleet::{AccelType, ApplyError, FleetState, PoolSpec, PoolState, Slot, TypeIdx, MAX_TYPES};
pub use policy::{schedule, Decision, Options, Plan, Policy};
pub use queue::{Job, JobId, JobState, Queue, Running};
pub use reason::Reason;
pub use rounds::RoundPlanner;
