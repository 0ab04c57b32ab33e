//! Golden outputs of the fixture (update with `UPDATE_GOLDEN=1 cargo test -p xpufleet-report`),
//! and checks that hold for any report: every chart present, nothing fetched, text escaped,
//! missing sections say so.

use std::path::PathBuf;

use proptest::prelude::*;
use xpufleet_report::chart::{self, BarSeries, Bars, LineSeries, Lines};
use xpufleet_report::*;

use crate::fixture;

fn golden_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

/// Compares `actual` with the golden file, or rewrites it when `UPDATE_GOLDEN=1`.
pub fn check_golden(name: &str, actual: &str) {
    let path = golden_path(name);
    if std::env::var("UPDATE_GOLDEN").as_deref() == Ok("1") {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e}; run with UPDATE_GOLDEN=1 to create it",
            path.display()
        )
    });
    if expected != actual {
        // Point at the first difference rather than dumping two large files.
        let at = expected
            .bytes()
            .zip(actual.bytes())
            .position(|(a, b)| a != b)
            .unwrap_or(expected.len().min(actual.len()));
        let lo = at.saturating_sub(80);
        let ctx = |s: &str| s.get(lo..(at + 80).min(s.len())).unwrap_or("").to_string();
        panic!(
            "{name} differs from the golden file at byte {at}:\n  golden: {:?}\n  actual: {:?}\n\
             If the change is intended, rerun with UPDATE_GOLDEN=1 and review the diff.",
            ctx(&expected),
            ctx(actual)
        );
    }
}

#[test]
fn html_matches_golden() {
    check_golden("report.html", &render_html(&fixture::report()));
}

#[test]
fn json_matches_golden_and_round_trips() {
    let r = fixture::report();
    let json = to_json(&r);
    check_golden("report.json", &json);
    // serde_json may parse a float one ulp off (without its `float_roundtrip` feature), so
    // compare what does not depend on the last bit.
    let back: ReportData = serde_json::from_str(&json).unwrap();
    assert_eq!(back.meta, r.meta);
    assert_eq!(back.labels, r.labels);
    assert_eq!(back.compliance, r.compliance);
    assert_eq!(back.workload, r.workload);
    let plan = back.plan.get().unwrap();
    assert_eq!(plan.lines.len(), 3);
    assert!((plan.spend_usd() - r.plan.get().unwrap().spend_usd()).abs() < 1e-3);
    assert!(!json.contains("-0.0"), "no negative zeros");
}

#[test]
fn csv_tables_match_golden() {
    let mut all = String::new();
    for (name, text) in csv_files(&fixture::report()) {
        all.push_str(&format!("==> {name} <==\n{text}"));
    }
    check_golden("tables.txt", &all);
}

/// The `<figure>` element with `id`, from its opening tag to its closing tag.
fn figure<'a>(html: &'a str, id: &str) -> &'a str {
    let open = format!("id=\"{id}\"");
    let at = html.find(&open).unwrap_or_else(|| panic!("no {id}"));
    let start = html[..at].rfind("<figure").unwrap();
    let end = at + html[at..].find("</figure>").unwrap();
    &html[start..end]
}

#[test]
fn every_chart_is_drawn_once_with_axes_and_a_legend_or_title() {
    let html = render_html(&fixture::report());
    for id in CHART_IDS {
        assert_eq!(
            html.matches(&format!("id=\"{id}\"")).count(),
            1,
            "{id} appears once"
        );
        let fig = figure(&html, id);
        assert!(
            fig.starts_with("<figure class=\"chart\""),
            "{id}: {fig:.200}"
        );
        assert!(fig.contains("<svg"), "{id} has an svg");
        assert!(
            fig.contains("class=\"axis-title\""),
            "{id} has an axis title"
        );
        assert!(fig.contains("class=\"tick\""), "{id} has tick labels");
        assert!(!fig.contains("NaN") && !fig.contains("inf"), "{id}");
    }
    assert_eq!(
        html.matches("<figure class=\"chart\"").count(),
        CHART_IDS.len()
    );
}

#[test]
fn the_page_fetches_nothing() {
    let html = render_html(&fixture::report());
    let without_xmlns = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    for bad in ["http://", "https://", " src=", "url(", "@import", "<link"] {
        assert!(!without_xmlns.contains(bad), "the page contains {bad:?}");
    }
    assert!(html.contains("Content-Security-Policy"));
    assert!(html.contains("default-src 'none'"));
}

