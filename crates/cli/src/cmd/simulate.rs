//! `xpufleet simulate`: run a scheduling policy over a trace (on a cluster given by type counts)
//! or over a scenario's pools and jobs, and report JCT, queueing, utilisation and more.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{anyhow, bail, Result};
use serde::Serialize;
use xpufleet_io::trace::{read_throughputs, read_trace, ReadOptions, TraceFormat};
use xpufleet_model::{Catalog, ClusterSpec, ThroughputTable};
use xpufleet_perf::PerfModel;
use xpufleet_sched::{FleetState, Job, Policy};
use xpufleet_sim::scenario::{self, TypeInfo};
use xpufleet_sim::{
    build_jobs, check, simulate_with_limits, tenants, to_jsonl, Config, Failures, FleetSpec,
    Limits, Metrics, RateModel, RelativeSpeed, TableRates,
};

use crate::common::{print_json, table, Ctx};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A trace as FORMAT:PATH (formats: gavel, gavel10, philly, alibaba, jobs, tiresias).
    #[arg(long, value_name = "FORMAT:PATH", conflicts_with = "scenario")]
    trace: Option<String>,
    /// Gavel throughput JSON: job kind × type × gang size → steps/s (Gavel traces need it).
    #[arg(long, value_name = "PATH")]
    throughputs: Option<PathBuf>,
    /// The cluster for a trace: TYPE=N[xPER_NODE],... (e.g. v100=36,p100=36,k80=36 or
    /// h100-sxm=2000x8). Nodes default to 8 accelerators (1 with --throughputs, as Gavel).
    #[arg(long, value_name = "TYPE=N,...")]
    cluster: Option<String>,
    /// Alibaba: the node list the cluster is read from (instead of --cluster).
    #[arg(long, value_name = "PATH")]
    nodes: Option<PathBuf>,
    /// Duration traces: the accelerator type durations were measured on (default: the first
    /// type of --cluster).
    #[arg(long, value_name = "TYPE")]
    ref_type: Option<String>,
    /// Repair unusable trace lines by the format's documented remapping instead of skipping.
    #[arg(long)]
    remap: bool,
    /// A scenario file: its pools and [[job]]s are simulated, with compliance verdicts.
    #[arg(long, value_name = "FILE")]
    scenario: Option<PathBuf>,
    /// fifo, easy-backfill, las, las-het, fifo-het, finish-time or cost.
    #[arg(long, default_value = "fifo")]
    policy: String,
    /// Seed of the random failures (and of nothing else): the same seed gives the same run.
    #[arg(long, default_value_t = 0, value_name = "N")]
    seed: u64,
    /// Schedule in rounds of this many seconds (Gavel: 360); las and las-het always use rounds.
    #[arg(long, value_name = "S")]
    round_s: Option<u64>,
    /// Seconds a preempted or failed job needs to restart from its checkpoint.
    #[arg(long, default_value_t = 0, value_name = "S")]
    restart_delay_s: u64,
    /// Inject accelerator failures at the performance model's rate (or --failure-rate).
    #[arg(long)]
    failures: bool,
    /// Failures per accelerator-hour (implies --failures).
    #[arg(long, value_name = "PER_CHIP_HOUR")]
    failure_rate: Option<f64>,
    /// Seconds to repair a failed accelerator.
    #[arg(long, default_value_t = 4 * 3600, value_name = "S")]
    repair_s: u64,
    /// Seconds of progress between checkpoints.
    #[arg(long, default_value_t = 1800, value_name = "S")]
    checkpoint_s: u64,
    /// Print the results as JSON.
    #[arg(long)]
    json: bool,
    /// Write the event log (JSONL) here; it is replayed by the independent checker first.
    #[arg(long, value_name = "FILE")]
    events: Option<PathBuf>,
    /// Stop with an error after this many simulated events (a budget for work: no input makes
    /// a run endless). Runs also stop 100 simulated years after the first submission.
    #[arg(long, default_value_t = Limits::default().max_events, value_name = "N")]
    max_events: u64,
}

#[derive(Serialize)]
struct Report<'a> {
    policy: &'a str,
    seed: u64,
    round_s: Option<u64>,
    accelerators: u64,
    #[serde(flatten)]
    metrics: &'a Metrics,
    wall_s: f64,
    /// Trace lines not used, by reason.
    skipped: BTreeMap<String, u64>,
    remapped: BTreeMap<String, u64>,
    /// Jobs left waiting at the end, by reason.
    unfinished_reasons: BTreeMap<String, u64>,
    /// The first few unfinished jobs with their full reason.
    unfinished_examples: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    events_checked: Option<check::Replayed>,
}

