//! Cross-reference and sanity validation of scenarios and catalogs, with every problem located
//! at the offending value (file, line, column, field path) and saying what was expected.
//!
//! Parsing (`scenario::parse_scenario`) already reports syntax and type errors. This module takes
//! a parsed scenario and finds what types cannot: references to ids that do not exist, duplicate
//! ids, loops in parent chains, currencies without an exchange rate and values that make no
//! sense (zero nodes, PUE below 1, a share above 1). It reports everything it finds in one run,
//! and when some entries have type errors it still checks the ones that parsed
//! (`validate_partial`), so one run gives both kinds.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use xpufleet_model::{
    AcceleratorEntry, Acquisition, Catalog, CatalogFile, Confidence, Currency, Licence, Money,
    PlanSettings, Scenario, TrainingJob,
};

use crate::diag::{Diagnostic, Diagnostics, SpanIndex};
use crate::scenario::{load_scenario_partial, LoadedScenario, PartialScenario};
use crate::whatif::{LoadedWhatIf, WhatIf};

/// The objectives the planner knows (see `PlanSettings::objective`).
pub const PLAN_OBJECTIVES: [&str; 3] = ["max-compute", "min-cost", "compute-per-dollar"];

/// Every cross-reference and sanity problem in a loaded scenario, located in its text.
pub fn validate(ls: &LoadedScenario) -> Diagnostics {
    let mut c = Checker::new(&ls.origin, &ls.text);
    c.scenario(&ls.scenario, &ls.catalog);
    let mut out = c.finish();
    out.extend(crate::risk::validate_risks(
        &ls.origin,
        &ls.text,
        &ls.scenario,
        &ls.catalog,
        None,
    ));
    out.sort();
    out
}

/// The files a scenario names, as `xpufleet validate` checks them: a `rule_packs` entry or
/// `plan.what_if` that cannot be read is an error located at that entry, and the what-if file
/// is checked as strictly as the scenario (its problems located in it). Other commands read
/// only the files they use.
pub fn validate_referenced_files(ls: &LoadedScenario) -> Diagnostics {
    let mut c = Checker::new(&ls.origin, &ls.text);
    let mut what_if = Diagnostics::default();
    for (i, rel) in ls.scenario.rule_packs.iter().enumerate() {
        if let Err(e) = ls.read_relative(rel) {
            c.err(
                format!("rule_packs[{i}]"),
                format!(
                    "rule pack {rel:?}: {}: expected a readable file, relative to the scenario",
                    e.message
                ),
            );
        }
    }
    if let Some(rel) = &ls.scenario.plan.what_if {
        match ls.read_relative(rel) {
            Err(e) => c.err(
                "plan.what_if".into(),
                format!(
                    "what-if file {rel:?}: {}: expected a readable file, relative to the scenario",
                    e.message
                ),
            ),
            Ok((origin, text)) => {
                let applied = crate::whatif::parse_what_if(&text, &origin)
                    .and_then(|w| w.apply(&ls.scenario, &ls.catalog).map(|_| ()));
                if let Err(d) = applied {
                    what_if = d;
                }
            }
        }
    }
    let mut out = c.finish();
    out.extend(what_if);
    out.extend(crate::risk::validate_risk_files(ls));
    out
}

/// Every problem in a what-if file's changes, located in the what-if file; `scenario` and
/// `catalog` are those the changes were applied to.
pub fn validate_what_if(w: &LoadedWhatIf, scenario: &Scenario, catalog: &Catalog) -> Diagnostics {
    let mut c = Checker::new(&w.origin, &w.text);
    c.what_if(&w.what_if, scenario, catalog);
    c.finish()
}

/// The cross-reference and sanity problems among the entries of a scenario that parsed, when
/// others did not: reported at the entries' places in the file, with the broken entries' ids
/// taken as defined (a broken site is reported once, by its type error, not again at every pool
/// that names it).
pub fn validate_partial(p: &PartialScenario) -> Diagnostics {
    let mut c = Checker::new(&p.loaded.origin, &p.loaded.text);
    c.remap = p.kept.clone();
    c.extra_ids = p.failed_ids.clone();
    c.scenario(&p.loaded.scenario, &p.loaded.catalog);
    let mut out = c.finish();
    let kept: &[usize] = p.kept.get("risk").map(Vec::as_slice).unwrap_or(&[]);
    out.extend(crate::risk::validate_risks(
        &p.loaded.origin,
        &p.loaded.text,
        &p.loaded.scenario,
        &p.loaded.catalog,
        Some(kept),
    ));
    out.sort();
    out
}

/// Every problem in a catalog file's entries (duplicate ids, unknown source keys, malformed
/// countries, figures outside their physical range, ...), located in its text: each field an
/// entry gives is checked, so an override is checked on what it changes and keeps the rest of
/// an entry that was valid. A figure may cite a key of the file's own `[sources]` or of
/// `base_sources` (the catalog the file is laid over).
pub fn validate_catalog(
    file: &CatalogFile,
    base_sources: &BTreeMap<String, String>,
    text: &str,
    origin: &str,
) -> Diagnostics {
    let mut c = Checker::new(origin, text);
    let sources: BTreeSet<&str> = file
        .sources
        .keys()
        .chain(base_sources.keys())
        .map(String::as_str)
        .collect();
    c.accelerators(&file.accelerators, &sources);
    for (key, citation) in &file.sources {
        if citation.trim().is_empty() {
            c.err(
                format!("sources.{key}"),
                "empty citation: expected the text of the source".to_string(),
            );
        }
    }
    c.finish()
}

/// Loads a scenario (the built-in example when `path` is `None`) against the built-in catalog
/// overridden by `catalog_file`, and validates both: the scenario if every check passes, or every
/// problem found.
pub fn check_scenario(
    path: Option<&Path>,
    catalog_file: Option<&Path>,
) -> Result<LoadedScenario, Diagnostics> {
    if let Some(f) = catalog_file {
        if let Err(mut diags) = check_catalog_file(f) {
            // The scenario is checked against the built-in catalog alone rather than not at all.
            if let Err(more) = check_scenario(path, None) {
                diags.extend(more);
            }
            return Err(diags);
        }
    }
    let mut diags = Diagnostics::default();
    match load_scenario_partial(path, catalog_file) {
        Ok(ls) => {
            diags.extend(validate(&ls));
            if diags.is_empty() {
                Ok(ls)
            } else {
                Err(diags)
            }
        }
        Err((d, partial)) => {
            diags.extend(d);
            if let Some(p) = partial {
                diags.extend(validate_partial(&p));
            }
            diags.sort();
            Err(diags)
        }
    }
}

/// Parses and validates a catalog file's text as laid over the built-in catalog; gives back the
/// file as written.
pub fn check_catalog(text: &str, origin: &str) -> Result<CatalogFile, Diagnostics> {
    check_catalog_over(&mut crate::builtin_catalog(), text, origin)
}

/// Parses and validates a catalog file's text and lays it over `base` (an entry naming a listed
/// id overrides the fields it gives; a new id must give the required fields). Every problem is
/// reported in one run, the incomplete new parts with the rest; `base` is changed only when
/// there is none.
pub fn check_catalog_over(
    base: &mut Catalog,
    text: &str,
    origin: &str,
) -> Result<CatalogFile, Diagnostics> {
    let file = crate::scenario::parse_catalog_file(text, origin)?;
    let mut d = validate_catalog(&file, &base.sources, text, origin);
    let mut merged = base.clone();
    let incomplete = merged.apply_file(&file);
    d.extend(crate::scenario::incomplete_entries(
        text,
        origin,
        "accelerator",
        &incomplete,
    ));
    if d.is_empty() {
        *base = merged;
        Ok(file)
    } else {
        d.sort();
        Err(d)
    }
}

/// Reads, parses and validates a catalog file, as laid over the built-in catalog.
pub fn check_catalog_file(path: &Path) -> Result<CatalogFile, Diagnostics> {
    let origin = path.display().to_string();
    let text = crate::diag::read_text(path)?;
    check_catalog(&text, &origin)
}

/// True when a TOML text looks like a catalog (a `[sources]` table or `[[accelerator]]` entries
/// and none of a scenario's required fields) rather than a scenario.
pub fn looks_like_catalog(text: &str) -> bool {
    let (doc, _) = toml::de::DeTable::parse_recoverable(text);
    let t = doc.get_ref();
    let scenario_keys = ["name", "date", "company"];
    (t.contains_key("sources") || t.contains_key("accelerator"))
        && !scenario_keys.iter().any(|k| t.contains_key(*k))
}

/// Walks a scenario, collecting located diagnostics.
struct Checker<'a> {
    origin: &'a str,
    text: &'a str,
    index: SpanIndex,
    out: Diagnostics,
    /// List name -> file index of each entry checked, when only some entries parsed.
    remap: BTreeMap<&'static str, Vec<usize>>,
    /// List name -> ids of entries that did not parse, taken as defined.
    extra_ids: BTreeMap<&'static str, Vec<String>>,
}

/// Ids known in one namespace, for reference checks and "expected one of" hints.
struct Known {
    what: &'static str,
    ids: BTreeSet<String>,
}

impl Known {
    fn new<'s>(what: &'static str, ids: impl IntoIterator<Item = &'s str>) -> Known {
        Known {
            what,
            ids: ids.into_iter().map(str::to_string).collect(),
        }
    }

    fn has(&self, id: &str) -> bool {
        self.ids.contains(id)
    }

    /// "expected one of a, b, c" (the first few), or a note that there are none.
    fn expected(&self) -> String {
        const SHOWN: usize = 12;
        if self.ids.is_empty() {
            return format!("no {} is defined", self.what);
        }
        let mut list: Vec<&str> = self.ids.iter().map(String::as_str).take(SHOWN).collect();
        if self.ids.len() > SHOWN {
            list.push("...");
        }
        format!("expected one of {}", list.join(", "))
    }
}

