//! The report's tables and charts as components: functions from typed report data to an HTML
//! or SVG fragment. The HTML report and the web UI both draw with them, so a plan, a verdict
//! count or a fleet's compute reads the same, in the same colours, wherever it is shown.
//!
//! A component returns a fragment with every value escaped; it never reads a file or the clock.
//! Styles are the report's (`report.css`), which the web UI's stylesheet repeats for these
//! class names (`table-wrap`, `swatch`, `pill`, `muted`, `num`). No component writes a `style`
//! attribute: the web UI's content-security policy refuses inline styles.

use std::fmt::Write;

use xpufleet_comply::Outcome;
use xpufleet_model::Date;

use crate::build::Standing;
use crate::chart::{self, BarSeries, Bars, LineSeries, Lines};
use crate::data::*;
use crate::format::{self, esc, int, usd};
use crate::palette::{self, Palette};

/// A table in a horizontally scrolling wrapper (narrow screens scroll it rather than clip
/// it); cells are HTML already escaped; columns listed in `num` are right-aligned numbers.
/// `id` is the table's element id (the web UI's tests find tables by it), and its class.
pub fn table(id: &str, head: &[&str], num: &[usize], rows: &[Vec<String>]) -> String {
    let mut s = format!("<div class=\"table-wrap\"><table class=\"{id}\" id=\"{id}\"><thead><tr>");
    for (i, h) in head.iter().enumerate() {
        let c = if num.contains(&i) {
            " class=\"num\""
        } else {
            ""
        };
        let _ = write!(s, "<th scope=\"col\"{c}>{}</th>", esc(h));
    }
    s.push_str("</tr></thead><tbody>");
    for row in rows {
        s.push_str("<tr>");
        for (i, cell) in row.iter().enumerate() {
            let c = if num.contains(&i) {
                " class=\"num\""
            } else {
                ""
            };
            let _ = write!(s, "<td{c}>{cell}</td>");
        }
        s.push_str("</tr>");
    }
    s.push_str("</tbody></table></div>");
    s
}

/// A coloured label.
pub fn pill(text: &str, color: &str) -> String {
    format!(
        "<span class=\"pill\" style=\"background:{color}\">{}</span>",
        esc(text)
    )
}

/// A small square of an accelerator's colour before its name. An SVG `fill`, not a `style`
/// attribute, so that the web UI's content-security policy (no inline styles) lets it show.
pub fn swatch(color: &str) -> String {
    format!(
        "<svg class=\"swatch\" width=\"10\" height=\"10\" aria-hidden=\"true\">\
         <rect width=\"10\" height=\"10\" rx=\"2\" fill=\"{color}\"/></svg>"
    )
}

/// An outcome as a pill in its colour.
pub fn outcome_pill(o: Outcome) -> String {
    pill(o.as_str(), palette::outcome(o))
}

/// An accelerator's display name, else its id.
pub fn accel_name(labels: &Labels, id: &str) -> String {
    labels
        .accelerators
        .get(id)
        .cloned()
        .unwrap_or_else(|| id.to_string())
}

/// A site's display name, else its id.
pub fn site_name(labels: &Labels, id: &str) -> String {
    match labels.sites.get(id) {
        Some(n) if !n.is_empty() => n.clone(),
        _ => id.to_string(),
    }
}

/// The plan's lines: what to buy or lease where, with the accelerator's colour swatch.
pub fn plan_lines_table(lines: &[PlanLine], labels: &Labels, pal: &Palette) -> String {
    let rows: Vec<Vec<String>> = lines
        .iter()
        .map(|l| {
            vec![
                format!("<code>{}</code>", esc(&l.candidate)),
                format!(
                    "{}{}",
                    swatch(pal.accelerator(&l.accelerator)),
                    esc(&accel_name(labels, &l.accelerator))
                ),
                esc(&l.vendor),
                format!(
                    "{} <span class=\"muted\">{}</span>",
                    esc(&site_name(labels, &l.site)),
                    esc(&l.country)
                ),
                esc(&l.mode),
                int(l.nodes),
                int(l.accels),
                esc(&format::money(l.spend, &l.currency)),
                esc(&usd(l.spend_usd)),
                esc(&l.envelope),
                l.effective_pflops.map_or("–".into(), format::sig3),
                l.power_mw.map_or("–".into(), format::sig3),
                esc(&l.purpose()),
            ]
        })
        .collect();
    table(
        "plan-lines",
        &[
            "Candidate",
            "Accelerator",
            "Vendor",
            "Site",
            "Mode",
            "Nodes",
            "Accels",
            "Spend",
            "Spend (USD)",
            "Envelope",
            "Eff. PFLOPS",
            "Power (MW)",
            "For",
        ],
        &[5, 6, 7, 8, 10, 11],
        &rows,
    )
}

