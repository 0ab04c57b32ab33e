//! The report's risk section (issue #18): how the base plan fares across samples of the
//! scenario's `[[risk]]` entries, against the robust plan, and which risks drive the spread.
//! Present only when the scenario has risks, so reports of scenarios without them are unchanged.
//!
//! Three parts: a fan chart of the base plan's effective compute over the horizon (p10–p90 band,
//! p50 line, the nominal line if nothing goes wrong), a base-vs-robust table, and a tornado chart
//! of each risk's one-at-a-time swing.

use std::fmt::Write;

use serde::{Deserialize, Serialize};
use xpufleet_model::Date;

use crate::chart::{self, svg_open};
use crate::data::Section;
use crate::format::{self, esc, usd};

/// Ids of the risk section's charts, in page order (drawn only when the section is present).
pub const CHART_IDS: [&str; 2] = ["chart-risk-fan", "chart-risk-drivers"];

/// The spread of a figure across samples.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    pub p10: f64,
    pub p50: f64,
    pub p90: f64,
    pub mean: f64,
}

/// One plan's outcome across samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskSide {
    pub effective_pflops: Spread,
    pub spend_usd: Spread,
    /// If nothing goes wrong (the plan's own figures).
    pub nominal_effective_pflops: f64,
    pub nominal_spend_usd: f64,
}

/// One date of the fan chart: the base plan's effective PFLOPS across samples.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FanPoint {
    pub date: Date,
    pub p10: f64,
    pub p50: f64,
    pub p90: f64,
}

/// How far one risk alone moves the base plan's effective PFLOPS (every other risk nominal).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Driver {
    pub risk: String,
    /// "rule", "delivery", "price" or "fx".
    pub kind: String,
    pub pflops_low: f64,
    pub pflops_high: f64,
    pub spend_usd_low: f64,
    pub spend_usd_high: f64,
}

/// The risk section's data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Risk {
    pub samples: u64,
    pub seed: u64,
    /// The robust plan's criterion: "expected", "p10" or "cvar:ALPHA".
    pub measure: String,
    /// Samples the robust plan was solved on (both plans are evaluated on all of them).
    pub solved_on: u64,
    pub base: RiskSide,
    pub robust: RiskSide,
    /// Whether the robust plan buys exactly what the base plan buys.
    pub same_lines: bool,
    /// Base plan, every 30 days over the horizon.
    pub fan: Vec<FanPoint>,
    /// Widest PFLOPS swing first.
    pub drivers: Vec<Driver>,
}

const BAND: &str = "#c5d0f0";
const MEDIAN: &str = "#3b5bdb";
const NOMINAL: &str = "#6c757d";
const SWING: &str = "#ef6c00";

fn pflops(v: f64) -> String {
    format::sig3(v)
}

fn signed(v: f64, fmt: impl Fn(f64) -> String) -> String {
    if v > 0.0 {
        format!("+{}", fmt(v))
    } else if v < 0.0 {
        format!("−{}", fmt(-v))
    } else {
        "±0".into()
    }
}

/// The section's HTML (`section` is `None` when the scenario has no risks: nothing is drawn).
pub fn html(section: Option<&Section<Risk>>) -> String {
    let Some(section) = section else {
        return String::new();
    };
    let mut s = String::from(
        "<section class=\"part\" id=\"risk\"><h2><span class=\"num\">4b</span>Risk</h2>\
         <p class=\"explain\">The scenario's <code>[[risk]]</code> entries (rule changes with a \
         probability, delivery shortfalls, price and exchange-rate ranges) sampled by Monte \
         Carlo: how the base plan's effective compute and spend spread, the robust plan chosen \
         against the samples, and which risks drive the spread.</p>",
    );
    let r = match section {
        Section::Available { data } => data,
        Section::Unavailable { reason } => {
            let _ = write!(s, "<p class=\"na\">Not available: {}</p>", esc(reason));
            for (id, title) in CHART_IDS.iter().zip(["Compute over time", "Risk drivers"]) {
                let _ = write!(
                    s,
                    "<figure class=\"chart unavailable\" id=\"{id}\"><figcaption>{title}\
                     </figcaption><p class=\"na\">Not available: {}</p></figure>",
                    esc(reason)
                );
            }
            s.push_str("</section>");
            return s;
        }
    };
    let _ = write!(
        s,
        "<p class=\"headline\">{} samples (seed {}); the robust plan maximises the <b>{}</b> \
         effective PFLOPS, solved on the first {} samples. Base plan: {} PFLOPS if nothing goes \
         wrong, <b>{}</b> expected, {} at p10.</p>",
        format::int(r.samples),
        r.seed,
        esc(&r.measure),
        format::int(r.solved_on),
        pflops(r.base.nominal_effective_pflops),
        pflops(r.base.effective_pflops.mean),
        pflops(r.base.effective_pflops.p10),
    );
    s.push_str("<div class=\"grid2\">");
    let desc =
        format!(
        "Effective PFLOPS of the base plan every 30 days from {} over {} samples: 10th to 90th \
         percentile band, median line, and the nominal line if nothing goes wrong",
        r.fan.first().map(|p| p.date.to_string()).unwrap_or_default(),
        r.samples
    );
    let _ = write!(
        s,
        "<figure class=\"chart\" id=\"chart-risk-fan\"><figcaption>Compute over time across \
         samples<small>base plan, effective PFLOPS</small></figcaption>{}</figure>",
        fan_svg(r, &desc)
    );
    let _ = write!(
        s,
        "<figure class=\"chart\" id=\"chart-risk-drivers\"><figcaption>Which risks drive the \
         spread<small>base plan, effective PFLOPS, one risk at a time</small></figcaption>{}\
         </figure>",
        tornado_svg(r)
    );
    s.push_str("</div>");
    s.push_str(&comparison_table(r));
    s.push_str(&tradeoff_sentence(r));
    s.push_str("</section>");
    s
}

