//! Pools: a homogeneous set of nodes of one accelerator type at one site.

use serde::{Deserialize, Serialize};

use crate::{Date, Money};

/// How a pool was acquired.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Acquisition {
    /// Bought outright.
    Bought {
        /// Price per accelerator.
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
}

impl Pool {
    pub fn accelerators(&self) -> u64 {
        self.nodes as u64 * self.accels_per_node as u64
    }
}
