//! The simulation use case: a scheduling policy over a trace (on a cluster given by type counts)
//! or over a checked scenario's pools and jobs, reporting JCT, queueing, utilisation and more.
//! `xpufleet simulate` prints its answer; the server stores it under its inputs.
//!
//! Nothing here reads the clock: the answer's `wall_s` is `None` and the CLI, which times the
//! call, fills it in. The same inputs and seed give the same answer, byte for byte.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;
use xpufleet_io::trace::{read_throughputs, read_trace, ReadOptions, TraceFormat};
use xpufleet_io::LoadedScenario;
use xpufleet_model::{Catalog, ClusterSpec, ThroughputTable};
use xpufleet_perf::PerfModel;
use xpufleet_sched::{FleetState, Job, Policy};
use xpufleet_sim::scenario::{self, TypeInfo};
use xpufleet_sim::{
    build_jobs, check, simulate_with_limits, tenants, to_jsonl, Config, Failures, FleetSpec,
    Limits, Metrics, RateModel, RelativeSpeed, TableRates,
};

use crate::defaults;
use crate::{Error, RuleText};

/// The highest failure rate accepted, per accelerator-hour: one failure per accelerator-hour
/// is ~50,000 times Llama 3's observed rate, so anything above it is a typo and makes a run
/// that only fails and repairs.
pub const MAX_FAILURE_RATE: f64 = 1.0;

/// A trace to simulate and the cluster it runs on (`xpufleet simulate --trace`).
#[derive(Debug, Clone, Default)]
pub struct TraceInput {
    /// FORMAT:PATH (formats: gavel, gavel10, philly, alibaba, jobs, tiresias).
    pub spec: String,
    /// Gavel throughput JSON (Gavel traces need it).
    pub throughputs: Option<PathBuf>,
    /// TYPE=N[xPER_NODE],...
    pub cluster: Option<String>,
    /// Alibaba: the node list the cluster is read from.
    pub nodes: Option<PathBuf>,
    /// Duration traces: the type durations were measured on.
    pub ref_type: Option<String>,
    /// Repair unusable lines by the format's documented remapping instead of skipping them.
    pub remap: bool,
}

/// What to simulate.
#[derive(Debug, Clone, Copy)]
pub enum Source<'a> {
    Trace(&'a TraceInput),
    /// A checked scenario, with rule packs added after the built-in ones and its own.
    Scenario(&'a LoadedScenario, &'a [RuleText]),
}

/// How to simulate: the flags of `xpufleet simulate`, with the same defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct SimulateOptions {
    pub policy: Policy,
    /// Seed of the random failures (and of nothing else).
    pub seed: u64,
    /// Schedule in rounds of this many seconds; las and las-het always use rounds.
    pub round_s: Option<u64>,
    /// Seconds a preempted or failed job needs to restart from its checkpoint.
    pub restart_delay_s: u64,
    /// Inject accelerator failures at the performance model's rate (or `failure_rate`).
    pub failures: bool,
    /// Failures per accelerator-hour (implies `failures`).
    pub failure_rate: Option<f64>,
    /// Seconds to repair a failed accelerator.
    pub repair_s: u64,
    /// Seconds of progress between checkpoints.
    pub checkpoint_s: u64,
    /// Stop with an error after this many simulated events.
    pub max_events: u64,
    /// Keep the event log, replay it through the independent checker and return it.
    pub events: bool,
}

impl Default for SimulateOptions {
    fn default() -> SimulateOptions {
        SimulateOptions {
            policy: defaults::simulate_policy(),
            seed: defaults::SEED,
            round_s: None,
            restart_delay_s: 0,
            failures: false,
            failure_rate: None,
            repair_s: defaults::REPAIR_S,
            checkpoint_s: defaults::CHECKPOINT_S,
            max_events: Limits::default().max_events,
            events: false,
        }
    }
}

impl SimulateOptions {
    /// Checks the options without simulating (a bad failure rate is refused).
    pub fn validate(&self) -> Result<(), Error> {
        failures(self, &PerfModel::default()).map(|_| ())
    }
}

/// The answer: the JSON of `xpufleet simulate --json`, whose `wall_s` only the CLI sets.
#[derive(Debug, Clone, Serialize)]
pub struct SimulateOutput {
    pub policy: String,
    pub seed: u64,
    pub round_s: Option<u64>,
    pub accelerators: u64,
    #[serde(flatten)]
    pub metrics: Metrics,
    /// Seconds of wall-clock time the simulation took: set by a caller that timed it, absent
    /// where the answer must be reproducible (the server's stored runs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wall_s: Option<f64>,
    /// Trace lines not used, by reason.
    pub skipped: BTreeMap<String, u64>,
    pub remapped: BTreeMap<String, u64>,
    /// Jobs left waiting at the end, by reason.
    pub unfinished_reasons: BTreeMap<String, u64>,
    /// The first few unfinished jobs with their full reason.
    pub unfinished_examples: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events_checked: Option<check::Replayed>,
}

