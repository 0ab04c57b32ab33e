//! The report's data: everything the HTML, JSON and CSV outputs show, as plain values.
//!
//! **Invariant:** nothing here depends on the wall clock or on the order a hash map happens to
//! iterate in, so the same inputs give byte-identical `report.json`. Every list is in the order
//! the caller built it or sorted by a stated key.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use xpufleet_comply::Outcome;
use xpufleet_model::Date;

/// A part of the report that may be missing because its engine could not answer (or has not
/// been built). A missing part says why; it is never filled with stand-in numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum Section<T> {
    Available { data: T },
    Unavailable { reason: String },
}

impl<T> Section<T> {
    pub fn available(data: T) -> Self {
        Section::Available { data }
    }

    pub fn unavailable(reason: impl Into<String>) -> Self {
        Section::Unavailable {
            reason: reason.into(),
        }
    }

    pub fn get(&self) -> Option<&T> {
        match self {
            Section::Available { data } => Some(data),
            Section::Unavailable { .. } => None,
        }
    }

    /// Why the section is missing, if it is.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Section::Available { .. } => None,
            Section::Unavailable { reason } => Some(reason),
        }
    }
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportData {
    pub meta: Meta,
    /// Display names of the ids used below.
    #[serde(default)]
    pub labels: Labels,
    /// The planned fleet: existing pools plus the plan's lines, with compute and power.
    pub fleet: Section<Fleet>,
    pub plan: Section<Plan>,
    pub what_if: Section<WhatIf>,
    pub compliance: Section<Compliance>,
    pub workload: Section<Workload>,
    pub cost_energy: Section<CostEnergy>,
    /// Monte Carlo over the scenario's `[[risk]]` entries (`risk.rs`); absent without risks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk: Option<Section<crate::risk::Risk>>,
    /// Each `[[service]]`'s demand and what covers it (`serving.rs`); absent without services.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serving: Option<Section<crate::serving::Serving>>,
    /// Things the reader should know: inputs skipped and why, engines that could not answer.
    #[serde(default)]
    pub notes: Vec<String>,
}

/// What was run. Deliberately no timestamps or durations: the JSON must not change between runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    /// Scenario name.
    pub scenario: String,
    #[serde(default)]
    pub description: String,
    /// Scenario file, or `examples/capex-2025.toml` for the built-in example.
    pub origin: String,
    /// The company whose fleet this is (entity id).
    pub company: String,
    /// The date the rules are applied as of.
    pub as_of: Date,
    pub seed: u64,
    /// Scheduling policy of the simulation.
    pub policy: String,
    /// "xpufleet 0.1.0".
    pub generator: String,
}

/// Display names by id, so tables can say "Ascend 910C" where the data says "ascend-910c".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Labels {
    /// Accelerator id -> marketing name.
    pub accelerators: BTreeMap<String, String>,
    /// Site id -> site name.
    pub sites: BTreeMap<String, String>,
}

// ------------------------------------------------------------------------------------- fleet

/// Whether a pool exists today or is bought or leased by the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PoolOrigin {
    Existing,
    Planned,
}

impl PoolOrigin {
    pub fn as_str(self) -> &'static str {
        match self {
            PoolOrigin::Existing => "existing",
            PoolOrigin::Planned => "planned",
        }
    }
}

/// One pool of the planned fleet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FleetPool {
    pub id: String,
    pub origin: PoolOrigin,
    pub accelerator: String,
    pub vendor: String,
    pub site: String,
    pub country: String,
    pub accels: u64,
    /// Dense BF16 peak of the whole pool; `None` when the catalog lacks the figure.
    pub peak_pflops: Option<f64>,
    /// Board power of all accelerators times the site's PUE; `None` when power is unknown.
    pub power_mw: Option<f64>,
}

/// Accelerators and dense BF16 peak compute of one vendor or country, existing and planned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComputeRow {
    pub key: String,
    pub accels_existing: u64,
    pub accels_planned: u64,
    pub pflops_existing: f64,
    pub pflops_planned: f64,
    /// Accelerators whose peak is unknown, so not counted in the PFLOPS.
    pub accels_unknown_peak: u64,
}

/// Facility power of one site against what its pools draw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SitePower {
    pub site: String,
    pub country: String,
    pub capacity_mw: f64,
    pub existing_mw: f64,
    pub planned_mw: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fleet {
    pub pools: Vec<FleetPool>,
    /// Sorted by total PFLOPS, largest first, then key.
    pub by_vendor: Vec<ComputeRow>,
    pub by_country: Vec<ComputeRow>,
    pub sites: Vec<SitePower>,
}

