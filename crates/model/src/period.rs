//! Planning periods (`[[period]]`): the plan as a sequence of quarters or years, each with its
//! own budgets, demand and rules in force.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{Date, Money};

/// One period of a plan over time. Periods are listed in order and do not overlap; `end` is the
/// period's last day (inclusive), so a quarter is `2025-01-01` to `2025-03-31`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Period {
    pub id: String,
    pub start: Date,
    pub end: Date,
    /// Most an envelope may spend in this period, by envelope id, in the envelope's currency.
    /// An envelope not listed is limited only by its own total `budget` across all periods.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub budgets: BTreeMap<String, Money>,
    /// Effective PFLOPS the fleet bought and leased by the plan must deliver in this period
    /// (min-cost and compute-per-dollar plans); the scenario's `plan.target_pflops` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_pflops: Option<f64>,
    /// Serving demand in this period, by service id (requests or tokens per second as the
    /// service defines them). The planner does not yet turn it into rows and says so in a
    /// warning; it is here so that demand over time has one place in the scenario.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub service_demand: BTreeMap<String, f64>,
}

impl Period {
    /// Days in the period, both ends included.
    pub fn days(&self) -> i64 {
        self.start.days_until(self.end) + 1
    }
}
