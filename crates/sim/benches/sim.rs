//! Simulator and scheduler benchmarks: placement decisions per second, the whole Philly trace,
//! a fleet-month, and Gavel parity (las vs las-het vs fifo-het average JCT).
//!
//! Run: `cargo bench -p xpufleet-sim --bench sim`. Besides criterion's timings each benchmark
//! prints the figures it stands for (decisions/s, JCTs, peak memory) once.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use xpufleet_model::{ClusterSpec, SimTime, TraceJob};
use xpufleet_sched::{schedule, AccelType, Job, Options, Policy, Queue};
use xpufleet_sim::gen::{fleet_month, gavel, FleetMonth, GavelGen};
use xpufleet_sim::{
    build_jobs, simulate, simulate_reference, tenants, Config, FleetSpec, RateModel, RelativeSpeed,
    TableRates,
};

fn repo(rel: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

/// Peak resident memory of this process, from /proc (Linux), in MiB.
fn peak_rss_mib() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// 100,000 accelerators: five types at two sites, 8 per node; 10,000 queued jobs of mixed
/// gang sizes. One `schedule` call on the empty fleet places as many as fit.
fn decisions(c: &mut Criterion) {
    let mut cluster = ClusterSpec::default();
    for (i, ty) in ["h100-sxm", "h20", "ascend-910b", "ascend-910c", "mlu370-x8"]
        .iter()
        .enumerate()
    {
        for site in ["a", "b"] {
            let domain = if i == 3 { 384 } else { 8 };
            cluster.add(site, ty, 1250, 8, domain);
        }
    }
    let spec = FleetSpec::from_cluster(&cluster, &BTreeMap::new()).unwrap();
    let n_types = spec.types.len();
    let fleet = spec.allow_all(1);
    assert_eq!(fleet.total_accels(), 100_000);
    let gangs = [1u32, 1, 2, 4, 8, 8, 16, 32, 64, 1];
    let jobs: Vec<Job> = (0..10_000u32)
        .map(|i| {
            let rates: Box<[f64]> = (0..n_types)
                .map(|t| 1.0 + ((i as usize * 7 + t * 3) % 5) as f64)
                .collect();
            Job {
                accels: gangs[i as usize % gangs.len()],
                tenant: 0,
                allowed: if i % 3 == 0 {
                    0b00011
                } else {
                    (1 << n_types) - 1
                },
                priority: 0,
                submit: SimTime(u64::from(i)),
                deadline: None,
                may_span_sites: false,
                work: 1000.0,
                rates,
                smaller: Box::default(),
            }
        })
        .collect();
    let mut q = Queue::new(jobs);
    for i in 0..10_000 {
        q.enqueue(i);
    }
    let mut g = c.benchmark_group("decisions");
    for policy in [Policy::FifoHet, Policy::EasyBackfill, Policy::Cost] {
        let n = schedule(policy, &fleet, &q, SimTime(0), Options::default())
            .decisions
            .len();
        let t = Instant::now();
        let reps = 5;
        for _ in 0..reps {
            std::hint::black_box(schedule(policy, &fleet, &q, SimTime(0), Options::default()));
        }
        let per_s = (n * reps) as f64 / t.elapsed().as_secs_f64();
        println!("decisions {policy}: {n} placements per call, {per_s:.0} decisions/s (100k accelerators, 10k queued)");
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(policy.name(), |b| {
            b.iter(|| schedule(policy, &fleet, &q, SimTime(0), Options::default()))
        });
    }
    g.finish();
}

fn run_trace(
    cluster: &ClusterSpec,
    trace: &[TraceJob],
    rates: &dyn RateModel,
    cfg: &Config,
) -> xpufleet_sim::Metrics {
    run_trace_with(cluster, trace, rates, cfg, simulate)
}

type Engine = fn(
    xpufleet_sched::FleetState,
    Vec<Job>,
    &Config,
    &mut dyn FnMut(u64, u64),
) -> xpufleet_sim::Outcome;

fn run_trace_with(
    cluster: &ClusterSpec,
    trace: &[TraceJob],
    rates: &dyn RateModel,
    cfg: &Config,
    engine: Engine,
) -> xpufleet_sim::Metrics {
    let spec = FleetSpec::from_cluster(cluster, &BTreeMap::new()).unwrap();
    let (names, idx) = tenants(trace);
    let types: Vec<AccelType> = spec.types.clone();
    let jobs = build_jobs(trace, &types, &idx, rates);
    let fleet = spec.allow_all(names.len());
    engine(fleet, jobs, cfg, &mut |_, _| {}).metrics
}

/// The whole Philly trace (82k jobs) on 1,000 H100 + 1,000 A100.
fn philly(c: &mut Criterion) {
    let read = xpufleet_io::trace::read_trace(
        xpufleet_io::trace::TraceFormat::Philly,
        &repo("data/traces/pollux/philly.csv"),
        &xpufleet_io::trace::ReadOptions {
            ref_type: Some("a100-sxm-80gb"),
            ..Default::default()
        },
    )
    .unwrap();
    let mut cluster = ClusterSpec::default();
    cluster.add("site-0", "h100-sxm", 125, 8, 8);
    cluster.add("site-0", "a100-sxm-80gb", 125, 8, 8);
    let types = vec!["h100-sxm".to_string(), "a100-sxm-80gb".to_string()];
    let catalog = xpufleet_io::builtin_catalog();
    let rates =
        RelativeSpeed::from_perf(&xpufleet_perf::PerfModel::default(), &catalog, &types).unwrap();
    let mut g = c.benchmark_group("philly");
    g.sample_size(10);
    for policy in [Policy::Fifo, Policy::EasyBackfill, Policy::FifoHet] {
        let cfg = Config::new(policy);
        let t = Instant::now();
        let m = run_trace(&cluster, &read.jobs, &rates, &cfg);
        println!(
            "philly {policy}: {} jobs, {} completed, JCT mean {:.0} s, wall {:.3} s",
            m.jobs,
            m.completed,
            m.jct_mean_s,
            t.elapsed().as_secs_f64()
        );
        g.bench_function(policy.name(), |b| {
            b.iter(|| run_trace(&cluster, &read.jobs, &rates, &cfg))
        });
    }
    g.finish();
}

/// A month of the 200,000-accelerator mixed fleet with 1M jobs (run once: it is the figure).
fn fleet_month_bench(c: &mut Criterion) {
    let scale: f64 = std::env::var("XPUFLEET_FLEET_MONTH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    let cfg_gen = FleetMonth {
        n_jobs: (1_000_000.0 * scale) as usize,
        fleet_scale: scale,
        ..FleetMonth::default()
    };
    let w = fleet_month(&cfg_gen).unwrap();
    let catalog = xpufleet_io::builtin_catalog();
    let spec = FleetSpec::from_cluster(&w.cluster, &BTreeMap::new()).unwrap();
    let type_ids: Vec<String> = spec.types.iter().map(|t| t.id.clone()).collect();
    let rates = RelativeSpeed::from_perf(&xpufleet_perf::PerfModel::default(), &catalog, &type_ids)
        .unwrap();
    let mut g = c.benchmark_group("fleet-month");
    g.sample_size(10);
    for policy in [Policy::FifoHet, Policy::EasyBackfill] {
        let cfg = Config::new(policy);
        let t = Instant::now();
        let m = run_trace(&w.cluster, &w.jobs, &rates, &cfg);
        println!(
            "fleet-month {policy}: {} accelerators, {} jobs, {} completed, {} unfinished, JCT mean {:.0} s, queue mean {:.0} s, wall {:.2} s, peak RSS {:.0} MiB",
            w.cluster.total_accels(),
            m.jobs,
            m.completed,
            m.unfinished,
            m.jct_mean_s,
            m.queue_mean_s,
            t.elapsed().as_secs_f64(),
            peak_rss_mib().unwrap_or(f64::NAN)
        );
        if scale < 1.0 {
            g.bench_function(policy.name(), |b| {
                b.iter(|| run_trace(&w.cluster, &w.jobs, &rates, &cfg))
            });
        }
    }
    g.finish();
}

/// Gavel parity: 2,000 jobs from Gavel's generator on 36 V100 + 36 P100 + 36 K80, 360 s rounds.
fn gavel_parity(c: &mut Criterion) {
    let table = xpufleet_io::trace::read_throughputs(&repo(
        "data/traces/gavel/simulation_throughputs.json",
    ))
    .unwrap();
    let mut g = c.benchmark_group("gavel-parity");
    g.sample_size(10);
    let mut jct = BTreeMap::new();
    for seed in 0..3u64 {
        let w = gavel(
            &table,
            &GavelGen {
                seed,
                ..GavelGen::default()
            },
        )
        .unwrap();
        for policy in [Policy::Las, Policy::LasHet, Policy::FifoHet] {
            let mut cfg = Config::new(policy);
            cfg.round_s = Some(360);
            let t = Instant::now();
            let m = run_trace(&w.cluster, &w.jobs, &TableRates(&table), &cfg);
            let wall_s = t.elapsed().as_secs_f64();
            // The shortcuts must not change the outcome: hold it to the reference engine.
            let t = Instant::now();
            let m_ref = run_trace_with(
                &w.cluster,
                &w.jobs,
                &TableRates(&table),
                &cfg,
                simulate_reference,
            );
            let ref_wall_s = t.elapsed().as_secs_f64();
            assert_eq!(
                format!("{m:?}"),
                format!("{m_ref:?}"),
                "seed {seed} {policy}"
            );
            println!(
                "gavel seed {seed} {policy}: {} jobs, {} completed, JCT mean {:.0} s, {} preemptions, wall {wall_s:.3} s (every round planned: {ref_wall_s:.3} s, same metrics)",
                m.jobs,
                m.completed,
                m.jct_mean_s,
                m.preemptions,
            );
            jct.entry(policy.name())
                .or_insert_with(Vec::new)
                .push(m.jct_mean_s);
            if seed == 0 {
                g.bench_function(policy.name(), |b| {
                    b.iter(|| run_trace(&w.cluster, &w.jobs, &TableRates(&table), &cfg))
                });
            }
        }
    }
    let mean = |k: &str| jct[k].iter().sum::<f64>() / jct[k].len() as f64;
    println!(
        "gavel parity (mean of 3 seeds): las {:.0} s, las-het {:.0} s, fifo-het {:.0} s; las/las-het {:.2}x (Gavel 1.43x), las/fifo-het {:.2}x (Gavel 1.45x)",
        mean("las"),
        mean("las-het"),
        mean("fifo-het"),
        mean("las") / mean("las-het"),
        mean("las") / mean("fifo-het")
    );
    g.finish();
}

criterion_group!(benches, decisions, philly, gavel_parity, fleet_month_bench);
criterion_main!(benches);
