//! Policies and the placement pipeline: feasibility (type allowed, throughput > 0, verdict,
//! capacity, topology) → ranking (by policy) → placement, with a named reason for every job left
//! waiting.
//!
//! The order of the feasibility checks is cheapest first: a type mask test, a free-count test
//! per type, the cached verdict per pool, and only then the node search inside a pool.

use std::cmp::Reverse;

use serde::{Deserialize, Serialize};
use xpufleet_model::SimTime;

use crate::fleet::{FleetState, Scratch, Slot, TypeIdx};
use crate::queue::{Job, JobId, Queue, WaitKey};
use crate::reason::{denial_reason, Reason};

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
}

/// One placement a policy may choose for a job.
#[derive(Debug, Clone)]
struct Cand {
    ty: TypeIdx,
    slots: Vec<Slot>,
    nodes: u32,
    usd_per_hour: f64,
}

/// What the feasibility pass learned about a job with no placement now.
#[derive(Default)]
struct Miss {
    /// Some allowed type is in the fleet.
    any_type: bool,
    /// Most free accelerators in any one group the job may use.
    free: u64,
}

/// Why `job` can never run on this fleet (no allowed type, every allowed pool denied, or a gang
/// larger than any group it may use), or `None` if some empty fleet state would hold it.
pub fn never_runnable(fleet: &FleetState, job: &Job) -> Option<Reason> {
    let mut any_type = false;
    let mut first_denial = None;
    let mut largest = 0u64;
    for t in 0..fleet.types.len() {
        if !job.may_use(t as TypeIdx) {
            continue;
        }
        let mut by_site: Vec<u64> = vec![0; fleet.sites.len().max(1)];
        for &p in &fleet.pools_by_type[t] {
            any_type = true;
            match fleet.access.check(job.tenant, p) {
                Ok(()) => {
                    let s = &fleet.pools[p as usize].spec;
                    let site = if job.may_span_sites {
                        0
                    } else {
                        s.site as usize
                    };
                    by_site[site] += s.accels();
                }
                Err(d) => {
                    if first_denial.is_none() {
                        first_denial = Some(d);
                    }
                }
            }
        }
        largest = largest.max(by_site.into_iter().max().unwrap_or(0));
    }
    if !any_type {
        return Some(Reason::NoAllowedType);
    }
    if largest == 0 {
        return first_denial.map(|d| denial_reason(fleet, d));
    }
    if u64::from(job.accels) > largest {
        return Some(Reason::TooLarge {
            accels: job.accels,
            largest,
        });
    }
    None
}

