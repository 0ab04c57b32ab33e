//! `xpufleet simulate` end to end.

use crate::support::*;

fn json(args: &[&str]) -> serde_json::Value {
    let o = xpufleet(args);
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_str(&stdout(&o)).expect("JSON on stdout")
}

fn path(rel: &str) -> String {
    repo().join(rel).display().to_string()
}

#[test]
fn tiresias_trace_runs_to_completion_with_the_fields() {
    let trace = format!("tiresias:{}", path("data/traces/tiresias/60_job.csv"));
    let v = json(&[
        "simulate",
        "--trace",
        &trace,
        "--cluster",
        "h100-sxm=64",
        "--policy",
        "fifo",
        "--json",
    ]);
    for k in [
        "jobs",
        "completed",
        "jct_mean_s",
        "jct_p50_s",
        "jct_p99_s",
        "queue_mean_s",
        "makespan_s",
        "utilization",
        "preemptions",
        "failures",
        "wall_s",
        "skipped",
    ] {
        assert!(v.get(k).is_some(), "missing {k}: {v}");
    }
    assert_eq!(v["jobs"], 60);
    assert_eq!(v["completed"], 60);
    assert!(v["utilization"]["h100-sxm"].as_f64().unwrap() > 0.0);
}

#[test]
fn gavel_trace_counts_skipped_lines_and_las_het_beats_las() {
    let dir = repo().join("data/traces/gavel/msr/seed=0");
    let mut traces: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    traces.sort();
    let trace = format!("gavel:{}", traces[0].display());
    let tp = path("data/traces/gavel/simulation_throughputs.json");
    let run = |policy: &str| {
        json(&[
            "simulate",
            "--trace",
            &trace,
            "--throughputs",
            &tp,
            "--cluster",
            "v100=36,p100=36,k80=36",
            "--policy",
            policy,
            "--json",
        ])
    };
    let las = run("las");
    let het = run("las-het");
    let lines = las["jobs"].as_u64().unwrap()
        + las["skipped"]
            .as_object()
            .unwrap()
            .values()
            .map(|n| n.as_u64().unwrap())
            .sum::<u64>();
    assert_eq!(lines, 2000, "every line is a job or a counted skip");
    assert_eq!(las["completed"], las["jobs"]);
    assert!(het["jct_mean_s"].as_f64().unwrap() < las["jct_mean_s"].as_f64().unwrap());
    assert!(las["preemptions"].as_u64().unwrap() > 0);
}

