//! `xpufleet estimate`: time, MFU, failures, energy and cost of one training run, on one
//! accelerator type or side by side across several (`--compare`).
//!
//! Inputs come from flags, or from a scenario's pool (accelerator, count, scale-up domain,
//! site PUE and electricity, acquisition cost) and job (work, precision); flags win.

use std::path::PathBuf;

use anyhow::{anyhow, bail, Context, Result};
use xpufleet_model::{
    Accelerator, Acquisition, Catalog, Currency, Figure, FxRates, Money, Precision, Scenario,
    TrainingJob, Work,
};
use xpufleet_perf::{
    CostBasis, Estimate, EstimateInput, LayoutRequest, PerfError, PerfModel, Placement, SiteEnergy,
    Stack,
};

use crate::common::{print_json, table, Ctx};

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    /// `estimate serving`; without it, `estimate` is the training estimate.
    #[command(subcommand)]
    serving: Option<Sub>,
    /// Total parameters (e.g. 70e9).
    #[arg(long, value_name = "N")]
    params: Option<f64>,
    /// Parameters active per token, for mixture-of-experts models (default: --params).
    #[arg(long, value_name = "N")]
    active_params: Option<f64>,
    /// Training tokens (e.g. 2e12).
    #[arg(long, value_name = "N")]
    tokens: Option<f64>,
    /// Training FLOPs, instead of --params and --tokens.
    #[arg(long, value_name = "F", conflicts_with_all = ["params", "tokens", "active_params"])]
    flops: Option<f64>,
    /// Layers, for the attention term (with --seq-len and --d-model).
    #[arg(long, value_name = "L", requires_all = ["seq_len", "d_model"])]
    n_layers: Option<u32>,
    /// Context length in tokens, for the attention term.
    #[arg(long, value_name = "S", requires_all = ["n_layers", "d_model"])]
    seq_len: Option<u32>,
    /// Model width, for the attention term.
    #[arg(long, value_name = "D", requires_all = ["n_layers", "seq_len"])]
    d_model: Option<u32>,
    /// Vocabulary size: the parameters are taken to include an input embedding and an untied
    /// output head of vocab × d_model each; 6N then uses the rest, and the head's matmul is
    /// counted on its own (default: plain 6N).
    #[arg(long, value_name = "V", value_parser = clap::value_parser!(u32).range(1..))]
    vocab: Option<u32>,
    /// Accelerator id from the catalog (`xpufleet catalog`).
    #[arg(long, value_name = "ID")]
    accel: Option<String>,
    /// Accelerators in the job.
    #[arg(long, value_name = "N")]
    count: Option<u64>,
    /// bf16, fp16, fp8 or int8 (default: the job's, else bf16).
    #[arg(long, value_name = "P")]
    precision: Option<Precision>,
    /// Chips per scale-up (NVLink/HCCS) domain (default: the pool's, else 8).
    #[arg(long, value_name = "N")]
    scaleup_domain: Option<u32>,
    /// Scale-up domains the job spans (default: as few as fit).
    #[arg(long, value_name = "N")]
    domains: Option<u32>,
    /// Scenario file for --pool and --job (default: the built-in example).
    #[arg(long, value_name = "FILE")]
    scenario: Option<PathBuf>,
    /// Pool of the scenario to run on: gives accelerator, count, scale-up domain, site and cost.
    #[arg(long, value_name = "ID")]
    pool: Option<String>,
    /// Job of the scenario whose work (and precision) to estimate.
    #[arg(long, value_name = "ID")]
    job: Option<String>,
    /// Run the same job on each of these accelerator ids, side by side (e.g. h20,ascend-910b,h100-sxm).
    #[arg(long, value_name = "ID,ID,...", value_delimiter = ',')]
    compare: Vec<String>,
    /// Use this MFU instead of the model's (for parts with no published MFU).
    #[arg(long, value_name = "X")]
    mfu: Option<f64>,
    /// Software stack and parallel layout (boxed: keeps the command enum small).
    #[command(flatten)]
    training: Box<TrainingArgs>,
    /// Power usage effectiveness (default: the pool's site, else 1.3).
    #[arg(long, value_name = "X")]
    pue: Option<f64>,
    /// Electricity price per kWh in --currency (default: the pool's site, else USD 0.08).
    #[arg(long, value_name = "PRICE")]
    electricity: Option<f64>,
    /// Currency of --electricity, --lease-rate and --price (default USD).
    #[arg(long, value_name = "CUR")]
    currency: Option<String>,
    /// Exchange rate, USD per unit, for a currency not in the scenario (repeatable: CNY=0.139).
    #[arg(long, value_name = "CUR=USD")]
    fx: Vec<String>,
    /// Lease price per accelerator-hour, in --currency.
    #[arg(long, value_name = "PRICE", conflicts_with = "price")]
    lease_rate: Option<f64>,
    /// Purchase price per accelerator, in --currency, amortised over --life-years.
    #[arg(long, value_name = "PRICE")]
    price: Option<f64>,
    /// Amortisation life for --price or the catalog price, years.
    #[arg(long, value_name = "YEARS", default_value_t = 4.0)]
    life_years: f64,
    /// Interruptions per accelerator-hour (default: Llama 3's 1.97e-5).
    #[arg(long, value_name = "RATE")]
    failure_rate: Option<f64>,
    /// Seconds of training lost per checkpoint (default 60).
    #[arg(long, value_name = "S")]
    checkpoint_stall_s: Option<f64>,
    /// Seconds from an interruption to training again (default 600).
    #[arg(long, value_name = "S")]
    restart_s: Option<f64>,
    /// Set a catalog figure for this run only, e.g. power_w=1000 or ascend-910c:power_w=1000
    /// (repeatable; without `ID:` it applies to every accelerator of the run).
    #[arg(long, value_name = "[ID:]FIELD=VALUE")]
    figure: Vec<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// What else `estimate` answers besides a training run.
