//! The report's Serving section: each `[[service]]`'s demand against the capacity the plan gives
//! it, the chips serving it by part (pools first, then bought or leased nodes), USD per million
//! output tokens by part, and one stacked-bar chart of accelerators per service.

use std::fmt::Write;

use serde::{Deserialize, Serialize};

use crate::chart::{self, BarSeries, Bars};
use crate::data::Section;
use crate::format::{self, esc, usd};

/// The chart's element id.
pub const CHART_ID: &str = "chart-serving";

/// One part's share of a service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceChips {
    pub accelerator: String,
    /// "pool <id>" or "candidate <id>".
    pub from: String,
    /// `both` (one pool does prefill and decode), `prefill` or `decode` (disaggregated).
    #[serde(default = "both")]
    pub role: String,
    pub accelerators: u64,
    pub output_tokens_per_day: f64,
    pub usd_per_million_output_tokens: Option<f64>,
    /// The serving profile id, or `roofline`.
    pub source: String,
}

/// One service: demand, what covers it and at what cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceRow {
    pub id: String,
    pub input_tokens_per_day: f64,
    pub output_tokens_per_day: f64,
    pub covered_output_tokens_per_day: f64,
    pub cost_usd_per_day: f64,
    pub chips: Vec<ServiceChips>,
    /// Why it is short, when it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shortfall: Option<String>,
}

/// The Serving section's data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Serving {
    pub services: Vec<ServiceRow>,
}

fn both() -> String {
    "both".into()
}

fn tokens(v: f64) -> String {
    format!("{} B", format::fixed(v / 1e9, 1))
}

/// The section's HTML; nothing when the report has no services.
pub fn html(section: Option<&Section<Serving>>) -> String {
    let Some(section) = section else {
        return String::new();
    };
    let mut s = String::from(
        "<section class=\"part\" id=\"serving\"><h2><span class=\"num\">1b</span>Serving</h2>\
         <p class=\"explain\">The scenario's <code>[[service]]</code> entries: output tokens a \
         day each must serve, what the plan covers (existing pools first, then bought or leased \
         nodes chosen in the same program as the training compute), the accelerators serving \
         each, and what a million output tokens costs on each part. Serving nodes earn no \
         training PFLOPS.</p>",
    );
    let data = match section {
        Section::Available { data } => data,
        Section::Unavailable { reason } => {
            let _ = write!(
                s,
                "<p class=\"na\">Not available: {}</p><figure class=\"chart unavailable\" \
                 id=\"{CHART_ID}\"><figcaption>Accelerators per service</figcaption>\
                 <p class=\"na\">Not available: {}</p></figure></section>",
                esc(reason),
                esc(reason)
            );
            return s;
        }
    };
    s.push_str(&demand_table(data));
    s.push_str(&chart(data));
    s.push_str(&chips_table(data));
    s.push_str("</section>");
    s
}

fn demand_table(d: &Serving) -> String {
    let mut s = String::from(
        "<div class=\"table-wrap\"><table class=\"serving\"><thead><tr><th>Service</th>\
         <th class=\"num\">Input tokens/day</th><th class=\"num\">Output tokens/day</th>\
         <th class=\"num\">Covered</th><th class=\"num\">USD/day</th><th>Shortfall</th>\
         </tr></thead><tbody>",
    );
    for r in &d.services {
        let _ = write!(
            s,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            esc(&r.id),
            tokens(r.input_tokens_per_day),
            tokens(r.output_tokens_per_day),
            format::pct(r.covered_output_tokens_per_day / r.output_tokens_per_day),
            usd(r.cost_usd_per_day),
            esc(r.shortfall.as_deref().unwrap_or("")),
        );
    }
    s.push_str("</tbody></table></div>");
    s
}

fn chips_table(d: &Serving) -> String {
    let mut s = String::from(
        "<div class=\"table-wrap\"><table class=\"serving-chips\"><thead><tr><th>Service</th>\
         <th>Accelerator</th><th>From</th><th>Role</th><th class=\"num\">Accelerators</th>\
         <th class=\"num\">Output tokens/day</th><th class=\"num\">USD per M output tokens</th>\
         <th>Rate from</th></tr></thead><tbody>",
    );
    for r in &d.services {
        for c in &r.chips {
            let _ = write!(
                s,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td>\
                 <td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
                esc(&r.id),
                esc(&c.accelerator),
                esc(&c.from),
                esc(&c.role),
                format::int(c.accelerators),
                tokens(c.output_tokens_per_day),
                c.usd_per_million_output_tokens
                    .map_or("unknown".to_string(), |v| format::fixed(v, 3)),
                esc(&c.source),
            );
        }
    }
    s.push_str("</tbody></table></div>");
    s
}

