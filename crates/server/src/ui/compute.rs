//! The UI's computations: what a page needs (a report, a plan), keyed by a digest of everything
//! it reads, run once on a blocking task and kept while the server runs. A page asking for an
//! answer that is not ready gets the job's progress instead, and asks again.
//!
//! The stored fleet records (verifications, licences, sites, pools, acquisitions) are laid over
//! the scenario before anything is computed, by the same rules as the API
//! (`xpufleet_app::records`), so editing one on the Records page changes the verdicts shown.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::Serialize;
use sha2::{Digest, Sha256};
use xpufleet_io::LoadedScenario;
use xpufleet_model::Date;
use xpufleet_report::ReportData;

use crate::db::Store;
use crate::token;

/// Finished jobs kept at most; the oldest finished ones go first.
const MAX_JOBS: usize = 64;

/// The records a computation reads besides the scenario, as stored now: catalog overrides and
/// rule packs as (id, text), and the fleet records overlaid onto the scenario as (kind, id,
/// JSON).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Records {
    pub catalog_overrides: Vec<(String, String)>,
    pub rule_packs: Vec<(String, String)>,
    pub overlay: Vec<(String, String, String)>,
}

impl Records {
    pub async fn current(store: &Store) -> Result<Records, String> {
        let mut r = Records::default();
        for (kind, id, body, _) in store.context_records().await.map_err(|e| e.to_string())? {
            match kind.as_str() {
                "rule-packs" => r.rule_packs.push((id, body)),
                "catalog-overrides" => r.catalog_overrides.push((id, body)),
                k if xpufleet_app::records::OVERLAY_KINDS.contains(&k) => {
                    r.overlay.push((kind, id, body))
                }
                // Other kinds (plan approvals) are not inputs of a computation.
                _ => {}
            }
        }
        Ok(r)
    }

    pub fn rules(&self) -> Vec<xpufleet_app::RuleText> {
        self.rule_packs
            .iter()
            .map(|(id, text)| (format!("rule-packs/{id}"), text.clone()))
            .collect()
    }

    /// The built-in catalog with the stored overrides merged over it.
    pub fn catalog(&self) -> Result<xpufleet_model::Catalog, String> {
        let mut catalog = xpufleet_io::builtin_catalog();
        for (id, t) in &self.catalog_overrides {
            catalog.merge(
                xpufleet_io::validate::check_catalog(t, &format!("catalog-overrides/{id}"))
                    .map_err(|d| d.to_string())?,
            );
        }
        Ok(catalog)
    }

    /// The effective scenario: the text read against `catalog()`, with the stored fleet
    /// records laid over it by `xpufleet_app::records`' rules (as the API computes).
    pub fn load(&self, text: &str) -> Result<LoadedScenario, String> {
        let records = xpufleet_app::FleetRecords::from_stored(
            self.overlay
                .iter()
                .map(|(k, i, b)| (k.as_str(), i.as_str(), b.as_str())),
        )
        .map_err(|(name, p)| match p.field {
            Some(f) => format!("{name}: {f}: {}", p.message),
            None => format!("{name}: {}", p.message),
        })?;
        xpufleet_app::load_effective("scenario", text, &self.catalog()?, &records)
            .map(|(loaded, _)| loaded)
            .map_err(|d| d.to_string())
    }
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
    let loaded = records.load(text)?;
    let rules = records.rules();
    match &job.task {
        Task::Report {
            as_of,
            policy,
            seed,
            failures,
        } => {
            let opts = xpufleet_app::RunOptions {
                as_of: *as_of,
                policy: policy.parse()?,
                seed: *seed,
                failures: *failures,
            };
            let mut done = 0;
            let data = xpufleet_app::report(&loaded, &rules, &opts, &mut |p| {
                if let xpufleet_app::Progress::Step(s) = p {
                    job.set(JobState::Running {
                        step: s.to_string(),
                        steps_done: done,
                    });
                    done += 1;
                }
            })
            .map_err(|e| e.to_string())?;
            Ok(Output::Report(Arc::new(data)))
        }
        Task::Plan { as_of, what_if } => {
            job.set(JobState::Running {
                step: if what_if.is_some() {
                    "planning, then re-planning under the what-if".into()
                } else {
                    "planning procurement".into()
                },
                steps_done: 1,
            });
            let what_if = match what_if {
                None => None,
                Some(t) => Some(xpufleet_app::WhatIfInput {
                    what_if: xpufleet_io::whatif::parse_what_if(t, "what-if")
                        .map_err(|d| d.to_string())?,
                    rule_packs: vec![],
                }),
            };
            let opts = xpufleet_plan::PlanOptions {
                date: *as_of,
                ..xpufleet_plan::PlanOptions::default()
            };
            let out = xpufleet_app::plan(&loaded, &rules, &opts, what_if.as_ref())
                .map_err(|e| e.to_string())?;
            Ok(Output::Plan(Arc::new(out)))
        }
    }
}