struct Prepared {
    fleet: FleetState,
    jobs: Vec<Job>,
    labels: Vec<String>,
    skipped: BTreeMap<String, u64>,
    remapped: BTreeMap<String, u64>,
    /// A scenario's capacity and type per fleet type index: its types are accelerators in
    /// countries, reported summed into one utilisation per accelerator.
    by_accelerator: Option<(Vec<u64>, Vec<TypeInfo>)>,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let policy: Policy = args
        .policy
        .parse()
        .map_err(|e: String| anyhow!("--policy: {e}"))?;
    let catalog = ctx.catalog()?;
    let perf = PerfModel::default();
    let prep = match (&args.trace, &args.scenario) {
        (Some(t), None) => from_trace(&args, t, &catalog, &perf)?,
        (None, Some(_)) => from_scenario(ctx, &args, &perf)?,
        _ => bail!("give either --trace FORMAT:PATH with --cluster, or --scenario FILE"),
    };
    let failures = if args.failures || args.failure_rate.is_some() {
        let rate = args
            .failure_rate
            .unwrap_or(perf.reliability.failure_rate_per_chip_hour);
        // One failure per accelerator-hour is ~50,000 times Llama 3's observed rate: anything
        // above it is a typo, and makes a run that only fails and repairs.
        if !(rate.is_finite() && (0.0..=MAX_FAILURE_RATE).contains(&rate)) {
            bail!("--failure-rate: expected a rate from 0 to {MAX_FAILURE_RATE} per accelerator-hour (the model's default is {}), found {rate}", perf.reliability.failure_rate_per_chip_hour);
        }
        Some(Failures {
            rate_per_chip_hour: rate,
            repair_s: args.repair_s,
            checkpoint_interval_s: args.checkpoint_s.max(1),
        })
    } else {
        None
    };
    let cfg = Config {
        policy,
        seed: args.seed,
        round_s: args.round_s,
        restart_delay_s: args.restart_delay_s,
        failures,
        log: args.events.is_some(),
    };
    let accelerators = prep.fleet.total_accels();
    let bar = if std::io::stderr().is_terminal() {
        let b = indicatif::ProgressBar::new(prep.jobs.len() as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} jobs done {elapsed}")
                .expect("a valid template"),
        );
        Some(b)
    } else {
        None
    };
    let wall = Instant::now();
    let limits = Limits {
        max_events: args.max_events,
        ..Limits::default()
    };
    let out = simulate_with_limits(
        prep.fleet.clone(),
        prep.jobs,
        &cfg,
        limits,
        &mut |done, _| {
            if let Some(b) = &bar {
                b.set_position(done);
            }
        },
    );
    let wall_s = wall.elapsed().as_secs_f64();
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    if let Some(stop) = out.stopped {
        bail!(
            "the simulation {stop} ({} of {} jobs completed, {} unfinished); a job or a setting is out of proportion (check the trace's durations and submit times, --failure-rate, --round-s), or raise --max-events",
            out.metrics.completed,
            out.metrics.jobs,
            out.metrics.unfinished
        );
    }
    let mut events_checked = None;
    if let Some(path) = &args.events {
        let text = to_jsonl(&out.log);
        let replayed = check::replay(&text)
            .map_err(|v| anyhow!("the event log failed its independent check: {v}"))?;
        crate::common::write_atomic(path, &text)?;
        events_checked = Some(replayed);
    }
    let mut unfinished_reasons = BTreeMap::new();
    for (_, r) in &out.unfinished {
        *unfinished_reasons.entry(r.name().to_string()).or_insert(0) += 1;
    }
    let unfinished_examples = out
        .unfinished
        .iter()
        .take(5)
        .map(|(id, r)| format!("{}: {r}", prep.labels[*id as usize]))
        .collect();
    let mut metrics = out.metrics;
    if let Some((capacity, types)) = &prep.by_accelerator {
        metrics.utilization =
            scenario::utilisation_by_accelerator(types, capacity, &metrics.utilization);
    }
    let report = Report {
        policy: policy.name(),
        seed: args.seed,
        round_s: cfg.effective_round_s(),
        accelerators,
        metrics: &metrics,
        wall_s,
        skipped: prep.skipped,
        remapped: prep.remapped,
        unfinished_reasons,
        unfinished_examples,
        events_checked,
    };
    if args.json {
        return print_json(&report);
    }
    print_human(&report);
    Ok(())
}

