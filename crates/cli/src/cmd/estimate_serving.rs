//! `xpufleet estimate serving`: accelerators, nodes, prefill/decode pools and cost to serve a
//! model at N input and M output tokens a day on one part, or side by side on several
//! (`--compare`, cheapest per million output tokens first).
//!
//! The engine is `xpufleet_perf::serving`; this file resolves flags, prices and profiles, and
//! prints. Flag and JSON field names are the contract of issue 22.

use std::path::PathBuf;

use anyhow::{anyhow, bail, Result};
use xpufleet_model::{Accelerator, Precision};
use xpufleet_perf::serving::{
    estimate_serving, kv_bytes_per_token, HourlyPrice, ServedModel, ServingDemand, ServingError,
    ServingEstimate, ServingParams, ServingProfile,
};

use crate::common::{print_json, table, Ctx};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Total parameters (e.g. 671e9).
    #[arg(long, value_name = "N")]
    params: f64,
    /// Parameters active per token, for mixture-of-experts models (default: --params).
    #[arg(long, value_name = "N")]
    active_params: Option<f64>,
    /// Accelerator id from the catalog (`xpufleet catalog`).
    #[arg(long, value_name = "ID", required_unless_present = "compare")]
    accel: Option<String>,
    /// Prompt (input) tokens served a day.
    #[arg(long, value_name = "X", allow_negative_numbers = true)]
    input_tokens_per_day: f64,
    /// Generated (output) tokens served a day.
    #[arg(long, value_name = "Y", allow_negative_numbers = true)]
    output_tokens_per_day: f64,
    /// Time-to-first-token target, ms.
    #[arg(long, value_name = "T", allow_negative_numbers = true)]
    ttft_ms: Option<f64>,
    /// Time-per-output-token target, ms (caps the decode batch).
    #[arg(long, value_name = "T", allow_negative_numbers = true)]
    tpot_ms: Option<f64>,
    /// Price per accelerator-hour, USD (default: the catalog price amortised over 4 years).
    #[arg(long, value_name = "USD")]
    price_per_hour: Option<f64>,
    /// Prefill and decode on separate pools (true, as DeepSeek and SGLang run) or one pool
    /// that time-shares both (false).
    #[arg(long, value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set)]
    disaggregated: bool,
    /// Estimate on each of these accelerator ids, cheapest per million output tokens first.
    #[arg(
        long,
        value_name = "ID,ID,...",
        value_delimiter = ',',
        conflicts_with = "accel"
    )]
    compare: Vec<String>,
    /// Weight precision: bf16, fp16, fp8 or int8 (default: a measured profile's, else bf16).
    #[arg(long, value_name = "P")]
    precision: Option<Precision>,
    /// KV cache bytes per token of context (default: from --n-layers, --kv-heads and
    /// --head-dim, else assumed from the parameter count and said so).
    #[arg(long, value_name = "BYTES", conflicts_with_all = ["n_layers", "kv_heads", "head_dim"])]
    kv_bytes_per_token: Option<f64>,
    /// Layers, for the KV cache size (with --kv-heads and --head-dim).
    #[arg(long, value_name = "L", requires_all = ["kv_heads", "head_dim"])]
    n_layers: Option<u32>,
    /// Key/value heads per layer (grouped-query attention), for the KV cache size.
    #[arg(long, value_name = "H", requires_all = ["n_layers", "head_dim"])]
    kv_heads: Option<u32>,
    /// Dimension of one head, for the KV cache size.
    #[arg(long, value_name = "D", requires_all = ["n_layers", "kv_heads"])]
    head_dim: Option<u32>,
    /// Mean prompt length in tokens (default 2000; the answer length follows the daily ratio).
    #[arg(long, value_name = "TOKENS")]
    mean_input_tokens: Option<f64>,
    /// Size for the peak rate: the average times this (default 1, the average).
    #[arg(long, value_name = "X", default_value_t = 1.0)]
    peak_to_average: f64,
    /// Measured profiles file to use instead of the built-in data/serving/profiles.toml.
    #[arg(long, value_name = "FILE")]
    profiles: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let catalog = ctx.catalog()?;
    let profiles: Vec<ServingProfile> = match &args.profiles {
        Some(path) => {
            xpufleet_io::serving::load_serving_profiles(path)
                .map_err(|d| anyhow!("{d}"))?
                .profiles
        }
        None => xpufleet_io::serving::builtin_serving_profiles().profiles,
    };
    let kv = match (
        args.kv_bytes_per_token,
        args.n_layers,
        args.kv_heads,
        args.head_dim,
    ) {
        (Some(k), ..) => Some(k),
        (None, Some(l), Some(h), Some(d)) => Some(kv_bytes_per_token(l, h, d, 2.0)),
        _ => None,
    };
    let model = ServedModel {
        params: args.params,
        active_params: args.active_params.unwrap_or(args.params),
        precision: args.precision,
        kv_bytes_per_token: kv,
    };
    let demand = ServingDemand {
        input_tokens_per_day: args.input_tokens_per_day,
        output_tokens_per_day: args.output_tokens_per_day,
        mean_input_tokens: args.mean_input_tokens,
        ttft_ms: args.ttft_ms,
        tpot_ms: args.tpot_ms,
        peak_to_average: args.peak_to_average,
    };
    if let Some(p) = args.price_per_hour {
        if !(p.is_finite() && p > 0.0) {
            bail!("--price-per-hour: expected USD per accelerator-hour, a number > 0; found {p}");
        }
    }
    let params = ServingParams::default();
    let ids: Vec<String> = match &args.accel {
        Some(id) => vec![id.clone()],
        None => args.compare.iter().map(|s| s.trim().to_string()).collect(),
    };
    let mut done: Vec<ServingEstimate> = Vec::new();
    let mut refused: Vec<String> = Vec::new();
    for id in &ids {
        let a = catalog.get(id).ok_or_else(|| {
            let ids: Vec<&str> = catalog.ids().collect();
            anyhow!(
                "--accel {id:?}: no such accelerator (catalog: {})",
                ids.join(", ")
            )
        })?;
        let price = price_for(a, args.price_per_hour, &params);
        match estimate_serving(
            &model,
            &demand,
            a,
            &profiles,
            args.disaggregated,
            price,
            &params,
        ) {
            Ok(e) => done.push(e),
            // Bad input is the same for every part: stop at once, naming the flag.
            Err(ServingError::Invalid { field, message }) => {
                bail!("--{}: {message}", field.replace('_', "-"))
            }
            Err(e) if ids.len() == 1 => bail!("{e}"),
            Err(e) => refused.push(e.to_string()),
        }
    }
    if done.is_empty() {
        bail!("no accelerator can serve this: {}", refused.join("; "));
    }
    // Cheapest per million output tokens first; parts with no price last, by id.
    done.sort_by(|a, b| {
        let key = |e: &ServingEstimate| e.usd_per_million_output_tokens.unwrap_or(f64::INFINITY);
        key(a)
            .total_cmp(&key(b))
            .then_with(|| a.accelerator.cmp(&b.accelerator))
    });
    for r in &refused {
        eprintln!("note: left out: {r}");
    }
    if args.json {
        if args.compare.is_empty() {
            print_json(&done[0])
        } else {
            print_json(&done)
        }
    } else if args.compare.is_empty() {
        print_one(&done[0], &demand);
        Ok(())
    } else {
        print_compare(&done);
        Ok(())
    }
}

