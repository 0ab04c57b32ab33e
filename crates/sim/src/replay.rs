//! Reading an event log back: per-job history, busy accelerators per pool over time, and the
//! accelerator-seconds each pool ran. `xpufleet run` turns a simulation's log into the report's
//! job table, utilisation curves and cost with it; it replays what happened and schedules nothing.

use std::collections::BTreeMap;

use crate::log::LogEvent;

/// What the event log says about one job.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobTrace {
    pub first_start: Option<u64>,
    pub end: Option<u64>,
    pub rejected: Option<String>,
    pub running: bool,
    /// Pools of its latest start, in slot order.
    pub pools: Vec<usize>,
    pub accels: u32,
}

/// Busy accelerators from `t_s` on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BusyPoint {
    pub t_s: u64,
    pub busy: u64,
}

/// The event log read back.
#[derive(Debug, Clone, Default)]
pub struct Replay {
    pub jobs: Vec<JobTrace>,
    /// (time, pool, change in busy accelerators), in log order.
    pub changes: Vec<(u64, usize, i64)>,
    /// Accelerator-seconds used, per pool.
    pub chip_seconds: Vec<f64>,
    /// Time of the last event.
    pub last_t: u64,
}

impl Replay {
    /// Busy accelerators over the given pools as a step function, one point per time, without
    /// points that repeat the previous value.
    pub fn busy_series(&self, pools: &[usize]) -> Vec<BusyPoint> {
        let mut pts = vec![BusyPoint { t_s: 0, busy: 0 }];
        let mut busy: i64 = 0;
        for &(t, p, d) in &self.changes {
            if !pools.contains(&p) {
                continue;
            }
            busy += d;
            let point = BusyPoint {
                t_s: t,
                busy: busy.max(0) as u64,
            };
            match pts.last_mut() {
                Some(last) if last.t_s == t => *last = point,
                _ => pts.push(point),
            }
        }
        pts.dedup_by(|b, a| a.busy == b.busy);
        pts
    }
}

/// Accelerators a running job holds: (start time, (pool, accelerators) per pool).
type Held = BTreeMap<usize, (u64, Vec<(usize, u32)>)>;

/// Replays `log` of a simulation of `n_jobs` jobs on `n_pools` pools. Jobs still holding
/// accelerators at the last event count as running and as using them until then.
pub fn replay_log(log: &[LogEvent], n_jobs: usize, n_pools: usize) -> Replay {
    let mut jobs = vec![JobTrace::default(); n_jobs];
    let mut held: Held = BTreeMap::new();
    let mut changes = Vec::new();
    let mut chip_seconds = vec![0.0; n_pools];
    let mut last_t = 0;
    let mut release =
        |job: usize, t: u64, held: &mut Held, changes: &mut Vec<(u64, usize, i64)>| {
            if let Some((start, slots)) = held.remove(&job) {
                for (p, n) in slots {
                    if let Some(cs) = chip_seconds.get_mut(p) {
                        *cs += n as f64 * t.saturating_sub(start) as f64;
                    }
                    changes.push((t, p, -(n as i64)));
                }
            }
        };
    for ev in log {
        if let Some(t) = ev.time() {
            last_t = last_t.max(t.secs());
        }
        match ev {
            LogEvent::Start { t, job, slots, .. } => {
                let j = *job as usize;
                let t = t.secs();
                let mut by_pool: Vec<(usize, u32)> = Vec::new();
                for [pool, _node, count] in slots {
                    let p = *pool as usize;
                    match by_pool.iter_mut().find(|(q, _)| *q == p) {
                        Some(e) => e.1 += count,
                        None => by_pool.push((p, *count)),
                    }
                }
                for &(p, n) in &by_pool {
                    changes.push((t, p, n as i64));
                }
                if let Some(jt) = jobs.get_mut(j) {
                    jt.first_start.get_or_insert(t);
                    jt.running = true;
                    jt.pools = by_pool.iter().map(|x| x.0).collect();
                    jt.accels = by_pool.iter().map(|x| x.1).sum();
                }
                held.insert(j, (t, by_pool));
            }
            LogEvent::Finish { t, job } => {
                let j = *job as usize;
                release(j, t.secs(), &mut held, &mut changes);
                if let Some(jt) = jobs.get_mut(j) {
                    jt.end = Some(t.secs());
                    jt.running = false;
                }
            }
            LogEvent::Preempt { t, job }
            | LogEvent::Fail {
                t, job: Some(job), ..
            } => {
                let j = *job as usize;
                release(j, t.secs(), &mut held, &mut changes);
                if let Some(jt) = jobs.get_mut(j) {
                    jt.running = false;
                }
            }
            LogEvent::Reject { job, reason, .. } => {
                if let Some(jt) = jobs.get_mut(*job as usize) {
                    jt.rejected = Some(reason.clone());
                }
            }
            _ => {}
        }
    }
    let still: Vec<usize> = held.keys().copied().collect();
    for j in still {
        release(j, last_t, &mut held, &mut changes);
        if let Some(jt) = jobs.get_mut(j) {
            jt.running = true;
        }
    }
    Replay {
        jobs,
        changes,
        chip_seconds,
        last_t,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use xpufleet_model::SimTime;

    fn start(t: u64, job: u32, slots: Vec<[u32; 3]>) -> LogEvent {
        LogEvent::Start {
            t: SimTime(t),
            job,
            accel_type: "x".into(),
            slots,
        }
    }

    #[test]
    fn replay_counts_busy_accelerators_and_chip_seconds() {
        let log = vec![
            start(0, 0, vec![[0, 0, 8], [0, 1, 8]]),
            start(10, 1, vec![[1, 0, 4]]),
            LogEvent::Preempt {
                t: SimTime(20),
                job: 1,
            },
            LogEvent::Finish {
                t: SimTime(100),
                job: 0,
            },
            LogEvent::Reject {
                t: SimTime(5),
                job: 2,
                reason: "too large".into(),
            },
        ];
        let r = replay_log(&log, 3, 2);
        assert_eq!(r.chip_seconds, vec![1600.0, 40.0]);
        assert_eq!(r.jobs[0].first_start, Some(0));
        assert_eq!(r.jobs[0].end, Some(100));
        assert_eq!(r.jobs[0].accels, 16);
        assert!(!r.jobs[1].running && r.jobs[1].end.is_none());
        assert_eq!(r.jobs[2].rejected.as_deref(), Some("too large"));
        let s = r.busy_series(&[0, 1]);
        let pts: Vec<(u64, u64)> = s.iter().map(|p| (p.t_s, p.busy)).collect();
        assert_eq!(pts, vec![(0, 16), (10, 20), (20, 16), (100, 0)]);
        assert_eq!(r.last_t, 100);
    }

    #[test]
    fn a_job_running_at_the_end_uses_its_accelerators_until_the_last_event() {
        let log = vec![
            start(0, 0, vec![[0, 0, 2]]),
            LogEvent::Finish {
                t: SimTime(50),
                job: 1,
            },
        ];
        let r = replay_log(&log, 2, 1);
        assert_eq!(r.chip_seconds, vec![100.0]);
        assert!(r.jobs[0].running);
    }
}
