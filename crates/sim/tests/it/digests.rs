//! Every policy on real traces from `data/traces/`, held to event-log digests recorded before
//! the round planner became one type (`xpufleet_sched::RoundPlanner`): a refactor of the
//! scheduler or the simulator that changes any decision changes a digest.
//!
//! The digests are FNV-1a 64 over the JSON-lines event log and the metrics' `Debug` text.
//! A change that is meant to alter schedules updates them with `UPDATE_GOLDEN=1`-style care:
//! print the new values (the failure message has them) and say why in the commit.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use xpufleet_io::trace::{read_throughputs, read_trace, ReadOptions, TraceFormat};
use xpufleet_model::{ClusterSpec, TraceJob};
use xpufleet_sched::Policy;
use xpufleet_sim::{
    build_jobs, simulate, tenants, to_jsonl, Config, Failures, FleetSpec, RateModel, RelativeSpeed,
    TableRates,
};

fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/traces")
        .join(rel)
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn cluster(groups: &[(&str, u32, u32)]) -> ClusterSpec {
    let mut c = ClusterSpec::default();
    for &(accel, nodes, per_node) in groups {
        c.add("site", accel, nodes, per_node, per_node);
    }
    c
}

/// (policy, failures) → digest of the run's log and metrics.
fn digests(
    trace: &[TraceJob],
    cluster: &ClusterSpec,
    prices: &BTreeMap<String, f64>,
    rates: &dyn RateModel,
) -> Vec<(String, u64)> {
    let spec = FleetSpec::from_cluster(cluster, prices).unwrap();
    let (names, idx) = tenants(trace);
    let jobs = build_jobs(trace, &spec.types, &idx, rates);
    let mut out = Vec::new();
    for policy in Policy::ALL {
        for failures in [false, true] {
            let mut cfg = Config::new(policy);
            cfg.log = true;
            cfg.seed = 7;
            cfg.failures = failures.then_some(Failures {
                rate_per_chip_hour: 0.01,
                repair_s: 1800,
                checkpoint_interval_s: 300,
            });
            let o = simulate(
                spec.clone().allow_all(names.len()),
                jobs.clone(),
                &cfg,
                &mut |_, _| {},
            );
            assert!(o.metrics.completed > 0, "{policy} failures {failures}");
            // The round planner has work to do: the preemptive policies preempt.
            if policy.preemptive() {
                assert!(o.metrics.preemptions > 0, "{policy} failures {failures}");
            }
            let text = format!("{}\n{:?}", to_jsonl(&o.log), o.metrics);
            out.push((
                format!("{policy}/failures={failures}"),
                fnv1a(text.as_bytes()),
            ));
        }
    }
    out
}

fn check(got: Vec<(String, u64)>, want: &[(&str, u64)]) {
    let got_text: Vec<String> = got
        .iter()
        .map(|(k, d)| format!("(\"{k}\", {d:#018x}),"))
        .collect();
    let want: Vec<(String, u64)> = want.iter().map(|&(k, d)| (k.to_string(), d)).collect();
    assert_eq!(got, want, "digests now:\n{}", got_text.join("\n"));
}

#[test]
fn gavel_msr_trace_logs_keep_their_digests_under_every_policy() {
    let table = read_throughputs(&data("gavel/simulation_throughputs.json")).unwrap();
    let read = read_trace(
        TraceFormat::Gavel,
        &data("gavel/msr/seed=0/11cb48.trace"),
        &ReadOptions {
            throughputs: Some(&table),
            ..ReadOptions::default()
        },
    )
    .unwrap();
    // The first 160 jobs on a small cluster, so that jobs queue, LAS preempts and the
    // heterogeneity-aware policies move jobs between types.
    let trace = &read.jobs[..160];
    let prices = [("v100", 2.48), ("p100", 1.46), ("k80", 0.45)]
        .map(|(k, v)| (k.to_string(), v))
        .into();
    let got = digests(
        trace,
        &cluster(&[("v100", 4, 2), ("p100", 4, 2), ("k80", 8, 2)]),
        &prices,
        &TableRates(&table),
    );
    check(
        got,
        &[
            ("fifo/failures=false", 0x2e7ea4b6c95e9453),
            ("fifo/failures=true", 0x50c84720e51495e0),
            ("easy-backfill/failures=false", 0x452eedc0550a70d6),
            ("easy-backfill/failures=true", 0xa624da2c654a4e48),
            ("las/failures=false", 0x4efe501f57dcf9e4),
            ("las/failures=true", 0x6c9412100030434f),
            ("las-het/failures=false", 0x80e24bfe73da1365),
            ("las-het/failures=true", 0xb7ac6e8c143ae093),
            ("fifo-het/failures=false", 0x79e01c2ef91eddd2),
            ("fifo-het/failures=true", 0x76ec2aa5c25bc05e),
            ("finish-time/failures=false", 0xa3f9d1fc1a301b14),
            ("finish-time/failures=true", 0x5e9f1b45d1695a79),
            ("cost/failures=false", 0x343276d269f9bc62),
            ("cost/failures=true", 0x8537ef501aa16245),
        ],
    );
}

#[test]
fn tiresias_trace_logs_keep_their_digests_under_every_policy() {
    let read = read_trace(
        TraceFormat::Tiresias,
        &data("tiresias/60_job.csv"),
        &ReadOptions::default(),
    )
    .unwrap();
    let prices = [("h100-sxm", 3.9), ("a100-sxm", 1.8)]
        .map(|(k, v)| (k.to_string(), v))
        .into();
    let rates = RelativeSpeed {
        speed: [("h100-sxm", 2.6), ("a100-sxm", 1.0)]
            .map(|(k, v)| (k.to_string(), v))
            .into(),
        default_ref: "a100-sxm".into(),
    };
    let got = digests(
        &read.jobs,
        &cluster(&[("h100-sxm", 1, 8), ("a100-sxm", 2, 8)]),
        &prices,
        &rates,
    );
    check(
        got,
        &[
            ("fifo/failures=false", 0xe3417147a8d5fc73),
            ("fifo/failures=true", 0x8aba2a9cfa94ab42),
            ("easy-backfill/failures=false", 0xd91e645f02dcfe28),
            ("easy-backfill/failures=true", 0x8212b6b42947613f),
            ("las/failures=false", 0xeb20f727772542ae),
            ("las/failures=true", 0xa565ef86ea7d542a),
            ("las-het/failures=false", 0x4431e0094f0373d6),
            ("las-het/failures=true", 0x3e1a29ae64c58dbd),
            ("fifo-het/failures=false", 0xd4810c4a6fb64bb0),
            ("fifo-het/failures=true", 0xbb632ff41955c557),
            ("finish-time/failures=false", 0xbef173680e345aa4),
            ("finish-time/failures=true", 0x1af75ec84c6fe9a1),
            ("cost/failures=false", 0x98dc3d21e11455ff),
            ("cost/failures=true", 0xe101892cb01cb812),
        ],
    );
}
