//! xpufleet-plan.
