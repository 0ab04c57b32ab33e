//! What a simulation measured.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Results of one run. Times in seconds of simulated time.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Jobs given to the simulator.
    pub jobs: u64,
    pub completed: u64,
    /// Jobs still waiting or running when nothing more could happen.
    pub unfinished: u64,
    /// Jobs refused at arrival because they can never run on this fleet, by reason.
    pub rejected: BTreeMap<String, u64>,
    /// Job completion time (finish − submit) over completed jobs.
    pub jct_mean_s: f64,
    pub jct_p50_s: u64,
    pub jct_p99_s: u64,
    /// First start − submit, over jobs that started.
    pub queue_mean_s: f64,
    /// Last completion − first submission.
    pub makespan_s: u64,
    /// Busy accelerator-seconds / (accelerators × makespan), per type.
    pub utilization: BTreeMap<String, f64>,
    pub preemptions: u64,
    pub failures: u64,
    /// Start decisions applied.
    pub decisions: u64,
    /// Decisions refused on re-check (stale or wrong plans); zero in a correct run.
    pub rejected_decisions: u64,
    /// Events processed (arrivals, completions, rounds, failures, repairs).
    pub events: u64,
}

/// Nearest-rank percentile of sorted values (0 when empty).
pub fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 50.0), 50);
        assert_eq!(percentile(&v, 99.0), 99);
        assert_eq!(percentile(&[7], 99.0), 7);
        assert_eq!(percentile(&[], 50.0), 0);
    }
}