// -------------------------------------------------------------------------------------- plan

/// An amount in one currency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Amount {
    pub currency: String,
    pub amount: f64,
}

/// One line of the procurement plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanLine {
    pub candidate: String,
    pub accelerator: String,
    pub vendor: String,
    pub site: String,
    pub country: String,
    /// "buy" or "lease".
    pub mode: String,
    pub nodes: u64,
    /// Accelerators (catalog units: a card or module).
    pub accels: u64,
    /// Chips: accelerators × chips per accelerator (an MLU370-X8 card is two).
    pub chips: u64,
    /// Spend in the candidate's currency (leases: over the plan's horizon).
    pub spend: f64,
    pub currency: String,
    pub spend_usd: f64,
    pub envelope: String,
    /// Effective (peak × expected MFU) PFLOPS the line adds, if known.
    pub effective_pflops: Option<f64>,
    pub power_mw: Option<f64>,
    /// What the line is bought for: `training`, `serving` or `both` (the plan's `use`).
    #[serde(rename = "use", default = "training")]
    pub line_use: String,
    /// The services its serving nodes serve.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<String>,
}

fn training() -> String {
    "training".into()
}

impl PlanLine {
    /// What the line is for, in words: "training", "serving chat", "training, serving chat".
    pub fn purpose(&self) -> String {
        let serving = format!("serving {}", self.services.join(", "));
        match self.line_use.as_str() {
            "serving" => serving,
            "both" => format!("training, {serving}"),
            other => other.to_string(),
        }
    }
}

/// A budget envelope and what the plan spends from it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnvelopeSpend {
    pub id: String,
    #[serde(default)]
    pub description: String,
    pub currency: String,
    pub budget: f64,
    pub spent: f64,
    pub budget_usd: f64,
    pub spent_usd: f64,
}

/// Spend grouped by vendor or site, in each currency it was made in and in USD.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpendRow {
    pub key: String,
    /// Sorted by currency code.
    pub amounts: Vec<Amount>,
    pub total_usd: f64,
}

/// A supplier-mix policy and the share the plan reaches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SupplierShare {
    pub id: String,
    pub envelope: String,
    pub domestic_country: String,
    pub min_share: f64,
    /// `None` when the plan buys nothing in the envelope.
    pub share: Option<f64>,
}

/// A constraint of the optimisation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConstraintRow {
    pub id: String,
    pub binding: bool,
    /// Its value (a dual value or the objective lost by relaxing it), if the planner gave one.
    pub value: Option<f64>,
    #[serde(default)]
    pub detail: String,
}

/// A candidate the plan could not use, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExcludedRow {
    pub candidate: String,
    pub reason: String,
}

/// A range of effective PFLOPS: the point scaled by the performance model's calibrated error
/// percentiles, for the training-software stack assumed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PflopsInterval {
    /// Share of published runs such a range covers (0.8).
    pub level: f64,
    /// "best", "typical" or "legacy".
    pub stack: String,
    pub pflops: [f64; 2],
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// The date the plan's rules are applied as of.
    pub as_of: Date,
    /// "max-compute", "min-cost", "compute-per-dollar".
    pub objective: String,
    pub objective_value: f64,
    /// Effective PFLOPS bought or leased by the plan.
    pub effective_pflops: f64,
    /// The 80% interval of `effective_pflops` from the performance model's calibration (absent
    /// in reports written before it existed).
    #[serde(default)]
    pub effective_pflops_interval: Option<PflopsInterval>,
    pub lines: Vec<PlanLine>,
    pub envelopes: Vec<EnvelopeSpend>,
    pub spend_by_vendor: Vec<SpendRow>,
    pub spend_by_site: Vec<SpendRow>,
    pub supplier_shares: Vec<SupplierShare>,
    pub constraints: Vec<ConstraintRow>,
    pub excluded: Vec<ExcludedRow>,
    /// A plan over periods: the capacity present in each (absent for a one-date plan).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub periods: Vec<crate::periods::PeriodCapacity>,
    /// The last day of the plan's horizon that verdict changes were looked for up to (absent
    /// in reports written before it existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub horizon_end: Option<Date>,
    /// How each line's verdict moves on the rule changes inside the horizon, with what the
    /// line holds: "what changes within the horizon".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub verdict_changes: Vec<VerdictChangeRow>,
}

