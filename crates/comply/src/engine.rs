//! The rule engine: binds rule packs, a scenario and the catalog, and answers "may this entity
//! use this pool (or candidate) in this way, for this workload, on this date?" with a verdict,
//! the rules that decided it, their citations and what would change it.
//!
//! How one use is evaluated:
//! 1. the target (pool or candidate) gives the chip, the site, the owner and the operator;
//! 2. the chip is classified under the rule in force on the date (`classify`);
//! 3. every rule in force is tested; each condition is yes / no / cannot tell (an unknown
//!    figure, entity or workload), so a rule that cannot be told apart is never guessed: it
//!    becomes a red flag for a person, at most as strict as the rule itself;
//! 4. a rule whose `scope` is `acquisition` does not catch a pool bought before it took effect;
//!    a rule before its compliance date only gives a notice;
//! 5. quantity limits count TPP across the scenario's pools (in file order, so the answer is
//!    deterministic) and turn to the stricter outcome beyond the limit;
//! 6. a held licence that covers a licensable rule (jurisdiction, holder or explicit reference,
//!    accelerator, country, dates, quantity) lifts it to allowed;
//! 7. the verdict is the strictest remaining outcome; owner and operator verification of
//!    controlled (or indeterminate) chips decides `verified`.

use std::collections::BTreeMap;

use serde::Serialize;
use xpufleet_model::{
    Accelerator, Acquisition, CandidateMode, Catalog, Date, Entities, Licence, Money, Pool,
    Purpose, Role, Scenario, Site, Transfer, TransferKind, VerificationPolicy, Work,
};

use crate::classify::{classify, Classification, Status, Tri};
use crate::rules::{BoundRule, Citation, LimitScope, Party, RuleOutcome, RuleScope, RuleSet};
use crate::screening::{Screening, ScreeningList, ScreeningReport};
use crate::verdict::{Gate, Outcome, UseKind, UseRequest, Verdict};

/// What a rule found about one use.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// Full rule id ("us-ear-2023-10/hq-d5").
    pub rule: String,
    /// The outcome after limits and licences.
    pub outcome: Outcome,
    /// What the rule itself says.
    pub rule_outcome: RuleOutcome,
    /// False when the rule may apply but unknown figures, entities or workload keep it from
    /// being told (the outcome is then at most a red flag).
    pub certain: bool,
    pub reason: String,
    pub citation: Citation,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub would_change: Option<String>,
    /// The licence that lifted it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifted_by: Option<String>,
    /// The licence exception used ("LPP", "NAC").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exception: Option<String>,
    /// What the exception obliges ("notify BIS 25 days before export").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duty: Option<String>,
}

/// A quantity limit as counted for one use.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LimitUse {
    pub rule: String,
    /// "consignee acme-ai, 2025", "country MY".
    pub scope: String,
    pub limit_tpp: f64,
    /// TPP already counted against the limit before this target.
    pub used_tpp: f64,
    /// TPP of this target, when its quantity is known (a candidate without `max_nodes` has none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub this_tpp: Option<f64>,
    /// TPP still free before this target.
    pub headroom_tpp: f64,
    pub exceeded: bool,
}

/// Owner and operator verification of one target.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VerificationStatus {
    /// Required for controlled chips (and chips whose classification is indeterminate) where a
    /// rule in force asks for it, or everywhere under `verification = "strict"`.
    pub required: bool,
    /// The rules that ask for it ("xpufleet/strict-verification" under the strict policy).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<String>,
    pub verified: bool,
    /// What is missing or wrong, one line each.
    pub missing: Vec<String>,
}

/// Everything the engine found about one use.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    pub target: String,
    /// "pool" or "candidate" (or "unknown").
    pub target_kind: &'static str,
    pub user: String,
    pub mode: UseKind,
    /// Training or serving, when the question said (or the pool or candidate declares it);
    /// absent, the use may be either and rules that name one use apply.
    #[serde(rename = "use", skip_serializing_if = "Option::is_none")]
    pub purpose: Option<Purpose>,
    pub date: Date,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workload_flops: Option<f64>,
    pub accelerator: String,
    pub site: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site_country: Option<String>,
    pub site_groups: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    /// `None` when the accelerator is not in the catalog.
    pub classification: Option<Classification>,
    pub verdict: Verdict,
    /// Every rule that applied (or may apply), strictest first.
    pub findings: Vec<Finding>,
    /// Notices: advisory rules, rules before their compliance date, rules that did not catch
    /// an earlier acquisition.
    pub notices: Vec<Finding>,
    pub limits: Vec<LimitUse>,
    pub verification: VerificationStatus,
}

/// The facts about one target.
#[derive(Debug, Clone)]
struct Target<'a> {
    id: String,
    kind: &'static str,
    accelerator: String,
    site: Option<&'a Site>,
    site_id: String,
    owner: Option<String>,
    operator: Option<String>,
    /// Accelerators, when known.
    quantity: Option<u64>,
    licences: Vec<String>,
    /// When the owner acquired the chips; `None` when unknown (then acquisition rules catch it).
    acquired: Option<Date>,
    /// Index among the scenario's pools, for cumulative counting.
    pool_idx: Option<usize>,
    /// The country the chips are in (the site's; a history entry's destination).
    country: Option<String>,
    /// What the pool or candidate declares it is for.
    purpose: Option<Purpose>,
    /// For a purchase (a buy candidate, or a bought pool with a purchase date and no recorded
    /// history): the country the chips ship from, which makes the acquisition an export.
    ships_from: Option<String>,
}

/// The facts one rule's conditions are tested against.
struct Facts<'a> {
    accel_id: &'a str,
    accel: Option<&'a Accelerator>,
    class: Option<&'a Classification>,
    country: Option<&'a str>,
    parties: Vec<(Party, Option<&'a str>)>,
    mode: UseKind,
    /// Training or serving; `None` when the use may be either.
    purpose: Option<Purpose>,
    workload: Option<f64>,
    /// The day group membership is read on.
    date: Date,
    /// For a recorded move: the country left (`Some(None)` when not recorded); `None` for a use.
    from_country: Option<Option<&'a str>>,
}

/// A condition test's answer, what stayed unknown, and what would make it false.
struct Test {
    tri: Tri,
    unknown: Vec<String>,
    lifts: Vec<String>,
    matched: Vec<String>,
}

impl Test {
    fn yes() -> Test {
        Test {
            tri: Tri::Yes,
            unknown: vec![],
            lifts: vec![],
            matched: vec![],
        }
    }
    fn and(&mut self, tri: Tri, lift: impl FnOnce() -> String, unknown: Option<String>) {
        self.tri = self.tri.and(tri);
        match tri {
            Tri::Yes => self.lifts.push(lift()),
            Tri::Unknown => self.unknown.extend(unknown),
            Tri::No => {}
        }
    }
}

/// One intended use the `check` command evaluates: a pool and tenant, or a candidate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckedUse {
    /// Jobs of this tenant that could run on the target.
    pub jobs: Vec<String>,
    #[serde(flatten)]
    pub eval: Evaluation,
    /// The verdict for training and for serving, only when they differ (a rule names one use).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub by_use: Vec<UseVerdict>,
}

/// The verdict of one use judged as training or as serving.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UseVerdict {
    #[serde(rename = "use")]
    pub purpose: Purpose,
    pub verdict: Verdict,
}

/// A target no engine may use until verification is complete.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Unverified {
    pub target: String,
    pub target_kind: &'static str,
    pub site: String,
    pub missing: Vec<String>,
}

/// How much of one licence the pools under it draw down (`check --json`'s `licences`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LicenceUse {
    pub id: String,
    /// Most accelerators the licence allows in all, if limited.
    pub quantity: Option<u64>,
    /// Accelerators of the pools under it (those that list it, or whose history names it).
    pub used: u64,
    /// `quantity - used`, never below zero; `None` when the quantity is not limited.
    pub remaining: Option<u64>,
    /// Most value the licence allows in all, if limited.
    pub value: Option<Money>,
    /// The purchase value of the bought pools under it, in the licence's currency (leased
    /// pools have no purchase value); `None` when the licence has no value or a price cannot
    /// be converted.
    pub value_used: Option<Money>,
    /// The larger of the shares of quantity and value used (0 when neither is limited).
    pub share_used: f64,
    /// Set from 80% used: what to do before the licence runs out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert: Option<String>,
    /// The pools that draw it down, in file order.
    pub pools: Vec<String>,
}

/// The share of a licence's quantity or value at which `check` alerts.
pub const LICENCE_ALERT_SHARE: f64 = 0.8;

/// The whole answer of `check` for a scenario on a date.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckReport {
    pub scenario: String,
    pub as_of: Date,
    pub uses: Vec<CheckedUse>,
    pub candidates: Vec<CheckedUse>,
    pub unverified: Vec<Unverified>,
    /// Each licence's drawdown.
    pub licences: Vec<LicenceUse>,
    /// Party screening, when a list was given (`check --screening FILE`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub screening: Option<ScreeningReport>,
}

/// The rule engine for one scenario.
#[derive(Debug, Clone)]
pub struct RuleEngine {
    rules: RuleSet,
    scenario: Scenario,
    catalog: Catalog,
    entities: Entities,
    screening: Option<Screening>,
}

