//! The discrete-event engine: integer time, events ordered by (time, sequence), one seeded RNG,
//! and the production scheduler (`xpufleet_sched::RoundPlanner`, which plans with
//! `xpufleet_sched::schedule`'s pipeline) deciding every start and preemption. The engine knows
//! nothing of how plans are made: it tells the planner what changed and applies what it gets.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use xpufleet_model::SimTime;
use xpufleet_sched::{
    never_runnable, Decision, FleetState, Job, JobId, Options, Policy, Queue, Reason, RoundPlanner,
    Running, Slot,
};

use crate::log::{LogEvent, LogPool};
use crate::metrics::{percentile, Metrics};

/// Accelerator failures and repairs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Failures {
    /// Failures per accelerator-hour (the performance model's default is ~2e-5, from Llama 3).
    pub rate_per_chip_hour: f64,
    /// Seconds from a failure to the accelerator's return.
    pub repair_s: u64,
    /// A job checkpoints every this many seconds of progress; a failure loses what came after
    /// the last checkpoint.
    pub checkpoint_interval_s: u64,
}

/// How to run a simulation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Config {
    pub policy: Policy,
    pub seed: u64,
    /// Round length for round-based scheduling (Gavel: 360 s). `None`: schedule at every event;
    /// preemptive policies always use rounds (360 s when not given).
    pub round_s: Option<u64>,
    /// Seconds a preempted or failed job spends restoring its checkpoint before it progresses
    /// again (0 for Gavel parity).
    pub restart_delay_s: u64,
    pub failures: Option<Failures>,
    /// Seconds a round policy keeps a (re)started job on its accelerators before a round may
    /// preempt or move it (`xpufleet_sched::Options::hold_s`). `None`: the restore delay plus,
    /// with failures, one checkpoint interval, so that a preemption never throws away a
    /// restore that bought no checkpointed progress (0 without either, as in Gavel).
    #[serde(default)]
    pub hold_s: Option<u64>,
    /// Keep the event log.
    pub log: bool,
}

impl Config {
    pub fn new(policy: Policy) -> Config {
        Config {
            policy,
            seed: 0,
            round_s: None,
            restart_delay_s: 0,
            failures: None,
            hold_s: None,
            log: false,
        }
    }

    /// The hold in force (see [`Config::hold_s`]).
    pub fn effective_hold_s(&self) -> u64 {
        self.hold_s.unwrap_or_else(|| {
            self.restart_delay_s
                .saturating_add(self.failures.map_or(0, |f| f.checkpoint_interval_s))
        })
    }

    /// The round length in force: the given one, or 360 s for preemptive policies.
    pub fn effective_round_s(&self) -> Option<u64> {
        match (self.round_s, self.policy.preemptive()) {
            (Some(r), _) => Some(r.max(1)),
            (None, true) => Some(360),
            (None, false) => None,
        }
    }
}

/// The work a simulation may do before it stops, so that no input (a job of 1e30 FLOP, a
/// submit time near `u64::MAX`, a failure every second) makes a run endless. A run that hits a
/// limit stops there: jobs not finished by then are unfinished, never "completed" at a
/// saturated time, and [`Outcome::stopped`] says which limit ended it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Simulated seconds after the first submission (default 100 years).
    pub max_sim_s: u64,
    /// Events processed: arrivals, completions, rounds, failures, repairs (default 50
    /// million, about a minute of work; the whole Philly trace takes about 200 thousand).
    pub max_events: u64,
    /// Placements kept in the event log (one per node of every gang start; default 50 million,
    /// about 600 MB): a preemptive policy restarting gangs of 65,536 accelerators every round
    /// would otherwise grow the log past any memory long before the event limit.
    pub max_log_slots: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_sim_s: 100 * 365 * 86_400,
            max_events: 50_000_000,
            max_log_slots: 50_000_000,
        }
    }
}

