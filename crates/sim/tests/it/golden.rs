//! Golden results: small workloads whose outcome is worked out by hand, one per policy family.

use xpufleet_sched::{Policy, Reason};
use xpufleet_sim::{simulate, Config, Outcome};

use crate::support::*;

fn run(
    policy: Policy,
    fleet: xpufleet_sched::FleetState,
    jobs: Vec<xpufleet_sched::Job>,
) -> Outcome {
    let mut cfg = Config::new(policy);
    cfg.log = true;
    let out = simulate(fleet, jobs, &cfg, &mut |_, _| {});
    xpufleet_sim::check::replay(&xpufleet_sim::to_jsonl(&out.log)).unwrap();
    out
}

/// One 4-accelerator node. Job 0 (4 acc, 100 s) at t=0; job 1 (4 acc, 10 s) at t=1;
/// job 2 (1 acc, 10 s) at t=2.
fn three_jobs() -> (xpufleet_sched::FleetState, Vec<xpufleet_sched::Job>) {
    let fleet = fleet_spec(1, 1, &[(0, 0, 1, 4, 1)]).allow_all(1);
    let jobs = vec![
        job(4, 0, 100.0, &[1.0], 0),
        job(4, 1, 10.0, &[1.0], 0),
        job(1, 2, 10.0, &[1.0], 0),
    ];
    (fleet, jobs)
}

#[test]
fn fifo_runs_in_arrival_order() {
    let (f, j) = three_jobs();
    let m = run(Policy::Fifo, f, j).metrics;
    // 0: 0..100; 1: 100..110; 2: 110..120. JCTs 100, 109, 118.
    assert_eq!(m.completed, 3);
    assert_eq!(m.makespan_s, 120);
    assert!((m.jct_mean_s - (100.0 + 109.0 + 118.0) / 3.0).abs() < 1e-9);
    assert_eq!(m.jct_p50_s, 109);
    assert!((m.queue_mean_s - (0.0 + 99.0 + 108.0) / 3.0).abs() < 1e-9);
    assert!((m.utilization["t0"] - (400.0 + 40.0 + 10.0) / (4.0 * 120.0)).abs() < 1e-9);
}

#[test]
fn easy_backfill_never_delays_the_head() {
    // Two 4-acc nodes. Job 0 takes 4 for 100 s; job 1 wants 8 (head, reserved at t=100);
    // job 2 (4 acc, 50 s) fits in the free node and ends before 100: backfilled.
    // Job 3 (4 acc, 200 s) would delay the head: waits.
    let fleet = fleet_spec(1, 1, &[(0, 0, 2, 4, 1)]).allow_all(1);
    let jobs = vec![
        job(4, 0, 100.0, &[1.0], 0),
        job(8, 1, 10.0, &[1.0], 0),
        job(4, 2, 50.0, &[1.0], 0),
        job(4, 3, 200.0, &[1.0], 0),
    ];
    let out = run(Policy::EasyBackfill, fleet.clone(), jobs.clone());
    let starts: Vec<(u32, u64)> = out
        .log
        .iter()
        .filter_map(|e| match e {
            xpufleet_sim::LogEvent::Start { t, job, .. } => Some((*job, t.0)),
            _ => None,
        })
        .collect();
    assert_eq!(starts, vec![(0, 0), (2, 2), (1, 100), (3, 110)]);
    // Plain FIFO leaves the free node idle until the head runs.
    let fifo = run(Policy::Fifo, fleet, jobs).metrics;
    assert!(out.metrics.jct_mean_s < fifo.jct_mean_s);
}

#[test]
fn fifo_het_takes_the_fastest_type_and_las_het_shares_by_gain() {
    // t0 is slow for everyone; job 0 gains 4x on t1, job 1 only 1.25x.
    let fleet = fleet_spec(2, 1, &[(0, 0, 1, 1, 1), (1, 0, 1, 1, 1)]).allow_all(1);
    let jobs = vec![
        job(1, 0, 4000.0, &[1.0, 1.25], 0),
        job(1, 0, 4000.0, &[1.0, 4.0], 0),
    ];
    let het = run(Policy::FifoHet, fleet.clone(), jobs.clone());
    // Job 0 arrives first and takes t1 (1.25/s): 3200 s; job 1 on t0: 4000 s.
    assert_eq!(het.metrics.makespan_s, 4000);
    let las_het = run(Policy::LasHet, fleet, jobs);
    // Gain-ordered: job 1 on t1 (1000 s), job 0 on t0 (4000 s); JCT mean 2500.
    assert_eq!(las_het.metrics.completed, 2);
    assert!(
        las_het.metrics.jct_mean_s < het.metrics.jct_mean_s,
        "{:?}",
        las_het.metrics
    );
}

#[test]
fn las_shares_by_attained_service_in_rounds() {
    // One accelerator, two equal jobs: LAS alternates them each round; both finish near 2x.
    let fleet = fleet_spec(1, 1, &[(0, 0, 1, 1, 1)]).allow_all(1);
    let jobs = vec![job(1, 0, 720.0, &[1.0], 0), job(1, 0, 720.0, &[1.0], 0)];
    let m = run(Policy::Las, fleet, jobs).metrics;
    assert_eq!(m.completed, 2);
    assert!(m.preemptions >= 1);
    assert_eq!(m.makespan_s, 1440);
}