#[derive(Debug, clap::Subcommand)]
enum Sub {
    /// Accelerators, nodes, prefill/decode pools and cost to serve N input and M output
    /// tokens a day under latency targets (on one part, or several with --compare).
    Serving(Box<super::estimate_serving::Args>),
}

/// How the run is trained: software maturity and parallel layout.
#[derive(Debug, clap::Args)]
struct TrainingArgs {
    /// Training-software maturity, calibrated on published runs: best (MegaScale, Llama 3,
    /// DeepSeek), typical (a current open stack), legacy (2021-22 stacks; one fitted ratio with
    /// typical); without it the stack is unknown: the corpus's middle, with an interval spanning
    /// the stack spread.
    #[arg(long, value_name = "LEVEL", default_value = "unknown")]
    stack: Stack,
    /// Tensor-parallel degree (default: chosen so the model fits).
    #[arg(long, value_name = "N")]
    tp: Option<u32>,
    /// Pipeline-parallel degree (default: chosen so the model fits).
    #[arg(long, value_name = "N")]
    pp: Option<u32>,
    /// ZeRO stage 0-3 (default 1, the distributed optimizer).
    #[arg(long, value_name = "STAGE")]
    zero: Option<u8>,
    /// Activation recompute: full or selective (default: selective when it fits, else full).
    #[arg(long, value_name = "KIND", value_parser = ["full", "selective"])]
    recompute: Option<String>,
    /// Scale-out (NIC) bandwidth per accelerator, Gb/s (default: the family's, 400 for Hopper).
    #[arg(long, value_name = "GBPS")]
    nic_gbps: Option<f64>,
    /// Micro-batches per pipeline per step; the pipeline bubble is (pp-1)/(m+pp-1) (default:
    /// from the global batch).
    #[arg(long, value_name = "M", value_parser = clap::value_parser!(u32).range(1..))]
    micro_batches: Option<u32>,
    /// Sequences per accelerator per micro-batch (default 1).
    #[arg(long, value_name = "B", value_parser = clap::value_parser!(u32).range(1..))]
    micro_batch_size: Option<u32>,
    /// Global batch, tokens per step (default: at least 4M and 4 micro-batches per stage).
    #[arg(long, value_name = "TOKENS", value_parser = clap::value_parser!(u64).range(1..))]
    global_batch_tokens: Option<u64>,
    /// Expert-parallel degree of a mixture-of-experts model: charges the expert all-to-all over
    /// the scale-up and scale-out links (default: not charged; the fitted MoE factor).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    ep: Option<u32>,
    /// Routed experts per token, with --ep (default 8).
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u32).range(1..))]
    top_k: Option<u32>,
}

