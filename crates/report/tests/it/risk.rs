//! The risk section (issue #18): golden HTML of a fixed section, the fixture without risks has
//! none, and the section renders no NaN/inf and stays accessible for any ordered fan.

use proptest::prelude::*;
use xpufleet_model::Date;
use xpufleet_report::risk::{self, Driver, FanPoint, Risk, RiskSide, Spread};
use xpufleet_report::{render_html, to_json, Section};

use crate::fixture;

fn spread(p10: f64, p50: f64, p90: f64, mean: f64) -> Spread {
    Spread {
        p10,
        p50,
        p90,
        mean,
    }
}

/// Figures in the shape of the example's (`xpufleet run --seed 7`), rounded.
pub fn section() -> Risk {
    let start = Date::from_ymd(2025, 3, 1).unwrap();
    let side = RiskSide {
        effective_pflops: spread(2210.0, 2385.5, 2520.0, 2371.25),
        spend_usd: spread(11.2e9, 11.9e9, 12.4e9, 11.85e9),
        nominal_effective_pflops: 2610.0,
        nominal_spend_usd: 12.6e9,
    };
    Risk {
        samples: 200,
        seed: 7,
        measure: "expected".into(),
        solved_on: 200,
        base: side.clone(),
        robust: side,
        same_lines: true,
        fan: (0..4)
            .map(|k| FanPoint {
                date: start.plus_days(30 * k),
                p10: 2210.0 + 40.0 * (3 - k) as f64,
                p50: 2385.5,
                p90: 2520.0,
            })
            .collect(),
        drivers: vec![
            Driver {
                risk: "huawei-delivery".into(),
                kind: "delivery".into(),
                pflops_low: 2300.0,
                pflops_high: 2580.0,
                spend_usd_low: 12.0e9,
                spend_usd_high: 12.5e9,
            },
            Driver {
                risk: "h20-licence <&>".into(),
                kind: "rule".into(),
                pflops_low: 2500.0,
                pflops_high: 2610.0,
                spend_usd_low: 12.3e9,
                spend_usd_high: 12.6e9,
            },
            Driver {
                risk: "cny-usd".into(),
                kind: "fx".into(),
                pflops_low: 2610.0,
                pflops_high: 2610.0,
                spend_usd_low: 12.2e9,
                spend_usd_high: 12.9e9,
            },
        ],
    }
}

#[test]
fn section_html_matches_golden() {
    let html = risk::html(Some(&Section::available(section())));
    crate::golden::check_golden("risk.html", &html);
    for id in risk::CHART_IDS {
        assert!(html.contains(&format!("id=\"{id}\"")), "{id}");
    }
    assert_eq!(
        html.matches("<desc>").count(),
        2,
        "each chart describes itself"
    );
    assert!(
        html.contains("h20-licence &lt;&amp;&gt;"),
        "names are escaped"
    );
    assert!(
        html.contains("The robust plan is the base plan"),
        "identical plans are said to be so"
    );
}

#[test]
fn the_page_links_and_places_the_section_after_the_what_if() {
    let mut r = fixture::report();
    r.risk = Some(Section::available(section()));
    let html = render_html(&r);
    let at = |s: &str| html.find(s).unwrap_or_else(|| panic!("{s}"));
    assert!(at("id=\"what-if\"") < at("id=\"risk\"") && at("id=\"risk\"") < at("id=\"workload\""));
    assert!(html.contains("<a href=\"#risk\">Risk</a>"));
    let json = to_json(&r);
    assert!(json.contains("\"risk\": {"));
    let back: xpufleet_report::ReportData = serde_json::from_str(&json).unwrap();
    assert_eq!(back.risk, r.risk, "the section round-trips");
}

#[test]
fn a_report_without_risks_has_no_risk_section() {
    let r = fixture::report();
    assert!(r.risk.is_none());
    let html = render_html(&r);
    assert!(
        !html.contains("id=\"risk\"") && !html.contains("#risk") && !html.contains("chart-risk")
    );
    assert!(!to_json(&r).contains("\"risk\""));
    assert_eq!(risk::html(None), "");
}

#[test]
fn an_unavailable_section_says_why_and_keeps_its_charts_ids() {
    let html = risk::html(Some(&Section::unavailable(
        "there is no base plan to sample",
    )));
    assert!(html.contains("Not available: there is no base plan to sample"));
    for id in risk::CHART_IDS {
        assert!(html.contains(&format!("<figure class=\"chart unavailable\" id=\"{id}\">")));
    }
}

#[test]
fn different_plans_state_what_robustness_costs_and_protects() {
    let mut r = section();
    r.same_lines = false;
    r.robust.nominal_effective_pflops -= 100.0;
    r.robust.effective_pflops.mean -= 20.0;
    r.robust.effective_pflops.p10 += 60.0;
    let t = risk::tradeoff_text(&r);
    assert!(
        t.contains("by −100 PFLOPS if nothing goes wrong and by −20 expected"),
        "{t}"
    );
    assert!(t.contains("by +60 at p10"), "{t}");
    let rows = risk::comparison_rows(&r);
    assert_eq!(rows[2][3], "+60", "{rows:?}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any ordered, finite fan draws finite coordinates only, inside the view box.
    #[test]
    fn any_fan_renders_finite(
        points in prop::collection::vec((0.0f64..5e3, 0.0f64..1.0, 0.0f64..1.0), 1..14),
        nominal in 0.0f64..6e3,
    ) {
        let mut r = section();
        let start = Date::from_ymd(2025, 3, 1).unwrap();
        r.base.nominal_effective_pflops = nominal;
        r.fan = points
            .iter()
            .enumerate()
            .map(|(k, &(p10, a, b))| FanPoint {
                date: start.plus_days(30 * k as i64),
                p10,
                p50: p10 * (1.0 + a),
                p90: p10 * (1.0 + a) * (1.0 + b),
            })
            .collect();
        let html = risk::html(Some(&Section::available(r)));
        prop_assert!(!html.contains("NaN") && !html.contains("inf"), "{}", html);
        prop_assert!(!html.contains("-0.0\"") , "no negative zero");
    }
}
