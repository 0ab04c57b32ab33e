//! Reading the accelerator catalog and scenario files.

use std::path::{Path, PathBuf};

use xpufleet_model::{Catalog, Scenario};

use crate::diag::{Diagnostic, Diagnostics};

/// The built-in catalog's text (`data/catalog.toml`).
pub const BUILTIN_CATALOG: &str = include_str!("../../../data/catalog.toml");
/// The built-in example scenario's text (`examples/capex-2025.toml`).
pub const EXAMPLE_SCENARIO: &str = include_str!("../../../examples/capex-2025.toml");
/// The origin name the built-in example is reported under.
pub const EXAMPLE_NAME: &str = "examples/capex-2025.toml";
/// The built-in example's what-if file.
pub const EXAMPLE_WHAT_IF: &str = include_str!("../../../examples/what-if-h20.toml");

/// The built-in catalog.
pub fn builtin_catalog() -> Catalog {
    parse_catalog(BUILTIN_CATALOG, "data/catalog.toml")
        .expect("the built-in catalog parses (checked by tests)")
}

/// Parses a catalog file's text.
pub fn parse_catalog(text: &str, origin: &str) -> Result<Catalog, Diagnostics> {
    toml::from_str(text).map_err(|e| toml_diag(text, origin, &e).into())
}

/// Reads a catalog file.
pub fn load_catalog_file(path: &Path) -> Result<Catalog, Diagnostics> {
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| Diagnostic::new(&origin, format!("cannot read: {e}")))?;
    parse_catalog(&text, &origin)
}

/// A scenario with the catalog it is read against and where it came from.
#[derive(Debug, Clone)]
pub struct LoadedScenario {
    pub scenario: Scenario,
    /// Built-in catalog, then the user's catalog file, then the scenario's own accelerators.
    pub catalog: Catalog,
    /// File name, or `examples/capex-2025.toml` for the built-in example.
    pub origin: String,
    /// The file's text, kept for locating later diagnostics.
    pub text: String,
    /// Folder that relative paths in the scenario are read from; `None` for the built-in example.
    pub dir: Option<PathBuf>,
}

impl LoadedScenario {
    /// Reads a file that the scenario names (a what-if, a rule pack), relative to the scenario.
    /// For the built-in example, its bundled files are served from memory.
    pub fn read_relative(&self, rel: &str) -> Result<(String, String), Diagnostic> {
        match &self.dir {
            None if rel == "what-if-h20.toml" => Ok((
                "examples/what-if-h20.toml".into(),
                EXAMPLE_WHAT_IF.to_string(),
            )),
            None => Err(Diagnostic::new(
                &self.origin,
                format!("no bundled file {rel:?}"),
            )),
            Some(dir) => {
                let p = dir.join(rel);
                let origin = p.display().to_string();
                std::fs::read_to_string(&p)
                    .map(|t| (origin.clone(), t))
                    .map_err(|e| Diagnostic::new(&origin, format!("cannot read: {e}")))
            }
        }
    }
}

/// Parses a scenario's text (syntax and types only; see `validate` for cross-references).
pub fn parse_scenario(text: &str, origin: &str) -> Result<Scenario, Diagnostics> {
    toml::from_str(text).map_err(|e| toml_diag(text, origin, &e).into())
}

/// Loads a scenario file, or the built-in example when `path` is `None`, against the built-in
/// catalog overridden by `catalog_file`.
pub fn load_scenario(
    path: Option<&Path>,
    catalog_file: Option<&Path>,
) -> Result<LoadedScenario, Diagnostics> {
    let (origin, text, dir) = match path {
        None => (EXAMPLE_NAME.to_string(), EXAMPLE_SCENARIO.to_string(), None),
        Some(p) => {
            let origin = p.display().to_string();
            let text = std::fs::read_to_string(p)
                .map_err(|e| Diagnostic::new(&origin, format!("cannot read: {e}")))?;
            let dir = p.parent().map(|d| d.to_path_buf()).unwrap_or_default();
            (origin, text, Some(dir))
        }
    };
    let scenario = parse_scenario(&text, &origin)?;
    let mut catalog = builtin_catalog();
    if let Some(f) = catalog_file {
        catalog.merge(load_catalog_file(f)?);
    }
    catalog.merge(Catalog {
        sources: Default::default(),
        accelerators: scenario.accelerators.clone(),
    });
    Ok(LoadedScenario {
        scenario,
        catalog,
        origin,
        text,
        dir,
    })
}

/// A located diagnostic from a TOML syntax or type error.
pub(crate) fn toml_diag(text: &str, origin: &str, e: &toml::de::Error) -> Diagnostic {
    let msg = e.message().trim().to_string();
    let d = Diagnostic::new(origin, msg);
    match e.span() {
        Some(span) => d.at_offset(text, span.start),
        None => d,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_catalog_and_example_parse() {
        let c = builtin_catalog();
        assert!(c.get("h100-sxm").is_some());
        let s = load_scenario(None, None).unwrap();
        assert_eq!(s.scenario.name, "capex-2025");
        assert!(!s.scenario.pools.is_empty());
    }

    #[test]
    fn type_error_is_located() {
        let text = "name = \"x\"\ndate = 2025-01-01\ncompany = 3\n";
        let e = parse_scenario(text, "s.toml").unwrap_err();
        let d = &e.0[0];
        assert_eq!(d.line, Some(3), "{d}");
    }
}
