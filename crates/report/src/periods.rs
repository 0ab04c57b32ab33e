//! A plan over periods as a chart: effective PFLOPS present in each period, stacked by part.
//! Self-contained (its own data type and one render function over `chart::hbar`), so the
//! report's HTML and the web UI's Plan page draw the same figure.

use serde::{Deserialize, Serialize};

use crate::chart::{self, BarSeries, Bars};

/// One period of a plan: the capacity present in it, by part.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeriodCapacity {
    pub id: String,
    pub start: xpufleet_model::Date,
    pub end: xpufleet_model::Date,
    /// Spent in the period, USD.
    pub spend_usd: f64,
    /// `(accelerator id, effective PFLOPS present)`, in the plan's order.
    pub parts: Vec<(String, f64)>,
    /// The demand the period had to meet, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_pflops: Option<f64>,
}

/// Stacked bars, one per period (top to bottom in time order), one colour per part, in the
/// report's SVG style. `color` names a part's colour (the report's accelerator colours).
pub fn capacity_chart(periods: &[PeriodCapacity], color: &dyn Fn(&str, usize) -> String) -> String {
    let mut parts: Vec<String> = Vec::new();
    for p in periods {
        for (a, _) in &p.parts {
            if !parts.contains(a) {
                parts.push(a.clone());
            }
        }
    }
    let series = parts
        .iter()
        .enumerate()
        .map(|(k, a)| BarSeries {
            name: a.clone(),
            color: color(a, k),
            values: periods
                .iter()
                .map(|p| {
                    p.parts
                        .iter()
                        .filter(|(x, _)| x == a)
                        .map(|(_, v)| *v)
                        .sum()
                })
                .collect(),
        })
        .collect();
    let fmt = |v: f64| crate::format::sig3(v);
    chart::hbar(&Bars {
        width: chart::FULL,
        categories: periods
            .iter()
            .map(|p| format!("{} ({} to {})", p.id, p.start, p.end))
            .collect(),
        series,
        stacked: true,
        axis_label: "Effective PFLOPS present (bought and delivered, or leased)".into(),
        fmt: &fmt,
        desc: format!(
            "Effective PFLOPS the plan has in each of its {} periods, stacked by accelerator.",
            periods.len()
        ),
    })
}