/// Rows of the base-vs-robust table: (figure, base, robust, robust minus base).
pub fn comparison_rows(r: &Risk) -> Vec<[String; 4]> {
    let p = |b: f64, x: f64| [pflops(b), pflops(x), signed(x - b, pflops)];
    let u = |b: f64, x: f64| [usd(b), usd(x), signed(x - b, usd)];
    let (b, x) = (&r.base, &r.robust);
    let rows: [(&str, [String; 3]); 10] = [
        (
            "Effective PFLOPS, nominal",
            p(b.nominal_effective_pflops, x.nominal_effective_pflops),
        ),
        (
            "Effective PFLOPS, expected",
            p(b.effective_pflops.mean, x.effective_pflops.mean),
        ),
        (
            "Effective PFLOPS, p10",
            p(b.effective_pflops.p10, x.effective_pflops.p10),
        ),
        (
            "Effective PFLOPS, p50",
            p(b.effective_pflops.p50, x.effective_pflops.p50),
        ),
        (
            "Effective PFLOPS, p90",
            p(b.effective_pflops.p90, x.effective_pflops.p90),
        ),
        (
            "Spend, nominal",
            u(b.nominal_spend_usd, x.nominal_spend_usd),
        ),
        ("Spend, expected", u(b.spend_usd.mean, x.spend_usd.mean)),
        ("Spend, p10", u(b.spend_usd.p10, x.spend_usd.p10)),
        ("Spend, p50", u(b.spend_usd.p50, x.spend_usd.p50)),
        ("Spend, p90", u(b.spend_usd.p90, x.spend_usd.p90)),
    ];
    rows.into_iter()
        .map(|(name, [b, x, d])| [name.to_string(), b, x, d])
        .collect()
}

fn comparison_table(r: &Risk) -> String {
    let mut s = String::from(
        "<div class=\"table-wrap\"><table class=\"risk\"><thead><tr><th>Figure</th>\
         <th class=\"num\">Base plan</th><th class=\"num\">Robust plan</th>\
         <th class=\"num\">Robust − base</th></tr></thead><tbody>",
    );
    for row in comparison_rows(r) {
        let _ = write!(
            s,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td></tr>",
            esc(&row[0]),
            esc(&row[1]),
            esc(&row[2]),
            esc(&row[3])
        );
    }
    s.push_str("</tbody></table></div>");
    s
}

/// One plain sentence on what robustness costs and protects.
pub fn tradeoff_text(r: &Risk) -> String {
    let (b, x) = (&r.base, &r.robust);
    if r.same_lines {
        return format!(
            "The robust plan is the base plan: against these risks no other purchase has a \
             better {} effective compute, so robustness costs nothing here and protects nothing \
             beyond the base plan.",
            r.measure
        );
    }
    format!(
        "Against the base plan, the robust plan changes effective compute by {} PFLOPS if \
         nothing goes wrong and by {} expected (what robustness costs when negative), by {} at \
         p10 (what it protects when positive), and expected spend by {}.",
        signed(
            x.nominal_effective_pflops - b.nominal_effective_pflops,
            pflops
        ),
        signed(x.effective_pflops.mean - b.effective_pflops.mean, pflops),
        signed(x.effective_pflops.p10 - b.effective_pflops.p10, pflops),
        signed(x.spend_usd.mean - b.spend_usd.mean, usd),
    )
}

fn tradeoff_sentence(r: &Risk) -> String {
    format!("<p class=\"headline\">{}</p>", esc(&tradeoff_text(r)))
}