/// Which limit stopped a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "limit")]
pub enum Stopped {
    /// The next event lay beyond `max_sim_s` after the first submission.
    SimTime { max_sim_s: u64 },
    /// `max_events` events were processed.
    Events { max_events: u64, at_s: u64 },
    /// The event log held `max_log_slots` placements.
    LogSlots { max_log_slots: u64, at_s: u64 },
    /// The caller asked it to stop ([`crate::cancel`]): its request was abandoned or ran past
    /// its time limit, or the server is stopping.
    Cancelled { at_s: u64 },
}

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stopped::SimTime { max_sim_s } => write!(
                f,
                "stopped at the simulated-time limit of {max_sim_s} s ({:.0} years) after the first submission",
                *max_sim_s as f64 / (365.0 * 86_400.0)
            ),
            Stopped::Events { max_events, at_s } => write!(
                f,
                "stopped after the work limit of {max_events} events, at t = {at_s} s"
            ),
            Stopped::LogSlots { max_log_slots, at_s } => write!(
                f,
                "stopped when the event log reached its limit of {max_log_slots} placements, at t = {at_s} s"
            ),
            Stopped::Cancelled { at_s } => {
                write!(f, "stopped on request (cancelled), at t = {at_s} s")
            }
        }
    }
}

/// What a simulation produced.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub metrics: Metrics,
    /// The limit that ended the run early, if one did (the metrics cover what ran until then).
    pub stopped: Option<Stopped>,
    /// The event log, when `Config::log` was set.
    pub log: Vec<LogEvent>,
    /// Why each job still waiting at the end waits.
    pub unfinished: Vec<(JobId, Reason)>,
}

/// A pool that arrives or leaves while the simulation runs: a purchase delivered, a lease that
/// ends. A pool with an arrival is absent (all its accelerators down) from the start until then;
/// a departure stops the jobs on it (they go back to the queue with the progress they made, as
/// after a preemption) and takes it away for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapacityEvent {
    pub t: SimTime,
    /// Index into the fleet's pools.
    pub pool: u32,
    /// True: the pool arrives; false: it leaves.
    pub present: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Ev {
    Finish { job: JobId, epoch: u32 },
    Fail,
    Repair { pool: u32, node: u32 },
    Round,
    Capacity { pool: u32, present: bool },
}

/// The simulator's view of a running job.
#[derive(Debug, Clone, Copy)]
struct Run {
    rate: f64,
    /// When progress starts (after any restart delay).
    progress_from: SimTime,
    /// Remaining work at `progress_from`.
    rem_at_start: f64,
    settled_at: SimTime,
    /// Accelerators the gang holds (a moldable job's size at this start).
    gang: u32,
}

/// Simulated seconds with nothing running and nothing arriving after which a run stops.
pub const IDLE_LIMIT_S: u64 = 30 * 86_400;

struct Sim<'a> {
    cfg: &'a Config,
    /// The last start or completion.
    last_progress: SimTime,
    fleet: FleetState,
    q: Queue,
    now: SimTime,
    heap: BinaryHeap<Reverse<(SimTime, u64, Ev)>>,
    seq: u64,
    rng: ChaCha8Rng,
    log: Vec<LogEvent>,
    epoch: Vec<u32>,
    runs: Vec<Option<Run>>,
    restarted: Vec<bool>,
    first_start: Vec<Option<SimTime>>,
    finish: Vec<Option<SimTime>>,
    node_jobs: HashMap<(u32, u32), Vec<(JobId, u32)>>,
    busy_accel_s: Vec<f64>,
    preemptions: u64,
    failures: u64,
    decisions: u64,
    rejected_decisions: u64,
    rejected: BTreeMap<String, u64>,
    events: u64,
    /// Placements in the event log so far (see [`Limits::max_log_slots`]).
    log_slots: u64,
    /// Plans each scheduling pass; told of every change to the fleet and the queue.
    planner: RoundPlanner,
    ids_buf: Vec<JobId>,
    /// `Job::best_rate` of each job, computed once: settling asks for it every round.
    best_rate: Vec<f64>,
    /// Pools that have left (capacity events): their failed accelerators are not repaired.
    departed: Vec<bool>,
    /// Pool arrivals still to come: while any is, waiting jobs may yet run.
    arrivals_left: usize,
}

