//! `xpufleet fleet` end to end.

use serde_json::Value;

use crate::support::*;

const EXAMPLE: &str = include_str!("../../../../examples/capex-2025.toml");

fn fleet_json(args: &[&str]) -> Value {
    let o = xpufleet(args);
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_str(&stdout(&o)).unwrap()
}

fn close(v: &Value, want: f64) -> bool {
    (v.as_f64().unwrap() - want).abs() < 1e-6
}

fn group<'v>(list: &'v Value, key: &str, name: &str) -> &'v Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|g| g[key] == name)
        .unwrap()
}

/// Totals of the built-in example, computed by hand from its pools and the catalog:
///   cn-a800   256 × 8 =  2048 A800  × 312   TFLOPS, 400 W, at cn-ulanqab (PUE 1.2)
///   cn-h20   1250 × 8 = 10000 H20   × 148   TFLOPS, 400 W, at cn-wuhu    (PUE 1.25)
///   cn-910b  1000 × 8 =  8000 910B  × 320   TFLOPS, 400 W, at cn-ulanqab (PUE 1.2)
///   my-h100   512 × 8 =  4096 H100  × 989.5 TFLOPS, 700 W, at my-johor   (PUE 1.35)
///   my-h200    64 × 8 =   512 H200  × 989.5 TFLOPS, 700 W, at my-cyberjaya (PUE 1.4)
#[test]
fn example_totals_match_a_hand_count() {
    let v = fleet_json(&["fleet", "--json"]);
    let t = &v["totals"];
    assert_eq!(t["pools"], 5);
    assert_eq!(t["accelerators"], 2048 + 10000 + 8000 + 4096 + 512);
    // 638.976 + 1480 + 2560 + 4052.992 + 506.624 PFLOPS.
    assert!(close(&t["pflops_bf16"], 9238.592), "{t}");
    assert_eq!(t["unknown_peak_accelerators"], 0);
    // 819.2 + 4000 + 3200 + 2867.2 + 358.4 kW of boards.
    assert!(close(&t["board_power_kw"], 11244.8), "{t}");
    // (819.2 + 3200) × 1.2 + 4000 × 1.25 + 2867.2 × 1.35 + 358.4 × 1.4.
    assert!(
        close(&t["facility_power_kw"], 4823.04 + 5000.0 + 3870.72 + 501.76),
        "{t}"
    );
    assert!(close(&v["capacity_kw"], 380_000.0));

    let nv = group(&v["by_vendor"], "key", "Nvidia");
    assert_eq!(nv["accelerators"], 16656);
    assert!(close(&nv["pflops_bf16"], 6678.592));
    let hw = group(&v["by_vendor"], "key", "Huawei");
    assert_eq!(hw["accelerators"], 8000);
    assert!(close(&hw["pflops_bf16"], 2560.0));
    let cn = group(&v["by_country"], "key", "CN");
    assert_eq!(cn["accelerators"], 20048);
    assert!(close(&cn["pflops_bf16"], 4678.976));
    let my = group(&v["by_country"], "key", "MY");
    assert_eq!(my["accelerators"], 4608);
    assert!(close(&my["pflops_bf16"], 4559.616));

    let ul = group(&v["by_site"], "site", "cn-ulanqab");
    assert_eq!(ul["pools"], 2);
    assert!(close(&ul["board_power_kw"], 4019.2));
    assert!(close(&ul["facility_power_kw"], 4823.04));
    assert!(close(&ul["capacity_kw"], 150_000.0));
    assert!(close(&ul["utilisation"], 4823.04 / 150_000.0));
    assert_eq!(ul["over_capacity"], false);
    assert_eq!(v["by_site"].as_array().unwrap().len(), 4);
    assert_eq!(v["unknown_peak_pools"].as_array().unwrap().len(), 0);
}

#[test]
fn unknown_peaks_are_listed_not_counted_as_zero() {
    let extra = "\n[[pool]]\nid = \"cn-mlu590\"\nsite = \"cn-wuhu\"\naccelerator = \"mlu590\"\nnodes = 10\naccels_per_node = 8\nscaleup_domain = 8\nacquisition = { kind = \"bought\", price = { amount = 120000, currency = \"CNY\" } }\n";
    let path = scratch("fleet-unknown").join("s.toml");
    std::fs::write(&path, format!("{EXAMPLE}{extra}")).unwrap();
    let v = fleet_json(&["fleet", "--json", path.to_str().unwrap()]);
    let t = &v["totals"];
    assert_eq!(t["accelerators"], 24656 + 80);
    assert!(close(&t["pflops_bf16"], 9238.592), "{t}");
    assert_eq!(t["unknown_peak_accelerators"], 80);
    assert_eq!(t["unknown_power_accelerators"], 80);
    assert_eq!(v["unknown_peak_pools"], serde_json::json!(["cn-mlu590"]));
    assert_eq!(v["unknown_power_pools"], serde_json::json!(["cn-mlu590"]));
    let pool = v["pools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["pool"] == "cn-mlu590")
        .unwrap();
    assert!(pool["pflops_bf16"].is_null());

    // Whole lines: at 100 columns the cells wrap between words.
    let o = xpufleet(&["--wide", "fleet", path.to_str().unwrap()]);
    let out = stdout(&o);
    assert!(
        out.contains("unknown peak (not in PFLOPS): 80 accelerators in cn-mlu590"),
        "{out}"
    );
    assert!(out.contains("+ ? (80 unknown)"), "{out}");
}

#[test]
fn over_capacity_is_flagged() {
    let path = scratch("fleet-over").join("s.toml");
    std::fs::write(
        &path,
        EXAMPLE.replacen("power_mw = 20", "power_mw = 0.4", 1),
    )
    .unwrap();
    let v = fleet_json(&["fleet", "--json", path.to_str().unwrap()]);
    let cy = group(&v["by_site"], "site", "my-cyberjaya");
    assert_eq!(cy["over_capacity"], true);
    let out = stdout(&xpufleet(&["fleet", path.to_str().unwrap()]));
    assert!(out.contains("OVER"), "{out}");
}

#[test]
fn human_tables_show_the_sums() {
    let o = xpufleet(&["fleet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Prose is wrapped to 100 columns: read it back with single spaces.
    let out = stdout(&o).split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(out.contains("total: 24656 accelerators in 5 pools, 9238.6 PFLOPS dense BF16 peak, 11244.8 kW board power, 14195.5 kW at the sites' PUE, of 380000 kW site capacity"), "{out}");
}

#[test]
fn an_invalid_scenario_is_refused_with_located_errors() {
    let path = scratch("fleet-bad").join("s.toml");
    std::fs::write(
        &path,
        EXAMPLE.replacen("site = \"cn-ulanqab\"", "site = \"nowhere\"", 1),
    )
    .unwrap();
    let o = xpufleet(&["fleet", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("s.toml:172:8: pool[0].site: unknown site \"nowhere\""),
        "{}",
        stderr(&o)
    );
}
