//! The independent checker catches corrupted logs.

use xpufleet_sched::Policy;
use xpufleet_sim::{check, simulate, to_jsonl, Config, LogEvent};

use crate::support::*;

fn clean_log() -> Vec<LogEvent> {
    // Two pools of 2x4; tenant 1 may not use pool 1.
    let fleet = fleet_with_denials(
        fleet_spec(1, 1, &[(0, 0, 2, 4, 1), (0, 0, 2, 4, 1)]),
        2,
        &[(1, 1)],
    );
    let jobs = vec![
        job(8, 0, 100.0, &[1.0], 0),
        job(4, 0, 50.0, &[1.0], 1),
        job(4, 10, 50.0, &[1.0], 0),
        job(2, 20, 10.0, &[1.0], 1),
    ];
    let mut cfg = Config::new(Policy::Fifo);
    cfg.log = true;
    simulate(fleet, jobs, &cfg, &mut |_, _| {}).log
}

fn replay(events: &[LogEvent]) -> Result<check::Replayed, check::Violation> {
    check::replay(&to_jsonl(events))
}

#[test]
fn a_clean_log_passes() {
    let log = clean_log();
    let r = replay(&log).unwrap();
    assert_eq!((r.arrivals, r.starts, r.finishes), (4, 4, 4));
    // Tenant 1 is denied pool 1 and pool 0 is full, so FIFO holds the queue: 8 at most.
    assert_eq!(r.peak_in_use, 8);
}

fn first_start(log: &mut [LogEvent]) -> &mut LogEvent {
    log.iter_mut()
        .find(|e| matches!(e, LogEvent::Start { .. }))
        .unwrap()
}

#[test]
fn an_oversized_slot_is_caught() {
    let mut log = clean_log();
    if let LogEvent::Start { slots, .. } = first_start(&mut log) {
        slots[0][2] += 1;
    }
    let e = replay(&log).unwrap_err();
    assert!(
        e.what.contains("gang") || e.what.contains("capacity"),
        "{e}"
    );
}

#[test]
fn a_split_gang_is_caught() {
    let mut log = clean_log();
    if let LogEvent::Start { slots, .. } = first_start(&mut log) {
        slots.pop();
    }
    let e = replay(&log).unwrap_err();
    assert!(e.what.contains("gang of job"), "{e}");
}

#[test]
fn double_booking_is_caught() {
    let mut log = clean_log();
    // Move every start to node 0 of pool 0.
    for e in &mut log {
        if let LogEvent::Start { slots, .. } = e {
            for s in slots.iter_mut() {
                s[0] = 0;
                s[1] = 0;
            }
        }
    }
    let e = replay(&log).unwrap_err();
    assert!(
        e.what.contains("capacity exceeded") || e.what.contains("repeated"),
        "{e}"
    );
}

#[test]
fn placement_against_a_verdict_is_caught() {
    let mut log = clean_log();
    // Tenant 1's job (job 1) moved onto pool 1, which it is denied.
    for e in &mut log {
        if let LogEvent::Start { job: 1, slots, .. } = e {
            for s in slots.iter_mut() {
                s[0] = 1;
            }
        }
    }
    let e = replay(&log).unwrap_err();
    assert!(e.what.contains("denied"), "{e}");
}

#[test]
fn a_lost_finish_and_garbage_are_caught() {
    let mut log = clean_log();
    let i = log
        .iter()
        .position(|e| matches!(e, LogEvent::Finish { .. }))
        .unwrap();
    log.remove(i);
    assert!(replay(&log).is_err());
    assert!(check::replay("{\"ev\":\"nope\"}\n").is_err());
    let text = to_jsonl(&clean_log()).replace("\"t\":0,", "\"t\":99999,");
    assert!(check::replay(&text)
        .unwrap_err()
        .what
        .contains("time goes back"));
}
