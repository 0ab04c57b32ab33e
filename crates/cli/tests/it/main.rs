//! End-to-end tests of the `xpufleet` binary: one test binary, one module per command.

mod catalog;
mod check;
mod classify;
mod cluster;
mod estimate;
mod estimate_serving;
mod fit;
mod fleet;
mod harden;
mod issue23;
mod plan;
mod risk;
mod run;
mod run_risk;
#[cfg(feature = "serve")]
mod serve;
mod simulate;
mod support;
mod validate;