/// A plan line's verdict change inside the plan's horizon, and the value at stake.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerdictChangeRow {
    /// The candidate of the plan line.
    pub target: String,
    pub user: String,
    /// The first day of the new verdict.
    pub date: Date,
    pub from: Outcome,
    pub to: Outcome,
    /// Whether engines may use the line before and from `date`.
    pub usable_from: bool,
    pub usable_to: bool,
    /// "stricter" or "looser".
    pub direction: String,
    /// The rules (or `review/ID`) behind the move.
    pub rules: Vec<String>,
    /// What the line holds: accelerators (chips), spend (USD) and effective PFLOPS.
    pub accelerators: u64,
    pub spend_usd: f64,
    pub effective_pflops: f64,
}

// ----------------------------------------------------------------------------------- what-if

/// One candidate's change between the base plan and the what-if.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WhatIfChange {
    pub candidate: String,
    pub accelerator: String,
    pub site: String,
    pub mode: String,
    /// Accelerators.
    pub base_accels: u64,
    pub what_if_accels: u64,
    pub base_spend_usd: f64,
    pub what_if_spend_usd: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WhatIf {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub as_of: Date,
    pub base_effective_pflops: f64,
    pub what_if_effective_pflops: f64,
    pub base_spend_usd: f64,
    pub what_if_spend_usd: f64,
    /// Every candidate used by either plan, in the base plan's order then the what-if's.
    pub changes: Vec<WhatIfChange>,
    /// Candidates the what-if excludes that the base plan could use, and why.
    pub newly_excluded: Vec<ExcludedRow>,
}

// -------------------------------------------------------------------------------- compliance

/// One verdict: may `user` use `target` in this way on the report's date?
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComplianceRow {
    pub target: String,
    /// "pool" or "candidate".
    pub target_kind: String,
    pub accelerator: String,
    pub site: String,
    pub country: String,
    /// Export classification ("3A090.a"), `None` when not controlled or unknown.
    pub classification: Option<String>,
    pub user: String,
    /// "own", "operate", "remote".
    #[serde(rename = "use")]
    pub use_kind: String,
    pub outcome: Outcome,
    pub verified: bool,
    pub usable: bool,
    pub rules: Vec<String>,
    /// Citation of each rule in `rules`, where the rule pack gives one.
    pub citations: Vec<String>,
    pub reasons: Vec<String>,
    pub would_change: Option<String>,
}

/// A pool whose owner or operator verification is missing or expired.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnverifiedRow {
    pub pool: String,
    pub site: String,
    pub accelerator: String,
    pub accels: u64,
    pub missing: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Compliance {
    pub rows: Vec<ComplianceRow>,
    pub unverified: Vec<UnverifiedRow>,
}

// ---------------------------------------------------------------------------------- workload

/// One job of the simulated workload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRow {
    pub id: String,
    #[serde(default)]
    pub name: String,
    pub tenant: String,
    /// Accelerators it ran on (its final placement).
    pub accels: u32,
    pub accelerator: Option<String>,
    pub pool: Option<String>,
    pub submit_s: u64,
    pub start_s: Option<u64>,
    pub end_s: Option<u64>,
    /// "completed", "running" (at the end of the simulation), "waiting" or "rejected" (can
    /// never run on the fleet; `reason` says why).
    pub status: String,
    /// Why it is waiting or was never placed.
    pub reason: Option<String>,
    /// Accelerator failures that hit this job while it ran (each sent it back to its last
    /// checkpoint).
    #[serde(default)]
    pub failures: u32,
}

impl JobRow {
    /// Job completion time: end minus submit.
    pub fn jct_s(&self) -> Option<u64> {
        self.end_s.map(|e| e.saturating_sub(self.submit_s))
    }

    pub fn queue_s(&self) -> Option<u64> {
        self.start_s.map(|s| s.saturating_sub(self.submit_s))
    }
}

/// Busy accelerators of one type from `t_s` until the next point.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct UtilPoint {
    pub t_s: u64,
    pub busy: u64,
}

/// Utilisation over time of one accelerator type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UtilSeries {
    pub accelerator: String,
    /// Accelerators of this type in the fleet (including any no tenant may use).
    pub capacity: u64,
    /// A step function, sorted by time.
    pub points: Vec<UtilPoint>,
    /// Busy accelerator-seconds over capacity × horizon.
    pub mean: f64,
}