#[test]
fn events_are_written_and_checked_and_repeat_with_the_seed() {
    let d = scratch("simulate-events");
    let trace = format!("tiresias:{}", path("data/traces/tiresias/60_job.csv"));
    let mut logs = Vec::new();
    for i in 0..2 {
        let ev = d.join(format!("ev{i}.jsonl"));
        let o = xpufleet(&[
            "simulate",
            "--trace",
            &trace,
            "--cluster",
            "h100-sxm=16,h20=16",
            "--policy",
            "easy-backfill",
            "--failure-rate",
            "0.01",
            "--seed",
            "7",
            "--events",
            ev.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(stdout(&o).contains("event log checked"), "{}", stdout(&o));
        logs.push(std::fs::read(&ev).unwrap());
    }
    assert!(logs[0].len() > 100);
    assert_eq!(logs[0], logs[1]);
}

#[test]
fn scenario_jobs_run_under_the_rules() {
    let v = json(&[
        "simulate",
        "--scenario",
        &path("examples/capex-2025.toml"),
        "--policy",
        "fifo-het",
        "--json",
    ]);
    let jobs = v["jobs"].as_u64().unwrap();
    let rejected: u64 = v["rejected"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(
        v["completed"].as_u64().unwrap() + v["unfinished"].as_u64().unwrap() + rejected,
        jobs
    );
}

/// A job whose data must stay in China never starts on a Malaysian pool, even when the fastest
/// accelerator it may use (an H100) sits only there and is free; it runs on the CN A800s.
#[test]
fn scenario_jobs_keep_their_data_in_their_countries() {
    let dir = scratch("simulate-data-residency");
    let text = std::fs::read_to_string(repo().join("examples/capex-2025.toml")).unwrap();
    // Submitted after every other job has finished, so the H100s are free.
    let extra = r#"
[[job]]
id = "cn-resident"
name = "CN-resident fine-tune"
params = 1e9
tokens = 1e11
allowed_accels = ["h100-sxm", "a800-sxm"]
min_accels = 64
max_accels = 64
tenant = "acme-ai"
data_countries = ["CN"]
submit_s = 2000000
"#;
    std::fs::write(dir.join("capex.toml"), text + extra).unwrap();
    std::fs::copy(
        repo().join("examples/what-if-h20.toml"),
        dir.join("what-if-h20.toml"),
    )
    .unwrap();
    let events = dir.join("events.jsonl");
    let v = json(&[
        "simulate",
        "--scenario",
        &dir.join("capex.toml").display().to_string(),
        "--policy",
        "fifo-het",
        "--events",
        &events.display().to_string(),
        "--json",
    ]);
    assert_eq!(v["completed"], v["jobs"]);
    // Utilisation stays one figure per accelerator, whatever countries it sits in.
    assert!(v["utilization"]["a800-sxm"].as_f64().unwrap() > 0.0);
    let log = std::fs::read_to_string(&events).unwrap();
    let mut lines = log
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap());
    let fleet = lines.next().unwrap();
    let pools: Vec<String> = fleet["pools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_string())
        .collect();
    let job = 10; // the 11th [[job]]
    let mut starts = 0;
    for ev in lines.filter(|e| e["ev"] == "start" && e["job"] == job) {
        starts += 1;
        for slot in ev["slots"].as_array().unwrap() {
            let pool = &pools[slot[0].as_u64().unwrap() as usize];
            assert!(pool.starts_with("cn-"), "cn-resident started on {pool}");
        }
    }
    assert!(starts > 0, "cn-resident never started");
}

#[test]
fn bad_input_is_a_located_error() {
    let o = xpufleet(&[
        "simulate",
        "--trace",
        "philly:/nonexistent.csv",
        "--cluster",
        "h100-sxm=8",
        "--policy",
        "fifo",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("/nonexistent.csv"), "{}", stderr(&o));
    let o = xpufleet(&[
        "simulate",
        "--trace",
        "philly:x",
        "--cluster",
        "h100-sxm=8",
        "--policy",
        "lottery",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("las-het"), "{}", stderr(&o));
    let o = xpufleet(&[
        "simulate",
        "--trace",
        "philly:x",
        "--cluster",
        "h100-sxm=ten",
        "--policy",
        "fifo",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("h100-sxm=ten"), "{}", stderr(&o));
    let o = xpufleet(&["simulate", "--policy", "fifo"]);
    assert_eq!(o.status.code(), Some(2));
}

/// Golden: the Tiresias 60-job trace on one 8-GPU node. Pinned from a run checked by the event
/// replay; a change here means scheduling or the trace reader changed behaviour.
#[test]
fn tiresias_golden_on_one_node() {
    let trace = format!("tiresias:{}", path("data/traces/tiresias/60_job.csv"));
    let run = |policy: &str| {
        let v = json(&[
            "simulate",
            "--trace",
            &trace,
            "--cluster",
            "h100-sxm=8",
            "--policy",
            policy,
            "--json",
        ]);
        (
            v["completed"].as_u64().unwrap(),
            v["jct_p50_s"].as_u64().unwrap(),
            v["jct_p99_s"].as_u64().unwrap(),
            v["makespan_s"].as_u64().unwrap(),
            (v["jct_mean_s"].as_f64().unwrap() * 60.0).round() as u64,
        )
    };
    // (completed, p50, p99, makespan, JCT sum)
    assert_eq!(run("fifo"), (60, 1410, 3997, 5747, 93389));
    assert_eq!(run("easy-backfill"), (60, 633, 3071, 4653, 52848));
    assert_eq!(run("fifo-het"), (60, 149, 3424, 4806, 42916));
}

/// The CLI's JSON less its wall-clock `wall_s` line is, byte for byte, the application layer's
/// answer, which is what `POST /api/v1/scenarios/{id}/simulate` stores and serves (the server's
/// suite checks that half).
#[test]
fn scenario_json_less_wall_time_is_the_app_answer() {
    let scenario = repo().join("examples/capex-2025.toml");
    let o = xpufleet(&[
        "simulate",
        "--scenario",
        &scenario.display().to_string(),
        "--seed",
        "2",
        "--failures",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let cli = stdout(&o);
    let wall: Vec<&str> = cli
        .lines()
        .filter(|l| l.starts_with("  \"wall_s\": "))
        .collect();
    assert_eq!(wall.len(), 1, "{cli}");
    let without = cli.replacen(&format!("{}\n", wall[0]), "", 1);
    let loaded = xpufleet_app::load_file(Some(&scenario), None).unwrap();
    let opts = xpufleet_app::SimulateOptions {
        seed: 2,
        failures: true,
        ..Default::default()
    };
    let out = xpufleet_app::simulate(
        xpufleet_app::Source::Scenario(&loaded, &[]),
        &loaded.catalog,
        &opts,
        &mut |_, _| {},
    )
    .unwrap();
    let mut api = serde_json::to_string_pretty(&out.output).unwrap();
    api.push('\n');
    assert_eq!(without, api);
}
