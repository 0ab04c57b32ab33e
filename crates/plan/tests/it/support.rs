//! Shared helpers: loading test scenarios and a gate driven by a table.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use xpufleet_comply::{Gate, Outcome, UseRequest, Verdict};
use xpufleet_io::LoadedScenario;

/// Loads `tests/data/NAME` against the built-in catalog.
pub fn load(name: &str) -> LoadedScenario {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    xpufleet_io::load_scenario(Some(&p), None).unwrap_or_else(|d| panic!("{d}"))
}

/// A gate that prohibits the listed candidate ids and allows everything else.
#[derive(Debug, Clone, Default)]
pub struct TableGate {
    pub denied: BTreeMap<String, Outcome>,
}

impl TableGate {
    pub fn deny(ids: &[&str]) -> TableGate {
        TableGate {
            denied: ids
                .iter()
                .map(|i| (i.to_string(), Outcome::Prohibited))
                .collect(),
        }
    }
}

impl Gate for TableGate {
    fn verdict(&self, req: &UseRequest) -> Verdict {
        match self.denied.get(&req.target) {
            None => Verdict::allowed(),
            Some(o) => Verdict {
                outcome: *o,
                rules: vec!["test/table".into()],
                reasons: vec![format!("{} is on the test's deny list", req.target)],
                would_change: None,
                verified: true,
                usable: o.usable(),
                review: None,
            },
        }
    }
}

pub fn approx(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1.0)
}
