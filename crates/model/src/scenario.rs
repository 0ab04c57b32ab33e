//! The scenario: one fleet, its owners, its money, its rules of thumb and its workload, as of a
//! date. Every command that takes a scenario takes this.

use serde::{Deserialize, Serialize};

use crate::{
    AcceleratorEntry, CountryCode, Date, Entity, FxRates, Money, Pool, Purpose, Site, TrainingJob,
};

/// Buy outright or lease by the accelerator-hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CandidateMode {
    Buy,
    Lease,
}

impl std::fmt::Display for CandidateMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CandidateMode::Buy => "buy",
            CandidateMode::Lease => "lease",
        })
    }
}

/// What an envelope's money may be spent on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvelopeScope {
    /// Site countries the envelope pays for; empty means any.
    #[serde(default)]
    pub countries: Vec<CountryCode>,
    /// Buy, lease or both (empty means both).
    #[serde(default)]
    pub modes: Vec<CandidateMode>,
}

/// A budget envelope: an amount in one currency with a scope ("chips in China").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    pub id: String,
    #[serde(default)]
    pub description: String,
    #[serde(deserialize_with = "crate::table_only")]
    pub budget: Money,
    #[serde(default, deserialize_with = "crate::table_only")]
    pub scope: EnvelopeScope,
}

/// Whether a supplier-mix share is counted in money or in accelerators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MixBasis {
    #[default]
    Spend,
    Units,
}

/// "At least `min_share` of the spend (or units) in `envelope` goes to vendors headquartered
/// in `domestic_country`."
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SupplierMix {
    pub id: String,
    #[serde(default)]
    pub description: String,
    /// The envelope whose spend is counted.
    pub envelope: String,
    pub domestic_country: CountryCode,
    /// 0..=1.
    pub min_share: f64,
    #[serde(default)]
    pub basis: MixBasis,
}

/// Something the planner may buy or lease: an accelerator at a site, in whole nodes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Candidate {
    pub id: String,
    pub accelerator: String,
    pub site: String,
    pub mode: CandidateMode,
    /// Buy: price per accelerator. Lease: price per accelerator-hour.
    #[serde(deserialize_with = "crate::table_only")]
    pub price: Money,
    /// The envelope that pays.
    pub envelope: String,
    pub accels_per_node: u32,
    #[serde(default)]
    pub scaleup_domain: Option<u32>,
    /// Most nodes on offer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_nodes: Option<u32>,
    /// Lessor entity for leases.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lessor: Option<String>,
    /// Licence ids the company holds that cover this candidate.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub licences: Vec<String>,
    /// What the capacity would be for; `None` (the default) means either (see `Pool::purpose`).
    #[serde(default, rename = "use", skip_serializing_if = "Option::is_none")]
    pub purpose: Option<Purpose>,
    /// The country a purchase ships from (the export), when it is not the vendor's country of
    /// export (`Accelerator::vendor_country`). Rules that depend on the exporting country (the
    /// 2026-01-15 case-by-case review of exports from the US) read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ships_from: Option<CountryCode>,
    /// Days from an order to delivery: a node bought in a period counts from the first period
    /// that starts on or after the period's start plus this many days (plans with `[[period]]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lead_time_days: Option<i64>,
    /// A lease's first day on offer (plans with `[[period]]`): it may run only in periods that
    /// start on or after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Date>,
    /// A lease's last day on offer: it may run only in periods that end on or before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<Date>,
}

/// A cap on how many accelerators can be had, by vendor or by part.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SupplyCap {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accelerator: Option<String>,
    pub max_accels: u64,
}

/// Where owner and operator verification records are required.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VerificationPolicy {
    /// Where a rule in force asks for them (`verification = true` in a rule pack): chips
    /// abroad, or a party headquartered in a country group of concern.
    #[default]
    ByRule,
    /// For every pool and candidate of controlled (or indeterminate) chips.
    Strict,
}

impl VerificationPolicy {
    pub fn is_by_rule(&self) -> bool {
        *self == VerificationPolicy::ByRule
    }
}

/// An export licence (or authorisation) the company holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Licence {
    pub id: String,
    /// Issuing authority or jurisdiction ("US-BIS", "MY-MITI").
    pub authority: String,
    /// The entity licensed.
    pub holder: String,
    /// Accelerator ids covered; empty means any.
    #[serde(default)]
    pub accelerators: Vec<String>,
    /// Destination countries covered; empty means any.
    #[serde(default)]
    pub countries: Vec<CountryCode>,
    pub valid_from: Date,
    pub valid_until: Date,
    /// Most accelerators covered, if limited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_accels: Option<u64>,
    /// Most accelerators the licence allows in all: the pools and plan lines under it (those
    /// that list it) draw it down, in file order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<u64>,
    /// Most value the licence allows in all (the purchase price of the accelerators under it).
    #[serde(
        default,
        deserialize_with = "crate::table_only_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub value: Option<Money>,
    #[serde(default)]
    pub reference: String,
}

/// What a person decided about a red-flagged use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReviewDecision {
    /// The covered red flags were resolved: the use may go ahead until the review expires.
    Cleared,
    /// The use must not go ahead, whatever the rules say, while the review is valid.
    Denied,
    /// Passed up for a decision; the use waits, as it would without a review.
    Escalated,
}

impl ReviewDecision {
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewDecision::Cleared => "cleared",
            ReviewDecision::Denied => "denied",
            ReviewDecision::Escalated => "escalated",
        }
    }
}

