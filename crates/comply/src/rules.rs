//! Rule packs as data: dated rules with conditions, outcomes and citations, and the country
//! groups (D:1, D:4, D:5, Macau, AI-diffusion tiers) they refer to.
//!
//! The `io` crate reads pack files into these types; `RuleSet::new` checks what a parser cannot
//! (unknown groups, dates out of order, duplicate ids) and reports each problem with the path of
//! the offending field so `io` can point at the line.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use xpufleet_model::{CountryCode, Date, Purpose};

use crate::classify::Eccn;
use crate::verdict::{Outcome, UseKind};

/// Where a rule comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Citation {
    /// The document ("88 FR 73458, Implementation of Additional Export Controls ...").
    pub document: String,
    /// Its date (publication or announcement).
    pub date: Date,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl std::fmt::Display for Citation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.document, self.date)
    }
}

/// A named set of countries: listed ones, members of included groups, or every country except
/// the members of other groups ("Tier 2" = all but Tier 1 and Tier 3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountryGroup {
    /// "D:5", "Macau", "Tier 1".
    pub id: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub countries: Vec<CountryCode>,
    /// Groups whose members are members of this one.
    #[serde(default)]
    pub include: Vec<String>,
    /// When non-empty: every country that is in none of these groups.
    #[serde(default)]
    pub all_except: Vec<String>,
    /// Members for a span of dates only (Nicaragua in D:5 from 2024-03-15), each with the
    /// amendment that moved it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dated: Vec<DatedMember>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub citation: Option<Citation>,
}

/// A country that belongs to a group from one date (inclusive) to another (inclusive).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatedMember {
    pub country: CountryCode,
    /// First day a member; a member since before the rules when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Date>,
    /// Last day a member; still a member when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Date>,
    /// The amendment that added (or removed) it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub citation: Option<Citation>,
}

impl DatedMember {
    /// Member on `date`; with no date, a member at any time.
    pub fn on(&self, date: Option<Date>) -> bool {
        match date {
            None => true,
            Some(d) => self.from.is_none_or(|f| f <= d) && self.to.is_none_or(|t| d <= t),
        }
    }
}

/// What a rule does when its conditions hold: an `Outcome`, or a notice that informs and never
/// changes the verdict (advisory guidance).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuleOutcome {
    Notice,
    Allowed,
    LicenceException,
    RedFlag,
    LicenceRequired,
    Prohibited,
}

impl RuleOutcome {
    /// The verdict outcome; a notice counts as allowed.
    pub fn outcome(self) -> Outcome {
        match self {
            RuleOutcome::Notice | RuleOutcome::Allowed => Outcome::Allowed,
            RuleOutcome::LicenceException => Outcome::LicenceException,
            RuleOutcome::RedFlag => Outcome::RedFlag,
            RuleOutcome::LicenceRequired => Outcome::LicenceRequired,
            RuleOutcome::Prohibited => Outcome::Prohibited,
        }
    }
}

/// Whose headquarters a condition looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Party {
    /// Owner of the chips (the consignee of an export).
    Owner,
    /// Operator of the data centre.
    Operator,
    /// The end user (tenant).
    User,
}

impl Party {
    pub fn as_str(self) -> &'static str {
        match self {
            Party::Owner => "owner",
            Party::Operator => "operator",
            Party::User => "end user",
        }
    }
}

