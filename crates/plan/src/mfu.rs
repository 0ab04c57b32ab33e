//! Where the planner gets expected MFU: the performance model in production, a fixed value in
//! hand-checked tests (so their arithmetic does not move when the model is refitted).

use xpufleet_model::Accelerator;
use xpufleet_perf::PerfModel;

/// Expected model FLOPs utilisation of `n_accels` accelerators of `accel` in scale-up domains of
/// `scaleup_domain`.
pub trait Mfu {
    fn mfu(&self, accel: &Accelerator, n_accels: u64, scaleup_domain: u32) -> Result<f64, String>;
}

impl Mfu for PerfModel {
    fn mfu(&self, accel: &Accelerator, n_accels: u64, scaleup_domain: u32) -> Result<f64, String> {
        PerfModel::mfu(self, accel, n_accels, scaleup_domain).map_err(|e| e.to_string())
    }
}

/// The same MFU for every part and size.
#[derive(Debug, Clone, Copy)]
pub struct FixedMfu(pub f64);

impl Mfu for FixedMfu {
    fn mfu(&self, _: &Accelerator, _: u64, _: u32) -> Result<f64, String> {
        Ok(self.0)
    }
}