/// The plan's constraints, binding ones first, each with its value and, for a binding one,
/// what relaxing it by one step gains (as the CLI prints it).
pub fn constraints_table(constraints: &[ConstraintRow]) -> String {
    if constraints.is_empty() {
        return "<p class=\"muted\" id=\"binding\">The planner reported no constraints.</p>".into();
    }
    let mut cons: Vec<&ConstraintRow> = constraints.iter().collect();
    cons.sort_by_key(|c| !c.binding);
    let rows: Vec<Vec<String>> = cons
        .iter()
        .map(|c| {
            vec![
                format!("<code>{}</code>", esc(&c.id)),
                if c.binding {
                    "<span class=\"pill binding\">binding</span>".into()
                } else {
                    "<span class=\"muted\">slack</span>".into()
                },
                c.value.map_or("–".into(), format::sig3),
                esc(&c.detail),
            ]
        })
        .collect();
    table(
        "binding",
        &["Constraint", "", "Value", "Detail; relaxing it"],
        &[2],
        &rows,
    )
}

/// Candidates the plan may not use, and why.
pub fn excluded_table(excluded: &[ExcludedRow]) -> String {
    if excluded.is_empty() {
        return "<p class=\"muted\" id=\"excluded\">Every candidate was open to the plan.</p>"
            .into();
    }
    let rows: Vec<Vec<String>> = excluded
        .iter()
        .map(|e| {
            vec![
                format!("<code>{}</code>", esc(&e.candidate)),
                esc(&e.reason),
            ]
        })
        .collect();
    table("excluded", &["Candidate", "Why"], &[], &rows)
}

/// Verdict counts of pools and candidates, stacked by standing (the summary's badges).
pub fn verdict_chart(rows: &[ComplianceRow], width: f64) -> String {
    let kinds = ["pool", "candidate"];
    let mut series: Vec<BarSeries> = Standing::ALL
        .iter()
        .map(|st| BarSeries {
            name: st.as_str().into(),
            color: palette::standing(*st).into(),
            values: kinds
                .iter()
                .map(|k| {
                    rows.iter()
                        .filter(|r| r.target_kind == *k && Standing::of(r) == *st)
                        .count() as f64
                })
                .collect(),
        })
        .collect();
    series.retain(|s| s.values.iter().any(|v| *v > 0.0));
    let n = |v: f64| format::fixed(v, 0);
    chart::hbar(&Bars {
        width,
        categories: vec!["existing pools".into(), "candidates".into()],
        series,
        stacked: true,
        axis_label: "Uses checked (count)".into(),
        fmt: &n,
        desc: "Verdicts by outcome for pools and candidates".into(),
    })
}

/// Dense BF16 peak by a key (vendor or country), existing and planned stacked.
pub fn compute_chart(rows: &[ComputeRow], title: &str, width: f64) -> String {
    chart::hbar(&Bars {
        width,
        categories: rows.iter().map(|r| r.key.clone()).collect(),
        series: vec![
            BarSeries {
                name: "existing".into(),
                color: palette::EXISTING.into(),
                values: rows.iter().map(|r| r.pflops_existing).collect(),
            },
            BarSeries {
                name: "planned".into(),
                color: palette::PLANNED.into(),
                values: rows.iter().map(|r| r.pflops_planned).collect(),
            },
        ],
        stacked: true,
        axis_label: "PFLOPS (dense BF16 peak)".into(),
        fmt: &format::sig3,
        desc: format!("{title}, existing and planned"),
    })
}