/// When a rule applies. Every condition given must hold; each list holds when any of its items
/// does; an empty or absent condition always holds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conditions {
    /// The chip's classification under the rule in force: "3A090", "3A090.a", "3A090.b",
    /// "3A090.c", or "none" for not controlled.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub eccn: Vec<String>,
    /// Accelerator ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accelerator: Vec<String>,
    /// Vendor headquarters country (origin of the design).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub origin: Vec<CountryCode>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_origin: Vec<CountryCode>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub site_country: Vec<CountryCode>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_site_country: Vec<CountryCode>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub site_group: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_site_group: Vec<String>,
    /// Whose headquarters `hq_country`, `hq_group` and `not_hq_group` look at; empty means all
    /// three. Each party counts with its ultimate parent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parties: Vec<Party>,
    /// Some chosen party (or its ultimate parent) is headquartered in one of these countries.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hq_country: Vec<CountryCode>,
    /// Some chosen party (or its ultimate parent) is headquartered in one of these groups.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hq_group: Vec<String>,
    /// No chosen party (nor its ultimate parent) is headquartered in these groups.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_hq_group: Vec<String>,
    /// Own, operate, remote.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mode: Vec<UseKind>,
    /// Training, serving: only where the rule's text names the use (the 2025-05-13 guidance
    /// speaks of IaaS *training*). A use that states none may be either, so the rule applies.
    #[serde(default, rename = "use", skip_serializing_if = "Vec::is_empty")]
    pub uses: Vec<Purpose>,
    /// The workload's training operations exceed this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_workload_flops: Option<f64>,
    /// The chip is (true) or is not (false) designed or marketed for data centres.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_center: Option<bool>,
    /// The chip's TPP is at least this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_tpp: Option<f64>,
    /// The chip's TPP is below this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub below_tpp: Option<f64>,
    /// The chip's memory (DRAM/HBM) bandwidth is below this, in TB/s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub below_memory_tbps: Option<f64>,
    /// The chip's catalog interconnect figure is at least this, in GB/s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_interconnect_gbps: Option<f64>,
    /// The chip reaches any one of these figures ("any other circuits achieving the H20's
    /// memory bandwidth, interconnect bandwidth, or combination thereof").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reaches: Option<Reaches>,
    /// Only for a recorded move of the chips (acquisition history): the country they leave.
    /// A rule with this condition never applies to a use, only to a move.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub from_country: Vec<CountryCode>,
}

/// Figures a chip may reach; the condition holds when any given one is reached.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reaches {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_tbps: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interconnect_gbps: Option<f64>,
}

/// What a quantity limit counts over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LimitScope {
    /// Per owner (consignee) per calendar year of acquisition.
    ConsigneeYear,
    /// Per owner, all years.
    Consignee,
    /// Per site country, across the whole scenario.
    Country,
}

/// A quantity limit on a rule's outcome: within it the outcome holds, beyond it `otherwise`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limit {
    /// Total processing performance allowed (sum of TPP over the chips counted).
    pub tpp: f64,
    pub per: LimitScope,
    /// The outcome beyond the limit.
    pub otherwise: RuleOutcome,
}

/// Whether a rule governs acquiring chips (an export or transfer) or using them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuleScope {
    /// Any use on a date the rule is in force.
    #[default]
    Use,
    /// Acquisitions on or after `effective_from`: a pool bought earlier was exported before the
    /// rule and is not caught by it (a later transfer would be).
    Acquisition,
}

/// One rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Id within the pack ("hq-d5"); the full id is "pack/rule".
    pub id: String,
    /// One sentence: what the rule says.
    pub summary: String,
    /// First day in force.
    pub effective_from: Date,
    /// Last day in force (inclusive); open-ended when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_to: Option<Date>,
    /// First day compliance is required; before it the rule only gives a notice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compliance_from: Option<Date>,
    /// "US", "MY", "CN"; defaults to the pack's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jurisdiction: Option<String>,
    #[serde(default)]
    pub scope: RuleScope,
    #[serde(default)]
    pub when: Conditions,
    pub outcome: RuleOutcome,
    /// Name of the licence exception ("LPP", "NAC") for a licence-exception outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exception: Option<String>,
    /// What using the exception obliges ("notify BIS 25 days before export").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duty: Option<String>,
    /// Full ids of rules this one replaces for the uses it certainly catches (the 2026-01
    /// case-by-case review replaces the presumption of denial for the parts it names).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub supersedes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<Limit>,
    /// Whether a held licence lifts the outcome; by default licence-required and prohibited
    /// outcomes can be lifted, others cannot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub licensable: Option<bool>,
    /// What would lift it, in words; generated from the conditions when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub would_change: Option<String>,
    /// Defaults to the pack's citation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub citation: Option<Citation>,
    /// Where this rule applies, owner and operator verification records are required (the
    /// rule gives no finding of its own). The shipped `us-kyc-verification` pack says where.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub verification: bool,
}

