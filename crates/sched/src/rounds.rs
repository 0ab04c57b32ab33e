//! Rounds: the round planner of the preemptive policies (`las`, `las-het`) and of `fifo-het`
//! in round mode (Gavel's mechanism). Each round re-plans the whole allocation from a job order
//! (least attained service first); [`RoundPlanner`] owns that order between rounds, the buffers
//! a plan reuses, and the proof that a round would plan nothing, so that a driver (the
//! simulator) asks it for a plan and applies what it gets.

use xpufleet_model::SimTime;

use crate::feasibility::{candidates, miss_reason, never_runnable, slots_free, Miss};
use crate::fleet::{FleetState, PoolState, Scratch, Slot, TypeIdx, MAX_TYPES};
use crate::policy::{schedule, Decision, Options, Plan, Policy};
use crate::queue::{Job, JobId, Queue, WaitKey};
use crate::reason::Reason;
use crate::score::{fastest, fewest_nodes_most_room};

/// One round planned from scratch: what [`schedule`] does for a round policy.
pub(crate) fn schedule_rounds(
    policy: Policy,
    fleet: &FleetState,
    queue: &Queue,
    now: SimTime,
    opts: Options,
) -> Plan {
    let mut order = Vec::new();
    round_order(policy, queue, &mut order);
    plan_round(policy, fleet, queue, &order, now, opts)
}

/// Is `id` running and within its hold at `now`? A round plan keeps such a job where it is.
fn held(queue: &Queue, id: JobId, now: SimTime, hold_s: u64) -> bool {
    hold_s > 0
        && queue.state[id as usize]
            .running
            .as_ref()
            .is_some_and(|r| r.held(now, hold_s))
}

/// The first moment after `now` at which a running job's hold ends, if any job is held.
fn next_hold_end(queue: &Queue, now: SimTime, hold_s: u64) -> Option<SimTime> {
    if hold_s == 0 {
        return None;
    }
    queue
        .running
        .iter()
        .filter_map(|&id| queue.state[id as usize].running.as_ref())
        .map(|r| r.started + hold_s)
        .filter(|&end| end > now)
        .min()
}

/// Plans every scheduling pass of a driver that calls it again and again (the simulator):
/// round after round for the round policies, keeping between rounds what lets a round cost
/// little when little changed; for the other policies each pass is [`schedule`]'s.
///
/// The driver tells it what changed since the last plan ([`RoundPlanner::state_changed`],
/// [`RoundPlanner::jobs_changed`]) and otherwise only asks [`RoundPlanner::plan`]. A round is
/// not planned when its plan is known to be empty:
///
/// - the last plan was empty, nothing changed since, and the job order (least attained service
///   first, re-sorted as service moved) is the same;
/// - nothing waits and every running job is settled (speed-blind `las`, or already on its
///   fastest type): each keeps its slots, free again when its turn comes, in any order;
/// - the proof at `empty_round` holds: with per-type free counts alone, walking the
///   placement sequence, every running job keeps its slots and no waiting job has the room.
///
/// With a hold ([`Options::hold_s`]) a plan also depends on the time: an empty plan stands
/// only until the first hold of a running job ends.
///
/// Every other round is planned in full, in memory kept from the last one; the plan is the one
/// [`schedule`] makes (the simulator's reference run holds it to that, event for event).
#[derive(Debug)]
pub struct RoundPlanner {
    policy: Policy,
    opts: Options,
    /// Take the shortcuts above (off: every pass is [`schedule`] in fresh memory).
    shortcuts: bool,
    /// The job order at the last plan (round policies only).
    order: Vec<JobId>,
    /// The last plan was empty and nothing changed since.
    clean: bool,
    /// When `clean` lapses by itself: the first end of a running job's hold after the last
    /// plan.
    clean_until: Option<SimTime>,
    /// `order` holds exactly the running and waiting jobs (false after an arrival or a
    /// completion).
    members: bool,
    /// `Job::best_rate` of each job, computed once: settling asks for it every round.
    best_rate: Vec<f64>,
    bufs: RoundBuffers,
}

impl RoundPlanner {
    /// A planner for `policy`; `opts.rounds`: the driver calls it once per round.
    pub fn new(policy: Policy, opts: Options) -> RoundPlanner {
        RoundPlanner {
            policy,
            opts,
            shortcuts: true,
            order: Vec::new(),
            clean: false,
            clean_until: None,
            members: false,
            best_rate: Vec::new(),
            bufs: RoundBuffers::default(),
        }
    }