/// An estimate as printed: the model's answer plus where the price came from.
#[derive(Debug, serde::Serialize)]
struct Out {
    #[serde(flatten)]
    estimate: Estimate,
    /// "pool <id>", "--lease-rate", "--price", "catalog price_usd", or null when unknown.
    cost_source: Option<String>,
}

/// What a scenario pool contributes.
struct PoolRun {
    accel: String,
    cost: CostBasis,
    accelerators: u64,
    scaleup_domain: u32,
}

/// Site, money and placement resolved from flags and the scenario.
struct Resolved {
    catalog: Catalog,
    fx: FxRates,
    work: Work,
    precision: Precision,
    site: SiteEnergy,
    /// The pool's accelerator and its cost basis, when a pool was given.
    pool: Option<PoolRun>,
    job_max: Option<u64>,
    /// "FILE: pool ID" or "FILE: job ID", to locate errors that come from the scenario's data.
    origin: Option<String>,
}

pub fn run(ctx: &Ctx, mut args: Args) -> Result<()> {
    if let Some(Sub::Serving(a)) = args.serving.take() {
        return super::estimate_serving::run(ctx, *a);
    }
    let r = resolve(ctx, &args)?;
    let t = &args.training;
    let mut model = PerfModel::default()
        .with_stack(t.stack)
        .with_layout(LayoutRequest {
            tp: t.tp,
            pp: t.pp,
            zero: t.zero,
            full_recompute: t.recompute.as_deref().map(|r| r == "full"),
            micro_batches: t.micro_batches,
            micro_batch_size: t.micro_batch_size,
            global_batch_tokens: t.global_batch_tokens,
            ep: t.ep,
            top_k: t.top_k,
            fitted_links: false,
        });
    model.vocab = args.vocab;
    if let Some(v) = t.nic_gbps {
        if !(v.is_finite() && v > 0.0) {
            bail!("--nic-gbps must be a number > 0; found {v}");
        }
        for f in &mut model.families {
            f.nic_gbps = v;
        }
    }
    if let Some(v) = args.failure_rate {
        model.reliability.failure_rate_per_chip_hour = v;
    }
    if let Some(v) = args.checkpoint_stall_s {
        model.reliability.checkpoint_stall_s = v;
    }
    if let Some(v) = args.restart_s {
        model.reliability.restart_s = v;
    }

    let ids: Vec<String> = if args.compare.is_empty() {
        let id = args
            .accel
            .clone()
            .or_else(|| r.pool.as_ref().map(|p| p.accel.clone()))
            .ok_or_else(|| {
                anyhow!("say which accelerator: --accel ID, --pool ID or --compare ID,ID")
            })?;
        vec![id]
    } else {
        args.compare.iter().map(|s| s.trim().to_string()).collect()
    };

    let mut estimates = Vec::with_capacity(ids.len());
    for id in &ids {
        estimates.push(estimate_one(&model, &r, &args, id)?);
    }

    if args.json {
        if args.compare.is_empty() {
            print_json(&estimates[0])
        } else {
            print_json(&estimates)
        }
    } else if args.compare.is_empty() {
        print_one(&estimates[0]);
        Ok(())
    } else {
        print_compare(&estimates);
        Ok(())
    }
}

