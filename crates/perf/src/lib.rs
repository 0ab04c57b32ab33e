//! The training performance model: work, throughput, MFU, failures, energy and cost.
//!
//! **Architecture invariant:** pure functions of their inputs; no I/O. The planner values
//! capacity with it and the scheduler places by it, so estimates and simulation never disagree.

use xpufleet_model::{Accelerator, Precision};

/// Why the model cannot answer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PerfError {
    /// A figure the estimate needs is unknown in the catalog.
    #[error("{accel}: `{field}` is unknown; supply it in a catalog override file (`--catalog FILE`, an [[accelerator]] entry with id = \"{accel}\" and {field} = <value>)")]
    MissingFigure { accel: String, field: String },
    #[error("{0}")]
    Invalid(String),
}

/// The performance model with its fitted defaults.
#[derive(Debug, Clone, Default)]
pub struct PerfModel {}

impl PerfModel {
    /// Expected model FLOPs utilisation of `n_chips` chips of `accel` in scale-up domains of
    /// `scaleup_domain` chips.
    pub fn mfu(
        &self,
        accel: &Accelerator,
        _n_chips: u64,
        _scaleup_domain: u32,
    ) -> Result<f64, PerfError> {
        // Placeholder until the fitted model lands (issue 4): family defaults only.
        Ok(match accel.family.as_str() {
            "hopper" | "blackwell" => 0.40,
            "ampere" => 0.45,
            "ascend" => 0.40,
            _ => 0.30,
        })
    }

    /// Dense peak FLOP/s of one chip at `precision`.
    pub fn peak_flops(&self, accel: &Accelerator, precision: Precision) -> Result<f64, PerfError> {
        let field = match precision {
            Precision::Bf16 => "tflops_bf16",
            Precision::Fp16 => "tflops_fp16",
            Precision::Fp8 => "fp8_tflops",
            Precision::Int8 => "int8_tops",
        };
        accel
            .peak_tflops(precision)
            .map(|t| t * 1e12)
            .ok_or_else(|| PerfError::MissingFigure {
                accel: accel.id.clone(),
                field: field.into(),
            })
    }

    /// Sustained training FLOP/s of `n_chips` chips: peak × MFU × chips.
    pub fn sustained_flops(
        &self,
        accel: &Accelerator,
        precision: Precision,
        n_chips: u64,
        scaleup_domain: u32,
    ) -> Result<f64, PerfError> {
        Ok(self.peak_flops(accel, precision)?
            * self.mfu(accel, n_chips, scaleup_domain)?
            * n_chips as f64)
    }
}
