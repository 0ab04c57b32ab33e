//! xpufleet-report.