fn resolve(ctx: &Ctx, args: &Args) -> Result<Resolved> {
    let uses_scenario = args.scenario.is_some() || args.pool.is_some() || args.job.is_some();
    let loaded = if uses_scenario {
        Some(ctx.scenario_unchecked(args.scenario.as_deref())?)
    } else {
        None
    };
    let (mut catalog, mut fx) = match &loaded {
        Some(l) => (l.catalog.clone(), l.scenario.fx.clone()),
        None => (ctx.catalog()?, FxRates::default()),
    };
    for f in &args.figure {
        set_figure(&mut catalog, f)?;
    }
    for kv in &args.fx {
        let (cur, rate) = kv
            .split_once('=')
            .ok_or_else(|| anyhow!("--fx {kv:?}: expected CUR=USD_PER_UNIT, e.g. CNY=0.139"))?;
        let rate: f64 = rate
            .trim()
            .parse()
            .ok()
            .filter(|r: &f64| r.is_finite() && *r > 0.0)
            .ok_or_else(|| anyhow!("--fx {kv:?}: the rate must be a number > 0"))?;
        fx.usd_per_unit
            .insert(Currency(cur.trim().to_ascii_uppercase()), rate);
    }
    let scenario = loaded.as_ref().map(|l| (&l.scenario, l.origin.as_str()));

    let currency = args
        .currency
        .as_deref()
        .map(|c| Currency(c.trim().to_ascii_uppercase()));
    if let Some(c) = &currency {
        if !c.is_well_formed() {
            bail!("--currency {c}: expected a three-letter ISO 4217 code such as USD or CNY");
        }
    }

    let mut site = SiteEnergy {
        pue: PerfModel::default().energy.default_pue,
        electricity_per_kwh: Money::new(
            PerfModel::default().energy.default_electricity_usd_per_kwh,
            "USD",
        ),
    };
    let mut pool_info = None;
    if let (Some(pid), Some((s, origin))) = (&args.pool, scenario) {
        let pool = s.pool(pid).ok_or_else(|| {
            let ids: Vec<&str> = s.pools.iter().map(|p| p.id.as_str()).collect();
            anyhow!("{origin}: no pool {pid:?} (pools: {})", ids.join(", "))
        })?;
        let st = s.site(&pool.site).ok_or_else(|| {
            anyhow!(
                "{origin}: pool {pid:?} names site {:?}, which the scenario lacks",
                pool.site
            )
        })?;
        site = SiteEnergy {
            pue: st.pue,
            electricity_per_kwh: st.electricity_per_kwh.clone(),
        };
        let basis = match &pool.acquisition {
            Acquisition::Bought {
                price, life_years, ..
            } => CostBasis::Capex {
                price_per_accel: price.clone(),
                life_years: *life_years,
            },
            Acquisition::Leased { rate, .. } => CostBasis::Lease {
                rate_per_accel_hour: rate.clone(),
            },
        };
        pool_info = Some(PoolRun {
            accel: pool.accelerator.clone(),
            cost: basis,
            accelerators: pool.accelerators(),
            scaleup_domain: pool.scaleup_domain,
        });
    }
    let job = match (&args.job, scenario) {
        (Some(id), Some((s, origin))) => Some(find_job(s, origin, id)?),
        _ => None,
    };
    let work = work_from(args, job)?;
    let precision = args
        .precision
        .or(job.map(|j| j.precision))
        .unwrap_or_default();
    if let Some(p) = args.pue {
        site.pue = p;
    }
    if let Some(e) = args.electricity {
        site.electricity_per_kwh = Money::new(e, currency.clone().unwrap_or_else(Currency::usd));
    } else if let Some(c) = &currency {
        // A currency with no electricity price: convert the site's price so that the run's
        // local currency is the one asked for.
        site.electricity_per_kwh = fx
            .convert(&site.electricity_per_kwh, c)
            .with_context(|| format!("--currency {c}: add --fx {c}=<USD per unit>"))?;
    }
    Ok(Resolved {
        catalog,
        fx,
        work,
        precision,
        site,
        pool: pool_info,
        job_max: job.map(|j| j.max_accels as u64),
        origin: scenario.map(|(_, origin)| {
            let mut o = origin.to_string();
            if let Some(p) = &args.pool {
                o.push_str(&format!(": pool {p:?}"));
            }
            if let Some(j) = &args.job {
                o.push_str(&format!(": job {j:?}"));
            }
            o
        }),
    })
}

