//! What-if files: changes to a scenario for re-planning (owned by the plan work).
//!
//! A what-if file is TOML; every key is optional:
//!
//! ```toml
//! name = "h20-licence-2025-04"
//! description = "As of 2025-04-15: H20 to China needs a licence"
//! as_of = 2025-04-15                 # plan date: the rules in force then apply
//! objective = "min-cost"             # max-compute, min-cost or compute-per-dollar
//! target_pflops = 50000
//! horizon_days = 730
//! rule_packs = ["extra-rules.toml"]  # extra rule packs, relative to the what-if file
//! remove_licences = ["my-stp-jdc-2025"]
//!
//! [[price]]                          # a candidate's price (buy: per accelerator; lease: per hour)
//! candidate = "cn-h20-buy"
//! price = { amount = 95000, currency = "CNY" }
//!
//! [[supply_cap]]                     # change a cap by id, or add one (with vendor/accelerator)
//! id = "huawei-2025"
//! max_accels = 30000
//!
//! [[budget]]                         # an envelope's budget, in its currency
//! envelope = "cn-chips"
//! amount = 30e9
//!
//! [[licence]]                        # a licence now held (same fields as in a scenario)
//! # ...
//!
//! [[accelerator]]                    # catalog entries added, or overridden field by field
//! # ...
//! ```
//!
//! Parsing and applying report every problem located in the what-if file.

use serde::{Deserialize, Serialize};
use xpufleet_model::{AcceleratorEntry, Catalog, Date, Licence, Money, Scenario, SupplyCap};

use crate::diag::{Diagnostic, Diagnostics, SpanIndex};
use crate::scenario::toml_diag;
use crate::validate;

/// A new price for one candidate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceChange {
    pub candidate: String,
    pub price: Money,
}

/// A supply cap changed by id, or a new one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapChange {
    pub id: String,
    pub max_accels: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accelerator: Option<String>,
}

/// A new budget for one envelope, in the envelope's currency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetChange {
    pub envelope: String,
    pub amount: f64,
}

/// The changes one what-if makes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhatIf {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_of: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objective: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_pflops: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub horizon_days: Option<f64>,
    /// Extra rule-pack files, relative to the what-if file.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rule_packs: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remove_licences: Vec<String>,
    #[serde(default, rename = "price", skip_serializing_if = "Vec::is_empty")]
    pub prices: Vec<PriceChange>,
    #[serde(default, rename = "supply_cap", skip_serializing_if = "Vec::is_empty")]
    pub supply_caps: Vec<CapChange>,
    #[serde(default, rename = "budget", skip_serializing_if = "Vec::is_empty")]
    pub budgets: Vec<BudgetChange>,
    #[serde(default, rename = "licence", skip_serializing_if = "Vec::is_empty")]
    pub licences: Vec<Licence>,
    #[serde(default, rename = "accelerator", skip_serializing_if = "Vec::is_empty")]
    pub accelerators: Vec<AcceleratorEntry>,
}

/// A what-if with where it came from, for locating problems found when applying it.
#[derive(Debug, Clone)]
pub struct LoadedWhatIf {
    pub what_if: WhatIf,
    pub origin: String,
    pub text: String,
}

/// Parses a what-if file's text (syntax and types; see `apply` for references).
pub fn parse_what_if(text: &str, origin: &str) -> Result<LoadedWhatIf, Diagnostics> {
    let what_if: WhatIf = toml::from_str(text).map_err(|e| toml_diag(text, origin, &e))?;
    let mut d = Diagnostics::default();
    let idx = SpanIndex::new(text);
    let at = |field: &str, msg: String| {
        let dg = Diagnostic::new(origin, msg).field(field);
        match idx.locate(field) {
            Some(s) => dg.at_offset(text, s.start),
            None => dg,
        }
    };
    if let Some(o) = &what_if.objective {
        if !["max-compute", "min-cost", "compute-per-dollar"].contains(&o.as_str()) {
            d.push(at(
                "objective",
                format!("expected one of max-compute, min-cost, compute-per-dollar; found {o:?}"),
            ));
        }
    }
    // The same physical ranges as a scenario's (a zero horizon is as wrong here as there).
    for (field, v, range) in [
        (
            "target_pflops",
            what_if.target_pflops,
            validate::TARGET_PFLOPS,
        ),
        ("horizon_days", what_if.horizon_days, validate::HORIZON_DAYS),
    ] {
        if let Some(v) = v {
            if !range.contains(v) {
                d.push(at(
                    field,
                    format!("{field} is {v}: expected {}", range.describe()),
                ));
            }
        }
    }
    let price = validate::Range {
        lo: 0.0,
        ..validate::MONEY
    };
    for (i, p) in what_if.prices.iter().enumerate() {
        if !(p.price.amount > 0.0 && price.contains(p.price.amount)) {
            d.push(at(
                &format!("price[{i}].price.amount"),
                format!(
                    "price is {}: expected a positive price of at most {:e}",
                    p.price.amount, price.hi
                ),
            ));
        }
    }
    for (i, b) in what_if.budgets.iter().enumerate() {
        if !validate::MONEY.contains(b.amount) {
            d.push(at(
                &format!("budget[{i}].amount"),
                format!(
                    "budget is {}: expected {}",
                    b.amount,
                    validate::MONEY.describe()
                ),
            ));
        }
    }
    if !d.is_empty() {
        return Err(d);
    }
    Ok(LoadedWhatIf {
        what_if,
        origin: origin.to_string(),
        text: text.to_string(),
    })
}

