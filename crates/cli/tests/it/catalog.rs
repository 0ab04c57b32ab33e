//! `xpufleet catalog` end to end.

use serde_json::Value;

use crate::support::*;

fn catalog_json(args: &[&str]) -> Vec<Value> {
    let o = xpufleet(args);
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_str(&stdout(&o)).unwrap()
}

fn by_id<'v>(rows: &'v [Value], id: &str) -> &'v Value {
    rows.iter().find(|r| r["id"] == id).unwrap()
}

#[test]
fn json_has_every_part_with_figures_sources_and_nulls() {
    let rows = catalog_json(&["catalog", "--json"]);
    assert_eq!(rows.len(), 12);
    for r in &rows {
        for key in [
            "id",
            "vendor",
            "name",
            "tflops_bf16",
            "int8_tops",
            "memory_gb",
            "power_w",
            "die_mm2",
            "sources",
            "fp8_tflops",
            "memory_tbps",
            "interconnect_gbps",
            "price_usd",
            "launch_year",
            "confidence",
            "tflops_bf16_per_kw",
            "tflops_bf16_per_kusd",
            "citations",
        ] {
            assert!(r.get(key).is_some(), "{} lacks {key}", r["id"]);
        }
    }
    let h100 = by_id(&rows, "h100-sxm");
    assert_eq!(h100["vendor"], "Nvidia");
    assert_eq!(h100["tflops_bf16"], 989.5);
    assert_eq!(h100["int8_tops"], 1979.0);
    assert_eq!(h100["power_w"], 700.0);
    assert_eq!(h100["die_mm2"], 814.0);
    assert_eq!(h100["sources"]["tflops_bf16"], "K");
    assert_eq!(h100["sources"]["memory_gb"], "AC");
    assert_eq!(h100["sources"]["price_usd"], "TS");
    assert!(h100["citations"]["TS"]
        .as_str()
        .unwrap()
        .contains("techspot"));
    // 989.5 TFLOPS / 0.7 kW; 989.5 TFLOPS / 27.5 k$.
    assert!((h100["tflops_bf16_per_kw"].as_f64().unwrap() - 1413.5714).abs() < 1e-3);
    assert!((h100["tflops_bf16_per_kusd"].as_f64().unwrap() - 35.9818).abs() < 1e-3);

    // Unknown figures are null, never zero; unsupported ones are null and say so.
    let mlu590 = by_id(&rows, "mlu590");
    assert!(mlu590["tflops_bf16"].is_null());
    assert!(mlu590["power_w"].is_null());
    assert!(mlu590["tflops_bf16_per_kw"].is_null());
    assert_eq!(mlu590["confidence"]["tflops_bf16"], "unknown");
    let a100 = by_id(&rows, "a100-sxm-80gb");
    assert!(a100["fp8_tflops"].is_null());
    assert_eq!(a100["confidence"]["fp8_tflops"], "unsupported");
    assert!(
        a100["tflops_bf16_per_kusd"].is_null(),
        "A100 price is unknown"
    );

    // Estimates are marked, and so are figures derived from them.
    let c = by_id(&rows, "ascend-910c");
    assert_eq!(c["confidence"]["tflops_bf16"], "estimate");
    assert!(c["power_w"].is_null());
    assert!(c["tflops_bf16_per_kw"].is_null());
    assert_eq!(c["derived_estimate"]["tflops_bf16_per_kusd"], true);
    assert!((c["tflops_bf16_per_kusd"].as_f64().unwrap() - 780.0 / 28.6).abs() < 1e-9);
}