/// Accelerators per service, stacked by part.
fn chart(d: &Serving) -> String {
    let mut parts: Vec<&str> = d
        .services
        .iter()
        .flat_map(|r| r.chips.iter().map(|c| c.accelerator.as_str()))
        .collect();
    parts.sort_unstable();
    parts.dedup();
    let series = parts
        .iter()
        .enumerate()
        .map(|(k, part)| BarSeries {
            name: (*part).to_string(),
            color: chart::color(k).to_string(),
            values: d
                .services
                .iter()
                .map(|r| {
                    r.chips
                        .iter()
                        .filter(|c| c.accelerator == *part)
                        .map(|c| c.accelerators as f64)
                        .sum()
                })
                .collect(),
        })
        .collect();
    let svg = chart::hbar(&Bars {
        width: chart::HALF,
        categories: d.services.iter().map(|r| r.id.clone()).collect(),
        series,
        stacked: true,
        axis_label: "Accelerators serving it".into(),
        fmt: &|v| format::int(v.round() as u64),
        desc: "Accelerators serving each service, stacked by part".into(),
    });
    format!(
        "<figure class=\"chart\" id=\"{CHART_ID}\"><figcaption>Accelerators per service\
         <small>existing pools and planned nodes, by part</small></figcaption>{svg}</figure>"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> Serving {
        let chips = |accelerator: &str, from: &str, n: u64, usd: Option<f64>| ServiceChips {
            accelerator: accelerator.into(),
            from: from.into(),
            role: "both".into(),
            accelerators: n,
            output_tokens_per_day: n as f64 * 1e7,
            usd_per_million_output_tokens: usd,
            source: "roofline".into(),
        };
        Serving {
            services: vec![
                ServiceRow {
                    id: "assistant-cn".into(),
                    input_tokens_per_day: 152e9,
                    output_tokens_per_day: 42e9,
                    covered_output_tokens_per_day: 42e9,
                    cost_usd_per_day: 21_453.0,
                    chips: vec![
                        chips("a800-sxm", "pool cn-a800", 2048, Some(0.41)),
                        chips("h20", "pool cn-h20", 230, None),
                    ],
                    shortfall: None,
                },
                ServiceRow {
                    id: "search-my".into(),
                    input_tokens_per_day: 12e9,
                    output_tokens_per_day: 1.5e9,
                    covered_output_tokens_per_day: 0.75e9,
                    cost_usd_per_day: 9_000.0,
                    chips: vec![chips("h100-sxm", "candidate my-h100-lease", 64, Some(1.2))],
                    shortfall: Some("7.5e8 output tokens/day short: budget".into()),
                },
            ],
        }
    }

    #[test]
    fn issue_22_the_section_shows_demand_chips_cost_and_one_chart() {
        let page = html(Some(&Section::available(data())));
        assert_eq!(page, html(Some(&Section::available(data()))));
        assert_eq!(page.matches("<svg").count(), 1);
        assert!(page.contains(&format!("id=\"{CHART_ID}\"")));
        // Demand against capacity, per service.
        assert!(page.contains("<td>search-my</td><td class=\"num\">12.0 B</td><td class=\"num\">1.5 B</td><td class=\"num\">50"), "{page}");
        assert!(page.contains("budget"));
        // Chips by part, with the price per million tokens or "unknown".
        assert!(
            page.contains("<td>pool cn-a800</td><td>both</td><td class=\"num\">2,048</td>"),
            "{page}"
        );
        assert!(page.contains("<td class=\"num\">0.410</td>"));
        assert!(page.contains("<td class=\"num\">unknown</td>"));
        // Every part is in the chart's legend.
        for part in ["a800-sxm", "h20", "h100-sxm"] {
            assert!(page.contains(&format!(">{part}</text>")), "{part}");
        }
        assert_eq!(html(None), "");
        let na = html(Some(&Section::unavailable("no procurement plan")));
        assert!(na.contains("Not available: no procurement plan") && na.contains(CHART_ID));
    }
}