/// Feasibility: every placement of `job` in the current scratch state, at most one per type
/// (the best-fitting pool of that type, or a spread over pools of one site).
fn candidates(s: &Scratch<'_>, job: &Job, out: &mut Vec<Cand>, miss: &mut Miss) {
    out.clear();
    let fleet = s.fleet;
    let k = job.accels;
    let mut buf = Vec::new();
    for t in 0..fleet.types.len() {
        let t = t as TypeIdx;
        if !job.may_use(t) || fleet.pools_by_type[t as usize].is_empty() {
            continue;
        }
        miss.any_type = true;
        if s.free_by_type[t as usize] < u64::from(k) {
            // Cheap exit; the reason only needs the free count.
            miss.free = miss.free.max(s.free_by_type[t as usize]);
            continue;
        }
        let mut best: Option<Cand> = None;
        for &p in &fleet.pools_by_type[t as usize] {
            if fleet.access.check(job.tenant, p).is_err() {
                continue;
            }
            let pool = &s.pools[p as usize];
            if pool.free_total() < u64::from(k) || !pool.find(p, k, &mut buf) {
                continue;
            }
            let nodes = buf.len() as u32;
            // Fewest nodes, then the tightest pool (keep big pools whole), then pool order.
            let better = match &best {
                None => true,
                Some(b) => {
                    (nodes, pool.free_total())
                        < (b.nodes, s.pools[b.slots[0].pool as usize].free_total())
                }
            };
            if better {
                best = Some(Cand {
                    ty: t,
                    slots: buf.clone(),
                    nodes,
                    usd_per_hour: f64::from(k) * pool.spec.price_usd_per_hour,
                });
            }
        }
        if best.is_none() {
            // No single pool holds the gang: spread it over the pools of one site (or of all
            // sites when the job allows it), largest free first.
            let mut allowed_free_by_site: Vec<u64> = vec![0; fleet.sites.len().max(1)];
            for &p in &fleet.pools_by_type[t as usize] {
                if fleet.access.check(job.tenant, p).is_ok() {
                    let pool = &s.pools[p as usize];
                    let site = if job.may_span_sites {
                        0
                    } else {
                        pool.spec.site as usize
                    };
                    allowed_free_by_site[site] += pool.free_total();
                }
            }
            for (site, &free) in allowed_free_by_site.iter().enumerate() {
                miss.free = miss.free.max(free);
                if free < u64::from(k) {
                    continue;
                }
                let mut pools: Vec<u32> = fleet.pools_by_type[t as usize]
                    .iter()
                    .copied()
                    .filter(|&p| {
                        fleet.access.check(job.tenant, p).is_ok()
                            && (job.may_span_sites
                                || fleet.pools[p as usize].spec.site as usize == site)
                    })
                    .collect();
                pools.sort_by_key(|&p| (Reverse(s.pools[p as usize].free_total()), p));
                let mut rem = k;
                let mut slots = Vec::new();
                let mut usd = 0.0;
                for p in pools {
                    let pool = &s.pools[p as usize];
                    let take = rem.min(pool.free_total() as u32);
                    if take == 0 {
                        continue;
                    }
                    if pool.find(p, take, &mut buf) {
                        slots.extend_from_slice(&buf);
                        usd += f64::from(take) * pool.spec.price_usd_per_hour;
                        rem -= take;
                    }
                    if rem == 0 {
                        break;
                    }
                }
                if rem == 0 {
                    best = Some(Cand {
                        ty: t,
                        nodes: slots.len() as u32,
                        slots,
                        usd_per_hour: usd,
                    });
                    break;
                }
            }
        } else {
            miss.free = miss.free.max(s.free_by_type[t as usize]);
        }
        if let Some(c) = best {
            out.push(c);
        }
    }
}

/// The reason for a job with no candidate, from what the feasibility pass saw.
fn miss_reason(fleet: &FleetState, job: &Job, miss: &Miss) -> Reason {
    if let Some(r) = never_runnable(fleet, job) {
        return r;
    }
    if miss.free >= u64::from(job.accels) {
        Reason::Fragmented {
            accels: job.accels,
            free: miss.free,
        }
    } else {
        Reason::NoCapacity {
            accels: job.accels,
            free: miss.free,
        }
    }
}

fn runtime_s(remaining: f64, rate: f64) -> u64 {
    if rate <= 0.0 {
        u64::MAX
    } else {
        (remaining / rate).ceil().max(0.0) as u64
    }
}

/// When accelerators of each type come free, from running jobs' expected ends (the queue's
/// index): the basis of reservations and finish-time estimates.
struct Profiles<'q> {
    q: &'q Queue,
}

