//! Trace readers: Gavel, Philly, Alibaba openb and xpufleet job files (owned by the traces work).