    /// A planner without shortcuts: every pass planned in full by [`schedule`], in fresh
    /// memory, as a live driver with no history would. The reference the fast path is held to.
    pub fn reference(policy: Policy, opts: Options) -> RoundPlanner {
        RoundPlanner {
            shortcuts: false,
            ..RoundPlanner::new(policy, opts)
        }
    }

    pub fn policy(&self) -> Policy {
        self.policy
    }

    /// Something a plan reads changed: a job started or stopped (the running and waiting sets
    /// and the fleet's free slots), or accelerators failed or were repaired.
    pub fn state_changed(&mut self) {
        self.clean = false;
    }

    /// A job joined or left the running and waiting jobs (an arrival, a completion): the kept
    /// order is sorted afresh at the next plan.
    pub fn jobs_changed(&mut self) {
        self.clean = false;
        self.members = false;
    }

    /// The plan for the fleet and queue as they are at `now`, or `None` when it is known to
    /// change nothing (no plan needed: nothing waits for a queue policy, or a round proved
    /// empty). Apply its decisions in order, re-checking each, and report the changes.
    pub fn plan(&mut self, fleet: &FleetState, queue: &Queue, now: SimTime) -> Option<Plan> {
        let rounds = plans_rounds(self.policy, self.opts);
        if queue.waiting.is_empty() && !rounds {
            return None;
        }
        if !(self.shortcuts && rounds) {
            return Some(schedule(self.policy, fleet, queue, now, self.opts));
        }
        // The round plan depends on the fleet, the running and waiting sets, the job order and
        // which jobs are held alone; with the first three unchanged since an empty plan and no
        // hold ended, an unchanged order plans nothing again.
        if self.clean_until.is_some_and(|t| now >= t) {
            self.clean = false;
        }
        if self.clean && !resort_round_order(self.policy, queue, &mut self.order) {
            return None;
        }
        // The order is left as it was: `clean` says whether it still stands.
        if queue.waiting.is_empty() && queue.running.iter().all(|&id| self.settled(queue, id)) {
            return None;
        }
        if !self.clean {
            if self.members {
                // Preemptions and starts move jobs between the running and waiting sets but
                // keep them in the order: re-sorting is cheaper than sorting afresh.
                resort_round_order(self.policy, queue, &mut self.order);
            } else {
                round_order(self.policy, queue, &mut self.order);
                self.members = true;
            }
        }
        let plan = plan_round_unless_empty(
            &mut self.bufs,
            self.policy,
            fleet,
            queue,
            &self.order,
            now,
            self.opts,
        );
        // Decisions change the state (a refused one may not, but is planned again).
        self.clean = plan.as_ref().is_none_or(|p| p.decisions.is_empty());
        self.clean_until = next_hold_end(queue, now, self.opts.hold_s);
        plan
    }

    /// Why each job left waiting by a full pass at `now` waits (a plan with
    /// [`Options::explain`]), for reports at the end of a run.
    pub fn why_waiting(
        &self,
        fleet: &FleetState,
        queue: &Queue,
        now: SimTime,
    ) -> Vec<(JobId, Reason)> {
        let opts = Options {
            explain: true,
            ..self.opts
        };
        schedule(self.policy, fleet, queue, now, opts).waiting
    }

    /// Would the round plan keep this running job where it is without a search? (Its
    /// shortcut: speed-blind, or on the job's fastest type.)
    fn settled(&mut self, queue: &Queue, id: JobId) -> bool {
        if self.policy == Policy::Las {
            return true;
        }
        if self.best_rate.len() != queue.jobs.len() {
            self.best_rate = queue.jobs.iter().map(Job::best_rate).collect();
        }
        let best = self.best_rate[id as usize];
        let job = &queue.jobs[id as usize];
        queue.state[id as usize]
            .running
            .as_ref()
            .is_some_and(|r| job.rates[r.accel_type as usize] >= best)
    }
}