fn print_human(r: &Report) {
    let m = r.metrics;
    let mut t = table();
    t.set_header(vec!["metric", "value"]);
    let rows: Vec<(&str, String)> = vec![
        ("policy", r.policy.to_string()),
        ("accelerators", r.accelerators.to_string()),
        ("jobs", m.jobs.to_string()),
        ("completed", m.completed.to_string()),
        ("unfinished", m.unfinished.to_string()),
        ("JCT mean", hours(m.jct_mean_s)),
        ("JCT p50", hours(m.jct_p50_s as f64)),
        ("JCT p99", hours(m.jct_p99_s as f64)),
        ("queue wait mean", hours(m.queue_mean_s)),
        ("makespan", hours(m.makespan_s as f64)),
        ("preemptions", m.preemptions.to_string()),
        ("failures", m.failures.to_string()),
        ("wall time", format!("{:.3} s", r.wall_s)),
    ];
    for (k, v) in rows {
        t.add_row(vec![k.to_string(), v]);
    }
    for (ty, u) in &m.utilization {
        t.add_row(vec![
            format!("utilization {ty}"),
            format!("{:.1}%", u * 100.0),
        ]);
    }
    println!("{t}");
    for (what, map) in [
        ("rejected", &m.rejected),
        ("skipped lines", &r.skipped),
        ("remapped lines", &r.remapped),
        ("unfinished", &r.unfinished_reasons),
    ] {
        for (reason, n) in map {
            println!("{what}: {reason}: {n}");
        }
    }
    for e in &r.unfinished_examples {
        println!("  e.g. {e}");
    }
    if let Some(c) = &r.events_checked {
        println!(
            "event log checked: {} starts, {} finishes, {} preemptions, {} failures; no violation",
            c.starts, c.finishes, c.preemptions, c.failures
        );
    }
}

fn hours(s: f64) -> String {
    format!("{s:.0} s ({:.2} h)", s / 3600.0)
}

/// The highest `--failure-rate` accepted, per accelerator-hour.
const MAX_FAILURE_RATE: f64 = 1.0;

/// `TYPE=N[xPER_NODE],...` as a one-site cluster.
fn parse_cluster(text: &str, default_per_node: u32) -> Result<ClusterSpec> {
    let mut c = ClusterSpec::default();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (ty, rest) = part
            .split_once('=')
            .filter(|(ty, _)| !ty.trim().is_empty())
            .ok_or_else(|| anyhow!("--cluster: expected TYPE=N[xPER_NODE], found {part:?}"))?;
        let (n, per) = match rest.split_once('x') {
            Some((n, p)) => (n, Some(p)),
            None => (rest, None),
        };
        let n: u32 = n.trim().parse().map_err(|_| {
            anyhow!("--cluster: {part:?}: expected a whole number of accelerators, found {rest:?}")
        })?;
        let per: u32 = match per {
            Some(p) => p.trim().parse().ok().filter(|&p| p > 0).ok_or_else(|| {
                anyhow!("--cluster: {part:?}: expected accelerators per node ≥ 1, found {p:?}")
            })?,
            None => default_per_node.min(n.max(1)),
        };
        if n == 0 || !n.is_multiple_of(per) {
            bail!("--cluster: {part:?}: {n} accelerators is not a positive multiple of {per} per node");
        }
        c.add("site-0", ty.trim(), n / per, per, per);
    }
    if c.groups.is_empty() {
        bail!("--cluster: no accelerator types given");
    }
    Ok(c)
}

