//! The colours of every chart, in the report and in the web UI: one colour per accelerator,
//! per verdict and per pool origin, so the same thing is the same colour wherever it is drawn.
//!
//! Accelerator colours come from the sorted set of accelerator ids a scenario uses (its pools
//! and candidates), not from the order a chart happens to list them in: the report, the Fleet
//! page and the Simulate page of one scenario therefore agree, whichever subset each draws.

use std::collections::BTreeMap;

use xpufleet_comply::Outcome;
use xpufleet_model::Scenario;

use crate::build::Standing;
use crate::data::ReportData;

/// Categorical colours (Tableau 10): distinct, colour-blind tolerable, print well.
pub const CATEGORICAL: [&str; 10] = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#bab0ac",
];

/// Pools that exist today.
pub const EXISTING: &str = "#9aa9c2";
/// Pools the plan buys or leases.
pub const PLANNED: &str = "#3b5bdb";
/// What is left: budget not spent, power not drawn.
pub const HEADROOM: &str = "#e6e9ef";
/// A use whose owner/operator is not verified.
pub const UNVERIFIED: &str = "#6c757d";
/// A job the scheduler rejected.
pub const REJECTED: &str = "#c62828";
/// Anything the palette does not know (an accelerator outside the scenario).
pub const UNKNOWN: &str = "#888888";

/// The `i`-th categorical colour, cycling.
pub fn categorical(i: usize) -> &'static str {
    CATEGORICAL[i % CATEGORICAL.len()]
}

/// Colours of outcomes, from permissive to strict.
pub fn outcome(o: Outcome) -> &'static str {
    match o {
        Outcome::Allowed => "#2e7d32",
        Outcome::LicenceException => "#00897b",
        Outcome::RedFlag => "#e0a100",
        Outcome::LicenceRequired => "#ef6c00",
        Outcome::Prohibited => "#c62828",
    }
}

/// Colours of standings: an outcome's colour, and grey for "unverified".
pub fn standing(st: Standing) -> &'static str {
    match st {
        Standing::Allowed => outcome(Outcome::Allowed),
        Standing::LicenceException => outcome(Outcome::LicenceException),
        Standing::Unverified => UNVERIFIED,
        Standing::RedFlag => outcome(Outcome::RedFlag),
        Standing::LicenceRequired => outcome(Outcome::LicenceRequired),
        Standing::Prohibited => outcome(Outcome::Prohibited),
    }
}

/// One colour per accelerator id.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Palette {
    accel: BTreeMap<String, &'static str>,
}

impl Palette {
    /// Colours for these accelerator ids: sorted and deduplicated, then the categorical colours
    /// in turn, so the colours depend on the set alone.
    pub fn new<I, S>(ids: I) -> Palette
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut ids: Vec<String> = ids.into_iter().map(Into::into).collect();
        ids.sort();
        ids.dedup();
        Palette {
            accel: ids
                .into_iter()
                .enumerate()
                .map(|(i, id)| (id, categorical(i)))
                .collect(),
        }
    }

    /// The scenario's palette: the accelerators of its pools and candidates.
    pub fn of_scenario(sc: &Scenario) -> Palette {
        Palette::new(
            sc.pools
                .iter()
                .map(|p| p.accelerator.clone())
                .chain(sc.candidates.iter().map(|c| c.accelerator.clone())),
        )
    }

    /// The palette of the scenario a report was made from. Its labels name the accelerators
    /// of the scenario's pools and candidates; the fleet and the workload add none in a report
    /// built from a valid scenario, but are read too so that no drawn accelerator is unknown.
    pub fn of_report(r: &ReportData) -> Palette {
        let mut ids: Vec<String> = r.labels.accelerators.keys().cloned().collect();
        if let Some(f) = r.fleet.get() {
            ids.extend(f.pools.iter().map(|p| p.accelerator.clone()));
        }
        if let Some(w) = r.workload.get() {
            ids.extend(w.utilisation.iter().map(|u| u.accelerator.clone()));
            ids.extend(w.jobs.iter().filter_map(|j| j.accelerator.clone()));
        }
        Palette::new(ids)
    }

    /// The accelerator's colour; grey for one outside the palette.
    pub fn accelerator(&self, id: &str) -> &'static str {
        self.accel.get(id).copied().unwrap_or(UNKNOWN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_depend_on_the_set_not_the_order() {
        let a = Palette::new(["h100", "mi300x", "ascend-910b"]);
        let b = Palette::new(["mi300x", "ascend-910b", "h100", "h100"]);
        assert_eq!(a, b);
        assert_eq!(a.accelerator("ascend-910b"), CATEGORICAL[0]);
        assert_eq!(a.accelerator("mi300x"), CATEGORICAL[2]);
        assert_eq!(a.accelerator("nope"), UNKNOWN);
    }
}
