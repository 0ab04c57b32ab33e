//! Issue 17: no input makes a simulation endless. Each reproducer from the black-box campaign
//! runs under limits small enough to keep the test fast, and must stop, say why, and never
//! report a job "completed" at a saturated time.

use xpufleet_sched::Policy;
use xpufleet_sim::{simulate, simulate_with_limits, Config, Failures, Limits, Outcome, Stopped};

use crate::support::*;

fn one_pool() -> xpufleet_sched::FleetState {
    fleet_with_denials(fleet_spec(1, 1, &[(0, 0, 2, 8, 1)]), 1, &[])
}

fn run(jobs: Vec<xpufleet_sched::Job>, cfg: &Config, limits: Limits) -> Outcome {
    simulate_with_limits(one_pool(), jobs, cfg, limits, &mut |_, _| {})
}

fn small_limits() -> Limits {
    Limits {
        max_sim_s: 10 * 365 * 86_400,
        max_events: 200_000,
        ..Limits::default()
    }
}

/// A job of 1e30 units of work at rate 1 would end at 2^64 s: it is unfinished, not
/// "completed" with a makespan of 2^64 s.
#[test]
fn issue_17_an_endless_job_is_unfinished_not_completed_at_u64_max() {
    for policy in [Policy::Fifo, Policy::EasyBackfill] {
        let jobs = vec![job(8, 0, 1e30, &[1.0], 0), job(8, 10, 100.0, &[1.0], 0)];
        let out = run(jobs, &Config::new(policy), small_limits());
        assert_eq!(out.metrics.completed, 1, "{policy:?}: {:?}", out.metrics);
        assert_eq!(out.metrics.unfinished, 1);
        assert!(out.metrics.makespan_s < 1000, "{:?}", out.metrics);
        assert_eq!(
            out.stopped,
            Some(Stopped::SimTime {
                max_sim_s: small_limits().max_sim_s
            })
        );
    }
}

/// Round-based policies plan a round every `round_s` for as long as one job runs: a very long
/// job once meant billions of rounds. The event limit stops it.
#[test]
fn issue_17_round_policies_stop_on_one_very_long_job() {
    for policy in [Policy::Las, Policy::LasHet, Policy::FinishTime] {
        let mut cfg = Config::new(policy);
        cfg.round_s = Some(1);
        let out = run(vec![job(8, 0, 1e30, &[1.0], 0)], &cfg, small_limits());
        assert_eq!(out.metrics.completed, 0, "{policy:?}");
        assert!(
            matches!(
                out.stopped,
                Some(Stopped::Events {
                    max_events: 200_000,
                    ..
                })
            ),
            "{policy:?}: {:?}",
            out.stopped
        );
        assert!(out.metrics.events <= 200_000);
    }
}

/// A submit time near `u64::MAX` (a trace's `i64::MAX`) lies beyond the simulated-time limit:
/// the early job completes, the late one is left unfinished, and the run ends.
#[test]
fn issue_17_a_submit_time_near_the_end_of_time_stops_the_run() {
    let jobs = vec![
        job(8, 0, 100.0, &[1.0], 0),
        job(8, i64::MAX as u64, 100.0, &[1.0], 0),
    ];
    let out = run(jobs, &Config::new(Policy::Fifo), small_limits());
    assert_eq!(out.metrics.completed, 1);
    assert_eq!(out.metrics.unfinished, 1);
    assert_eq!(out.metrics.makespan_s, 100);
    assert!(out.stopped.is_some());
}

/// A failure rate far above any real one (1000 per accelerator-hour) under the default
/// failures settings: the work limit ends the run.
#[test]
fn issue_17_a_huge_failure_rate_stops_at_the_work_limit() {
    let mut cfg = Config::new(Policy::Fifo);
    cfg.failures = Some(Failures {
        rate_per_chip_hour: 1000.0,
        repair_s: 4 * 3600,
        checkpoint_interval_s: 1800,
    });
    let out = run(vec![job(8, 0, 1e6, &[1.0], 0)], &cfg, small_limits());
    assert!(out.stopped.is_some(), "{:?}", out.metrics);
    assert!(out.metrics.events <= 200_000);
}

/// Ordinary runs never meet the default limits, and say so.
#[test]
fn ordinary_runs_are_not_stopped() {
    let jobs = (0..50).map(|i| job(4, i * 10, 500.0, &[1.0], 0)).collect();
    let out = simulate(one_pool(), jobs, &Config::new(Policy::Fifo), &mut |_, _| {});
    assert_eq!(out.stopped, None);
    assert_eq!(out.metrics.completed, 50);
}

/// A job that ran for months and then failed once ended the run at once (the idle clock
/// counted from its start) and reported utilisation above 100%. It restarts, and the run goes
/// on to the work limit with utilisation at most 100%.
#[test]
fn issue_17_a_failure_after_months_restarts_the_job() {
    for policy in [Policy::Fifo, Policy::Las] {
        let mut cfg = Config::new(policy);
        cfg.failures = Some(Failures {
            rate_per_chip_hour: 1e-4,
            repair_s: 3600,
            checkpoint_interval_s: 1800,
        });
        cfg.log = true;
        let limits = Limits {
            max_sim_s: 20 * 365 * 86_400,
            max_events: 2_000_000,
            ..Limits::default()
        };
        let out = run(vec![job(8, 0, 1e30, &[1.0], 0)], &cfg, limits);
        let starts = out
            .log
            .iter()
            .filter(|e| matches!(e, xpufleet_sim::LogEvent::Start { .. }))
            .count();
        assert!(out.metrics.failures >= 1, "{policy:?}: {:?}", out.metrics);
        assert!(
            starts >= 2,
            "{policy:?}: restarted after a failure: {:?}",
            out.metrics
        );
        assert!(out.stopped.is_some(), "{policy:?}");
        let u = out.metrics.utilization["t0"];
        assert!(u > 0.0 && u <= 1.0, "{policy:?}: utilisation {u}");
    }
}