/// The pack header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackInfo {
    /// "us-ear-2023-10".
    pub id: String,
    #[serde(default)]
    pub title: String,
    /// Version of the pack's data, raised on each correction.
    pub version: u32,
    pub jurisdiction: String,
    pub citation: Citation,
    #[serde(default)]
    pub note: String,
}

/// One rule-pack file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulePack {
    pub pack: PackInfo,
    #[serde(default, rename = "group")]
    pub groups: Vec<CountryGroup>,
    #[serde(default, rename = "rule")]
    pub rules: Vec<Rule>,
}

/// A rule bound to its pack: everything the engine needs, defaults filled in.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BoundRule {
    /// "pack/rule".
    pub id: String,
    pub pack: String,
    pub jurisdiction: String,
    pub citation: Citation,
    pub rule: Rule,
}

impl BoundRule {
    pub fn in_force(&self, date: Date) -> bool {
        self.rule.effective_from <= date && self.rule.effective_to.is_none_or_le(date)
    }

    /// In force but compliance not yet required: a notice only.
    pub fn before_compliance(&self, date: Date) -> bool {
        self.rule.compliance_from.is_some_and(|c| date < c)
    }

    pub fn licensable(&self) -> bool {
        self.rule.licensable.unwrap_or(matches!(
            self.rule.outcome,
            RuleOutcome::LicenceRequired | RuleOutcome::Prohibited
        ))
    }
}

trait OptDateExt {
    fn is_none_or_le(&self, date: Date) -> bool;
}
impl OptDateExt for Option<Date> {
    fn is_none_or_le(&self, date: Date) -> bool {
        match self {
            None => true,
            Some(to) => date <= *to,
        }
    }
}

/// A problem in a pack that parsing could not catch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackProblem {
    /// Index of the pack in the list given to `RuleSet::new`.
    pub pack: usize,
    /// Field path in the pack file ("rule[2].when.site_group[0]").
    pub field: String,
    pub message: String,
}

/// The packs in force: rules (a later pack's rule replaces an earlier one with the same full
/// id) and groups (likewise by group id).
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    pub packs: Vec<PackInfo>,
    pub rules: Vec<BoundRule>,
    pub groups: BTreeMap<String, CountryGroup>,
}

