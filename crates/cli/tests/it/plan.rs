//! `xpufleet plan` end to end.

use crate::support::*;

fn json(args: &[&str]) -> serde_json::Value {
    let o = xpufleet(args);
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_str(&stdout(&o)).expect("plan --json prints JSON")
}

#[test]
fn the_example_plan_as_json_has_the_documented_fields() {
    let v = json(&["plan", "--json"]);
    let lines = v["lines"].as_array().unwrap();
    assert!(!lines.is_empty());
    for key in [
        "accelerator",
        "vendor",
        "site",
        "mode",
        "units",
        "chips",
        "spend",
        "currency",
        "spend_usd",
        "envelope",
    ] {
        assert!(!lines[0][key].is_null(), "lines[].{key}");
    }
    for key in ["id", "currency", "budget", "spent"] {
        assert!(!v["envelopes"][0][key].is_null(), "envelopes[].{key}");
    }
    let cons = v["constraints"].as_array().unwrap();
    assert!(cons.iter().any(|c| c["binding"] == true));
    assert!(cons
        .iter()
        .all(|c| c["value"].is_number() && c["id"].is_string()));
    assert_eq!(v["objective"]["kind"], "max-compute");
    assert!(v["objective"]["value"].as_f64().unwrap() > 0.0);
    // The rule engine is the gate: an H100 bought into China is prohibited, and the unknown
    // figures of the MLU590 and the 910C keep them out.
    let excluded = v["excluded"].as_array().unwrap();
    let why = |id: &str| {
        excluded
            .iter()
            .find(|e| e["candidate"] == id)
            .unwrap_or_else(|| panic!("{id} not excluded"))["reason"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(
        why("cn-h100-buy").contains("prohibited"),
        "{}",
        why("cn-h100-buy")
    );
    assert!(why("cn-mlu590-buy").contains("tflops_bf16"));
    assert!(why("cn-910c-buy").contains("power_w"));
}

#[test]
fn the_h20_what_if_shows_what_the_rule_costs() {
    let v = json(&["plan", "--what-if", "--json"]);
    let w = &v["what_if"];
    assert_eq!(w["plan"]["date"], "2025-04-15");
    let d = &w["diff"];
    assert!(d["pflops_delta"].as_f64().unwrap() < 0.0, "{d}");
    assert!(d["lines"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["candidate"] == "cn-h20-buy" && l["change"] == "dropped"));
    assert!(d["newly_excluded"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("licence"));

    let o = xpufleet(&["plan", "--what-if"]);
    let out = stdout(&o);
    assert!(out.contains("What-if h20-licence-2025-04"), "{out}");
    assert!(
        out.contains("Bought instead") && out.contains("money moved"),
        "{out}"
    );
}

#[test]
fn a_what_if_file_with_a_price_cap_and_budget() {
    let d = scratch("plan-what-if");
    let f = d.join("w.toml");
    std::fs::write(
        &f,
        "name = \"cheaper-b200\"\n\n[[price]]\ncandidate = \"my-b200-lease\"\nprice = { amount = 2.0, currency = \"USD\" }\n\n[[supply_cap]]\nid = \"johor-b200\"\nmax_accels = 12000\n\n[[budget]]\nenvelope = \"abroad\"\namount = 5e9\n",
    )
    .unwrap();
    let v = json(&[
        "plan",
        "--what-if",
        f.to_str().unwrap(),
        "--json",
        "--no-sensitivity",
    ]);
    let diff = &v["what_if"]["diff"];
    let b200 = diff["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["candidate"] == "my-b200-lease")
        .expect("more B200 under the higher cap");
    assert!(b200["units_alt"].as_u64().unwrap() > b200["units_base"].as_u64().unwrap());
}

#[test]
fn bad_what_if_names_the_line() {
    let d = scratch("plan-bad-what-if");
    let f = d.join("w.toml");
    std::fs::write(
        &f,
        "as_of = 2025-05-01\n[[price]]\ncandidate = \"no-such\"\nprice = { amount = 1, currency = \"USD\" }\n",
    )
    .unwrap();
    let o = xpufleet(&["plan", "--what-if", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("w.toml:3:") && e.contains("no candidate \"no-such\""),
        "{e}"
    );
}

#[test]
fn an_unreachable_target_names_the_constraints_in_conflict() {
    let o = xpufleet(&["plan", "--objective", "min-cost", "--target", "1e9"]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("in conflict") && e.contains("target"), "{e}");
    // The example has services, so min-cost without a target buys their cheapest cover (issue
    // 22); without services the target is still required (the plan crate's tests).
    let o = xpufleet(&["plan", "--objective", "min-cost", "--no-sensitivity"]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn min_cost_and_compute_per_dollar_run_on_the_example() {
    let v = json(&[
        "plan",
        "--objective",
        "min-cost",
        "--target",
        "20000",
        "--json",
        "--no-sensitivity",
    ]);
    let pf: f64 = v["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["effective_pflops"].as_f64().unwrap())
        .sum();
    assert!(pf >= 20000.0 * (1.0 - 1e-9), "{pf}");
    let v = json(&[
        "plan",
        "--objective",
        "compute-per-dollar",
        "--json",
        "--no-sensitivity",
    ]);
    assert_eq!(v["objective"]["kind"], "compute-per-dollar");
    assert!(v["objective"]["value"].as_f64().unwrap() > 0.0);
}

#[test]
fn plan_json_reports_status_gap_bound_and_every_candidate() {
    let v = json(&["plan", "--json", "--no-sensitivity"]);
    let status = v["status"].as_str().unwrap();
    assert!(["optimal", "within-gap"].contains(&status), "{status}");
    let value = v["objective"]["value"].as_f64().unwrap();
    let bound = v["bound"].as_f64().unwrap();
    let gap = v["gap"].as_f64().unwrap();
    assert!(bound >= value && gap <= 1e-4, "{value} {bound} {gap}");
    assert!((bound - value) / value <= gap + 1e-12);
    let cands = v["candidates"].as_array().unwrap();
    // Bought or not, excluded or not: every candidate of the example is listed.
    assert!(cands.len() > v["lines"].as_array().unwrap().len() + 1);
    for e in v["excluded"].as_array().unwrap() {
        let c = cands.iter().find(|c| c["id"] == e["candidate"]).unwrap();
        assert_eq!(c["excluded"], true);
        assert_eq!(c["bound_nodes"], 0);
    }
    for c in cands {
        for key in [
            "id",
            "mfu",
            "effective_pflops_per_node",
            "price_per_node",
            "spend_usd_per_node",
            "power_w_per_node",
            "bound_nodes",
            "excluded",
        ] {
            assert!(c.get(key).is_some(), "candidates[].{key} missing in {c}");
        }
        let excluded = c["excluded"].as_bool().unwrap();
        assert_eq!(excluded, c["mfu"].is_null(), "{c}");
        if !excluded {
            assert!(c["bound_nodes"].as_u64().unwrap() >= 1, "{c}");
        }
    }
    // Every bought line is a candidate that is not excluded, within its bound.
    for l in v["lines"].as_array().unwrap() {
        let c = cands.iter().find(|c| c["id"] == l["candidate"]).unwrap();
        assert_eq!(c["excluded"], false);
        assert!(l["nodes"].as_u64().unwrap() <= c["bound_nodes"].as_u64().unwrap());
    }
}

#[test]
fn a_bad_gap_or_solver_is_a_clear_error() {
    let o = xpufleet(&["plan", "--gap", "2"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("gap"), "{}", stderr(&o));
    // Said once, not once more as the error's cause.
    assert_eq!(
        stderr(&o).matches("must lie in").count(),
        1,
        "{}",
        stderr(&o)
    );
    // A time limit that no deadline can be made of is refused, not a panic.
    for t in ["inf", "NaN", "0", "-1", "1e300"] {
        let o = xpufleet(&["plan", &format!("--time-limit={t}")]);
        assert_eq!(o.status.code(), Some(2), "{t}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("the time limit must be"),
            "{}",
            stderr(&o)
        );
    }
    let o = xpufleet(&["plan", "--solver", "cplex"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("microlp, microlp-bb, highs"),
        "{}",
        stderr(&o)
    );
    if !cfg!(feature = "highs") {
        let o = xpufleet(&["plan", "--solver", "highs"]);
        assert_eq!(o.status.code(), Some(2));
        assert!(stderr(&o).contains("--features highs"), "{}", stderr(&o));
    }
}

/// Issue 24: the example (as of 2025-03-01, horizon 365 days) warns about the 2025-05-13
/// guidance before it happens, naming the lines, the direction and the value at stake, and
/// `--horizon-rules strict` plans only what stays usable for the whole horizon.
#[test]
fn issue_24_the_example_plan_warns_about_2025_05_13_before_it_happens() {
    let v = json(&["plan", "--json", "--no-sensitivity"]);
    assert_eq!(v["horizon_end"], "2026-03-01");
    assert_eq!(v["horizon_rules"], "as-of");
    let changes = v["verdict_changes"].as_array().unwrap();
    let on = |target: &str| {
        changes
            .iter()
            .find(|c| c["target"] == target && c["date"] == "2025-05-13")
            .unwrap_or_else(|| panic!("no change of {target} on 2025-05-13: {changes:?}"))
    };
    for target in ["cn-910b-buy", "my-h200-lease"] {
        let c = on(target);
        for key in ["target", "user", "date", "from", "to", "rules"] {
            assert!(!c[key].is_null(), "verdict_changes[].{key}");
        }
        assert_eq!(c["from"], "allowed");
        assert_eq!(c["to"], "red-flag");
        assert_eq!(c["direction"], "stricter");
        assert!(c["spend_usd"].as_f64().unwrap() > 0.0);
        assert!(c["effective_pflops"].as_f64().unwrap() > 0.0);
    }
    assert!(on("cn-910b-buy")["rules"]
        .as_array()
        .unwrap()
        .contains(&"us-guidance-2025-05/ascend-gp10".into()));
    // The table says so too.
    let o = xpufleet(&["plan", "--no-sensitivity"]);
    let text = stdout(&o);
    assert!(text.contains("What changes within the horizon"), "{text}");
    assert!(text.contains("2025-05-13 cn-910b-buy: us-guidance-2025-05/ascend-gp10"));

    // Strict plans as the rules will be: what planning as of 2025-05-13 gives.
    let strict = json(&[
        "plan",
        "--json",
        "--no-sensitivity",
        "--horizon-rules",
        "strict",
    ]);
    let later = json(&[
        "plan",
        "--json",
        "--no-sensitivity",
        "--as-of",
        "2025-05-13",
    ]);
    let pf = |v: &serde_json::Value| v["effective_pflops"].as_f64().unwrap();
    assert!(pf(&strict) < 0.1 * pf(&v), "{} vs {}", pf(&strict), pf(&v));
    assert!((pf(&strict) - pf(&later)).abs() < 1e-6 * pf(&later).max(1.0));
    let why = strict["excluded"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["candidate"] == "cn-910b-buy")
        .expect("the 910B is excluded under strict")["reason"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(why.contains("from 2025-05-13"), "{why}");
    let o = xpufleet(&["plan", "--horizon-rules", "later"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

/// Issue 24: an officer records a cleared review of the GP10 red flags on the Ascend 910B
/// purchase and the plan as of 2025-06-01 buys it again; the same review for the rules it
/// does not cover changes nothing.
#[test]
fn issue_24_a_recorded_review_changes_the_plan() {
    let example = std::fs::read_to_string(repo().join("examples/capex-2025.toml")).unwrap();
    let review = |rules: &str| {
        format!(
            "{example}\n[[review]]\nid = \"rev-910b\"\ntarget = \"cn-910b-buy\"\nrules = [{rules}]\ndecision = \"cleared\"\nreviewer = \"chief compliance officer\"\ndate = 2025-05-20\nevidence = \"memo CO-2025-17\"\nvalid_until = 2026-05-20\n"
        )
    };
    let dir = scratch("issue24-review");
    let covered = dir.join("covered.toml");
    std::fs::write(
        &covered,
        review("\"us-guidance-2025-05/ascend-gp10\", \"us-guidance-2025-05/prc-3a090-gp10\""),
    )
    .unwrap();
    let partial = dir.join("partial.toml");
    std::fs::write(&partial, review("\"us-guidance-2025-05/ascend-gp10\"")).unwrap();
    let bought = |path: &std::path::Path| {
        let v = json(&[
            "plan",
            path.to_str().unwrap(),
            "--json",
            "--no-sensitivity",
            "--as-of",
            "2025-06-01",
        ]);
        v["lines"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["candidate"] == "cn-910b-buy")
    };
    assert!(bought(&covered));
    assert!(!bought(&partial));
    // check shows the review and `usable`.
    let o = xpufleet(&[
        "check",
        covered.to_str().unwrap(),
        "--json",
        "--as-of",
        "2025-06-01",
    ]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let c = v["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["target"] == "cn-910b-buy")
        .unwrap();
    assert_eq!(c["verdict"]["outcome"], "red-flag");
    assert_eq!(c["verdict"]["usable"], true);
    assert_eq!(c["verdict"]["review"]["id"], "rev-910b");
    let other = v["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["target"] == "cn-h100-buy")
        .unwrap();
    assert_eq!(other["verdict"]["usable"], false);
    assert!(other["verdict"]["review"].is_null());
}

/// Issue 27 (wording): accelerator counts in the binding-constraints table are whole numbers.
#[test]
fn issue_27_binding_supply_caps_count_whole_accelerators() {
    let o = xpufleet(&["--wide", "plan"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("60000 accelerators"), "{out}");
    assert!(!out.contains(".0 accelerators"), "{out}");
}

#[test]
fn issue_22_plan_json_carries_the_services_and_the_table_shows_them() {
    let v = json(&["plan", "--json", "--no-sensitivity"]);
    let services = v["services"].as_array().expect("services");
    let ids: Vec<&str> = services.iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["assistant-cn", "search-my"]);
    for s in services {
        for key in [
            "input_tokens_per_day",
            "output_tokens_per_day",
            "covered_output_tokens_per_day",
            "cost_usd_per_day",
        ] {
            assert!(s[key].as_f64().is_some(), "{key} in {s}");
        }
        assert_eq!(
            s["covered_output_tokens_per_day"], s["output_tokens_per_day"],
            "{s}"
        );
        for b in s["by_accelerator"].as_array().unwrap() {
            assert!(b["accelerator"].is_string() && b["accelerators"].as_u64().unwrap() > 0);
            assert!(b["pool"].is_string() != b["candidate"].is_string(), "{b}");
            assert_eq!(b["role"], "both");
        }
    }
    let o = xpufleet(&["plan", "--no-sensitivity"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("Services (existing pools serve first"),
        "{out}"
    );
    assert!(out.lines().all(|l| l.chars().count() <= 100), "{out}");
}

/// Issue 24's "a licence's quantity caps the plan", on the example: the Malaysian H200 lease
/// listed under a permit of 8,000 accelerators leases at most 8,000 (it leases ~111k without
/// it), the permit's row `licence:my-stp-jdc-2025` binds, and its relaxation says by how much.
#[test]
fn issue_24_a_licences_quantity_caps_the_example_plan() {
    let example = std::fs::read_to_string(repo().join("examples/capex-2025.toml")).unwrap();
    let listed = example.replacen(
        "lessor = \"johor-dc\"\n\n[[candidate]]\nid = \"my-b200-lease\"",
        "lessor = \"johor-dc\"\nlicences = [\"my-stp-jdc-2025\"]\n\n[[candidate]]\nid = \"my-b200-lease\"",
        1,
    );
    assert_ne!(listed, example);
    let capped = listed.replacen(
        "valid_from = 2025-07-20\nvalid_until = 2026-07-19\n",
        "valid_from = 2025-01-01\nvalid_until = 2026-07-19\nquantity = 8000\n",
        1,
    );
    assert_ne!(capped, listed);
    let dir = scratch("issue24-licence");
    let path = dir.join("capped.toml");
    std::fs::write(&path, &capped).unwrap();
    let v = json(&["plan", path.to_str().unwrap(), "--json"]);
    let leased: u64 = v["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["candidate"] == "my-h200-lease")
        .map(|l| l["units"].as_u64().unwrap())
        .sum();
    assert!(leased > 0 && leased <= 8000, "{leased}");
    let row = v["constraints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "licence:my-stp-jdc-2025")
        .unwrap_or_else(|| panic!("{}", v["constraints"]));
    assert_eq!(row["kind"], "licence");
    assert_eq!(row["binding"], true, "{row}");
    assert_eq!(row["limit"], 8000.0);
    assert!(
        row["relaxation"]["step"]
            .as_str()
            .unwrap()
            .contains("+800 accelerators"),
        "{row}"
    );
    // The table names the row too.
    let o = xpufleet(&["plan", path.to_str().unwrap(), "--no-sensitivity"]);
    assert!(
        stdout(&o).contains("licence:my-stp-jdc-2025"),
        "{}",
        stdout(&o)
    );
}

/// Issue 26 item 3: a what-if on the three-year example compares orders by quarter, in the JSON
/// (`period` on each line, `periods[]` with spend and capacity per quarter) and in the table.
#[test]
fn issue_26_a_what_if_over_quarters_compares_orders_by_quarter() {
    let d = scratch("plan-what-if-periods");
    let f = d.join("w.toml");
    std::fs::write(
        &f,
        "name = \"small-abroad\"\n\n[[budget]]\nenvelope = \"abroad\"\namount = 300e6\n",
    )
    .unwrap();
    let scenario = repo().join("examples/capex-2025-2027.toml");
    let (s, w) = (scenario.to_str().unwrap(), f.to_str().unwrap());
    let v = json(&["plan", s, "--what-if", w, "--json", "--no-sensitivity"]);
    let diff = &v["what_if"]["diff"];
    let lines = diff["lines"].as_array().unwrap();
    assert!(!lines.is_empty(), "{diff}");
    assert!(lines.iter().all(|l| l["period"].is_string()), "{diff}");
    let periods = diff["periods"].as_array().unwrap();
    assert_eq!(periods.len(), 12);
    assert_eq!(periods[0]["id"], "2025Q1");
    // The what-if cuts the total abroad below what the base spends: some quarter spends less.
    let delta: f64 = periods
        .iter()
        .map(|q| q["delta_usd"].as_f64().unwrap())
        .sum();
    let total = diff["spend_usd_delta"].as_f64().unwrap();
    assert!(
        delta < 0.0 && (delta - total).abs() <= 1e-6 * total.abs(),
        "{delta} vs {total}"
    );
    let o = xpufleet(&["plan", s, "--what-if", w, "--no-sensitivity"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("period") && out.contains("spend what-if"),
        "{out}"
    );
    for line in out.lines() {
        assert!(line.chars().count() <= 100, "too wide: {line}");
    }
}

/// Issue 22 item 5 / issue 26 item 3: the three-year example serves its two services in every
/// quarter, at each quarter's demand, in the JSON (`periods[].services` with the top-level
/// `services` fields; the top-level `services` is the last quarter's) and in a served-demand
/// table that keeps to 100 columns; a period naming an unknown service is a located error,
/// exit 2.
#[test]
fn issue_22_services_are_planned_in_every_quarter() {
    let scenario = repo().join("examples/capex-2025-2027.toml");
    let s = scenario.to_str().unwrap();
    let v = json(&["plan", s, "--json", "--no-sensitivity"]);
    let periods = v["periods"].as_array().unwrap();
    assert_eq!(periods.len(), 12);
    let mut last = 0.0;
    for q in periods {
        let svcs = q["services"].as_array().unwrap();
        let ids: Vec<&str> = svcs.iter().map(|x| x["id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["assistant-cn", "search-my"], "{q}");
        for x in svcs {
            for k in [
                "input_tokens_per_day",
                "output_tokens_per_day",
                "covered_output_tokens_per_day",
                "by_accelerator",
                "cost_usd_per_day",
            ] {
                assert!(x.get(k).is_some(), "{} in {} has no {k}", x["id"], q["id"]);
            }
            let (want, got) = (
                x["output_tokens_per_day"].as_f64().unwrap(),
                x["covered_output_tokens_per_day"].as_f64().unwrap(),
            );
            assert!((want - got).abs() <= 1e-6 * want, "{x}");
        }
        // The assistant grows every quarter.
        let out = svcs[0]["output_tokens_per_day"].as_f64().unwrap();
        assert!(out > last, "{out} after {last}");
        last = out;
    }
    assert_eq!(periods[0]["services"][0]["output_tokens_per_day"], 168e9);
    assert_eq!(v["services"], periods[11]["services"]);
    assert!(!v["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|w| w.as_str().unwrap().contains("not planned")));
    let o = xpufleet(&["plan", s, "--no-sensitivity"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("Served by period") && out.contains("2027Q4"),
        "{out}"
    );
    for line in out.lines() {
        assert!(line.chars().count() <= 100, "too wide: {line}");
    }

    let d = scratch("plan-period-services");
    let f = d.join("bad.toml");
    let text = std::fs::read_to_string(&scenario).unwrap().replacen(
        "services = { assistant-cn = { output_tokens_per_day = 185e9 } }",
        "services = { assistant = { output_tokens_per_day = 185e9 } }",
        1,
    );
    std::fs::write(&f, text).unwrap();
    let o = xpufleet(&["plan", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("bad.toml:") && err.contains("period[1].services.assistant"),
        "{err}"
    );
    assert!(err.contains("assistant-cn, search-my"), "{err}");
}