/// The fan chart: p10–p90 band, p50 line and nominal line over days since the first date.
fn fan_svg(r: &Risk, desc: &str) -> String {
    let width = chart::HALF;
    let (x0, x1) = (64.0, width - 20.0);
    let items = [
        ("p10–p90".to_string(), BAND.to_string()),
        ("median".to_string(), MEDIAN.to_string()),
        ("nominal".to_string(), NOMINAL.to_string()),
    ];
    let (leg, leg_h) = chart::legend(&items, x0, 16.0, width - 10.0);
    let y0 = leg_h + 14.0;
    let y1 = y0 + 240.0;
    let h = y1 + 50.0;
    let start = r.fan.first().map(|p| p.date);
    let day = |d: Date| start.map_or(0.0, |s| s.days_until(d) as f64);
    let x_max = r.fan.last().map_or(0.0, |p| day(p.date)).max(1.0);
    let top = r
        .fan
        .iter()
        .map(|p| p.p90)
        .fold(r.base.nominal_effective_pflops, f64::max);
    let y_ticks = chart::ticks(top, 4);
    let y_top = y_ticks
        .last()
        .copied()
        .unwrap_or(1.0)
        .max(f64::MIN_POSITIVE);
    let sx = |v: f64| x0 + (x1 - x0) * (v / x_max).min(1.0);
    let sy = |v: f64| y1 - (y1 - y0) * (v / y_top);

    let mut s = String::new();
    svg_open(&mut s, width, h, desc);
    s.push_str(&leg);
    s.push_str("<g class=\"grid\">");
    for t in &y_ticks {
        let _ = write!(
            s,
            "<line x1=\"{x0:.1}\" y1=\"{y:.1}\" x2=\"{x1:.1}\" y2=\"{y:.1}\"/>",
            y = sy(*t)
        );
    }
    s.push_str("</g><g class=\"tick\">");
    for t in &y_ticks {
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            x0 - 6.0,
            sy(*t) + 4.0,
            esc(&format::short(*t))
        );
    }
    for t in chart::ticks(x_max, 6).iter().filter(|t| **t <= x_max) {
        let x = sx(*t);
        let _ = write!(
            s,
            "<line class=\"tickmark\" x1=\"{x:.1}\" y1=\"{y1:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\"/>\
             <text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            y1 + 4.0,
            y1 + 17.0,
            format::fixed(*t, 0)
        );
    }
    let _ = write!(
        s,
        "</g><line class=\"axis\" x1=\"{x0:.1}\" y1=\"{y1:.1}\" x2=\"{x1:.1}\" y2=\"{y1:.1}\"/>\
         <line class=\"axis\" x1=\"{x0:.1}\" y1=\"{y0:.1}\" x2=\"{x0:.1}\" y2=\"{y1:.1}\"/>\
         <text class=\"axis-title\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">Days since {}\
         </text><text class=\"axis-title\" transform=\"translate(14 {:.1}) rotate(-90)\" \
         text-anchor=\"middle\">Effective PFLOPS</text>",
        (x0 + x1) / 2.0,
        y1 + 40.0,
        start.map(|d| d.to_string()).unwrap_or_default(),
        (y0 + y1) / 2.0,
    );
    if !r.fan.is_empty() {
        let mut band = String::new();
        for (i, p) in r.fan.iter().enumerate() {
            let c = if i == 0 { 'M' } else { 'L' };
            let _ = write!(band, "{c}{:.1} {:.1}", sx(day(p.date)), sy(p.p90));
        }
        for p in r.fan.iter().rev() {
            let _ = write!(band, "L{:.1} {:.1}", sx(day(p.date)), sy(p.p10));
        }
        let _ = write!(
            s,
            "<path d=\"{band}Z\" fill=\"{BAND}\" stroke=\"none\"><title>10th to 90th percentile \
             across samples</title></path>"
        );
        let mut med = String::new();
        for (i, p) in r.fan.iter().enumerate() {
            let c = if i == 0 { 'M' } else { 'L' };
            let _ = write!(med, "{c}{:.1} {:.1}", sx(day(p.date)), sy(p.p50));
        }
        let _ = write!(
            s,
            "<path class=\"series\" d=\"{med}\" stroke=\"{MEDIAN}\"><title>median</title></path>"
        );
        for p in &r.fan {
            let _ = write!(
                s,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"2.5\" fill=\"{MEDIAN}\"><title>{}: p10 {}, \
                 p50 {}, p90 {} PFLOPS</title></circle>",
                sx(day(p.date)),
                sy(p.p50),
                p.date,
                pflops(p.p10),
                pflops(p.p50),
                pflops(p.p90)
            );
        }
    }
    let yn = sy(r.base.nominal_effective_pflops);
    let _ = write!(
        s,
        "<path class=\"series\" d=\"M{x0:.1} {yn:.1}H{x1:.1}\" stroke=\"{NOMINAL}\" \
         stroke-dasharray=\"5 4\"><title>nominal: {} PFLOPS if nothing goes wrong</title></path>\
         </svg>",
        pflops(r.base.nominal_effective_pflops)
    );
    s
}

