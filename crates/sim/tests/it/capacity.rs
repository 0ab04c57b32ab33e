//! Capacity events: pools that arrive (a purchase delivered) and leave (a lease ended) while
//! the simulation runs, checked event by event and by the independent checker.

use xpufleet_model::SimTime;
use xpufleet_sched::Policy;
use xpufleet_sim::{
    check, simulate_over_time, to_jsonl, CapacityEvent, Config, Limits, LogEvent, Outcome,
};

use crate::support::*;

fn run(pools: &[PoolDef], events: &[CapacityEvent], policy: Policy, work: f64) -> Outcome {
    let fleet = fleet_with_denials(fleet_spec(1, 1, pools), 1, &[]);
    let jobs = vec![job(8, 0, work, &[1.0], 0)];
    let mut cfg = Config::new(policy);
    cfg.log = true;
    simulate_over_time(fleet, jobs, &cfg, Limits::default(), events, &mut |_, _| {})
}

fn at(t: u64, pool: u32, present: bool) -> CapacityEvent {
    CapacityEvent {
        t: SimTime(t),
        pool,
        present,
    }
}

/// (time, what) of each start, preemption and finish.
fn story(o: &Outcome) -> Vec<(u64, String)> {
    o.log
        .iter()
        .filter_map(|e| match e {
            LogEvent::Start { t, slots, .. } => Some((t.0, format!("start on {}", slots[0][0]))),
            LogEvent::Preempt { t, .. } => Some((t.0, "stop".into())),
            LogEvent::Finish { t, .. } => Some((t.0, "finish".into())),
            _ => None,
        })
        .collect()
}

#[test]
fn a_job_waits_for_the_pool_that_arrives() {
    let o = run(
        &[(0, 0, 2, 4, 1)],
        &[at(1000, 0, true)],
        Policy::Fifo,
        100.0,
    );
    assert_eq!(
        story(&o),
        [(1000, "start on 0".into()), (1100, "finish".into())]
    );
    assert_eq!(o.metrics.completed, 1);
    check::replay(&to_jsonl(&o.log)).unwrap();
    // Without the arrival line the checker sees a start on an absent pool.
    let tampered: Vec<LogEvent> = o
        .log
        .iter()
        .filter(|e| !matches!(e, LogEvent::Capacity { present: true, .. }))
        .cloned()
        .collect();
    let e = check::replay(&to_jsonl(&tampered)).unwrap_err();
    assert!(e.what.contains("capacity exceeded"), "{e}");
}

#[test]
fn a_lease_that_ends_stops_its_job_which_resumes_on_the_next_delivery() {
    // Pool 0 leaves at 50 with the job half done; pool 1 arrives at 200.
    let o = run(
        &[(0, 0, 2, 4, 1), (0, 0, 2, 4, 1)],
        &[at(50, 0, false), at(200, 1, true)],
        Policy::Fifo,
        100.0,
    );
    assert_eq!(
        story(&o),
        [
            (0, "start on 0".into()),
            (50, "stop".into()),
            (200, "start on 1".into()),
            (250, "finish".into())
        ]
    );
    check::replay(&to_jsonl(&o.log)).unwrap();
    // A log that leaves out the stop has the pool leave with its job on it.
    let tampered: Vec<LogEvent> = o
        .log
        .iter()
        .filter(|e| !matches!(e, LogEvent::Preempt { .. }))
        .cloned()
        .collect();
    let e = check::replay(&to_jsonl(&tampered)).unwrap_err();
    assert!(e.what.contains("leaves with jobs still on"), "{e}");
}

#[test]
fn a_round_policy_waits_a_year_for_a_delivery_and_nothing_runs_after_the_last_lease() {
    let year = 365 * 86_400;
    let o = run(&[(0, 0, 2, 4, 1)], &[at(year, 0, true)], Policy::Las, 100.0);
    assert_eq!(o.metrics.completed, 1, "{:?}", story(&o));
    assert!(story(&o)[0].0 >= year);
    check::replay(&to_jsonl(&o.log)).unwrap();
    // The only pool leaves for good before the job is done: it stays unfinished, and the run
    // ends rather than waiting for ever.
    let o = run(&[(0, 0, 2, 4, 1)], &[at(50, 0, false)], Policy::Las, 100.0);
    assert_eq!((o.metrics.completed, o.metrics.unfinished), (0, 1));
    check::replay(&to_jsonl(&o.log)).unwrap();
}
