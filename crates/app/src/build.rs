//! Which build computes an answer. The `xpufleet` binary names its build (version plus git
//! commit, or a hash of its sources: see `crates/cli/build.rs`) and sets it here once at start;
//! reports carry it as their generator and the server puts it in every run's inputs, so a run id
//! (a digest of the inputs) changes with the code and an upgraded server never serves an answer
//! an older build computed as current.
//!
//! A process that never sets it (a test, a library user) is named by the crate version with
//! `(unnamed build)`, which no binary ever uses.

use std::sync::OnceLock;

static BUILD: OnceLock<String> = OnceLock::new();

/// Names this process's build, as `xpufleet --version` prints it after the program name
/// (`0.1.0 (git 1a2b3c4d5e6f)`). Only the first call counts.
pub fn set_version(version: &str) {
    let _ = BUILD.set(version.to_string());
}

/// The build's name: what [`set_version`] was given, else the crate version marked unnamed.
pub fn version() -> &'static str {
    BUILD
        .get()
        .map(String::as_str)
        .unwrap_or(concat!(env!("CARGO_PKG_VERSION"), " (unnamed build)"))
}

/// `xpufleet VERSION`: the generator of reports and runs.
pub fn generator() -> String {
    format!("xpufleet {}", version())
}
