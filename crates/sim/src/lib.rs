//! xpufleet-sim.
