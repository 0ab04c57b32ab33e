//! xpufleet-sched.