/// The tornado chart: one bar per risk from its low to its high effective PFLOPS, widest first,
/// around a vertical line at the nominal figure.
fn tornado_svg(r: &Risk) -> String {
    let width = chart::HALF;
    let label_w = 150.0;
    let (x0, x1) = (label_w + 10.0, width - 20.0);
    let bar_h = 16.0;
    let gap = 8.0;
    let y0 = 10.0;
    let n = r.drivers.len().max(1) as f64;
    let y1 = y0 + n * (bar_h + gap);
    let h = y1 + 50.0;
    let nominal = r.base.nominal_effective_pflops;
    let top = r
        .drivers
        .iter()
        .map(|d| d.pflops_high)
        .fold(nominal, f64::max);
    // The axis spans the bars and the nominal line, not 0 to the top: risks move the plan by
    // a few percent, which an axis from 0 would draw as slivers.
    let bottom = r
        .drivers
        .iter()
        .map(|d| d.pflops_low)
        .fold(nominal, f64::min)
        .max(0.0);
    let x_ticks = chart::range_ticks(bottom, top, 5);
    let x_lo = x_ticks.first().copied().unwrap_or(0.0);
    let x_top = x_ticks.last().copied().unwrap_or(1.0);
    let x_span = (x_top - x_lo).max(f64::MIN_POSITIVE);
    let sx = |v: f64| x0 + (x1 - x0) * ((v - x_lo) / x_span);
    let desc = format!(
        "How far each risk alone moves the base plan's effective PFLOPS from {} (nominal), \
         widest first: {}",
        pflops(nominal),
        r.drivers
            .iter()
            .map(|d| format!(
                "{} {} to {}",
                d.risk,
                pflops(d.pflops_low),
                pflops(d.pflops_high)
            ))
            .collect::<Vec<_>>()
            .join("; ")
    );
    let mut s = String::new();
    svg_open(&mut s, width, h, &desc);
    s.push_str("<g class=\"grid\">");
    for t in &x_ticks {
        let x = sx(*t);
        let _ = write!(
            s,
            "<line x1=\"{x:.1}\" y1=\"{y0:.1}\" x2=\"{x:.1}\" y2=\"{y1:.1}\"/>"
        );
    }
    s.push_str("</g><g class=\"tick\">");
    for t in &x_ticks {
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            sx(*t),
            y1 + 17.0,
            esc(&format::short(*t))
        );
    }
    s.push_str("</g>");
    for (i, d) in r.drivers.iter().enumerate() {
        let y = y0 + i as f64 * (bar_h + gap) + gap / 2.0;
        let label = format!("{} ({})", d.risk, d.kind);
        let shown: String = if label.chars().count() > 24 {
            label.chars().take(23).chain(['…']).collect()
        } else {
            label.clone()
        };
        let _ = write!(
            s,
            "<text class=\"cat\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}<title>{}</title>\
             </text><rect x=\"{:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{bar_h:.1}\" \
             fill=\"{SWING}\"><title>{}: {} to {} PFLOPS; spend {} to {}</title></rect>",
            x0 - 6.0,
            y + bar_h / 2.0 + 4.0,
            esc(&shown),
            esc(&label),
            sx(d.pflops_low),
            (sx(d.pflops_high) - sx(d.pflops_low)).max(1.0),
            esc(&d.risk),
            pflops(d.pflops_low),
            pflops(d.pflops_high),
            usd(d.spend_usd_low),
            usd(d.spend_usd_high)
        );
    }
    let xn = sx(nominal);
    let _ = write!(
        s,
        "<line class=\"axis\" x1=\"{x0:.1}\" y1=\"{y1:.1}\" x2=\"{x1:.1}\" y2=\"{y1:.1}\"/>\
         <line x1=\"{xn:.1}\" y1=\"{y0:.1}\" x2=\"{xn:.1}\" y2=\"{y1:.1}\" stroke=\"{NOMINAL}\" \
         stroke-dasharray=\"4 3\"><title>nominal: {} PFLOPS</title></line>\
         <text class=\"axis-title\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">Effective \
         PFLOPS of the base plan</text></svg>",
        pflops(nominal),
        (x0 + x1) / 2.0,
        y1 + 40.0
    );
    s
}