/// Applies `--figure [ID:]FIELD=VALUE` to the catalog.
fn set_figure(catalog: &mut Catalog, spec: &str) -> Result<()> {
    let bad = || anyhow!("--figure {spec:?}: expected [ID:]FIELD=VALUE, e.g. power_w=1000");
    let (lhs, given) = spec.split_once('=').ok_or_else(bad)?;
    let value: f64 = given
        .trim()
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite() && *v >= 0.0)
        .ok_or_else(|| anyhow!("--figure {spec:?}: the value must be a number ≥ 0"))?;
    let (id, field) = match lhs.split_once(':') {
        Some((id, field)) => (Some(id.trim()), field.trim()),
        None => (None, lhs.trim()),
    };
    if !Accelerator::FIGURE_FIELDS.contains(&field) {
        bail!(
            "--figure {spec:?}: no figure {field:?}; figures are {}",
            Accelerator::FIGURE_FIELDS.join(", ")
        );
    }
    // The same physical range as a catalog file's figure: 1e308 TFLOPS would print as NaN.
    if let Some(range) = xpufleet_io::validate::figure_range(field) {
        if !range.contains(value) {
            bail!(
                "--figure {spec:?}: {field} is {}: expected {}",
                given.trim(),
                range.describe()
            );
        }
    }
    if let Some(id) = id {
        if catalog.get(id).is_none() {
            bail!("--figure {spec:?}: no accelerator {id:?} in the catalog");
        }
    }
    for a in catalog
        .accelerators
        .iter_mut()
        .filter(|a| id.is_none_or(|id| a.id == id))
    {
        let slot = match field {
            "tflops_bf16" => &mut a.tflops_bf16,
            "tflops_fp16" => &mut a.tflops_fp16,
            "fp8_tflops" => &mut a.fp8_tflops,
            "int8_tops" => &mut a.int8_tops,
            "memory_gb" => &mut a.memory_gb,
            "memory_tbps" => &mut a.memory_tbps,
            "interconnect_gbps" => &mut a.interconnect_gbps,
            "power_w" => &mut a.power_w,
            "die_mm2" => &mut a.die_mm2,
            "price_usd" => &mut a.price_usd,
            _ => unreachable!("checked against FIGURE_FIELDS above"),
        };
        *slot = Figure::given(value);
    }
    Ok(())
}

fn find_job<'a>(s: &'a Scenario, origin: &str, id: &str) -> Result<&'a TrainingJob> {
    s.jobs.iter().find(|j| j.id == id).ok_or_else(|| {
        let ids: Vec<&str> = s.jobs.iter().map(|j| j.id.as_str()).collect();
        anyhow!("{origin}: no job {id:?} (jobs: {})", ids.join(", "))
    })
}

fn work_from(args: &Args, job: Option<&TrainingJob>) -> Result<Work> {
    let attention = match (args.n_layers, args.seq_len, args.d_model) {
        (Some(l), Some(s), Some(d)) => Some((l, s, d)),
        _ => None,
    };
    if let Some(f) = args.flops {
        return Ok(Work::Flops(f));
    }
    match (args.params, args.tokens) {
        (Some(params), Some(tokens)) => Ok(Work::Model {
            params,
            active_params: args.active_params.unwrap_or(params),
            tokens,
            attention,
        }),
        (Some(_), None) => bail!("--params needs --tokens"),
        (None, Some(_)) => bail!("--tokens needs --params"),
        (None, None) => match job {
            Some(j) => {
                let mut w = j.work().map_err(|e| anyhow!("{e}"))?;
                if let (Work::Model { attention: a, .. }, Some(given)) = (&mut w, attention) {
                    *a = Some(given);
                }
                Ok(w)
            }
            None => bail!(
                "say what to train: --params N --tokens N, --flops F, or --job ID (from --scenario)"
            ),
        },
    }
}