/// Training operations of a job: the given FLOPs, or 6 x active parameters x tokens.
pub fn job_flops(job: &xpufleet_model::TrainingJob) -> Option<f64> {
    match job.work().ok()? {
        Work::Flops(f) => Some(f),
        Work::Model {
            active_params,
            tokens,
            ..
        } => Some(6.0 * active_params * tokens),
    }
}

/// "US-BIS" -> "US", "MY-MITI" -> "MY".
fn licence_jurisdiction(l: &Licence) -> String {
    l.authority
        .split(['-', ' ', '/'])
        .next()
        .unwrap_or("")
        .to_ascii_uppercase()
}

fn fmt_tpp(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.1}M", x / 1e6)
    } else {
        format!("{x:.0}")
    }
}

impl RuleEngine {
    pub fn new(rules: RuleSet, scenario: &Scenario, catalog: &Catalog) -> RuleEngine {
        RuleEngine {
            entities: scenario.entities(),
            rules,
            scenario: scenario.clone(),
            catalog: catalog.clone(),
            screening: None,
        }
    }

    /// Screens every party of the scenario (company, owners, operators, lessors, tenants, and
    /// their parents) against `list` once; each question then reports the hits listed on its
    /// date as red flags of the parties involved, and `check` lists them all.
    pub fn with_screening(mut self, list: &ScreeningList, threshold: f64) -> RuleEngine {
        let s = &self.scenario;
        let mut parties: Vec<(String, Vec<String>)> = vec![];
        let mut add = |id: &str, role: &str| match parties.iter_mut().find(|(e, _)| e == id) {
            Some((_, r)) => {
                if !r.iter().any(|x| x == role) {
                    r.push(role.to_string())
                }
            }
            None => parties.push((id.to_string(), vec![role.to_string()])),
        };
        add(&s.company, "company");
        for site in &s.sites {
            add(&site.owner, "site owner");
            add(&site.operator, "operator");
        }
        for p in &s.pools {
            if let Some(o) = &p.owner {
                add(o, "owner");
            }
            if let Acquisition::Leased { from, .. } = &p.acquisition {
                add(from, "lessor");
            }
            for h in &p.history {
                if let Some(c) = &h.consignee {
                    add(c, "consignee");
                }
                if let Some(x) = &h.exporter {
                    add(x, "exporter");
                }
            }
        }
        for c in &s.candidates {
            if let Some(l) = &c.lessor {
                add(l, "lessor");
            }
        }
        for j in &s.jobs {
            add(&j.tenant, "tenant");
        }
        let hits = crate::screening::screen(list, &self.entities, &parties, None, threshold);
        // Parents are screened with their children: list them too.
        let mut screened: Vec<(String, Vec<String>)> = parties.clone();
        for (id, _) in &parties {
            for p in self.entities.chain(id).unwrap_or_default().iter().skip(1) {
                match screened.iter_mut().find(|(e, _)| e == &p.id) {
                    Some((_, r)) => r.push(format!("parent of {id}")),
                    None => screened.push((p.id.clone(), vec![format!("parent of {id}")])),
                }
            }
        }
        self.screening = Some(Screening {
            files: list.files.clone(),
            threshold,
            entries: list.entries.len(),
            screened,
            hits,
        });
        self
    }

    /// The screening hits listed on `date`, if a list was given.
    pub fn screening_report(&self, date: Date) -> Option<ScreeningReport> {
        let s = self.screening.as_ref()?;
        let mut screened: Vec<String> = s.screened.iter().map(|(id, _)| id.clone()).collect();
        for h in &s.hits {
            if !screened.contains(&h.entity) {
                screened.push(h.entity.clone());
            }
        }
        Some(ScreeningReport {
            files: s.files.clone(),
            threshold: s.threshold,
            entries: s.entries,
            screened,
            hits: s
                .hits
                .iter()
                .filter(|h| h.listed_on(date))
                .cloned()
                .collect(),
            sha256: vec![],
            matcher_version: crate::screening::MATCHER_VERSION.into(),
            previous: None,
            new_hits: None,
            cleared_hits: None,
        })
    }

    /// Red-flag findings for the hits, listed on `date`, on the parties of one use (each with
    /// its parent chain).
    fn screening_findings(&self, parties: &[(Party, Option<&str>)], date: Date) -> Vec<Finding> {
        let Some(s) = &self.screening else {
            return vec![];
        };
        let mut out = vec![];
        for (party, id) in parties {
            let Some(id) = id else { continue };
            let chain: Vec<String> = self
                .entities
                .chain(id)
                .map(|c| c.iter().map(|e| e.id.clone()).collect())
                .unwrap_or_else(|_| vec![id.to_string()]);
            for h in s
                .hits
                .iter()
                .filter(|h| chain.contains(&h.entity) && h.listed_on(date))
            {
                let rule = format!("screening/{}", h.entry_id);
                if out.iter().any(|f: &Finding| f.rule == rule) {
                    continue;
                }
                let via = if h.entity == *id {
                    String::new()
                } else {
                    format!(" (parent of {id})")
                };
                out.push(Finding {
                    rule,
                    outcome: Outcome::RedFlag,
                    rule_outcome: RuleOutcome::RedFlag,
                    certain: true,
                    reason: format!(
                        "the {} {}{via}, \"{}\", matches \"{}\" on {} (entry {}, {}; similarity {:.2}, threshold {:.2}): a person must review the match",
                        party.as_str(),
                        h.entity,
                        h.entity_name,
                        h.matched_name,
                        h.source,
                        h.entry_id,
                        h.at,
                        h.score,
                        s.threshold
                    ),
                    citation: Citation {
                        document: format!("{} ({})", h.source, h.at),
                        date: h.start_date.unwrap_or(date),
                        url: None,
                    },
                    would_change: Some(
                        "a person's review dismissing the match as a different party; a licence does not"
                            .into(),
                    ),
                    lifted_by: None,
                    exception: None,
                    duty: None,
                });
            }
        }
        out
    }

    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// The default mode of a pool: leased pools are remote use, bought ones are owned.
    pub fn pool_mode(&self, pool_id: &str) -> Option<UseKind> {
        self.scenario.pool(pool_id).map(|p| match p.acquisition {
            Acquisition::Leased { .. } => UseKind::Remote,
            Acquisition::Bought { .. } => UseKind::Own,
        })
    }

    /// The mode of a candidate: buy is own, lease is remote.
    pub fn candidate_mode(&self, candidate_id: &str) -> Option<UseKind> {
        let c = self
            .scenario
            .candidates
            .iter()
            .find(|c| c.id == candidate_id)?;
        Some(match c.mode {
            CandidateMode::Buy => UseKind::Own,
            CandidateMode::Lease => UseKind::Remote,
        })
    }

