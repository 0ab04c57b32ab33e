//! Procurement planning: which accelerators to buy or lease, where, within budgets, supplier mix,
//! supply, site power and the export rules, as a mixed-integer program.
//!
//! **Architecture invariant:** `plan` is pure. It takes a parsed scenario, a catalog, a compliance
//! [`Gate`](xpufleet_comply::Gate) and an [`Mfu`] source (the
//! [`PerfModel`](xpufleet_perf::PerfModel) in production), and returns a
//! [`Plan`] as data; it never reads a file, the wall clock or prints.
//!
//! The pipeline, with the words it uses:
//!
//! ```text
//! scenario + catalog + gate + perf
//!   -> prepare   every candidate is either an *item* (an integer variable: nodes to buy or
//!                lease) or *excluded* with named reasons (verdict, unknown figure, power,
//!                supply, budget, scope, reference)
//!   -> rows      one linear row per budget envelope, supplier mix, supply cap, site power cap
//!                and min-cost target; `max_nodes` and row-implied limits become variable bounds
//!   -> solve     LP relaxation, rounding + repair (an incumbent always), then branch-and-bound
//!                (ours over microlp's LP after rounds of MIR cuts, `bnb.rs`; microlp's own;
//!                or HiGHS with the `highs` feature) to a relative gap
//!   -> report    lines, envelopes, mix shares, binding rows and what relaxing each one buys
//! ```
//!
//! The formulation is written up in `docs/planning.md`.

mod bnb;
mod check;
mod cuts;
mod diff;
mod mfu;
mod model;
mod objective;
mod period_services;
mod periods;
mod prepare;
mod report;
pub mod risk;
mod search;
mod services;
pub mod synth;

pub use check::{verify, verify_periods, verify_with_gate};
pub use diff::{diff, EnvelopeDiff, LineDiff, PeriodDiff, PeriodMove, PlanDiff, VendorDiff};
pub use mfu::{FixedMfu, Mfu};
#[doc(hidden)]
pub use model::program_text;
pub use model::Solver;
pub use objective::Objective;
pub use periods::{PartCapacity, PeriodPlan};
pub use prepare::{ExclusionKind, Reason};
pub use report::{
    plan, CandidateCoefs, ConstraintKind, ConstraintReport, EnvelopeUse, Excluded, LineUse,
    MixShare, ObjectiveReport, Plan, PlanLine, PlanOptions, Relaxation, SolveStatus, DEFAULT_GAP,
};
pub use services::{ServiceAllocation, ServiceReport, ServiceShortfall, Use};

/// Why no plan could be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    /// The scenario or options are unusable (no target for min-cost, a bad share, ...).
    #[error("{0}")]
    Invalid(String),
    /// No integer plan satisfies every constraint. `conflict` is an irreducible set of the
    /// constraint ids that cannot all hold together (dropping any one of them makes the rest
    /// feasible).
    #[error("no plan satisfies every constraint; in conflict: {}{}", conflict.join(", "), reach_note(*max_pflops, *target_pflops))]
    Infeasible {
        conflict: Vec<String>,
        /// The most effective PFLOPS reachable under every constraint but the target.
        max_pflops: Option<f64>,
        target_pflops: Option<f64>,
        /// Candidates left out before solving, with their reasons.
        excluded: Vec<Excluded>,
    },
    /// The solver failed for another reason.
    #[error("solver failed: {0}")]
    Solver(String),
}

fn reach_note(max_pflops: Option<f64>, target: Option<f64>) -> String {
    match (max_pflops, target) {
        (Some(m), Some(t)) => {
            format!(" (target {t:.1} effective PFLOPS; at most {m:.1} reachable)")
        }
        _ => String::new(),
    }
}