fn estimate_one(model: &PerfModel, r: &Resolved, args: &Args, id: &str) -> Result<Out> {
    let accel = r.catalog.get(id).ok_or_else(|| {
        let ids: Vec<&str> = r.catalog.ids().collect();
        anyhow!(
            "no accelerator {id:?} in the catalog (known: {})",
            ids.join(", ")
        )
    })?;
    let on_pool = r.pool.as_ref().filter(|p| p.accel == id);
    let count = match (args.count, r.pool.as_ref(), r.job_max) {
        (Some(n), _, _) => n,
        // A job never uses more than its max_accels, even on a bigger pool.
        (None, Some(p), Some(max)) => p.accelerators.min(max),
        (None, Some(p), None) => p.accelerators,
        (None, None, Some(max)) => max,
        (None, None, None) => bail!("say how many accelerators: --count N (or --pool ID)"),
    };
    if count == 0 {
        bail!("--count must be at least 1");
    }
    let domain = args
        .scaleup_domain
        .or(r.pool.as_ref().map(|p| p.scaleup_domain))
        .unwrap_or(8);
    if domain == 0 {
        bail!("--scaleup-domain must be at least 1");
    }
    let placement = match args.domains {
        Some(d) => Placement {
            scaleup_domain: domain,
            domains: d,
        },
        None => Placement::compact(count, domain),
    };
    let currency = args
        .currency
        .as_deref()
        .map(|c| Currency(c.trim().to_ascii_uppercase()))
        .unwrap_or_else(Currency::usd);
    let (cost, cost_source) = if let Some(rate) = args.lease_rate {
        let b = CostBasis::Lease {
            rate_per_accel_hour: Money::new(rate, currency),
        };
        (Some(b), Some("--lease-rate".to_string()))
    } else if let Some(price) = args.price {
        let b = CostBasis::Capex {
            price_per_accel: Money::new(price, currency),
            life_years: args.life_years,
        };
        (Some(b), Some("--price".to_string()))
    } else if let Some(basis) = on_pool.map(|p| p.cost.clone()) {
        let pool = args.pool.as_deref().unwrap_or_default();
        (Some(basis), Some(format!("pool {pool}")))
    } else {
        // The catalog's reported unit price, amortised; none known means no cost, said so.
        match accel.price_usd.get() {
            Some(p) => (
                Some(CostBasis::Capex {
                    price_per_accel: Money::new(p, "USD"),
                    life_years: args.life_years,
                }),
                Some(format!("catalog price_usd {p}, {} years", args.life_years)),
            ),
            None => (None, None),
        }
    };
    let estimate = model
        .estimate(&EstimateInput {
            work: r.work.clone(),
            precision: r.precision,
            accel,
            count,
            placement,
            site: r.site.clone(),
            cost,
            fx: &r.fx,
            mfu_override: args.mfu,
        })
        .map_err(|e| {
            let at = r
                .origin
                .as_deref()
                .map(|o| format!("{o}: "))
                .unwrap_or_default();
            match &e {
                PerfError::MissingFigure { field, .. } => {
                    anyhow!("{at}{e}; or, for this run only, --figure {id}:{field}=<value>")
                }
                PerfError::Invalid(_) => anyhow!("{at}{e}"),
            }
        })?;
    Ok(Out {
        estimate,
        cost_source,
    })
}

fn hours(h: f64) -> String {
    if h >= 48.0 {
        format!("{:.1} days", h / 24.0)
    } else {
        format!("{h:.1} h")
    }
}

fn money(v: Option<f64>, cur: &str) -> String {
    match v {
        Some(v) => Money::new(v, cur).to_string(),
        None => "? (no price: --lease-rate or --price)".into(),
    }
}

