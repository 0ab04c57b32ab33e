//! The defaults `simulate` and `run` share, in one place, so that the CLI's flags, the
//! server's request bodies and the report agree on what an unstated option means.

use xpufleet_sched::Policy;

/// The seed of the random accelerator failures.
pub const SEED: u64 = 0;
/// Seconds to repair a failed accelerator (four hours).
pub const REPAIR_S: u64 = 4 * 3600;
/// Seconds of progress between checkpoints (thirty minutes).
pub const CHECKPOINT_S: u64 = 1800;
/// `xpufleet simulate`'s policy: plain first-come first-served, the baseline a trace study
/// compares against.
pub const SIMULATE_POLICY: &str = "fifo";
/// `xpufleet run`'s policy: the report simulates a mixed fleet, where a heterogeneity-aware
/// order is the realistic one.
pub const RUN_POLICY: &str = "fifo-het";

/// `SIMULATE_POLICY`, parsed.
pub fn simulate_policy() -> Policy {
    SIMULATE_POLICY.parse().expect("a known policy")
}

/// `RUN_POLICY`, parsed.
pub fn run_policy() -> Policy {
    RUN_POLICY.parse().expect("a known policy")
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_default_policies_are_known() {
        assert_eq!(super::simulate_policy().name(), super::SIMULATE_POLICY);
        assert_eq!(super::run_policy().name(), super::RUN_POLICY);
    }
}