/// The flag's price, else the catalog price amortised over the default life; `None` (unknown,
/// never zero) when the catalog has no price.
fn price_for(a: &Accelerator, flag: Option<f64>, p: &ServingParams) -> Option<HourlyPrice> {
    if let Some(v) = flag {
        return Some(HourlyPrice {
            usd_per_accel_hour: v,
            source: "--price-per-hour".into(),
        });
    }
    a.price_usd.get().map(|usd| HourlyPrice {
        usd_per_accel_hour: usd / (p.price_life_years * 8760.0),
        source: format!(
            "catalog price_usd {usd:.0} over {} years",
            p.price_life_years
        ),
    })
}

fn money(v: Option<f64>) -> String {
    v.map_or("unknown".into(), |v| format!("{v:.2}"))
}

fn print_one(e: &ServingEstimate, d: &ServingDemand) {
    let mut t = table();
    let mut row = |k: &str, v: String| {
        t.add_row(vec![k.to_string(), v]);
    };
    row(
        "accelerators",
        format!(
            "{} × {} in {}: {} prefill + {} decode{}",
            e.accelerators,
            e.accelerator,
            xpufleet_report::format::count(e.nodes as usize, "node", "nodes"),
            e.prefill_accels,
            e.decode_accels,
            if e.disaggregated {
                ""
            } else {
                " (one pool, time shared)"
            }
        ),
    );
    row(
        "tokens/s per accel",
        format!(
            "input {:.0}, output {:.0} ({})",
            e.tokens_per_s_per_accel.input, e.tokens_per_s_per_accel.output, e.precision
        ),
    );
    row("source", e.source.clone());
    let m = &e.memory;
    row(
        "memory",
        format!(
            "weights {:.1} GB, KV {:.3} GB per 1k tokens{}, {} accel(s) per instance, batch {}",
            m.weights_gb,
            m.kv_gb_per_1k_tokens,
            if m.kv_assumed { " (assumed)" } else { "" },
            m.instance_accels,
            m.max_batch
        ),
    );
    if let Some(tpot) = e.tpot_ms {
        row("time per output token", format!("{tpot:.1} ms"));
    }
    row(
        "demand",
        format!(
            "{:.3e} input and {:.3e} output tokens a day",
            d.input_tokens_per_day, d.output_tokens_per_day
        ),
    );
    row(
        "cost",
        match &e.price {
            Some(p) => format!(
                "USD {} a day, USD {} per million output tokens (at USD {:.2}/h: {})",
                money(e.cost_usd_per_day),
                money(e.usd_per_million_output_tokens),
                p.usd_per_accel_hour,
                p.source
            ),
            None => "unknown: the catalog has no price; give --price-per-hour".into(),
        },
    );
    let [lo, hi] = e.interval.accelerators;
    row(
        "interval",
        format!(
            "{lo}-{} accelerators: {}",
            if hi == u64::MAX {
                "?".to_string()
            } else {
                hi.to_string()
            },
            e.interval.basis
        ),
    );
    println!("{t}");
}

fn print_compare(all: &[ServingEstimate]) {
    let mut t = table();
    t.set_header(vec![
        "accelerator",
        "accels",
        "nodes",
        "prefill + decode",
        "tok/s in/out",
        "USD/day",
        "USD/M out",
        "source",
    ]);
    for e in all {
        t.add_row(vec![
            e.accelerator.clone(),
            e.accelerators.to_string(),
            e.nodes.to_string(),
            format!("{}+{}", e.prefill_accels, e.decode_accels),
            format!(
                "{:.0}/{:.0}",
                e.tokens_per_s_per_accel.input, e.tokens_per_s_per_accel.output
            ),
            e.cost_usd_per_day
                .map_or("unknown".into(), |v| format!("{v:.0}")),
            money(e.usd_per_million_output_tokens),
            e.source.clone(),
        ]);
    }
    println!("{t}");
}
