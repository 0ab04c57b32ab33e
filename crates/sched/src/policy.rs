//! Policies and one scheduling pass: feasibility (`feasibility.rs`) → ranking (one
//! scoring function per policy, `score.rs`) → reservations (`reserve.rs`, EASY
//! backfill) → placement, with a named reason for every job left waiting. Round policies plan
//! from a job order instead (`rounds.rs`).

use serde::{Deserialize, Serialize};
use xpufleet_model::SimTime;

use crate::feasibility::{candidates, miss_reason, Miss};
use crate::fleet::{FleetState, Scratch, Slot, TypeIdx};
use crate::queue::{JobId, Queue};
use crate::reason::Reason;
use crate::reserve::{reserve, Profiles, Reservation};
use crate::rounds::{plans_rounds, schedule_rounds};
use crate::score::{
    cheapest_meeting_deadline, fastest_fewest_nodes, fewest_nodes_most_room, finish_time,
    FinishPick,
};

/// A scheduling policy, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Policy {
    /// Strict arrival order; the head job blocks the queue.
    Fifo,
    /// Arrival order with a reservation for the head job; later jobs start early only if they do
    /// not delay it (Slurm's EASY backfill).
    EasyBackfill,
    /// Least attained service (accelerator-seconds), in rounds, preemptive, blind to speed
    /// differences between types (Gavel's `max_min_fairness`).
    Las,
    /// Least attained normalised service, in rounds, preemptive; types go to the jobs that gain
    /// most from them (Gavel's `max_min_fairness_perf`).
    LasHet,
    /// Arrival order, each job on the fastest allowed type with room; jobs that do not fit are
    /// passed over (Gavel's `fifo_perf`).
    FifoHet,
    /// Each job where it would finish first, counting the wait for a busy faster type.
    FinishTime,
    /// The cheapest placement that meets the job's deadline (the fastest when none does).
    Cost,
}

impl Policy {
    pub const ALL: [Policy; 7] = [
        Policy::Fifo,
        Policy::EasyBackfill,
        Policy::Las,
        Policy::LasHet,
        Policy::FifoHet,
        Policy::FinishTime,
        Policy::Cost,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Policy::Fifo => "fifo",
            Policy::EasyBackfill => "easy-backfill",
            Policy::Las => "las",
            Policy::LasHet => "las-het",
            Policy::FifoHet => "fifo-het",
            Policy::FinishTime => "finish-time",
            Policy::Cost => "cost",
        }
    }

    /// Preempts running jobs (and so needs rounds).
    pub fn preemptive(self) -> bool {
        matches!(self, Policy::Las | Policy::LasHet)
    }
}

impl std::fmt::Display for Policy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Policy {
    type Err = String;
    fn from_str(s: &str) -> Result<Policy, String> {
        Policy::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Policy::ALL.iter().map(|p| p.name()).collect();
                format!("unknown policy {s:?}; expected one of {}", names.join(", "))
            })
    }
}

/// One thing the scheduler wants done.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "do", rename_all = "kebab-case")]
pub enum Decision {
    /// Start (or restart) a waiting job on these slots, all at once.
    Start {
        job: JobId,
        accel_type: TypeIdx,
        slots: Vec<Slot>,
    },
    /// Stop a running job and put it back in the queue.
    Preempt { job: JobId },
}

/// Decisions, preemptions first, plus (when asked) why each job left waiting waits.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    pub decisions: Vec<Decision>,
    pub waiting: Vec<(JobId, Reason)>,
}

/// Knobs of one scheduling pass.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Give a reason for every waiting job (costs a pass over the whole queue).
    pub explain: bool,
    /// The caller schedules in rounds (Gavel's mechanism): `fifo-het` then re-plans the whole
    /// allocation each round in arrival order, so a running job moves to a faster type when one
    /// frees, as Gavel's `fifo_perf` does.
    pub rounds: bool,
    /// Seconds a round plan keeps a job on the accelerators it was (re)started on, whatever its
    /// rank (0: none, as in Gavel): a job within its hold is neither preempted nor moved.
    /// A simulator sets it to the restore delay plus one checkpoint interval, so that every
    /// preemption falls after a checkpoint the job paid its restore for (docs/scheduling.md).
    pub hold_s: u64,
}

/// One scheduling pass: the fleet and queue as they are at `now` in, decisions out.
pub fn schedule(
    policy: Policy,
    fleet: &FleetState,
    queue: &Queue,
    now: SimTime,
    opts: Options,
) -> Plan {
    if plans_rounds(policy, opts) {
        schedule_rounds(policy, fleet, queue, now, opts)
    } else {
        schedule_queue(policy, fleet, queue, now, opts)
    }
}