impl LoadedWhatIf {
    fn at(&self, idx: &SpanIndex, field: &str, msg: String) -> Diagnostic {
        let d = Diagnostic::new(&self.origin, msg).field(field);
        match idx.locate(field) {
            Some(s) => d.at_offset(&self.text, s.start),
            None => d,
        }
    }

    /// The scenario and catalog with the changes made. Names that match nothing in the
    /// scenario (a candidate, envelope, licence) are errors located in the what-if file.
    /// `as_of` becomes the scenario's date; rule packs are left to the caller (they are files).
    pub fn apply(
        &self,
        scenario: &Scenario,
        catalog: &Catalog,
    ) -> Result<(Scenario, Catalog), Diagnostics> {
        let w = &self.what_if;
        let idx = SpanIndex::new(&self.text);
        let mut s = scenario.clone();
        let mut c = catalog.clone();
        let mut d = Diagnostics::default();
        if let Some(date) = w.as_of {
            s.date = date;
        }
        if let Some(o) = &w.objective {
            s.plan.objective = o.clone();
        }
        if let Some(t) = w.target_pflops {
            s.plan.target_pflops = Some(t);
        }
        if let Some(h) = w.horizon_days {
            s.plan.horizon_days = h;
        }
        for (i, p) in w.prices.iter().enumerate() {
            match s.candidates.iter_mut().find(|x| x.id == p.candidate) {
                Some(x) => x.price = p.price.clone(),
                None => d.push(self.at(
                    &idx,
                    &format!("price[{i}].candidate"),
                    format!("no candidate {:?} in scenario {}", p.candidate, s.name),
                )),
            }
        }
        for (i, b) in w.budgets.iter().enumerate() {
            match s.envelopes.iter_mut().find(|x| x.id == b.envelope) {
                Some(x) => x.budget.amount = b.amount,
                None => d.push(self.at(
                    &idx,
                    &format!("budget[{i}].envelope"),
                    format!("no envelope {:?} in scenario {}", b.envelope, s.name),
                )),
            }
        }
        for (i, k) in w.supply_caps.iter().enumerate() {
            match s.supply_caps.iter_mut().find(|x| x.id == k.id) {
                Some(x) => {
                    x.max_accels = k.max_accels;
                    if k.vendor.is_some() || k.accelerator.is_some() {
                        x.vendor = k.vendor.clone();
                        x.accelerator = k.accelerator.clone();
                    }
                }
                None if k.vendor.is_none() && k.accelerator.is_none() => d.push(self.at(
                    &idx,
                    &format!("supply_cap[{i}].id"),
                    format!(
                        "no supply cap {:?} to change; a new cap needs a vendor or an accelerator",
                        k.id
                    ),
                )),
                None => s.supply_caps.push(SupplyCap {
                    id: k.id.clone(),
                    vendor: k.vendor.clone(),
                    accelerator: k.accelerator.clone(),
                    max_accels: k.max_accels,
                }),
            }
        }
        for (i, id) in w.remove_licences.iter().enumerate() {
            let before = s.licences.len();
            s.licences.retain(|l| l.id != *id);
            if s.licences.len() == before {
                d.push(self.at(
                    &idx,
                    &format!("remove_licences[{i}]"),
                    format!("no licence {id:?} to remove"),
                ));
            }
        }
        for l in &w.licences {
            match s.licences.iter_mut().find(|x| x.id == l.id) {
                Some(x) => *x = l.clone(),
                None => s.licences.push(l.clone()),
            }
        }
        if !w.accelerators.is_empty() {
            // Entries naming a listed id override the fields they give, as in a scenario.
            let incomplete = c.apply(&w.accelerators);
            d.extend(crate::scenario::incomplete_entries(
                &self.text,
                &self.origin,
                "accelerator",
                &incomplete,
            ));
            for a in &w.accelerators {
                match s.accelerators.iter_mut().find(|x| x.id == a.id) {
                    Some(x) => x.overlay(a),
                    None => s.accelerators.push(a.clone()),
                }
            }
        }
        // Checked as strictly as a scenario: licences, currencies, accelerators.
        d.extend(validate::validate_what_if(self, &s, &c));
        if d.is_empty() {
            Ok((s, c))
        } else {
            Err(d)
        }
    }

