//! `xpufleet classify`: TPP, PD and ECCN of catalog accelerators (or of a chip described by
//! flags) under the US rule in force on a date.
//!
//! The date defaults to the built-in example's date (printed with the answer), never to the
//! wall clock: the same command gives the same answer on every day it is run.

use std::path::PathBuf;

use anyhow::{anyhow, bail, Result};
use serde::Serialize;
use xpufleet_comply::{chip_rules, classify, Classification, RuleSet};
use xpufleet_model::{Accelerator, Date, Figure};

use crate::common::{print_json, table, Ctx};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Accelerator ids from the catalog (default: the whole catalog, unless a chip is described
    /// by flags).
    #[arg(value_name = "ACCEL")]
    ids: Vec<String>,
    /// Classify under the rule in force on this date (YYYY-MM-DD); default: the built-in
    /// example's date.
    #[arg(long, value_name = "DATE")]
    as_of: Option<Date>,
    /// Print a JSON array.
    #[arg(long)]
    json: bool,
    /// Rule-pack files added after the built-in packs (listed rules that name each chip).
    #[arg(long, value_name = "FILE")]
    rules: Vec<PathBuf>,
    /// Describe a chip by its figures. Any precision not given is unknown, never zero: give 0
    /// for a precision the chip lacks.
    #[arg(long, value_name = "TFLOPS")]
    tflops_bf16: Option<f64>,
    /// Dense FP16 TFLOPS of the described chip (unknown when not given; 0 if it has none).
    #[arg(long, value_name = "TFLOPS")]
    tflops_fp16: Option<f64>,
    /// Dense FP8 TFLOPS of the described chip (unknown when not given; 0 if it has none).
    #[arg(long, value_name = "TFLOPS")]
    fp8_tflops: Option<f64>,
    /// Dense INT8 TOPS of the described chip (unknown when not given; 0 if it has none).
    #[arg(long, value_name = "TOPS")]
    int8_tops: Option<f64>,
    /// Applicable (logic) die area of the described chip.
    #[arg(long, value_name = "MM2")]
    die_mm2: Option<f64>,
    /// Chip-to-chip bandwidth of the described chip (needed by the 2022-10 rule).
    #[arg(long, value_name = "GBPS")]
    interconnect_gbps: Option<f64>,
    /// The described chip is not designed or marketed for data centres.
    #[arg(long)]
    not_data_center: bool,
    /// Id of the described chip.
    #[arg(long, value_name = "ID", default_value = "custom")]
    id: String,
}

/// One row of the answer.
#[derive(Debug, Serialize)]
struct Row {
    name: String,
    vendor: String,
    #[serde(flatten)]
    class: Classification,
    /// Rules in force that name this chip (by classification, model or origin): where it goes
    /// and who holds it decide whether they apply.
    chip_rules: Vec<String>,
}

impl Args {
    fn described(&self) -> bool {
        self.tflops_bf16.is_some()
            || self.tflops_fp16.is_some()
            || self.fp8_tflops.is_some()
            || self.int8_tops.is_some()
            || self.die_mm2.is_some()
            || self.interconnect_gbps.is_some()
    }

    fn figure(flag: &str, v: Option<f64>) -> Result<Figure> {
        match v {
            None => Ok(Figure::unknown()),
            Some(x) if x.is_finite() && x >= 0.0 => Ok(Figure::given(x)),
            Some(x) => bail!("--{flag}: expected a finite, non-negative number, found {x}"),
        }
    }