fn from_trace(args: &Args, spec: &str, catalog: &Catalog, perf: &PerfModel) -> Result<Prepared> {
    let (fmt, path) = spec
        .split_once(':')
        .ok_or_else(|| anyhow!("--trace: expected FORMAT:PATH, found {spec:?}"))?;
    let format: TraceFormat = fmt.parse().map_err(|e| anyhow!("--trace: {e}"))?;
    let path = PathBuf::from(path);
    let table: Option<ThroughputTable> = match &args.throughputs {
        Some(p) => Some(read_throughputs(p).map_err(|e| anyhow!("--throughputs: {e}"))?),
        None => None,
    };
    if matches!(format, TraceFormat::Gavel | TraceFormat::Gavel10) && table.is_none() {
        bail!("--trace {fmt}: Gavel traces count work in steps; give --throughputs PATH (Gavel's simulation_throughputs.json)");
    }
    let cluster_arg = match &args.cluster {
        Some(c) => Some(parse_cluster(c, if table.is_some() { 1 } else { 8 })?),
        None => None,
    };
    let ref_type = args.ref_type.clone().or_else(|| {
        cluster_arg
            .as_ref()
            .and_then(|c| c.groups.first().map(|g| g.accel.clone()))
    });
    let opts = ReadOptions {
        remap: args.remap,
        throughputs: table.as_ref(),
        nodes: args.nodes.as_deref(),
        ref_type: ref_type.as_deref(),
    };
    let read = read_trace(format, &path, &opts).map_err(|e| anyhow!("{e}"))?;
    let cluster = match (cluster_arg, &read.cluster) {
        (Some(c), _) => c,
        (None, Some(c)) => c.clone(),
        (None, None) => bail!("--cluster TYPE=N,... is required for a {fmt} trace"),
    };
    let prices: BTreeMap<String, f64> = cluster
        .groups
        .iter()
        .filter_map(|g| {
            let p = catalog.get(&g.accel)?.price_usd.get()?;
            // Capex over four years of hours: a ranking price for `cost`, not an invoice.
            Some((g.accel.clone(), p / (4.0 * 8760.0)))
        })
        .collect();
    // Unknown is never zero: the cost policy ranks by price and refuses a type without one.
    if args.policy.parse::<Policy>() == Ok(Policy::Cost) {
        let unpriced = xpufleet_sim::unpriced_types(&cluster, &prices);
        if !unpriced.is_empty() {
            bail!("--policy cost: no price for {}: the cost policy ranks by price, and an unknown price is not $0; give price_usd for them with --catalog FILE, or choose another policy", unpriced.join(", "));
        }
    }
    let fspec = FleetSpec::from_cluster(&cluster, &prices)?;
    let type_ids: Vec<String> = fspec.types.iter().map(|t| t.id.clone()).collect();
    let rates: Box<dyn RateModel + '_> = match &table {
        Some(t) => Box::new(TableRates(t)),
        None => {
            if type_ids.iter().all(|t| catalog.get(t).is_some()) {
                Box::new(RelativeSpeed::from_perf(perf, catalog, &type_ids)?)
            } else if type_ids.len() == 1 {
                Box::new(RelativeSpeed::uniform(&type_ids))
            } else {
                let missing: Vec<&String> = type_ids
                    .iter()
                    .filter(|t| catalog.get(t).is_none())
                    .collect();
                bail!("--cluster: types {missing:?} are not in the catalog, so their relative speeds are unknown; add them with --catalog FILE or give --throughputs");
            }
        }
    };
    let (tenant_names, tenant_idx) = tenants(&read.jobs);
    let jobs = build_jobs(&read.jobs, &fspec.types, &tenant_idx, rates.as_ref());
    Ok(Prepared {
        fleet: fspec.allow_all(tenant_names.len()),
        labels: read.jobs.iter().map(|j| j.label.clone()).collect(),
        jobs,
        skipped: read.skipped,
        remapped: read.remapped,
        by_accelerator: None,
    })
}

fn from_scenario(ctx: &Ctx, args: &Args, perf: &PerfModel) -> Result<Prepared> {
    let loaded = ctx.scenario(args.scenario.as_deref())?;
    let sc = &loaded.scenario;
    // The scenario's compliance verdicts: its rule engine is the gate.
    let gate = xpufleet_io::rules::rule_engine(&loaded, &[]).map_err(|d| anyhow!("{d}"))?;
    let prep = scenario::prepare(sc, &loaded.catalog, &gate, perf, sc.date)
        .map_err(|e| anyhow!("{}: {e}", loaded.origin))?;
    // The simulator's types are accelerators in countries (for data residency); the report
    // sums them back into one utilisation per accelerator.
    let by_accelerator = (prep.fleet.capacity_by_type(), prep.types);
    Ok(Prepared {
        fleet: prep.fleet,
        jobs: prep.jobs,
        labels: prep.labels,
        skipped: BTreeMap::new(),
        remapped: BTreeMap::new(),
        by_accelerator: Some(by_accelerator),
    })
}
