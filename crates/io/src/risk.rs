//! Checks of a scenario's `[[risk]]` entries (types in `xpufleet_model::risk`): every field a
//! kind needs is there, every name refers to something, every number is in its range; each
//! problem located at the entry's field (`risk[2].fraction.min`).

use std::collections::BTreeSet;

use xpufleet_model::{Catalog, Dist, RiskKind, Scenario};

use crate::diag::{Diagnostic, Diagnostics, SpanIndex};
use crate::scenario::LoadedScenario;

/// Largest price multiplier a risk may give: prices ×100 is already beyond any scenario.
pub const MAX_MULTIPLIER: f64 = 100.0;

/// Every problem in `scenario.risks`, located in `text`. `file_index[i]` is the index in the
/// file of the `i`-th entry (entries that failed to parse are left out of a partial scenario);
/// `None` when every entry parsed.
pub fn validate_risks(
    origin: &str,
    text: &str,
    scenario: &Scenario,
    catalog: &Catalog,
    file_index: Option<&[usize]>,
) -> Diagnostics {
    let index = SpanIndex::new(text);
    let mut out = Diagnostics::default();
    let mut err = |i: usize, field: &str, message: String| {
        let i = file_index.and_then(|f| f.get(i).copied()).unwrap_or(i);
        let path = if field.is_empty() {
            format!("risk[{i}]")
        } else {
            format!("risk[{i}].{field}")
        };
        out.push(Diagnostic::at_path(origin, text, &index, &path, message));
    };
    let vendors: BTreeSet<String> = scenario
        .candidates
        .iter()
        .filter_map(|c| catalog.get(&c.accelerator))
        .map(|a| a.vendor.to_ascii_lowercase())
        .collect();
    let mut ids = BTreeSet::new();
    for (i, r) in scenario.risks.iter().enumerate() {
        if r.id.trim().is_empty() {
            err(i, "id", "empty id: expected a name for the risk".into());
        } else if !ids.insert(r.id.as_str()) {
            err(i, "id", format!("duplicate risk id {:?}", r.id));
        }
        // Fields that belong to other kinds are mistakes, not silently ignored.
        let given: [(&str, bool, &[RiskKind]); 9] = [
            ("what_if", r.what_if.is_some(), &[RiskKind::Rule]),
            ("probability", r.probability.is_some(), &[RiskKind::Rule]),
            ("date", r.date.is_some(), &[RiskKind::Rule]),
            (
                "vendor",
                r.vendor.is_some(),
                &[RiskKind::Delivery, RiskKind::Price],
            ),
            (
                "candidate",
                r.candidate.is_some(),
                &[RiskKind::Delivery, RiskKind::Price],
            ),
            ("mode", r.mode.is_some(), &[RiskKind::Price]),
            ("fraction", r.fraction.is_some(), &[RiskKind::Delivery]),
            ("multiplier", r.multiplier.is_some(), &[RiskKind::Price]),
            ("currency", r.currency.is_some(), &[RiskKind::Fx]),
        ];
        for (field, present, kinds) in given {
            if present && !kinds.contains(&r.kind) {
                err(
                    i,
                    field,
                    format!(
                        "{field} does not apply to a {} risk (it belongs to {})",
                        r.kind,
                        kinds
                            .iter()
                            .map(|k| k.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                );
            }
        }
        if r.usd_per.is_some() && r.kind != RiskKind::Fx {
            err(
                i,
                "usd_per",
                format!(
                    "usd_per does not apply to a {} risk (it belongs to fx)",
                    r.kind
                ),
            );
        }
        let mut need = |field: &str, present: bool, what: &str| {
            if !present {
                err(i, field, format!("a {} risk needs {field}: {what}", r.kind));
            }
        };
        match r.kind {
            RiskKind::Rule => {
                need(
                    "what_if",
                    r.what_if.is_some(),
                    "a what-if file, relative to the scenario",
                );
                need(
                    "probability",
                    r.probability.is_some(),
                    "the chance it lands, 0 to 1",
                );
                need(
                    "date",
                    r.date.is_some(),
                    "the date it would land, YYYY-MM-DD",
                );
            }
            RiskKind::Delivery => {
                need(
                    "fraction",
                    r.fraction.is_some(),
                    "{ min, max, mode? }, the fraction delivered",
                );
                if r.vendor.is_none() && r.candidate.is_none() {
                    err(
                        i,
                        "vendor",
                        "a delivery risk needs a vendor or a candidate".into(),
                    );
                }
            }
            RiskKind::Price => need(
                "multiplier",
                r.multiplier.is_some(),
                "{ min, max, mode? }, on the nominal price",
            ),
            RiskKind::Fx => {
                need(
                    "currency",
                    r.currency.is_some(),
                    "the currency, e.g. \"CNY\"",
                );
                need(
                    "usd_per",
                    r.usd_per.is_some(),
                    "{ min, max, mode? }, USD per unit of the currency",
                );
            }
        }
        if let Some(p) = r.probability {
            if !(0.0..=1.0).contains(&p) {
                err(
                    i,
                    "probability",
                    format!("probability is {p}: expected a number from 0 to 1"),
                );
            }
        }
        if let Some(v) = &r.vendor {
            if !vendors.contains(&v.to_ascii_lowercase()) {
                err(
                    i,
                    "vendor",
                    format!(
                        "no candidate's part is made by vendor {v:?}: expected one of {}",
                        vendors.iter().cloned().collect::<Vec<_>>().join(", ")
                    ),
                );
            }
        }
        if let Some(c) = &r.candidate {
            if !scenario.candidates.iter().any(|x| &x.id == c) {
                err(i, "candidate", format!("unknown candidate {c:?}"));
            }
        }
        if let Some(c) = &r.currency {
            if c.0 == "USD" {
                err(
                    i,
                    "currency",
                    "USD is the unit of account: its rate cannot move".into(),
                );
            } else if !scenario.fx.usd_per_unit.contains_key(c) {
                err(
                    i,
                    "currency",
                    format!("no FX rate for {} in the scenario's [fx]", c.0),
                );
            }
        }
        for (field, d, lo, hi) in [
            ("fraction", r.fraction, 0.0, 1.0),
            ("multiplier", r.multiplier, 0.0, MAX_MULTIPLIER),
            ("usd_per", r.usd_per, 0.0, 1e6),
        ] {
            if let Some(d) = d {
                for (f, m) in dist_problems(&d, lo, hi, field != "fraction") {
                    err(i, &format!("{field}.{f}"), m);
                }
            }
        }
    }
    out
}

/// Problems of a distribution on `[lo, hi]` (`lo` excluded when `positive`).
fn dist_problems(d: &Dist, lo: f64, hi: f64, positive: bool) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let in_range = |v: f64| v.is_finite() && v <= hi && (if positive { v > lo } else { v >= lo });
    let range = if positive {
        format!("a number above {lo} and at most {hi}")
    } else {
        format!("a number from {lo} to {hi}")
    };
    for (f, v) in [("min", Some(d.min)), ("max", Some(d.max)), ("mode", d.mode)] {
        if let Some(v) = v {
            if !in_range(v) {
                out.push((f, format!("{f} is {v}: expected {range}")));
            }
        }
    }
    if out.is_empty() {
        if d.min > d.max {
            out.push((
                "max",
                format!("max {} is below min {}: expected min ≤ max", d.max, d.min),
            ));
        } else if let Some(m) = d.mode {
            if m < d.min || m > d.max {
                out.push((
                    "mode",
                    format!("mode {m} is outside min..max ({}..{})", d.min, d.max),
                ));
            }
        }
    }
    out
}

/// The what-if files the rule risks name, as `validate` checks referenced files: unreadable or
/// wrong is an error located at the risk's `what_if` (and the what-if's own problems in it).
pub fn validate_risk_files(ls: &LoadedScenario) -> Diagnostics {
    let index = SpanIndex::new(&ls.text);
    let mut out = Diagnostics::default();
    for (i, r) in ls.scenario.risks.iter().enumerate() {
        let Some(rel) = &r.what_if else { continue };
        match ls.read_relative(rel) {
            Err(e) => out.push(Diagnostic::at_path(
                &ls.origin,
                &ls.text,
                &index,
                &format!("risk[{i}].what_if"),
                format!(
                    "what-if file {rel:?}: {}: expected a readable file, relative to the scenario",
                    e.message
                ),
            )),
            Ok((origin, text)) => {
                let applied = crate::whatif::parse_what_if(&text, &origin)
                    .and_then(|w| w.apply(&ls.scenario, &ls.catalog).map(|_| ()));
                if let Err(d) = applied {
                    out.extend(d);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "\n[[risk]]\nid = \"h20\"\nkind = \"rule\"\nwhat_if = \"what-if-h20.toml\"\nprobability = 0.5\ndate = 2025-06-01\n\n[[risk]]\nid = \"huawei\"\nkind = \"delivery\"\nvendor = \"Huawei\"\nfraction = { min = 0.7, max = 1.0 }\n\n[[risk]]\nid = \"cny\"\nkind = \"fx\"\ncurrency = \"CNY\"\nusd_per = { min = 0.13, mode = 0.1389, max = 0.145 }\n";

    /// (line, field, message) of every problem of the built-in example with `risks` appended
    /// in place of its own.
    fn problems(risks: &str) -> Vec<(Option<usize>, String, String)> {
        let text = strip_risks(crate::EXAMPLE_SCENARIO) + risks;
        let ls = crate::scenario::scenario_from_text(
            "s.toml".into(),
            text,
            None,
            crate::builtin_catalog(),
        );
        let d = match ls {
            Ok(ls) => crate::validate::validate(&ls),
            Err((d, _)) => d,
        };
        d.0.iter()
            .map(|d| {
                (
                    d.line,
                    d.field.clone().unwrap_or_default(),
                    d.message.clone(),
                )
            })
            .collect()
    }

    /// The example without its `[[risk]]` entries (they come last in the file).
    fn strip_risks(text: &str) -> String {
        match text.find("\n[[risk]]") {
            Some(i) => text[..i].to_string(),
            None => text.to_string(),
        }
    }

    #[test]
    fn good_risks_pass() {
        assert_eq!(problems(BASE), vec![]);
    }

    #[test]
    fn bad_risks_are_located() {
        for (from, to, field, message) in [
            (
                "probability = 0.5",
                "probability = 1.5",
                "risk[0].probability",
                "expected a number from 0 to 1",
            ),
            (
                "probability = 0.5\n",
                "",
                "risk[0].probability",
                "needs probability",
            ),
            (
                "vendor = \"Huawei\"",
                "vendor = \"Huawai\"",
                "risk[1].vendor",
                "no candidate's part is made by vendor \"Huawai\"",
            ),
            (
                "min = 0.7, max = 1.0",
                "min = 0.7, max = 1.2",
                "risk[1].fraction.max",
                "expected a number from 0 to 1",
            ),
            (
                "min = 0.7, max = 1.0",
                "min = 0.9, max = 0.8",
                "risk[1].fraction.max",
                "below min",
            ),
            (
                "mode = 0.1389",
                "mode = 0.2",
                "risk[2].usd_per.mode",
                "outside min..max",
            ),
            (
                "currency = \"CNY\"",
                "currency = \"EUR\"",
                "risk[2].currency",
                "no FX rate for EUR",
            ),
            (
                "id = \"cny\"",
                "id = \"h20\"",
                "risk[2].id",
                "duplicate risk id",
            ),
            (
                "kind = \"fx\"",
                "kind = \"fx\"\nvendor = \"Huawei\"",
                "risk[2].vendor",
                "does not apply to a fx risk",
            ),
        ] {
            let text = BASE.replacen(from, to, 1);
            let p = problems(&text);
            assert!(
                p.iter()
                    .any(|(line, f, m)| line.is_some() && f == field && m.contains(message)),
                "{to}: {p:?}"
            );
        }
        // A type error (an unknown kind) is located too.
        let p = problems(&BASE.replacen("kind = \"fx\"", "kind = \"weather\"", 1));
        assert!(
            p.iter()
                .any(|(line, _, m)| line.is_some() && m.contains("weather")),
            "{p:?}"
        );
    }

    #[test]
    fn the_example_risks_files_read() {
        let ls = crate::load_scenario(None, None).unwrap();
        assert!(!ls.scenario.risks.is_empty());
        assert!(validate_risk_files(&ls).is_empty());
    }
}
