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
    /// An older, unitless form of serving demand by service id. It is kept so that files that
    /// have it still load; the planner does not read it and says so in a warning (`services`
    /// is the form it plans with).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub service_demand: BTreeMap<String, f64>,
    /// Each listed service's token volumes in this period, by `[[service]]` id; a service not
    /// listed keeps its own figures (times `service_growth`, when given).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub services: BTreeMap<String, PeriodDemand>,
    /// A factor on the `[[service]]` token volumes of every service that `services` does not
    /// list in this period (relative to the `[[service]]` figures, not to the previous period).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_growth: Option<f64>,
}

/// One service's demand in one period, in tokens a day (averaged over the day, as the
/// `[[service]]` figures are; the service's `peak_to_average` still applies).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeriodDemand {
    pub output_tokens_per_day: f64,
    /// When absent, the service's own input-to-output ratio times `output_tokens_per_day`: a
    /// change of volume alone keeps the shape of the requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_tokens_per_day: Option<f64>,
}

impl Period {
    /// Service `v`'s (input, output) tokens a day in this period.
    pub fn service_volumes(&self, v: &crate::Service) -> (f64, f64) {
        match self.services.get(&v.id) {
            Some(d) => {
                let input = d.input_tokens_per_day.unwrap_or_else(|| {
                    if v.output_tokens_per_day > 0.0 {
                        v.input_tokens_per_day / v.output_tokens_per_day * d.output_tokens_per_day
                    } else {
                        0.0
                    }
                });
                (input, d.output_tokens_per_day)
            }
            None => {
                let g = self.service_growth.unwrap_or(1.0);
                (v.input_tokens_per_day * g, v.output_tokens_per_day * g)
            }
        }
    }

    /// Days in the period, both ends included.
    pub fn days(&self) -> i64 {
        self.start.days_until(self.end) + 1
    }
}
