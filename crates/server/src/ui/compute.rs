//! The UI's computations: what a page needs (a report, a plan), keyed by a digest of everything
//! it reads, run once on a blocking task and kept while the server runs. A page asking for an
//! answer that is not ready gets the job's progress instead, and asks again.
//!
//! What a job computes is the application service's (`xpufleet_app::service::compute`), on the
//! same context as the API's (`crate::api::context`): the stored fleet records are laid over
//! the scenario by `xpufleet_app::records`' rules, so editing one on the Records page changes
//! the verdicts shown. This module only keeps jobs and their progress.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::Serialize;
use sha2::{Digest, Sha256};
use xpufleet_model::Date;
use xpufleet_report::ReportData;

use crate::db::Store;
use crate::token;

/// Finished jobs kept at most; the oldest finished ones go first.
const MAX_JOBS: usize = 64;

/// The records a computation reads besides the scenario: the application service's context.
pub type Records = xpufleet_app::service::Context;

/// The context stored now, as the API reads it.
pub async fn current(store: &Store) -> Result<Records, String> {
    crate::api::context(store).await.map_err(|e| e.body.error)
}

/// What a job computes.
#[derive(Debug, Clone, Serialize)]
pub enum Task {
    /// `xpufleet run`: check, plan, simulate; the fleet, compliance and simulate pages.
    Report {
        as_of: Option<Date>,
        policy: String,
        seed: u64,
        failures: bool,
    },
    /// `xpufleet plan [--what-if]`.
    Plan {
        as_of: Option<Date>,
        what_if: Option<String>,
    },
}

/// A job's answer.
#[derive(Debug, Clone)]
pub enum Output {
    Report(Arc<ReportData>),
    Plan(Arc<xpufleet_app::PlanOutput>),
}

/// Where a job is.
#[derive(Debug, Clone)]
pub enum JobState {
    Running { step: String, steps_done: usize },
    Done(Result<Output, String>),
}

/// One computation.
#[derive(Debug)]
pub struct Job {
    pub id: String,
    pub scenario_id: String,
    pub revision: i64,
    pub task: Task,
    pub started: Instant,
    state: Mutex<JobState>,
    /// The API run a plan was stored as when it was approved.
    run_id: Mutex<Option<String>>,
}

impl Job {
    pub fn state(&self) -> JobState {
        self.state
            .lock()
            .map(|s| s.clone())
            .unwrap_or_else(|_| JobState::Done(Err("the job's state was lost".into())))
    }

    pub fn run_id(&self) -> Option<String> {
        self.run_id.lock().ok()?.clone()
    }

    pub fn set_run_id(&self, id: &str) {
        if let Ok(mut r) = self.run_id.lock() {
            *r = Some(id.to_string());
        }
    }

    fn set(&self, st: JobState) {
        if let Ok(mut s) = self.state.lock() {
            *s = st;
        }
    }
}

/// Every job, by id.
#[derive(Debug, Default)]
pub struct Jobs {
    map: Mutex<HashMap<String, Arc<Job>>>,
    /// The server's computation pool, which the jobs share with the API.
    computations: Arc<crate::pool::Computations>,
}

impl Jobs {
    /// No jobs yet; they will run in `computations`.
    pub fn new(computations: Arc<crate::pool::Computations>) -> Jobs {
        Jobs {
            map: Mutex::default(),
            computations,
        }
    }

    pub fn get(&self, id: &str) -> Option<Arc<Job>> {
        self.map.lock().ok()?.get(id).cloned()
    }

    /// The job for `task` on this scenario revision and these records: the one already started
    /// for exactly these inputs, else a new one started now on a blocking task.
    pub fn start(
        &self,
        scenario_id: &str,
        revision: i64,
        text: &str,
        records: Records,
        task: Task,
    ) -> Arc<Job> {
        #[derive(Serialize)]
        struct Key<'a> {
            scenario_id: &'a str,
            revision: i64,
            text: &'a str,
            records: &'a Records,
            task: &'a Task,
        }
        let key = serde_json::to_string(&Key {
            scenario_id,
            revision,
            text,
            records: &records,
            task: &task,
        })
        .unwrap_or_default();
        let id = token::hex(&Sha256::digest(key.as_bytes())[..12]);
        let Ok(mut map) = self.map.lock() else {
            return Arc::new(Job {
                id,
                scenario_id: scenario_id.into(),
                revision,
                task,
                started: Instant::now(),
                state: Mutex::new(JobState::Done(Err("the job table was lost".into()))),
                run_id: Mutex::default(),
            });
        };
        if let Some(j) = map.get(&id) {
            return j.clone();
        }
        if map.len() >= MAX_JOBS {
            let mut done: Vec<(Instant, String)> = map
                .values()
                .filter(|j| matches!(j.state(), JobState::Done(_)))
                .map(|j| (j.started, j.id.clone()))
                .collect();
            done.sort();
            for (_, old) in done.iter().take(map.len() + 1 - MAX_JOBS) {
                map.remove(old);
            }
        }
        let job = Arc::new(Job {
            id: id.clone(),
            scenario_id: scenario_id.into(),
            revision,
            task: task.clone(),
            started: Instant::now(),
            state: Mutex::new(JobState::Running {
                step: "reading the scenario and the stored records".into(),
                steps_done: 0,
            }),
            run_id: Mutex::default(),
        });
        map.insert(id, job.clone());
        drop(map);
        let j = job.clone();
        let text = text.to_string();
        let pool = self.computations.clone();
        tokio::spawn(async move {
            let j2 = j.clone();
            let out = pool.run(move || run(&j2, &text, &records)).await;
            // A job nobody waits on is still bounded: the pool's slots and time limit apply.
            let out = out.unwrap_or_else(|r| Err(crate::error::ApiError::from(r).body.error));
            j.set(JobState::Done(out));
        });
        job
    }
}

fn run(job: &Job, text: &str, records: &Records) -> Result<Output, String> {
    use xpufleet_app::service::{compute, Computation, Computed};
    let what = match &job.task {
        Task::Report {
            as_of,
            policy,
            seed,
            failures,
        } => Computation::Run(xpufleet_app::RunOptions {
            as_of: *as_of,
            policy: policy.parse()?,
            seed: *seed,
            failures: *failures,
        }),
        Task::Plan { as_of, what_if } => {
            job.set(JobState::Running {
                step: if what_if.is_some() {
                    "planning, then re-planning under the what-if".into()
                } else {
                    "planning procurement".into()
                },
                steps_done: 1,
            });
            Computation::Plan {
                as_of: *as_of,
                what_if: what_if.clone(),
            }
        }
    };
    let mut done = 0;
    let out = compute(records, text, &what, &mut |p| {
        if let xpufleet_app::Progress::Step(s) = p {
            job.set(JobState::Running {
                step: s.to_string(),
                steps_done: done,
            });
            done += 1;
        }
    })
    .map_err(|e| e.to_string())?;
    match out {
        Computed::Run(data) => Ok(Output::Report(Arc::from(data))),
        Computed::Plan(plan) => Ok(Output::Plan(Arc::from(plan))),
        Computed::Check(_) | Computed::Simulate(_) => {
            Err("the service answered with the wrong kind of result".into())
        }
    }
}
