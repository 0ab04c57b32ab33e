//! Reservations: when accelerators of each type come free ([`Profiles`], from running jobs'
//! expected ends), the reservation EASY backfill holds for the head job, and the test a later
//! job passes to start before the head without delaying it.

use xpufleet_model::SimTime;

use crate::feasibility::{allowed_free, Cand};
use crate::fleet::{Scratch, TypeIdx};
use crate::queue::{Job, JobId, Queue};
use crate::score::runtime_s;

/// When accelerators of each type come free, from running jobs' expected ends (the queue's
/// index): the basis of reservations and finish-time estimates.
pub(crate) struct Profiles<'q> {
    q: &'q Queue,
}

impl<'q> Profiles<'q> {
    pub fn new(q: &'q Queue) -> Profiles<'q> {
        Profiles { q }
    }

    /// Earliest time `k` accelerators of type `t` are free, starting from `free_now`, and how
    /// many spare then.
    pub fn earliest(
        &self,
        t: TypeIdx,
        now: SimTime,
        free_now: u64,
        k: u32,
    ) -> Option<(SimTime, u64)> {
        let k = u64::from(k);
        if free_now >= k {
            return Some((now, free_now - k));
        }
        let mut free = free_now;
        for &(at, id) in self.q.ends_by_type.get(t as usize)? {
            free += u64::from(self.q.jobs[id as usize].accels);
            if free >= k {
                return Some((at.max(now), free - k));
            }
        }
        None
    }
}

/// The reservation EASY backfill holds for the head job: `ty` frees enough for it at `shadow`,
/// with `extra` accelerators to spare then.
pub(crate) struct Reservation {
    pub head: JobId,
    pub ty: TypeIdx,
    pub shadow: SimTime,
    pub extra: u64,
}

/// The earliest reservation for `head` over the types it may use (ties: the lower type).
pub(crate) fn reserve(
    s: &Scratch<'_>,
    queue: &Queue,
    head: JobId,
    now: SimTime,
    prof: &Profiles,
) -> Option<Reservation> {
    let job = &queue.jobs[head as usize];
    (0..s.fleet.types.len())
        .map(|t| t as TypeIdx)
        .filter(|&t| job.may_use(t))
        .filter_map(|t| {
            prof.earliest(t, now, allowed_free(s, job, t), job.accels)
                .map(|(at, extra)| Reservation {
                    head,
                    ty: t,
                    shadow: at,
                    extra,
                })
        })
        .min_by_key(|r| (r.shadow, r.ty))
}

impl Reservation {
    /// Backfill: the candidate `job` may start on without delaying the head (`chosen` when it
    /// can, else the first that can), charging the reservation's spare when it holds
    /// accelerators of the reserved type past the shadow time; `None` when every candidate
    /// would delay the head.
    pub fn backfill(
        &mut self,
        job: &Job,
        remaining: f64,
        cands: &[Cand],
        chosen: usize,
        now: SimTime,
    ) -> Option<usize> {
        let ends_after_shadow =
            |c: &Cand| now + runtime_s(remaining, job.rates[c.ty as usize]) > self.shadow;
        let intact = |c: &Cand| {
            c.ty != self.ty || !ends_after_shadow(c) || u64::from(job.accels) <= self.extra
        };
        let i = if intact(&cands[chosen]) {
            chosen
        } else {
            (0..cands.len()).find(|&j| intact(&cands[j]))?
        };
        let c = &cands[i];
        if c.ty == self.ty && ends_after_shadow(c) {
            self.extra -= u64::from(job.accels);
        }
        Some(i)
    }
}
