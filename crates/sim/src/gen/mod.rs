//! Synthetic workload generators (Gavel-style, fleet-month) (owned by the traces work).