/// Does `policy` plan in rounds from a job order ([`round_order`]) rather than from the queue?
/// True for the preemptive policies and for `fifo-het` when the caller runs rounds.
pub(crate) fn plans_rounds(policy: Policy, opts: Options) -> bool {
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
pub(crate) fn round_order(policy: Policy, queue: &Queue, out: &mut Vec<JobId>) {
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
pub(crate) fn resort_round_order(policy: Policy, queue: &Queue, order: &mut [JobId]) -> bool {
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
pub(crate) fn plan_round(
    policy: Policy,
    fleet: &FleetState,
    queue: &Queue,
    order: &[JobId],
    now: SimTime,
    opts: Options,
) -> Plan {
    plan_round_from(
        &mut RoundBuffers::default(),
        policy,
        fleet,
        queue,
        order,
        now,
        opts,
        false,
    )
}

/// The order in which phase 2 of a round plan places jobs: phase 1 picks, in `order`, the jobs
/// that get this round while the free accelerators (`free_all`, with every running job's slots
/// given back) last; speed-aware policies then place those that gain most from a fast type
/// first. `chosen` then `rest` is the sequence. Jobs within their hold are in neither: they
/// keep their slots, which `free_all` does not count.
#[allow(clippy::too_many_arguments)]
fn round_sequence(
    policy: Policy,
    queue: &Queue,
    order: &[JobId],
    free_all: &[u64],
    now: SimTime,
    hold_s: u64,
    chosen: &mut Vec<JobId>,
    rest: &mut Vec<JobId>,
    keyed: &mut Vec<(f64, JobId)>,
) {
    let mut free_left: u64 = free_all.iter().sum();
    chosen.clear();
    rest.clear();
    for &id in order {
        if held(queue, id, now, hold_s) {
            continue;
        }
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

/// A cheap sufficient test that [`plan_round`] with `order` plans nothing, in buffers kept
/// between rounds: `Some(true)` when it proves the plan empty, `Some(false)` when it cannot
/// (then `bufs.chosen` and `bufs.rest` hold [`round_sequence`]'s result for these arguments),
/// `None` when it stopped before computing that sequence.
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
/// preempted. A job within its hold keeps its slots before any of this and never gives them
/// back, so it is left out of the counts and of the walk.
fn empty_round(
    bufs: &mut RoundBuffers,
    policy: Policy,
    fleet: &FleetState,
    queue: &Queue,
    order: &[JobId],
    now: SimTime,
    hold_s: u64,
) -> Option<bool> {
    let het = matches!(policy, Policy::LasHet | Policy::FifoHet);
    let n_types = fleet.types.len();
    let mut free_now = [0u64; MAX_TYPES];
    for p in &fleet.pools {
        free_now[p.spec.accel_type as usize] += p.free_total();
    }
    // Slots of running jobs not yet placed, per type.
    let mut pending = [0u64; MAX_TYPES];
    let mut held_n = 0usize;
    for &id in &queue.running {
        let Some(r) = &queue.state[id as usize].running else {
            return None;
        };
        if hold_s > 0 && r.held(now, hold_s) {
            held_n += 1;
            continue;
        }
        for sl in &r.slots {
            let ty = fleet.pools[sl.pool as usize].spec.accel_type;
            pending[ty as usize] += u64::from(sl.count);
        }
    }
    let mut free_all = [0u64; MAX_TYPES];
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
        now,
        hold_s,
        &mut chosen,
        &mut rest,
        &mut bufs.keyed,
    );
    let mut running_seen = held_n;
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
pub(crate) struct RoundBuffers {
    pools: Vec<PoolState>,
    chosen: Vec<JobId>,
    rest: Vec<JobId>,
    keyed: Vec<(f64, JobId)>,
    kept: Vec<JobId>,
    placed: Vec<(JobId, TypeIdx, Option<Vec<Slot>>)>,
}

/// [`plan_round`] in buffers kept between rounds, or `None` where [`empty_round`] proves the
/// plan empty; the placement sequence that test computes is reused by the plan.
pub(crate) fn plan_round_unless_empty(
    bufs: &mut RoundBuffers,
    policy: Policy,
    fleet: &FleetState,
    queue: &Queue,
    order: &[JobId],
    now: SimTime,
    opts: Options,
) -> Option<Plan> {
    let sequenced = match empty_round(bufs, policy, fleet, queue, order, now, opts.hold_s) {
        Some(true) => return None,
        Some(false) => true,
        None => false,
    };
    Some(plan_round_from(
        bufs, policy, fleet, queue, order, now, opts, sequenced,
    ))
}

/// The round plan; `sequenced`: `bufs.chosen` and `bufs.rest` already hold
/// [`round_sequence`]'s result for these arguments.
#[allow(clippy::too_many_arguments)]
fn plan_round_from(
    bufs: &mut RoundBuffers,
    policy: Policy,
    fleet: &FleetState,
    queue: &Queue,
    order: &[JobId],
    now: SimTime,
    opts: Options,
    sequenced: bool,
) -> Plan {
    let mut s = Scratch::owned(fleet, std::mem::take(&mut bufs.pools));
    // (job, type, slots to start on; `None`: it keeps the slots it runs on).
    let mut placed = std::mem::take(&mut bufs.placed);
    placed.clear();
    // Jobs within their hold keep their slots (never given back); the rest compete for all.
    for &id in &queue.running {
        if let Some(r) = &queue.state[id as usize].running {
            if opts.hold_s > 0 && r.held(now, opts.hold_s) {
                placed.push((id, r.accel_type, None));
            } else {
                s.give(&r.slots);
            }
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
            now,
            opts.hold_s,
            &mut chosen,
            &mut rest,
            &mut bufs.keyed,
        );
    }
    // Phase 2: place in that sequence. Speed-aware: each job takes the fastest type with
    // room. Speed-blind: the type with most room. A job keeps its slots when they are still
    // free on the type it would get.
    let het = matches!(policy, Policy::LasHet | Policy::FifoHet);
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
            fastest(job, &cands)
        } else {
            fewest_nodes_most_room(&s, &cands)
        }
        .expect("non-empty");
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
                    smaller: Box::default(),
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

        /// A round claimed empty plans nothing, the plan that reuses the test's sequence is the
        /// plan from scratch, and so is the kept planner's, round after round; no plan
        /// preempts or moves a job within its hold.
        #[test]
        fn an_empty_round_plan_is_only_claimed_when_true(
            hold_s in prop_oneof![Just(0u64), 1u64..2000],
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
                        smaller: Box::default(),
                    })
                    .collect(),
            );
            for i in 0..jobs.len() {
                if never_runnable(&fleet, &q.jobs[i]).is_none() {
                    q.enqueue(i as JobId);
                }
            }
            let opts = Options { explain: false, rounds: true, hold_s };
            for (pi, policy) in [Policy::Las, Policy::LasHet, Policy::FifoHet].into_iter().enumerate() {
                // Kept across rounds, told of every change, as the simulator keeps it.
                let mut planner = RoundPlanner::new(policy, opts);
                for step in 0..8u64 {
                    // Rounds of 360 s (the queue carries over between policies, so time goes on):
                    // holds end between some of them.
                    let now = SimTime((pi as u64 * 8 + step) * 360);
                    let mut order = Vec::new();
                    round_order(policy, &q, &mut order);
                    let empty = empty_round(
                        &mut RoundBuffers::default(), policy, &fleet, &q, &order, now, hold_s,
                    ) == Some(true);
                    let plan = plan_round(policy, &fleet, &q, &order, now, opts);
                    // The planner's plan is the plan from scratch, or `None` for an empty one.
                    match planner.plan(&fleet, &q, now) {
                        None => prop_assert!(plan.decisions.is_empty(), "{policy} step {step}"),
                        Some(p) => prop_assert_eq!(&p, &plan),
                    }
                    prop_assert_eq!(&schedule(policy, &fleet, &q, now, opts), &plan);
                    // A job within its hold is never preempted (nor so moved).
                    for d in &plan.decisions {
                        if let Decision::Preempt { job } = d {
                            let r = q.state[*job as usize].running.as_ref().unwrap();
                            prop_assert!(
                                now >= r.started + hold_s,
                                "{policy} step {step}: job {job} preempted within its hold"
                            );
                        }
                    }
                    if !plan.decisions.is_empty() {
                        planner.state_changed();
                    }
                    if empty {
                        prop_assert!(plan.decisions.is_empty(), "{policy} step {step}");
                    }
                    // The plan that reuses the test's placement sequence is the same plan.
                    let mut bufs = RoundBuffers::default();
                    match plan_round_unless_empty(&mut bufs, policy, &fleet, &q, &order, now, opts) {
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
                                        started: now,
                                        expected_end: now,
                                    },
                                );
                            }
                        }
                    }
                    // Running jobs gain service; some rounds move nothing.
                    for &(i, by) in bumps.iter().skip(step as usize * 7).take(7) {
                        if i < q.jobs.len() && q.state[i].running.is_some() {
                            q.state[i].attained_accel_s += by;
                            q.state[i].attained_norm_s += by / 3.0;
                        }
                    }
                }
            }
        }

        /// The precomputed-key sort and the insertion re-sort give the comparator's order.
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