/// Runs `jobs` on `fleet` under `cfg`. `labels` name the jobs in nothing but the caller's
/// reports; `progress(done, total)` is called now and then.
pub fn simulate(
    fleet: FleetState,
    jobs: Vec<Job>,
    cfg: &Config,
    progress: &mut dyn FnMut(u64, u64),
) -> Outcome {
    run(fleet, jobs, cfg, Limits::default(), &[], progress, true)
}

/// [`simulate`] under explicit work limits.
pub fn simulate_with_limits(
    fleet: FleetState,
    jobs: Vec<Job>,
    cfg: &Config,
    limits: Limits,
    progress: &mut dyn FnMut(u64, u64),
) -> Outcome {
    run(fleet, jobs, cfg, limits, &[], progress, true)
}

/// [`simulate_with_limits`] on a fleet whose pools arrive and leave at the times `capacity`
/// gives (see [`CapacityEvent`]): a plan over periods, whose purchases are delivered quarter by
/// quarter and whose leases end.
pub fn simulate_over_time(
    fleet: FleetState,
    jobs: Vec<Job>,
    cfg: &Config,
    limits: Limits,
    capacity: &[CapacityEvent],
    progress: &mut dyn FnMut(u64, u64),
) -> Outcome {
    run(fleet, jobs, cfg, limits, capacity, progress, true)
}

/// [`simulate`] without its speed shortcuts (every round planned in full by `xpufleet_sched::schedule`, in
/// fresh memory): the reference that tests and benchmarks hold the fast path to, event for
/// event.
pub fn simulate_reference(
    fleet: FleetState,
    jobs: Vec<Job>,
    cfg: &Config,
    progress: &mut dyn FnMut(u64, u64),
) -> Outcome {
    run(fleet, jobs, cfg, Limits::default(), &[], progress, false)
}

