//! Integration tests of the scheduler through the simulator: invariants over random fleets and
//! workloads, the independent checker, and golden results.

mod capacity;
mod checker;
mod digests;
mod golden;
mod invariants;
mod limits;
mod scale;
mod shortcuts;
mod sites;
mod support;
