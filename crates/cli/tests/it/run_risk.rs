//! `xpufleet run`'s risk section (issue #18): present with the samples and seed when the
//! scenario has `[[risk]]` entries, absent (no JSON field, no HTML section) when it has none.

use crate::support::*;

fn run(dir: &std::path::Path, scenario: &[&str]) -> serde_json::Value {
    let mut args = vec!["run", "--out", dir.to_str().unwrap(), "--seed", "7"];
    args.extend_from_slice(scenario);
    let out = xpufleet(&args);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap()
}

fn num(v: &serde_json::Value) -> f64 {
    let x = v.as_f64().unwrap_or_else(|| panic!("{v} is a number"));
    assert!(x.is_finite(), "{x} is finite");
    x
}

#[test]
fn the_example_report_has_a_risk_section_with_an_ordered_fan() {
    let dir = scratch("run-risk");
    let j = run(&dir, &[]);
    let r = &j["risk"];
    assert_eq!(r["status"], "available", "{r}");
    let d = &r["data"];
    assert_eq!(d["samples"], 200);
    assert_eq!(d["seed"], 7, "the run's seed");
    assert_eq!(d["measure"], "expected");
    let fan = d["fan"].as_array().unwrap();
    assert!(fan.len() >= 2, "a fan over the horizon: {fan:?}");
    let nominal = num(&d["base"]["nominal_effective_pflops"]);
    for p in fan {
        let (p10, p50, p90) = (num(&p["p10"]), num(&p["p50"]), num(&p["p90"]));
        assert!(0.0 <= p10 && p10 <= p50 && p50 <= p90, "{p}");
        assert!(p90 <= nominal * (1.0 + 1e-9), "risks only take away: {p}");
    }
    for side in ["base", "robust"] {
        for fig in ["effective_pflops", "spend_usd"] {
            let s = &d[side][fig];
            assert!(num(&s["p10"]) <= num(&s["p50"]) && num(&s["p50"]) <= num(&s["p90"]));
            num(&s["mean"]);
        }
    }
    let drivers = d["drivers"].as_array().unwrap();
    assert!(!drivers.is_empty());
    for w in drivers.windows(2) {
        let width = |v: &serde_json::Value| num(&v["pflops_high"]) - num(&v["pflops_low"]);
        assert!(width(&w[0]) >= width(&w[1]), "widest first: {w:?}");
    }
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    for needle in [
        "<section class=\"part\" id=\"risk\">",
        "id=\"chart-risk-fan\"",
        "id=\"chart-risk-drivers\"",
        "<a href=\"#risk\">Risk</a>",
        "200 samples (seed 7)",
    ] {
        assert!(html.contains(needle), "{needle}");
    }
    assert!(
        !html.contains("NaN") && !html.contains("inf<"),
        "no NaN or inf"
    );
}

#[test]
fn a_scenario_without_risks_has_no_risk_section() {
    let dir = scratch("run-no-risk");
    let text = std::fs::read_to_string(repo().join("examples/capex-2025.toml")).unwrap();
    // Drop every [[risk]] table: from its header to the next table header.
    let mut kept = String::new();
    let mut in_risk = false;
    for line in text.lines() {
        let t = line.trim_start();
        if t.starts_with('[') {
            in_risk = t.starts_with("[[risk]]");
        }
        if !in_risk {
            kept.push_str(line);
            kept.push('\n');
        }
    }
    assert!(!kept.contains("[[risk]]"));
    // The plan's what-if file is found next to the scenario.
    std::fs::copy(
        repo().join("examples/what-if-h20.toml"),
        dir.join("what-if-h20.toml"),
    )
    .unwrap();
    let path = dir.join("no-risk.toml");
    std::fs::write(&path, kept).unwrap();
    let out = dir.join("out");
    let j = run(&out, &[path.to_str().unwrap()]);
    assert!(j.get("risk").is_none(), "no risk field: {}", j["risk"]);
    assert!(j["plan"]["status"] == "available");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(!html.contains("id=\"risk\"") && !html.contains("#risk"));
}