/// Facility power of existing and planned pools at each site against its capacity.
pub fn power_chart(sites: &[SitePower], labels: &Labels, width: f64) -> String {
    let mw = |v: f64| format!("{} MW", format::sig3(v));
    chart::hbar(&Bars {
        width,
        categories: sites
            .iter()
            .map(|s| format!("{} ({})", site_name(labels, &s.site), s.country))
            .collect(),
        series: vec![
            BarSeries {
                name: "existing pools".into(),
                color: palette::EXISTING.into(),
                values: sites.iter().map(|s| s.existing_mw).collect(),
            },
            BarSeries {
                name: "planned pools".into(),
                color: palette::PLANNED.into(),
                values: sites.iter().map(|s| s.planned_mw).collect(),
            },
            BarSeries {
                name: "headroom".into(),
                color: palette::HEADROOM.into(),
                values: sites
                    .iter()
                    .map(|s| (s.capacity_mw - s.existing_mw - s.planned_mw).max(0.0))
                    .collect(),
            },
        ],
        stacked: true,
        axis_label: "Facility power (MW, board power × PUE)".into(),
        fmt: &mw,
        desc: "Power drawn by pools at each site against the site's capacity".into(),
    })
}

/// Time axis: hours for runs up to three days, days for longer ones. Returns (divisor, unit).
pub fn time_unit(horizon_s: f64) -> (f64, &'static str) {
    if horizon_s <= 3.0 * 86400.0 {
        (3600.0, "h")
    } else {
        (86400.0, "days")
    }
}

/// Most points a utilisation line is drawn with; longer series are resampled.
pub const MAX_CHART_POINTS: usize = 1200;

/// A step series resampled to at most `MAX_CHART_POINTS` bins over `[0, horizon_s]`, each bin
/// the time-weighted mean of the steps it covers, so a month of per-second steps neither
/// bloats the page nor loses its mean.
pub fn chart_points(points: &[UtilPoint], horizon_s: u64) -> Vec<(f64, f64)> {
    if points.len() <= MAX_CHART_POINTS || horizon_s == 0 {
        return points
            .iter()
            .map(|p| (p.t_s as f64, p.busy as f64))
            .collect();
    }
    let bins = MAX_CHART_POINTS;
    let width = horizon_s as f64 / bins as f64;
    let mut busy_s = vec![0.0; bins];
    for (i, p) in points.iter().enumerate() {
        let (mut a, end) = (
            p.t_s as f64,
            points
                .get(i + 1)
                .map_or(horizon_s, |n| n.t_s)
                .min(horizon_s) as f64,
        );
        while a < end {
            let b = ((a / width).floor() as usize).min(bins - 1);
            let bin_end = ((b + 1) as f64 * width).min(end);
            busy_s[b] += p.busy as f64 * (bin_end - a).max(0.0);
            if bin_end <= a {
                break;
            }
            a = bin_end;
        }
    }
    busy_s
        .iter()
        .enumerate()
        .map(|(b, s)| (b as f64 * width, s / width))
        .collect()
}

/// Utilisation as small multiples: one short step chart per accelerator type (in its
/// palette colour), each on a 0–100% axis over the same time axis, so types can be read one
/// at a time and compared by position rather than untangled from overlapping lines.
pub fn utilisation_chart(w: &Workload, labels: &Labels, pal: &Palette) -> String {
    if w.utilisation.is_empty() {
        return "<p class=\"na\">Not available: no accelerator type ran in the simulation.</p>"
            .into();
    }
    let horizon = w.horizon_s.max(1) as f64;
    let (div, unit) = time_unit(horizon);
    let tfmt = |v: f64| format::sig3(v);
    let pc = |v: f64| format!("{}%", format::fixed(v, 0));
    let mut s = String::from("<div class=\"multiples\">");
    for u in &w.utilisation {
        let series = LineSeries {
            name: format!(
                "{} ({} accels, mean {})",
                accel_name(labels, &u.accelerator),
                int(u.capacity),
                format::pct(u.mean)
            ),
            color: pal.accelerator(&u.accelerator).into(),
            points: chart_points(&u.points, w.horizon_s)
                .into_iter()
                .map(|(t, busy)| {
                    (
                        t / div,
                        if u.capacity > 0 {
                            100.0 * busy / u.capacity as f64
                        } else {
                            0.0
                        },
                    )
                })
                .collect(),
            step: true,
        };
        s.push_str(&chart::lines_sized(
            &Lines {
                width: chart::HALF,
                series: vec![series],
                x_label: format!("Time since the first submission ({unit})"),
                y_label: "Busy (%)".into(),
                x_max: horizon / div,
                y_max: Some(100.0),
                x_fmt: &tfmt,
                y_fmt: &pc,
                desc: format!(
                    "Share of the {} accelerators busy over time",
                    accel_name(labels, &u.accelerator)
                ),
            },
            110.0,
        ));
    }
    s.push_str("</div>");
    s
}

