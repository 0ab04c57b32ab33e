//! What every command shares: the global options, loading a scenario, printing JSON.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Result};
use serde::Serialize;
use xpufleet_io::LoadedScenario;
use xpufleet_model::Catalog;

/// Global options.
#[derive(Debug, Clone, Default)]
pub struct Ctx {
    /// `--catalog FILE`.
    pub catalog: Option<PathBuf>,
}

impl Ctx {
    /// The built-in catalog overridden by `--catalog`.
    pub fn catalog(&self) -> Result<Catalog> {
        let mut c = xpufleet_io::builtin_catalog();
        if let Some(f) = &self.catalog {
            c.merge(xpufleet_io::load_catalog_file(f).map_err(|d| anyhow!("{d}"))?);
        }
        Ok(c)
    }

    /// The scenario at `path` parsed but not cross-checked, for `estimate`, whose flags (`--fx`,
    /// `--figure`) may supply what the file lacks; it reports what is still missing itself.
    pub fn scenario_unchecked(&self, path: Option<&Path>) -> Result<LoadedScenario> {
        xpufleet_io::load_scenario(path, self.catalog.as_deref()).map_err(|d| anyhow!("{d}"))
    }

    /// The scenario at `path`, or the built-in example, checked like `xpufleet validate` checks
    /// it: every command refuses a scenario with a dangling reference, naming each problem.
    pub fn scenario(&self, path: Option<&Path>) -> Result<LoadedScenario> {
        xpufleet_io::validate::check_scenario(path, self.catalog.as_deref()).map_err(|d| {
            let n = d.len();
            anyhow!("{d}\n{n} problem(s) found; run `xpufleet validate` for the full report")
        })
    }
}

/// Prints a value as pretty JSON on stdout.
pub fn print_json<T: Serialize + ?Sized>(v: &T) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

/// A table in the house style.
pub fn table() -> comfy_table::Table {
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(comfy_table::ContentArrangement::Dynamic);
    t
}
