//! A plan over periods as a chart: effective PFLOPS present in each period, stacked by part,
//! and a table of the demand each period's services had and what the plan covered of it.
//! Self-contained (its own data types and render functions over `chart::hbar`), so the
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
    /// Each service's demand in the period and what covers it (absent without services).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<PeriodService>,
}

/// One service in one period: its demand then and what the plan covers of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeriodService {
    pub id: String,
    pub output_tokens_per_day: f64,
    pub covered_output_tokens_per_day: f64,
    pub cost_usd_per_day: f64,
    /// `(accelerator id, accelerators serving)`, pools and orders summed, in the plan's order.
    pub parts: Vec<(String, u64)>,
}

/// The table of served demand by period: a row per period and service. Empty without
/// services.
pub fn served_table(periods: &[PeriodCapacity]) -> String {
    use crate::format::{esc, int, pct, sig3, usd};
    if periods.iter().all(|p| p.services.is_empty()) {
        return String::new();
    }
    let mut out = String::from(
        "<table class=\"served-periods\"><thead><tr><th>period</th><th>service</th>\
         <th>output tokens/day</th><th>covered</th><th>served by (accelerators)</th>\
         <th>USD/day</th></tr></thead><tbody>",
    );
    for p in periods {
        for v in &p.services {
            let by: Vec<String> = v
                .parts
                .iter()
                .map(|(a, n)| format!("{} {}", int(*n), esc(a)))
                .collect();
            let share = if v.output_tokens_per_day > 0.0 {
                v.covered_output_tokens_per_day / v.output_tokens_per_day
            } else {
                1.0
            };
            out.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
                 <td>{}</td><td class=\"num\">{}</td></tr>",
                esc(&p.id),
                esc(&v.id),
                sig3(v.output_tokens_per_day),
                pct(share),
                if by.is_empty() {
                    "nothing".to_string()
                } else {
                    by.join(", ")
                },
                usd(v.cost_usd_per_day),
            ));
        }
    }
    out.push_str("</tbody></table>");
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    fn period(id: &str, services: Vec<PeriodService>) -> PeriodCapacity {
        PeriodCapacity {
            id: id.into(),
            start: "2025-01-01".parse().unwrap(),
            end: "2025-03-31".parse().unwrap(),
            spend_usd: 0.0,
            parts: vec![("h20".into(), 1.0)],
            target_pflops: None,
            services,
        }
    }

    /// Without services the table is absent; with them, a row per period and service with the
    /// share covered and the parts serving, escaped.
    #[test]
    fn served_table_rows() {
        assert_eq!(served_table(&[period("2025Q1", vec![])]), "");
        let svc = |covered: f64| PeriodService {
            id: "chat<1>".into(),
            output_tokens_per_day: 4e9,
            covered_output_tokens_per_day: covered,
            cost_usd_per_day: 1234.0,
            parts: vec![("h20".into(), 1600), ("h100-sxm".into(), 8)],
        };
        let t = served_table(&[
            period("2025Q1", vec![svc(4e9)]),
            period("2025Q2", vec![svc(2e9)]),
        ]);
        assert_eq!(t.matches("<tr><td>").count(), 2, "{t}");
        assert!(t.contains("chat&lt;1&gt;") && !t.contains("chat<1>"), "{t}");
        assert!(t.contains("100.0%") && t.contains("50.0%"), "{t}");
        assert!(t.contains("1,600 h20, 8 h100-sxm"), "{t}");
    }
}