#[test]
fn summary_answers_the_four_questions() {
    let html = render_html(&fixture::report());
    for id in ["card-buy", "card-rules", "card-workload", "card-cost"] {
        assert!(html.contains(&format!("id=\"{id}\"")), "{id}");
    }
    // The biggest plan line leads "what to buy where": 12,288 Ascend 910C at Ulanqab.
    let buy = &html[html.find("id=\"card-buy\"").unwrap()..];
    let buy = &buy[..buy.find("</article>").unwrap()];
    assert!(
        buy.contains("<b>12,288</b> × Ascend 910C at Ulanqab campus"),
        "{buy}"
    );
    // Four of the eight uses are not usable: licence required, red flag, unverified, prohibited.
    let rules = &html[html.find("id=\"card-rules\"").unwrap()..];
    assert!(
        rules.contains("<div class=\"big\"><span data-blocked=\"4\">4</span> <small>of 8</small>"),
        "{rules:.400}"
    );
    let work = &html[html.find("id=\"card-workload\"").unwrap()..];
    assert!(
        work.contains("6 <small>of 9 jobs done</small>"),
        "{work:.300}"
    );
}

#[test]
fn text_from_the_scenario_is_escaped() {
    let mut r = fixture::report();
    r.meta.scenario = "<script>alert(1)</script>".into();
    r.notes.push("a & b <i>".into());
    let html = render_html(&r);
    assert!(!html.contains("<script>alert"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("a &amp; b &lt;i&gt;"));
}

#[test]
fn missing_sections_say_why_and_invent_nothing() {
    let mut r = fixture::report();
    r.fleet = Section::unavailable("fleet engine missing");
    r.plan = Section::unavailable("the planner is not built yet");
    r.what_if = Section::unavailable("no what-if");
    r.compliance = Section::unavailable("no rule engine");
    r.workload = Section::unavailable("the simulator is not built yet");
    r.cost_energy = Section::unavailable("no cost model");
    let html = render_html(&r);
    for id in CHART_IDS {
        let fig = figure(&html, id);
        assert!(fig.contains("chart unavailable"), "{id}");
        assert!(fig.contains("Not available: "), "{id}");
        assert!(!fig.contains("<svg"), "{id}");
    }
    assert!(html.contains("Not available: the planner is not built yet"));
    assert!(!html.contains("12,288"), "no plan numbers leak in");
    let json = to_json(&r);
    assert!(json.contains("\"status\": \"unavailable\""));
    assert!(json.contains("\"reason\": \"the simulator is not built yet\""));
    // No table files for missing sections.
    let names: Vec<String> = csv_files(&r).into_iter().map(|f| f.0).collect();
    assert!(names.is_empty(), "{names:?}");
}

#[test]
fn rendering_is_deterministic() {
    let a = render_all(&fixture::report());
    let b = render_all(&fixture::report());
    assert_eq!(a, b);
    let names: Vec<&str> = a.iter().map(|f| f.0.as_str()).collect();
    assert_eq!(&names[..2], ["report.html", "report.json"]);
    assert!(names.contains(&"compliance.csv") && names.contains(&"jobs.csv"));
    // With every section available, every CSV the report knows of is written, and no other.
    let mut csvs: Vec<&str> = names[2..].to_vec();
    let mut known: Vec<&str> = CSV_NAMES.to_vec();
    csvs.sort();
    known.sort();
    assert_eq!(csvs, known);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Bars never print NaN or infinities and never draw outside the plot, whatever the values.
    #[test]
    fn bars_stay_finite_and_inside(values in proptest::collection::vec(0.0f64..1e15, 1..12), stacked: bool) {
        let f = |v: f64| format!("{v:.3e}");
        let svg = chart::hbar(&Bars {
            width: chart::HALF,
            categories: (0..values.len()).map(|i| format!("c{i}")).collect(),
            series: vec![
                BarSeries { name: "a".into(), color: chart::color(0).into(), values: values.clone() },
                BarSeries { name: "b".into(), color: chart::color(1).into(), values: values.iter().map(|v| v / 2.0).collect() },
            ],
            stacked,
            axis_label: "x".into(),
            fmt: &f,
            desc: "p".into(),
        });
        prop_assert!(!svg.contains("NaN") && !svg.contains("inf"));
        for w in svg.split("width=\"").skip(1) {
            let n: f64 = w[..w.find('"').unwrap()].parse().unwrap();
            prop_assert!((0.0..=chart::HALF).contains(&n), "width {n}");
        }
    }

    #[test]
    fn lines_stay_finite(ys in proptest::collection::vec(0.0f64..1e9, 1..50), x_max in 0.0f64..1e7) {
        let f = |v: f64| format!("{v}");
        let pts: Vec<(f64, f64)> = ys.iter().enumerate().map(|(i, y)| (i as f64, *y)).collect();
        let svg = chart::lines(&Lines {
            width: chart::FULL,
            series: vec![LineSeries { name: "s".into(), color: chart::color(2).into(), points: pts, step: true }],
            x_label: "x".into(),
            y_label: "y".into(),
            x_max,
            y_max: None,
            x_fmt: &f,
            y_fmt: &f,
            desc: "p".into(),
        });
        prop_assert!(!svg.contains("NaN") && !svg.contains("inf"));
    }
}
