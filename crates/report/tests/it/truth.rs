//! Issue 17, item 7: the report tells the whole truth. Idle planned capacity is shown as such,
//! verdict counts agree wherever they appear, rejected jobs are drawn as rejected, and no
//! output prints `-0`, `NaN` or `inf`.

use xpufleet_comply::Outcome;
use xpufleet_report::{render_all, render_html, FleetUse, ReportData, Section, Standing};

use crate::fixture;

fn data_mut<T>(s: &mut Section<T>) -> Option<&mut T> {
    match s {
        Section::Available { data } => Some(data),
        Section::Unavailable { .. } => None,
    }
}

/// The numbers of `attr="N"` attributes in `html`, in order.
fn attr_values(html: &str, attr: &str) -> Vec<u64> {
    let key = format!("{attr}=\"");
    html.match_indices(&key)
        .map(|(i, _)| {
            let rest = &html[i + key.len()..];
            rest[..rest.find('"').unwrap()].parse().unwrap()
        })
        .collect()
}

#[test]
fn planned_fleet_utilisation_is_used_over_available_and_in_range() {
    let r = fixture::report();
    let w = r.workload.get().unwrap();
    let f = w
        .fleet_use
        .as_ref()
        .expect("the fixture has the fleet's use");
    assert_eq!(f.accels, 306_328);
    let available = f.accels as f64 * f.horizon_s as f64 / 3600.0;
    assert!((f.accel_hours_available - available).abs() < 1e-6 * available);
    assert!((0.0..=1.0).contains(&f.utilisation));
    assert!((f.utilisation - f.accel_hours_used / f.accel_hours_available).abs() < 1e-12);
    // Far below the busiest type's figure: most of the planned fleet ran nothing.
    let busiest = w.utilisation.iter().map(|u| u.mean).fold(0.0, f64::max);
    assert!(
        f.utilisation < busiest / 2.0,
        "{} vs {busiest}",
        f.utilisation
    );
    // The summary and the workload section say so.
    let html = render_html(&r);
    let shown = xpufleet_report::format::pct(f.utilisation);
    let card = &html[html.find("id=\"card-workload\"").unwrap()..];
    let card = &card[..card.find("</article>").unwrap()];
    assert!(
        card.contains(&format!("planned fleet busy <b>{shown}</b>")),
        "{card}"
    );
    assert!(html.contains("planned fleet busy</div>") || html.contains(&shown));
}

#[test]
fn fleet_use_is_clamped_and_never_divides_by_zero() {
    let f = FleetUse::new(0, 0, 10.0);
    assert_eq!((f.utilisation, f.accel_hours_used), (0.0, 0.0));
    let f = FleetUse::new(8, 3600, 1e9);
    assert_eq!(f.utilisation, 1.0);
    assert_eq!(f.accel_hours_idle(), 0.0);
    let f = FleetUse::new(8, 3600, 4.0 * 3600.0);
    assert_eq!((f.accel_hours_used, f.utilisation), (4.0, 0.5));
    assert_eq!(f.accel_hours_idle(), 4.0);
}

#[test]
fn idle_cost_is_shown_beside_the_cost_of_the_jobs() {
    let r = fixture::report();
    let c = r.cost_energy.get().unwrap();
    let idle = c.idle.as_ref().expect("the fixture has the idle cost");
    let html = render_html(&r);
    let card = &html[html.find("id=\"card-cost\"").unwrap()..];
    let card = &card[..card.find("</article>").unwrap()];
    let shown = xpufleet_report::format::usd(idle.total_cost_usd);
    assert!(
        card.contains(&format!("idle accelerators: <b>{shown}</b>")),
        "{card}"
    );
    assert!(html.contains("<h3>Idle planned capacity</h3>"));
    assert!(html.contains("<table class=\"idle\">"));
}

