//! Sweep specs (`xpufleet sweep SPEC`): a scenario, a sample of its risks and a grid of what-ifs
//! and planning policies to evaluate, in shards that merge into one result.
//!
//! ```toml
//! name = "capex-2025-risk"
//! scenario = "capex-2025.toml"        # relative to the spec; the built-in example when omitted
//! samples = 1000                      # samples of the scenario's [[risk]] entries, per point
//! seed = 7
//!
//! [grid]                              # every combination is a point
//! objective = ["max-compute", "compute-per-dollar"]   # planning policies
//! what_if = ["", "what-if-h20.toml"]  # "" = none; relative to the scenario
//! ```

use serde::{Deserialize, Serialize};

use crate::diag::{Diagnostic, Diagnostics, SpanIndex};
use crate::scenario::toml_diag;
use crate::validate::PLAN_OBJECTIVES;

/// The most samples a spec may ask for per point.
pub const MAX_SWEEP_SAMPLES: u64 = 100_000_000;

/// The grid: every combination of its lists is a point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grid {
    /// Planning objectives; the scenario's own when empty.
    #[serde(default)]
    pub objective: Vec<String>,
    /// What-if files relative to the scenario; `""` is the scenario as it is. `[""]` when empty.
    #[serde(default)]
    pub what_if: Vec<String>,
}

/// A sweep spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepSpec {
    pub name: String,
    /// Scenario file relative to the spec; the built-in example when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenario: Option<String>,
    pub samples: u64,
    #[serde(default)]
    pub seed: u64,
    #[serde(default = "default_grid")]
    pub grid: Grid,
}

fn default_grid() -> Grid {
    Grid {
        objective: vec![],
        what_if: vec![],
    }
}

/// One point of the grid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Point {
    /// `what_if=…;objective=…`.
    pub id: String,
    /// What-if file, relative to the scenario; `None` for the scenario as it is.
    pub what_if: Option<String>,
    /// `None` for the scenario's own objective.
    pub objective: Option<String>,
}

impl SweepSpec {
    /// The grid's points: what-ifs outer, objectives inner, in the spec's order.
    pub fn points(&self) -> Vec<Point> {
        let whats: Vec<Option<String>> = if self.grid.what_if.is_empty() {
            vec![None]
        } else {
            self.grid
                .what_if
                .iter()
                .map(|w| (!w.is_empty()).then(|| w.clone()))
                .collect()
        };
        let objs: Vec<Option<String>> = if self.grid.objective.is_empty() {
            vec![None]
        } else {
            self.grid.objective.iter().cloned().map(Some).collect()
        };
        let mut out = Vec::new();
        for w in &whats {
            for o in &objs {
                out.push(Point {
                    id: format!(
                        "what_if={};objective={}",
                        w.as_deref().unwrap_or("none"),
                        o.as_deref().unwrap_or("scenario")
                    ),
                    what_if: w.clone(),
                    objective: o.clone(),
                });
            }
        }
        out
    }
}

/// Parses a spec's text, every problem located.
pub fn parse_sweep_spec(text: &str, origin: &str) -> Result<SweepSpec, Diagnostics> {
    let spec: SweepSpec = toml::from_str(text).map_err(|e| toml_diag(text, origin, &e))?;
    let idx = SpanIndex::new(text);
    let mut d = Diagnostics::default();
    let mut at = |path: String, msg: String| {
        d.push(Diagnostic::at_path(origin, text, &idx, &path, msg));
    };
    if !(1..=MAX_SWEEP_SAMPLES).contains(&spec.samples) {
        at(
            "samples".into(),
            format!(
                "samples is {}: expected 1 to {MAX_SWEEP_SAMPLES}",
                spec.samples
            ),
        );
    }
    for (i, o) in spec.grid.objective.iter().enumerate() {
        if !PLAN_OBJECTIVES.contains(&o.as_str()) {
            at(
                format!("grid.objective[{i}]"),
                format!(
                    "expected one of {}; found {o:?}",
                    PLAN_OBJECTIVES.join(", ")
                ),
            );
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for p in spec.points() {
        if !seen.insert(p.id.clone()) {
            at("grid".into(), format!("point {} appears twice", p.id));
        }
    }
    if d.is_empty() {
        Ok(spec)
    } else {
        Err(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_are_the_grid_in_order() {
        let s = parse_sweep_spec(
            "name = \"x\"\nsamples = 10\n[grid]\nobjective = [\"max-compute\", \"min-cost\"]\nwhat_if = [\"\", \"w.toml\"]\n",
            "s.toml",
        )
        .unwrap();
        let ids: Vec<String> = s.points().into_iter().map(|p| p.id).collect();
        assert_eq!(
            ids,
            [
                "what_if=none;objective=max-compute",
                "what_if=none;objective=min-cost",
                "what_if=w.toml;objective=max-compute",
                "what_if=w.toml;objective=min-cost"
            ]
        );
        let s = parse_sweep_spec("name = \"x\"\nsamples = 10\n", "s.toml").unwrap();
        assert_eq!(s.points().len(), 1);
    }

    #[test]
    fn bad_specs_are_located() {
        let e = parse_sweep_spec(
            "name = \"x\"\nsamples = 0\n[grid]\nobjective = [\"max-compute\", \"most\"]\n",
            "s.toml",
        )
        .unwrap_err();
        let got: Vec<(Option<usize>, Option<String>)> =
            e.0.iter().map(|d| (d.line, d.field.clone())).collect();
        assert!(got.contains(&(Some(2), Some("samples".into()))), "{e}");
        assert!(
            got.contains(&(Some(4), Some("grid.objective[1]".into()))),
            "{e}"
        );
        let e = parse_sweep_spec("name = \"x\"\nsamples = 1\ncolour = 2\n", "s.toml").unwrap_err();
        assert!(e.to_string().contains("colour"), "{e}");
    }
}
