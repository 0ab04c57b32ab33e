//! Uncertainty in a scenario: the `[[risk]]` entries that `plan --samples` and `sweep` sample
//! from — a rule change that may land, deliveries that may fall short, prices and exchange rates
//! that may move.

use serde::{Deserialize, Serialize};

use crate::{CandidateMode, Currency, Date};

/// What a risk is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RiskKind {
    /// A dated rule change (a what-if file) that lands with a probability.
    Rule,
    /// The fraction of what is ordered that is delivered, per vendor or candidate.
    Delivery,
    /// A multiplier on candidates' prices.
    Price,
    /// An exchange rate: USD per unit of a currency.
    Fx,
}

impl std::fmt::Display for RiskKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RiskKind::Rule => "rule",
            RiskKind::Delivery => "delivery",
            RiskKind::Price => "price",
            RiskKind::Fx => "fx",
        })
    }
}

/// A distribution on `[min, max]`: uniform, or triangular when `mode` is given (the "beta-like"
/// min–mode–max of a planner's three-point estimate). `min = max` is a fixed value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dist {
    pub min: f64,
    pub max: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<f64>,
}

impl Dist {
    /// The value at cumulative probability `u` in `[0, 1)` (inverse CDF), so one uniform draw
    /// makes one value and a sample is reproducible from its uniforms.
    pub fn quantile(&self, u: f64) -> f64 {
        let (a, b) = (self.min, self.max);
        if b <= a {
            return a;
        }
        match self.mode {
            None => a + u * (b - a),
            Some(c) => {
                let fc = (c - a) / (b - a);
                if u < fc {
                    a + (u * (b - a) * (c - a)).sqrt()
                } else {
                    b - ((1.0 - u) * (b - a) * (b - c)).sqrt()
                }
            }
        }
    }

    /// The mean of the distribution.
    pub fn mean(&self) -> f64 {
        match self.mode {
            None => (self.min + self.max) / 2.0,
            Some(c) => (self.min + c + self.max) / 3.0,
        }
    }
}

/// One `[[risk]]` entry. Which fields apply depends on `kind` (checked by `io`'s validation,
/// each problem located):
///
/// - `rule`: `what_if` (a what-if file, relative to the scenario), `probability`, `date` (when
///   it would land; lines it makes unusable are lost from then on).
/// - `delivery`: `vendor` or `candidate`, and `fraction` (the fraction delivered, in 0..=1).
/// - `price`: `vendor`, `candidate` and/or `mode` (which candidates; all when none is given),
///   and `multiplier` (on the nominal price).
/// - `fx`: `currency` and `usd_per` (USD per unit of it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Risk {
    pub id: String,
    pub kind: RiskKind,
    #[serde(default)]
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub what_if: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub candidate: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<CandidateMode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fraction: Option<Dist>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multiplier: Option<Dist>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<Currency>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usd_per: Option<Dist>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_stay_in_range_and_are_monotone() {
        for d in [
            Dist {
                min: 0.7,
                max: 1.0,
                mode: None,
            },
            Dist {
                min: 0.7,
                max: 1.0,
                mode: Some(0.9),
            },
            Dist {
                min: 0.5,
                max: 0.5,
                mode: None,
            },
        ] {
            let mut last = f64::NEG_INFINITY;
            for i in 0..=100 {
                let v = d.quantile(i as f64 / 100.0);
                assert!(v >= d.min - 1e-12 && v <= d.max + 1e-12, "{v}");
                assert!(v >= last - 1e-12);
                last = v;
            }
        }
        // The triangular median of (0, 1, 1) is 1/sqrt(2).
        let t = Dist {
            min: 0.0,
            max: 1.0,
            mode: Some(1.0),
        };
        assert!((t.quantile(0.5) - 0.5f64.sqrt()).abs() < 1e-12);
        assert!((t.mean() - 2.0 / 3.0).abs() < 1e-12);
    }
}
