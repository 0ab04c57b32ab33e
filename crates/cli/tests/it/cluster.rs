//! `xpufleet import` and `xpufleet export` end to end: a cluster's nodes into a scenario that
//! validates and checks, its queue into a trace `simulate` runs, and the scenario's policy out
//! into files; bad input exits 2 with the file and place named.

#[allow(unused_imports)]
use crate::support::*;

use serde_json::Value;

fn fixture(name: &str) -> String {
    repo()
        .join("crates/cluster/tests/fixtures")
        .join(name)
        .display()
        .to_string()
}

#[test]
fn from_a_cluster_to_a_checked_scenario_a_simulated_queue_and_policy() {
    let d = scratch("cluster-round-trip");
    let map = fixture("map.toml");
    let o = xpufleet(&[
        "import",
        "kubernetes",
        &fixture("nodes.json"),
        "--map",
        &map,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("skipped 3 nodes: no-accelerator 2, unmapped-product 1"));
    let base = std::fs::read_to_string(fixture("base-scenario.toml")).unwrap();
    let scenario = d.join("cluster.toml");
    std::fs::write(&scenario, format!("{base}\n{}", stdout(&o))).unwrap();
    let s = scenario.display().to_string();

    let o = xpufleet(&["validate", &s]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = xpufleet(&["check", &s, "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let report: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(report["uses"].as_array().unwrap().len() >= 18);

    let jobs = d.join("queue.jsonl");
    let o = xpufleet(&[
        "import",
        "kueue",
        &fixture("workloads.json"),
        "--out",
        &jobs.display().to_string(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("6 Workload object(s): 2 job(s), 4 skipped"),
        "{}",
        stderr(&o)
    );
    let trace = format!("jobs:{}", jobs.display());
    let o = xpufleet(&[
        "simulate",
        "--trace",
        &trace,
        "--cluster",
        "h20=32x8,h100-sxm=32x8",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let sim: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(sim["skipped"], serde_json::json!({}));

    for (target, files) in [
        (
            "kueue",
            &[
                "resourceflavors.yaml",
                "cohort.yaml",
                "clusterqueues.yaml",
                "localqueues.yaml",
                "topology.yaml",
            ][..],
        ),
        ("volcano", &["queues.yaml"][..]),
        ("slurm", &["slurm-xpufleet.conf", "gres.conf"][..]),
    ] {
        let out = d.join(target);
        let o = xpufleet(&["export", target, &s, "--out", &out.display().to_string()]);
        assert_eq!(o.status.code(), Some(0), "{target}: {}", stderr(&o));
        assert!(
            stdout(&o).contains("6 of 18 (pool, tenant) pairs excluded"),
            "{}",
            stdout(&o)
        );
        for f in files {
            assert!(out.join(f).is_file(), "{target}: {f}");
        }
    }
}

#[test]
fn import_json_has_the_scenario_field_names() {
    let o = xpufleet(&["import", "kubernetes", &fixture("nodes.json"), "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["pool"][0]["accels_per_node"], 8);
    assert_eq!(v["pool"][0]["scaleup_domain"], 8);
    assert_eq!(v["skipped"].as_array().unwrap().len(), 5);
    assert!(v["site"].is_array());
}

#[test]
fn bad_input_exits_2_naming_the_file_and_place() {
    let d = scratch("cluster-bad-input");
    let bad = d.join("nodes.json");
    std::fs::write(&bad, "{\"kind\": \"List\", \"items\": [}").unwrap();
    let b = bad.display().to_string();
    let o = xpufleet(&["import", "kubernetes", &b]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).starts_with(&format!("error: {b}: line 1 column")),
        "{}",
        stderr(&o)
    );

    // A node list is not a Workload list.
    let o = xpufleet(&["import", "kueue", &fixture("nodes.json")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("Node"), "{}", stderr(&o));

    let o = xpufleet(&[
        "import",
        "slurm",
        &fixture("scontrol-nodes.txt"),
        "--site",
        "x",
        "--country",
        "Malaysia",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--country"), "{}", stderr(&o));

    let map = d.join("map.toml");
    std::fs::write(&map, "[[product]]\nkeys = \"nvidia.com/gpu.product\"\n").unwrap();
    let o = xpufleet(&[
        "import",
        "kubernetes",
        &fixture("nodes.json"),
        "--map",
        &map.display().to_string(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("map.toml"), "{}", stderr(&o));

    let o = xpufleet(&[
        "export",
        "kueue",
        "--out",
        &d.join("k").display().to_string(),
        "--tenant",
        "nobody",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--tenant \"nobody\""), "{}", stderr(&o));
}

#[test]
fn import_slurm_with_gres_conf_and_topology() {
    let o = xpufleet(&[
        "import",
        "slurm",
        &fixture("scontrol-nvl.txt"),
        "--site",
        "dc1",
        "--country",
        "US",
        "--gres-conf",
        &fixture("gres.conf"),
        "--topology",
        &fixture("topology.conf"),
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["pool"][0]["accelerator"], "b200");
    assert_eq!(v["pool"][0]["nodes"], 18);
    assert_eq!(v["pool"][0]["scaleup_domain"], 36);
    assert_eq!(v["site"][0]["country"], "US");
}

/// Issue 27, item 6: absurd values from a cluster are refused at their place, exit 2.
#[test]
fn issue_27_absurd_importer_values_are_refused() {
    let d = scratch("cluster-absurd");
    let nodes = std::fs::read_to_string(fixture("nodes.json")).unwrap();
    let bad = d.join("nodes.json");
    std::fs::write(
        &bad,
        // The count label wins over the capacity, so both say it.
        nodes
            .replace(
                "\"nvidia.com/gpu\": \"8\"",
                "\"nvidia.com/gpu\": \"1000000000\"",
            )
            .replace(
                "\"nvidia.com/gpu.count\": \"8\"",
                "\"nvidia.com/gpu.count\": \"1000000000\"",
            ),
    )
    .unwrap();
    let o = xpufleet(&["import", "kubernetes", &bad.display().to_string()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("at most 4096 a node"), "{}", stderr(&o));

    let jobs = std::fs::read_to_string(fixture("squeue.json")).unwrap();
    let bad = d.join("squeue.json");
    std::fs::write(
        &bad,
        jobs.replacen("\"number\": 2880", "\"number\": -2880", 1),
    )
    .unwrap();
    let o = xpufleet(&["import", "squeue", &bad.display().to_string()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("time_limit") && err.contains("above 0 s"),
        "{err}"
    );
}