fn schedule_queue(
    policy: Policy,
    fleet: &FleetState,
    queue: &Queue,
    now: SimTime,
    opts: Options,
) -> Plan {
    let mut s = Scratch::new(fleet);
    let mut plan = Plan::default();
    let mut total_free: u64 = s.free_by_type.iter().sum();
    let mut head: Option<JobId> = None;
    let mut reservation: Option<Option<Reservation>> = None;
    let mut profiles: Option<Profiles> = None;
    let mut cands = Vec::new();
    let mut failed: Vec<((u64, u32, bool), u32)> = Vec::new();
    // finish-time: accelerators of each type that jobs earlier in this pass decided to wait for.
    let mut claimed = vec![0u64; fleet.types.len()];
    for &(_, _, id) in &queue.waiting {
        let job = &queue.jobs[id as usize];
        let st = &queue.state[id as usize];
        if policy == Policy::Fifo {
            if let Some(h) = head {
                if !opts.explain {
                    break;
                }
                plan.waiting.push((id, Reason::BehindHead { head: h }));
                continue;
            }
        }
        let class = (job.allowed, job.tenant, job.may_span_sites);
        if !opts.explain {
            if total_free == 0 {
                break;
            }
            // The plan only takes capacity, so a job like one that already found no room
            // (same types, tenant and spread, at least as large) finds none either.
            let need = job.min_accels();
            let hopeless = total_free < u64::from(need)
                || failed.iter().any(|&(c, k)| c == class && k <= need);
            if hopeless {
                if policy == Policy::Fifo {
                    break;
                }
                if head.is_none() && policy == Policy::EasyBackfill {
                    head = Some(id);
                }
                continue;
            }
        }
        let mut miss = Miss::default();
        candidates(&s, job, &mut cands, &mut miss);
        // A moldable job that does not fit whole starts at the largest of its smaller sizes
        // that fits now (Sia and Pollux start such jobs at what is free); its rates are the
        // performance model's at that size.
        let smaller;
        let mut job = job;
        if cands.is_empty() {
            for i in 0..job.smaller.len() {
                let view = job.at_smaller(i);
                if total_free < u64::from(view.accels) {
                    continue;
                }
                candidates(&s, &view, &mut cands, &mut Miss::default());
                if !cands.is_empty() {
                    smaller = view;
                    job = &smaller;
                    break;
                }
            }
        }
        if cands.is_empty() {
            let need = job.min_accels();
            match failed.iter_mut().find(|(c, _)| *c == class) {
                Some((_, k)) => *k = (*k).min(need),
                None => failed.push((class, need)),
            }
            if head.is_none() && matches!(policy, Policy::Fifo | Policy::EasyBackfill) {
                head = Some(id);
            }
            if opts.explain {
                plan.waiting.push((id, miss_reason(fleet, job, &miss)));
            }
            continue;
        }
        let pick = match policy {
            Policy::Fifo | Policy::EasyBackfill => fewest_nodes_most_room(&s, &cands),
            Policy::FifoHet => fastest_fewest_nodes(job, &cands),
            Policy::FinishTime => {
                let prof = profiles.get_or_insert_with(|| Profiles::new(queue));
                match finish_time(&s, job, st.remaining, &cands, now, prof, &claimed) {
                    FinishPick::Now(i) => Some(i),
                    FinishPick::Wait { ty, at } => {
                        claimed[ty as usize] += u64::from(job.accels);
                        if opts.explain {
                            plan.waiting.push((
                                id,
                                Reason::WaitingForFasterType {
                                    accel: fleet.types[ty as usize].id.clone(),
                                    at,
                                },
                            ));
                        }
                        None
                    }
                }
            }
            Policy::Cost => cheapest_meeting_deadline(job, st.remaining, &cands, now),
            Policy::Las | Policy::LasHet => unreachable!("round policies are planned elsewhere"),
        };
        let Some(mut i) = pick else { continue };
        if policy == Policy::EasyBackfill {
            if let Some(h) = head {
                let res = reservation.get_or_insert_with(|| {
                    let prof = profiles.get_or_insert_with(|| Profiles::new(queue));
                    reserve(&s, queue, h, now, prof)
                });
                if let Some(r) = res {
                    match r.backfill(job, st.remaining, &cands, i, now) {
                        Some(j) => i = j,
                        None => {
                            if opts.explain {
                                plan.waiting.push((
                                    id,
                                    Reason::BlockedByReservation {
                                        head: r.head,
                                        until: r.shadow,
                                    },
                                ));
                            }
                            continue;
                        }
                    }
                }
            }
        }
        let c = cands.swap_remove(i);
        s.take(&c.slots);
        total_free -= u64::from(job.accels);
        plan.decisions.push(Decision::Start {
            job: id,
            accel_type: c.ty,
            slots: c.slots,
        });
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::{AccelType, PoolSpec};
    use crate::queue::{Job, Queue, Running};

    /// One pool of `nodes` nodes of 8 accelerators.
    fn fleet(nodes: u32) -> FleetState {
        FleetState::new(
            vec![AccelType { id: "t0".into() }],
            vec!["s".into()],
            vec![PoolSpec {
                id: "p0".into(),
                site: 0,
                accel_type: 0,
                nodes,
                accels_per_node: 8,
                scaleup_domain: 8,
                leased: false,
                price_usd_per_hour: 1.0,
            }],
            crate::access::Access::allow_all(1, 1),
        )
    }

    fn job(accels: u32, smaller: &[u32]) -> Job {
        Job {
            accels,
            tenant: 0,
            allowed: 1,
            priority: 0,
            submit: SimTime(0),
            deadline: Some(SimTime(1_000_000)),
            may_span_sites: false,
            work: 1e6,
            // Throughput grows with the gang, a little less than linearly.
            rates: vec![f64::from(accels) * 0.9].into(),
            smaller: smaller
                .iter()
                .map(|&k| (k, vec![f64::from(k)].into()))
                .collect(),
        }
    }

    /// A fleet of 128 accelerators with a rigid 64-accelerator job running on half of it, and
    /// `waiting` queued behind it.
    fn half_busy(waiting: Job) -> (FleetState, Queue) {
        let mut f = fleet(16);
        let mut q = Queue::new(vec![job(64, &[]), waiting]);
        let slots: Vec<_> = (0..8)
            .map(|node| crate::fleet::Slot {
                pool: 0,
                node,
                count: 8,
            })
            .collect();
        f.allocate(0, false, &slots).unwrap();
        q.set_running(
            0,
            Running {
                slots,
                accel_type: 0,
                started: SimTime(0),
                expected_end: SimTime(100_000),
            },
        );
        q.enqueue(1);
        (f, q)
    }

    fn started(plan: &Plan) -> Option<u64> {
        plan.decisions.iter().find_map(|d| match d {
            Decision::Start { slots, .. } => Some(slots.iter().map(|s| u64::from(s.count)).sum()),
            Decision::Preempt { .. } => None,
        })
    }

    /// Issue 27 item 4: a job of min 32 / max 128 on 64 free accelerators starts at 64 under
    /// every queue policy (the largest of its sizes that fits); rigid, it waits; the round
    /// policies start gangs at their largest size only.
    #[test]
    fn a_moldable_job_starts_at_the_largest_size_that_fits() {
        let opts = Options::default();
        for policy in [
            Policy::Fifo,
            Policy::EasyBackfill,
            Policy::FifoHet,
            Policy::FinishTime,
            Policy::Cost,
        ] {
            let (f, q) = half_busy(job(128, &[64, 32]));
            let plan = schedule(policy, &f, &q, SimTime(0), opts);
            assert_eq!(started(&plan), Some(64), "{policy}");

            let (f, q) = half_busy(job(128, &[]));
            let plan = schedule(policy, &f, &q, SimTime(0), opts);
            assert_eq!(started(&plan), None, "{policy}: a rigid 128 does not fit");
        }
        // With 32 free, the smallest size.
        let (mut f, q) = half_busy(job(128, &[64, 32]));
        let more: Vec<_> = (8..12)
            .map(|node| crate::fleet::Slot {
                pool: 0,
                node,
                count: 8,
            })
            .collect();
        f.allocate(0, false, &more).unwrap();
        let plan = schedule(Policy::Fifo, &f, &q, SimTime(0), opts);
        assert_eq!(started(&plan), Some(32));
    }

    /// A moldable job whose largest gang exceeds the fleet can still run at a smaller size; a
    /// job none of whose sizes fit is rejected with its largest gang's reason.
    #[test]
    fn a_moldable_job_is_runnable_when_any_size_is() {
        let f = fleet(8);
        assert!(crate::never_runnable(&f, &job(128, &[64, 32])).is_none());
        assert!(crate::never_runnable(&f, &job(128, &[])).is_some());
        let r = crate::never_runnable(&fleet(2), &job(128, &[64, 32])).unwrap();
        assert!(r.to_string().contains("128"), "{r}");
    }
}
