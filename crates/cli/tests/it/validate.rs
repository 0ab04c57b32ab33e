//! `xpufleet validate` end to end.

use crate::support::*;

const EXAMPLE: &str = include_str!("../../../../examples/capex-2025.toml");

/// Writes the example with `edits` applied (first occurrence of each) to a scratch file.
fn bad_example(test: &str, edits: &[(&str, &str)]) -> std::path::PathBuf {
    let mut text = EXAMPLE.to_string();
    for (from, to) in edits {
        assert!(text.contains(from), "the example lacks {from:?}");
        text = text.replacen(from, to, 1);
    }
    let path = scratch(test).join("bad.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn the_builtin_example_is_valid() {
    let o = xpufleet(&["validate"]);
    assert!(o.status.success(), "{}", stderr(&o));
    // The line is wrapped to 100 columns: read it back as one.
    let out = stdout(&o).split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        out.starts_with(
            "ok: examples/capex-2025.toml: 5 entities, 4 sites, 5 pools, 2 envelopes, 1 supplier mix, 10 candidates, 4 supply caps, 1 licence, 10 jobs"
        ),
        "{out}"
    );
}

#[test]
fn the_example_file_and_the_builtin_catalog_file_are_valid() {
    let o = xpufleet(&[
        "validate",
        repo().join("examples/capex-2025.toml").to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = xpufleet(&[
        "validate",
        repo().join("data/catalog.toml").to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains(": 12 accelerators, 11 sources"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn every_problem_is_printed_located_and_exits_2() {
    let path = bad_example(
        "validate-many",
        &[
            ("site = \"cn-ulanqab\"", "site = \"cn-nowhere\""),
            ("nodes = 1250", "nodes = 0"),
            ("currency = \"MYR\" }", "currency = \"EUR\" }"),
            ("parent = \"acme-ai\"", "parent = \"acme-my\""),
        ],
    );
    let p = path.to_str().unwrap();
    let o = xpufleet(&["validate", p]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(
        lines,
        [
            format!("{p}:40:10: entity[1].parent: parent chain loops: acme-sg -> acme-my -> acme-sg: expected a chain that ends at an entity without a parent"),
            format!("{p}:134:51: site[2].electricity_per_kwh.currency: no FX rate for EUR: expected `EUR = <USD per unit>` under [fx] (rates given: USD, CNY, MYR)"),
            format!("{p}:172:8: pool[0].site: unknown site \"cn-nowhere\": expected one of cn-ulanqab, cn-wuhu, my-cyberjaya, my-johor"),
            format!("{p}:186:9: pool[1].nodes: nodes is 0: expected 1 or more"),
            format!("error: 4 problems found in {p}"),
        ],
        "{err}"
    );
}

#[test]
fn a_negative_count_is_a_located_type_error() {
    let path = bad_example("validate-negative", &[("nodes = 256", "nodes = -3")]);
    let o = xpufleet(&["validate", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains(
            "bad.toml:174:9: pool[0].nodes: invalid value: integer `-3`, expected a whole number from 0 to 4294967295"
        ),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_syntax_error_is_located() {
    let path = bad_example("validate-syntax", &[("[fx]", "[fx")]);
    let o = xpufleet(&["validate", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("bad.toml:18:"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn json_lists_the_diagnostics() {
    let path = bad_example(
        "validate-json",
        &[("tenant = \"acme-sg\"", "tenant = \"acme-uk\"")],
    );
    let o = xpufleet(&["validate", "--json", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["kind"], "scenario");
    let d = &v["diagnostics"][0];
    assert_eq!(d["field"], "job[1].tenant");
    assert_eq!(d["line"], 399);
    assert_eq!(d["column"], 10);
    assert!(d["message"]
        .as_str()
        .unwrap()
        .starts_with("unknown entity \"acme-uk\""));
    assert_eq!(v["diagnostics"].as_array().unwrap().len(), 1);

    let o = xpufleet(&["validate", "--json"]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["counts"]["pools"], 5);
}

#[test]
fn unreadable_and_empty_files_are_errors_not_panics() {
    let o = xpufleet(&["validate", "/no/such/scenario.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("/no/such/scenario.toml: cannot read"),
        "{}",
        stderr(&o)
    );

    let path = scratch("validate-empty").join("empty.toml");
    std::fs::write(&path, "").unwrap();
    let o = xpufleet(&["validate", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("empty.toml:1:1: name: missing field `name`"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_bad_catalog_override_is_reported_too() {
    let path = scratch("validate-catalog").join("cat.toml");
    std::fs::write(
        &path,
        "[[accelerator]]\nid = \"x\"\nvendor = \"V\"\nvendor_country = \"US\"\nname = \"X\"\nfamily = \"f\"\npower_w = { value = 300, source = \"NOPE\" }\n",
    )
    .unwrap();
    let o = xpufleet(&["--catalog", path.to_str().unwrap(), "validate"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o)
            .contains("cat.toml:7:35: accelerator[0].power_w.source: unknown source key \"NOPE\""),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_catalog_file_is_checked_as_a_catalog() {
    let cat = include_str!("../../../../data/catalog.toml");
    let path = scratch("validate-catalog-file").join("catalog.toml");
    std::fs::write(
        &path,
        cat.replacen("id = \"h800-sxm\"", "id = \"h100-sxm\"", 1),
    )
    .unwrap();
    let o = xpufleet(&["validate", "--json", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["kind"], "catalog");
    let d = &v["diagnostics"][0];
    assert_eq!(d["field"], "accelerator[1].id");
    assert!(d["message"]
        .as_str()
        .unwrap()
        .starts_with("duplicate id \"h100-sxm\" (first defined on line 23)"));
}

#[test]
fn every_command_that_reads_a_scenario_refuses_a_dangling_reference() {
    let path = bad_example(
        "validate-dangling-everywhere",
        &[(
            "site = \"cn-wuhu\"\naccelerator = \"h20\"",
            "site = \"cn-nowhere\"\naccelerator = \"h20\"",
        )],
    );
    let path = path.to_str().unwrap();
    for cmd in [
        vec!["check", path],
        vec!["plan", path],
        vec!["fleet", path],
        vec!["simulate", "--scenario", path, "--policy", "fifo"],
        vec!["run", path, "--out", "/nonexistent-never-written"],
    ] {
        let o = xpufleet(&cmd);
        assert_eq!(o.status.code(), Some(2), "{cmd:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("pool[1].site") && stderr(&o).contains("cn-nowhere"),
            "{cmd:?}: {}",
            stderr(&o)
        );
    }
}