    fn target(&self, id: &str, date: Date) -> Option<Target<'_>> {
        let s = &self.scenario;
        if let Some((idx, p)) = s.pools.iter().enumerate().find(|(_, p)| p.id == id) {
            let site = s.site(&p.site);
            let (owner, acquired) = match &p.acquisition {
                Acquisition::Bought { date, .. } => {
                    (p.owner.clone().unwrap_or_else(|| s.company.clone()), *date)
                }
                Acquisition::Leased { from, .. } => {
                    (p.owner.clone().unwrap_or_else(|| from.clone()), None)
                }
            };
            return Some(Target {
                id: p.id.clone(),
                kind: "pool",
                accelerator: p.accelerator.clone(),
                site,
                site_id: p.site.clone(),
                owner: Some(owner),
                operator: site.map(|x| x.operator.clone()),
                quantity: Some(p.accelerators()),
                licences: p.licences.clone(),
                acquired,
                pool_idx: Some(idx),
                country: site.map(|x| x.country.clone()),
                purpose: p.purpose,
                // Without a recorded history, a dated purchase is the export that brought the
                // chips here, from the vendor's country of export.
                ships_from: match (&p.acquisition, p.history.is_empty()) {
                    (Acquisition::Bought { date: Some(_), .. }, true) => self
                        .catalog
                        .get(&p.accelerator)
                        .map(|a| a.vendor_country.clone()),
                    _ => None,
                },
            });
        }
        let c = s.candidates.iter().find(|c| c.id == id)?;
        let site = s.site(&c.site);
        let owner = match c.mode {
            CandidateMode::Buy => Some(s.company.clone()),
            CandidateMode::Lease => c.lessor.clone(),
        };
        Some(Target {
            id: c.id.clone(),
            kind: "candidate",
            accelerator: c.accelerator.clone(),
            site,
            site_id: c.site.clone(),
            owner,
            operator: site.map(|x| x.operator.clone()),
            quantity: c.max_nodes.map(|n| n as u64 * c.accels_per_node as u64),
            licences: c.licences.clone(),
            // A purchase happens on the day asked about; a lease acquires nothing.
            acquired: match c.mode {
                CandidateMode::Buy => Some(date),
                CandidateMode::Lease => None,
            },
            pool_idx: None,
            country: site.map(|x| x.country.clone()),
            purpose: c.purpose,
            // A purchase ships from where the candidate says, by default from the vendor's
            // country of export; a lease moves nothing.
            ships_from: match c.mode {
                CandidateMode::Buy => c.ships_from.clone().or_else(|| {
                    self.catalog
                        .get(&c.accelerator)
                        .map(|a| a.vendor_country.clone())
                }),
                CandidateMode::Lease => None,
            },
        })
    }

    /// Headquarters countries of a party and its ultimate parent.
    fn hq(&self, id: Option<&str>) -> Result<Vec<String>, String> {
        let id = id.ok_or_else(|| "unknown party".to_string())?;
        self.entities
            .hq_countries(id)
            .map(|v| v.into_iter().map(String::from).collect())
            .map_err(|e| e.to_string())
    }

    fn test(&self, r: &BoundRule, f: &Facts<'_>) -> Test {
        let w = &r.rule.when;
        let mut t = Test::yes();
        let list = |v: &[String]| v.join("/");
        if !w.eccn.is_empty() {
            let (tri, unknown) = match f.class {
                None => (
                    Tri::Unknown,
                    Some("the accelerator is not in the catalog".into()),
                ),
                // The classifier never gives an accelerator 3A090.c (co-packaged HBM), so a
                // list of only that is settled even when the figures are not.
                Some(c) if c.status == Status::Indeterminate && !could_be_any(&w.eccn) => {
                    (Tri::No, None)
                }
                Some(c) if c.status == Status::Indeterminate => (
                    Tri::Unknown,
                    Some(format!(
                        "classification is indeterminate (missing {})",
                        c.missing.join(", ")
                    )),
                ),
                Some(c) => {
                    let label = c.eccn.map_or("none", |e| e.as_str());
                    let hit = w.eccn.iter().any(|e| e.eq_ignore_ascii_case(label));
                    if hit {
                        t.matched.push(format!("{} is {label}", c.id));
                    }
                    (Tri::from_bool(hit), None)
                }
            };
            t.and(
                tri,
                || format!("a chip not classified {}", list(&w.eccn)),
                unknown,
            );
        }
        if !w.accelerator.is_empty() {
            let hit = w.accelerator.iter().any(|x| x == f.accel_id);
            if hit {
                t.matched.push(format!("the chip is {}", f.accel_id));
            }
            // The id is known even when the catalog lacks the part.
            t.and(
                Tri::from_bool(hit),
                || format!("an accelerator other than {}", list(&w.accelerator)),
                None,
            );
        }
        let origin = f.accel.map(|a| a.vendor_country.as_str());
        for (negate, v) in [(false, &w.origin), (true, &w.not_origin)] {
            if v.is_empty() {
                continue;
            }
            let tri = match origin {
                None => Tri::Unknown,
                Some(o) => {
                    let hit = v.iter().any(|x| x.eq_ignore_ascii_case(o));
                    Tri::from_bool(hit != negate)
                }
            };
            t.and(
                tri,
                || {
                    if negate {
                        format!("a chip of {} origin", list(v))
                    } else {
                        format!("a chip not of {} origin", list(v))
                    }
                },
                Some("the accelerator's origin is unknown".into()),
            );
        }
        let country_tests: [(bool, &Vec<String>, bool); 4] = [
            (false, &w.site_country, false),
            (true, &w.not_site_country, false),
            (false, &w.site_group, true),
            (true, &w.not_site_group, true),
        ];
        for (negate, v, groups) in country_tests {
            if v.is_empty() {
                continue;
            }
            let tri = match f.country {
                None => Tri::Unknown,
                Some(c) => {
                    let hit = v.iter().any(|x| {
                        if groups {
                            self.rules.in_group_on(c, x, f.date)
                        } else {
                            x.eq_ignore_ascii_case(c)
                        }
                    });
                    if hit && !negate {
                        t.matched.push(format!("the site is in {}", list(v)));
                    }
                    Tri::from_bool(hit != negate)
                }
            };
            t.and(
                tri,
                || {
                    if negate {
                        format!("a site in {}", list(v))
                    } else {
                        format!("a site outside {}", list(v))
                    }
                },
                Some("the site is unknown".into()),
            );
        }
        let chosen: Vec<&(Party, Option<&str>)> = f
            .parties
            .iter()
            .filter(|(p, _)| w.parties.is_empty() || w.parties.contains(p))
            .collect();
        for (negate, v, groups) in [
            (false, &w.hq_country, false),
            (false, &w.hq_group, true),
            (true, &w.not_hq_group, true),
        ] {
            if v.is_empty() {
                continue;
            }
            let mut any_hit: Vec<String> = vec![];
            let mut unknown: Vec<String> = vec![];
            for (party, id) in &chosen {
                match self.hq(*id) {
                    Err(e) => {
                        unknown.push(format!("{} {}: {e}", party.as_str(), id.unwrap_or("?")))
                    }
                    Ok(hqs) => {
                        let hit = hqs.iter().any(|c| {
                            v.iter().any(|x| {
                                if groups {
                                    self.rules.in_group_on(c, x, f.date)
                                } else {
                                    x.eq_ignore_ascii_case(c)
                                }
                            })
                        });
                        if hit {
                            any_hit.push(party.as_str().to_string());
                            if !negate {
                                t.matched.push(format!(
                                    "{} {} is headquartered (or ultimately owned) in {}",
                                    party.as_str(),
                                    id.unwrap_or("?"),
                                    list(v)
                                ));
                            }
                        }
                    }
                }
            }
            let tri = match (!any_hit.is_empty(), unknown.is_empty()) {
                (true, _) => Tri::from_bool(!negate),
                (false, true) => Tri::from_bool(negate),
                (false, false) => Tri::Unknown,
            };
            let who = if negate {
                chosen
                    .iter()
                    .map(|(p, _)| p.as_str())
                    .collect::<Vec<_>>()
                    .join(" or ")
            } else {
                any_hit.join(" and ")
            };
            t.and(
                tri,
                || {
                    if negate {
                        format!("no {who} headquartered in {}", list(v))
                    } else {
                        format!(
                            "an {who} not headquartered in {} (nor its ultimate parent)",
                            list(v)
                        )
                    }
                },
                Some(unknown.join("; ")),
            );
        }
        self.test_chip_figures(w, f, &mut t);
        if !w.from_country.is_empty() {
            let tri = match f.from_country {
                // A use is not a move: the rule governs exports and transits only.
                None => Tri::No,
                Some(None) => Tri::Unknown,
                Some(Some(c)) => {
                    let hit = w.from_country.iter().any(|x| x.eq_ignore_ascii_case(c));
                    if hit {
                        t.matched.push(format!("the chips leave {c}"));
                    }
                    Tri::from_bool(hit)
                }
            };
            t.and(
                tri,
                || format!("chips that do not leave {}", list(&w.from_country)),
                Some("the history does not record the country the chips left".into()),
            );
        }
        if !w.mode.is_empty() {
            let hit = w.mode.contains(&f.mode);
            let names: Vec<&str> = w.mode.iter().map(|m| mode_str(*m)).collect();
            t.and(
                Tri::from_bool(hit),
                || format!("a use other than {}", names.join("/")),
                None,
            );
        }
        if !w.uses.is_empty() {
            let names: Vec<&str> = w.uses.iter().map(|u| u.as_str()).collect();
            let tri = match f.purpose {
                // A pool that may be used for anything may be used for this.
                None => {
                    t.matched
                        .push(format!("the use may be {} (none given)", names.join("/")));
                    Tri::Yes
                }
                Some(p) => {
                    let hit = w.uses.contains(&p);
                    if hit {
                        t.matched.push(format!("the use is {p}"));
                    }
                    Tri::from_bool(hit)
                }
            };
            let others: Vec<&str> = Purpose::ALL
                .iter()
                .filter(|p| !w.uses.contains(p))
                .map(|p| p.as_str())
                .collect();
            t.and(
                tri,
                || {
                    if others.is_empty() {
                        format!("a use other than {}", names.join("/"))
                    } else {
                        format!("{} rather than {}", others.join("/"), names.join("/"))
                    }
                },
                None,
            );
        }
        if let Some(min) = w.min_workload_flops {
            let tri = match f.workload {
                None => Tri::Unknown,
                Some(x) => Tri::from_bool(x > min),
            };
            t.and(
                tri,
                || format!("a workload of at most {min:e} operations"),
                Some("the workload's training operations are unknown".into()),
            );
        }
        t
    }

    /// The conditions on the chip's own figures: data-centre part, TPP bounds, memory
    /// bandwidth, interconnect, and "reaches any of".
    fn test_chip_figures(&self, w: &crate::rules::Conditions, f: &Facts<'_>, t: &mut Test) {
        let unknown_chip = || "the accelerator is not in the catalog".to_string();
        if let Some(dc) = w.data_center {
            let tri = match f.accel {
                None => Tri::Unknown,
                Some(a) => Tri::from_bool(a.data_center == dc),
            };
            if tri == Tri::Yes {
                t.matched.push(if dc {
                    "a data-centre part".into()
                } else {
                    "not a data-centre part".into()
                });
            }
            t.and(
                tri,
                || {
                    if dc {
                        "a part not designed or marketed for data centres".into()
                    } else {
                        "a data-centre part".into()
                    }
                },
                Some(unknown_chip()),
            );
        }
        let tpp = f.class.map(|c| (c.tpp, c.tpp_exact));
        if let Some(min) = w.min_tpp {
            let tri = match tpp {
                Some((Some(v), _)) if v >= min => Tri::Yes,
                Some((Some(_), true)) => Tri::No,
                _ => Tri::Unknown,
            };
            if tri == Tri::Yes {
                t.matched.push(format!("TPP at least {min:.0}"));
            }
            t.and(
                tri,
                || format!("a chip with TPP below {min:.0}"),
                Some("the chip's TPP is unknown".into()),
            );
        }
        if let Some(max) = w.below_tpp {
            let tri = match tpp {
                Some((Some(v), _)) if v >= max => Tri::No,
                Some((Some(_), true)) => Tri::Yes,
                _ => Tri::Unknown,
            };
            if tri == Tri::Yes {
                t.matched.push(format!("TPP below {max:.0}"));
            }
            t.and(
                tri,
                || format!("a chip with TPP of {max:.0} or more"),
                Some("the chip's TPP is unknown".into()),
            );
        }
        let mem = f
            .accel
            .map(|a| (a.memory_tbps.get(), a.memory_tbps.is_unknown()));
        let link = f
            .accel
            .map(|a| (a.interconnect_gbps.get(), a.interconnect_gbps.is_unknown()));
        // A figure test: Yes / No from a known value, No for an unsupported feature, Unknown.
        let ge = |v: Option<(Option<f64>, bool)>, x: f64| match v {
            Some((Some(y), _)) => Tri::from_bool(y >= x),
            Some((None, false)) => Tri::No,
            _ => Tri::Unknown,
        };
        if let Some(max) = w.below_memory_tbps {
            let tri = !ge(mem, max);
            if tri == Tri::Yes {
                t.matched.push(format!("memory bandwidth below {max} TB/s"));
            }
            t.and(
                tri,
                || format!("a chip with memory bandwidth of {max} TB/s or more"),
                Some("the chip's memory bandwidth is unknown".into()),
            );
        }
        if let Some(min) = w.min_interconnect_gbps {
            let tri = ge(link, min);
            if tri == Tri::Yes {
                t.matched
                    .push(format!("interconnect at least {min:.0} GB/s"));
            }
            t.and(
                tri,
                || format!("a chip with interconnect below {min:.0} GB/s"),
                Some("the chip's interconnect is unknown".into()),
            );
        }
        if let Some(r) = &w.reaches {
            let mut tri = Tri::No;
            let mut what = vec![];
            if let Some(m) = r.memory_tbps {
                tri = tri.or(ge(mem, m));
                what.push(format!("memory bandwidth {m} TB/s"));
            }
            if let Some(l) = r.interconnect_gbps {
                tri = tri.or(ge(link, l));
                what.push(format!("interconnect {l:.0} GB/s"));
            }
            let what = what.join(" or ");
            if tri == Tri::Yes {
                t.matched.push(format!("the chip reaches {what}"));
            }
            t.and(
                tri,
                || format!("a chip below {what}"),
                Some(format!("the chip's figures ({what}) are unknown")),
            );
        }
    }

    fn facts<'a>(
        &'a self,
        target: &'a Target<'a>,
        class: Option<&'a Classification>,
        user: &'a str,
        mode: UseKind,
        workload: Option<f64>,
        date: Date,
    ) -> Facts<'a> {
        Facts {
            accel_id: &target.accelerator,
            accel: self.catalog.get(&target.accelerator),
            class,
            country: target.country.as_deref(),
            date,
            // A purchase is an export from where the chips ship; any other use moves nothing.
            from_country: (mode == UseKind::Own)
                .then_some(target.ships_from.as_deref())
                .filter(Option::is_some),
            purpose: None,
            parties: vec![
                (Party::Owner, target.owner.as_deref()),
                (Party::Operator, target.operator.as_deref()),
                (Party::User, Some(user)),
            ],
            mode,
            workload,
        }
    }

    /// TPP of one accelerator unit (per-chip TPP x chips per unit), 0 when unknown.
    fn unit_tpp(&self, accel: &str, date: Date) -> f64 {
        self.catalog.get(accel).map_or(0.0, |a| {
            classify(a, date).tpp.unwrap_or(0.0) * a.chips_per_unit.max(1) as f64
        })
    }

    fn limit_use(&self, r: &BoundRule, target: &Target<'_>, date: Date) -> Option<LimitUse> {
        let limit = r.rule.limit.as_ref()?;
        let year_of = |t: &Target<'_>| t.acquired.unwrap_or(date).year();
        let key = |t: &Target<'_>| -> String {
            match limit.per {
                LimitScope::ConsigneeYear => format!(
                    "consignee {}, {}",
                    t.owner.as_deref().unwrap_or("?"),
                    year_of(t)
                ),
                LimitScope::Consignee => format!("consignee {}", t.owner.as_deref().unwrap_or("?")),
                LimitScope::Country => {
                    format!("country {}", t.site.map_or("?", |s| s.country.as_str()))
                }
            }
        };
        let my_key = key(target);
        // Pools before this one (all pools, for a candidate) that the rule also catches count
        // first: each is seen from its owner's side, as the export it was.
        let upto = target.pool_idx.unwrap_or(self.scenario.pools.len());
        let mut used = 0.0;
        for p in &self.scenario.pools[..upto] {
            let Some(pt) = self.target(&p.id, date) else {
                continue;
            };
            if key(&pt) != my_key {
                continue;
            }
            if r.rule.scope == RuleScope::Acquisition
                && pt.acquired.is_some_and(|a| a < r.rule.effective_from)
            {
                continue;
            }
            let class = self.catalog.get(&pt.accelerator).map(|a| classify(a, date));
            let owner = pt.owner.clone().unwrap_or_default();
            let f = self.facts(&pt, class.as_ref(), &owner, UseKind::Own, None, date);
            if self.test(r, &f).tri != Tri::No {
                used += p.accelerators() as f64 * self.unit_tpp(&p.accelerator, date);
            }
        }
        let this = target
            .quantity
            .map(|q| q as f64 * self.unit_tpp(&target.accelerator, date));
        let exceeded = match this {
            Some(x) => used + x > limit.tpp,
            None => used >= limit.tpp,
        };
        Some(LimitUse {
            rule: r.id.clone(),
            scope: my_key,
            limit_tpp: limit.tpp,
            used_tpp: used,
            this_tpp: this,
            headroom_tpp: (limit.tpp - used).max(0.0),
            exceeded,
        })
    }

    /// The licence that covers `target` under rule `r` on `date`, or why listed ones do not.
    fn covering_licence(
        &self,
        r: &BoundRule,
        target: &Target<'_>,
        date: Date,
        why_not: &mut Vec<String>,
    ) -> Option<String> {
        let country = target.country.as_deref();
        for l in &self.scenario.licences {
            let listed = target.licences.contains(&l.id);
            // The parties that hold the chips hold the licences for them; an end user's own
            // licence counts only when the scenario lists it on the target.
            let holder_ok = [target.owner.as_deref(), target.operator.as_deref()]
                .into_iter()
                .flatten()
                .any(|p| p == l.holder);
            if !listed && !holder_ok {
                continue;
            }
            let mut problems = vec![];
            if licence_jurisdiction(l) != r.jurisdiction.to_ascii_uppercase() {
                problems.push(format!(
                    "it is a {} licence, the rule is {}",
                    licence_jurisdiction(l),
                    r.jurisdiction
                ));
            }
            if !(l.valid_from <= date && date <= l.valid_until) {
                problems.push(format!("it is valid {} to {}", l.valid_from, l.valid_until));
            }
            if !l.accelerators.is_empty() && !l.accelerators.contains(&target.accelerator) {
                problems.push(format!("it does not cover {}", target.accelerator));
            }
            if !l.countries.is_empty()
                && !country.is_some_and(|c| l.countries.iter().any(|x| x.eq_ignore_ascii_case(c)))
            {
                problems.push(format!("it does not cover {}", country.unwrap_or("?")));
            }
            if let (Some(max), Some(q)) = (l.max_accels, target.quantity) {
                if q > max {
                    problems.push(format!("it covers {max} accelerators, not {q}"));
                }
            }
            problems.extend(self.drawdown_problem(l, target));
            if problems.is_empty() {
                return Some(l.id.clone());
            }
            if listed
                || r.jurisdiction
                    .eq_ignore_ascii_case(&licence_jurisdiction(l))
            {
                why_not.push(format!(
                    "licence {} does not cover it: {}",
                    l.id,
                    problems.join("; ")
                ));
            }
        }
        None
    }

    /// Whether the licence has enough left for `target`: a pool under it fits in what the pools
    /// before it (file order) leave; a candidate needs some quantity and value left after all
    /// the pools (how many it may then have is the planner's to keep within what is left).
    fn drawdown_problem(&self, l: &Licence, target: &Target<'_>) -> Option<String> {
        let upto = target.pool_idx.unwrap_or(self.scenario.pools.len());
        let before = self.drawdown(l, upto);
        let (this_q, this_v) = match target.pool_idx {
            Some(i) if draws_on(&self.scenario.pools[i], &l.id) => (
                target.quantity.unwrap_or(0),
                l.value
                    .as_ref()
                    .and_then(|v| self.pool_value(&self.scenario.pools[i], v)),
            ),
            // A pool that does not list the licence draws nothing (it is covered as a holder's),
            // and a candidate's line is the planner's to keep within what is left.
            _ => (0, Some(0.0)),
        };
        if let Some(q) = l.quantity {
            let fits = match target.pool_idx {
                Some(_) => before.0 + this_q <= q,
                None => before.0 < q,
            };
            if !fits {
                return Some(format!(
                    "it allows {q} accelerators and {} are drawn before this{}",
                    before.0,
                    if this_q > 0 {
                        format!(" ({this_q} more here)")
                    } else {
                        String::new()
                    }
                ));
            }
        }
        if let (Some(v), Some(used)) = (&l.value, before.1) {
            let this = this_v.unwrap_or(0.0);
            let fits = match target.pool_idx {
                Some(_) => used + this <= v.amount,
                None => used < v.amount,
            };
            if !fits {
                return Some(format!(
                    "its value of {v} is drawn down to {:.0} {} before this",
                    (v.amount - used).max(0.0),
                    v.currency
                ));
            }
        }
        None
    }

    /// The purchase value of a bought pool in `like`'s currency; `None` for a lease or a price
    /// that cannot be converted.
    fn pool_value(&self, p: &Pool, like: &Money) -> Option<f64> {
        pool_value(&self.scenario, p, like)
    }

    /// Accelerators and value (in the licence's currency; `None` when it has no value or a
    /// price cannot be converted) drawn from `l` by the pools before index `upto`.
    fn drawdown(&self, l: &Licence, upto: usize) -> (u64, Option<f64>) {
        licence_drawdown(&self.scenario, l, upto)
    }

    /// Every licence's drawdown by the scenario's pools, with an alert from 80% used.
    pub fn licence_use(&self) -> Vec<LicenceUse> {
        let s = &self.scenario;
        s.licences
            .iter()
            .map(|l| {
                let (used, v_used) = self.drawdown(l, s.pools.len());
                let mut share: f64 = 0.0;
                if let Some(q) = l.quantity.filter(|&q| q > 0) {
                    share = share.max(used as f64 / q as f64);
                }
                if let (Some(v), Some(u)) = (&l.value, v_used) {
                    if v.amount > 0.0 {
                        share = share.max(u / v.amount);
                    }
                }
                let alert = (share >= LICENCE_ALERT_SHARE).then(|| {
                    if share > 1.0 {
                        format!(
                            "licence {} is over-drawn ({:.0}% used): the pools beyond it are not covered by it",
                            l.id,
                            share * 100.0
                        )
                    } else {
                        format!(
                            "licence {} is {:.0}% used: apply for more before planning beyond it",
                            l.id,
                            share * 100.0
                        )
                    }
                });
                LicenceUse {
                    id: l.id.clone(),
                    quantity: l.quantity,
                    used,
                    remaining: l.quantity.map(|q| q.saturating_sub(used)),
                    value: l.value.clone(),
                    value_used: l
                        .value
                        .as_ref()
                        .and_then(|v| v_used.map(|u| Money::new(u, v.currency.clone()))),
                    share_used: share,
                    alert,
                    pools: s
                        .pools
                        .iter()
                        .filter(|p| draws_on(p, &l.id))
                        .map(|p| p.id.clone())
                        .collect(),
                }
            })
            .collect()
    }

    fn would_change(&self, r: &BoundRule, t: &Test, licensable: bool) -> String {
        if let Some(w) = &r.rule.would_change {
            return w.clone();
        }
        let mut opts: Vec<String> = vec![];
        if licensable {
            opts.push(format!("a {} licence covering it", r.jurisdiction));
        }
        // What the user can change (owner, site, mode, workload) comes first; "another chip"
        // is offered only when nothing else would do.
        let (chip, situational): (Vec<&String>, Vec<&String>) = t
            .lifts
            .iter()
            .partition(|l| l.starts_with("a chip") || l.starts_with("an accelerator"));
        if situational.is_empty() && opts.is_empty() {
            opts.extend(chip.into_iter().cloned());
        } else {
            opts.extend(situational.into_iter().cloned());
        }
        if opts.is_empty() {
            return "nothing in the scenario; only a change of the rule".into();
        }
        let n = opts.len();
        let text = if n == 1 {
            opts.remove(0)
        } else {
            let last = opts.pop().unwrap_or_default();
            format!("{}, or {last}", opts.join(", "))
        };
        format!("{text} would lift it")
    }

    /// The rules that ask for owner and operator verification of this use: none for chips
    /// that are not controlled; every controlled (or indeterminate) one under the strict
    /// policy; else the rules in force with `verification = true` that apply or may apply.
    fn verification_rules(&self, class: Option<&Classification>, facts: &Facts<'_>) -> Vec<String> {
        if matches!(class, Some(c) if c.status == Status::NotControlled) {
            return vec![];
        }
        if self.scenario.verification == VerificationPolicy::Strict {
            return vec!["xpufleet/strict-verification".into()];
        }
        self.rules
            .rules
            .iter()
            .filter(|r| r.rule.verification && r.in_force(facts.date))
            .filter(|r| self.test(r, facts).tri != Tri::No)
            .map(|r| r.id.clone())
            .collect()
    }

    /// `required`: the rules that ask for verification (none: not required).
    fn verification(
        &self,
        target: &Target<'_>,
        required: Vec<String>,
        date: Date,
    ) -> VerificationStatus {
        let mut missing = vec![];
        let rules = required;
        let required = !rules.is_empty();
        if !required {
            return VerificationStatus {
                required,
                rules,
                verified: true,
                missing,
            };
        }
        let Some(site) = target.site else {
            missing.push(format!("site {:?} is not in the scenario", target.site_id));
            return VerificationStatus {
                required,
                rules,
                verified: false,
                missing,
            };
        };
        for (role, who) in [
            (Role::Owner, target.owner.as_deref()),
            (Role::Operator, target.operator.as_deref()),
        ] {
            let role_name = match role {
                Role::Owner => "owner",
                Role::Operator => "operator",
            };
            let Some(who) = who else {
                missing.push(format!("the {role_name} is not known"));
                continue;
            };
            let records: Vec<_> = site
                .verifications
                .iter()
                .filter(|v| v.role == role && v.entity == who)
                .collect();
            if records.is_empty() {
                let others: Vec<&str> = site
                    .verifications
                    .iter()
                    .filter(|v| v.role == role)
                    .map(|v| v.entity.as_str())
                    .collect();
                missing.push(if others.is_empty() {
                    format!("no {role_name} verification of {who} at {}", site.id)
                } else {
                    format!(
                        "no {role_name} verification of {who} at {} (records on file are for {})",
                        site.id,
                        others.join(", ")
                    )
                });
                continue;
            }
            let Some(v) = records.iter().find(|v| v.valid_on(date)) else {
                let spans: Vec<String> = records
                    .iter()
                    .map(|v| format!("{} valid {} to {}", v.evidence, v.date, v.valid_until))
                    .collect();
                missing.push(format!(
                    "{role_name} verification of {who} at {} not valid on {date} ({})",
                    site.id,
                    spans.join("; ")
                ));
                continue;
            };
            if let (Some(rec), Some(e)) = (&v.hq_country, self.entities.get(who)) {
                if !rec.eq_ignore_ascii_case(&e.hq_country) {
                    missing.push(format!(
                        "{role_name} verification {} records HQ {rec}, but {who} is headquartered in {}",
                        v.evidence, e.hq_country
                    ));
                }
            }
            if let (Some(rec), Ok(top)) = (&v.ultimate_parent, self.entities.ultimate_parent(who)) {
                if rec != &top.id {
                    missing.push(format!(
                        "{role_name} verification {} records ultimate parent {rec}, but {who}'s is {}",
                        v.evidence, top.id
                    ));
                }
            }
        }
        VerificationStatus {
            required,
            rules,
            verified: missing.is_empty(),
            missing,
        }
    }

    /// Evaluates one use in full, as the use the pool or candidate declares (`use`), or as
    /// either use when it declares none.
    pub fn evaluate(&self, req: &UseRequest) -> Evaluation {
        self.evaluate_as(req, None)
    }

    /// Evaluates one use in full as training or as serving: a rule that names one use (`use`
    /// in a rule pack) applies to that use only.
    pub fn evaluate_for(&self, req: &UseRequest, purpose: Purpose) -> Evaluation {
        self.evaluate_as(req, Some(purpose))
    }

    fn evaluate_as(&self, req: &UseRequest, asked: Option<Purpose>) -> Evaluation {
        let date = req.date;
        let Some(target) = self.target(&req.target, date) else {
            let reason = format!(
                "{:?} is neither a pool nor a candidate of the scenario",
                req.target
            );
            return Evaluation {
                target: req.target.clone(),
                target_kind: "unknown",
                user: req.user.clone(),
                mode: req.kind,
                purpose: asked,
                date,
                workload_flops: req.workload_flops,
                accelerator: String::new(),
                site: String::new(),
                site_country: None,
                site_groups: vec![],
                owner: None,
                operator: None,
                classification: None,
                verdict: Verdict {
                    outcome: Outcome::Prohibited,
                    rules: vec![],
                    reasons: vec![reason.clone()],
                    would_change: None,
                    verified: false,
                    usable: false,
                    review: None,
                },
                findings: vec![],
                notices: vec![],
                limits: vec![],
                verification: VerificationStatus {
                    required: true,
                    rules: vec![],
                    verified: false,
                    missing: vec![reason],
                },
            };
        };
        let class = self
            .catalog
            .get(&target.accelerator)
            .map(|a| classify(a, date));
        let purpose = asked.or(target.purpose);
        let mut facts = self.facts(
            &target,
            class.as_ref(),
            &req.user,
            req.kind,
            req.workload_flops,
            date,
        );
        facts.purpose = purpose;
        let mut findings = vec![];
        let mut notices = vec![];
        let mut limits = vec![];
        let mut extra_reasons = vec![];
        let pool = target.pool_idx.map(|i| &self.scenario.pools[i]);
        let has_history = pool.is_some_and(|p| !p.history.is_empty());
        let mut history_matters = false;
        for r in self
            .rules
            .rules
            .iter()
            .filter(|r| r.in_force(date) && !r.rule.verification)
        {
            let t = self.test(r, &facts);
            if t.tri == Tri::No {
                continue;
            }
            let certain = t.tri == Tri::Yes;
            let why = if certain {
                t.matched.join("; ")
            } else {
                format!("may apply: {}", t.unknown.join("; "))
            };
            let base = |outcome: Outcome, reason: String| Finding {
                rule: r.id.clone(),
                outcome,
                rule_outcome: r.rule.outcome,
                certain,
                reason,
                citation: r.citation.clone(),
                would_change: None,
                lifted_by: None,
                exception: r.rule.exception.clone(),
                duty: r.rule.duty.clone(),
            };
            let summary = &r.rule.summary;
            if r.rule.scope == RuleScope::Acquisition {
                // With a recorded history, export rules are judged on each recorded move, on
                // its own date (below), not on this use.
                if has_history {
                    continue;
                }
                history_matters = true;
                if let Some(a) = target.acquired {
                    if a < r.rule.effective_from {
                        if certain && r.rule.outcome.outcome() > Outcome::Allowed {
                            notices.push(base(
                                Outcome::Allowed,
                                format!(
                                    "acquired {a}, before this rule took effect on {}: not caught (a re-export or transfer would be). {summary}",
                                    r.rule.effective_from
                                ),
                            ));
                        }
                        continue;
                    }
                }
            }
            if r.before_compliance(date) {
                if certain {
                    notices.push(base(
                        Outcome::Allowed,
                        format!(
                            "compliance required from {}: would then be {}. {summary}",
                            r.rule
                                .compliance_from
                                .map_or(String::new(), |d| d.to_string()),
                            r.rule.outcome.outcome()
                        ),
                    ));
                }
                continue;
            }
            if r.rule.outcome == RuleOutcome::Notice {
                if certain {
                    notices.push(base(Outcome::Allowed, format!("{summary} ({why})")));
                }
                continue;
            }
            let mut outcome = r.rule.outcome.outcome();
            let mut reason = format!("{summary} ({why})");
            if !certain {
                if outcome < Outcome::RedFlag {
                    continue;
                }
                outcome = Outcome::RedFlag;
            }
            let mut exceeded = false;
            if let (Some(lim), Some(lu)) = (&r.rule.limit, self.limit_use(r, &target, date)) {
                if lu.exceeded {
                    exceeded = true;
                    outcome = outcome.max(lim.otherwise.outcome());
                    reason.push_str(&format!(
                        "; beyond its limit of {} TPP for {} ({} used before this{})",
                        fmt_tpp(lu.limit_tpp),
                        lu.scope,
                        fmt_tpp(lu.used_tpp),
                        lu.this_tpp
                            .map_or(String::new(), |x| format!(", this {}", fmt_tpp(x)))
                    ));
                } else {
                    reason.push_str(&format!(
                        "; within its limit: {} of {} TPP free for {}",
                        fmt_tpp(lu.headroom_tpp),
                        fmt_tpp(lu.limit_tpp),
                        lu.scope
                    ));
                }
                limits.push(lu);
            }
            let licensable = r.licensable() || (exceeded && outcome >= Outcome::LicenceRequired);
            let mut f = base(outcome, reason);
            f.would_change = Some(self.would_change(r, &t, licensable));
            if licensable && outcome >= Outcome::RedFlag {
                let mut why_not = vec![];
                match self.covering_licence(r, &target, date, &mut why_not) {
                    Some(lid) => {
                        f.outcome = Outcome::Allowed;
                        f.reason.push_str(&format!("; lifted by licence {lid}"));
                        f.lifted_by = Some(lid);
                    }
                    None => extra_reasons.extend(why_not),
                }
            }
            findings.push(f);
        }
        self.supersede(&mut findings, &mut notices);
        findings.extend(self.screening_findings(&facts.parties, date));
        if let Some(p) = pool.filter(|_| has_history) {
            let (f, n) = self.history(p, &target, date, false);
            findings.extend(f);
            notices.extend(n);
        } else if let Some((p, ev)) =
            pool.and_then(|p| Some((p, self.purchase_as_export(p, &target)?)))
        {
            // The purchase, judged as the export it was under the rules then in force: a rule
            // that caught it taints the chips even once that rule is superseded or gone, just
            // as a recorded history would. Rules still in force on this date were judged above.
            let mut p = p.clone();
            p.history = vec![ev];
            let (f, _) = self.history(&p, &target, date, true);
            for x in f.into_iter().filter(|x| x.certain) {
                if !findings.iter().any(|y| y.rule == x.rule) {
                    findings.push(x);
                }
            }
        }
        if !has_history && history_matters && target.kind == "pool" {
            notices.push(Finding {
                rule: "xpufleet/no-history".into(),
                outcome: Outcome::Allowed,
                rule_outcome: RuleOutcome::Notice,
                certain: true,
                reason: match (target.acquired, target.ships_from.as_deref()) {
                    (Some(a), Some(from)) => format!(
                        "no acquisition history recorded for this pool: its purchase on {a} is judged as one export from {from} (the vendor's country of export) to {}, under the rules in force then (a rule that caught it taints the chips for good) and now; record its [[pool.history]] to have each export, re-export and transfer judged on its own date",
                        target.site_id
                    ),
                    (a, _) => format!(
                        "no acquisition history recorded for this pool: export rules are judged as if the chips were exported to {} {}; record its [[pool.history]] to have each export, re-export and transfer judged on its own date",
                        target.site_id,
                        a.map_or("on the date asked about".to_string(), |a| format!("on {a}"))
                    ),
                },
                citation: Citation {
                    document: "xpufleet: the scenario records no acquisition history".into(),
                    date,
                    url: None,
                },
                would_change: None,
                lifted_by: None,
                exception: None,
                duty: None,
            });
        }
        findings.sort_by(|a, b| b.outcome.cmp(&a.outcome).then_with(|| a.rule.cmp(&b.rule)));
        notices.sort_by(|a, b| a.rule.cmp(&b.rule).then_with(|| a.reason.cmp(&b.reason)));
        let outcome = findings.first().map_or(Outcome::Allowed, |f| f.outcome);
        let deciding: Vec<&Finding> = findings
            .iter()
            .filter(|f| {
                f.outcome == outcome && (outcome > Outcome::Allowed || f.lifted_by.is_some())
            })
            .collect();
        let required = self.verification_rules(class.as_ref(), &facts);
        let verification = self.verification(&target, required, date);
        // Missing verification comes first: it alone keeps every engine off the target, and
        // `Verdict::summary` shows the first reason.
        let mut reasons: Vec<String> = verification.missing.clone();
        reasons.extend(deciding.iter().map(|f| format!("{}: {}", f.rule, f.reason)));
        if outcome > Outcome::Allowed {
            extra_reasons.sort();
            extra_reasons.dedup();
            reasons.extend(extra_reasons);
        }
        let would_change = if outcome > Outcome::Allowed {
            let parts: Vec<String> = deciding
                .iter()
                .filter_map(|f| {
                    f.would_change
                        .as_ref()
                        .map(|w| format!("{} by {}: {w}", f.outcome, f.rule))
                })
                .collect();
            (!parts.is_empty()).then(|| parts.join("; "))
        } else {
            None
        };
        let site_country = target.site.map(|s| s.country.clone());
        Evaluation {
            target: target.id.clone(),
            target_kind: target.kind,
            user: req.user.clone(),
            mode: req.kind,
            purpose,
            date,
            workload_flops: req.workload_flops,
            accelerator: target.accelerator.clone(),
            site: target.site_id.clone(),
            site_groups: site_country
                .as_deref()
                .map(|c| self.rules.groups_of(c, date))
                .unwrap_or_default(),
            site_country,
            owner: target.owner.clone(),
            operator: target.operator.clone(),
            verdict: Verdict {
                outcome,
                rules: deciding.iter().map(|f| f.rule.clone()).collect(),
                reasons,
                would_change,
                verified: verification.verified,
                usable: false,
                review: None,
            }
            .review_with(&self.scenario.reviews, &target.id, &req.user, date),
            classification: class,
            findings,
            notices,
            limits,
            verification,
        }
    }

    /// Drops the findings of rules that a certain finding's rule supersedes (the 2026-01
    /// case-by-case review replaces the presumption of denial), keeping them as notices. The
    /// result does not depend on the order the rules were loaded in.
    fn supersede(&self, findings: &mut Vec<Finding>, notices: &mut Vec<Finding>) {
        let mut gone: BTreeMap<String, String> = BTreeMap::new();
        for f in findings.iter().filter(|f| f.certain) {
            if let Some(r) = self.rules.rule(&f.rule) {
                for s in &r.rule.supersedes {
                    gone.entry(s.clone()).or_insert_with(|| f.rule.clone());
                }
            }
        }
        if gone.is_empty() {
            return;
        }
        let (keep, dropped): (Vec<Finding>, Vec<Finding>) = std::mem::take(findings)
            .into_iter()
            .partition(|f| !gone.contains_key(&f.rule) || gone.get(&f.rule) == Some(&f.rule));
        *findings = keep;
        for mut f in dropped {
            let by = &gone[&f.rule];
            f.reason = format!("superseded for this use by {by}: {}", f.reason);
            f.outcome = Outcome::Allowed;
            f.lifted_by = None;
            notices.push(f);
        }
    }

    /// Judges each recorded move of a pool's chips, up to `date`, against the rules in force
    /// on the move's own date. An unlicensed move that needed a licence taints the pool for
    /// good: the finding stays on every later date (at least a red flag, the rule's own outcome
    /// while it is in force), even after the rule that caught it is superseded.
    ///
    /// `implicit`: the history is the purchase itself (no `[[pool.history]]`), so the pool's
    /// own licences are the ones that could have covered it.
    fn history(
        &self,
        pool: &xpufleet_model::Pool,
        target: &Target<'_>,
        date: Date,
        implicit: bool,
    ) -> (Vec<Finding>, Vec<Finding>) {
        let s = &self.scenario;
        let mut findings = vec![];
        let mut notices = vec![];
        for (i, ev) in pool.history.iter().enumerate() {
            if ev.date > date {
                continue;
            }
            let to_site = ev
                .to_site
                .as_deref()
                .and_then(|x| s.site(x))
                .or(target.site);
            let from_site = ev.from_site.as_deref().and_then(|x| s.site(x));
            let to = ev
                .to
                .clone()
                .or_else(|| {
                    ev.to_site
                        .as_deref()
                        .and_then(|x| s.site(x))
                        .map(|x| x.country.clone())
                })
                .or_else(|| target.country.clone());
            let from = ev
                .from
                .clone()
                .or_else(|| from_site.map(|x| x.country.clone()));
            let consignee = ev.consignee.clone().or_else(|| target.owner.clone());
            let mut et = target.clone();
            et.site = to_site;
            et.country = to.clone();
            et.owner = consignee.clone();
            // Export licences are held by the exporter; the consignee's count too.
            et.operator = ev
                .exporter
                .clone()
                .or_else(|| to_site.map(|x| x.operator.clone()));
            if !implicit {
                et.licences = ev.licence.iter().cloned().collect();
            }
            et.acquired = Some(ev.date);
            let class = self
                .catalog
                .get(&et.accelerator)
                .map(|a| classify(a, ev.date));
            let user = consignee.clone().unwrap_or_default();
            let mut facts = self.facts(&et, class.as_ref(), &user, UseKind::Own, None, ev.date);
            facts.from_country = Some(from.as_deref());
            let what = if implicit {
                format!(
                    "the purchase of {} (an export from {} to {}, {})",
                    ev.date,
                    from.as_deref().unwrap_or("an unrecorded country"),
                    to.as_deref().unwrap_or("?"),
                    consignee.as_deref().unwrap_or("an unknown consignee"),
                )
            } else {
                format!(
                    "history[{i}]: the {} of {} from {} to {} ({}){}",
                    kind_str(ev.kind),
                    ev.date,
                    from.as_deref().unwrap_or("an unrecorded country"),
                    to.as_deref().unwrap_or("?"),
                    consignee.as_deref().unwrap_or("an unknown consignee"),
                    ev.exporter
                        .as_deref()
                        .map_or(String::new(), |x| format!(", exported by {x}"))
                )
            };
            let mut ev_findings = vec![];
            let mut ev_notices = vec![];
            for r in self
                .rules
                .rules
                .iter()
                .filter(|r| r.in_force(ev.date) && !r.rule.verification)
            {
                if r.rule.scope != RuleScope::Acquisition && r.rule.when.from_country.is_empty() {
                    continue;
                }
                if r.rule.outcome == RuleOutcome::Notice || r.before_compliance(ev.date) {
                    continue;
                }
                let t = self.test(r, &facts);
                if t.tri == Tri::No {
                    continue;
                }
                let certain = t.tri == Tri::Yes;
                let mut f = Finding {
                    rule: r.id.clone(),
                    outcome: Outcome::Allowed,
                    rule_outcome: r.rule.outcome,
                    certain,
                    reason: String::new(),
                    citation: r.citation.clone(),
                    would_change: None,
                    lifted_by: None,
                    exception: r.rule.exception.clone(),
                    duty: r.rule.duty.clone(),
                };
                let why = if certain {
                    t.matched.join("; ")
                } else {
                    format!("may apply: {}", t.unknown.join("; "))
                };
                let rule_out = r.rule.outcome.outcome();
                if rule_out == Outcome::Allowed {
                    continue;
                }
                if rule_out == Outcome::LicenceException {
                    let used = ev.exception.as_deref().is_some_and(|x| {
                        r.rule
                            .exception
                            .as_deref()
                            .is_some_and(|e| e.eq_ignore_ascii_case(x))
                    });
                    f.reason = format!(
                        "{what} {} licence exception {}{}. {} ({why})",
                        if used { "was made under" } else { "could use" },
                        r.rule.exception.as_deref().unwrap_or("?"),
                        r.rule
                            .duty
                            .as_deref()
                            .map_or(String::new(), |d| format!(", whose duty is: {d}")),
                        r.rule.summary
                    );
                    ev_notices.push(f);
                    continue;
                }
                let mut why_not = vec![];
                if r.licensable() {
                    if let Some(lid) = self.covering_licence(r, &et, ev.date, &mut why_not) {
                        f.lifted_by = Some(lid.clone());
                        f.reason = format!(
                            "{what} was covered by licence {lid}. {} ({why})",
                            r.rule.summary
                        );
                        ev_notices.push(f);
                        continue;
                    }
                }
                if !certain {
                    f.outcome = Outcome::RedFlag;
                    f.reason = format!(
                        "{what} may have needed a licence under this rule; a person must check it. {} ({why})",
                        r.rule.summary
                    );
                    f.would_change = Some(
                        "recording the missing facts of that move (or a licence that covered it) would settle it"
                            .into(),
                    );
                    ev_findings.push(f);
                    continue;
                }
                // Tainted for good: the rule's own outcome while it is in force, a red flag
                // afterwards (General Prohibition 10 for later dealings with the chips).
                f.outcome = if r.in_force(date) {
                    rule_out.max(Outcome::RedFlag)
                } else {
                    Outcome::RedFlag
                };
                let mut reason = format!(
                    "{what} needed a licence under this rule and the history records none that covers it: the chips stay tainted on every later date, even after the rule is superseded (General Prohibition 10, 15 CFR 736.2(b)(10)). {} ({why})",
                    r.rule.summary
                );
                if !why_not.is_empty() {
                    reason.push_str(&format!("; {}", why_not.join("; ")));
                }
                f.reason = reason;
                f.would_change = Some(
                    "nothing in the scenario: a later licence does not cure a past unlicensed export; a person must review (e.g. a voluntary self-disclosure)"
                        .into(),
                );
                ev_findings.push(f);
            }
            self.supersede(&mut ev_findings, &mut ev_notices);
            findings.extend(ev_findings);
            notices.extend(ev_notices);
        }
        (findings, notices)
    }

    /// A bought pool's dated purchase with no recorded history, as the export it was: from the
    /// vendor's country of export to the pool's site, to its owner.
    fn purchase_as_export(
        &self,
        pool: &xpufleet_model::Pool,
        target: &Target<'_>,
    ) -> Option<Transfer> {
        let date = target.acquired?;
        if !pool.history.is_empty() || !matches!(pool.acquisition, Acquisition::Bought { .. }) {
            return None;
        }
        Some(Transfer {
            date,
            kind: TransferKind::Export,
            from: target.ships_from.clone(),
            from_site: None,
            to: target.country.clone(),
            to_site: None,
            exporter: None,
            consignee: target.owner.clone(),
            licence: None,
            exception: None,
            note: String::new(),
        })
    }

    /// The intended uses of the scenario's pools on `date`: each pool with each tenant whose
    /// jobs could run on it (accelerator and data-country allowed), and the company itself;
    /// the workload is the largest of that tenant's jobs there. Returns (request, job ids).
    pub fn intended_uses(&self, date: Date) -> Vec<(UseRequest, Vec<String>)> {
        let s = &self.scenario;
        let mut out = vec![];
        for p in &s.pools {
            let country = s.site(&p.site).map(|x| x.country.as_str());
            let mut by_tenant: BTreeMap<&str, (Vec<String>, Option<f64>)> = BTreeMap::new();
            by_tenant.entry(s.company.as_str()).or_default();
            for j in &s.jobs {
                let accel_ok =
                    j.allowed_accels.is_empty() || j.allowed_accels.contains(&p.accelerator);
                let data_ok = j.data_countries.is_empty()
                    || country.is_some_and(|c| j.data_countries.iter().any(|d| d == c));
                if accel_ok && data_ok {
                    let e = by_tenant.entry(j.tenant.as_str()).or_default();
                    e.0.push(j.id.clone());
                    if let Some(f) = job_flops(j) {
                        e.1 = Some(e.1.map_or(f, |x: f64| x.max(f)));
                    }
                }
            }
            let kind = self.pool_mode(&p.id).unwrap_or(UseKind::Own);
            for (tenant, (jobs, flops)) in by_tenant {
                out.push((
                    UseRequest {
                        user: tenant.to_string(),
                        target: p.id.clone(),
                        kind,
                        workload_flops: flops,
                        date,
                    },
                    jobs,
                ));
            }
        }
        out
    }

    /// The verdicts of `req` as training and as serving, when they differ (outcome, rules,
    /// or usable); empty when they agree.
    pub fn by_use(&self, req: &UseRequest) -> Vec<UseVerdict> {
        let all: Vec<UseVerdict> = Purpose::ALL
            .iter()
            .map(|&p| UseVerdict {
                purpose: p,
                verdict: self.evaluate_for(req, p).verdict,
            })
            .collect();
        let differ = all.windows(2).any(|w| {
            let (a, b) = (&w[0].verdict, &w[1].verdict);
            (a.outcome, &a.rules, a.usable) != (b.outcome, &b.rules, b.usable)
        });
        if differ {
            all
        } else {
            vec![]
        }
    }

    /// Every intended use and every candidate, evaluated on `date`, with the unverified
    /// targets listed once each. A tenant's use of a pool is judged as training when the
    /// tenant has training jobs that could run there and the pool declares no use; otherwise
    /// as the pool or candidate declares.
    pub fn check(&self, date: Date) -> CheckReport {
        let uses: Vec<CheckedUse> = self
            .intended_uses(date)
            .into_iter()
            .map(|(req, jobs)| {
                let declared = self.scenario.pool(&req.target).and_then(|p| p.purpose);
                let eval = match declared {
                    None if !jobs.is_empty() => self.evaluate_for(&req, Purpose::Training),
                    _ => self.evaluate(&req),
                };
                CheckedUse {
                    by_use: self.by_use(&req),
                    jobs,
                    eval,
                }
            })
            .collect();
        let s = &self.scenario;
        let candidates: Vec<CheckedUse> = s
            .candidates
            .iter()
            .map(|c| {
                let req = UseRequest {
                    user: s.company.clone(),
                    target: c.id.clone(),
                    kind: self.candidate_mode(&c.id).unwrap_or(UseKind::Own),
                    workload_flops: None,
                    date,
                };
                CheckedUse {
                    jobs: vec![],
                    eval: self.evaluate(&req),
                    by_use: self.by_use(&req),
                }
            })
            .collect();
        let mut unverified: Vec<Unverified> = vec![];
        for u in uses.iter().chain(&candidates) {
            let e = &u.eval;
            if !e.verification.verified && !unverified.iter().any(|x| x.target == e.target) {
                unverified.push(Unverified {
                    target: e.target.clone(),
                    target_kind: e.target_kind,
                    site: e.site.clone(),
                    missing: e.verification.missing.clone(),
                });
            }
        }
        CheckReport {
            scenario: s.name.clone(),
            as_of: date,
            uses,
            candidates,
            unverified,
            licences: self.licence_use(),
            screening: self.screening_report(date),
        }
    }
}

