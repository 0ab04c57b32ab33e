//! The benchmarks' workloads at a small size, so that they never rot: a fleet-month slice and a
//! Gavel-generator trace, each replayed through the independent checker.

use std::collections::BTreeMap;

use xpufleet_sched::Policy;
use xpufleet_sim::gen::{fleet_month, gavel, FleetMonth, GavelGen};
use xpufleet_sim::{
    build_jobs, check, simulate, tenants, to_jsonl, Config, FleetSpec, RelativeSpeed, TableRates,
};

#[test]
fn fleet_month_slice_replays_clean() {
    let w = fleet_month(&FleetMonth {
        n_jobs: 3000,
        fleet_scale: 0.003,
        ..FleetMonth::default()
    })
    .unwrap();
    let spec = FleetSpec::from_cluster(&w.cluster, &BTreeMap::new()).unwrap();
    let ids: Vec<String> = spec.types.iter().map(|t| t.id.clone()).collect();
    let catalog = xpufleet_io::builtin_catalog();
    let rates =
        RelativeSpeed::from_perf(&xpufleet_perf::PerfModel::default(), &catalog, &ids).unwrap();
    let (names, idx) = tenants(&w.jobs);
    let jobs = build_jobs(&w.jobs, &spec.types, &idx, &rates);
    let fleet = spec.allow_all(names.len());
    for policy in [Policy::FifoHet, Policy::EasyBackfill, Policy::Cost] {
        let mut cfg = Config::new(policy);
        cfg.log = true;
        let out = simulate(fleet.clone(), jobs.clone(), &cfg, &mut |_, _| {});
        let m = &out.metrics;
        assert_eq!(m.rejected_decisions, 0);
        assert_eq!(
            m.completed + m.unfinished + m.rejected.values().sum::<u64>(),
            m.jobs
        );
        assert!(m.completed > m.jobs / 2, "{policy}: {m:?}");
        check::replay(&to_jsonl(&out.log)).unwrap();
    }
}

#[test]
fn gavel_generator_parity_direction() {
    let table = xpufleet_io::trace::read_throughputs(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../data/traces/gavel/simulation_throughputs.json"),
    )
    .unwrap();
    let w = gavel(
        &table,
        &GavelGen {
            n_jobs: 200,
            ..GavelGen::default()
        },
    )
    .unwrap();
    let spec = FleetSpec::from_cluster(&w.cluster, &BTreeMap::new()).unwrap();
    let (names, idx) = tenants(&w.jobs);
    let jobs = build_jobs(&w.jobs, &spec.types, &idx, &TableRates(&table));
    let fleet = spec.allow_all(names.len());
    let jct = |policy| {
        let mut cfg = Config::new(policy);
        cfg.round_s = Some(360);
        let m = simulate(fleet.clone(), jobs.clone(), &cfg, &mut |_, _| {}).metrics;
        assert_eq!(m.completed, m.jobs);
        m.jct_mean_s
    };
    let (las, het, fifo_het) = (jct(Policy::Las), jct(Policy::LasHet), jct(Policy::FifoHet));
    assert!(het < las, "las-het {het} vs las {las}");
    assert!(fifo_het < las, "fifo-het {fifo_het} vs las {las}");
}