impl<'a> Checker<'a> {
    fn new(origin: &'a str, text: &'a str) -> Checker<'a> {
        Checker {
            origin,
            text,
            index: SpanIndex::new(text),
            out: Diagnostics::default(),
            remap: BTreeMap::new(),
            extra_ids: BTreeMap::new(),
        }
    }

    fn finish(mut self) -> Diagnostics {
        self.out.sort();
        self.out
    }

    fn err(&mut self, path: String, message: String) {
        let path = self.file_path(path);
        let d = Diagnostic::at_path(self.origin, self.text, &self.index, &path, message);
        self.out.push(d);
    }

    /// "pool[1].site" of the entries checked -> "pool[3].site" in the file, when entries 1 and 2
    /// of the file did not parse.
    fn file_path(&self, path: String) -> String {
        let Some(open) = path.find('[') else {
            return path;
        };
        let Some(close) = path[open..].find(']').map(|c| open + c) else {
            return path;
        };
        let list = &path[..open];
        match (self.remap.get(list), path[open + 1..close].parse::<usize>()) {
            (Some(kept), Ok(i)) if i < kept.len() => {
                format!("{list}[{}]{}", kept[i], &path[close + 1..])
            }
            _ => path,
        }
    }

    /// Ids of `list` in the scenario plus those of its entries that did not parse.
    fn known<'s>(
        &self,
        what: &'static str,
        list: &str,
        ids: impl IntoIterator<Item = &'s str>,
    ) -> Known {
        let mut k = Known::new(what, ids);
        if let Some(extra) = self.extra_ids.get(list) {
            k.ids.extend(extra.iter().cloned());
        }
        k
    }

    fn line_of(&self, path: &str) -> Option<usize> {
        let path = self.file_path(path.to_string());
        self.index
            .locate(&path)
            .map(|s| crate::diag::line_col(self.text, s.start).0)
    }

    /// Duplicate and empty ids in one list, reported at each repeat.
    fn unique_ids<'s>(&mut self, list: &str, ids: impl IntoIterator<Item = &'s str>) {
        let mut first: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, id) in ids.into_iter().enumerate() {
            let path = format!("{list}[{i}].id");
            if id.trim().is_empty() {
                self.err(path, "empty id: expected a non-empty identifier".into());
                continue;
            }
            match first.get(id) {
                Some(&j) => {
                    let at = self
                        .line_of(&format!("{list}[{j}].id"))
                        .map_or(String::new(), |l| format!(" (first defined on line {l})"));
                    self.err(
                        path,
                        format!("duplicate id {id:?}{at}: expected ids unique within [[{list}]]"),
                    );
                }
                None => {
                    first.insert(id, i);
                }
            }
        }
    }

    fn reference(&mut self, path: String, id: &str, known: &Known) {
        if !known.has(id) {
            let msg = format!("unknown {} {id:?}: {}", known.what, known.expected());
            self.err(path, msg);
        }
    }

    fn country(&mut self, path: String, code: &str) {
        if !(code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase())) {
            self.err(
                path,
                format!(
                    "malformed country code {code:?}: expected two upper-case letters (ISO 3166-1 alpha-2, e.g. \"CN\")"
                ),
            );
        }
    }

    fn currency(&mut self, path: String, c: &Currency, fx: &xpufleet_model::FxRates) {
        if !c.is_well_formed() {
            self.err(
                path,
                format!(
                    "malformed currency code {:?}: expected three upper-case letters (ISO 4217, e.g. \"USD\")",
                    c.as_str()
                ),
            );
        } else if !fx.has(c) {
            self.err(
                path,
                format!(
                    "no FX rate for {c}: expected `{c} = <USD per unit>` under [fx] (rates given: {})",
                    fx_list(fx)
                ),
            );
        }
    }

    /// An amount of money at `path` (a table with `amount` and `currency`).
    fn money(&mut self, path: &str, m: &Money, fx: &xpufleet_model::FxRates, what: &str) {
        self.currency(format!("{path}.currency"), &m.currency, fx);
        if !MONEY.contains(m.amount) {
            self.err(
                format!("{path}.amount"),
                format!(
                    "{what} is {}: expected a finite amount from 0 to {:e}",
                    show(m.amount),
                    MONEY.hi
                ),
            );
        }
    }

    /// A number that must lie in a physical range: above `lo` (or at it when `lo_inclusive`)
    /// and at most `hi`. The message names the range so the fix is obvious; numbers outside
    /// it (`1e308`, `inf`) would otherwise reach the solver or the simulator and trip them.
    fn within(&mut self, path: String, v: f64, range: Range, what: &str) {
        if !range.contains(v) {
            self.err(
                path,
                format!("{what} is {}: expected {}", show(v), range.describe()),
            );
        }
    }

    fn nonzero(&mut self, path: String, v: u64, what: &str) {
        if v == 0 {
            self.err(path, format!("{what} is 0: expected 1 or more"));
        }
    }

    /// `scaleup_domain` must be positive and a whole number of nodes.
    fn scaleup(&mut self, path: String, domain: u32, accels_per_node: u32) {
        if domain == 0 {
            self.err(path, "scaleup_domain is 0: expected 1 or more".into());
        } else if accels_per_node > 0 && !is_multiple(domain, accels_per_node) {
            self.err(
                path,
                format!(
                    "scaleup_domain {domain} is not a multiple of accels_per_node {accels_per_node}: expected a whole number of nodes (e.g. {} or {})",
                    accels_per_node,
                    accels_per_node * (domain / accels_per_node + 1)
                ),
            );
        }
    }

    fn scenario(&mut self, s: &Scenario, catalog: &Catalog) {
        let entities = self.known("entity", "entity", s.entities.iter().map(|e| e.id.as_str()));
        let sites = self.known("site", "site", s.sites.iter().map(|x| x.id.as_str()));
        let accels = self.known("accelerator", "accelerator", catalog.ids());
        let envelopes = self.known(
            "envelope",
            "envelope",
            s.envelopes.iter().map(|e| e.id.as_str()),
        );
        let licences = self.known(
            "licence",
            "licence",
            s.licences.iter().map(|l| l.id.as_str()),
        );
        let vendors = Known::new(
            "vendor",
            catalog.accelerators.iter().map(|a| a.vendor.as_str()),
        );
        let fx = &s.fx;

        // Top level.
        self.reference("company".into(), &s.company, &entities);
        for (c, rate) in &fx.usd_per_unit {
            let path = format!("fx.{}", c.as_str());
            if !c.is_well_formed() {
                self.err(
                    path,
                    format!(
                        "malformed currency code {:?}: expected three upper-case letters (ISO 4217)",
                        c.as_str()
                    ),
                );
            } else {
                self.within(path, *rate, FX_USD_PER_UNIT, "FX rate (USD per unit)");
            }
        }
        self.plan(&s.plan);
        if let Some(w) = &s.workload {
            self.workload(w, &entities);
        }

        // The scenario's own accelerator entries (checked against the merged catalog's sources).
        let sources: BTreeSet<&str> = catalog.sources.keys().map(String::as_str).collect();
        self.accelerators(&s.accelerators, &sources);

        // Entities.
        self.unique_ids("entity", s.entities.iter().map(|e| e.id.as_str()));
        for (i, e) in s.entities.iter().enumerate() {
            self.country(format!("entity[{i}].hq_country"), &e.hq_country);
            if let Some(p) = &e.parent {
                self.reference(format!("entity[{i}].parent"), p, &entities);
            }
        }
        self.parent_loops(s);

        // Sites.
        self.unique_ids("site", s.sites.iter().map(|x| x.id.as_str()));
        for (i, site) in s.sites.iter().enumerate() {
            let at = format!("site[{i}]");
            self.country(format!("{at}.country"), &site.country);
            self.reference(format!("{at}.owner"), &site.owner, &entities);
            self.reference(format!("{at}.operator"), &site.operator, &entities);
            self.within(
                format!("{at}.power_mw"),
                site.power_mw,
                SITE_POWER_MW,
                "power_mw",
            );
            self.within(
                format!("{at}.pue"),
                site.pue,
                PUE,
                "pue (facility power / IT power)",
            );
            self.money(
                &format!("{at}.electricity_per_kwh"),
                &site.electricity_per_kwh,
                fx,
                "electricity price",
            );
            for (j, v) in site.verifications.iter().enumerate() {
                let vat = format!("{at}.verification[{j}]");
                self.reference(format!("{vat}.entity"), &v.entity, &entities);
                if let Some(p) = &v.ultimate_parent {
                    self.reference(format!("{vat}.ultimate_parent"), p, &entities);
                }
                if let Some(c) = &v.hq_country {
                    self.country(format!("{vat}.hq_country"), c);
                }
                if v.valid_until < v.date {
                    self.err(
                        format!("{vat}.valid_until"),
                        format!(
                            "valid_until {} is before the verification date {}: expected a date on or after it",
                            v.valid_until, v.date
                        ),
                    );
                }
                for (field, value) in [("verified_by", &v.verified_by), ("evidence", &v.evidence)] {
                    if value.trim().is_empty() {
                        self.err(
                            format!("{vat}.{field}"),
                            format!(
                                "empty {field}: expected who verified / the evidence reference"
                            ),
                        );
                    }
                }
            }
        }

        // Pools.
        self.unique_ids("pool", s.pools.iter().map(|p| p.id.as_str()));
        for (i, p) in s.pools.iter().enumerate() {
            let at = format!("pool[{i}]");
            self.reference(format!("{at}.site"), &p.site, &sites);
            self.reference(format!("{at}.accelerator"), &p.accelerator, &accels);
            self.nonzero(format!("{at}.nodes"), p.nodes.into(), "nodes");
            self.nonzero(
                format!("{at}.accels_per_node"),
                p.accels_per_node.into(),
                "accels_per_node",
            );
            self.scaleup(
                format!("{at}.scaleup_domain"),
                p.scaleup_domain,
                p.accels_per_node,
            );
            if let Some(o) = &p.owner {
                self.reference(format!("{at}.owner"), o, &entities);
            }
            for (j, l) in p.licences.iter().enumerate() {
                self.reference(format!("{at}.licences[{j}]"), l, &licences);
            }
            match &p.acquisition {
                Acquisition::Bought {
                    price, life_years, ..
                } => {
                    self.money(&format!("{at}.acquisition.price"), price, fx, "price");
                    self.within(
                        format!("{at}.acquisition.life_years"),
                        *life_years,
                        LIFE_YEARS,
                        "life_years",
                    );
                }
                Acquisition::Leased { rate, from, .. } => {
                    self.money(&format!("{at}.acquisition.rate"), rate, fx, "lease rate");
                    self.reference(format!("{at}.acquisition.from"), from, &entities);
                }
            }
            // Acquisition history: references resolve, countries are well formed, dates run
            // forward, and every entry says where the chips went.
            let mut last: Option<xpufleet_model::Date> = None;
            for (j, h) in p.history.iter().enumerate() {
                let ht = format!("{at}.history[{j}]");
                if let Some(prev) = last {
                    if h.date < prev {
                        self.err(
                            format!("{ht}.date"),
                            format!("history out of order: {} is before the previous entry's {prev}; expected oldest first", h.date),
                        );
                    }
                }
                last = Some(h.date);
                for (k, site) in [("from_site", &h.from_site), ("to_site", &h.to_site)] {
                    if let Some(x) = site {
                        self.reference(format!("{ht}.{k}"), x, &sites);
                    }
                }
                for (k, c) in [("from", &h.from), ("to", &h.to)] {
                    if let Some(x) = c {
                        self.country(format!("{ht}.{k}"), x);
                    }
                }
                if let Some(c) = &h.consignee {
                    self.reference(format!("{ht}.consignee"), c, &entities);
                }
                if let Some(l) = &h.licence {
                    self.reference(format!("{ht}.licence"), l, &licences);
                }
                if h.from.is_none() && h.from_site.is_none() {
                    self.err(
                        format!("{ht}.from"),
                        "expected the country the chips left (`from = \"US\"`) or the site (`from_site`)".into(),
                    );
                }
            }
        }

        // Money envelopes and supplier mix.
        self.unique_ids("envelope", s.envelopes.iter().map(|e| e.id.as_str()));
        for (i, e) in s.envelopes.iter().enumerate() {
            let at = format!("envelope[{i}]");
            self.money(&format!("{at}.budget"), &e.budget, fx, "budget");
            for (j, c) in e.scope.countries.iter().enumerate() {
                self.country(format!("{at}.scope.countries[{j}]"), c);
            }
        }
        self.unique_ids("supplier_mix", s.supplier_mix.iter().map(|m| m.id.as_str()));
        for (i, m) in s.supplier_mix.iter().enumerate() {
            let at = format!("supplier_mix[{i}]");
            self.reference(format!("{at}.envelope"), &m.envelope, &envelopes);
            self.country(format!("{at}.domestic_country"), &m.domestic_country);
            if !(0.0..=1.0).contains(&m.min_share) {
                self.err(
                    format!("{at}.min_share"),
                    format!(
                        "min_share is {}: expected a fraction from 0 to 1 (0.6 for 60%)",
                        m.min_share
                    ),
                );
            }
        }

        // Candidates.
        self.unique_ids("candidate", s.candidates.iter().map(|c| c.id.as_str()));
        for (i, c) in s.candidates.iter().enumerate() {
            let at = format!("candidate[{i}]");
            self.reference(format!("{at}.accelerator"), &c.accelerator, &accels);
            self.reference(format!("{at}.site"), &c.site, &sites);
            self.reference(format!("{at}.envelope"), &c.envelope, &envelopes);
            self.money(&format!("{at}.price"), &c.price, fx, "price");
            self.nonzero(
                format!("{at}.accels_per_node"),
                c.accels_per_node.into(),
                "accels_per_node",
            );
            if let Some(d) = c.scaleup_domain {
                self.scaleup(format!("{at}.scaleup_domain"), d, c.accels_per_node);
            }
            if let Some(n) = c.max_nodes {
                self.nonzero(format!("{at}.max_nodes"), n.into(), "max_nodes");
            }
            if let Some(l) = &c.lessor {
                self.reference(format!("{at}.lessor"), l, &entities);
            }
            for (j, l) in c.licences.iter().enumerate() {
                self.reference(format!("{at}.licences[{j}]"), l, &licences);
            }
        }
        self.candidate_times(s);
        self.periods(s, &envelopes);

        // Supply caps.
        self.unique_ids("supply_cap", s.supply_caps.iter().map(|c| c.id.as_str()));
        for (i, cap) in s.supply_caps.iter().enumerate() {
            let at = format!("supply_cap[{i}]");
            if let Some(a) = &cap.accelerator {
                self.reference(format!("{at}.accelerator"), a, &accels);
            }
            if let Some(v) = &cap.vendor {
                self.reference(format!("{at}.vendor"), v, &vendors);
            }
            match (&cap.vendor, &cap.accelerator) {
                (None, None) => self.err(
                    at,
                    "supply cap names neither `vendor` nor `accelerator`: expected one of them"
                        .into(),
                ),
                (Some(v), Some(a)) => {
                    if let Some(acc) = catalog.get(a) {
                        if &acc.vendor != v {
                            self.err(
                                format!("{at}.vendor"),
                                format!(
                                    "vendor {v:?} does not make {a:?} (made by {:?}): expected one of the two, or both agreeing",
                                    acc.vendor
                                ),
                            );
                        }
                    }
                }
                _ => {}
            }
        }

        // Licences.
        self.unique_ids("licence", s.licences.iter().map(|l| l.id.as_str()));
        for (i, l) in s.licences.iter().enumerate() {
            self.licence(&format!("licence[{i}]"), l, &entities, &accels, fx);
        }

        // Reviews.
        let targets = self.known(
            "pool or candidate",
            "pool",
            s.pools
                .iter()
                .map(|p| p.id.as_str())
                .chain(s.candidates.iter().map(|c| c.id.as_str())),
        );
        let mut targets = targets;
        if let Some(extra) = self.extra_ids.get("candidate") {
            targets.ids.extend(extra.iter().cloned());
        }
        self.unique_ids("review", s.reviews.iter().map(|r| r.id.as_str()));
        for (i, r) in s.reviews.iter().enumerate() {
            self.review(&format!("review[{i}]"), r, &entities, &targets);
        }

        // Jobs.
        self.unique_ids("job", s.jobs.iter().map(|j| j.id.as_str()));
        for (i, j) in s.jobs.iter().enumerate() {
            self.job(i, j, &accels, &entities);
        }

        // Services.
        self.unique_ids("service", s.services.iter().map(|v| v.id.as_str()));
        for (i, v) in s.services.iter().enumerate() {
            self.service(&format!("service[{i}]"), v, &accels, &entities);
        }
        self.id_charsets(s);
    }

    /// One licence: holder and accelerators known, countries well-formed, dates in order, an
    /// issuing authority. Shared by scenarios and what-if files.
    /// A candidate's lead time and lease window: a lead time is a whole number of days from 0 to
    /// ten years; `from` and `until` belong to leases and run forward.
    fn candidate_times(&mut self, s: &Scenario) {
        for (i, c) in s.candidates.iter().enumerate() {
            let at = format!("candidate[{i}]");
            if let Some(d) = c.lead_time_days {
                if !(0..=LEAD_TIME_DAYS_MAX).contains(&d) {
                    self.err(
                        format!("{at}.lead_time_days"),
                        format!("lead_time_days is {d}: expected whole days from 0 to {LEAD_TIME_DAYS_MAX}"),
                    );
                }
            }
            if c.mode != xpufleet_model::CandidateMode::Lease {
                for (k, d) in [("from", c.from), ("until", c.until)] {
                    if d.is_some() {
                        self.err(
                            format!("{at}.{k}"),
                            format!("`{k}` is a lease's window; candidate {} is bought: expected mode = \"lease\" or no `{k}`", c.id),
                        );
                    }
                }
            }
            if let (Some(f), Some(u)) = (c.from, c.until) {
                if u < f {
                    self.err(
                        format!("{at}.until"),
                        format!("the lease ends ({u}) before it starts ({f}): expected until on or after from"),
                    );
                }
            }
        }
    }

    /// `[[period]]` entries: unique ids, each ending on or after its start, in order without
    /// overlap, budgets naming known envelopes in their own currency, targets in range.
    fn periods(&mut self, s: &Scenario, envelopes: &Known) {
        self.unique_ids("period", s.periods.iter().map(|p| p.id.as_str()));
        let mut prev: Option<&xpufleet_model::Period> = None;
        for (i, p) in s.periods.iter().enumerate() {
            let at = format!("period[{i}]");
            if p.end < p.start {
                self.err(
                    format!("{at}.end"),
                    format!("the period ends ({}) before it starts ({}): expected end on or after start (end is the last day, inclusive)", p.end, p.start),
                );
            }
            if let Some(q) = prev {
                if p.start <= q.end {
                    let what = if p.start < q.start {
                        "out of order"
                    } else {
                        "overlaps"
                    };
                    self.err(
                        format!("{at}.start"),
                        format!(
                            "period {} {what} period {} ({} to {}): expected periods in order, each starting after the previous one's last day",
                            p.id, q.id, q.start, q.end
                        ),
                    );
                }
            }
            prev = Some(p);
            for (env, m) in &p.budgets {
                let bp = format!("{at}.budgets.{env}");
                self.reference(bp.clone(), env, envelopes);
                self.money(&bp, m, &s.fx, "budget");
                if let Some(e) = s.envelope(env) {
                    if e.budget.currency != m.currency {
                        self.err(
                            format!("{bp}.currency"),
                            format!(
                                "envelope {env} is in {}; found {}: expected the envelope's own currency",
                                e.budget.currency, m.currency
                            ),
                        );
                    }
                }
            }
            if let Some(t) = p.target_pflops {
                self.within(
                    format!("{at}.target_pflops"),
                    t,
                    TARGET_PFLOPS,
                    "target_pflops",
                );
            }
            for (svc, d) in &p.service_demand {
                if !(d.is_finite() && *d >= 0.0) {
                    self.err(
                        format!("{at}.service_demand.{svc}"),
                        format!("service demand is {d}: expected a non-negative number"),
                    );
                }
            }
            self.period_services(s, &at, p);
        }
    }

    /// A period's `services` (known service ids, token volumes in the range a `[[service]]`
    /// takes, some output) and its `service_growth` (a factor above 0 and at most 1000).
    fn period_services(&mut self, s: &Scenario, at: &str, p: &xpufleet_model::Period) {
        const TOKENS: Range = Range::from(
            0.0,
            xpufleet_perf::serving::MAX_TOKENS_PER_DAY,
            "tokens a day",
        );
        const GROWTH: Range = Range::above(0.0, 1000.0, "");
        for (id, d) in &p.services {
            let sp = format!("{at}.services.{id}");
            if !s.services.iter().any(|v| &v.id == id) {
                let known: Vec<&str> = s.services.iter().map(|v| v.id.as_str()).collect();
                self.err(
                    sp.clone(),
                    format!(
                        "unknown service {id:?}: expected the id of a [[service]] ({})",
                        if known.is_empty() {
                            "the scenario has none".to_string()
                        } else {
                            known.join(", ")
                        }
                    ),
                );
            }
            if d.output_tokens_per_day == 0.0 {
                self.err(
                    format!("{sp}.output_tokens_per_day"),
                    "output_tokens_per_day is 0: expected some output (a service answers)".into(),
                );
            } else {
                self.within(
                    format!("{sp}.output_tokens_per_day"),
                    d.output_tokens_per_day,
                    TOKENS,
                    "output_tokens_per_day",
                );
            }
            if let Some(x) = d.input_tokens_per_day {
                self.within(
                    format!("{sp}.input_tokens_per_day"),
                    x,
                    TOKENS,
                    "input_tokens_per_day",
                );
            }
        }
        if let Some(g) = p.service_growth {
            self.within(format!("{at}.service_growth"), g, GROWTH, "service_growth");
            if s.services.is_empty() {
                self.err(
                    format!("{at}.service_growth"),
                    "service_growth without a [[service]]: expected services to grow".into(),
                );
            }
        }
    }

    fn licence(
        &mut self,
        at: &str,
        l: &Licence,
        entities: &Known,
        accels: &Known,
        fx: &xpufleet_model::FxRates,
    ) {
        self.reference(format!("{at}.holder"), &l.holder, entities);
        for (j, a) in l.accelerators.iter().enumerate() {
            self.reference(format!("{at}.accelerators[{j}]"), a, accels);
        }
        for (j, c) in l.countries.iter().enumerate() {
            self.country(format!("{at}.countries[{j}]"), c);
        }
        if l.valid_until < l.valid_from {
            self.err(
                format!("{at}.valid_until"),
                format!(
                    "valid_until {} is before valid_from {}: expected a date on or after it",
                    l.valid_until, l.valid_from
                ),
            );
        }
        if let Some(n) = l.max_accels {
            self.nonzero(format!("{at}.max_accels"), n, "max_accels");
        }
        if let Some(n) = l.quantity {
            self.nonzero(format!("{at}.quantity"), n, "quantity");
        }
        if let Some(v) = &l.value {
            self.money(&format!("{at}.value"), v, fx, "value");
        }
        if l.authority.trim().is_empty() {
            self.err(
                format!("{at}.authority"),
                "empty authority: expected the issuing authority (\"US-BIS\")".into(),
            );
        }
    }

    /// One `[[service]]`: a model shape the serving model accepts, token volumes in range,
    /// request buckets whose shares add up to one, latency targets above zero, and tenant,
    /// accelerators and countries that exist.
    fn service(&mut self, at: &str, v: &xpufleet_model::Service, accels: &Known, entities: &Known) {
        const PARAMS: Range = Range::from(1e6, 1e14, "parameters");
        const TOKENS: Range = Range::from(
            0.0,
            xpufleet_perf::serving::MAX_TOKENS_PER_DAY,
            "tokens a day",
        );
        const LENGTH: Range = Range::above(0.0, 1e7, "tokens");
        const SHARE: Range = Range::above(0.0, 1.0, "");
        const PEAK: Range = Range::from(1.0, 100.0, "");
        const MS: Range = Range::above(0.0, 3.6e6, "ms");
        const KV: Range = Range::above(0.0, 1e9, "bytes");
        self.within(format!("{at}.params"), v.params, PARAMS, "params");
        if let Some(a) = v.active_params {
            if !(a.is_finite() && a > 0.0 && a <= v.params) {
                self.err(
                    format!("{at}.active_params"),
                    format!(
                        "active_params is {}: expected a number above 0 and at most params ({})",
                        show(a),
                        show(v.params)
                    ),
                );
            }
        }
        if let Some(k) = v.kv_bytes_per_token {
            self.within(
                format!("{at}.kv_bytes_per_token"),
                k,
                KV,
                "kv_bytes_per_token",
            );
        }
        for (field, n) in [
            ("n_layers", v.n_layers),
            ("d_model", v.d_model),
            ("kv_heads", v.kv_heads),
            ("head_dim", v.head_dim),
        ] {
            if let Some(n) = n {
                self.nonzero(format!("{at}.{field}"), u64::from(n), field);
            }
        }
        if (v.kv_heads.is_some() || v.head_dim.is_some())
            && !(v.kv_heads.is_some() && v.head_dim.is_some() && v.n_layers.is_some())
            && v.kv_bytes_per_token.is_none()
        {
            let field = if v.kv_heads.is_some() {
                "kv_heads"
            } else {
                "head_dim"
            };
            self.err(
                format!("{at}.{field}"),
                "an incomplete attention shape: expected n_layers, kv_heads and head_dim \
                 together (or kv_bytes_per_token)"
                    .into(),
            );
        }
        self.within(
            format!("{at}.input_tokens_per_day"),
            v.input_tokens_per_day,
            TOKENS,
            "input_tokens_per_day",
        );
        if v.output_tokens_per_day == 0.0 {
            self.err(
                format!("{at}.output_tokens_per_day"),
                "output_tokens_per_day is 0: expected some output (a service answers)".into(),
            );
        } else {
            self.within(
                format!("{at}.output_tokens_per_day"),
                v.output_tokens_per_day,
                TOKENS,
                "output_tokens_per_day",
            );
        }
        for (j, b) in v.buckets.iter().enumerate() {
            let bat = format!("{at}.bucket[{j}]");
            self.within(
                format!("{bat}.input_tokens"),
                b.input_tokens,
                LENGTH,
                "input_tokens",
            );
            self.within(
                format!("{bat}.output_tokens"),
                b.output_tokens,
                LENGTH,
                "output_tokens",
            );
            self.within(format!("{bat}.share"), b.share, SHARE, "share");
        }
        let total: f64 = v.buckets.iter().map(|b| b.share).sum();
        if !v.buckets.is_empty() && total.is_finite() && (total - 1.0).abs() > 1e-6 {
            self.err(
                format!("{at}.bucket"),
                format!(
                    "the bucket shares add up to {}: expected shares of the requests that add up to 1",
                    show(total)
                ),
            );
        }
        self.within(
            format!("{at}.peak_to_average"),
            v.peak_to_average,
            PEAK,
            "peak_to_average",
        );
        for (field, t) in [("ttft_ms", v.ttft_ms), ("tpot_ms", v.tpot_ms)] {
            if let Some(t) = t {
                self.within(format!("{at}.{field}"), t, MS, field);
            }
        }
        if let Some(t) = &v.tenant {
            self.reference(format!("{at}.tenant"), t, entities);
        }
        for (j, a) in v.allowed_accels.iter().enumerate() {
            self.reference(format!("{at}.allowed_accels[{j}]"), a, accels);
        }
        for (j, c) in v.data_countries.iter().enumerate() {
            self.country(format!("{at}.data_countries[{j}]"), c);
        }
    }

    fn review(&mut self, at: &str, r: &xpufleet_model::Review, entities: &Known, targets: &Known) {
        self.reference(format!("{at}.target"), &r.target, targets);
        if let Some(u) = &r.user {
            self.reference(format!("{at}.user"), u, entities);
        }
        if r.rules.is_empty() {
            self.err(
                format!("{at}.rules"),
                "no rules: expected the ids of the rules whose red flags the review covers \
                 (\"us-guidance-2025-05/gp10-prc-chips\")"
                    .into(),
            );
        }
        for (j, rule) in r.rules.iter().enumerate() {
            if !rule.contains('/') {
                self.err(
                    format!("{at}.rules[{j}]"),
                    format!(
                        "rule {rule:?} is not a full rule id: expected PACK/RULE as `check` \
                         prints it (\"us-guidance-2025-05/gp10-prc-chips\")"
                    ),
                );
            }
        }
        if r.reviewer.trim().is_empty() {
            self.err(
                format!("{at}.reviewer"),
                "empty reviewer: expected who decided (a person or role)".into(),
            );
        }
        if r.valid_until < r.date {
            self.err(
                format!("{at}.valid_until"),
                format!(
                    "valid_until {} is before the review's date {}: expected a date on or after it",
                    r.valid_until, r.date
                ),
            );
        }
    }

    /// A what-if file's changes, against the scenario and catalog they were applied to: as
    /// strict as the scenario's own entries (references, currencies, licences, accelerator
    /// figures). Numbers were range-checked when the file was parsed.
    fn what_if(&mut self, w: &WhatIf, s: &Scenario, catalog: &Catalog) {
        let entities = Known::new("entity", s.entities.iter().map(|e| e.id.as_str()));
        let accels = Known::new("accelerator", catalog.ids());
        let vendors = Known::new(
            "vendor",
            catalog.accelerators.iter().map(|a| a.vendor.as_str()),
        );
        for (i, p) in w.prices.iter().enumerate() {
            self.currency(
                format!("price[{i}].price.currency"),
                &p.price.currency,
                &s.fx,
            );
        }
        for (i, k) in w.supply_caps.iter().enumerate() {
            if let Some(a) = &k.accelerator {
                self.reference(format!("supply_cap[{i}].accelerator"), a, &accels);
            }
            if let Some(v) = &k.vendor {
                self.reference(format!("supply_cap[{i}].vendor"), v, &vendors);
            }
        }
        self.unique_ids("licence", w.licences.iter().map(|l| l.id.as_str()));
        for (i, l) in w.licences.iter().enumerate() {
            self.licence(&format!("licence[{i}]"), l, &entities, &accels, &s.fx);
        }
        let sources: BTreeSet<&str> = catalog.sources.keys().map(String::as_str).collect();
        self.accelerators(&w.accelerators, &sources);
    }

    fn plan(&mut self, p: &PlanSettings) {
        if !PLAN_OBJECTIVES.contains(&p.objective.as_str()) {
            self.err(
                "plan.objective".into(),
                format!(
                    "unknown objective {:?}: expected one of {}",
                    p.objective,
                    PLAN_OBJECTIVES.join(", ")
                ),
            );
        }
        self.within(
            "plan.horizon_days".into(),
            p.horizon_days,
            HORIZON_DAYS,
            "horizon_days",
        );
        if let Some(t) = p.target_pflops {
            self.within(
                "plan.target_pflops".into(),
                t,
                TARGET_PFLOPS,
                "target_pflops",
            );
        }
    }

    /// `[workload]`: a known generator, sizes a run can finish, tenants that exist.
    fn workload(&mut self, w: &xpufleet_model::WorkloadGen, entities: &Known) {
        use xpufleet_model::WorkloadGen;
        if w.generator != WorkloadGen::FLEET_MONTH {
            self.err(
                "workload.generator".into(),
                format!(
                    "unknown generator {:?}: expected {:?}",
                    w.generator,
                    WorkloadGen::FLEET_MONTH
                ),
            );
        }
        self.within(
            "workload.jobs".into(),
            f64::from(w.jobs),
            WORKLOAD_JOBS,
            "jobs",
        );
        self.within("workload.days".into(), w.days, WORKLOAD_DAYS, "days");
        self.within(
            "workload.utilisation_target".into(),
            w.utilisation_target,
            UTILISATION_TARGET,
            "utilisation_target",
        );
        for (i, t) in w.tenants.iter().enumerate() {
            self.reference(format!("workload.tenants[{i}]"), t, entities);
        }
    }

    fn job(&mut self, i: usize, j: &TrainingJob, accels: &Known, entities: &Known) {
        let at = format!("job[{i}]");
        if j.work().is_err() {
            // Point at the half that is missing when one of params/tokens is given.
            let path = match (j.params, j.tokens) {
                (Some(_), None) => format!("{at}.tokens"),
                (None, Some(_)) => format!("{at}.params"),
                _ => at.clone(),
            };
            self.err(
                path,
                "job lacks work: expected `flops`, or both `params` and `tokens`".into(),
            );
        }
        for (field, v, range) in [
            ("params", j.params, PARAMS),
            ("active_params", j.active_params, PARAMS),
            ("tokens", j.tokens, TOKENS),
            ("flops", j.flops, FLOPS),
        ] {
            if let Some(v) = v {
                self.within(format!("{at}.{field}"), v, range, field);
            }
        }
        if let (Some(a), Some(p)) = (j.active_params, j.params) {
            if a > p {
                self.err(
                    format!("{at}.active_params"),
                    format!("active_params {a:e} exceeds params {p:e}: expected at most the total"),
                );
            }
        }
        for (k, a) in j.allowed_accels.iter().enumerate() {
            self.reference(format!("{at}.allowed_accels[{k}]"), a, accels);
        }
        self.nonzero(
            format!("{at}.min_accels"),
            j.min_accels.into(),
            "min_accels",
        );
        if j.min_accels > j.max_accels {
            self.err(
                format!("{at}.max_accels"),
                format!(
                    "max_accels {} is below min_accels {}: expected max_accels >= min_accels",
                    j.max_accels, j.min_accels
                ),
            );
        }
        self.reference(format!("{at}.tenant"), &j.tenant, entities);
        for (k, c) in j.data_countries.iter().enumerate() {
            self.country(format!("{at}.data_countries[{k}]"), c);
        }
        for (field, v) in [
            ("n_layers", j.n_layers),
            ("seq_len", j.seq_len),
            ("d_model", j.d_model),
        ] {
            if let Some(v) = v {
                self.nonzero(format!("{at}.{field}"), v.into(), field);
            }
        }
        if j.submit_s > MAX_SECONDS {
            self.err(
                format!("{at}.submit_s"),
                format!(
                    "submit_s is {}: expected at most {MAX_SECONDS} (100 years)",
                    j.submit_s
                ),
            );
        }
        if let Some(d) = j.deadline_s {
            self.nonzero(format!("{at}.deadline_s"), d, "deadline_s");
            if d > MAX_SECONDS {
                self.err(
                    format!("{at}.deadline_s"),
                    format!("deadline_s is {d}: expected at most {MAX_SECONDS} (100 years)"),
                );
            }
        }
    }

    /// One diagnostic per distinct loop, at the `parent` of the loop's first entity in the file.
    fn parent_loops(&mut self, s: &Scenario) {
        let index: BTreeMap<&str, usize> = s
            .entities
            .iter()
            .enumerate()
            .rev() // The first definition wins for duplicated ids (reported separately).
            .map(|(i, e)| (e.id.as_str(), i))
            .collect();
        // Each entity is walked once (0: not seen, 1: on the walk now, 2: done), so a long
        // chain costs linear time, not a walk per entity with a search per step.
        let mut state = vec![0u8; s.entities.len()];
        let mut on_path: BTreeMap<usize, usize> = BTreeMap::new();
        for start in 0..s.entities.len() {
            let mut path: Vec<usize> = Vec::new();
            on_path.clear();
            let mut cur = Some(start);
            while let Some(i) = cur {
                if state[i] == 2 {
                    break;
                }
                if let Some(&pos) = on_path.get(&i) {
                    let ring: Vec<usize> = path[pos..].to_vec();
                    let first = *ring.iter().min().expect("a loop has a member");
                    // Rotate the chain to start at the reported entity.
                    let rot = ring.iter().position(|&k| k == first).unwrap_or(0);
                    let mut shown: Vec<&str> = ring[rot..]
                        .iter()
                        .chain(&ring[..rot])
                        .map(|&k| s.entities[k].id.as_str())
                        .collect();
                    shown.push(s.entities[first].id.as_str());
                    self.err(
                        format!("entity[{first}].parent"),
                        format!(
                            "parent chain loops: {}: expected a chain that ends at an entity without a parent",
                            shown.join(" -> ")
                        ),
                    );
                    break;
                }
                state[i] = 1;
                on_path.insert(i, path.len());
                path.push(i);
                cur = s.entities[i]
                    .parent
                    .as_deref()
                    .and_then(|p| index.get(p).copied());
            }
            for &i in &path {
                state[i] = 2;
            }
        }
    }

    /// Accelerator entries (a catalog file's, a scenario's or a what-if's own): ids, and each
    /// field an entry gives (countries, source keys, physical ranges). The fields an override
    /// leaves out are the listed entry's, checked where that entry was read.
    fn accelerators(&mut self, entries: &[AcceleratorEntry], sources: &BTreeSet<&str>) {
        self.unique_ids("accelerator", entries.iter().map(|a| a.id.as_str()));
        self.id_charset("accelerator", entries.iter().map(|a| a.id.as_str()));
        for (i, a) in entries.iter().enumerate() {
            let at = format!("accelerator[{i}]");
            if let Some(country) = &a.vendor_country {
                self.country(format!("{at}.vendor_country"), country);
            }
            if a.vendor.as_ref().is_some_and(|v| v.trim().is_empty()) {
                self.err(
                    format!("{at}.vendor"),
                    "empty vendor: expected the maker's name".into(),
                );
            }
            if a.chips_per_unit == Some(0) {
                self.err(
                    format!("{at}.chips_per_unit"),
                    "chips_per_unit is 0: expected 1 or more".into(),
                );
            }
            if let Some(y) = a.launch_year {
                if !(1990..=2100).contains(&y) {
                    self.err(
                        format!("{at}.launch_year"),
                        format!("launch_year {y}: expected a year from 1990 to 2100"),
                    );
                }
            }
            let unknown_key = |key: &str| {
                let known: Vec<&str> = sources.iter().copied().collect();
                format!(
                    "unknown source key {key:?}: expected one listed under [sources] ({})",
                    known.join(", ")
                )
            };
            if let Some(key) = &a.source {
                if !sources.contains(key.as_str()) {
                    self.err(format!("{at}.source"), unknown_key(key));
                }
            }
            for field in xpufleet_model::Accelerator::FIGURE_FIELDS {
                let Some(f) = a.figure(field) else { continue };
                if let Some(key) = &f.source {
                    if !sources.contains(key.as_str()) {
                        self.err(format!("{at}.{field}.source"), unknown_key(key));
                    }
                }
                if let (Some(v), Some(range)) = (f.value, figure_range(field)) {
                    if v != 0.0 {
                        self.within(format!("{at}.{field}"), v, range, field);
                    }
                }
                if f.value == Some(0.0) {
                    // Unknown is a real state, never a zero.
                    self.err(
                        format!("{at}.{field}"),
                        format!(
                            "{field} is 0: expected a positive figure, \"?\" for unknown or \"-\" for unsupported"
                        ),
                    );
                }
                if f.value.is_none() && f.confidence == Confidence::Estimate {
                    self.err(
                        format!("{at}.{field}"),
                        "an estimate without a value: expected `value`, or \"?\" for unknown"
                            .into(),
                    );
                }
            }
        }
    }
}