impl std::fmt::Display for ReviewDecision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A compliance officer's review of a red-flagged use (`[[review]]`): due diligence on the
/// red flags of `rules` for `target` (a pool or candidate id), for one end user or for all.
/// A cleared review makes those red flags usable from `date` to `valid_until`; it never lifts
/// a licence requirement or a prohibition (only a licence or the rules can).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Review {
    pub id: String,
    /// Pool id or candidate id.
    pub target: String,
    /// The end user (entity id) the review is about; absent means every user of the target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Full ids of the rules whose red flags it covers ("us-guidance-2025-05/gp10-prc-chips").
    pub rules: Vec<String>,
    pub decision: ReviewDecision,
    /// Who decided (a person or role, free text).
    pub reviewer: String,
    /// The day of the decision; the review applies from it.
    pub date: Date,
    /// What the decision rests on (a file reference, a memo id).
    #[serde(default)]
    pub evidence: String,
    /// The last day the review applies.
    pub valid_until: Date,
}

impl Review {
    /// Does this review speak to `user`'s use of `target` on `date`?
    pub fn applies(&self, target: &str, user: &str, date: Date) -> bool {
        self.target == target
            && self.user.as_deref().is_none_or(|u| u == user)
            && self.date <= date
            && date <= self.valid_until
    }
}

/// Settings of the procurement plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanSettings {
    /// "max-compute", "min-cost" or "compute-per-dollar".
    #[serde(default = "default_objective")]
    pub objective: String,
    /// Hours of lease priced into the plan.
    #[serde(default = "default_horizon")]
    pub horizon_days: f64,
    /// Effective PFLOPS to reach, for "min-cost".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_pflops: Option<f64>,
    /// A what-if file applied by `plan --what-if` and by `run` (path relative to the scenario).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub what_if: Option<String>,
}

fn default_objective() -> String {
    "max-compute".into()
}
fn default_horizon() -> f64 {
    365.0
}

impl Default for PlanSettings {
    fn default() -> Self {
        PlanSettings {
            objective: default_objective(),
            horizon_days: default_horizon(),
            target_pflops: None,
            what_if: None,
        }
    }
}

/// A whole scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// The date the scenario is "as of": rules in force then apply.
    pub date: Date,
    /// The company whose fleet this is (entity id); it buys, owns bought pools and is the
    /// default tenant.
    pub company: String,
    /// USD per unit of each currency used.
    #[serde(default)]
    pub fx: FxRates,
    /// Accelerators added to the catalog, or overrides of the figures of listed ones (field by
    /// field: see `AcceleratorEntry`).
    #[serde(default, rename = "accelerator", skip_serializing_if = "Vec::is_empty")]
    pub accelerators: Vec<AcceleratorEntry>,
    /// Extra rule-pack files, relative to the scenario file.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rule_packs: Vec<String>,
    #[serde(default, rename = "entity")]
    pub entities: Vec<Entity>,
    #[serde(default, rename = "site")]
    pub sites: Vec<Site>,
    #[serde(default, rename = "pool")]
    pub pools: Vec<Pool>,
    #[serde(default, rename = "envelope")]
    pub envelopes: Vec<Envelope>,
    #[serde(default)]
    pub supplier_mix: Vec<SupplierMix>,
    #[serde(default, rename = "candidate")]
    pub candidates: Vec<Candidate>,
    #[serde(default, rename = "supply_cap")]
    pub supply_caps: Vec<SupplyCap>,
    #[serde(default, rename = "licence")]
    pub licences: Vec<Licence>,
    /// Compliance reviews of red-flagged uses.
    #[serde(default, rename = "review", skip_serializing_if = "Vec::is_empty")]
    pub reviews: Vec<Review>,
    #[serde(default, rename = "job")]
    pub jobs: Vec<TrainingJob>,
    /// Models served to users: inference demand the plan covers (`[[service]]`).
    #[serde(default, rename = "service", skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<crate::Service>,
    /// Jobs generated for the planned fleet (`[workload]`), added to `jobs` by `run`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload: Option<crate::WorkloadGen>,
    #[serde(default)]
    pub plan: PlanSettings,
    /// Where owner and operator verification is required: where a rule asks (the default) or
    /// for every controlled chip (`"strict"`).
    #[serde(default, skip_serializing_if = "VerificationPolicy::is_by_rule")]
    pub verification: VerificationPolicy,
    /// Uncertainty the plan is tested against (`plan --samples`, `sweep`); none by default.
    #[serde(default, rename = "risk", skip_serializing_if = "Vec::is_empty")]
    pub risks: Vec<crate::Risk>,
    /// The plan's periods, in order (`[[period]]`); none plans one decision on `date`.
    #[serde(default, rename = "period", skip_serializing_if = "Vec::is_empty")]
    pub periods: Vec<crate::Period>,
}

impl Scenario {
    pub fn site(&self, id: &str) -> Option<&Site> {
        self.sites.iter().find(|s| s.id == id)
    }
    pub fn pool(&self, id: &str) -> Option<&Pool> {
        self.pools.iter().find(|p| p.id == id)
    }
    pub fn envelope(&self, id: &str) -> Option<&Envelope> {
        self.envelopes.iter().find(|e| e.id == id)
    }
    pub fn entity(&self, id: &str) -> Option<&Entity> {
        self.entities.iter().find(|e| e.id == id)
    }
    pub fn licence(&self, id: &str) -> Option<&Licence> {
        self.licences.iter().find(|l| l.id == id)
    }
    pub fn service(&self, id: &str) -> Option<&crate::Service> {
        self.services.iter().find(|s| s.id == id)
    }
    pub fn entities(&self) -> crate::Entities {
        crate::Entities::new(&self.entities)
    }
}
