//! Discrete-event simulation of the fleet, driving the production scheduler in `sched`.
//!
//! Time is integer seconds ([`xpufleet_model::SimTime`]); events are ordered by (time, sequence);
//! one ChaCha8 RNG seeded from the configuration draws failures. Event mode schedules after
//! every batch of simultaneous events; round mode (Gavel) schedules at round boundaries only,
//! and a job's progress is its rate on the type it runs on.
//!
//! **Architecture invariant:** there is no second scheduler here. Every start and preemption
//! comes from `xpufleet_sched::schedule` and is re-checked as it is applied; [`check::replay`]
//! re-verifies a finished run from its event log alone, by separate code.

pub mod cancel;
pub mod check;
pub mod engine;
pub mod gen;
pub mod log;
pub mod metrics;
pub mod rate;
pub mod replay;
pub mod scenario;
pub mod setup;

pub use engine::{
    simulate, simulate_over_time, simulate_reference, simulate_with_limits, CapacityEvent, Config,
    Failures, Limits, Outcome, Stopped,
};
pub use log::{to_jsonl, LogEvent, LogPool};
pub use metrics::Metrics;
pub use rate::{FlopsRates, RateError, RateModel, RelativeSpeed, TableRates};
pub use setup::{build_jobs, tenants, unpriced_types, FleetSpec, SetupError, DEFAULT_TENANT};
