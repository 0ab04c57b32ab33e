//! Training jobs: the workload the fleet exists to run.

use serde::{Deserialize, Serialize};

use crate::{CountryCode, Precision, SimTime};

/// How much arithmetic a training run needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Work {
    /// A model of `params` parameters (`active_params` per token for MoE) trained on `tokens`.
    Model {
        params: f64,
        active_params: f64,
        tokens: f64,
        /// Attention term inputs, when known: (n_layers, seq_len, d_model).
        attention: Option<(u32, u32, u32)>,
    },
    /// Total training FLOPs given directly.
    Flops(f64),
}

/// A training job as a scenario states it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingJob {
    pub id: String,
    #[serde(default)]
    pub name: String,
    /// Total parameters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<f64>,
    /// Parameters active per token (MoE); defaults to `params`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_params: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<f64>,
    /// Training FLOPs, instead of params × tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flops: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n_layers: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq_len: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub d_model: Option<u32>,
    #[serde(default)]
    pub precision: Precision,
    /// Accelerator ids the job may run on; empty means any.
    #[serde(default)]
    pub allowed_accels: Vec<String>,
    pub min_accels: u32,
    pub max_accels: u32,
    #[serde(default)]
    pub priority: i32,
    /// The entity the job is run for (the end user).
    pub tenant: String,
    /// Countries where the job's data may be processed; empty means anywhere.
    #[serde(default)]
    pub data_countries: Vec<CountryCode>,
    /// Seconds after the scenario's start at which the job is submitted.
    #[serde(default)]
    pub submit_s: u64,
    /// Seconds after submission by which the job should finish, if it has a deadline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline_s: Option<u64>,
    /// May the job's gang span sites? Almost never wise for training.
    #[serde(default)]
    pub may_span_sites: bool,
}

impl TrainingJob {
    /// The job's work, or what is missing to know it.
    pub fn work(&self) -> Result<Work, String> {
        if let Some(f) = self.flops {
            return Ok(Work::Flops(f));
        }
        match (self.params, self.tokens) {
            (Some(params), Some(tokens)) => Ok(Work::Model {
                params,
                active_params: self.active_params.unwrap_or(params),
                tokens,
                attention: match (self.n_layers, self.seq_len, self.d_model) {
                    (Some(l), Some(s), Some(d)) => Some((l, s, d)),
                    _ => None,
                },
            }),
            _ => Err(format!(
                "job {:?} needs either `flops`, or both `params` and `tokens`",
                self.id
            )),
        }
    }

    pub fn submit(&self) -> SimTime {
        SimTime(self.submit_s)
    }
}

/// A job as a cluster trace gives it, ready for the simulator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceJob {
    /// Dense index, 0.., in input order.
    pub id: u64,
    /// The trace's own label for the job (line number or id), for reports.
    pub label: String,
    pub submit: SimTime,
    /// Gang size: accelerators needed at once.
    pub accels: u32,
    /// Work in the units of the throughput source: for Gavel traces, steps; for duration-only
    /// traces, seconds on the reference accelerator type running alone.
    pub work: f64,
    /// For duration-based work: the accelerator type `work` seconds were measured on; `None`
    /// means the trace's own (single, unnamed) reference type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ref_type: Option<String>,
    /// Job type key for throughput look-ups (Gavel: "ResNet-18 (batch size 64)").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Accelerator type ids the job may run on; empty means any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    #[serde(default)]
    pub priority: i32,
    /// Absolute time by which the job should finish.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<SimTime>,
}

/// `[workload]`: training jobs generated for the planned fleet, added to the scenario's
/// `[[job]]`s when `xpufleet run` simulates it, so that a fleet of hundreds of thousands of
/// accelerators is given work of its own size. Seeded: the same section gives the same jobs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadGen {
    /// The generator: `"fleet-month"` (the only one).
    pub generator: String,
    /// Seed of the generator's random draws.
    #[serde(default)]
    pub seed: u64,
    /// Number of jobs generated.
    #[serde(default = "WorkloadGen::default_jobs")]
    pub jobs: u32,
    /// Jobs arrive over this many days from the scenario's start.
    #[serde(default = "WorkloadGen::default_days")]
    pub days: f64,
    /// Offered load: the share of the planned fleet's accelerator-hours over `days` the jobs
    /// would keep busy at the generator's nominal speed (peak BF16 × 40% MFU).
    #[serde(default = "WorkloadGen::default_utilisation_target")]
    pub utilisation_target: f64,
    /// Entities the jobs are run for, drawn in turn; the scenario's company when empty.
    #[serde(default)]
    pub tenants: Vec<String>,
}

impl WorkloadGen {
    /// The only generator.
    pub const FLEET_MONTH: &'static str = "fleet-month";

    fn default_jobs() -> u32 {
        48
    }
    fn default_days() -> f64 {
        30.0
    }
    fn default_utilisation_target() -> f64 {
        0.6
    }
}