fn run(
    fleet: FleetState,
    jobs: Vec<Job>,
    cfg: &Config,
    limits: Limits,
    capacity: &[CapacityEvent],
    progress: &mut dyn FnMut(u64, u64),
    shortcuts: bool,
) -> Outcome {
    let n = jobs.len();
    let mut order: Vec<JobId> = (0..n as JobId).collect();
    order.sort_by_key(|&i| (jobs[i as usize].submit, i));
    let n_types = fleet.types.len();
    let best_rate = jobs.iter().map(Job::best_rate).collect();
    let opts = Options {
        explain: false,
        rounds: cfg.effective_round_s().is_some(),
        hold_s: cfg.effective_hold_s(),
    };
    let mut sim = Sim {
        cfg,
        last_progress: SimTime::ZERO,
        q: Queue::new(jobs),
        now: SimTime::ZERO,
        heap: BinaryHeap::new(),
        seq: 0,
        rng: ChaCha8Rng::seed_from_u64(cfg.seed),
        log: Vec::new(),
        epoch: vec![0; n],
        runs: vec![None; n],
        restarted: vec![false; n],
        first_start: vec![None; n],
        finish: vec![None; n],
        node_jobs: HashMap::new(),
        busy_accel_s: vec![0.0; n_types],
        preemptions: 0,
        failures: 0,
        decisions: 0,
        rejected_decisions: 0,
        rejected: BTreeMap::new(),
        events: 0,
        log_slots: 0,
        planner: if shortcuts {
            RoundPlanner::new(cfg.policy, opts)
        } else {
            RoundPlanner::reference(cfg.policy, opts)
        },
        ids_buf: Vec::new(),
        best_rate,
        departed: vec![false; fleet.pools.len()],
        arrivals_left: 0,
        fleet,
    };
    if cfg.log {
        let f = &sim.fleet;
        sim.log.push(LogEvent::Fleet {
            policy: cfg.policy.name().into(),
            seed: cfg.seed,
            pools: f
                .pools
                .iter()
                .map(|p| LogPool {
                    id: p.spec.id.clone(),
                    accel_type: f.types[p.spec.accel_type as usize].id.clone(),
                    site: f.sites[p.spec.site as usize].clone(),
                    nodes: p.spec.nodes,
                    accels_per_node: p.spec.accels_per_node,
                })
                .collect(),
            denied: f.access.denied_pairs(),
        });
    }
    // Pools that arrive later are absent until then; events for pools the fleet lacks are
    // ignored.
    for e in capacity {
        if e.pool as usize >= sim.fleet.pools.len() {
            continue;
        }
        if e.present {
            if sim.arrival_pending(e.pool) {
                continue;
            }
            sim.take_away(e.pool);
            sim.arrivals_left += 1;
        }
        sim.push(
            e.t,
            Ev::Capacity {
                pool: e.pool,
                present: e.present,
            },
        );
    }
    let round_s = cfg.effective_round_s();
    let first = order.first().map(|&i| sim.q.jobs[i as usize].submit);
    if let (Some(_), Some(t0)) = (round_s, first) {
        sim.push(t0, Ev::Round);
    }
    if let (Some(_), Some(t0)) = (cfg.failures, first) {
        sim.next_failure(t0);
    }
    let mut next_arrival = 0usize;
    let mut done: u64 = 0;
    let total = n as u64;
    let t_limit = first.unwrap_or_default() + limits.max_sim_s;
    let mut stopped = None;
    let mut next_cancel_check = 0u64;
    progress(0, total);
    loop {
        let t_arr = order
            .get(next_arrival)
            .map(|&i| sim.q.jobs[i as usize].submit);
        let t_ev = sim.heap.peek().map(|e| e.0 .0);
        let now = match (t_arr, t_ev) {
            (None, None) => break,
            (Some(a), None) => a,
            (None, Some(e)) => e,
            (Some(a), Some(e)) => a.min(e),
        };
        // Only failures and repairs left, and no job will ever run again: stop.
        if t_arr.is_none() && sim.q.running.is_empty() && sim.idle_forever() {
            break;
        }
        // Failures can keep a chip or two down at every moment, so a gang as large as all it
        // may use could wait for ever: give up after a long stretch with nothing running
        // (unless a pool is still to arrive, which may run it).
        if t_arr.is_none()
            && sim.q.running.is_empty()
            && sim.arrivals_left == 0
            && now.saturating_sub(sim.last_progress) > IDLE_LIMIT_S
        {
            break;
        }
        // The work limits: past them, what is still queued or running stays unfinished.
        if now > t_limit || now == SimTime::MAX {
            stopped = Some(Stopped::SimTime {
                max_sim_s: limits.max_sim_s,
            });
            break;
        }
        if sim.log_slots >= limits.max_log_slots {
            stopped = Some(Stopped::LogSlots {
                max_log_slots: limits.max_log_slots,
                at_s: now.secs(),
            });
            break;
        }
        if sim.events >= limits.max_events {
            stopped = Some(Stopped::Events {
                max_events: limits.max_events,
                at_s: now.secs(),
            });
            break;
        }
        if sim.events >= next_cancel_check {
            next_cancel_check = sim.events + crate::cancel::CHECK_EVERY;
            if crate::cancel::requested() {
                stopped = Some(Stopped::Cancelled { at_s: now.secs() });
                break;
            }
        }
        sim.now = now;
        let mut dirty = false;
        let mut round = false;
        // Events already queued at `now` (completions free capacity first), then arrivals.
        while let Some(Reverse((t, _, _))) = sim.heap.peek() {
            if *t != now {
                break;
            }
            let Reverse((_, _, ev)) = sim.heap.pop().expect("peeked");
            sim.events += 1;
            match ev {
                Ev::Finish { job, epoch } => {
                    if sim.epoch[job as usize] == epoch && sim.q.running.contains(&job) {
                        sim.complete(job);
                        done += 1;
                        if done.is_multiple_of(4096) {
                            progress(done, total);
                        }
                        dirty = true;
                    }
                }
                Ev::Fail => {
                    sim.fail();
                    dirty = true;
                }
                // A pool that left keeps its failed accelerators down.
                Ev::Repair { pool, .. } if sim.departed[pool as usize] => {}
                Ev::Repair { pool, node } => {
                    sim.fleet.pools[pool as usize]
                        .repair_one(node)
                        .expect("repairs follow failures");
                    sim.planner.state_changed();
                    if cfg.log {
                        sim.log.push(LogEvent::Repair { t: now, pool, node });
                    }
                    dirty = true;
                }
                Ev::Round => round = true,
                Ev::Capacity { pool, present } => {
                    if present {
                        sim.arrive_pool(pool);
                    } else {
                        sim.depart_pool(pool);
                    }
                    dirty = true;
                    // A round policy may have stopped ticking with jobs waiting: the change
                    // is a reason to plan again.
                    if round_s.is_some() && !sim.heap.iter().any(|e| matches!(e.0 .2, Ev::Round)) {
                        round = true;
                    }
                }
            }
        }
        while let Some(&id) = order.get(next_arrival) {
            if sim.q.jobs[id as usize].submit != now {
                break;
            }
            next_arrival += 1;
            sim.events += 1;
            sim.arrive(id);
            dirty = true;
        }
        match round_s {
            None => {
                if dirty {
                    sim.schedule_now();
                }
            }
            Some(r) => {
                if round {
                    sim.settle_all();
                    let made = sim.schedule_now();
                    let more = next_arrival < order.len()
                        || !sim.q.running.is_empty()
                        || (!sim.q.waiting.is_empty() && (made || sim.repairs_pending()));
                    if more {
                        sim.push(now + r, Ev::Round);
                    }
                }
            }
        }
    }
    progress(done, total);
    let mut out = sim.finish_up();
    out.stopped = stopped;
    out
}