#[test]
fn prohibited_jobs_are_rejected_with_the_rule() {
    let fleet = fleet_with_denials(fleet_spec(1, 1, &[(0, 0, 1, 4, 1)]), 2, &[(1, 0)]);
    let jobs = vec![job(1, 0, 10.0, &[1.0], 0), job(1, 0, 10.0, &[1.0], 1)];
    let out = run(Policy::Fifo, fleet.clone(), jobs.clone());
    assert_eq!(out.metrics.completed, 1);
    assert_eq!(out.metrics.rejected["prohibited"], 1);
    let r = xpufleet_sched::never_runnable(&fleet, &jobs[1]).unwrap();
    match &r {
        Reason::Prohibited { rule, site, .. } => {
            assert_eq!(rule.as_deref(), Some("test/table"));
            assert_eq!(site, "s0");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn cost_picks_the_cheapest_type_that_meets_the_deadline() {
    // t0 costs 1 $/h and runs at 1/s; t1 costs 2 $/h and runs at 1.5/s: t0 is cheaper, t1 faster.
    let fleet = fleet_spec(2, 1, &[(0, 0, 1, 1, 1), (1, 0, 1, 1, 1)]).allow_all(1);
    let mut loose = job(1, 0, 1000.0, &[1.0, 1.5], 0);
    loose.deadline = Some(xpufleet_model::SimTime(2000));
    let mut tight = job(1, 0, 1000.0, &[1.0, 1.5], 0);
    tight.deadline = Some(xpufleet_model::SimTime(800));
    let start_type = |out: &Outcome| match out
        .log
        .iter()
        .find(|e| matches!(e, xpufleet_sim::LogEvent::Start { .. }))
    {
        Some(xpufleet_sim::LogEvent::Start { accel_type, .. }) => accel_type.clone(),
        _ => unreachable!(),
    };
    assert_eq!(
        start_type(&run(Policy::Cost, fleet.clone(), vec![loose])),
        "t0"
    );
    assert_eq!(start_type(&run(Policy::Cost, fleet, vec![tight])), "t1");
}

#[test]
fn waiting_jobs_carry_named_reasons() {
    use xpufleet_model::SimTime;
    use xpufleet_sched::{schedule, Options, Queue};
    // One 4-accelerator node, 2 busy until t=100 (job 0). Job 1 wants 4 (head), job 2 wants 1.
    let mut fleet = fleet_with_denials(fleet_spec(1, 1, &[(0, 0, 1, 4, 1)]), 2, &[(1, 0)]);
    let mut q = Queue::new(vec![
        job(2, 0, 100.0, &[1.0], 0),
        job(4, 1, 10.0, &[1.0], 0),
        job(1, 2, 500.0, &[1.0], 0),
        job(1, 3, 10.0, &[1.0], 1),
        job(9, 4, 10.0, &[1.0], 0),
    ]);
    let slots = vec![xpufleet_sched::Slot {
        pool: 0,
        node: 0,
        count: 2,
    }];
    fleet.allocate(0, false, &slots).unwrap();
    q.set_running(
        0,
        xpufleet_sched::Running {
            slots,
            accel_type: 0,
            started: SimTime(0),
            expected_end: SimTime(100),
        },
    );
    for i in 1..5 {
        q.enqueue(i);
    }
    let explain = Options {
        explain: true,
        rounds: false,
        hold_s: 0,
    };
    let names = |policy| {
        let p = schedule(policy, &fleet, &q, SimTime(5), explain);
        (
            p.decisions.len(),
            p.waiting
                .iter()
                .map(|(j, r)| (*j, r.name()))
                .collect::<Vec<_>>(),
        )
    };
    assert_eq!(
        names(Policy::Fifo),
        (
            0,
            vec![
                (1, "no-capacity"),
                (2, "behind-head"),
                (3, "behind-head"),
                (4, "behind-head")
            ]
        )
    );
    // Job 2 (500 s) would delay the head's reservation at t=100; job 3 is prohibited; job 4
    // is larger than the fleet.
    let (n, why) = names(Policy::EasyBackfill);
    assert_eq!(n, 0);
    assert_eq!(
        why,
        vec![
            (1, "no-capacity"),
            (2, "blocked-by-reservation"),
            (3, "prohibited"),
            (4, "too-large")
        ]
    );
}

#[test]
fn a_whole_fleet_gang_under_constant_failures_still_ends() {
    // Four accelerators that fail about hourly each and take a day to repair: a 4-gang rarely
    // finds all four up. The run must end (done or given up), replay clean and say so.
    let fleet = fleet_spec(1, 1, &[(0, 0, 1, 4, 1)]).allow_all(1);
    let jobs = vec![job(4, 0, 7200.0, &[1.0], 0), job(1, 10, 60.0, &[1.0], 0)];
    let mut cfg = Config::new(Policy::Fifo);
    cfg.log = true;
    cfg.failures = Some(xpufleet_sim::Failures {
        rate_per_chip_hour: 1.0,
        repair_s: 86_400,
        checkpoint_interval_s: 600,
    });
    let out = simulate(fleet, jobs, &cfg, &mut |_, _| {});
    let m = &out.metrics;
    assert!(m.failures > 0);
    assert_eq!(m.completed + m.unfinished, 2, "{m:?}");
    xpufleet_sim::check::replay(&xpufleet_sim::to_jsonl(&out.log)).unwrap();
}
