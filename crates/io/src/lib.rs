//! File formats: the accelerator catalog, scenario files, rule packs, traces and reports.
//!
//! **Architecture invariant:** this is where files are read and parsed; the engines (`comply`,
//! `perf`, `plan`, `sched`, `sim`) take parsed values and never open a file.

pub mod diag;
pub mod scenario;
pub mod screening;
pub mod serving;

pub use diag::{Diagnostic, Diagnostics};
pub use scenario::{
    builtin_catalog, load_scenario, overlay_catalog, overlay_catalog_file, parse_catalog,
    parse_catalog_file, parse_scenario, LoadedScenario, BUILTIN_CATALOG, EXAMPLE_NAME,
    EXAMPLE_SCENARIO, EXAMPLE_WHAT_IF,
};
pub mod risk;
pub mod rules;
pub mod sweep;
pub mod trace;
pub mod validate;
pub mod whatif;
