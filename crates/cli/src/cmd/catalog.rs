//! `xpufleet catalog`: the accelerator catalog (built-in, overridden by `--catalog FILE`) with
//! derived figures: dense BF16 TFLOPS per kW of board power and per $1k of reported price.

use std::collections::BTreeMap;

use anyhow::Result;
use serde::Serialize;
use xpufleet_model::{Accelerator, Catalog, Confidence, Figure};

use crate::common::{print_json, table, Ctx};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print a JSON array of accelerators instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    if let Some(f) = &ctx.catalog {
        // Listing a catalog with duplicate ids or unknown source keys would mislead: refuse it
        // with every problem located.
        xpufleet_io::validate::check_catalog_file(f).map_err(|d| anyhow::anyhow!("{d}"))?;
    }
    let catalog = ctx.catalog()?;
    if args.json {
        let rows: Vec<Row> = catalog
            .accelerators
            .iter()
            .map(|a| Row::new(a, &catalog))
            .collect();
        return print_json(&rows);
    }
    let mut t = table();
    t.set_header(vec![
        "id",
        "vendor",
        "name",
        "BF16 TFLOPS",
        "INT8 TOPS",
        "FP8 TFLOPS",
        "mem GB",
        "mem TB/s",
        "link GB/s",
        "power W",
        "die mm²",
        "year",
        "price USD",
        "TFLOPS/kW",
        "TFLOPS/$1k",
    ]);
    for a in &catalog.accelerators {
        // A `*` marks an entry whose figures a catalog file changed; the footnote says which.
        let mark = if catalog.overridden.contains_key(&a.id) {
            "*"
        } else {
            ""
        };
        t.add_row(vec![
            format!("{}{mark}", a.id),
            a.vendor.clone(),
            a.name.clone(),
            cell(&a.tflops_bf16),
            cell(&a.int8_tops),
            cell(&a.fp8_tflops),
            cell(&a.memory_gb),
            cell(&a.memory_tbps),
            cell(&a.interconnect_gbps),
            cell(&a.power_w),
            cell(&a.die_mm2),
            a.launch_year.map_or("?".into(), |y| y.to_string()),
            cell(&a.price_usd),
            derived_cell(&Derived::ratio(&a.tflops_bf16, &a.power_w, 1000.0), 1),
            derived_cell(&Derived::ratio(&a.tflops_bf16, &a.price_usd, 1000.0), 2),
        ]);
    }
    println!("{}", crate::common::fit(&mut t));
    crate::common::say!(
        "? unknown · ~ estimate · - unsupported by the part · dense figures, no sparsity"
    );
    crate::common::say!(
        "TFLOPS/kW = dense BF16 TFLOPS / board power; TFLOPS/$1k = dense BF16 TFLOPS per $1000 of reported price"
    );
    if !catalog.overridden.is_empty() {
        let list: Vec<String> = catalog
            .overridden
            .iter()
            .map(|(id, fields)| format!("{id} ({})", fields.join(", ")))
            .collect();
        crate::common::say!(
            "* overridden by the catalog file; the other figures are the built-in ones: {}",
            list.join("; ")
        );
    }
    println!("sources:");
    for (k, v) in &catalog.sources {
        crate::common::say!("  [{k}] {v}");
    }
    Ok(())
}

/// A figure as a table cell: `?` unknown, `-` unsupported, `~` before estimates.
fn cell(f: &Figure) -> String {
    match (f.value, f.confidence) {
        (None, Confidence::Unsupported) => "-".into(),
        (None, _) => "?".into(),
        (Some(v), c) => {
            let mark = if c == Confidence::Estimate { "~" } else { "" };
            format!("{mark}{}", trim_number(v))
        }
    }
}

fn derived_cell(d: &Derived, decimals: usize) -> String {
    match d.value {
        None => "?".into(),
        Some(v) => {
            let mark = if d.estimate { "~" } else { "" };
            format!("{mark}{v:.decimals$}")
        }
    }
}

/// 989.5 -> "989.5", 80 -> "80", 27500 -> "27500".
fn trim_number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

/// A figure computed from two others: unknown if either is, an estimate if either is.
#[derive(Debug, Clone, Copy, Serialize)]
struct Derived {
    value: Option<f64>,
    estimate: bool,
}

impl Derived {
    /// `num / (den / scale)`, e.g. TFLOPS per kW from TFLOPS and W with `scale` = 1000.
    fn ratio(num: &Figure, den: &Figure, scale: f64) -> Derived {
        let value = match (num.value, den.value) {
            (Some(n), Some(d)) if d > 0.0 => Some(n / (d / scale)),
            _ => None,
        };
        Derived {
            value,
            estimate: value.is_some()
                && (num.confidence == Confidence::Estimate
                    || den.confidence == Confidence::Estimate),
        }
    }
}