/// A physical range for a number in a scenario or catalog: `(lo, hi]`, or `[lo, hi]` when
/// `lo_inclusive`.
#[derive(Debug, Clone, Copy)]
pub struct Range {
    pub lo: f64,
    pub hi: f64,
    pub lo_inclusive: bool,
    /// The unit shown after the bounds ("" for none).
    pub unit: &'static str,
}

impl Range {
    const fn above(lo: f64, hi: f64, unit: &'static str) -> Range {
        Range {
            lo,
            hi,
            lo_inclusive: false,
            unit,
        }
    }

    const fn from(lo: f64, hi: f64, unit: &'static str) -> Range {
        Range {
            lo,
            hi,
            lo_inclusive: true,
            unit,
        }
    }

    /// False for NaN and infinities.
    pub fn contains(&self, v: f64) -> bool {
        v.is_finite()
            && v <= self.hi
            && if self.lo_inclusive {
                v >= self.lo
            } else {
                v > self.lo
            }
    }

    pub fn describe(&self) -> String {
        let unit = if self.unit.is_empty() {
            String::new()
        } else {
            format!(" {}", self.unit)
        };
        let (lo, hi) = (show(self.lo), show(self.hi));
        if self.lo_inclusive {
            format!("a number from {lo} to {hi}{unit}")
        } else {
            format!("a number above {lo} and at most {hi}{unit}")
        }
    }
}

