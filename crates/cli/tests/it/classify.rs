//! `xpufleet classify` end to end.

#[allow(unused_imports)]
use crate::support::*;

use serde_json::Value;

fn classify_json(args: &[&str]) -> Vec<Value> {
    let mut all = vec!["classify", "--json"];
    all.extend_from_slice(args);
    let o = xpufleet(&all);
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_str::<Value>(&stdout(&o))
        .expect("JSON")
        .as_array()
        .expect("an array")
        .clone()
}

fn by_id<'a>(rows: &'a [Value], id: &str) -> &'a Value {
    rows.iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("{id} in the answer"))
}

#[test]
fn the_issue_figures_hold() {
    let rows = classify_json(&["--as-of", "2025-06-01"]);
    let h100 = by_id(&rows, "h100-sxm");
    assert_eq!(h100["tpp"], 15832.0);
    assert_eq!(h100["eccn"], "3A090.a");
    assert_eq!(h100["rule"], "us-ear-2023-10/3a090");
    let h20 = by_id(&rows, "h20");
    assert_eq!(h20["tpp"], 2368.0);
    assert!((h20["pd"].as_f64().unwrap() - 2.91).abs() < 0.005);
    assert_eq!(h20["eccn"], Value::Null);
    assert_eq!(h20["status"], "not-controlled");
    let a100 = by_id(&rows, "a100-sxm-80gb");
    assert_eq!(a100["tpp"], 4992.0);
    assert!((a100["pd"].as_f64().unwrap() - 6.04).abs() < 0.005);
    assert_eq!(a100["eccn"], "3A090.a");
    let b910 = by_id(&rows, "ascend-910b");
    assert_eq!(b910["tpp"], 5120.0);
    assert_eq!(b910["eccn"], "3A090.a");
    // Unknown figures are listed, never guessed.
    let mlu = by_id(&rows, "mlu590");
    assert_eq!(mlu["status"], "indeterminate");
    assert_eq!(mlu["eccn"], Value::Null);
    assert_eq!(mlu["tpp"], Value::Null);
    let missing: Vec<&str> = mlu["missing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        missing,
        ["tflops_bf16", "fp8_tflops", "int8_tops", "die_mm2"]
    );
    // Every catalog part is classified when no id is given.
    assert!(rows.len() >= 12, "{}", rows.len());
}

#[test]
fn a800_changes_class_on_2023_11_17() {
    let before = classify_json(&["a800-sxm", "--as-of", "2023-11-16"]);
    assert_eq!(before[0]["eccn"], Value::Null);
    assert_eq!(before[0]["rule"], "us-ear-2022-10/3a090");
    let after = classify_json(&["a800-sxm", "--as-of", "2023-11-17"]);
    assert_eq!(after[0]["eccn"], "3A090.a");
    // H100 was 3A090 under the 2022 rule.
    let h100 = classify_json(&["h100-sxm", "--as-of", "2023-01-01"]);
    assert_eq!(h100[0]["eccn"], "3A090");
}

#[test]
fn a_chip_described_by_flags() {
    let rows = classify_json(&[
        "--as-of",
        "2024-01-01",
        "--tflops-bf16",
        "200",
        "--int8-tops",
        "0",
        "--fp8-tflops",
        "0",
        "--die-mm2",
        "1600",
    ]);
    assert_eq!(rows[0]["id"], "custom");
    assert_eq!(rows[0]["tpp"], 3200.0);
    assert_eq!(rows[0]["eccn"], "3A090.b");
    // Precisions not given are unknown: a low known TPP cannot settle it.
    let rows = classify_json(&[
        "--as-of",
        "2024-01-01",
        "--tflops-bf16",
        "148",
        "--die-mm2",
        "814",
    ]);
    assert_eq!(rows[0]["status"], "indeterminate");
    assert_eq!(
        rows[0]["missing"],
        serde_json::json!(["fp8_tflops", "int8_tops"])
    );
    // A consumer chip above 4800 is 3A090.a and NAC-eligible.
    let rows = classify_json(&[
        "--as-of",
        "2024-01-01",
        "--tflops-bf16",
        "400",
        "--int8-tops",
        "0",
        "--fp8-tflops",
        "0",
        "--not-data-center",
    ]);
    assert_eq!(rows[0]["eccn"], "3A090.a");
    assert_eq!(rows[0]["nac_eligible"], true);
}

#[test]
fn the_default_date_is_printed_not_the_wall_clock() {
    let o = xpufleet(&["classify", "h20"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("as of 2025-03-01 (the built-in example's date"),
        "{out}"
    );
}

#[test]
fn bad_input_exits_2() {
    let o = xpufleet(&["classify", "no-such-chip"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("unknown accelerator \"no-such-chip\""),
        "{}",
        stderr(&o)
    );
    let o = xpufleet(&["classify", "--as-of", "2025-02-30"]);
    assert_eq!(o.status.code(), Some(2));
    let o = xpufleet(&["classify", "--tflops-bf16", "-5"]);
    assert_eq!(o.status.code(), Some(2));
}
