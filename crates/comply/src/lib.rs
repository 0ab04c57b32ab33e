//! xpufleet-comply.