/// A simulation's answer and, when `events` was asked for, its checked event log (JSONL).
#[derive(Debug, Clone)]
pub struct Simulated {
    pub output: SimulateOutput,
    pub events_jsonl: Option<String>,
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

fn option(field: &str, message: impl Into<String>) -> Error {
    Error::Option {
        field: field.to_string(),
        message: message.into(),
    }
}

/// The failure model of `opts`, checked.
pub fn failures(opts: &SimulateOptions, perf: &PerfModel) -> Result<Option<Failures>, Error> {
    if !(opts.failures || opts.failure_rate.is_some()) {
        return Ok(None);
    }
    let rate = opts
        .failure_rate
        .unwrap_or(perf.reliability.failure_rate_per_chip_hour);
    if !(rate.is_finite() && (0.0..=MAX_FAILURE_RATE).contains(&rate)) {
        return Err(option(
            "failure_rate",
            format!(
                "expected a rate from 0 to {MAX_FAILURE_RATE} per accelerator-hour (the model's default is {}), found {rate}",
                perf.reliability.failure_rate_per_chip_hour
            ),
        ));
    }
    Ok(Some(Failures {
        rate_per_chip_hour: rate,
        repair_s: opts.repair_s,
        checkpoint_interval_s: opts.checkpoint_s.max(1),
    }))
}

/// Simulates `source` under `opts`; `progress` hears (jobs done, jobs) as they finish.
pub fn simulate(
    source: Source<'_>,
    catalog: &Catalog,
    opts: &SimulateOptions,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Simulated, Error> {
    let perf = PerfModel::default();
    let prep = match source {
        Source::Trace(t) => from_trace(t, opts.policy, catalog, &perf)?,
        Source::Scenario(loaded, rules) => from_scenario(loaded, rules, &perf)?,
    };
    let cfg = Config {
        policy: opts.policy,
        seed: opts.seed,
        round_s: opts.round_s,
        restart_delay_s: opts.restart_delay_s,
        failures: failures(opts, &perf)?,
        hold_s: None,
        log: opts.events,
    };
    let accelerators = prep.fleet.total_accels();
    let limits = Limits {
        max_events: opts.max_events,
        ..Limits::default()
    };
    let out = simulate_with_limits(prep.fleet.clone(), prep.jobs, &cfg, limits, progress);
    if let Some(stop) = out.stopped {
        return Err(Error::Simulation(format!(
            "the simulation {stop} ({} of {} jobs completed, {} unfinished); a job or a setting is out of proportion (check the trace's durations and submit times, the failure rate, the round length), or raise the event limit",
            out.metrics.completed, out.metrics.jobs, out.metrics.unfinished
        )));
    }
    let mut events_checked = None;
    let mut events_jsonl = None;
    if opts.events {
        let text = to_jsonl(&out.log);
        let replayed = check::replay(&text).map_err(|v| {
            Error::Simulation(format!("the event log failed its independent check: {v}"))
        })?;
        events_checked = Some(replayed);
        events_jsonl = Some(text);
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
    Ok(Simulated {
        output: SimulateOutput {
            policy: opts.policy.name().to_string(),
            seed: opts.seed,
            round_s: cfg.effective_round_s(),
            accelerators,
            metrics,
            wall_s: None,
            skipped: prep.skipped,
            remapped: prep.remapped,
            unfinished_reasons,
            unfinished_examples,
            events_checked,
        },
        events_jsonl,
    })
}

/// `TYPE=N[xPER_NODE],...` as a one-site cluster.
pub fn parse_cluster(text: &str, default_per_node: u32) -> Result<ClusterSpec, Error> {
    let bad = |m: String| option("cluster", m);
    let mut c = ClusterSpec::default();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (ty, rest) = part
            .split_once('=')
            .filter(|(ty, _)| !ty.trim().is_empty())
            .ok_or_else(|| bad(format!("expected TYPE=N[xPER_NODE], found {part:?}")))?;
        let (n, per) = match rest.split_once('x') {
            Some((n, p)) => (n, Some(p)),
            None => (rest, None),
        };
        let n: u32 = n.trim().parse().map_err(|_| {
            bad(format!(
                "{part:?}: expected a whole number of accelerators, found {rest:?}"
            ))
        })?;
        let per: u32 = match per {
            Some(p) => p.trim().parse().ok().filter(|&p| p > 0).ok_or_else(|| {
                bad(format!(
                    "{part:?}: expected accelerators per node ≥ 1, found {p:?}"
                ))
            })?,
            None => default_per_node.min(n.max(1)),
        };
        if n == 0 || !n.is_multiple_of(per) {
            return Err(bad(format!(
                "{part:?}: {n} accelerators is not a positive multiple of {per} per node"
            )));
        }
        c.add("site-0", ty.trim(), n / per, per, per);
    }
    if c.groups.is_empty() {
        return Err(bad("no accelerator types given".into()));
    }
    Ok(c)
}

fn from_trace(
    t: &TraceInput,
    policy: Policy,
    catalog: &Catalog,
    perf: &PerfModel,
) -> Result<Prepared, Error> {
    let (fmt, path) = t
        .spec
        .split_once(':')
        .ok_or_else(|| option("trace", format!("expected FORMAT:PATH, found {:?}", t.spec)))?;
    let format: TraceFormat = fmt.parse().map_err(|e| option("trace", format!("{e}")))?;
    let path = PathBuf::from(path);
    let table: Option<ThroughputTable> = match &t.throughputs {
        Some(p) => Some(read_throughputs(p).map_err(|e| option("throughputs", e.to_string()))?),
        None => None,
    };
    if matches!(format, TraceFormat::Gavel | TraceFormat::Gavel10) && table.is_none() {
        return Err(option("trace", format!("{fmt}: Gavel traces count work in steps; give the throughputs (Gavel's simulation_throughputs.json)")));
    }
    let cluster_arg = match &t.cluster {
        Some(c) => Some(parse_cluster(c, if table.is_some() { 1 } else { 8 })?),
        None => None,
    };
    let ref_type = t.ref_type.clone().or_else(|| {
        cluster_arg
            .as_ref()
            .and_then(|c| c.groups.first().map(|g| g.accel.clone()))
    });
    let opts = ReadOptions {
        remap: t.remap,
        throughputs: table.as_ref(),
        nodes: t.nodes.as_deref(),
        ref_type: ref_type.as_deref(),
    };
    let read = read_trace(format, &path, &opts).map_err(|e| option("trace", e.to_string()))?;
    let cluster = match (cluster_arg, &read.cluster) {
        (Some(c), _) => c,
        (None, Some(c)) => c.clone(),
        (None, None) => {
            return Err(option(
                "cluster",
                format!("TYPE=N,... is required for a {fmt} trace"),
            ))
        }
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
    if policy == Policy::Cost {
        let unpriced = xpufleet_sim::unpriced_types(&cluster, &prices);
        if !unpriced.is_empty() {
            return Err(option("policy", format!("cost: no price for {}: the cost policy ranks by price, and an unknown price is not $0; give price_usd for them in a catalog file, or choose another policy", unpriced.join(", "))));
        }
    }
    let fspec =
        FleetSpec::from_cluster(&cluster, &prices).map_err(|e| option("cluster", e.to_string()))?;
    let type_ids: Vec<String> = fspec.types.iter().map(|t| t.id.clone()).collect();
    let rates: Box<dyn RateModel + '_> = match &table {
        Some(t) => Box::new(TableRates(t)),
        None => {
            if type_ids.iter().all(|t| catalog.get(t).is_some()) {
                Box::new(
                    RelativeSpeed::from_perf(perf, catalog, &type_ids)
                        .map_err(|e| option("cluster", e.to_string()))?,
                )
            } else if type_ids.len() == 1 {
                Box::new(RelativeSpeed::uniform(&type_ids))
            } else {
                let missing: Vec<&String> = type_ids
                    .iter()
                    .filter(|t| catalog.get(t).is_none())
                    .collect();
                return Err(option("cluster", format!("types {missing:?} are not in the catalog, so their relative speeds are unknown; add them with a catalog file or give the throughputs")));
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

fn from_scenario(
    loaded: &LoadedScenario,
    rules: &[RuleText],
    perf: &PerfModel,
) -> Result<Prepared, Error> {
    let sc = &loaded.scenario;
    // The scenario's compliance verdicts: its rule engine is the gate.
    let gate = xpufleet_comply::RuleEngine::new(
        crate::rule_set(loaded, rules)?,
        &loaded.scenario,
        &loaded.catalog,
    );
    let prep = scenario::prepare(sc, &loaded.catalog, &gate, perf, sc.date)
        .map_err(|e| Error::Simulation(format!("{}: {e}", loaded.origin)))?;
    // The simulator's types are accelerators in countries (for data residency); the answer
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