/// Plain for everyday magnitudes, scientific for the rest.
fn show(v: f64) -> String {
    if v.is_finite() && v != 0.0 && !(1e-3..1e7).contains(&v.abs()) {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}

// Physical ranges. Generous on purpose: they exist to stop numbers no real fleet has (`1e308`,
// a PUE of 50) before they reach the solver or the simulator, not to second-guess a plan.
/// The best data centres run at ~1.05, old enterprise rooms at ~2.5 (Uptime Institute surveys).
pub const PUE: Range = Range::from(1.0, 4.0, "");
/// The largest campuses announced are a few GW.
pub const SITE_POWER_MW: Range = Range::above(0.0, 10_000.0, "MW");
/// From the weakest currency (~1e-6 USD) to far above the strongest (KWD ~3.3 USD).
pub const FX_USD_PER_UNIT: Range = Range::above(1e-9, 1e4, "USD per unit");
/// Any amount of money: a thousand times the largest capex plans.
pub const MONEY: Range = Range::from(0.0, 1e15, "");
pub const LIFE_YEARS: Range = Range::above(0.0, 50.0, "years");
/// Ten years, leap days included.
pub const HORIZON_DAYS: Range = Range::above(0.0, 3653.0, "days");
/// The longest lead time a candidate may give, in days (ten years).
pub const LEAD_TIME_DAYS_MAX: i64 = 3653;
/// 1e7 PFLOPS is 10 ZFLOPS, ~30x the example's 300k-accelerator fleet.
pub const TARGET_PFLOPS: Range = Range::above(0.0, 1e7, "PFLOPS");
/// Generated jobs: enough to fill a fleet with large gangs, few enough that `run` stays quick.
pub const WORKLOAD_JOBS: Range = Range::from(1.0, 10_000.0, "");
/// Arrivals over at most a year.
pub const WORKLOAD_DAYS: Range = Range::above(0.0, 366.0, "days");
/// A share of the fleet's accelerator-hours.
pub const UTILISATION_TARGET: Range = Range::above(0.0, 1.0, "");
/// Parameters: a thousand times the largest published models.
pub const PARAMS: Range = Range::above(0.0, 1e15, "");
pub const TOKENS: Range = Range::above(0.0, 1e17, "");
/// ~1e26 FLOP is today's frontier run; 1e28 takes the example fleet years.
pub const FLOPS: Range = Range::above(0.0, 1e28, "FLOP");
/// Seconds in 100 years: the longest deadline or duration anything accepts.
pub const MAX_SECONDS: u64 = 100 * 365 * 86_400;

/// The physical range of a catalog figure per unit (a unit may be a multi-chip board; a
/// wafer-scale part has ~46,000 mm² of die). `estimate --figure` checks its values by it too.
pub fn figure_range(field: &str) -> Option<Range> {
    Some(match field {
        "tflops_bf16" | "tflops_fp16" | "fp8_tflops" | "int8_tops" => {
            Range::above(0.0, 1e7, "TFLOPS")
        }
        "memory_gb" => Range::above(0.0, 1e6, "GB"),
        "memory_tbps" => Range::above(0.0, 1e4, "TB/s"),
        "interconnect_gbps" => Range::above(0.0, 1e7, "GB/s"),
        "power_w" => Range::above(0.0, 1e6, "W"),
        "die_mm2" => Range::above(0.0, 1e5, "mm²"),
        "price_usd" => Range::above(0.0, 1e9, "USD"),
        _ => return None,
    })
}

/// `u32::is_multiple_of` is newer than the workspace's rust-version (1.80).
#[allow(clippy::manual_is_multiple_of)]
fn is_multiple(n: u32, of: u32) -> bool {
    n % of == 0
}

fn fx_list(fx: &xpufleet_model::FxRates) -> String {
    let mut v: Vec<&str> = vec!["USD"];
    v.extend(fx.usd_per_unit.keys().map(Currency::as_str));
    v.join(", ")
}

/// Ids in the documented character set (`xpufleet_model::id`): every id of a scenario's lists
/// can reach an export (a Slurm line, a Kubernetes label, a comment), so one that could change
/// what the export means (a line break, `#`, `:`, a quote, ...) is refused here, at input.
impl Checker<'_> {
    /// Each id of `list` that is not in the character set, reported at the id. Empty ids are
    /// reported by `unique_ids`.
    fn id_charset<'s>(&mut self, list: &str, ids: impl IntoIterator<Item = &'s str>) {
        for (i, id) in ids.into_iter().enumerate() {
            if id.trim().is_empty() {
                continue;
            }
            if let Some(problem) = xpufleet_model::id_problem(id) {
                self.err(
                    format!("{list}[{i}].id"),
                    format!(
                        "id {id:?} is not allowed: {problem}: expected {}",
                        xpufleet_model::ID_RULE
                    ),
                );
            }
        }
    }

    /// The ids of every list of a scenario (its own accelerators are checked with them in
    /// `accelerators`).
    fn id_charsets(&mut self, s: &Scenario) {
        self.id_charset("entity", s.entities.iter().map(|e| e.id.as_str()));
        self.id_charset("site", s.sites.iter().map(|x| x.id.as_str()));
        self.id_charset("pool", s.pools.iter().map(|p| p.id.as_str()));
        self.id_charset("envelope", s.envelopes.iter().map(|e| e.id.as_str()));
        self.id_charset("supplier_mix", s.supplier_mix.iter().map(|m| m.id.as_str()));
        self.id_charset("candidate", s.candidates.iter().map(|c| c.id.as_str()));
        self.id_charset("supply_cap", s.supply_caps.iter().map(|c| c.id.as_str()));
        self.id_charset("licence", s.licences.iter().map(|l| l.id.as_str()));
        self.id_charset("job", s.jobs.iter().map(|j| j.id.as_str()));
        self.id_charset("service", s.services.iter().map(|v| v.id.as_str()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{load_scenario, parse_scenario, EXAMPLE_SCENARIO};
    use proptest::prelude::*;

    /// Parses and validates a scenario text against the built-in catalog, as `check_scenario`
    /// does for a file.
    fn diagnose(text: &str) -> Diagnostics {
        let r = crate::scenario::scenario_from_text(
            "t.toml".into(),
            text.to_string(),
            None,
            crate::builtin_catalog(),
        );
        match r {
            Ok(ls) => validate(&ls),
            Err((mut d, partial)) => {
                if let Some(p) = partial {
                    d.extend(validate_partial(&p));
                }
                d.sort();
                d
            }
        }
    }

    #[test]
    fn acquisition_history_errors_are_located() {
        let line = "date = 2022-09-01, life_years = 4 }\n";
        assert!(EXAMPLE_SCENARIO.contains(line));
        let text = EXAMPLE_SCENARIO.replacen(
            line,
            &format!(
                "{line}[[pool.history]]\ndate = 2022-09-01\nkind = \"export\"\nfrom = \"us\"\nto_site = \"nowhere\"\nlicence = \"lic-x\"\n\n[[pool.history]]\ndate = 2022-08-01\nkind = \"move\"\nconsignee = \"nobody\"\n"
            ),
            1,
        );
        let d = diagnose(&text);
        let s = d.to_string();
        for want in [
            "pool[0].history[0].from: malformed country code \"us\"",
            "pool[0].history[0].to_site: unknown site \"nowhere\"",
            "pool[0].history[0].licence: unknown licence \"lic-x\"",
            "pool[0].history[1].date: history out of order",
            "pool[0].history[1].consignee: unknown entity \"nobody\"",
            "pool[0].history[1].from: expected the country the chips left",
        ] {
            assert!(s.contains(want), "missing {want:?} in:\n{s}");
        }
        // Each error points at a line inside the history entries.
        assert!(d.0.iter().all(|x| x.line.is_some()), "{s}");
        // And the entry is optional: the example itself validates.
        assert!(diagnose(EXAMPLE_SCENARIO).is_empty());
    }

    #[test]
    fn issue_22_service_errors_are_located() {
        let n = crate::parse_scenario(EXAMPLE_SCENARIO, "example")
            .unwrap()
            .services
            .len();
        let ok = "\n[[service]]\nid = \"chat-t\"\nparams = 70e9\ninput_tokens_per_day = 1e9\noutput_tokens_per_day = 2e8\ntpot_ms = 50\ndata_countries = [\"CN\"]\n[[service.bucket]]\ninput_tokens = 500\noutput_tokens = 200\nshare = 0.5\n[[service.bucket]]\ninput_tokens = 4000\noutput_tokens = 400\nshare = 0.5\n";
        let text = format!("{EXAMPLE_SCENARIO}{ok}");
        assert!(diagnose(&text).is_empty(), "{}", diagnose(&text));
        let bad = "\n[[service]]\nid = \"chat t\"\nparams = 70e9\nactive_params = 80e9\nkv_heads = 8\ninput_tokens_per_day = -1\noutput_tokens_per_day = 0\npeak_to_average = 0.5\nttft_ms = 0\ntenant = \"nobody\"\nallowed_accels = [\"h999\"]\ndata_countries = [\"china\"]\n[[service.bucket]]\ninput_tokens = 500\noutput_tokens = 200\nshare = 0.7\n";
        let d = diagnose(&format!("{text}{bad}"));
        let s = d.to_string();
        let at = format!("service[{}]", n + 1);
        for want in [
            format!("{at}.id: id \"chat t\" is not allowed"),
            format!("{at}.active_params: active_params is 8e10: expected"),
            format!("{at}.kv_heads: an incomplete attention shape"),
            format!("{at}.input_tokens_per_day: input_tokens_per_day is -1: expected"),
            format!("{at}.output_tokens_per_day: output_tokens_per_day is 0"),
            format!("{at}.bucket: the bucket shares add up to 0.7"),
            format!("{at}.peak_to_average: peak_to_average is 0.5"),
            format!("{at}.ttft_ms: ttft_ms is 0"),
            format!("{at}.tenant: unknown entity \"nobody\""),
            format!("{at}.allowed_accels[0]: unknown accelerator \"h999\""),
            format!("{at}.data_countries[0]: malformed country code \"china\""),
        ] {
            assert!(s.contains(&want), "missing {want:?} in:\n{s}");
        }
        assert!(d.0.iter().all(|x| x.line.is_some()), "{s}");
        // A field the service does not have is a type error at the entry, not ignored.
        let d = diagnose(&format!(
            "{EXAMPLE_SCENARIO}{}",
            ok.replace("tpot_ms", "tpot_msec")
        ));
        assert!(d.to_string().contains("unknown field `tpot_msec`"), "{d}");
    }

    #[test]
    fn issue_24_review_errors_are_located() {
        let ok = "\n[[review]]\nid = \"rev-1\"\ntarget = \"cn-910b\"\nuser = \"acme-ai\"\nrules = [\"us-guidance-2025-05/ascend-gp10\"]\ndecision = \"cleared\"\nreviewer = \"officer\"\ndate = 2025-05-20\nevidence = \"memo 7\"\nvalid_until = 2025-11-20\n";
        let text = format!("{EXAMPLE_SCENARIO}{ok}");
        assert!(diagnose(&text).is_empty(), "{}", diagnose(&text));
        let bad = "\n[[review]]\nid = \"rev-1\"\ntarget = \"nowhere\"\nuser = \"nobody\"\nrules = [\"gp10\"]\ndecision = \"cleared\"\nreviewer = \" \"\ndate = 2025-05-20\nvalid_until = 2025-05-01\n";
        let d = diagnose(&format!("{text}{bad}"));
        let s = d.to_string();
        for want in [
            "review[1].id: duplicate id \"rev-1\"",
            "review[1].target: unknown pool or candidate \"nowhere\"",
            "review[1].user: unknown entity \"nobody\"",
            "review[1].rules[0]: rule \"gp10\" is not a full rule id",
            "review[1].reviewer: empty reviewer",
            "review[1].valid_until: valid_until 2025-05-01 is before the review's date",
        ] {
            assert!(s.contains(want), "missing {want:?} in:\n{s}");
        }
        assert!(d.0.iter().all(|x| x.line.is_some()), "{s}");
        // A decision outside the three is a type error at the entry.
        let d = diagnose(&format!(
            "{EXAMPLE_SCENARIO}{}",
            ok.replace("cleared", "ok")
        ));
        assert!(d.to_string().contains("unknown variant `ok`"), "{d}");
    }

    /// One malformed variant of the example: replace the first `from` with `to` (or append
    /// `to` when `from` is empty); expect a diagnostic at `field` (empty: none) whose message
    /// holds `message`, located where the text `at` begins.
    struct Case {
        from: &'static str,
        to: &'static str,
        field: &'static str,
        message: &'static str,
        at: &'static str,
    }

    const fn case(
        from: &'static str,
        to: &'static str,
        field: &'static str,
        message: &'static str,
        at: &'static str,
    ) -> Case {
        Case {
            from,
            to,
            field,
            message,
            at,
        }
    }

    #[rustfmt::skip]
    const CASES: &[Case] = &[
        // Syntax (located by the TOML parser).
        case("name = \"capex-2025\"", "name = capex-2025", "", "", "capex"),
        case("[fx]", "[fx", "", "", ""),
        // Types.
        case("nodes = 256", "nodes = -3", "pool[0].nodes", "invalid value: integer `-3`, expected a whole number from 0 to", "-3"),
        case("nodes = 256", "nodes = \"many\"", "pool[0].nodes", "expected a whole number", "\"many\""),
        case("pue = 1.2", "pue = \"low\"", "site[0].pue", "expected a number", "\"low\""),
        case("pue = 1.2", "pue = 1.2\npuee = 3", "site[0].puee", "unknown field `puee`", "puee"),
        case("id = \"cn-a800\"\nsite = \"cn-ulanqab\"\n", "id = \"cn-a800\"\n", "pool[0].site", "missing field `site`", "[[pool]]"),
        case("date = 2025-03-01", "date = \"March\"", "date", "expected a date as YYYY-MM-DD", "\"March\""),
        case("min_accels = 1024", "min_accels = \"lots\"", "job[0].min_accels", "expected a whole number", "\"lots\""),
        case("tenure = \"owned\"", "tenure = \"rented\"", "site[0].tenure", "unknown variant `rented`", "\"rented\""),
        case("max_accels = 60000", "max_accels = -1", "supply_cap[0].max_accels", "expected a whole number of 0 or more", "-1"),
        // Unknown accelerator, in each place one is named.
        case("accelerator = \"a800-sxm\"", "accelerator = \"a900\"", "pool[0].accelerator", "unknown accelerator \"a900\": expected one of a100-sxm-80gb", "\"a900\""),
        case("accelerator = \"h20\"\nsite", "accelerator = \"h21\"\nsite", "candidate[0].accelerator", "unknown accelerator \"h21\"", "\"h21\""),
        case("allowed_accels = [\"h100-sxm\", \"h200-sxm\", \"b200\"]\nmin_accels = 2048", "allowed_accels = [\"h100-sxm\", \"h300\", \"b200\"]\nmin_accels = 2048", "job[1].allowed_accels[1]", "unknown accelerator \"h300\"", "\"h300\""),
        case("accelerator = \"ascend-910c\"\nmax_accels", "accelerator = \"ascend-910x\"\nmax_accels", "supply_cap[1].accelerator", "unknown accelerator \"ascend-910x\"", "\"ascend-910x\""),
        case("accelerators = [\"h100-sxm\", \"h200-sxm\", \"b200\"]", "accelerators = [\"h100-sxm\", \"h200-sxm\", \"b300\"]", "licence[0].accelerators[2]", "unknown accelerator \"b300\"", "\"b300\""),
        // Unknown site.
        case("site = \"cn-ulanqab\"", "site = \"cn-nowhere\"", "pool[0].site", "unknown site \"cn-nowhere\": expected one of cn-ulanqab, cn-wuhu, my-cyberjaya, my-johor", "\"cn-nowhere\""),
        case("site = \"cn-wuhu\"\nmode = \"buy\"\n# $12", "site = \"cn-wuhu2\"\nmode = \"buy\"\n# $12", "candidate[0].site", "unknown site \"cn-wuhu2\"", "\"cn-wuhu2\""),
        // Unknown entity, in each place one is named.
        case("company = \"acme-ai\"", "company = \"acme\"", "company", "unknown entity \"acme\": expected one of acme-ai, acme-my, acme-sg, johor-dc, sg-neocloud", "\"acme\""),
        case("owner = \"acme-ai\"", "owner = \"acme\"", "site[0].owner", "unknown entity \"acme\"", "\"acme\""),
        case("operator = \"johor-dc\"\npower_mw = 120", "operator = \"johor\"\npower_mw = 120", "site[2].operator", "unknown entity \"johor\"", "\"johor\""),
        case("entity = \"johor-dc\"\nverified_by = \"External auditor (example)\"\ndate = 2024-10-01\nevidence = \"AUDIT-JDC-2024-44\"", "entity = \"jdc\"\nverified_by = \"External auditor (example)\"\ndate = 2024-10-01\nevidence = \"AUDIT-JDC-2024-44\"", "site[2].verification[0].entity", "unknown entity \"jdc\"", "\"jdc\""),
        case("ultimate_parent = \"acme-ai\"", "ultimate_parent = \"acme-top\"", "site[0].verification[0].ultimate_parent", "unknown entity \"acme-top\"", "\"acme-top\""),
        case("parent = \"acme-ai\"", "parent = \"acme-x\"", "entity[1].parent", "unknown entity \"acme-x\"", "\"acme-x\""),
        case("lessor = \"johor-dc\"", "lessor = \"jdc\"", "candidate[6].lessor", "unknown entity \"jdc\"", "\"jdc\""),
        case("tenant = \"acme-sg\"", "tenant = \"acme-uk\"", "job[1].tenant", "unknown entity \"acme-uk\"", "\"acme-uk\""),
        case("holder = \"johor-dc\"", "holder = \"jdc\"", "licence[0].holder", "unknown entity \"jdc\"", "\"jdc\""),
        case("owner = \"johor-dc\"\n# ~$2", "owner = \"jdc\"\n# ~$2", "pool[3].owner", "unknown entity \"jdc\"", "\"jdc\""),
        case("from = \"johor-dc\"", "from = \"jdc\"", "pool[3].acquisition.from", "unknown entity \"jdc\"", "\"jdc\""),
        // Duplicate ids, in every list.
        case("id = \"acme-sg\"", "id = \"acme-ai\"", "entity[1].id", "duplicate id \"acme-ai\" (first defined on line 32)", "\"acme-ai\""),
        case("id = \"cn-wuhu\"", "id = \"cn-ulanqab\"", "site[1].id", "duplicate id \"cn-ulanqab\"", "\"cn-ulanqab\""),
        case("id = \"cn-h20\"", "id = \"cn-a800\"", "pool[1].id", "duplicate id \"cn-a800\"", "\"cn-a800\""),
        case("id = \"abroad\"", "id = \"cn-chips\"", "envelope[1].id", "duplicate id \"cn-chips\"", "\"cn-chips\""),
        case("", "\n[[supplier_mix]]\nid = \"cn-domestic-60\"\nenvelope = \"cn-chips\"\ndomestic_country = \"CN\"\nmin_share = 0.5\n", "supplier_mix[1].id", "duplicate id \"cn-domestic-60\"", "\"cn-domestic-60\""),
        case("id = \"cn-910b-buy\"", "id = \"cn-h20-buy\"", "candidate[1].id", "duplicate id \"cn-h20-buy\"", "\"cn-h20-buy\""),
        case("id = \"910c-2025\"", "id = \"huawei-2025\"", "supply_cap[1].id", "duplicate id \"huawei-2025\"", "\"huawei-2025\""),
        case("", "\n[[licence]]\nid = \"my-stp-jdc-2025\"\nauthority = \"US-BIS\"\nholder = \"acme-ai\"\nvalid_from = 2025-01-01\nvalid_until = 2025-12-31\n", "licence[1].id", "duplicate id \"my-stp-jdc-2025\"", "\"my-stp-jdc-2025\""),
        case("id = \"ablation-1b-b\"", "id = \"ablation-1b-a\"", "job[7].id", "duplicate id \"ablation-1b-a\"", "\"ablation-1b-a\""),
        case("", "\n[[accelerator]]\nid = \"x1\"\nvendor = \"V\"\nvendor_country = \"US\"\nname = \"X1\"\nfamily = \"hopper\"\n\n[[accelerator]]\nid = \"x1\"\nvendor = \"V\"\nvendor_country = \"US\"\nname = \"X1 again\"\nfamily = \"hopper\"\n", "accelerator[1].id", "duplicate id \"x1\"", "\"x1\""),
        // Unknown envelope and licence ids.
        case("envelope = \"cn-chips\"\ndomestic_country", "envelope = \"cn-chip\"\ndomestic_country", "supplier_mix[0].envelope", "unknown envelope \"cn-chip\": expected one of abroad, cn-chips", "\"cn-chip\""),
        case("envelope = \"abroad\"\naccels_per_node = 8\nlessor", "envelope = \"overseas\"\naccels_per_node = 8\nlessor", "candidate[6].envelope", "unknown envelope \"overseas\"", "\"overseas\""),
        case("scaleup_domain = 8\n# Kept for the training jobs: the", "scaleup_domain = 8\nlicences = [\"lic-x\"]\n# Bought", "pool[0].licences[0]", "unknown licence \"lic-x\": expected one of my-stp-jdc-2025", "\"lic-x\""),
        case("lessor = \"johor-dc\"\n", "lessor = \"johor-dc\"\nlicences = [\"my-stp-jdc-2025\", \"nope\"]\n", "candidate[6].licences[1]", "unknown licence \"nope\"", "\"nope\""),
        // Currencies without an FX rate, in every kind of money; malformed codes and rates.
        case("currency = \"MYR\" }", "currency = \"EUR\" }", "site[2].electricity_per_kwh.currency", "no FX rate for EUR: expected `EUR = <USD per unit>` under [fx] (rates given: USD, CNY, MYR)", "\"EUR\""),
        case("price = { amount = 100000, currency = \"CNY\" }", "price = { amount = 100000, currency = \"JPY\" }", "pool[0].acquisition.price.currency", "no FX rate for JPY", "\"JPY\""),
        case("rate = { amount = 2.0, currency = \"USD\" }", "rate = { amount = 2.0, currency = \"SGD\" }", "pool[3].acquisition.rate.currency", "no FX rate for SGD", "\"SGD\""),
        case("budget = { amount = 6.8e9, currency = \"USD\" }", "budget = { amount = 6.8e9, currency = \"EUR\" }", "envelope[1].budget.currency", "no FX rate for EUR", "\"EUR\""),
        case("price = { amount = 90000, currency = \"CNY\" }", "price = { amount = 90000, currency = \"HKD\" }", "candidate[0].price.currency", "no FX rate for HKD", "\"HKD\""),
        case("price = { amount = 90000, currency = \"CNY\" }", "price = { amount = 90000, currency = \"cny\" }", "candidate[0].price.currency", "malformed currency code \"cny\": expected three upper-case letters", "\"cny\""),
        case("CNY = 0.1389", "CNY = 0", "fx.CNY", "FX rate (USD per unit) is 0: expected a number above 1e-9", "0"),
        case("CNY = 0.1389", "CNY = 0.1389\nRMB_ = 0.14", "fx.RMB_", "malformed currency code \"RMB_\"", "0.14"),
        // Parent chains that loop.
        case("hq_country = \"CN\"\n\n[[entity]]\nid = \"acme-sg\"", "hq_country = \"CN\"\nparent = \"acme-my\"\n\n[[entity]]\nid = \"acme-sg\"", "entity[0].parent", "parent chain loops: acme-ai -> acme-my -> acme-sg -> acme-ai", "\"acme-my\""),
        case("id = \"sg-neocloud\"\nname = \"Lion City GPU Cloud (example lessor)\"\nhq_country = \"SG\"", "id = \"sg-neocloud\"\nname = \"Lion City GPU Cloud (example lessor)\"\nhq_country = \"SG\"\nparent = \"sg-neocloud\"", "entity[4].parent", "parent chain loops: sg-neocloud -> sg-neocloud", "\"sg-neocloud\""),
        // Counts and values that make no sense.
        case("nodes = 256", "nodes = 0", "pool[0].nodes", "nodes is 0: expected 1 or more", "0"),
        case("accels_per_node = 8\nscaleup_domain = 8\n# Kept for the training jobs: the", "accels_per_node = 0\nscaleup_domain = 8\n# Kept for the training jobs: the", "pool[0].accels_per_node", "accels_per_node is 0", "0"),
        case("scaleup_domain = 8\n# Kept for the training jobs: the", "scaleup_domain = 12\n# Kept for the training jobs: the", "pool[0].scaleup_domain", "scaleup_domain 12 is not a multiple of accels_per_node 8", "12"),
        case("scaleup_domain = 8\n# Kept for the training jobs: the", "scaleup_domain = 0\n# Kept for the training jobs: the", "pool[0].scaleup_domain", "scaleup_domain is 0", "0"),
        case("scaleup_domain = 384", "scaleup_domain = 380", "candidate[2].scaleup_domain", "not a multiple of accels_per_node 8", "380"),
        case("max_nodes = 1500", "max_nodes = 0", "candidate[8].max_nodes", "max_nodes is 0", "0"),
        case("pue = 1.2", "pue = 0.9", "site[0].pue", "pue (facility power / IT power) is 0.9: expected a number from 1 to 4", "0.9"),
        // Issue 17: unknown keys inside inline tables are refused, like those of any table.
        case("price = { amount = 100000, currency = \"CNY\" }", "price = { amount = 100000, currency = \"CNY\", vat = 0.2 }", "pool[0].acquisition.vat", "unknown field `vat`, expected `amount` or `currency`", "{ kind"),
        case("electricity_per_kwh = { amount = 0.35, currency = \"CNY\" }", "electricity_per_kwh = { amount = 0.35, curency = \"CNY\" }", "site[0].electricity_per_kwh.curency", "unknown field `curency`", "curency"),
        // Issue 17: numbers no fleet has are stopped here, with the range, before the solver.
        case("pue = 1.2", "pue = 1e308", "site[0].pue", "pue (facility power / IT power) is 1e308: expected a number from 1 to 4", "1e308"),
        case("pue = 1.2", "pue = nan", "site[0].pue", "is NaN: expected a number from 1 to 4", "nan"),
        case("power_mw = 150", "power_mw = inf", "site[0].power_mw", "power_mw is inf: expected a number above 0 and at most 10000 MW", "inf"),
        case("horizon_days = 365", "horizon_days = 36500", "plan.horizon_days", "horizon_days is 36500: expected a number above 0 and at most 3653 days", "36500"),
        case("params = 70e9", "params = 1e300", "job[0].params", "params is 1e300: expected a number above 0 and at most 1e15", "1e300"),
        case("flops = 5e22", "flops = 1e30", "job[5].flops", "flops is 1e30: expected a number above 0 and at most 1e28 FLOP", "1e30"),
        case("CNY = 0.1389", "CNY = 1e300", "fx.CNY", "FX rate (USD per unit) is 1e300: expected a number above 1e-9 and at most 10000 USD per unit", "1e300"),
        case("amount = 100000, currency", "amount = 1e300, currency", "pool[0].acquisition.price.amount", "price is 1e300: expected a finite amount from 0 to 1e15", "1e300"),
        case("life_years = 4 }", "life_years = 1e9 }", "pool[0].acquisition.life_years", "life_years is 1e9: expected a number above 0 and at most 50 years", "1e9"),
        case("", EXTRA_ACCEL_HUGE_POWER, "accelerator[0].power_w", "power_w is 1e308: expected a number above 0 and at most 1000000 W", "1e308"),
        case("", EXTRA_ACCEL_NEGATIVE, "accelerator[0].tflops_bf16", "expected a finite, non-negative figure, found -5", "-5"),
        case("power_mw = 150", "power_mw = 0", "site[0].power_mw", "power_mw is 0: expected a number above 0", "0"),
        case("power_mw = 150", "power_mw = -5.0", "site[0].power_mw", "power_mw is -5", "-5.0"),
        case("min_accels = 1024\nmax_accels = 4096", "min_accels = 8192\nmax_accels = 4096", "job[0].max_accels", "max_accels 4096 is below min_accels 8192", "4096"),
        case("min_accels = 1024", "min_accels = 0", "job[0].min_accels", "min_accels is 0", "0"),
        case("min_share = 0.6", "min_share = 1.5", "supplier_mix[0].min_share", "min_share is 1.5: expected a fraction from 0 to 1", "1.5"),
        case("min_share = 0.6", "min_share = -0.1", "supplier_mix[0].min_share", "min_share is -0.1", "-0.1"),
        case("valid_until = 2025-11-30", "valid_until = 2024-01-01", "site[0].verification[0].valid_until", "valid_until 2024-01-01 is before the verification date 2024-12-01", "2024-01-01"),
        case("valid_until = 2026-07-19", "valid_until = 2025-01-01", "licence[0].valid_until", "valid_until 2025-01-01 is before valid_from 2025-07-20", "2025-01-01"),
        case("params = 70e9\ntokens = 2e12\n", "params = 70e9\n", "job[0].tokens", "job lacks work: expected `flops`, or both `params` and `tokens`", "[[job]]"),
        case("flops = 5e22\n", "", "job[5]", "job lacks work", "[[job]]"),
        case("params = 70e9", "params = -70e9", "job[0].params", "params is -7e10: expected a number above 0", "-70e9"),
        case("active_params = 37e9", "active_params = 500e9", "job[1].active_params", "active_params 5e11 exceeds params 4e11", "500e9"),
        case("amount = 100000, currency", "amount = -1, currency", "pool[0].acquisition.price.amount", "price is -1: expected a finite amount from 0 to 1e15", "-1"),
        case("life_years = 4 }", "life_years = 0 }", "pool[0].acquisition.life_years", "life_years is 0", "0"),
        case("id = \"cambricon-2025\"\nvendor = \"Cambricon\"\n", "id = \"cambricon-2025\"\n", "supply_cap[2]", "names neither `vendor` nor `accelerator`", "[[supply_cap]]"),
        case("vendor = \"Huawei\"", "vendor = \"Huwei\"", "supply_cap[0].vendor", "unknown vendor \"Huwei\": expected one of Cambricon, Huawei, Nvidia", "\"Huwei\""),
        case("id = \"johor-b200\"\n", "id = \"johor-b200\"\nvendor = \"Huawei\"\n", "supply_cap[3].vendor", "vendor \"Huawei\" does not make \"b200\"", "\"Huawei\""),
        // Malformed codes.
        case("country = \"CN\"\nregion = \"Inner Mongolia\"", "country = \"China\"\nregion = \"Inner Mongolia\"", "site[0].country", "malformed country code \"China\": expected two upper-case letters", "\"China\""),
        case("hq_country = \"SG\"\nparent", "hq_country = \"sg\"\nparent", "entity[1].hq_country", "malformed country code \"sg\"", "\"sg\""),
        case("data_countries = [\"MY\", \"SG\"]", "data_countries = [\"MY\", \"SGP\"]", "job[1].data_countries[1]", "malformed country code \"SGP\"", "\"SGP\""),
        case("countries = [\"CN\"], modes", "countries = [\"C\"], modes", "envelope[0].scope.countries[0]", "malformed country code \"C\"", "\"C\""),
        case("domestic_country = \"CN\"", "domestic_country = \"PRC\"", "supplier_mix[0].domestic_country", "malformed country code \"PRC\"", "\"PRC\""),
        case("countries = [\"MY\"]\nvalid_from", "countries = [\"my\"]\nvalid_from", "licence[0].countries[0]", "malformed country code \"my\"", "\"my\""),
        // Plan settings and the scenario's own accelerators.
        case("objective = \"max-compute\"", "objective = \"fastest\"", "plan.objective", "unknown objective \"fastest\": expected one of max-compute, min-cost, compute-per-dollar", "\"fastest\""),
        case("horizon_days = 365", "horizon_days = 0", "plan.horizon_days", "horizon_days is 0", "0"),
        // Issue 17: the generated workload, located like every other section.
        case("generator = \"fleet-month\"", "generator = \"philly\"", "workload.generator", "unknown generator \"philly\": expected \"fleet-month\"", "\"philly\""),
        case("jobs = 48", "jobs = 0", "workload.jobs", "jobs is 0: expected a number from 1 to 10000", "0"),
        case("jobs = 48", "jobs = 1000000", "workload.jobs", "jobs is 1000000: expected a number from 1 to 10000", "1000000"),
        case("days = 30", "days = 0", "workload.days", "days is 0: expected a number above 0 and at most 366 days", "0"),
        case("utilisation_target = 0.6", "utilisation_target = 1.5", "workload.utilisation_target", "utilisation_target is 1.5: expected a number above 0 and at most 1", "1.5"),
        case("utilisation_target = 0.6", "utilisation_target = 0.6\ntenants = [\"acme-ai\", \"nobody\"]", "workload.tenants[1]", "unknown entity \"nobody\"", "\"nobody\""),
        case("utilisation_target = 0.6", "utilisation_target = 0.6\nburst = true", "workload.burst", "unknown field `burst`", "burst"),
        case("", EXTRA_ACCEL_BAD_SOURCE, "accelerator[0].tflops_bf16.source", "unknown source key \"ZZ\": expected one listed under [sources]", "\"ZZ\""),
        case("", EXTRA_ACCEL_ZERO, "accelerator[0].power_w", "power_w is 0: expected a positive figure", "0"),
        case("", EXTRA_ACCEL_BAD_COUNTRY, "accelerator[0].vendor_country", "malformed country code \"USA\"", "\"USA\""),
    ];

    const EXTRA_ACCEL_BAD_SOURCE: &str = "\n[[accelerator]]\nid = \"x1\"\nvendor = \"V\"\nvendor_country = \"US\"\nname = \"X1\"\nfamily = \"hopper\"\ntflops_bf16 = { value = 100, source = \"ZZ\" }\n";
    const EXTRA_ACCEL_ZERO: &str = "\n[[accelerator]]\nid = \"x1\"\nvendor = \"V\"\nvendor_country = \"US\"\nname = \"X1\"\nfamily = \"hopper\"\npower_w = 0\n";
    const EXTRA_ACCEL_HUGE_POWER: &str = "\n[[accelerator]]\nid = \"x1\"\nvendor = \"V\"\nvendor_country = \"US\"\nname = \"X1\"\nfamily = \"hopper\"\npower_w = 1e308\n";
    const EXTRA_ACCEL_NEGATIVE: &str = "\n[[accelerator]]\nid = \"x1\"\nvendor = \"V\"\nvendor_country = \"US\"\nname = \"X1\"\nfamily = \"hopper\"\ntflops_bf16 = -5\n";
    const EXTRA_ACCEL_BAD_COUNTRY: &str = "\n[[accelerator]]\nid = \"x1\"\nvendor = \"V\"\nvendor_country = \"USA\"\nname = \"X1\"\nfamily = \"hopper\"\n";

    fn mutate(c: &Case) -> String {
        if c.from.is_empty() {
            return format!("{EXAMPLE_SCENARIO}{}", c.to);
        }
        assert!(
            EXAMPLE_SCENARIO.contains(c.from),
            "the example lacks {:?}",
            c.from
        );
        EXAMPLE_SCENARIO.replacen(c.from, c.to, 1)
    }

    /// The text from a diagnostic's line and column to the end of that line.
    fn text_at<'t>(text: &'t str, d: &Diagnostic) -> &'t str {
        let line = text.lines().nth(d.line.unwrap() - 1).unwrap_or("");
        let col = d.column.unwrap() - 1;
        let byte = line.char_indices().nth(col).map_or(line.len(), |(b, _)| b);
        &line[byte..]
    }

    #[test]
    fn every_malformed_variant_gives_its_located_error() {
        let mut failures = Vec::new();
        for (i, c) in CASES.iter().enumerate() {
            let text = mutate(c);
            let ds = diagnose(&text);
            if ds.is_empty() {
                failures.push(format!(
                    "case {i} ({:?} -> {:?}): no diagnostic",
                    c.from, c.to
                ));
                continue;
            }
            for d in ds.iter() {
                if d.line.is_none() || d.column.is_none() {
                    failures.push(format!("case {i}: unlocated diagnostic {d}"));
                }
            }
            let want_field = (!c.field.is_empty()).then_some(c.field);
            let found = ds.iter().find(|d| {
                (want_field.is_none() || d.field.as_deref() == want_field)
                    && d.message.contains(c.message)
            });
            match found {
                None => failures.push(format!(
                    "case {i}: no diagnostic at field {:?} with {:?}; got:\n{ds}",
                    c.field, c.message
                )),
                Some(d) => {
                    if d.line.is_some() && !text_at(&text, d).starts_with(c.at) {
                        failures.push(format!(
                            "case {i}: {d} points at {:?}, expected {:?}",
                            text_at(&text, d),
                            c.at
                        ));
                    }
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    }

    #[test]
    fn every_problem_is_reported_in_one_run() {
        let mut text = EXAMPLE_SCENARIO.to_string();
        // Several kinds, two of them in the same pool entry.
        let picks: Vec<&Case> = [
            ("pool[0].site", "unknown site"),
            ("company", "unknown entity"),
            ("site[1].id", "duplicate id"),
            ("site[2].electricity_per_kwh.currency", "no FX rate"),
            ("pool[0].nodes", "nodes is 0"),
            ("supplier_mix[0].min_share", "min_share is 1.5"),
            ("job[5]", "lacks work"),
        ]
        .iter()
        .map(|(f, m)| {
            CASES
                .iter()
                .find(|c| c.field == *f && c.message.contains(m))
                .unwrap()
        })
        .collect();
        for c in &picks {
            assert!(text.contains(c.from), "{:?}", c.from);
            text = text.replacen(c.from, c.to, 1);
        }
        let ds = diagnose(&text);
        for c in &picks {
            assert!(
                ds.iter().any(|d| d.field.as_deref() == Some(c.field)
                    // The "expected one of" lists change with the other edits.
                    && d.message.contains(c.message.split(": expected").next().unwrap())),
                "missing {} / {} in:\n{ds}",
                c.field,
                c.message
            );
        }
        // Sorted by position.
        let lines: Vec<usize> = ds.iter().map(|d| d.line.unwrap()).collect();
        assert!(lines.windows(2).all(|w| w[0] <= w[1]), "{lines:?}");
    }

    #[test]
    fn every_type_error_is_reported_in_one_run() {
        let text = EXAMPLE_SCENARIO
            .replacen("nodes = 256", "nodes = -3", 1)
            .replacen("pue = 1.25", "pue = \"x\"", 1)
            .replacen("min_share = 0.6", "min_share = \"most\"", 1)
            .replacen("date = 2025-03-01", "date = 20250301", 1);
        let ds = parse_scenario(&text, "t.toml").unwrap_err();
        let fields: Vec<&str> = ds.iter().filter_map(|d| d.field.as_deref()).collect();
        assert_eq!(
            fields,
            [
                "date",
                "site[1].pue",
                "pool[0].nodes",
                "supplier_mix[0].min_share"
            ],
            "{ds}"
        );
    }

    #[test]
    fn cross_references_are_checked_alongside_type_errors() {
        let text = EXAMPLE_SCENARIO
            .replacen("nodes = 256", "nodes = -3", 1)
            .replacen("pue = 1.25", "pue = \"x\"", 1)
            .replacen(
                "site = \"cn-ulanqab\"\naccelerator = \"ascend-910b\"",
                "site = \"nowhere\"\naccelerator = \"ascend-910b\"",
                1,
            )
            .replacen("company = \"acme-ai\"", "company = \"acme\"", 1);
        let dir = std::env::temp_dir().join(format!("xpufleet-partial-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s.toml");
        std::fs::write(&path, &text).unwrap();
        let ds = check_scenario(Some(&path), None).unwrap_err();
        std::fs::remove_dir_all(&dir).unwrap();
        let got: Vec<(&str, usize)> = ds
            .iter()
            .map(|d| (d.field.as_deref().unwrap(), d.line.unwrap()))
            .collect();
        let line = |needle: &str| text[..text.find(needle).unwrap()].matches('\n').count() + 1;
        // pool[1] names the broken site cn-wuhu: not reported again as an unknown site.
        assert_eq!(
            got,
            [
                ("company", line("company = ")),
                ("site[1].pue", line("pue = \"x\"")),
                ("pool[0].nodes", line("nodes = -3")),
                ("pool[2].site", line("site = \"nowhere\"")),
            ],
            "{ds}"
        );
    }

    #[test]
    fn every_syntax_error_is_reported_in_one_run() {
        let text = EXAMPLE_SCENARIO
            .replacen("name = \"capex-2025\"", "name = capex", 1)
            .replacen("pue = 1.25", "pue = = 1.25", 1);
        let ds = parse_scenario(&text, "t.toml").unwrap_err();
        let lines: Vec<usize> = ds.iter().map(|d| d.line.unwrap()).collect();
        assert!(
            lines.contains(&13) && lines.iter().any(|&l| l > 100),
            "{ds}"
        );
    }

    #[test]
    fn catalog_problems_are_located() {
        let cat = crate::BUILTIN_CATALOG;
        let text = cat
            .replacen("id = \"h800-sxm\"", "id = \"h100-sxm\"", 1)
            .replacen("source = \"AC\"", "source = \"XX\"", 1)
            .replacen("vendor_country = \"CN\"", "vendor_country = \"China\"", 1)
            .replacen("launch_year = 2020", "launch_year = 20", 1);
        let ds = check_catalog(&text, "c.toml").unwrap_err();
        let got: Vec<(String, usize)> = ds
            .iter()
            .map(|d| (d.field.clone().unwrap(), d.line.unwrap()))
            .collect();
        let line = |needle: &str| text[..text.find(needle).unwrap()].matches('\n').count() + 1;
        assert_eq!(
            got,
            [
                ("accelerator[0].memory_gb.source".to_string(), line("source = \"XX\"")),
                ("accelerator[1].id".to_string(), line("id = \"h100-sxm\"\nvendor = \"Nvidia\"\nvendor_country = \"US\"\nname = \"H800")),
                ("accelerator[4].launch_year".to_string(), line("launch_year = 20\n")),
                ("accelerator[8].vendor_country".to_string(), line("vendor_country = \"China\"")),
            ],
            "{ds}"
        );
    }

    #[test]
    fn a_bad_catalog_file_is_reported_with_the_scenario() {
        let dir = std::env::temp_dir().join(format!("xpufleet-validate-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let cat = dir.join("cat.toml");
        std::fs::write(&cat, "[[accelerator]]\nid = \"x\"\nvendor = \"V\"\nvendor_country = \"usa\"\nname = \"X\"\nfamily = \"f\"\n").unwrap();
        let ds = check_scenario(None, Some(&cat)).unwrap_err();
        assert_eq!(ds.len(), 1, "{ds}");
        assert_eq!(
            ds.0[0].field.as_deref(),
            Some("accelerator[0].vendor_country")
        );
        assert_eq!(ds.0[0].line, Some(4));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn builtin_example_and_catalog_are_valid() {
        let ls = load_scenario(None, None).unwrap();
        let d = validate(&ls);
        assert!(d.is_empty(), "{d}");
        let d = check_catalog(crate::BUILTIN_CATALOG, "data/catalog.toml");
        assert!(d.is_ok(), "{}", d.unwrap_err());
        assert!(check_scenario(None, None).is_ok());
    }

    /// Issue 17: a deep parent chain was walked once per entity with a linear search per step
    /// (cubic); 3,000 entities took minutes. Now each entity is visited once, and the loop at
    /// the chain's end is still reported once, at its first member.
    #[test]
    fn issue_17_deep_parent_chain_is_linear_and_loops_are_reported_once() {
        let n = 3000;
        let mut text = String::from(EXAMPLE_SCENARIO);
        for i in 0..n {
            let parent = if i + 1 < n {
                format!("deep-{}", i + 1)
            } else {
                "deep-2990".into()
            };
            text.push_str(&format!(
                "\n[[entity]]\nid = \"deep-{i}\"\nname = \"d\"\nhq_country = \"SG\"\nparent = \"{parent}\"\n"
            ));
        }
        let d = diagnose(&text);
        let loops: Vec<_> = d.iter().filter(|x| x.message.contains("loops")).collect();
        assert_eq!(loops.len(), 1, "{d}");
        assert!(
            loops[0].message.contains("deep-2990 -> deep-2991 -> ")
                && loops[0].message.contains("deep-2999 -> deep-2990:"),
            "{}",
            loops[0].message
        );
    }

    #[test]
    fn catalog_detection() {
        assert!(looks_like_catalog(crate::BUILTIN_CATALOG));
        assert!(!looks_like_catalog(crate::EXAMPLE_SCENARIO));
    }

    #[test]
    fn known_lists_what_is_expected() {
        let k = Known::new("site", ["b", "a"]);
        assert_eq!(k.expected(), "expected one of a, b");
        let k = Known::new("site", []);
        assert_eq!(k.expected(), "no site is defined");
    }

    /// A line of the example with its value replaced by `junk`.
    fn replace_value(line: &str, junk: &str) -> String {
        match line.split_once(" = ") {
            Some((k, _)) if !line.starts_with('#') => format!("{k} = {junk}"),
            _ => line.to_string(),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        /// Any truncation, line deletion or value swap in the example gives diagnostics, each
        /// located, or a valid scenario; never a panic.
        #[test]
        fn mangled_examples_never_panic(
            cut in 0usize..EXAMPLE_SCENARIO.len(),
            line in 0usize..520,
            how in 0u8..3,
            junk in prop::sample::select(vec!["-1", "0", "\"\"", "\"x\"", "1e400", "[]", "{}", "true", "2025-13-01", "\"acme-ai\""]),
        ) {
            let lines: Vec<&str> = EXAMPLE_SCENARIO.lines().collect();
            let text = match how {
                0 => {
                    let mut c = cut;
                    while !EXAMPLE_SCENARIO.is_char_boundary(c) { c -= 1; }
                    EXAMPLE_SCENARIO[..c].to_string()
                }
                1 => lines
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != line)
                    .map(|(_, l)| *l)
                    .collect::<Vec<_>>()
                    .join("\n"),
                _ => lines
                    .iter()
                    .enumerate()
                    .map(|(i, l)| if i == line % lines.len() { replace_value(l, junk) } else { l.to_string() })
                    .collect::<Vec<_>>()
                    .join("\n"),
            };
            for d in diagnose(&text).iter() {
                prop_assert!(d.line.is_some(), "unlocated: {}", d);
            }
        }
    }

    /// Issue 23: an id that could change what an export means (a line break adds a Slurm
    /// partition, `#` starts a comment, `:` and quotes mean something in YAML) is refused at
    /// its place in the file, whatever list it is in.
    #[test]
    fn issue_23_hostile_ids_are_refused_where_they_are() {
        // TOML escapes of hostile characters, and how the message names the character.
        let hostile = [
            (r"x\nPartitionName=open", "U+000A"),
            (r"x\ry", "U+000D"),
            ("x#y", "'#'"),
            ("x: y", "':'"),
            (r#"x\"y"#, "'\"'"),
            ("x'y", "'''"),
            (r"x\u2028y", "U+2028"),
            (r"x\u0085y", "U+0085"),
            ("x y", "a space"),
            ("..", "does not start and end with a letter or digit"),
        ];
        for (line, field) in [
            ("id = \"cn-a800\"", "pool[0].id"),
            ("id = \"acme-ai\"", "entity[0].id"),
            ("id = \"cn-ulanqab\"", "site[0].id"),
        ] {
            for (id, named) in hostile {
                let text = EXAMPLE_SCENARIO.replacen(line, &format!("id = \"{id}\""), 1);
                let ds = diagnose(&text);
                let d = ds
                    .iter()
                    .find(|d| {
                        d.field.as_deref() == Some(field) && d.message.contains("is not allowed")
                    })
                    .unwrap_or_else(|| panic!("{field} {id:?}: no charset error in:\n{ds}"));
                assert!(d.message.contains(named), "{field} {id:?}: {d}");
                assert!(text_at(&text, d).starts_with('"'), "{field} {id:?}: {d}");
                // One line: the hostile character is named, never printed.
                let shown = d.to_string();
                assert!(
                    !shown.contains(['\n', '\r', '\u{2028}', '\u{85}']),
                    "{shown:?}"
                );
            }
        }
    }
}