#[test]
fn verdict_counts_agree_between_headline_badges_and_chart() {
    let r = fixture::report();
    let c = r.compliance.get().unwrap();
    let html = render_html(&r);
    let card = &html[html.find("id=\"card-rules\"").unwrap()..];
    let card = &card[..card.find("</article>").unwrap()];
    let headline = attr_values(card, "data-blocked");
    assert_eq!(headline.len(), 1);
    // Badges: one per standing, each use once, so they add up to every use checked; those
    // that are not usable add up to the headline.
    let badges = attr_values(card, "data-n");
    assert_eq!(badges.iter().sum::<u64>(), c.rows.len() as u64);
    let standings = c.standings();
    let blocked: usize = standings
        .iter()
        .filter(|(s, _)| !s.usable())
        .map(|(_, n)| n)
        .sum();
    assert_eq!(headline[0], blocked as u64);
    assert_eq!(blocked, c.rows.iter().filter(|r| !r.usable).count());
    // The chart: a use that is licence-required and unverified is counted once, as
    // licence-required; an allowed but unverified use as unverified.
    let lr_unverified = c
        .rows
        .iter()
        .any(|r| r.outcome == Outcome::LicenceRequired && !r.verified);
    let mut r2 = r.clone();
    if !lr_unverified {
        let row = &mut data_mut(&mut r2.compliance).unwrap().rows[0];
        row.outcome = Outcome::LicenceRequired;
        row.verified = false;
        row.usable = false;
    }
    let c2 = r2.compliance.get().unwrap();
    let total: usize = c2.standings().iter().map(|(_, n)| n).sum();
    assert_eq!(total, c2.rows.len());
    // Chart bars carry their counts in the tooltips; the per-standing totals match.
    let html = render_html(&r2);
    let chart = &html[html.find("id=\"chart-verdicts\"").unwrap()..];
    let chart = &chart[..chart.find("</figure>").unwrap()];
    for (st, n) in c2.standings() {
        let pool = c2
            .rows
            .iter()
            .filter(|r| r.target_kind == "pool" && Standing::of(r) == st)
            .count();
        let cand = n - pool;
        for (k, v) in [("existing pools", pool), ("candidates", cand)] {
            if v > 0 {
                let tip = format!("{k} · {}: {v}", st.as_str());
                assert!(chart.contains(&tip), "{tip} in {chart:.600}");
            }
        }
    }
}

#[test]
fn a_rejected_job_is_drawn_as_rejected_not_waiting() {
    let r = fixture::report();
    let w = r.workload.get().unwrap();
    let rejected = w.jobs.iter().filter(|j| j.status == "rejected").count();
    assert_eq!(rejected, 1);
    let html = render_html(&r);
    let chart = &html[html.find("id=\"chart-timeline\"").unwrap()..];
    let chart = &chart[..chart.find("</figure>").unwrap()];
    assert_eq!(chart.matches("<g class=\"rejected\"").count(), rejected);
    assert!(chart.contains(">rejected</text>"), "legend names it");
    // Waiting bars: one per job that is not rejected.
    assert_eq!(
        chart.matches("<rect class=\"wait\"").count(),
        w.jobs.len() - rejected
    );
}

/// Every output file of a report, checked for numbers a reader should never see.
fn assert_no_bad_numbers(r: &ReportData) {
    for (name, text) in render_all(r) {
        for bad in ["NaN", "inf", "-0.00", "-0.0%", "−0 ", ">-0<", ">-0 "] {
            let hit = text.match_indices(bad).find(|(i, _)| {
                // "inf" inside a word ("information", "infeasible") is prose, not a number.
                let after = text[i + bad.len()..].chars().next();
                !(bad == "inf" && after.is_some_and(|c| c.is_ascii_alphabetic()))
            });
            if let Some((i, _)) = hit {
                let lo = i.saturating_sub(60);
                let hi = (i + 60).min(text.len());
                let ctx = text.get(lo..hi).unwrap_or("");
                panic!("{name}: {bad:?} printed: …{ctx}…");
            }
        }
        if name == "report.json" {
            // "-0.0" in JSON is a negative zero.
            assert!(
                !text.contains(": -0.0,") && !text.contains(": -0.0\n"),
                "{name}"
            );
        }
    }
}

#[test]
fn no_negative_zero_nan_or_infinity_in_any_output() {
    assert_no_bad_numbers(&fixture::report());
    // Tiny negatives, zeros and non-finite values where the engines might produce them.
    let mut r = fixture::report();
    if let Some(w) = data_mut(&mut r.workload) {
        for u in &mut w.utilisation {
            u.mean = -0.0;
        }
        if let Some(f) = &mut w.fleet_use {
            f.utilisation = -1e-12;
        }
    }
    if let Some(c) = data_mut(&mut r.cost_energy) {
        for row in &mut c.rows {
            row.cost_usd = -0.0;
            row.energy_mwh = -1e-9;
        }
        c.total_cost_usd = -0.0;
    }
    if let Some(p) = data_mut(&mut r.plan) {
        for e in &mut p.envelopes {
            e.budget_usd = f64::NAN;
            e.spent = -0.0;
        }
    }
    let html = render_html(&r);
    for bad in ["NaN", "-0.00", "-0%", "-0.0%"] {
        assert!(!html.contains(bad), "{bad}");
    }
}

#[test]
fn whole_counts_are_printed_as_integers() {
    let r = fixture::report();
    let html = render_html(&r);
    // Counts of jobs, accelerators, preemptions and failures never carry a decimal point.
    let kpis = &html[html.find("class=\"kpis\"").unwrap()..];
    let kpis = &kpis[..kpis.find("<figure").unwrap()];
    assert!(kpis.contains("6 / 9"), "{kpis}");
    assert!(!kpis.contains("6.0"), "{kpis}");
    let json = xpufleet_report::to_json(&r);
    assert!(json.contains("\"accels\": 306328"));
    assert!(json.contains("\"completed\": 6"));
}
