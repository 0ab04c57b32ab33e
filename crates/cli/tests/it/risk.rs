//! `xpufleet plan --samples` and `xpufleet sweep` end to end (issue 18).

use crate::support::*;

fn json(args: &[&str]) -> serde_json::Value {
    let o = xpufleet(args);
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_str(&stdout(&o)).expect("plan --json prints JSON")
}

#[test]
fn plan_samples_adds_the_documented_risk_object() {
    let args = [
        "plan",
        "--no-sensitivity",
        "--samples",
        "300",
        "--seed",
        "4",
        "--risk-measure",
        "cvar:0.1",
        "--json",
    ];
    let v = json(&args);
    let r = &v["risk"];
    assert_eq!(r["samples"], 300);
    assert_eq!(r["measure"], "cvar:0.1");
    assert_eq!(r["solved_on"], 200);
    for side in ["base", "robust"] {
        for fig in ["effective_pflops", "spend_usd"] {
            let s = &r[side][fig];
            let q = |k: &str| s[k].as_f64().unwrap_or_else(|| panic!("{side}.{fig}.{k}"));
            assert!(
                q("p10") <= q("p50") && q("p50") <= q("p90"),
                "{side}.{fig}: {s}"
            );
            assert!(q("mean") > 0.0);
        }
    }
    assert!(!r["robust"]["lines"].as_array().unwrap().is_empty());
    // The robust plan is never worse on its own measure over the samples it was solved on.
    assert!(
        r["robust"]["solve_measure_value"].as_f64().unwrap()
            >= r["base"]["solve_measure_value"].as_f64().unwrap() - 1e-6
    );
    // The example's risks: the H20 rule loses the H20 purchase and drives the spread most.
    assert_eq!(r["risks"][0]["lost"], serde_json::json!(["cn-h20-buy"]));
    assert_eq!(r["drivers"][0]["risk"], "h20-licence");
    // The fan chart starts at the nominal plan (no rule in force yet) and ends lower.
    let fan = r["fan"].as_array().unwrap();
    assert_eq!(fan.len(), 14);
    let nominal = r["base"]["nominal_effective_pflops"].as_f64().unwrap();
    assert!(fan[0]["p90"].as_f64().unwrap() <= nominal + 1e-6);
    assert!(
        fan.last().unwrap()["p10"].as_f64().unwrap() < fan[0]["p10"].as_f64().unwrap(),
        "{fan:?}"
    );
    // Same seed, same answer; another seed, other numbers.
    assert_eq!(v, json(&args));
    let mut other = args;
    other[5] = "5";
    assert_ne!(v["risk"]["base"], json(&other)["risk"]["base"]);
    // Without --samples there is no risk object.
    assert!(json(&["plan", "--no-sensitivity", "--json"])["risk"].is_null());
}

