//! `xpufleet fleet [FILE]`: the scenario's existing pools summed by vendor, site and country:
//! accelerators, dense BF16 peak PFLOPS and power against each site's capacity.
//!
//! Pools whose accelerator has an unknown peak or board power are counted, listed and left out
//! of those sums, never counted as zero.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{anyhow, Result};
use serde::Serialize;
use xpufleet_io::LoadedScenario;

use crate::common::{print_json, table, Ctx};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Scenario file (default: the built-in example).
    file: Option<PathBuf>,
    /// Print JSON (fields documented in docs/scenario.md) instead of tables.
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let ls = xpufleet_io::validate::check_scenario(args.file.as_deref(), ctx.catalog.as_deref())
        .map_err(|d| {
            anyhow!(
                "{d}\n{}: run `xpufleet validate` for details",
                xpufleet_report::format::count(d.len(), "problem", "problems")
            )
        })?;
    let f = summarise(&ls);
    if args.json {
        return print_json(&f);
    }
    print_human(&f);
    Ok(())
}

/// Sums over a group of pools (a vendor, a country, a site, or the whole fleet).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Totals {
    pub pools: usize,
    pub accelerators: u64,
    /// Dense BF16 peak of the accelerators whose peak is known, PFLOPS.
    pub pflops_bf16: f64,
    /// Accelerators left out of `pflops_bf16` because their peak is unknown.
    pub unknown_peak_accelerators: u64,
    /// Board power (TDP × count) of the accelerators whose power is known, kW.
    pub board_power_kw: f64,
    /// Board power × the site's PUE, kW.
    pub facility_power_kw: f64,
    /// Accelerators left out of the power sums because their board power is unknown.
    pub unknown_power_accelerators: u64,
}

impl Totals {
    fn add(&mut self, p: &PoolRow) {
        self.pools += 1;
        self.accelerators += p.accelerators;
        match p.pflops_bf16 {
            Some(v) => self.pflops_bf16 += v,
            None => self.unknown_peak_accelerators += p.accelerators,
        }
        match (p.board_power_kw, p.facility_power_kw) {
            (Some(b), Some(f)) => {
                self.board_power_kw += b;
                self.facility_power_kw += f;
            }
            _ => self.unknown_power_accelerators += p.accelerators,
        }
    }
}

/// One pool's contribution.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PoolRow {
    pub pool: String,
    pub site: String,
    pub country: String,
    pub accelerator: String,
    pub vendor: String,
    pub accelerators: u64,
    /// Dense BF16 peak per accelerator, TFLOPS (null when unknown).
    pub tflops_bf16_each: Option<f64>,
    pub pflops_bf16: Option<f64>,
    /// Board power per accelerator, W (null when unknown).
    pub power_w_each: Option<f64>,
    pub board_power_kw: Option<f64>,
    pub facility_power_kw: Option<f64>,
}

/// One group (vendor or country) and its totals.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Group {
    pub key: String,
    #[serde(flatten)]
    pub totals: Totals,
}

/// One site, its totals and its power capacity.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SiteRow {
    pub site: String,
    pub country: String,
    pub tenure: String,
    pub pue: f64,
    /// Facility power capacity, kW (the site's `power_mw` × 1000).
    pub capacity_kw: f64,
    /// `facility_power_kw / capacity_kw` (known power only).
    pub utilisation: f64,
    /// Known facility power exceeds capacity.
    pub over_capacity: bool,
    #[serde(flatten)]
    pub totals: Totals,
}

/// What `fleet --json` prints.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Fleet {
    pub origin: String,
    pub scenario: String,
    pub date: String,
    pub totals: Totals,
    /// Capacity of all sites, kW.
    pub capacity_kw: f64,
    /// Pools whose accelerator has an unknown dense BF16 peak (left out of `pflops_bf16`).
    pub unknown_peak_pools: Vec<String>,
    /// Pools whose accelerator has an unknown board power (left out of the power sums).
    pub unknown_power_pools: Vec<String>,
    pub by_vendor: Vec<Group>,
    pub by_country: Vec<Group>,
    pub by_site: Vec<SiteRow>,
    pub pools: Vec<PoolRow>,
}

