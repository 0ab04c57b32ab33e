//! xpufleet-perf.