/// Summary statistics of job completion times.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JctStats {
    pub jobs: u64,
    pub completed: u64,
    pub jct_mean_s: Option<f64>,
    pub jct_p50_s: Option<f64>,
    pub jct_p99_s: Option<f64>,
    pub queue_mean_s: Option<f64>,
    pub makespan_s: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Workload {
    pub policy: String,
    /// Simulated seconds from the first submission to the end of the simulation.
    pub horizon_s: u64,
    pub jobs: Vec<JobRow>,
    pub stats: JctStats,
    pub utilisation: Vec<UtilSeries>,
    pub preemptions: u64,
    /// Accelerator failures drawn over the whole fleet, idle accelerators included.
    pub failures: u64,
    /// The failures that hit a running job: the ones that cost work (the sum of the jobs'
    /// `failures`).
    #[serde(default)]
    pub job_failures: u64,
    /// How busy the whole planned fleet was over the horizon (absent in reports written
    /// before it existed).
    #[serde(default)]
    pub fleet_use: Option<FleetUse>,
    /// Why the simulation stopped before every job finished (a work or time limit), if it
    /// did: jobs shown "running" or "waiting" are then unfinished when it stopped, not at the
    /// end of their work.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
}

/// Use of the whole planned fleet over the simulated horizon: idle capacity is shown as such,
/// not hidden behind per-type figures of the types that ran jobs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FleetUse {
    /// Accelerators in the planned fleet (existing pools plus the plan's lines).
    pub accels: u64,
    /// Seconds from the first submission to the end of the simulation.
    pub horizon_s: u64,
    /// `accels` × horizon, in hours.
    pub accel_hours_available: f64,
    /// Busy accelerator-hours over the horizon.
    pub accel_hours_used: f64,
    /// `accel_hours_used / accel_hours_available`, in [0, 1].
    pub utilisation: f64,
}

impl FleetUse {
    /// The fleet's use from its size, the horizon and the busy accelerator-seconds.
    pub fn new(accels: u64, horizon_s: u64, busy_accel_s: f64) -> FleetUse {
        let available = accels as f64 * horizon_s as f64 / 3600.0;
        let used = (busy_accel_s / 3600.0).clamp(0.0, available);
        FleetUse {
            accels,
            horizon_s,
            accel_hours_available: available,
            accel_hours_used: used,
            utilisation: if available > 0.0 {
                used / available
            } else {
                0.0
            },
        }
    }

    /// Accelerator-hours no job used.
    pub fn accel_hours_idle(&self) -> f64 {
        (self.accel_hours_available - self.accel_hours_used).max(0.0)
    }
}

// ------------------------------------------------------------------------------ cost, energy

/// What running the workload costs on one accelerator type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostRow {
    pub accelerator: String,
    pub chip_hours: f64,
    pub energy_mwh: f64,
    pub cost_usd: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostEnergy {
    pub rows: Vec<CostRow>,
    pub total_chip_hours: f64,
    pub total_energy_mwh: f64,
    pub total_cost_usd: f64,
    /// What the accelerators no job used cost over the same horizon (absent in reports written
    /// before it existed).
    #[serde(default)]
    pub idle: Option<IdleCost>,
}

/// The cost of idle planned capacity: the lease, or the capex amortised over the pool's life,
/// of every accelerator-hour no job used over the simulated horizon. Idle power is not counted
/// (it is small beside the capital cost and not modelled).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdleCost {
    /// By accelerator type, most expensive first; `energy_mwh` is 0.
    pub rows: Vec<CostRow>,
    pub total_accel_hours: f64,
    pub total_cost_usd: f64,
}

#[cfg(test)]
mod tests {
    use super::PlanLine;

    /// What a line is for, in the words the report's For column and summary print.
    #[test]
    fn a_line_says_what_it_is_for() {
        let line = |line_use: &str, services: &[&str]| PlanLine {
            candidate: "c".into(),
            accelerator: "h20".into(),
            vendor: "Nvidia".into(),
            site: "s".into(),
            country: "CN".into(),
            mode: "buy".into(),
            nodes: 2,
            accels: 16,
            chips: 16,
            spend: 1.0,
            currency: "USD".into(),
            spend_usd: 1.0,
            envelope: "e".into(),
            effective_pflops: None,
            power_mw: None,
            line_use: line_use.into(),
            services: services.iter().map(|s| s.to_string()).collect(),
        };
        assert_eq!(line("training", &[]).purpose(), "training");
        assert_eq!(line("serving", &["chat"]).purpose(), "serving chat");
        assert_eq!(
            line("both", &["chat", "search"]).purpose(),
            "training, serving chat, search"
        );
        // A plan saved before lines carried `use` reads back as training.
        let mut v = serde_json::to_value(line("serving", &["chat"])).unwrap();
        v.as_object_mut().unwrap().remove("use");
        v.as_object_mut().unwrap().remove("services");
        let back: PlanLine = serde_json::from_value(v).unwrap();
        assert_eq!(back.purpose(), "training");
    }
}