/// Issue 23 item 6: a computation the server abandons stops within `cancel::CHECK_EVERY`
/// events of its flag being set, says so, and leaves its jobs unfinished.
#[test]
fn issue_23_a_cancelled_run_stops_and_says_so() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let flag = Arc::new(AtomicBool::new(false));
    let mut cfg = Config::new(Policy::Las);
    cfg.round_s = Some(1);
    let seen = flag.clone();
    let out = xpufleet_sim::cancel::scope(flag.clone(), || {
        simulate_with_limits(
            one_pool(),
            vec![job(8, 0, 1e30, &[1.0], 0)],
            &cfg,
            small_limits(),
            // Asked to stop from outside once the run is under way (here: at its first progress
            // report after the start).
            &mut |_, _| seen.store(true, Ordering::Relaxed),
        )
    });
    assert!(
        matches!(out.stopped, Some(Stopped::Cancelled { .. })),
        "{:?}",
        out.stopped
    );
    assert!(
        out.metrics.events <= xpufleet_sim::cancel::CHECK_EVERY + 1,
        "{:?}",
        out.metrics
    );
    assert_eq!(out.metrics.completed, 0);
    // Without a flag the same run goes on to the event limit.
    let out = run(vec![job(8, 0, 1e30, &[1.0], 0)], &cfg, small_limits());
    assert!(matches!(out.stopped, Some(Stopped::Events { .. })));
}

/// Issue 27 item 7: two gangs that each need the whole pool under `las`, with 360 s rounds, a
/// 600 s restore and 1,800 s between checkpoints. Without a hold every round hands the pool to
/// the other gang before its restore ends, so neither ever progresses and only the work limit
/// ends the run; with the default hold (restore plus one checkpoint interval) each gang keeps
/// the pool until it has checkpointed 1,800 s of progress, and both finish after a few dozen
/// restarts.
#[test]
fn issue_27_las_keeps_a_gang_placed_until_its_next_checkpoint() {
    let jobs = || {
        vec![
            job(16, 0, 86_400.0, &[1.0], 0),
            job(16, 0, 86_400.0, &[1.0], 0),
        ]
    };
    let mut cfg = Config::new(Policy::Las);
    cfg.log = true;
    cfg.restart_delay_s = 600;
    cfg.failures = Some(Failures {
        rate_per_chip_hour: 0.0,
        repair_s: 3600,
        checkpoint_interval_s: 1800,
    });
    assert_eq!(cfg.effective_hold_s(), 2400);

    let held = run(jobs(), &cfg, small_limits());
    assert_eq!(held.stopped, None);
    assert_eq!(held.metrics.completed, 2);
    let starts = held
        .log
        .iter()
        .filter(|e| matches!(e, xpufleet_sim::LogEvent::Start { .. }))
        .count();
    // Two days of work in turns of at least 1,800 s of progress: at most 96 turns.
    assert!(starts <= 2 * 86_400 / 1800 + 2, "{starts} starts");
    assert!(held.metrics.preemptions > 0, "the gangs still take turns");

    cfg.hold_s = Some(0);
    let churned = run(jobs(), &cfg, small_limits());
    assert!(
        matches!(churned.stopped, Some(Stopped::Events { .. })),
        "{:?}",
        churned.stopped
    );
    assert_eq!(churned.metrics.completed, 0);
}

/// Issue 27 item 4: a moldable job (min 32 / max 128) arriving when 64 of 128 accelerators are
/// free starts at 64 with the rates of 64, its `arrive` line says its smallest gang, and the
/// independent checker accepts the smaller gang.
#[test]
fn issue_27_a_moldable_job_starts_at_the_size_that_fits() {
    let fleet = fleet_with_denials(fleet_spec(1, 1, &[(0, 0, 16, 8, 1)]), 1, &[]);
    let mut moldable = job(128, 10, 6400.0, &[128.0], 0);
    moldable.smaller = vec![(64, vec![64.0].into()), (32, vec![32.0].into())].into();
    let jobs = vec![job(64, 0, 64_000.0, &[64.0], 0), moldable];
    let mut cfg = Config::new(Policy::Fifo);
    cfg.log = true;
    let out = simulate_with_limits(fleet, jobs, &cfg, small_limits(), &mut |_, _| {});
    let start = out
        .log
        .iter()
        .find_map(|e| match e {
            xpufleet_sim::LogEvent::Start {
                t, job: 1, slots, ..
            } => Some((*t, slots.iter().map(|s| s[2]).sum::<u32>())),
            _ => None,
        })
        .unwrap();
    assert_eq!(start, (xpufleet_model::SimTime(10), 64));
    // 6,400 units at 64 a second: done 100 s after its start.
    let end = out.log.iter().find_map(|e| match e {
        xpufleet_sim::LogEvent::Finish { t, job: 1 } => Some(*t),
        _ => None,
    });
    assert_eq!(end, Some(xpufleet_model::SimTime(110)));
    let jsonl = xpufleet_sim::to_jsonl(&out.log);
    assert!(jsonl.contains("\"min_accels\":32"), "{jsonl}");
    xpufleet_sim::check::replay(&jsonl).unwrap();
}