impl RuleSet {
    /// Binds packs in order; later packs override earlier ones by id. Every problem is reported.
    pub fn new(packs: Vec<RulePack>) -> Result<RuleSet, Vec<PackProblem>> {
        let mut problems = Vec::new();
        let mut set = RuleSet::default();
        for (pi, p) in packs.iter().enumerate() {
            for g in &p.groups {
                set.groups.insert(g.id.clone(), g.clone());
            }
            let mut seen = BTreeSet::new();
            for (ri, r) in p.rules.iter().enumerate() {
                if !seen.insert(r.id.as_str()) {
                    problems.push(PackProblem {
                        pack: pi,
                        field: format!("rule[{ri}].id"),
                        message: format!("duplicate rule id {:?} in this pack", r.id),
                    });
                }
            }
        }
        let all_ids: BTreeSet<String> = packs
            .iter()
            .flat_map(|p| {
                p.rules
                    .iter()
                    .map(move |r| format!("{}/{}", p.pack.id, r.id))
            })
            .collect();
        let all_ids: BTreeSet<&str> = all_ids.iter().map(String::as_str).collect();
        for (pi, p) in packs.iter().enumerate() {
            let mut prob = |field: String, message: String| {
                problems.push(PackProblem {
                    pack: pi,
                    field,
                    message,
                })
            };
            if p.pack.id.trim().is_empty() || p.pack.id.contains('/') {
                prob(
                    "pack.id".into(),
                    "expected a non-empty pack id without '/'".into(),
                );
            }
            for (gi, g) in p.groups.iter().enumerate() {
                for (mi, m) in g.dated.iter().enumerate() {
                    if let (Some(f), Some(t)) = (m.from, m.to) {
                        if t < f {
                            prob(
                                format!("group[{gi}].dated[{mi}].to"),
                                format!("expected a date on or after from ({f}), found {t}"),
                            );
                        }
                    }
                }
                for (k, list) in [("include", &g.include), ("all_except", &g.all_except)] {
                    for (i, name) in list.iter().enumerate() {
                        if !set.groups.contains_key(name) {
                            prob(
                                format!("group[{gi}].{k}[{i}]"),
                                unknown_group(name, &set.groups),
                            );
                        }
                    }
                }
            }
            for (ri, r) in p.rules.iter().enumerate() {
                let at = |f: &str| format!("rule[{ri}].{f}");
                if r.id.trim().is_empty() || r.id.contains('/') {
                    prob(at("id"), "expected a non-empty rule id without '/'".into());
                }
                if let Some(to) = r.effective_to {
                    if to < r.effective_from {
                        prob(
                            at("effective_to"),
                            format!(
                                "expected a date on or after effective_from ({}), found {to}",
                                r.effective_from
                            ),
                        );
                    }
                }
                for (k, list) in [
                    ("site_group", &r.when.site_group),
                    ("not_site_group", &r.when.not_site_group),
                    ("hq_group", &r.when.hq_group),
                    ("not_hq_group", &r.when.not_hq_group),
                ] {
                    for (i, name) in list.iter().enumerate() {
                        if !set.groups.contains_key(name) {
                            prob(
                                format!("rule[{ri}].when.{k}[{i}]"),
                                unknown_group(name, &set.groups),
                            );
                        }
                    }
                }
                for (i, e) in r.when.eccn.iter().enumerate() {
                    if e != "none" && Eccn::parse(e).is_none() {
                        prob(
                            format!("rule[{ri}].when.eccn[{i}]"),
                            format!(
                                "expected one of \"3A090\", \"3A090.a\", \"3A090.b\", \"3A090.c\", \"none\"; found {e:?}"
                            ),
                        );
                    }
                }
                if let Some(f) = r.when.min_workload_flops {
                    if !f.is_finite() || f < 0.0 {
                        prob(
                            at("when.min_workload_flops"),
                            format!("expected a finite, non-negative number, found {f}"),
                        );
                    }
                }
                if let Some(l) = &r.limit {
                    if !l.tpp.is_finite() || l.tpp <= 0.0 {
                        prob(
                            at("limit.tpp"),
                            format!("expected a positive TPP, found {}", l.tpp),
                        );
                    }
                    if l.otherwise.outcome() <= r.outcome.outcome() {
                        prob(
                            at("limit.otherwise"),
                            "expected an outcome stricter than the rule's own outcome".into(),
                        );
                    }
                }
                for (k, v) in [
                    ("min_tpp", r.when.min_tpp),
                    ("below_tpp", r.when.below_tpp),
                    ("below_memory_tbps", r.when.below_memory_tbps),
                    ("min_interconnect_gbps", r.when.min_interconnect_gbps),
                    (
                        "reaches.memory_tbps",
                        r.when.reaches.as_ref().and_then(|x| x.memory_tbps),
                    ),
                    (
                        "reaches.interconnect_gbps",
                        r.when.reaches.as_ref().and_then(|x| x.interconnect_gbps),
                    ),
                ] {
                    if let Some(x) = v {
                        if !x.is_finite() || x < 0.0 {
                            prob(
                                at(&format!("when.{k}")),
                                format!("expected a finite, non-negative number, found {x}"),
                            );
                        }
                    }
                }
                if r.when
                    .reaches
                    .as_ref()
                    .is_some_and(|x| x.memory_tbps.is_none() && x.interconnect_gbps.is_none())
                {
                    prob(
                        at("when.reaches"),
                        "expected memory_tbps and/or interconnect_gbps".into(),
                    );
                }
                for (i, id) in r.supersedes.iter().enumerate() {
                    if !all_ids.contains(id.as_str()) {
                        prob(
                            format!("rule[{ri}].supersedes[{i}]"),
                            format!("unknown rule {id:?}; expected a full id \"pack/rule\" of a rule loaded with it"),
                        );
                    }
                }
                if r.duty.is_some() && r.outcome != RuleOutcome::LicenceException {
                    prob(
                        at("duty"),
                        "only a licence-exception outcome has a duty".into(),
                    );
                }
                if r.exception.is_some() && r.outcome != RuleOutcome::LicenceException {
                    prob(
                        at("exception"),
                        "only a licence-exception outcome names an exception".into(),
                    );
                }
            }
        }
        for g in set.groups.keys() {
            if let Err(cycle) = set.check_group_cycle(g, &mut Vec::new()) {
                problems.push(PackProblem {
                    pack: packs
                        .iter()
                        .rposition(|p| p.groups.iter().any(|x| &x.id == g))
                        .unwrap_or(0),
                    field: "group".into(),
                    message: format!("country groups refer to each other in a loop: {cycle}"),
                });
                break;
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        for p in packs {
            set.packs.push(p.pack.clone());
            for r in p.rules {
                let id = format!("{}/{}", p.pack.id, r.id);
                let bound = BoundRule {
                    id: id.clone(),
                    pack: p.pack.id.clone(),
                    jurisdiction: r
                        .jurisdiction
                        .clone()
                        .unwrap_or_else(|| p.pack.jurisdiction.clone()),
                    citation: r
                        .citation
                        .clone()
                        .unwrap_or_else(|| p.pack.citation.clone()),
                    rule: r,
                };
                match set.rules.iter_mut().find(|b| b.id == id) {
                    Some(slot) => *slot = bound,
                    None => set.rules.push(bound),
                }
            }
        }
        Ok(set)
    }

    fn check_group_cycle(&self, g: &str, stack: &mut Vec<String>) -> Result<(), String> {
        if stack.iter().any(|s| s == g) {
            stack.push(g.to_string());
            return Err(stack.join(" -> "));
        }
        let Some(grp) = self.groups.get(g) else {
            return Ok(());
        };
        stack.push(g.to_string());
        for sub in grp.include.iter().chain(&grp.all_except) {
            self.check_group_cycle(sub, stack)?;
        }
        stack.pop();
        Ok(())
    }

    /// Is `country` a member of group `g`? Unknown groups have no members (`new` rejects
    /// references to them).
    /// Dated members count whatever their dates; see `in_group_on`.
    pub fn in_group(&self, country: &str, g: &str) -> bool {
        self.in_group_depth(country, g, None, 0)
    }

    /// Is `country` a member of group `g` on `date`?
    pub fn in_group_on(&self, country: &str, g: &str, date: Date) -> bool {
        self.in_group_depth(country, g, Some(date), 0)
    }

    fn in_group_depth(&self, country: &str, g: &str, date: Option<Date>, depth: u32) -> bool {
        // `new` rejects loops; the depth bound keeps a hand-built set from recursing forever.
        if depth > 32 {
            return false;
        }
        let Some(grp) = self.groups.get(g) else {
            return false;
        };
        if grp
            .countries
            .iter()
            .any(|c| c.eq_ignore_ascii_case(country))
            || grp
                .dated
                .iter()
                .any(|m| m.on(date) && m.country.eq_ignore_ascii_case(country))
            || grp
                .include
                .iter()
                .any(|s| self.in_group_depth(country, s, date, depth + 1))
        {
            return true;
        }
        !grp.all_except.is_empty()
            && !grp
                .all_except
                .iter()
                .any(|s| self.in_group_depth(country, s, date, depth + 1))
    }

    /// The groups `country` belongs to on `date`, sorted.
    pub fn groups_of(&self, country: &str, date: Date) -> Vec<String> {
        self.groups
            .keys()
            .filter(|g| self.in_group_on(country, g, date))
            .cloned()
            .collect()
    }

    pub fn rule(&self, id: &str) -> Option<&BoundRule> {
        self.rules.iter().find(|r| r.id == id)
    }
}

fn unknown_group(name: &str, groups: &BTreeMap<String, CountryGroup>) -> String {
    let known: Vec<&str> = groups.keys().map(String::as_str).collect();
    format!(
        "unknown country group {name:?}; expected one of: {}",
        known.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    fn group(id: &str, countries: &[&str], include: &[&str], except: &[&str]) -> CountryGroup {
        CountryGroup {
            id: id.into(),
            description: String::new(),
            countries: countries.iter().map(|s| s.to_string()).collect(),
            include: include.iter().map(|s| s.to_string()).collect(),
            all_except: except.iter().map(|s| s.to_string()).collect(),
            dated: vec![],
            citation: None,
        }
    }

    pub(crate) fn pack(id: &str, groups: Vec<CountryGroup>, rules: Vec<Rule>) -> RulePack {
        RulePack {
            pack: PackInfo {
                id: id.into(),
                title: String::new(),
                version: 1,
                jurisdiction: "US".into(),
                citation: Citation {
                    document: "doc".into(),
                    date: d("2023-10-17"),
                    url: None,
                },
                note: String::new(),
            },
            groups,
            rules,
        }
    }

    #[test]
    fn tiers_by_exception() {
        let set = RuleSet::new(vec![pack(
            "g",
            vec![
                group("D:5", &["CN", "RU"], &[], &[]),
                group("Macau", &["MO"], &[], &[]),
                group("Tier 1", &["US", "JP"], &[], &[]),
                group("Tier 3", &[], &["D:5", "Macau"], &[]),
                group("Tier 2", &[], &[], &["Tier 1", "Tier 3"]),
            ],
            vec![],
        )])
        .unwrap();
        assert!(set.in_group("MO", "Tier 3"));
        assert!(set.in_group("MY", "Tier 2"));
        assert!(!set.in_group("CN", "Tier 2"));
        assert!(!set.in_group("JP", "Tier 2"));
        assert_eq!(set.groups_of("CN", d("2025-01-01")), vec!["D:5", "Tier 3"]);
    }

    #[test]
    fn bad_references_and_dates_are_reported_with_paths() {
        let mut r = Rule {
            id: "x".into(),
            summary: "s".into(),
            effective_from: d("2025-01-01"),
            effective_to: Some(d("2024-01-01")),
            compliance_from: None,
            jurisdiction: None,
            scope: RuleScope::Use,
            when: Conditions::default(),
            outcome: RuleOutcome::LicenceRequired,
            exception: None,
            duty: None,
            supersedes: vec![],
            limit: None,
            licensable: None,
            would_change: None,
            citation: None,
            verification: false,
        };
        r.when.site_group = vec!["D:9".into()];
        r.when.eccn = vec!["4A090".into()];
        let errs = RuleSet::new(vec![pack("p", vec![], vec![r.clone(), r])]).unwrap_err();
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert!(fields.contains(&"rule[0].effective_to"), "{errs:?}");
        assert!(fields.contains(&"rule[0].when.site_group[0]"), "{errs:?}");
        assert!(fields.contains(&"rule[0].when.eccn[0]"), "{errs:?}");
        assert!(fields.contains(&"rule[1].id"), "{errs:?}");
    }

    #[test]
    fn group_loops_are_rejected() {
        let errs = RuleSet::new(vec![pack(
            "g",
            vec![group("A", &[], &["B"], &[]), group("B", &[], &["A"], &[])],
            vec![],
        )])
        .unwrap_err();
        assert!(errs[0].message.contains("loop"), "{errs:?}");
    }
}