/// The purchase value of a bought pool in `like`'s currency, converted through the scenario's
/// exchange rates: 0 for a lease (a lease has no purchase value), `None` for a price that
/// cannot be converted.
pub fn pool_value(scenario: &Scenario, p: &Pool, like: &Money) -> Option<f64> {
    match &p.acquisition {
        Acquisition::Bought { price, .. } => scenario
            .fx
            .convert(price, &like.currency)
            .ok()
            .map(|m| m.amount * p.accelerators() as f64),
        Acquisition::Leased { .. } => Some(0.0),
    }
}

/// Accelerators and value (in the licence's currency; `None` when it has no value or a price
/// cannot be converted) that the pools before index `upto` (file order) draw from `l`: those
/// that list it or whose history names it. The planner starts from what is left after all of
/// them (`upto = pools.len()`).
pub fn licence_drawdown(scenario: &Scenario, l: &Licence, upto: usize) -> (u64, Option<f64>) {
    let mut q = 0u64;
    let mut v = l.value.as_ref().map(|_| 0.0);
    for p in scenario.pools[..upto.min(scenario.pools.len())]
        .iter()
        .filter(|p| draws_on(p, &l.id))
    {
        q = q.saturating_add(p.accelerators());
        v = match (v, l.value.as_ref()) {
            (Some(acc), Some(like)) => pool_value(scenario, p, like).map(|x| acc + x),
            _ => None,
        };
    }
    (q, v)
}