impl Sim<'_> {
    fn push(&mut self, t: SimTime, ev: Ev) {
        self.seq += 1;
        self.heap.push(Reverse((t, self.seq, ev)));
    }

    fn repairs_pending(&self) -> bool {
        self.heap
            .iter()
            .any(|e| matches!(e.0 .2, Ev::Repair { .. }))
    }

    /// Nothing running and nothing the queue holds fits even an idle, repaired fleet? Then
    /// waiting longer changes nothing.
    fn idle_forever(&self) -> bool {
        self.q.waiting.is_empty()
            || (self.arrivals_left == 0
                && !self
                    .heap
                    .iter()
                    .any(|e| matches!(e.0 .2, Ev::Repair { .. } | Ev::Round)))
    }

    fn arrival_pending(&self, pool: u32) -> bool {
        self.heap
            .iter()
            .any(|e| matches!(e.0 .2, Ev::Capacity { pool: p, present: true } if p == pool))
    }

    /// Takes every accelerator of `pool` down (it is not there yet, or no longer).
    fn take_away(&mut self, pool: u32) {
        let p = &mut self.fleet.pools[pool as usize];
        for node in 0..p.spec.nodes {
            while p.free_on(node) > 0 {
                p.fail_one(node).expect("a free accelerator");
            }
        }
        self.planner.state_changed();
        if self.cfg.log {
            self.log.push(LogEvent::Capacity {
                t: self.now,
                pool,
                present: false,
            });
        }
    }

    /// A pool is delivered: every accelerator of it comes up.
    fn arrive_pool(&mut self, pool: u32) {
        if self.departed[pool as usize] {
            return;
        }
        self.arrivals_left = self.arrivals_left.saturating_sub(1);
        let p = &mut self.fleet.pools[pool as usize];
        for node in 0..p.spec.nodes {
            while p.down_on(node) > 0 {
                p.repair_one(node).expect("an absent accelerator");
            }
        }
        self.planner.state_changed();
        self.last_progress = self.now;
        if self.cfg.log {
            self.log.push(LogEvent::Capacity {
                t: self.now,
                pool,
                present: true,
            });
        }
    }

    /// A pool leaves (a lease ends): its jobs go back to the queue with their progress, then
    /// its accelerators go down for good.
    fn depart_pool(&mut self, pool: u32) {
        if self.departed[pool as usize] {
            return;
        }
        let on_pool: Vec<JobId> = self
            .q
            .running
            .iter()
            .copied()
            .filter(|&j| {
                self.q.state[j as usize]
                    .running
                    .as_ref()
                    .is_some_and(|r| r.slots.iter().any(|s| s.pool == pool))
            })
            .collect();
        for j in on_pool {
            self.stop(j);
            self.restarted[j as usize] = true;
            self.q.enqueue(j);
            if self.cfg.log {
                self.log.push(LogEvent::Preempt {
                    t: self.now,
                    job: j,
                });
            }
        }
        self.departed[pool as usize] = true;
        self.take_away(pool);
    }

    fn arrive(&mut self, id: JobId) {
        self.last_progress = self.now;
        self.planner.jobs_changed();
        let job = &self.q.jobs[id as usize];
        if self.cfg.log {
            self.log.push(LogEvent::Arrive {
                t: self.now,
                job: id,
                accels: job.accels,
                tenant: job.tenant,
                may_span_sites: job.may_span_sites,
                min_accels: (job.min_accels() < job.accels).then(|| job.min_accels()),
            });
        }
        if let Some(r) = never_runnable(&self.fleet, job) {
            *self.rejected.entry(r.name().to_string()).or_insert(0) += 1;
            if self.cfg.log {
                self.log.push(LogEvent::Reject {
                    t: self.now,
                    job: id,
                    reason: r.to_string(),
                });
            }
            return;
        }
        self.q.enqueue(id);
    }

    /// Brings a running job's progress and service counters up to `now`.
    fn settle(&mut self, id: JobId) {
        let now = self.now;
        let Some(run) = self.runs[id as usize].as_mut() else {
            return;
        };
        let st = &mut self.q.state[id as usize];
        let accels = f64::from(run.gang);
        let dt = now.saturating_sub(run.settled_at) as f64;
        let p0 = run.settled_at.max(run.progress_from);
        let p1 = now.max(run.progress_from);
        let work = run.rate * (p1 - p0) as f64;
        st.remaining = (run.rem_at_start - run.rate * (p1 - run.progress_from) as f64).max(0.0);
        st.attained_accel_s += accels * dt;
        let best = self.best_rate[id as usize];
        if best > 0.0 {
            st.attained_norm_s += work / best;
        }
        if let Some(r) = &st.running {
            self.busy_accel_s[r.accel_type as usize] += accels * dt;
        }
        run.settled_at = now;
    }

    fn settle_all(&mut self) {
        // A buffer kept between rounds: settling runs every round.
        let mut ids = std::mem::take(&mut self.ids_buf);
        ids.clear();
        ids.extend(self.q.running.iter().copied());
        for &id in &ids {
            self.settle(id);
        }
        self.ids_buf = ids;
    }

    /// Takes the job off its accelerators (settled first).
    fn stop(&mut self, id: JobId) -> Vec<Slot> {
        self.settle(id);
        self.planner.state_changed();
        // The idle clock starts when the last job stops, not at its start: a job that ran for
        // months and then failed has not left the fleet idle for months.
        self.last_progress = self.now;
        self.runs[id as usize] = None;
        self.epoch[id as usize] += 1;
        let r = self.q.clear_running(id).expect("stopping a running job");
        self.fleet
            .release(&r.slots)
            .expect("a running job's slots are held");
        if self.cfg.failures.is_some() {
            for s in &r.slots {
                if let Some(v) = self.node_jobs.get_mut(&(s.pool, s.node)) {
                    v.retain(|&(j, _)| j != id);
                }
            }
        }
        r.slots
    }

    fn complete(&mut self, id: JobId) {
        self.stop(id);
        self.planner.jobs_changed();
        self.q.state[id as usize].remaining = 0.0;
        self.finish[id as usize] = Some(self.now);
        self.last_progress = self.now;
        if self.cfg.log {
            self.log.push(LogEvent::Finish {
                t: self.now,
                job: id,
            });
        }
    }

    /// Asks the planner and applies its plan, re-checking each decision. True if anything
    /// changed.
    fn schedule_now(&mut self) -> bool {
        let Some(plan) = self.planner.plan(&self.fleet, &self.q, self.now) else {
            return false;
        };
        let changed = !plan.decisions.is_empty();
        for d in plan.decisions {
            match d {
                Decision::Preempt { job } => {
                    if !self.q.running.contains(&job) {
                        self.rejected_decisions += 1;
                        continue;
                    }
                    self.stop(job);
                    self.restarted[job as usize] = true;
                    self.preemptions += 1;
                    self.q.enqueue(job);
                    if self.cfg.log {
                        self.log.push(LogEvent::Preempt { t: self.now, job });
                    }
                }
                Decision::Start {
                    job,
                    accel_type,
                    slots,
                } => self.start(job, accel_type, slots),
            }
        }
        changed
    }

    fn start(&mut self, id: JobId, accel_type: u16, slots: Vec<Slot>) {
        let job = &self.q.jobs[id as usize];
        let total: u64 = slots.iter().map(|s| u64::from(s.count)).sum();
        // A moldable job starts at any of its sizes, with that size's rates.
        let rates = u32::try_from(total).ok().and_then(|k| job.rates_at(k));
        let rate = rates.map_or(0.0, |r| r.get(accel_type as usize).copied().unwrap_or(0.0));
        let type_ok = job.may_use(accel_type)
            && rate > 0.0
            && slots.iter().all(|s| {
                self.fleet
                    .pools
                    .get(s.pool as usize)
                    .map(|p| p.spec.accel_type)
                    == Some(accel_type)
            });
        if !self.q.waiting.contains(&self.q.wait_key(id))
            || !type_ok
            || self
                .fleet
                .allocate(job.tenant, job.may_span_sites, &slots)
                .is_err()
        {
            self.rejected_decisions += 1;
            return;
        }
        self.planner.state_changed();
        self.q.dequeue(id);
        self.decisions += 1;
        self.last_progress = self.now;
        let now = self.now;
        let delay = if self.restarted[id as usize] {
            self.cfg.restart_delay_s
        } else {
            0
        };
        let rem = self.q.state[id as usize].remaining;
        let progress_from = now + delay;
        let end = progress_from + (rem / rate).ceil().max(0.0) as u64;
        self.runs[id as usize] = Some(Run {
            rate,
            progress_from,
            rem_at_start: rem,
            settled_at: now,
            gang: total as u32,
        });
        self.first_start[id as usize].get_or_insert(now);
        if self.cfg.failures.is_some() {
            for s in &slots {
                self.node_jobs
                    .entry((s.pool, s.node))
                    .or_default()
                    .push((id, s.count));
            }
        }
        if self.cfg.log {
            self.log_slots += slots.len() as u64;
            self.log.push(LogEvent::Start {
                t: now,
                job: id,
                accel_type: self.fleet.types[accel_type as usize].id.clone(),
                slots: slots.iter().map(|s| [s.pool, s.node, s.count]).collect(),
            });
        }
        self.q.set_running(
            id,
            Running {
                slots,
                accel_type,
                started: now,
                expected_end: end,
            },
        );
        let epoch = self.epoch[id as usize];
        self.push(end, Ev::Finish { job: id, epoch });
    }

    fn next_failure(&mut self, from: SimTime) {
        let Some(f) = self.cfg.failures else { return };
        let per_s = self.fleet.total_accels() as f64 * f.rate_per_chip_hour / 3600.0;
        if per_s <= 0.0 {
            return;
        }
        let u: f64 = self.rng.random::<f64>();
        let dt = (-(1.0 - u).ln() / per_s).ceil().max(1.0);
        if dt < 1e15 {
            self.push(from + dt as u64, Ev::Fail);
        }
    }

    /// One accelerator, drawn uniformly from the fleet, fails.
    fn fail(&mut self) {
        let f = self.cfg.failures.expect("failures are on");
        let total = self.fleet.total_accels();
        let mut u = self.rng.random_range(0..total);
        let mut pool = 0u32;
        for (i, p) in self.fleet.pools.iter().enumerate() {
            if u < p.spec.accels() {
                pool = i as u32;
                break;
            }
            u -= p.spec.accels();
        }
        let apn = self.fleet.pools[pool as usize].spec.accels_per_node;
        let node = (u / u64::from(apn)) as u32;
        let slot = (u % u64::from(apn)) as u32;
        let down = self.fleet.pools[pool as usize].down_on(node);
        self.next_failure(self.now);
        if slot < down {
            // Already failed: nothing more breaks.
            return;
        }
        // Slots after the failed ones belong to jobs on the node, in start order, then to free
        // accelerators.
        let mut k = slot - down;
        let mut victim = None;
        if let Some(v) = self.node_jobs.get(&(pool, node)) {
            for &(j, c) in v {
                if k < c {
                    victim = Some(j);
                    break;
                }
                k -= c;
            }
        }
        self.failures += 1;
        self.planner.state_changed();
        if let Some(j) = victim {
            self.settle(j);
            let run = self.runs[j as usize].expect("victim runs");
            // Back to the last checkpoint.
            let ran = self.now.saturating_sub(run.progress_from);
            let ci = f.checkpoint_interval_s.max(1);
            let kept = run.rate * ((ran / ci) * ci) as f64;
            self.stop(j);
            self.q.state[j as usize].remaining = (run.rem_at_start - kept).max(0.0);
            self.restarted[j as usize] = true;
            self.q.enqueue(j);
        }
        self.fleet.pools[pool as usize]
            .fail_one(node)
            .expect("a free accelerator after stopping its job");
        if self.cfg.log {
            self.log.push(LogEvent::Fail {
                t: self.now,
                pool,
                node,
                job: victim,
            });
        }
        self.push(self.now + f.repair_s, Ev::Repair { pool, node });
    }

    fn finish_up(mut self) -> Outcome {
        self.settle_all();
        let unfinished = if self.q.waiting.is_empty() {
            Vec::new()
        } else {
            self.planner.why_waiting(&self.fleet, &self.q, self.now)
        };
        let n = self.q.jobs.len();
        let mut jct = Vec::new();
        let mut wait_sum = 0.0;
        let mut started = 0u64;
        let t0 = self
            .q
            .jobs
            .iter()
            .map(|j| j.submit)
            .min()
            .unwrap_or_default();
        let mut t_end = t0;
        for i in 0..n {
            let submit = self.q.jobs[i].submit;
            if let Some(s) = self.first_start[i] {
                wait_sum += (s - submit) as f64;
                started += 1;
            }
            if let Some(f) = self.finish[i] {
                jct.push(f - submit);
                t_end = t_end.max(f);
            }
        }
        jct.sort_unstable();
        let makespan = t_end - t0;
        // Busy time counts jobs that never finished too: over the whole simulated span, so
        // that utilisation never exceeds 100% (the makespan alone covers finished jobs).
        let span = if self.q.running.is_empty() && self.q.waiting.is_empty() {
            makespan
        } else {
            makespan.max(self.now - t0)
        };
        let cap = self.fleet.capacity_by_type();
        let utilization = self
            .fleet
            .types
            .iter()
            .enumerate()
            .map(|(t, ty)| {
                let denom = cap[t] as f64 * span as f64;
                let u = if denom > 0.0 {
                    self.busy_accel_s[t] / denom
                } else {
                    0.0
                };
                (ty.id.clone(), u)
            })
            .collect();
        let completed = jct.len() as u64;
        let metrics = Metrics {
            jobs: n as u64,
            completed,
            unfinished: n as u64 - completed - self.rejected.values().sum::<u64>(),
            rejected: self.rejected,
            jct_mean_s: if jct.is_empty() {
                0.0
            } else {
                jct.iter().map(|&x| x as f64).sum::<f64>() / jct.len() as f64
            },
            jct_p50_s: percentile(&jct, 50.0),
            jct_p99_s: percentile(&jct, 99.0),
            queue_mean_s: if started == 0 {
                0.0
            } else {
                wait_sum / started as f64
            },
            makespan_s: makespan,
            utilization,
            preemptions: self.preemptions,
            failures: self.failures,
            decisions: self.decisions,
            rejected_decisions: self.rejected_decisions,
            events: self.events,
        };
        Outcome {
            metrics,
            stopped: None,
            log: self.log,
            unfinished,
        }
    }
}