#[test]
fn table_marks_unknowns_and_estimates() {
    // One line per accelerator: `--wide` keeps cells unwrapped.
    let o = xpufleet(&["catalog", "--wide"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("TFLOPS/kW") && out.contains("TFLOPS/$1k"),
        "{out}"
    );
    let row = |id: &str| {
        out.lines()
            .find(|l| l.contains(&format!(" {id} ")))
            .unwrap()
            .to_string()
    };
    assert!(
        row("ascend-910c").contains("~780"),
        "{}",
        row("ascend-910c")
    );
    assert!(row("mlu590").contains(" ? "), "{}", row("mlu590"));
    // H100: 1413.6 TFLOPS/kW, 35.98 TFLOPS/$1k.
    assert!(
        row("h100-sxm").contains("1413.6") && row("h100-sxm").contains("35.98"),
        "{}",
        row("h100-sxm")
    );
    assert!(out.contains("[TH2] tomshardware"), "{out}");
}

#[test]
fn a_catalog_file_overrides_and_extends() {
    let path = scratch("catalog-override").join("mine.toml");
    std::fs::write(
        &path,
        "[sources]\nME = \"my measurements\"\n\n[[accelerator]]\nid = \"mlu590\"\nvendor = \"Cambricon\"\nvendor_country = \"CN\"\nname = \"MLU590\"\nfamily = \"mlu\"\ntflops_bf16 = { value = 314, source = \"ME\", confidence = \"estimate\" }\npower_w = 350\n\n[[accelerator]]\nid = \"new-part\"\nvendor = \"Acme\"\nvendor_country = \"US\"\nname = \"New\"\nfamily = \"hopper\"\n",
    )
    .unwrap();
    let rows = catalog_json(&["--catalog", path.to_str().unwrap(), "catalog", "--json"]);
    assert_eq!(rows.len(), 13);
    let m = by_id(&rows, "mlu590");
    assert_eq!(m["tflops_bf16"], 314.0);
    assert_eq!(m["sources"]["tflops_bf16"], "ME");
    assert_eq!(m["derived_estimate"]["tflops_bf16_per_kw"], true);
    assert!((m["tflops_bf16_per_kw"].as_f64().unwrap() - 314.0 / 0.35).abs() < 1e-9);
    assert!(by_id(&rows, "new-part")["tflops_bf16"].is_null());
    // Every field the file gave is listed as overridden; a part it added is not an override.
    assert_eq!(
        m["overridden"],
        serde_json::json!([
            "vendor",
            "vendor_country",
            "name",
            "family",
            "tflops_bf16",
            "power_w"
        ])
    );
    assert_eq!(
        by_id(&rows, "new-part")["overridden"],
        serde_json::json!([])
    );
}

/// Issue 27 item 5: an entry that names a listed id and one figure overrides that figure alone;
/// the part's other figures keep their values and sources.
#[test]
fn issue_27_an_override_of_one_figure_keeps_the_others() {
    let path = scratch("catalog-one-figure").join("mine.toml");
    std::fs::write(
        &path,
        "[sources]\nME = \"our wall-socket measurements\"\n\n[[accelerator]]\nid = \"ascend-910c\"\npower_w = { value = 600, source = \"ME\", confidence = \"estimate\" }\n\n[[accelerator]]\nid = \"h20\"\nsource = \"ME\"\nmemory_gb = 96\ndie_mm2 = \"?\"\n",
    )
    .unwrap();
    let rows = catalog_json(&["--catalog", path.to_str().unwrap(), "catalog", "--json"]);
    assert_eq!(rows.len(), 12, "overrides add no part");
    let c = by_id(&rows, "ascend-910c");
    assert_eq!(c["power_w"], 600.0);
    assert_eq!(c["sources"]["power_w"], "ME");
    assert_eq!(c["confidence"]["power_w"], "estimate");
    // What the file did not give is the built-in entry's, source and all.
    assert_eq!(c["tflops_bf16"], 780.0);
    assert_eq!(c["sources"]["tflops_bf16"], "TH2");
    assert_eq!(c["confidence"]["tflops_bf16"], "estimate");
    assert_eq!(c["memory_gb"], 128.0);
    assert_eq!(c["price_usd"], 28600.0);
    assert_eq!(c["vendor"], "Huawei");
    assert_eq!(c["family"], "ascend");
    assert_eq!(c["launch_year"], 2025);
    assert!((c["tflops_bf16_per_kw"].as_f64().unwrap() - 780.0 / 0.6).abs() < 1e-9);
    assert_eq!(c["overridden"], serde_json::json!(["power_w"]));
    // The entry's `source` cites the figures it gives with a value, and no other.
    let h20 = by_id(&rows, "h20");
    assert_eq!(h20["sources"]["memory_gb"], "ME");
    assert!(h20["die_mm2"].is_null());
    assert!(h20["sources"].get("die_mm2").is_none(), "{h20}");
    assert_eq!(h20["sources"]["tflops_bf16"], "K");
    assert_eq!(
        h20["overridden"],
        serde_json::json!(["memory_gb", "die_mm2"])
    );
    // Untouched parts list nothing.
    assert_eq!(
        by_id(&rows, "h100-sxm")["overridden"],
        serde_json::json!([])
    );

    // The table marks the overridden parts and names the fields in a footnote.
    let o = xpufleet(&["--catalog", path.to_str().unwrap(), "catalog"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("ascend-910c*"), "{out}");
    assert!(out.contains("h20*"), "{out}");
    assert!(!out.contains("h100-sxm*"), "{out}");
    // The footnote is prose, wrapped to the width: compare it with its line breaks undone.
    let footnote = out.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        footnote.contains("ascend-910c (power_w); h20 (memory_gb, die_mm2)"),
        "{out}"
    );
}

/// Issue 27 item 5: a new id lacking several required fields is one error naming them all,
/// located at the entry, with exit status 2.
#[test]
fn issue_27_a_new_part_lacking_fields_names_them_all_at_once() {
    let path = scratch("catalog-missing").join("mine.toml");
    std::fs::write(
        &path,
        "[[accelerator]]\nid = \"ascend-910c\"\npower_w = 600\n\n[[accelerator]]\nid = \"acme-x1\"\nvendor = \"Acme\"\ntflops_bf16 = 100\n",
    )
    .unwrap();
    for args in [
        vec!["--catalog", path.to_str().unwrap(), "catalog"],
        vec!["validate", path.to_str().unwrap()],
        vec!["--catalog", path.to_str().unwrap(), "plan"],
    ] {
        let o = xpufleet(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let e = stderr(&o);
        assert!(
            e.contains(
                "mine.toml:5:1: accelerator[1]: accelerator \"acme-x1\" is not in the catalog"
            ) && e.contains(
                "lacks vendor_country, name, family: expected vendor, vendor_country, name, family"
            ),
            "{args:?}: {e}"
        );
        assert_eq!(
            e.matches("lacks").count(),
            1,
            "one error for the entry: {e}"
        );
        assert!(!e.contains("panicked"), "{e}");
    }
}

/// Issue 27 item 5: each field an override gives is range-checked where it is written.
#[test]
fn issue_27_an_override_out_of_range_is_located() {
    let path = scratch("catalog-override-range").join("mine.toml");
    std::fs::write(
        &path,
        "[[accelerator]]\nid = \"h100-sxm\"\ntflops_bf16 = 1e308\nsource = \"NOPE\"\n",
    )
    .unwrap();
    let o = xpufleet(&["--catalog", path.to_str().unwrap(), "catalog", "--json"]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("mine.toml:3:15: accelerator[0].tflops_bf16: tflops_bf16 is 1e308"),
        "{e}"
    );
    assert!(
        e.contains("mine.toml:4:10: accelerator[0].source: unknown source key \"NOPE\""),
        "{e}"
    );
}

/// Issue 27 item 5: a scenario's own entry that gives one figure of a listed part overrides
/// it: the example's 910C candidate, kept out for its unknown board power, is now valued with
/// the catalog's BF16 TFLOPS instead of being reported as unknown.
#[test]
fn issue_27_a_scenario_overrides_one_figure() {
    let path = scratch("scenario-override").join("s.toml");
    let text = format!(
        "{}\n[[accelerator]]\nid = \"ascend-910c\"\npower_w = 600\n",
        xpufleet_io::EXAMPLE_SCENARIO
    );
    std::fs::write(&path, text).unwrap();
    let o = xpufleet(&["plan", path.to_str().unwrap(), "--json", "--no-sensitivity"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let reasons: Vec<String> = v["excluded"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["candidate"] == "cn-910c-buy")
        .map(|e| e["reason"].to_string())
        .collect();
    for r in &reasons {
        assert!(
            !r.contains("is unknown"),
            "the 910C's figures are known now: {r}"
        );
    }
    let c = v["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "cn-910c-buy")
        .unwrap();
    assert_eq!(c["excluded"], false, "{c}");
    // 8 accelerators of 600 W, times the site's PUE (1 to 4).
    let per_node_w = c["power_w_per_node"].as_f64().unwrap();
    assert!((4800.0..=4.0 * 4800.0).contains(&per_node_w), "{c}");
    assert!(
        c["effective_pflops_per_node"].as_f64().unwrap() > 0.0,
        "{c}"
    );
}

#[test]
fn a_broken_catalog_file_is_a_located_error() {
    let path = scratch("catalog-broken").join("bad.toml");
    std::fs::write(&path, "[[accelerator]]\nid = \"x\"\nvendor = 3\n").unwrap();
    let o = xpufleet(&["--catalog", path.to_str().unwrap(), "catalog"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("bad.toml:3:10: accelerator[0].vendor: invalid type"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_catalog_file_with_an_unknown_source_key_is_refused() {
    let path = scratch("catalog-badsource").join("bad.toml");
    std::fs::write(
        &path,
        "[[accelerator]]\nid = \"x\"\nvendor = \"V\"\nvendor_country = \"US\"\nname = \"X\"\nfamily = \"f\"\ntflops_bf16 = { value = 1, source = \"ZZ\" }\n",
    )
    .unwrap();
    let o = xpufleet(&["--catalog", path.to_str().unwrap(), "catalog", "--json"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains(
            "bad.toml:7:37: accelerator[0].tflops_bf16.source: unknown source key \"ZZ\""
        ),
        "{}",
        stderr(&o)
    );
}