#[test]
fn bad_risk_flags_exit_2() {
    for args in [
        &["plan", "--samples", "10", "--risk-measure", "cvar:2"][..],
        &["plan", "--samples", "0"][..],
        &["plan", "--seed", "3"][..],
    ] {
        let o = xpufleet(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn three_shards_merge_into_the_unsharded_result_byte_for_byte() {
    let dir = scratch("sweep-shards");
    let spec = dir.join("spec.toml");
    std::fs::write(
        &spec,
        "name = \"t\"\nsamples = 50\nseed = 11\n[grid]\nwhat_if = [\"\", \"what-if-h20.toml\"]\n",
    )
    .unwrap();
    let s = spec.to_str().unwrap();
    let one = dir.join("one");
    let o = xpufleet(&["sweep", s, "--shard", "0/1", "--out", one.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut dirs = Vec::new();
    for i in 0..3 {
        let d = dir.join(format!("s{i}"));
        let o = xpufleet(&[
            "sweep",
            s,
            "--shard",
            &format!("{i}/3"),
            "--out",
            d.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        dirs.push(d.to_str().unwrap().to_string());
    }
    let merged = dir.join("merged");
    let mut args = vec!["sweep", "merge"];
    args.extend(dirs.iter().map(String::as_str));
    args.extend(["--out", merged.to_str().unwrap()]);
    let o = xpufleet(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let a = std::fs::read(one.join("result.json")).unwrap();
    let b = std::fs::read(merged.join("result.json")).unwrap();
    assert!(a == b, "merged result differs from the unsharded one");
    let v: serde_json::Value = serde_json::from_slice(&a).unwrap();
    assert_eq!(v["points"].as_array().unwrap().len(), 2);
    // Under the H20 what-if the H20 is never bought, so the rule risk cannot take anything.
    let h20 = &v["points"][1];
    assert!(h20["lines"]
        .as_array()
        .unwrap()
        .iter()
        .all(|l| l["candidate"] != "cn-h20-buy"));
    // A missing shard is named.
    let o = xpufleet(&[
        "sweep",
        "merge",
        &dirs[0],
        &dirs[2],
        "--out",
        merged.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("shards missing of 3: 1"),
        "{}",
        stderr(&o)
    );
    // An edited value is refused, naming the shard file that holds it (issue 27: `sweep merge`
    // of tampered values): above the plan's nominal compute, and negative.
    let shard_file = std::fs::read_dir(&dirs[1])
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "json"))
        .expect("a shard file");
    let original = std::fs::read_to_string(&shard_file).unwrap();
    for (value, tamper) in [("1e30", 1), ("-5.0", 2)] {
        let mut shard: serde_json::Value = serde_json::from_str(&original).unwrap();
        shard["values"][0][tamper] = serde_json::from_str(value).unwrap();
        std::fs::write(&shard_file, serde_json::to_string(&shard).unwrap()).unwrap();
        let mut args = vec!["sweep", "merge"];
        args.extend(dirs.iter().map(String::as_str));
        args.extend(["--out", merged.to_str().unwrap()]);
        let o = xpufleet(&args);
        assert_eq!(o.status.code(), Some(2), "{value}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(
            err.contains(shard_file.file_name().unwrap().to_str().unwrap())
                && err.contains("expected finite, non-negative"),
            "{value}: {err}"
        );
    }
    std::fs::write(&shard_file, original).unwrap();
    // A bad spec is located.
    std::fs::write(&spec, "name = \"t\"\nsamples = -1\n").unwrap();
    let o = xpufleet(&["sweep", s, "--out", one.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("spec.toml:2"), "{}", stderr(&o));
}

#[test]
fn the_shipped_sweep_spec_runs() {
    // One shard of many keeps this quick: the spec and its relative paths are what is tested.
    let dir = scratch("sweep-example");
    let spec = repo().join("examples/sweep.toml");
    let o = xpufleet(&[
        "sweep",
        spec.to_str().unwrap(),
        "--shard",
        "7/40",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(dir.join("shard-7-of-40.json").exists());
}

#[test]
fn validate_reads_rule_risks_what_if_files() {
    let dir = scratch("risk-validate");
    let text = std::fs::read_to_string(repo().join("examples/capex-2025.toml"))
        .unwrap()
        .replace(
            "what_if = 'what-if-h20.toml'\nprobability",
            "what_if = \"gone.toml\"\nprobability",
        );
    std::fs::copy(
        repo().join("examples/what-if-h20.toml"),
        dir.join("what-if-h20.toml"),
    )
    .unwrap();
    let p = dir.join("s.toml");
    std::fs::write(&p, text).unwrap();
    let o = xpufleet(&["validate", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o) + &stdout(&o);
    assert!(err.contains("risk[0].what_if"), "{err}");
    assert!(err.contains("gone.toml"), "{err}");
}

/// Issue 26 item 3: `--samples` and `sweep` know one date only, so a scenario with periods is
/// refused (exit 2) at its first period, saying what to do, rather than sampled as one date.
#[test]
fn issue_26_samples_and_sweep_refuse_a_scenario_with_periods() {
    let scenario = repo().join("examples/capex-2025-2027.toml");
    let s = scenario.to_str().unwrap();
    let o = xpufleet(&["plan", s, "--samples", "10"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("capex-2025-2027.toml:4") && err.contains("plans over 12 periods"),
        "{err}"
    );
    assert!(err.contains("without its [[period]] entries"), "{err}");
    let dir = scratch("sweep-periods");
    let spec = dir.join("spec.toml");
    std::fs::write(
        &spec,
        format!("name = \"t\"\nsamples = 5\nscenario = {s:?}\n"),
    )
    .unwrap();
    let o = xpufleet(&[
        "sweep",
        spec.to_str().unwrap(),
        "--out",
        dir.join("out").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("sweep samples the one-date plan"),
        "{}",
        stderr(&o)
    );
}
