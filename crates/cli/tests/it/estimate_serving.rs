//! `xpufleet estimate serving` end to end: the JSON contract, DeepSeek's published system,
//! `--compare` ordering, refusals with the figure or flag named, and the training estimate
//! still answering beside it.

use serde_json::Value;

use crate::support::*;

const DEEPSEEK: &[&str] = &[
    "estimate",
    "serving",
    "--params",
    "671e9",
    "--active-params",
    "37e9",
    "--input-tokens-per-day",
    "608e9",
    "--output-tokens-per-day",
    "168e9",
];

fn run_json(extra: &[&str]) -> Value {
    let args: Vec<&str> = DEEPSEEK.iter().chain(extra).copied().collect();
    let o = xpufleet(&args);
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    serde_json::from_str(&stdout(&o)).expect("JSON on stdout")
}

#[test]
fn json_carries_the_contract_fields_and_reproduces_deepseek() {
    let v = run_json(&["--accel", "h800-sxm", "--price-per-hour", "2", "--json"]);
    for key in [
        "accelerators",
        "nodes",
        "prefill_accels",
        "decode_accels",
        "cost_usd_per_day",
        "usd_per_million_output_tokens",
        "source",
        "interval",
    ] {
        assert!(v.get(key).is_some(), "{key} missing in {v}");
    }
    for key in ["input", "output"] {
        assert!(v["tokens_per_s_per_accel"][key].is_number(), "{v}");
    }
    for key in ["weights_gb", "kv_gb_per_1k_tokens", "max_batch"] {
        assert!(v["memory"][key].is_number(), "{key} in {v}");
    }
    assert_eq!(v["source"], "deepseek-v3-h800-2025-03");
    // DeepSeek: 226.75 nodes on average, USD 87,072 a day.
    let nodes = v["nodes"].as_f64().unwrap();
    assert!((nodes / 226.75 - 1.0).abs() < 0.02, "{nodes}");
    let usd = v["cost_usd_per_day"].as_f64().unwrap();
    assert!((usd / 87_072.0 - 1.0).abs() < 0.02, "{usd}");
}

#[test]
fn compare_is_sorted_by_cost_per_million_output_tokens() {
    let v = run_json(&["--compare", "h20,h100-sxm,h200-sxm,b200", "--json"]);
    let rows = v.as_array().expect("an array");
    assert_eq!(rows.len(), 4);
    let costs: Vec<f64> = rows
        .iter()
        .map(|r| r["usd_per_million_output_tokens"].as_f64().expect("priced"))
        .collect();
    assert!(costs.windows(2).all(|w| w[0] <= w[1]), "{costs:?}");
    let o = xpufleet(
        &DEEPSEEK
            .iter()
            .chain(&["--compare", "h20,h100-sxm,h200-sxm,b200"])
            .copied()
            .collect::<Vec<_>>(),
    );
    assert!(o.status.success());
    for line in stdout(&o).lines() {
        assert!(line.chars().count() <= 100, "too wide: {line}");
    }
}

#[test]
fn an_unknown_price_is_unknown_not_zero() {
    // The H800 has no catalog price.
    let v = run_json(&["--accel", "h800-sxm", "--json"]);
    assert!(v["cost_usd_per_day"].is_null(), "{v}");
    assert!(v["usd_per_million_output_tokens"].is_null(), "{v}");
}

#[test]
fn bad_input_names_the_flag_and_exits_2() {
    for (flag, value, says) in [
        ("--output-tokens-per-day", "-1", "--output-tokens-per-day"),
        ("--input-tokens-per-day", "1e20", "--input-tokens-per-day"),
        ("--tpot-ms", "1", "ask for at least"),
    ] {
        let mut args = vec![
            "estimate",
            "serving",
            "--params",
            "70e9",
            "--accel",
            "h20",
            "--input-tokens-per-day",
            "1e9",
            "--output-tokens-per-day",
            "1e9",
        ];
        args.extend([flag, value]);
        let o = xpufleet(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(stderr(&o).contains(says), "{args:?}: {}", stderr(&o));
    }
    // An unknown figure names itself: the 910C's FP8 rate is not public.
    let o = xpufleet(
        &DEEPSEEK
            .iter()
            .chain(&["--accel", "ascend-910c", "--precision", "fp8"])
            .copied()
            .collect::<Vec<_>>(),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("fp8_tflops"), "{}", stderr(&o));
}

#[test]
fn the_training_estimate_still_answers() {
    let o = xpufleet(&[
        "estimate", "--params", "70e9", "--tokens", "2e12", "--accel", "h100-sxm", "--count",
        "2048", "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(v["mfu"].is_number());
}