/// Is `pool` under licence `id`: does it list it, or does its history name it?
fn draws_on(pool: &Pool, id: &str) -> bool {
    pool.licences.iter().any(|l| l == id)
        || pool
            .history
            .iter()
            .any(|h| h.licence.as_deref() == Some(id))
}

/// Could an accelerator whose classification is indeterminate be one of these?
fn could_be_any(list: &[String]) -> bool {
    list.iter().any(|e| {
        ["3A090", "3A090.a", "3A090.b", "none"]
            .iter()
            .any(|x| e.eq_ignore_ascii_case(x))
    })
}

fn kind_str(k: xpufleet_model::TransferKind) -> &'static str {
    use xpufleet_model::TransferKind as K;
    match k {
        K::Export => "export",
        K::Reexport => "re-export",
        K::Transfer => "transfer",
        K::Move => "move",
    }
}

fn mode_str(m: UseKind) -> &'static str {
    match m {
        UseKind::Own => "own",
        UseKind::Operate => "operate",
        UseKind::Remote => "remote",
    }
}

impl Gate for RuleEngine {
    fn verdict(&self, req: &UseRequest) -> Verdict {
        self.evaluate(req).verdict
    }

    fn verdict_for(&self, req: &UseRequest, purpose: Purpose) -> Verdict {
        self.evaluate_for(req, purpose).verdict
    }
}