/// The tensor-parallel and expert all-to-all terms, shown only when charged (`--tp`, `--ep`).
fn layer_terms(p: &xpufleet_perf::ParallelPlan) -> String {
    let mut s = String::new();
    if p.scaleup != 1.0 {
        s.push_str(&format!(", TP links {:.3}", p.scaleup));
    }
    if p.top_k > 0 {
        s.push_str(&format!(
            ", all-to-all {:.3} (ep {}, top-k {})",
            p.expert, p.ep, p.top_k
        ));
    }
    s
}

fn print_one(out: &Out) {
    let e = &out.estimate;
    let mut t = table();
    let mut row = |k: &str, v: String| {
        t.add_row(vec![k.to_string(), v]);
    };
    row(
        "run",
        format!(
            "{} × {} at {}, {} of {}",
            e.count,
            e.accel,
            e.precision,
            xpufleet_report::format::count(e.domains as usize, "domain", "domains"),
            e.scaleup_domain
        ),
    );
    let split = if e.flops_embedding > 0.0 {
        format!(
            " (6ND non-embedding {:.3e} + attention {:.3e} + output head {:.3e})",
            e.flops_dense, e.flops_attention, e.flops_embedding
        )
    } else if e.flops_attention > 0.0 {
        format!(
            " (6ND {:.3e} + attention {:.3e})",
            e.flops_dense, e.flops_attention
        )
    } else {
        String::new()
    };
    row(
        "work",
        format!(
            "{:.3e} FLOPs{split}{}",
            e.flops,
            if e.moe { ", MoE" } else { "" }
        ),
    );
    row(
        "MFU",
        match &e.mfu_factors {
            Some(f) => format!(
                "{:.1}% (base {:.3} × {} stack {:.3} × balance {:.3} × scale {:.3} × width {:.3} × layout {:.3} × MoE {:.2})",
                e.mfu * 100.0,
                f.base,
                f.stack_level,
                f.stack,
                f.node,
                f.scale,
                f.size,
                f.parallel,
                f.moe
            ),
            None => format!("{:.1}% (given)", e.mfu * 100.0),
        },
    );
    let i = &e.interval;
    row(
        &format!("{:.0}% interval", i.level * 100.0),
        if e.mfu_factors.is_some() {
            format!(
                "MFU {:.1}–{:.1}%; wall {} – {}; {:.3e}–{:.3e} accelerator-hours (errors on held-out sources, stack {})",
                i.mfu[0] * 100.0,
                i.mfu[1] * 100.0,
                hours(i.wall_hours[0]),
                hours(i.wall_hours[1]),
                i.chip_hours[0],
                i.chip_hours[1],
                if e.stack.is_known() { "known" } else { "unknown" }
            )
        } else {
            "none: MFU given with --mfu".into()
        },
    );
    if let Some(p) = &e.layout {
        let l = &p.layout;
        row(
            "layout",
            format!(
                "tp {} × pp {} × dp {}, ZeRO-{}{}; {} micro-batches of {} ({:.3e} tokens), {}, \
                 NIC {:.3}{}",
                l.tp,
                l.pp,
                l.dp,
                l.zero,
                if l.full_recompute {
                    ", full recompute"
                } else {
                    ", selective recompute"
                },
                p.micro_batches,
                p.micro_batch_size,
                p.batch_tokens,
                // One stage has no pipeline and so no bubble; `1.000` would read as a full one.
                if l.pp == 1 {
                    "no pipeline".to_string()
                } else {
                    format!("pipeline busy {:.3}", p.bubble)
                },
                p.nic,
                layer_terms(p)
            ),
        );
        let m = &p.memory;
        row(
            "memory per chip",
            format!(
                "{:.1} GB of {} (weights {:.1}, gradients {:.1}, optimizer {:.1}, activations {:.1}){}",
                m.total_gb,
                m.usable_gb
                    .map(|u| format!("{u:.1} usable"))
                    .unwrap_or_else(|| "? (memory_gb unknown)".into()),
                m.weights_gb,
                m.gradients_gb,
                m.optimizer_gb,
                m.activations_gb,
                e.min_chips
                    .map(|k| format!("; fits on {k} chips or more"))
                    .unwrap_or_default()
            ),
        );
    }
    row(
        "throughput",
        format!(
            "{:.0} of {:.0} TFLOP/s per chip; {:.1} PFLOP/s in all",
            e.tflops_effective,
            e.peak_tflops_per_chip,
            e.rate_flops_per_s / 1e15
        ),
    );
    row("failure-free time", hours(e.ideal_hours));
    row(
        "failures",
        match (e.mtbf_hours, e.checkpoint_interval_minutes) {
            (Some(m), Some(c)) => format!(
                "job MTBF {m:.1} h; checkpoint every {c:.0} min (stall {:.0} s, restart {:.0} s); ~{:.0} interruptions",
                e.checkpoint_stall_s, e.restart_s, e.expected_interruptions
            ),
            _ => "none modelled".into(),
        },
    );
    row("ETTR", format!("{:.3}", e.ettr));
    row("wall time", hours(e.wall_hours));
    row("accelerator-hours", format!("{:.3e}", e.chip_hours));
    row(
        "energy",
        format!(
            "{:.0} MWh ({:.2} MW at PUE {:.2})",
            e.energy_mwh, e.facility_mw, e.pue
        ),
    );
    match &e.cost {
        Some(c) => {
            row(
                "cost",
                format!(
                    "{} ({} {} from {} + electricity {})",
                    Money::new(c.total_local, c.currency.as_str()),
                    c.basis,
                    Money::new(c.compute_local, c.currency.as_str()),
                    out.cost_source.as_deref().unwrap_or("?"),
                    Money::new(c.electricity_local, c.currency.as_str())
                ),
            );
            if c.currency.as_str() != "USD" {
                row("cost (USD)", money(Some(c.total_usd), "USD"));
            }
        }
        None => row("cost", money(None, "USD")),
    }
    println!("{}", crate::common::fit(&mut t));
}

