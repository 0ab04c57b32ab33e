//! Ranking: one scoring function per policy, each choosing among a job's candidates (from
//! `feasibility.rs`) the one to start, by index. Ties always break towards the lower
//! index (candidates come in type order), so every choice is deterministic.

use std::cmp::Reverse;

use xpufleet_model::SimTime;

use crate::feasibility::{allowed_free, Cand};
use crate::fleet::{Scratch, TypeIdx};
use crate::queue::Job;
use crate::reserve::Profiles;

/// Seconds to do `remaining` work at `rate` (rounded up); `u64::MAX` where the job never runs.
pub(crate) fn runtime_s(remaining: f64, rate: f64) -> u64 {
    if rate <= 0.0 {
        u64::MAX
    } else {
        (remaining / rate).ceil().max(0.0) as u64
    }
}

/// `fifo`, `easy-backfill` and `las` (speed-blind): the fewest nodes, then the type with most
/// free accelerators, so that a gang stays compact and small types are not drained first.
pub(crate) fn fewest_nodes_most_room(s: &Scratch<'_>, cands: &[Cand]) -> Option<usize> {
    (0..cands.len()).min_by_key(|&i| {
        (
            cands[i].nodes,
            Reverse(s.free_by_type[cands[i].ty as usize]),
            i,
        )
    })
}

/// `las-het` and `fifo-het` rounds, and the start of `finish-time` and `cost`: the fastest
/// type the job has a placement on.
pub(crate) fn fastest(job: &Job, cands: &[Cand]) -> Option<usize> {
    let rate = |c: &Cand| job.rates[c.ty as usize];
    (0..cands.len()).max_by(|&a, &b| rate(&cands[a]).total_cmp(&rate(&cands[b])).then(b.cmp(&a)))
}

/// `fifo-het` between rounds (Gavel's `fifo_perf`): the fastest type, then the fewest nodes.
pub(crate) fn fastest_fewest_nodes(job: &Job, cands: &[Cand]) -> Option<usize> {
    let rate = |c: &Cand| job.rates[c.ty as usize];
    (0..cands.len()).max_by(|&a, &b| {
        rate(&cands[a])
            .total_cmp(&rate(&cands[b]))
            .then(cands[b].nodes.cmp(&cands[a].nodes))
            .then(b.cmp(&a))
    })
}

/// What `finish-time` wants for a job.
pub(crate) enum FinishPick {
    /// Start on this candidate now.
    Now(usize),
    /// Wait for a busy faster type: it frees at `at` and the job would still finish sooner.
    Wait { ty: TypeIdx, at: SimTime },
}

/// `finish-time`: where the job would finish first, counting the wait for a busy faster type
/// (from running jobs' expected ends). `claimed`: accelerators of each type that jobs earlier
/// in this pass already wait for; they come first.
pub(crate) fn finish_time(
    s: &Scratch<'_>,
    job: &Job,
    remaining: f64,
    cands: &[Cand],
    now: SimTime,
    profiles: &Profiles<'_>,
    claimed: &[u64],
) -> FinishPick {
    let fastest_now = fastest(job, cands).expect("non-empty");
    let rate_now = job.rates[cands[fastest_now].ty as usize];
    let mut best_finish = now + runtime_s(remaining, rate_now);
    let mut wait_for = None;
    for t in 0..s.fleet.types.len() {
        let t = t as TypeIdx;
        if !job.may_use(t) || job.rates[t as usize] <= rate_now {
            continue;
        }
        let demand = u64::from(job.accels) + claimed[t as usize];
        let demand = u32::try_from(demand).unwrap_or(u32::MAX);
        if let Some((at, _)) = profiles.earliest(t, now, allowed_free(s, job, t), demand) {
            let f = at + runtime_s(remaining, job.rates[t as usize]);
            if f < best_finish && at > now {
                best_finish = f;
                wait_for = Some((t, at));
            }
        }
    }
    match wait_for {
        None => FinishPick::Now(fastest_now),
        Some((ty, at)) => FinishPick::Wait { ty, at },
    }
}

/// `cost`: the cheapest placement (USD per hour × run time) that meets the job's deadline,
/// then the fewest nodes; the fastest when none meets it.
pub(crate) fn cheapest_meeting_deadline(
    job: &Job,
    remaining: f64,
    cands: &[Cand],
    now: SimTime,
) -> Option<usize> {
    let rate = |c: &Cand| job.rates[c.ty as usize];
    let meets = |c: &Cand| match job.deadline {
        None => true,
        Some(d) => now + runtime_s(remaining, rate(c)) <= d,
    };
    let cost = |c: &Cand| c.usd_per_hour * runtime_s(remaining, rate(c)) as f64;
    if cands.iter().any(meets) {
        (0..cands.len())
            .filter(|&i| meets(&cands[i]))
            .min_by(|&a, &b| {
                cost(&cands[a])
                    .total_cmp(&cost(&cands[b]))
                    .then(cands[a].nodes.cmp(&cands[b].nodes))
                    .then(a.cmp(&b))
            })
    } else {
        fastest(job, cands)
    }
}
