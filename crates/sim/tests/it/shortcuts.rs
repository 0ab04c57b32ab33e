//! The simulator's speed shortcuts (rounds not re-planned when nothing they read changed) give
//! the same event log and metrics as planning every round, on Gavel-generated workloads where
//! most rounds change nothing.

use std::collections::BTreeMap;
use std::path::Path;

use xpufleet_sched::Policy;
use xpufleet_sim::gen::{gavel, GavelGen};
use xpufleet_sim::{
    build_jobs, simulate, simulate_reference, tenants, to_jsonl, Config, Failures, FleetSpec,
    TableRates,
};

#[test]
fn gavel_rounds_match_the_reference_event_for_event() {
    let table = xpufleet_io::trace::read_throughputs(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../data/traces/gavel/simulation_throughputs.json"),
    )
    .unwrap();
    for seed in 0..2u64 {
        let w = gavel(
            &table,
            &GavelGen {
                seed,
                n_jobs: 150,
                // A small cluster so that jobs queue and LAS preempts.
                cluster: vec![("v100".into(), 6), ("p100".into(), 6), ("k80".into(), 6)],
                ..GavelGen::default()
            },
        )
        .unwrap();
        let spec = FleetSpec::from_cluster(&w.cluster, &BTreeMap::new()).unwrap();
        let (names, idx) = tenants(&w.jobs);
        let jobs = build_jobs(&w.jobs, &spec.types, &idx, &TableRates(&table));
        for policy in [Policy::Las, Policy::LasHet, Policy::FifoHet] {
            for failures in [false, true] {
                let mut cfg = Config::new(policy);
                cfg.round_s = Some(360);
                cfg.log = true;
                cfg.seed = seed;
                cfg.failures = failures.then_some(Failures {
                    rate_per_chip_hour: 0.002,
                    repair_s: 3600,
                    checkpoint_interval_s: 600,
                });
                let fast = simulate(
                    spec.clone().allow_all(names.len()),
                    jobs.clone(),
                    &cfg,
                    &mut |_, _| {},
                );
                let slow = simulate_reference(
                    spec.clone().allow_all(names.len()),
                    jobs.clone(),
                    &cfg,
                    &mut |_, _| {},
                );
                assert!(fast.metrics.completed > 0);
                assert_eq!(
                    to_jsonl(&fast.log),
                    to_jsonl(&slow.log),
                    "seed {seed} {policy} failures {failures}"
                );
                assert_eq!(format!("{:?}", fast.metrics), format!("{:?}", slow.metrics));
            }
        }
    }
}
