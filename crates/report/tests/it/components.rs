//! Issue 23 item 3 and issue 27 items 2–3: the report's components read right on their own
//! (the web UI draws with the same ones), one colour per accelerator everywhere, charts whose
//! axes fit their data, failures counted where they cost work, and what changes within the
//! horizon.

use xpufleet_comply::Outcome;
use xpufleet_report::chart::range_ticks;
use xpufleet_report::components::{self, horizon_changes};
use xpufleet_report::{csv_files, render_html, Palette, ReportData, Section, VerdictChangeRow};

use crate::fixture;

fn figure<'a>(html: &'a str, id: &str) -> &'a str {
    let at = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("{id} missing"));
    let rest = &html[at..];
    &rest[..rest.find("</figure>").expect("figure closes")]
}

#[test]
fn utilisation_is_small_multiples_one_chart_per_type() {
    let r = fixture::report();
    let w = r.workload.get().unwrap();
    let html = render_html(&r);
    let chart = figure(&html, "chart-utilisation");
    assert_eq!(chart.matches("<svg").count(), w.utilisation.len());
    assert!(w.utilisation.len() > 1, "the fixture has several types");
}

#[test]
fn an_accelerator_has_one_colour_in_every_chart_and_table() {
    let r = fixture::report();
    let pal = Palette::of_report(&r);
    let html = render_html(&r);
    let plan = r.plan.get().unwrap();
    let w = r.workload.get().unwrap();
    // Distinct colours for the fixture's accelerators (it has fewer than ten).
    let mut ids: Vec<&str> = r.labels.accelerators.keys().map(String::as_str).collect();
    ids.sort();
    let mut colours: Vec<&str> = ids.iter().map(|a| pal.accelerator(a)).collect();
    colours.dedup();
    assert_eq!(colours.len(), ids.len());
    // The plan table's swatch and the utilisation chart's line of one accelerator agree.
    let line = &plan.lines[0];
    let c = pal.accelerator(&line.accelerator);
    let table = &html[html.find("id=\"plan-lines\"").unwrap()..];
    let table = &table[..table.find("</table>").unwrap()];
    assert!(
        table.contains(&format!("fill=\"{c}\"")),
        "{c} not in the plan table"
    );
    if w.utilisation
        .iter()
        .any(|u| u.accelerator == line.accelerator)
    {
        let util = figure(&html, "chart-utilisation");
        assert!(
            util.contains(&format!("stroke=\"{c}\"")),
            "{c} not in utilisation"
        );
    }
    // The palette depends on the set of ids, not on which page lists them first.
    let mut reversed = ids.clone();
    reversed.reverse();
    assert_eq!(Palette::new(reversed), Palette::new(ids));
}

#[test]
fn axes_that_do_not_start_at_zero_still_hold_the_data() {
    // A tornado chart's bars around 48,000 PFLOPS: the axis starts near them, not at 0.
    let t = range_ticks(46_500.0, 49_200.0, 5);
    assert!(t[0] > 40_000.0 && t[0] <= 46_500.0, "{t:?}");
    assert!(*t.last().unwrap() >= 49_200.0, "{t:?}");
    // Degenerate ranges still give an axis with two ticks or more.
    assert!(range_ticks(5.0, 5.0, 5).len() >= 2);
    assert!(range_ticks(0.0, 0.0, 5).len() >= 2);
}

#[test]
fn no_time_axes_when_no_job_ran() {
    let mut r: ReportData = fixture::report();
    if let Section::Available { data } = &mut r.workload {
        for j in &mut data.jobs {
            j.start_s = None;
            j.end_s = None;
            j.status = "waiting".into();
        }
    }
    let html = render_html(&r);
    for id in ["chart-utilisation", "chart-timeline", "chart-jct"] {
        let f = figure(&html, id);
        assert!(
            f.contains("Not available"),
            "{id} drawn without any job: {f}"
        );
        assert!(!f.contains("<svg"), "{id}");
    }
}

#[test]
fn failures_are_counted_per_job_in_jobs_csv() {
    let r = fixture::report();
    let w = r.workload.get().unwrap();
    let sum: u64 = w.jobs.iter().map(|j| u64::from(j.failures)).sum();
    assert_eq!(sum, w.job_failures);
    assert!(
        w.job_failures < w.failures,
        "one failure hit an idle accelerator"
    );
    let csv = csv_files(&r)
        .into_iter()
        .find(|(n, _)| n == "jobs.csv")
        .unwrap()
        .1;
    let head: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let col = head
        .iter()
        .position(|h| *h == "failures")
        .expect("a failures column");
    let vision = csv.lines().find(|l| l.starts_with("vision-13b,")).unwrap();
    assert_eq!(vision.split(',').nth(col), Some("2"));
    // The headline counts the failures that hit jobs.
    let html = render_html(&r);
    assert!(html.contains("failures hitting jobs"));
}

fn change(target: &str, usable_to: bool, pflops: f64) -> VerdictChangeRow {
    VerdictChangeRow {
        target: target.into(),
        user: "acme".into(),
        date: "2025-05-13".parse().unwrap(),
        from: Outcome::Allowed,
        to: if usable_to {
            Outcome::LicenceException
        } else {
            Outcome::RedFlag
        },
        usable_from: true,
        usable_to,
        direction: "stricter".into(),
        rules: vec!["rule/a".into()],
        accelerators: 1000,
        spend_usd: 2.5e7,
        effective_pflops: pflops,
    }
}

#[test]
fn what_changes_within_the_horizon_states_the_value_at_stake() {
    let as_of = "2025-03-01".parse().unwrap();
    let end = Some("2026-03-01".parse().unwrap());
    let s = horizon_changes(
        &[
            change("a", false, 100.0),
            change("b", true, 7.0),
            change("c", false, 23.0),
        ],
        as_of,
        end,
    );
    // Only the lines that stop being usable count towards the value at stake.
    assert!(s.contains("<b>123 effective PFLOPS</b> on 2 lines"), "{s}");
    assert_eq!(
        s.matches("<tr>").count(),
        1 + 3,
        "a header and one row per change"
    );
    assert!(s.contains("class=\"pill o-red-flag\""));
    assert!(
        !s.contains("style="),
        "no inline styles: the web UI's policy refuses them"
    );
    let none = horizon_changes(&[], as_of, end);
    assert!(none.contains("No line's verdict changes between 2025-03-01"));
    assert!(horizon_changes(&[], as_of, None).contains("were not looked at"));
}

#[test]
fn components_write_no_inline_styles() {
    let r = fixture::report();
    let plan = r.plan.get().unwrap();
    let pal = Palette::of_report(&r);
    for frag in [
        components::plan_lines_table(&plan.lines, &r.labels, &pal),
        components::constraints_table(&plan.constraints),
        components::excluded_table(&plan.excluded),
        components::verdict_chart(&r.compliance.get().unwrap().rows, 1300.0),
        components::utilisation_chart(r.workload.get().unwrap(), &r.labels, &pal),
    ] {
        assert!(!frag.contains("style="), "{frag}");
    }
}