/// Sums a validated scenario's pools.
pub fn summarise(ls: &LoadedScenario) -> Fleet {
    let s = &ls.scenario;
    let pools: Vec<PoolRow> = s
        .pools
        .iter()
        .map(|p| {
            let site = s.site(&p.site);
            let acc = ls.catalog.get(&p.accelerator);
            let n = p.accelerators();
            let tflops = acc.and_then(|a| a.tflops_bf16.get());
            let power_w = acc.and_then(|a| a.power_w.get());
            let board_kw = power_w.map(|w| w * n as f64 / 1000.0);
            PoolRow {
                pool: p.id.clone(),
                site: p.site.clone(),
                country: site.map_or("?".into(), |x| x.country.clone()),
                accelerator: p.accelerator.clone(),
                vendor: acc.map_or("?".into(), |a| a.vendor.clone()),
                accelerators: n,
                tflops_bf16_each: tflops,
                pflops_bf16: tflops.map(|t| t * n as f64 / 1000.0),
                power_w_each: power_w,
                board_power_kw: board_kw,
                facility_power_kw: board_kw.and_then(|b| site.map(|x| b * x.pue)),
            }
        })
        .collect();
    let mut totals = Totals::default();
    let mut vendors: BTreeMap<String, Totals> = BTreeMap::new();
    let mut countries: BTreeMap<String, Totals> = BTreeMap::new();
    let mut sites: BTreeMap<&str, Totals> = BTreeMap::new();
    for p in &pools {
        totals.add(p);
        vendors.entry(p.vendor.clone()).or_default().add(p);
        countries.entry(p.country.clone()).or_default().add(p);
        sites.entry(p.site.as_str()).or_default().add(p);
    }
    let by_site = s
        .sites
        .iter()
        .map(|site| {
            let t = sites.get(site.id.as_str()).cloned().unwrap_or_default();
            let capacity_kw = site.power_mw * 1000.0;
            SiteRow {
                site: site.id.clone(),
                country: site.country.clone(),
                tenure: format!("{:?}", site.tenure).to_lowercase(),
                pue: site.pue,
                capacity_kw,
                utilisation: if capacity_kw > 0.0 {
                    t.facility_power_kw / capacity_kw
                } else {
                    0.0
                },
                over_capacity: t.facility_power_kw > capacity_kw,
                totals: t,
            }
        })
        .collect();
    let group = |m: BTreeMap<String, Totals>| {
        m.into_iter()
            .map(|(key, totals)| Group { key, totals })
            .collect()
    };
    Fleet {
        origin: ls.origin.clone(),
        scenario: s.name.clone(),
        date: s.date.to_string(),
        capacity_kw: s.sites.iter().map(|x| x.power_mw * 1000.0).sum(),
        unknown_peak_pools: pools
            .iter()
            .filter(|p| p.pflops_bf16.is_none())
            .map(|p| p.pool.clone())
            .collect(),
        unknown_power_pools: pools
            .iter()
            .filter(|p| p.board_power_kw.is_none())
            .map(|p| p.pool.clone())
            .collect(),
        totals,
        by_vendor: group(vendors),
        by_country: group(countries),
        by_site,
        pools,
    }
}

fn print_human(f: &Fleet) {
    crate::common::say!("{} ({}), as of {}", f.scenario, f.origin, f.date);
    let group_table = |title: &str, rows: &[Group]| {
        let mut t = table();
        t.set_header(vec![
            title,
            "pools",
            "accelerators",
            "PFLOPS BF16",
            "board kW",
            "facility kW",
        ]);
        for g in rows {
            t.add_row(totals_cells(g.key.clone(), &g.totals));
        }
        t.add_row(totals_cells("total".into(), &f.totals));
        println!("{}", crate::common::fit(&mut t));
    };
    group_table("vendor", &f.by_vendor);
    group_table("country", &f.by_country);

    let mut t = table();
    t.set_header(vec![
        "site",
        "country",
        "tenure",
        "pools",
        "accelerators",
        "PFLOPS BF16",
        "board kW",
        "PUE",
        "facility kW",
        "capacity kW",
        "used",
    ]);
    for s in &f.by_site {
        t.add_row(vec![
            s.site.clone(),
            s.country.clone(),
            s.tenure.clone(),
            s.totals.pools.to_string(),
            s.totals.accelerators.to_string(),
            pflops_cell(&s.totals),
            power_cell(s.totals.board_power_kw, &s.totals),
            format!("{:.2}", s.pue),
            power_cell(s.totals.facility_power_kw, &s.totals),
            format!("{:.0}", s.capacity_kw),
            format!(
                "{:.1}%{}",
                s.utilisation * 100.0,
                if s.over_capacity { " OVER" } else { "" }
            ),
        ]);
    }
    println!("{}", crate::common::fit(&mut t));
    crate::common::say!(
        "total: {} accelerators in {} pools, {:.1} PFLOPS dense BF16 peak, {:.1} kW board power, {:.1} kW at the sites' PUE, of {:.0} kW site capacity",
        f.totals.accelerators,
        f.totals.pools,
        f.totals.pflops_bf16,
        f.totals.board_power_kw,
        f.totals.facility_power_kw,
        f.capacity_kw
    );
    if !f.unknown_peak_pools.is_empty() {
        crate::common::say!(
            "unknown peak (not in PFLOPS): {} accelerators in {}",
            f.totals.unknown_peak_accelerators,
            f.unknown_peak_pools.join(", ")
        );
    }
    if !f.unknown_power_pools.is_empty() {
        crate::common::say!(
            "unknown board power (not in kW): {} accelerators in {}",
            f.totals.unknown_power_accelerators,
            f.unknown_power_pools.join(", ")
        );
    }
}

fn totals_cells(key: String, t: &Totals) -> Vec<String> {
    vec![
        key,
        t.pools.to_string(),
        t.accelerators.to_string(),
        pflops_cell(t),
        power_cell(t.board_power_kw, t),
        power_cell(t.facility_power_kw, t),
    ]
}

/// A sum, with "+ ?" when some accelerators were left out of it as unknown.
fn pflops_cell(t: &Totals) -> String {
    let unknown = if t.unknown_peak_accelerators > 0 {
        format!(" + ? ({} unknown)", t.unknown_peak_accelerators)
    } else {
        String::new()
    };
    format!("{:.1}{unknown}", t.pflops_bf16)
}

fn power_cell(kw: f64, t: &Totals) -> String {
    let unknown = if t.unknown_power_accelerators > 0 {
        format!(" + ? ({} unknown)", t.unknown_power_accelerators)
    } else {
        String::new()
    };
    format!("{kw:.1}{unknown}")
}