    /// One line per change, for reports.
    pub fn changes(&self) -> Vec<String> {
        let w = &self.what_if;
        let mut out = Vec::new();
        if let Some(d) = w.as_of {
            out.push(format!("as of {d}"));
        }
        if let Some(o) = &w.objective {
            out.push(format!("objective {o}"));
        }
        if let Some(t) = w.target_pflops {
            out.push(format!("target {t} effective PFLOPS"));
        }
        if let Some(h) = w.horizon_days {
            out.push(format!("lease horizon {h} days"));
        }
        for p in &w.prices {
            out.push(format!("price of {} = {}", p.candidate, p.price));
        }
        for b in &w.budgets {
            out.push(format!("budget of {} = {}", b.envelope, b.amount));
        }
        for k in &w.supply_caps {
            out.push(format!(
                "supply cap {} = {} accelerators",
                k.id, k.max_accels
            ));
        }
        for l in &w.licences {
            out.push(format!("licence {} held", l.id));
        }
        for l in &w.remove_licences {
            out.push(format!("licence {l} no longer held"));
        }
        for a in &w.accelerators {
            out.push(format!("catalog entry {} replaced", a.id));
        }
        for r in &w.rule_packs {
            out.push(format!("rule pack {r} added"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_example_parses_and_applies() {
        let w = parse_what_if(crate::EXAMPLE_WHAT_IF, "examples/what-if-h20.toml").unwrap();
        assert_eq!(w.what_if.as_of.unwrap().to_string(), "2025-04-15");
        let s = crate::load_scenario(None, None).unwrap();
        let (alt, _) = w.apply(&s.scenario, &s.catalog).unwrap();
        assert_eq!(alt.date.to_string(), "2025-04-15");
    }

    /// Issue 27 item 5: a what-if's entry for a listed part overrides the fields it gives, over
    /// the scenario's own entry for it; one that adds a part lacking fields is located.
    #[test]
    fn issue_27_a_what_if_overrides_field_by_field() {
        let text = "[[accelerator]]\nid = \"ascend-910c\"\npower_w = 600\n";
        let w = parse_what_if(text, "w.toml").unwrap();
        let mut s = crate::load_scenario(None, None).unwrap();
        s.scenario
            .accelerators
            .push(xpufleet_model::AcceleratorEntry {
                id: "ascend-910c".into(),
                launch_year: Some(2026),
                ..Default::default()
            });
        let (alt, c) = w.apply(&s.scenario, &s.catalog).unwrap();
        let a = c.get("ascend-910c").unwrap();
        assert_eq!(a.power_w.value, Some(600.0));
        assert_eq!(a.tflops_bf16.value, Some(780.0));
        assert_eq!(a.tflops_bf16.source.as_deref(), Some("TH2"));
        assert_eq!(c.overridden["ascend-910c"], ["power_w"]);
        // The scenario's entry and the what-if's are one entry, laid field by field.
        let own: Vec<_> = alt
            .accelerators
            .iter()
            .filter(|e| e.id == "ascend-910c")
            .collect();
        assert_eq!(own.len(), 1);
        assert_eq!(own[0].launch_year, Some(2026));
        assert_eq!(own[0].power_w.as_ref().and_then(|f| f.value), Some(600.0));

        let text = "[[accelerator]]\nid = \"acme-x1\"\nname = \"X1\"\n";
        let w = parse_what_if(text, "w.toml").unwrap();
        let d = w.apply(&s.scenario, &s.catalog).unwrap_err();
        assert!(
            d.to_string().contains(
                "w.toml:1:1: accelerator[0]: accelerator \"acme-x1\" is not in the catalog, so it adds a part, and lacks vendor, vendor_country, family"
            ),
            "{d}"
        );
    }

    #[test]
    fn unknown_names_are_located() {
        let text = "as_of = 2025-05-01\n\n[[price]]\ncandidate = \"nope\"\nprice = { amount = 1, currency = \"USD\" }\n\n[[budget]]\nenvelope = \"cn-chips\"\namount = -3\n";
        let e = parse_what_if(text, "w.toml").unwrap_err();
        assert_eq!(e.0[0].line, Some(9), "{e}");
        let text = "[[price]]\ncandidate = \"nope\"\nprice = { amount = 1, currency = \"USD\" }\n";
        let w = parse_what_if(text, "w.toml").unwrap();
        let s = crate::load_scenario(None, None).unwrap();
        let e = w.apply(&s.scenario, &s.catalog).unwrap_err();
        let d = &e.0[0];
        assert_eq!(
            (d.line, d.field.as_deref()),
            (Some(2), Some("price[0].candidate"))
        );
        assert!(d.to_string().contains("no candidate \"nope\""), "{d}");
        let e = parse_what_if("as_of = \"soon\"\n", "w.toml").unwrap_err();
        assert_eq!(e.0[0].line, Some(1));
        let e = parse_what_if("colour = 3\n", "w.toml").unwrap_err();
        assert!(e.to_string().contains("colour"), "{e}");
    }

    fn problems(text: &str) -> Vec<(Option<usize>, String, String)> {
        let s = crate::load_scenario(None, None).unwrap();
        let r = parse_what_if(text, "w.toml").and_then(|w| w.apply(&s.scenario, &s.catalog));
        match r {
            Ok(_) => Vec::new(),
            Err(d) => {
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
        }
    }

    const LICENCE: &str = "[[licence]]\nid = \"l2\"\nauthority = \"US-BIS\"\nholder = \"acme-ai\"\naccelerators = [\"h20\"]\ncountries = [\"CN\"]\nvalid_from = 2025-01-01\nvalid_until = 2025-12-31\n";

    /// Issue 17: a what-if file is checked as strictly as a scenario, each problem located in
    /// the what-if file.
    #[test]
    fn issue_17_what_if_files_are_checked_like_scenarios() {
        assert_eq!(problems(LICENCE), vec![]);
        for (from, to, field, message) in [
            (
                "holder = \"acme-ai\"",
                "holder = \"nobody\"",
                "licence[0].holder",
                "unknown entity \"nobody\"",
            ),
            (
                "authority = \"US-BIS\"",
                "authority = \" \"",
                "licence[0].authority",
                "empty authority",
            ),
            (
                "valid_until = 2025-12-31",
                "valid_until = 2024-12-31",
                "licence[0].valid_until",
                "is before valid_from",
            ),
            (
                "[\"h20\"]",
                "[\"h21\"]",
                "licence[0].accelerators[0]",
                "unknown accelerator \"h21\"",
            ),
            (
                "[\"CN\"]",
                "[\"China\"]",
                "licence[0].countries[0]",
                "malformed country code",
            ),
        ] {
            let p = problems(&LICENCE.replace(from, to));
            assert!(
                p.iter()
                    .any(|(line, f, m)| line.is_some() && f == field && m.contains(message)),
                "{to}: {p:?}"
            );
        }
        let cases = [
            ("horizon_days = 0\n", "horizon_days", "expected a number above 0 and at most 3653 days"),
            ("horizon_days = 1e308\n", "horizon_days", "at most 3653"),
            ("target_pflops = nan\n", "target_pflops", "expected a number above 0"),
            ("[[price]]\ncandidate = \"cn-h20-buy\"\nprice = { amount = 1, currency = \"XYZ\" }\n", "price[0].price.currency", "no FX rate for XYZ"),
            ("[[price]]\ncandidate = \"cn-h20-buy\"\nprice = { amount = 1, currency = \"CNY\", vat = 1 }\n", "", "unknown field `vat`, expected `amount` or `currency`"),
            ("[[budget]]\nenvelope = \"cn-chips\"\namount = 1e300\n", "budget[0].amount", "expected a number from 0 to 1e15"),
            ("[[supply_cap]]\nid = \"new\"\nmax_accels = 5\naccelerator = \"h21\"\n", "supply_cap[0].accelerator", "unknown accelerator"),
            ("[[accelerator]]\nid = \"x1\"\nvendor = \"V\"\nvendor_country = \"US\"\nname = \"X1\"\nfamily = \"hopper\"\npower_w = 1e308\n", "accelerator[0].power_w", "at most 1000000 W"),
        ];
        for (text, field, message) in cases {
            let p = problems(text);
            assert!(
                p.iter()
                    .any(|(line, f, m)| line.is_some() && f == field && m.contains(message)),
                "{text}: {p:?}"
            );
        }
    }
}