/// Ids of the rules in force on `date` whose conditions on the chip alone (classification,
/// accelerator id, origin, figures) hold for `accel` (or may, where a figure is unknown): the rules that may apply to it, depending on
/// where it goes and who holds it.
pub fn chip_rules(set: &RuleSet, accel: &Accelerator, class: &Classification) -> Vec<String> {
    let label = class.eccn.map_or("none", |e| e.as_str());
    set.rules
        .iter()
        .filter(|r| r.in_force(class.date) && !r.rule.verification)
        .filter(|r| {
            let w = &r.rule.when;
            let origin = &accel.vendor_country;
            let eccn_ok = w.eccn.is_empty()
                || (class.status == Status::Indeterminate && could_be_any(&w.eccn))
                || w.eccn.iter().any(|e| e.eq_ignore_ascii_case(label));
            // The chip's own figures: an unknown figure may still meet the condition.
            let fig = |f: &xpufleet_model::Figure, ok: &dyn Fn(f64) -> bool| {
                f.get().map_or(f.is_unknown(), ok)
            };
            let tpp = class.tpp;
            let figures_ok = w.data_center.is_none_or(|dc| dc == accel.data_center)
                && w.min_tpp
                    .is_none_or(|m| tpp.is_none_or(|t| t >= m || !class.tpp_exact))
                && w.below_tpp.is_none_or(|m| tpp.is_none_or(|t| t < m))
                && w.below_memory_tbps
                    .is_none_or(|m| fig(&accel.memory_tbps, &|v| v < m))
                && w.min_interconnect_gbps
                    .is_none_or(|m| fig(&accel.interconnect_gbps, &|v| v >= m))
                && w.reaches.as_ref().is_none_or(|r| {
                    r.memory_tbps
                        .is_some_and(|m| fig(&accel.memory_tbps, &|v| v >= m))
                        || r.interconnect_gbps
                            .is_some_and(|m| fig(&accel.interconnect_gbps, &|v| v >= m))
                });
            let names_chip = !w.eccn.is_empty()
                || !w.accelerator.is_empty()
                || w.reaches.is_some()
                || w.min_tpp.is_some()
                || w.below_tpp.is_some();
            eccn_ok
                && figures_ok
                && (w.accelerator.is_empty() || w.accelerator.contains(&accel.id))
                && (w.origin.is_empty() || w.origin.iter().any(|o| o.eq_ignore_ascii_case(origin)))
                && !w.not_origin.iter().any(|o| o.eq_ignore_ascii_case(origin))
                && names_chip
        })
        .map(|r| r.id.clone())
        .collect()
}