fn print_compare(outs: &[Out]) {
    let es: Vec<&Estimate> = outs.iter().map(|o| &o.estimate).collect();
    let mut t = table();
    let mut header = vec!["".to_string()];
    header.extend(es.iter().map(|e| e.accel.clone()));
    t.set_header(header);
    let mut row = |k: &str, f: &dyn Fn(&Estimate) -> String| {
        let mut r = vec![k.to_string()];
        r.extend(es.iter().map(|e| f(e)));
        t.add_row(r);
    };
    row("chips", &|e| e.count.to_string());
    row("peak TFLOP/s", &|e| {
        format!("{:.0}", e.peak_tflops_per_chip)
    });
    row("MFU", &|e| format!("{:.1}%", e.mfu * 100.0));
    row("effective TFLOP/s", &|e| {
        format!("{:.0}", e.tflops_effective)
    });
    row("job MTBF", &|e| {
        e.mtbf_hours
            .map(|m| format!("{m:.1} h"))
            .unwrap_or_else(|| "-".into())
    });
    row("ETTR", &|e| format!("{:.3}", e.ettr));
    row("wall time", &|e| hours(e.wall_hours));
    row("80% interval (wall)", &|e| {
        format!(
            "{} – {}",
            hours(e.interval.wall_hours[0]),
            hours(e.interval.wall_hours[1])
        )
    });
    row("accelerator-hours", &|e| format!("{:.3e}", e.chip_hours));
    row("fewest chips", &|e| {
        e.min_chips
            .map(|k| k.to_string())
            .unwrap_or_else(|| "-".into())
    });
    row("energy MWh", &|e| format!("{:.0}", e.energy_mwh));
    row("cost (USD)", &|e| match e.cost_usd {
        Some(v) => Money::new(v, "USD").to_string(),
        None => "?".into(),
    });
    row("speed vs first", &|e| {
        format!("{:.2}×", e.rate_flops_per_s / es[0].rate_flops_per_s)
    });
    println!("{}", crate::common::fit(&mut t));
    if es.iter().any(|e| e.cost.is_none()) {
        crate::common::say!(
            "? = no price known; give --lease-rate or --price, or a price_usd in a --catalog file"
        );
    }
}
