//! Pools: a homogeneous set of nodes of one accelerator type at one site.

use serde::{Deserialize, Serialize};

use crate::{CountryCode, Date, Money};

/// How a pool was acquired.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Acquisition {
    /// Bought outright.
    Bought {
        /// Price per accelerator.
        #[serde(deserialize_with = "crate::table_only")]
        price: Money,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        date: Option<Date>,
        /// Years over which the capex is amortised.
        #[serde(default = "default_life")]
        life_years: f64,
    },
    /// Leased from a third party.
    Leased {
        /// Price per accelerator-hour.
        #[serde(deserialize_with = "crate::table_only")]
        rate: Money,
        /// The lessor (an entity id).
        from: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until: Option<Date>,
    },
}

fn default_life() -> f64 {
    4.0
}

/// What a pool or candidate is used for (the scenario's `use`). Some rules name one use: the
/// 2025-05-13 BIS guidance red-flags IaaS *training* for entities headquartered in D:5, not
/// serving. Left out, a pool may be used for either, and a rule that names either applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Purpose {
    /// Training models (pre-training, fine-tuning).
    Training,
    /// Serving models: inference for products and users.
    Serving,
}

impl Purpose {
    pub const ALL: [Purpose; 2] = [Purpose::Training, Purpose::Serving];

    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Training => "training",
            Purpose::Serving => "serving",
        }
    }
}

impl std::fmt::Display for Purpose {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A pool of identical nodes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pool {
    pub id: String,
    /// Site id.
    pub site: String,
    /// Accelerator id.
    pub accelerator: String,
    pub nodes: u32,
    pub accels_per_node: u32,
    /// Accelerators in one scale-up (NVLink/HCCS) domain: 8 for an HGX node, 384 for a
    /// CloudMatrix supernode. A multiple of `accels_per_node` or equal to it.
    pub scaleup_domain: u32,
    pub acquisition: Acquisition,
    /// Owner of the chips (entity id). Defaults to the lessor for leased pools and to the
    /// scenario's company otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Licence ids held for this pool.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub licences: Vec<String>,
    /// How the chips got here: each export, re-export, transfer or move, oldest first.
    /// Optional: without it, export rules are judged from the purchase date as before.
    #[serde(default, rename = "history", skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<Transfer>,
    /// What the pool is for; `None` (the default) means either, so rules that name one use
    /// apply to it.
    #[serde(default, rename = "use", skip_serializing_if = "Option::is_none")]
    pub purpose: Option<Purpose>,
}

/// What kind of move a history entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TransferKind {
    /// From the country of manufacture or design to another country.
    Export,
    /// From one foreign country to another.
    Reexport,
    /// A change of owner within one country (in-country transfer).
    Transfer,
    /// A move between the scenario's own sites (which may cross a border).
    Move,
}

/// One recorded movement of a pool's chips.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transfer {
    pub date: Date,
    pub kind: TransferKind,
    /// Country the chips left (ISO 3166 alpha-2); for a move, defaults to `from_site`'s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<CountryCode>,
    /// Site the chips left, when it is one of the scenario's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_site: Option<String>,
    /// Country the chips went to; defaults to `to_site`'s, else the pool's site's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<CountryCode>,
    /// Site the chips went to; defaults to the pool's site.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_site: Option<String>,
    /// Entity that exported or transferred them (may be outside the scenario's entities).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exporter: Option<String>,
    /// Entity that received them (the consignee); defaults to the pool's owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consignee: Option<String>,
    /// Licence id (a `[[licence]]` of the scenario) the move was made under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub licence: Option<String>,
    /// Licence exception claimed ("NAC", "ACA").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exception: Option<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

impl Pool {
    pub fn accelerators(&self) -> u64 {
        self.nodes as u64 * self.accels_per_node as u64
    }
}