impl<'q> Profiles<'q> {
    fn new(_fleet: &FleetState, q: &'q Queue) -> Profiles<'q> {
        Profiles { q }
    }

    /// Earliest time `k` accelerators of type `t` are free, starting from `free_now`, and how
    /// many spare then.
    fn earliest(&self, t: TypeIdx, now: SimTime, free_now: u64, k: u32) -> Option<(SimTime, u64)> {
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

/// The reservation EASY backfill holds for the head job.
struct Reservation {
    head: JobId,
    ty: TypeIdx,
    shadow: SimTime,
    extra: u64,
}

/// Free accelerators of type `t` in pools the job's tenant may use.
fn allowed_free(s: &Scratch<'_>, job: &Job, t: TypeIdx) -> u64 {
    s.fleet.pools_by_type[t as usize]
        .iter()
        .filter(|&&p| s.fleet.access.check(job.tenant, p).is_ok())
        .map(|&p| s.pools[p as usize].free_total())
        .sum()
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
            let hopeless = total_free < u64::from(job.accels)
                || failed.iter().any(|&(c, k)| c == class && k <= job.accels);
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
        if cands.is_empty() {
            match failed.iter_mut().find(|(c, _)| *c == class) {
                Some((_, k)) => *k = (*k).min(job.accels),
                None => failed.push((class, job.accels)),
            }
            if head.is_none() && matches!(policy, Policy::Fifo | Policy::EasyBackfill) {
                head = Some(id);
            }
            if opts.explain {
                plan.waiting.push((id, miss_reason(fleet, job, &miss)));
            }
            continue;
        }
        let rate = |c: &Cand| job.rates[c.ty as usize];
        let pick: Option<usize> = match policy {
            Policy::Fifo | Policy::EasyBackfill => {
                // Blind to speed: fewest nodes, then the type with most room.
                (0..cands.len()).min_by_key(|&i| {
                    (
                        cands[i].nodes,
                        Reverse(s.free_by_type[cands[i].ty as usize]),
                        i,
                    )
                })
            }
            Policy::FifoHet => (0..cands.len()).max_by(|&a, &b| {
                rate(&cands[a])
                    .total_cmp(&rate(&cands[b]))
                    .then(cands[b].nodes.cmp(&cands[a].nodes))
                    .then(b.cmp(&a))
            }),
            Policy::FinishTime => {
                let fastest_now = (0..cands.len())
                    .max_by(|&a, &b| rate(&cands[a]).total_cmp(&rate(&cands[b])).then(b.cmp(&a)))
                    .expect("non-empty");
                let finish_now = now + runtime_s(st.remaining, rate(&cands[fastest_now]));
                // Would a busy faster type finish it sooner?
                let prof = profiles.get_or_insert_with(|| Profiles::new(fleet, queue));
                let mut wait_for = None;
                let mut best_finish = finish_now;
                for t in 0..fleet.types.len() {
                    let t = t as TypeIdx;
                    if !job.may_use(t) || job.rates[t as usize] <= rate(&cands[fastest_now]) {
                        continue;
                    }
                    // Jobs ahead in the queue that already wait for this type come first.
                    let demand = u64::from(job.accels) + claimed[t as usize];
                    let demand = u32::try_from(demand).unwrap_or(u32::MAX);
                    if let Some((at, _)) = prof.earliest(t, now, allowed_free(&s, job, t), demand) {
                        let f = at + runtime_s(st.remaining, job.rates[t as usize]);
                        if f < best_finish && at > now {
                            best_finish = f;
                            wait_for = Some((t, at));
                        }
                    }
                }
                match wait_for {
                    None => Some(fastest_now),
                    Some((t, at)) => {
                        claimed[t as usize] += u64::from(job.accels);
                        if opts.explain {
                            plan.waiting.push((
                                id,
                                Reason::WaitingForFasterType {
                                    accel: fleet.types[t as usize].id.clone(),
                                    at,
                                },
                            ));
                        }
                        None
                    }
                }
            }
            Policy::Cost => {
                let meets = |c: &Cand| match job.deadline {
                    None => true,
                    Some(d) => now + runtime_s(st.remaining, rate(c)) <= d,
                };
                let cost = |c: &Cand| c.usd_per_hour * runtime_s(st.remaining, rate(c)) as f64;
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
                    (0..cands.len()).max_by(|&a, &b| {
                        rate(&cands[a]).total_cmp(&rate(&cands[b])).then(b.cmp(&a))
                    })
                }
            }
            Policy::Las | Policy::LasHet => unreachable!("round policies are planned elsewhere"),
        };
        let Some(mut i) = pick else { continue };
        if policy == Policy::EasyBackfill {
            if let Some(h) = head {
                let res = reservation.get_or_insert_with(|| {
                    reserve(
                        &s,
                        queue,
                        h,
                        now,
                        profiles.get_or_insert_with(|| Profiles::new(fleet, queue)),
                    )
                });
                if let Some(r) = res {
                    // A candidate that leaves the reservation intact, the chosen one first.
                    let ok = |c: &Cand, r: &Reservation| {
                        c.ty != r.ty
                            || now + runtime_s(st.remaining, rate(c)) <= r.shadow
                            || u64::from(job.accels) <= r.extra
                    };
                    if !ok(&cands[i], r) {
                        match (0..cands.len()).find(|&j| ok(&cands[j], r)) {
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
                    let c = &cands[i];
                    if c.ty == r.ty && now + runtime_s(st.remaining, rate(c)) > r.shadow {
                        r.extra -= u64::from(job.accels);
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

fn reserve(
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

/// Are all of these slots free in the scratch state?
fn slots_free(s: &Scratch<'_>, slots: &[Slot]) -> bool {
    slots
        .iter()
        .all(|x| s.pools[x.pool as usize].free_on(x.node) >= x.count)
}

fn schedule_rounds(
    policy: Policy,
    fleet: &FleetState,
    queue: &Queue,
    _now: SimTime,
    opts: Options,
) -> Plan {
    let mut order = Vec::new();
    round_order(policy, queue, &mut order);
    plan_round(policy, fleet, queue, &order, opts)
}

/// Does `policy` plan in rounds from a job order ([`round_order`]) rather than from the queue?
/// True for the preemptive policies and for `fifo-het` when the caller runs rounds.
pub fn plans_rounds(policy: Policy, opts: Options) -> bool {
    policy.preemptive() || (opts.rounds && policy == Policy::FifoHet)
}

/// Round order: is `a` before `b`? Least attained service first (normalised for `las-het`,
/// arrival order for `fifo-het`); ties by queue order, so the order is total.
fn round_before(policy: Policy, queue: &Queue, a: JobId, b: JobId) -> std::cmp::Ordering {
    if policy == Policy::FifoHet {
        return queue.wait_key(a).cmp(&queue.wait_key(b));
    }
    let service = |id: JobId| {
        let st = &queue.state[id as usize];
        match policy {
            Policy::LasHet => st.attained_norm_s * f64::from(queue.jobs[id as usize].accels),
            _ => st.attained_accel_s,
        }
    };
    service(a)
        .total_cmp(&service(b))
        .then_with(|| queue.wait_key(a).cmp(&queue.wait_key(b)))
}

/// The order in which a round planner considers the running and waiting jobs, into `out`.
pub fn round_order(policy: Policy, queue: &Queue, out: &mut Vec<JobId>) {
    out.clear();
    out.extend(
        queue
            .running
            .iter()
            .copied()
            .chain(queue.waiting.iter().map(|k| k.2)),
    );
    // Sort precomputed keys, equal to `round_before`'s order: `f64::total_cmp` is the order of
    // the sign-adjusted bits, and ids make every key distinct.
    let mut keyed: Vec<(i64, WaitKey)> = out
        .iter()
        .map(|&id| (service_key(policy, queue, id), queue.wait_key(id)))
        .collect();
    keyed.sort_unstable();
    out.clear();
    out.extend(keyed.iter().map(|k| k.1 .2));
}

/// A job's attained service as an integer whose order is `f64::total_cmp`'s (0 for `fifo-het`,
/// which orders by queue position alone).
fn service_key(policy: Policy, queue: &Queue, id: JobId) -> i64 {
    let st = &queue.state[id as usize];
    let v = match policy {
        Policy::FifoHet => return 0,
        Policy::LasHet => st.attained_norm_s * f64::from(queue.jobs[id as usize].accels),
        _ => st.attained_accel_s,
    };
    let bits = v.to_bits() as i64;
    bits ^ ((((bits >> 63) as u64) >> 1) as i64)
}

/// Re-sorts an order from [`round_order`] after service changed but no job joined or left the
/// running and waiting sets; true if the order changed. The order is total, so the result is
/// the one [`round_order`] would give; an insertion sort is linear when little moved.
pub fn resort_round_order(policy: Policy, queue: &Queue, order: &mut [JobId]) -> bool {
    // Past this many swaps a full sort is cheaper (and gives the same order).
    let budget = 8 * order.len() + 64;
    let mut swaps = 0usize;
    for i in 1..order.len() {
        let mut j = i;
        while j > 0 && round_before(policy, queue, order[j - 1], order[j]).is_gt() {
            order.swap(j - 1, j);
            j -= 1;
            swaps += 1;
        }
        if swaps > budget {
            order.sort_by(|&a, &b| round_before(policy, queue, a, b));
            return true;
        }
    }
    swaps > 0
}

/// One round's plan for the jobs in `order` (from [`round_order`]); the same plan [`schedule`]
/// makes for a round policy. A caller that keeps the order between rounds can tell, with
/// [`resort_round_order`], that a round with nothing else changed would plan the same.
pub fn plan_round(
    policy: Policy,
    fleet: &FleetState,
    queue: &Queue,
    order: &[JobId],
    opts: Options,
) -> Plan {
    plan_round_in(
        &mut RoundBuffers::default(),
        policy,
        fleet,
        queue,
        order,
        opts,
    )
}

/// The order in which phase 2 of a round plan places jobs: phase 1 picks, in `order`, the jobs
/// that get this round while the free accelerators (`free_all`, with every running job's slots
/// given back) last; speed-aware policies then place those that gain most from a fast type
/// first. `chosen` then `rest` is the sequence.
fn round_sequence(
    policy: Policy,
    queue: &Queue,
    order: &[JobId],
    free_all: &[u64],
    chosen: &mut Vec<JobId>,
    rest: &mut Vec<JobId>,
    keyed: &mut Vec<(f64, JobId)>,
) {
    let mut free_left: u64 = free_all.iter().sum();
    chosen.clear();
    rest.clear();
    for &id in order {
        let job = &queue.jobs[id as usize];
        let k = u64::from(job.accels);
        let usable: u64 = (0..free_all.len())
            .filter(|&t| job.may_use(t as TypeIdx))
            .map(|t| free_all[t])
            .sum();
        if k <= free_left && k <= usable {
            free_left -= k;
            chosen.push(id);
        } else {
            rest.push(id);
        }
    }
    // Speed-aware: the jobs that gain most from a fast type place first. Speed-blind: in
    // service order.
    if matches!(policy, Policy::LasHet | Policy::FifoHet) {
        let gain = |id: JobId| {
            let j = &queue.jobs[id as usize];
            let worst = (0..j.rates.len())
                .filter(|&t| j.may_use(t as TypeIdx))
                .map(|t| j.rates[t])
                .fold(f64::INFINITY, f64::min);
            j.best_rate() / worst
        };
        keyed.clear();
        keyed.extend(chosen.iter().map(|&id| (gain(id), id)));
        // Stable: equal gains keep service order.
        keyed.sort_by(|a, b| b.0.total_cmp(&a.0));
        chosen.clear();
        chosen.extend(keyed.iter().map(|&(_, id)| id));
    }
}

/// A cheap sufficient test that [`plan_round`] with `order` plans nothing (false: plan it),
/// in buffers kept between rounds.
///
/// Why it holds: phase 2 places the jobs in [`round_sequence`]'s order, starting from the
/// fleet with every running job's slots given back. Suppose every job before the current one
/// kept its place (running) or stayed unplaced (waiting). Then the free accelerators of each
/// type are exactly the live fleet's plus the slots of the running jobs not yet placed, which
/// this test tracks by counts. A waiting job with fewer of those than it needs on every type
/// it may use has no candidate (the planner's per-type free-count exit), so it stays
/// unplaced. A running job's own slots are free (the others only retook theirs): a settled
/// one (speed-blind, or on its fastest type) keeps them at once; another one has a candidate
/// on its own type (a pool search succeeds whenever the pool has the room, and its slots are
/// a placement the planner once made), and keeps its slots when no type it prefers (faster,
/// or as fast and earlier) has the room. By induction nothing starts and nothing is
/// preempted.
pub fn round_plan_is_empty(
    bufs: &mut RoundBuffers,
    policy: Policy,
    fleet: &FleetState,
    queue: &Queue,
    order: &[JobId],
) -> bool {
    empty_round(bufs, policy, fleet, queue, order) == Some(true)
}

/// [`round_plan_is_empty`]'s answer, `None` when it stopped before leaving the placement
/// sequence in `bufs.chosen` and `bufs.rest`.
fn empty_round(
    bufs: &mut RoundBuffers,
    policy: Policy,
    fleet: &FleetState,
    queue: &Queue,
    order: &[JobId],
) -> Option<bool> {
    let het = matches!(policy, Policy::LasHet | Policy::FifoHet);
    let n_types = fleet.types.len();
    let mut free_now = [0u64; crate::fleet::MAX_TYPES];
    for p in &fleet.pools {
        free_now[p.spec.accel_type as usize] += p.free_total();
    }
    // Slots of running jobs not yet placed, per type.
    let mut pending = [0u64; crate::fleet::MAX_TYPES];
    for &id in &queue.running {
        let Some(r) = &queue.state[id as usize].running else {
            return None;
        };
        for sl in &r.slots {
            let ty = fleet.pools[sl.pool as usize].spec.accel_type;
            pending[ty as usize] += u64::from(sl.count);
        }
    }
    let mut free_all = [0u64; crate::fleet::MAX_TYPES];
    for t in 0..n_types {
        free_all[t] = free_now[t] + pending[t];
    }
    let mut chosen = std::mem::take(&mut bufs.chosen);
    let mut rest = std::mem::take(&mut bufs.rest);
    round_sequence(
        policy,
        queue,
        order,
        &free_all[..n_types],
        &mut chosen,
        &mut rest,
        &mut bufs.keyed,
    );
    let mut running_seen = 0usize;
    let mut empty = true;
    for &id in chosen.iter().chain(rest.iter()) {
        let job = &queue.jobs[id as usize];
        let k = u64::from(job.accels);
        let room = |t: usize, pending: &[u64]| {
            job.may_use(t as TypeIdx)
                && !fleet.pools_by_type[t].is_empty()
                && free_now[t] + pending[t] >= k
        };
        match &queue.state[id as usize].running {
            Some(r) => {
                let cur = r.accel_type as usize;
                let rate = job.rates[cur];
                if het && rate < job.best_rate() {
                    let preferred = |t: usize| {
                        t != cur && (job.rates[t] > rate || (job.rates[t] == rate && t < cur))
                    };
                    if (0..n_types).any(|t| preferred(t) && room(t, &pending)) {
                        empty = false;
                        break;
                    }
                }
                for sl in &r.slots {
                    let ty = fleet.pools[sl.pool as usize].spec.accel_type;
                    pending[ty as usize] -= u64::from(sl.count);
                }
                running_seen += 1;
            }
            None => {
                if (0..n_types).any(|t| room(t, &pending)) {
                    empty = false;
                    break;
                }
            }
        }
    }
    bufs.chosen = chosen;
    bufs.rest = rest;
    Some(empty && running_seen == queue.running.len())
}

/// Memory a caller that plans round after round keeps between plans, so that a plan copies
/// the fleet into last round's allocations instead of new ones.
#[derive(Debug, Default)]
pub struct RoundBuffers {
    pools: Vec<crate::fleet::PoolState>,
    chosen: Vec<JobId>,
    rest: Vec<JobId>,
    keyed: Vec<(f64, JobId)>,
    kept: Vec<JobId>,
    placed: Vec<(JobId, TypeIdx, Option<Vec<Slot>>)>,
}

/// [`plan_round`] in buffers kept between rounds; the same plan.
pub fn plan_round_in(
    bufs: &mut RoundBuffers,
    policy: Policy,
    fleet: &FleetState,
    queue: &Queue,
    order: &[JobId],
    opts: Options,
) -> Plan {
    plan_round_from(bufs, policy, fleet, queue, order, opts, false)
}

/// [`plan_round_in`], or `None` where [`round_plan_is_empty`] proves the plan empty; the
/// placement sequence that test computes is reused by the plan.
pub fn plan_round_unless_empty(
    bufs: &mut RoundBuffers,
    policy: Policy,
    fleet: &FleetState,
    queue: &Queue,
    order: &[JobId],
    opts: Options,
) -> Option<Plan> {
    match empty_round(bufs, policy, fleet, queue, order) {
        Some(true) => None,
        Some(false) => Some(plan_round_from(
            bufs, policy, fleet, queue, order, opts, true,
        )),
        None => Some(plan_round_from(
            bufs, policy, fleet, queue, order, opts, false,
        )),
    }
}

/// The round plan; `sequenced`: `bufs.chosen` and `bufs.rest` already hold
/// [`round_sequence`]'s result for these arguments.
fn plan_round_from(
    bufs: &mut RoundBuffers,
    policy: Policy,
    fleet: &FleetState,
    queue: &Queue,
    order: &[JobId],
    opts: Options,
    sequenced: bool,
) -> Plan {
    let mut s = Scratch::owned(fleet, std::mem::take(&mut bufs.pools));
    for &id in &queue.running {
        if let Some(r) = &queue.state[id as usize].running {
            s.give(&r.slots);
        }
    }

    let mut chosen = std::mem::take(&mut bufs.chosen);
    let mut rest = std::mem::take(&mut bufs.rest);
    if !sequenced {
        round_sequence(
            policy,
            queue,
            order,
            &s.free_by_type,
            &mut chosen,
            &mut rest,
            &mut bufs.keyed,
        );
    }
    // Phase 2: place in that sequence. Speed-aware: each job takes the fastest type with
    // room. Speed-blind: the type with most room. A job keeps its slots when they are still
    // free on the type it would get.
    let het = matches!(policy, Policy::LasHet | Policy::FifoHet);
    // (job, type, slots to start on; `None`: it keeps the slots it runs on).
    let mut placed = std::mem::take(&mut bufs.placed);
    placed.clear();
    let mut cands = Vec::new();
    let mut unplaced = Vec::new();
    for &id in chosen.iter().chain(rest.iter()) {
        let job = &queue.jobs[id as usize];
        let mut miss = Miss::default();
        if s.free_by_type.iter().sum::<u64>() < u64::from(job.accels) {
            unplaced.push((id, miss));
            continue;
        }
        // Shortcut: a running job whose slots are still free stays put when the policy could
        // not want another type for it (speed-blind, or already on its fastest type).
        if let Some(r) = &queue.state[id as usize].running {
            let settled = !het || job.rates[r.accel_type as usize] >= job.best_rate();
            if settled && slots_free(&s, &r.slots) {
                s.take(&r.slots);
                placed.push((id, r.accel_type, None));
                continue;
            }
        }
        candidates(&s, job, &mut cands, &mut miss);
        if cands.is_empty() {
            unplaced.push((id, miss));
            continue;
        }
        let i = if het {
            (0..cands.len())
                .max_by(|&a, &b| {
                    job.rates[cands[a].ty as usize]
                        .total_cmp(&job.rates[cands[b].ty as usize])
                        .then(b.cmp(&a))
                })
                .expect("non-empty")
        } else {
            (0..cands.len())
                .min_by_key(|&i| {
                    (
                        cands[i].nodes,
                        Reverse(s.free_by_type[cands[i].ty as usize]),
                        i,
                    )
                })
                .expect("non-empty")
        };
        let ty = cands[i].ty;
        let kept = queue.state[id as usize]
            .running
            .as_ref()
            .filter(|r| (!het || r.accel_type == ty) && slots_free(&s, &r.slots));
        match kept {
            Some(r) => {
                s.take(&r.slots);
                placed.push((id, r.accel_type, None));
            }
            None => {
                let slots = cands.swap_remove(i).slots;
                s.take(&slots);
                placed.push((id, ty, Some(slots)));
            }
        }
    }
    bufs.pools = s.into_spare();
    let mut plan = Plan::default();
    bufs.chosen = chosen;
    bufs.rest = rest;
    let mut kept = std::mem::take(&mut bufs.kept);
    kept.clear();
    kept.extend(placed.iter().filter(|p| p.2.is_none()).map(|p| p.0));
    kept.sort_unstable();
    for &id in &queue.running {
        if kept.binary_search(&id).is_err() {
            plan.decisions.push(Decision::Preempt { job: id });
        }
    }
    bufs.kept = kept;
    for (id, ty, slots) in placed.drain(..) {
        if let Some(slots) = slots {
            plan.decisions.push(Decision::Start {
                job: id,
                accel_type: ty,
                slots,
            });
        }
    }
    bufs.placed = placed;
    if opts.explain {
        for (id, miss) in unplaced {
            let job = &queue.jobs[id as usize];
            let r = match never_runnable(fleet, job) {
                Some(r) => r,
                None if miss.any_type => miss_reason(fleet, job, &miss),
                None => Reason::NotSelected,
            };
            plan.waiting.push((id, r));
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn queue(jobs: &[(u32, i32, u64, f64, f64, bool)]) -> Queue {
        let mut q = Queue::new(
            jobs.iter()
                .map(|&(accels, priority, submit, _, _, _)| Job {
                    accels,
                    tenant: 0,
                    allowed: 1,
                    priority,
                    submit: SimTime(submit),
                    deadline: None,
                    may_span_sites: false,
                    work: 1.0,
                    rates: vec![1.0].into(),
                })
                .collect(),
        );
        for (i, &(_, _, _, acc, norm, running)) in jobs.iter().enumerate() {
            q.state[i].attained_accel_s = acc;
            q.state[i].attained_norm_s = norm;
            if running {
                q.running.insert(i as JobId);
            } else {
                q.enqueue(i as JobId);
            }
        }
        q
    }

    fn service() -> impl Strategy<Value = f64> {
        prop_oneof![
            Just(0.0),
            Just(-0.0),
            Just(360.0),
            0.0f64..1e7,
            -1.0f64..1.0
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        /// The precomputed-key sort and the insertion re-sort give the comparator's order.
        #[test]
        fn an_empty_round_plan_is_only_claimed_when_true(
            pools in prop::collection::vec((0u16..3, 1u32..=3, 1u32..=4), 1..5),
            jobs in prop::collection::vec(
                (1u32..=8, 1u64..8, prop::collection::vec(0.0f64..4.0, 3), 0u64..4),
                1..25,
            ),
            bumps in prop::collection::vec((0usize..25, 0.0f64..2000.0), 0..60),
        ) {
            let specs: Vec<crate::fleet::PoolSpec> = pools
                .iter()
                .enumerate()
                .map(|(i, &(ty, nodes, apn))| crate::fleet::PoolSpec {
                    id: format!("p{i}"),
                    site: 0,
                    accel_type: ty,
                    nodes,
                    accels_per_node: apn,
                    scaleup_domain: 1,
                    leased: false,
                    price_usd_per_hour: 1.0,
                })
                .collect();
            let types = (0..3).map(|t| crate::fleet::AccelType { id: format!("t{t}") }).collect();
            let mut fleet = FleetState::new(
                types,
                vec!["s".into()],
                specs,
                crate::access::Access::allow_all(1, pools.len()),
            );
            let mut q = Queue::new(
                jobs.iter()
                    .map(|(accels, allowed, rates, submit)| Job {
                        accels: *accels,
                        tenant: 0,
                        allowed: *allowed,
                        priority: 0,
                        submit: SimTime(*submit),
                        deadline: None,
                        may_span_sites: false,
                        work: 1.0,
                        rates: rates.clone().into(),
                    })
                    .collect(),
            );
            for i in 0..jobs.len() {
                if never_runnable(&fleet, &q.jobs[i]).is_none() {
                    q.enqueue(i as JobId);
                }
            }
            let opts = Options { explain: false, rounds: true };
            for policy in [Policy::Las, Policy::LasHet, Policy::FifoHet] {
                for step in 0..8 {
                    let mut order = Vec::new();
                    round_order(policy, &q, &mut order);
                    let empty = round_plan_is_empty(&mut RoundBuffers::default(), policy, &fleet, &q, &order);
                    let plan = plan_round(policy, &fleet, &q, &order, opts);
                    if empty {
                        prop_assert!(plan.decisions.is_empty(), "{policy} step {step}");
                    }
                    // The plan that reuses the test's placement sequence is the same plan.
                    let mut bufs = RoundBuffers::default();
                    match plan_round_unless_empty(&mut bufs, policy, &fleet, &q, &order, opts) {
                        None => prop_assert!(empty),
                        Some(p) => prop_assert_eq!(&p, &plan),
                    }
                    for d in plan.decisions {
                        match d {
                            Decision::Preempt { job } => {
                                let r = q.clear_running(job).unwrap();
                                fleet.release(&r.slots).unwrap();
                                q.enqueue(job);
                            }
                            Decision::Start { job, accel_type, slots } => {
                                q.dequeue(job);
                                let span = q.jobs[job as usize].may_span_sites;
                                fleet.allocate(0, span, &slots).unwrap();
                                q.set_running(
                                    job,
                                    crate::queue::Running {
                                        slots,
                                        accel_type,
                                        started: SimTime(0),
                                        expected_end: SimTime(0),
                                    },
                                );
                            }
                        }
                    }
                    // Running jobs gain service; some rounds move nothing.
                    for &(i, by) in bumps.iter().skip(step * 7).take(7) {
                        if i < q.jobs.len() && q.state[i].running.is_some() {
                            q.state[i].attained_accel_s += by;
                            q.state[i].attained_norm_s += by / 3.0;
                        }
                    }
                }
            }
        }

        #[test]
        fn round_orders_agree_with_the_comparator(
            jobs in prop::collection::vec(
                (1u32..=8, -1i32..=1, 0u64..5, service(), service(), any::<bool>()),
                0..30,
            ),
            bump in prop::collection::vec(service(), 30),
        ) {
            let mut q = queue(&jobs);
            for policy in [Policy::Las, Policy::LasHet, Policy::FifoHet] {
                let mut want: Vec<JobId> = q
                    .running
                    .iter()
                    .copied()
                    .chain(q.waiting.iter().map(|k| k.2))
                    .collect();
                want.sort_by(|&a, &b| round_before(policy, &q, a, b));
                let mut got = Vec::new();
                round_order(policy, &q, &mut got);
                prop_assert_eq!(&got, &want);
                // Service moves on; the re-sort lands where a fresh sort does.
                for (i, st) in q.state.iter_mut().enumerate() {
                    st.attained_accel_s += bump[i].abs();
                    st.attained_norm_s += bump[(i + 7) % bump.len()].abs();
                }
                let moved = resort_round_order(policy, &q, &mut got);
                let mut fresh = Vec::new();
                round_order(policy, &q, &mut fresh);
                prop_assert_eq!(&got, &fresh);
                if !moved {
                    prop_assert_eq!(&fresh, &want);
                }
            }
        }
    }
}
