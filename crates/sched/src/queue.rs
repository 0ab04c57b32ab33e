//! Jobs and the queue: what the scheduler is asked to place. The simulator owns and updates it;
//! the scheduler only reads it.

use std::collections::BTreeSet;

use xpufleet_model::SimTime;

use crate::fleet::{Slot, TypeIdx};

/// Dense job index, 0.., into [`Queue::jobs`].
pub type JobId = u32;

/// A job as the scheduler knows it: fixed for a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// Gang size: accelerators needed at once.
    pub accels: u32,
    /// Index into the tenant list the verdict cache was built for.
    pub tenant: u32,
    /// Types the job may run on, as a bit mask over [`crate::FleetState::types`]; types where
    /// its rate is zero are never in it.
    pub allowed: u64,
    pub priority: i32,
    pub submit: SimTime,
    pub deadline: Option<SimTime>,
    pub may_span_sites: bool,
    /// Total work in the rate model's units.
    pub work: f64,
    /// Work per second of the whole gang on each type; 0 where it cannot run.
    pub rates: Box<[f64]>,
    /// A moldable job's smaller gangs, largest first, each with its own rates per type (the
    /// performance model's scaling at that size): the queue policies may start the job at one
    /// of them when `accels` does not fit (docs/scheduling.md). Empty for a rigid job.
    pub smaller: Box<[(u32, Box<[f64]>)]>,
}

impl Job {
    /// The smallest gang the job may start with (`accels` for a rigid job).
    pub fn min_accels(&self) -> u32 {
        self.smaller.last().map_or(self.accels, |s| s.0)
    }

    /// The rates of a gang of `accels` accelerators, if the job may start with that many.
    pub fn rates_at(&self, accels: u32) -> Option<&[f64]> {
        if accels == self.accels {
            return Some(&self.rates);
        }
        self.smaller
            .iter()
            .find(|s| s.0 == accels)
            .map(|s| &s.1[..])
    }

    /// The job as a rigid gang of its `i`-th smaller size (what a placement search is asked).
    pub fn at_smaller(&self, i: usize) -> Job {
        let (accels, rates) = &self.smaller[i];
        Job {
            accels: *accels,
            rates: rates.clone(),
            smaller: Box::default(),
            ..self.clone()
        }
    }

    pub fn may_use(&self, t: TypeIdx) -> bool {
        self.allowed & (1u64 << t) != 0 && self.rates[t as usize] > 0.0
    }
    /// The best rate over allowed types (0 when there is none).
    pub fn best_rate(&self) -> f64 {
        (0..self.rates.len())
            .filter(|&t| self.may_use(t as TypeIdx))
            .map(|t| self.rates[t])
            .fold(0.0, f64::max)
    }
}

/// Where a running job is.
#[derive(Debug, Clone, PartialEq)]
pub struct Running {
    pub slots: Vec<Slot>,
    pub accel_type: TypeIdx,
    pub started: SimTime,
    /// When it will finish if left alone.
    pub expected_end: SimTime,
}

impl Running {
    /// Is the job still within its hold at `now` (see [`crate::Options::hold_s`])?
    pub fn held(&self, now: SimTime, hold_s: u64) -> bool {
        now < self.started + hold_s
    }
}

/// A job's progress.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobState {
    pub remaining: f64,
    /// Accelerator-seconds received so far (heterogeneity-agnostic service).
    pub attained_accel_s: f64,
    /// Seconds of progress at the job's best rate received so far (work done / best rate):
    /// service normalised by the job's speed, for the heterogeneity-aware policies.
    pub attained_norm_s: f64,
    pub running: Option<Running>,
}

/// Waiting-queue order: higher priority first, then submission, then id.
pub type WaitKey = (i64, SimTime, JobId);

/// All jobs, the waiting set (in queue order) and the running set.
///
/// Start and stop jobs through [`Queue::set_running`] and [`Queue::clear_running`] so that the
/// index of expected ends (which reservations read) stays in step.
#[derive(Debug, Clone, Default)]
pub struct Queue {
    pub jobs: Vec<Job>,
    pub state: Vec<JobState>,
    pub waiting: BTreeSet<WaitKey>,
    pub running: BTreeSet<JobId>,
    /// Per type: running jobs by expected end.
    pub ends_by_type: Vec<BTreeSet<(SimTime, JobId)>>,
}

impl Queue {
    pub fn new(jobs: Vec<Job>) -> Queue {
        let state = jobs
            .iter()
            .map(|j| JobState {
                remaining: j.work,
                ..JobState::default()
            })
            .collect();
        let n_types = jobs.first().map_or(0, |j| j.rates.len());
        Queue {
            jobs,
            state,
            waiting: BTreeSet::new(),
            running: BTreeSet::new(),
            ends_by_type: vec![BTreeSet::new(); n_types],
        }
    }

    /// Marks a job running (it must not be waiting any more).
    pub fn set_running(&mut self, id: JobId, r: Running) {
        let t = r.accel_type as usize;
        if self.ends_by_type.len() <= t {
            self.ends_by_type.resize(t + 1, BTreeSet::new());
        }
        self.ends_by_type[t].insert((r.expected_end, id));
        self.state[id as usize].running = Some(r);
        self.running.insert(id);
    }

    /// Marks a running job stopped and returns where it ran.
    pub fn clear_running(&mut self, id: JobId) -> Option<Running> {
        let r = self.state[id as usize].running.take()?;
        self.ends_by_type[r.accel_type as usize].remove(&(r.expected_end, id));
        self.running.remove(&id);
        Some(r)
    }

    pub fn wait_key(&self, id: JobId) -> WaitKey {
        let j = &self.jobs[id as usize];
        (-i64::from(j.priority), j.submit, id)
    }

    /// Puts a job in the waiting set.
    pub fn enqueue(&mut self, id: JobId) {
        let k = self.wait_key(id);
        self.waiting.insert(k);
    }

    pub fn dequeue(&mut self, id: JobId) -> bool {
        let k = self.wait_key(id);
        self.waiting.remove(&k)
    }
}