/// One accelerator as `catalog --json` prints it. Unknown and unsupported figures are `null`;
/// `confidence` tells them apart.
#[derive(Debug, Serialize)]
struct Row {
    id: String,
    vendor: String,
    vendor_country: String,
    name: String,
    family: String,
    data_center: bool,
    chips_per_unit: u32,
    tflops_bf16: Option<f64>,
    tflops_fp16: Option<f64>,
    fp8_tflops: Option<f64>,
    int8_tops: Option<f64>,
    memory_gb: Option<f64>,
    memory_tbps: Option<f64>,
    interconnect_gbps: Option<f64>,
    power_w: Option<f64>,
    die_mm2: Option<f64>,
    price_usd: Option<f64>,
    launch_year: Option<i32>,
    /// Dense BF16 TFLOPS per kW of board power; null when either is unknown.
    tflops_bf16_per_kw: Option<f64>,
    /// Dense BF16 TFLOPS per $1000 of reported price; null when either is unknown.
    tflops_bf16_per_kusd: Option<f64>,
    /// Derived figures that rest on an estimate.
    derived_estimate: BTreeMap<&'static str, bool>,
    /// Field -> "reported" | "estimate" | "unknown" | "unsupported", for every figure.
    confidence: BTreeMap<&'static str, Confidence>,
    /// Field -> source key, for every figure that cites one.
    sources: BTreeMap<&'static str, String>,
    /// Source key -> citation, for the keys in `sources`.
    citations: BTreeMap<String, String>,
    /// Field -> note, for figures that carry one.
    notes: BTreeMap<&'static str, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
    /// The fields a user's catalog file replaced (in catalog order); empty when the entry is
    /// the built-in one or a part the file added.
    overridden: Vec<String>,
}

impl Row {
    fn new(a: &Accelerator, catalog: &Catalog) -> Row {
        let per_kw = Derived::ratio(&a.tflops_bf16, &a.power_w, 1000.0);
        let per_kusd = Derived::ratio(&a.tflops_bf16, &a.price_usd, 1000.0);
        let mut confidence = BTreeMap::new();
        let mut sources = BTreeMap::new();
        let mut notes = BTreeMap::new();
        let mut citations = BTreeMap::new();
        for field in Accelerator::FIGURE_FIELDS {
            let f = a.figure(field).expect("FIGURE_FIELDS are figures");
            confidence.insert(field, f.confidence);
            if let Some(k) = &f.source {
                sources.insert(field, k.clone());
                if let Some(c) = catalog.sources.get(k) {
                    citations.insert(k.clone(), c.clone());
                }
            }
            if let Some(n) = &f.note {
                notes.insert(field, n.clone());
            }
        }
        let derived_estimate = BTreeMap::from([
            ("tflops_bf16_per_kw", per_kw.estimate),
            ("tflops_bf16_per_kusd", per_kusd.estimate),
        ]);
        Row {
            id: a.id.clone(),
            vendor: a.vendor.clone(),
            vendor_country: a.vendor_country.clone(),
            name: a.name.clone(),
            family: a.family.clone(),
            data_center: a.data_center,
            chips_per_unit: a.chips_per_unit,
            tflops_bf16: a.tflops_bf16.get(),
            tflops_fp16: a.tflops_fp16.get(),
            fp8_tflops: a.fp8_tflops.get(),
            int8_tops: a.int8_tops.get(),
            memory_gb: a.memory_gb.get(),
            memory_tbps: a.memory_tbps.get(),
            interconnect_gbps: a.interconnect_gbps.get(),
            power_w: a.power_w.get(),
            die_mm2: a.die_mm2.get(),
            price_usd: a.price_usd.get(),
            launch_year: a.launch_year,
            tflops_bf16_per_kw: per_kw.value,
            tflops_bf16_per_kusd: per_kusd.value,
            derived_estimate,
            confidence,
            sources,
            citations,
            notes,
            note: a.note.clone(),
            overridden: catalog.overridden.get(&a.id).cloned().unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_figures_follow_their_inputs() {
        let d = Derived::ratio(
            &Figure::reported(989.5, "K"),
            &Figure::reported(700.0, "K"),
            1000.0,
        );
        assert!((d.value.unwrap() - 1413.571).abs() < 1e-3);
        assert!(!d.estimate);
        let d = Derived::ratio(
            &Figure::estimate(780.0, "TH2"),
            &Figure::reported(28600.0, "TH2"),
            1000.0,
        );
        assert!(d.estimate);
        let d = Derived::ratio(&Figure::reported(780.0, "TH2"), &Figure::unknown(), 1000.0);
        assert_eq!(d.value, None);
        assert_eq!(cell(&Figure::unsupported()), "-");
        assert_eq!(cell(&Figure::unknown()), "?");
        assert_eq!(cell(&Figure::estimate(1600.0, "K")), "~1600");
    }
}