    fn chip(&self) -> Result<Accelerator> {
        Ok(Accelerator {
            id: self.id.clone(),
            vendor: "(given)".into(),
            vendor_country: "?".into(),
            name: self.id.clone(),
            family: "custom".into(),
            data_center: !self.not_data_center,
            tflops_bf16: Self::figure("tflops-bf16", self.tflops_bf16)?,
            tflops_fp16: Self::figure("tflops-fp16", self.tflops_fp16)?,
            fp8_tflops: Self::figure("fp8-tflops", self.fp8_tflops)?,
            int8_tops: Self::figure("int8-tops", self.int8_tops)?,
            memory_gb: Figure::unknown(),
            memory_tbps: Figure::unknown(),
            interconnect_gbps: Self::figure("interconnect-gbps", self.interconnect_gbps)?,
            power_w: Figure::unknown(),
            die_mm2: Self::figure("die-mm2", self.die_mm2)?,
            launch_year: None,
            price_usd: Figure::unknown(),
            chips_per_unit: 1,
            note: None,
        })
    }
}

/// The date used when `--as-of` is not given: the built-in example's.
pub fn default_date() -> Result<Date> {
    Ok(
        xpufleet_io::parse_scenario(xpufleet_io::EXAMPLE_SCENARIO, xpufleet_io::EXAMPLE_NAME)
            .map_err(|d| anyhow!("{d}"))?
            .date,
    )
}

pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let (date, defaulted) = match args.as_of {
        Some(d) => (d, false),
        None => (default_date()?, true),
    };
    let catalog = ctx.catalog()?;
    let mut extra = vec![];
    for f in &args.rules {
        extra.push(xpufleet_io::rules::read_rule_file(f).map_err(|d| anyhow!("{d}"))?);
    }
    let rules: RuleSet = xpufleet_io::rules::rule_set(&extra).map_err(|d| anyhow!("{d}"))?;
    let mut chips: Vec<Accelerator> = vec![];
    for id in &args.ids {
        match catalog.get(id) {
            Some(a) => chips.push(a.clone()),
            None => {
                let known: Vec<&str> = catalog.ids().collect();
                bail!(
                    "unknown accelerator {id:?}; expected one of: {}",
                    known.join(", ")
                )
            }
        }
    }
    if args.described() {
        chips.push(args.chip()?);
    } else if args.not_data_center {
        bail!("--not-data-center describes a chip: give its figures too (--tflops-bf16, ...)");
    }
    if chips.is_empty() {
        chips = catalog.accelerators.clone();
    }
    let rows: Vec<Row> = chips
        .iter()
        .map(|a| {
            let class = classify(a, date);
            Row {
                name: a.name.clone(),
                vendor: a.vendor.clone(),
                chip_rules: chip_rules(&rules, a, &class),
                class,
            }
        })
        .collect();
    if args.json {
        return print_json(&rows);
    }
    crate::common::say!(
        "Classification as of {date}{}",
        if defaulted {
            " (the built-in example's date; pass --as-of DATE)"
        } else {
            ""
        }
    );
    let mut t = table();
    t.set_header(vec![
        "id",
        "TPP",
        "PD",
        "ECCN",
        "rule",
        "missing",
        "rules naming it",
    ]);
    // The rules naming a chip are listed in full by --json; the table gives their number.
    for r in &rows {
        let c = &r.class;
        let tpp = match (c.tpp, c.tpp_exact) {
            (Some(v), true) => format!("{v:.0}"),
            (Some(v), false) => format!(">= {v:.0}"),
            (None, _) => "?".into(),
        };
        let pd = c.pd.map_or("?".into(), |p| {
            if c.tpp_exact {
                format!("{p:.2}")
            } else {
                format!(">= {p:.2}")
            }
        });
        let mut label = c.label();
        if c.nac_eligible {
            label.push_str(" (NAC)");
        }
        if c.is_controlled() && !c.subject_to_ear {
            // Meets the parameters; a non-US part is subject to the EAR only through the
            // foreign-direct-product rules, which are not modelled.
            label.push_str(" (parameters only: non-US)");
        }
        t.add_row(vec![
            c.id.clone(),
            tpp,
            pd,
            label,
            c.rule.clone(),
            c.missing.join(", "),
            r.chip_rules.len().to_string(),
        ]);
    }
    println!("{}", crate::common::fit(&mut t));
    Ok(())
}