/// An outcome as a pill coloured by its class (`o-red-flag`), which both stylesheets define;
/// a class, not a `style`, for the web UI's content-security policy.
pub fn outcome_class_pill(o: Outcome) -> String {
    format!("<span class=\"pill o-{o}\">{o}</span>", o = o.as_str())
}

/// "What changes within the horizon": each plan line whose verdict moves on a rule change
/// between the plan's date and the end of its horizon, with what the line holds, and a
/// headline of the value that stops being usable.
pub fn horizon_changes(
    changes: &[VerdictChangeRow],
    as_of: Date,
    horizon_end: Option<Date>,
) -> String {
    let Some(end) = horizon_end else {
        return "<p class=\"muted\" id=\"horizon-changes\">Verdicts over the horizon were not \
                looked at for this plan.</p>"
            .into();
    };
    if changes.is_empty() {
        return format!(
            "<p class=\"muted\" id=\"horizon-changes\">No line's verdict changes between {as_of} \
             and the end of the horizon, {end}.</p>"
        );
    }
    // A line counts once, at its first change to unusable.
    let mut lost: Vec<&VerdictChangeRow> = vec![];
    for c in changes {
        if c.usable_from && !c.usable_to && !lost.iter().any(|l| l.target == c.target) {
            lost.push(c);
        }
    }
    let pflops_lost: f64 = lost.iter().map(|c| c.effective_pflops).sum();
    let spend_lost: f64 = lost.iter().map(|c| c.spend_usd).sum();
    let mut s = format!(
        "<div id=\"horizon-changes\"><p class=\"headline\">Between {as_of} and {end}, {} \
         the plan's lines",
        match changes.len() {
            1 => "1 verdict change touches".to_string(),
            n => format!(
                "{} touch",
                format::count(n, "verdict change", "verdict changes")
            ),
        }
    );
    if lost.is_empty() {
        s.push_str("; none makes a line unusable.</p>");
    } else {
        let _ = write!(
            s,
            ": <b>{} effective PFLOPS</b> on {}, bought or leased for {}, stop being \
             usable before the horizon ends.</p>",
            format::sig3(pflops_lost),
            format::count(lost.len(), "line", "lines"),
            usd(spend_lost)
        );
    }
    let rows: Vec<Vec<String>> = changes
        .iter()
        .map(|c| {
            let usable = |u: bool| if u { "usable" } else { "not usable" };
            vec![
                c.date.to_string(),
                format!(
                    "<code>{}</code><div class=\"muted\">{}</div>",
                    esc(&c.target),
                    esc(&c.user)
                ),
                format!(
                    "{} → {}<div class=\"muted\">{}: {} → {}</div>",
                    outcome_class_pill(c.from),
                    outcome_class_pill(c.to),
                    esc(&c.direction),
                    usable(c.usable_from),
                    usable(c.usable_to)
                ),
                int(c.accelerators),
                esc(&usd(c.spend_usd)),
                format::sig3(c.effective_pflops),
                c.rules
                    .iter()
                    .map(|r| format!("<code>{}</code>", esc(r)))
                    .collect::<Vec<_>>()
                    .join(" "),
            ]
        })
        .collect();
    s.push_str(&table(
        "verdict-changes",
        &[
            "From",
            "Line",
            "Verdict",
            "Accelerators",
            "Spend (USD)",
            "Eff. PFLOPS",
            "Rules",
        ],
        &[3, 4, 5],
        &rows,
    ));
    s.push_str("</div>");
    s
}
