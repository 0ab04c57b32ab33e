//! Synthetic workload generators: Gavel's own job generator (for parity with Gavel's
//! simulator) and a month of a large mixed fleet. Pure and seeded: the same configuration and
//! seed always give the same jobs, on any machine.
//!
//! Each generator draws its independent quantities (arrivals, sizes, durations, ...) from
//! separate ChaCha8 streams of one seed, so changing how one quantity is drawn does not shift
//! the others.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use xpufleet_model::{ClusterSpec, TraceJob};

mod fleet;
mod gavel;
mod jobs;

pub use fleet::{fleet_month, FleetMonth, FleetSite, STACKS};
pub use gavel::{gavel, gavel_duration_s, gavel_scale_factor, GavelGen};
pub use jobs::{fleet_month_jobs, FleetType, NOMINAL_MFU};

/// Jobs and the cluster they were generated for.
#[derive(Debug, Clone, PartialEq)]
pub struct Workload {
    /// Jobs in submission order, ids 0..
    pub jobs: Vec<TraceJob>,
    pub cluster: ClusterSpec,
}

/// Why a generator could not run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GenError {
    /// The throughput table has no entry the generator needs.
    #[error("throughput table: {0}")]
    Throughputs(String),
    /// A configuration value is out of range.
    #[error("generator setting `{field}`: expected {expected}, found {found}")]
    Config {
        field: &'static str,
        expected: &'static str,
        found: String,
    },
}

/// One independent random stream of a seed.
pub(crate) fn stream(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

/// A uniform draw in [0, 1).
pub(crate) fn unit(rng: &mut ChaCha8Rng) -> f64 {
    use rand::Rng;
    rng.random::<f64>()
}

/// An exponential draw with the given rate (events per second): a Poisson process's gap.
pub(crate) fn exponential(rng: &mut ChaCha8Rng, rate_per_s: f64) -> f64 {
    -(1.0 - unit(rng)).ln() / rate_per_s
}

/// A standard normal draw (Box-Muller; the second value is discarded to keep streams simple).
pub(crate) fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1 = 1.0 - unit(rng); // (0, 1]
    let u2 = unit(rng);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

#[cfg(test)]
mod tests;
