//! The UI's computations: what a page needs (a report, a plan), keyed by a digest of everything
//! it reads, run once on a blocking task and kept while the server runs. A page asking for an
//! answer that is not ready gets the job's progress instead, and asks again.
//!
//! The stored verification records and licences are laid over the scenario before anything is
//! computed (`overlay_records`), so editing one on the Records page changes the verdicts the
//! pages show.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::Serialize;
use sha2::{Digest, Sha256};
use xpufleet_io::LoadedScenario;
use xpufleet_model::{Date, Licence, Role, Scenario, Verification as SiteVerification};
use xpufleet_report::ReportData;

use crate::api::Verification;
use crate::db::Store;
use crate::token;

/// Finished jobs kept at most; the oldest finished ones go first.
const MAX_JOBS: usize = 64;

/// The records a computation reads besides the scenario, as stored now: (id, body).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Records {
    pub catalog_overrides: Vec<(String, String)>,
    pub rule_packs: Vec<(String, String)>,
    pub verifications: Vec<(String, String)>,
    pub licences: Vec<(String, String)>,
}

impl Records {
    pub async fn current(store: &Store) -> Result<Records, String> {
        let mut r = Records::default();
        for (kind, id, body, _) in store.context_records().await.map_err(|e| e.to_string())? {
            if kind == "rule-packs" {
                r.rule_packs.push((id, body));
            } else {
                r.catalog_overrides.push((id, body));
            }
        }
        for (kind, out) in [
            ("verifications", &mut r.verifications),
            ("licences", &mut r.licences),
        ] {
            *out = store
                .records(kind, -1, 0)
                .await
                .map_err(|e| e.to_string())?
                .into_iter()
                .map(|(id, body, _)| (id, body))
                .collect();
        }
        Ok(r)
    }

    fn rules(&self) -> Vec<xpufleet_app::RuleText> {
        self.rule_packs
            .iter()
            .map(|(id, text)| (format!("rule-packs/{id}"), text.clone()))
            .collect()
    }

    /// The scenario text read against the built-in catalog with the stored overrides, and the
    /// stored records laid over it.
    pub fn load(&self, text: &str) -> Result<LoadedScenario, String> {
        let mut catalog = xpufleet_io::builtin_catalog();
        for (id, t) in &self.catalog_overrides {
            catalog.merge(
                xpufleet_io::validate::check_catalog(t, &format!("catalog-overrides/{id}"))
                    .map_err(|d| d.to_string())?,
            );
        }
        let mut loaded =
            xpufleet_app::load_text("scenario", text, catalog).map_err(|d| d.to_string())?;
        overlay_records(&mut loaded.scenario, &self.verifications, &self.licences)?;
        Ok(loaded)
    }
}

/// Lays stored verification records (JSON of `api::Verification`) on the sites they concern
/// (the `subject`: a site id, or a pool id meaning that pool's site) and stored licences (JSON
/// of `model::Licence`) over the scenario's, a stored licence replacing one with the same id.
/// A record naming a site or pool the scenario does not have concerns another scenario and is
/// left out.
pub fn overlay_records(
    sc: &mut Scenario,
    verifications: &[(String, String)],
    licences: &[(String, String)],
) -> Result<(), String> {
    for (id, body) in verifications {
        let v: Verification =
            serde_json::from_str(body).map_err(|e| format!("verifications/{id}: {e}"))?;
        let Some(subject) = v.subject.as_deref() else {
            continue;
        };
        let site_id = sc
            .pools
            .iter()
            .find(|p| p.id == subject)
            .map(|p| p.site.clone())
            .unwrap_or_else(|| subject.to_string());
        let Some(site) = sc.sites.iter_mut().find(|s| s.id == site_id) else {
            continue;
        };
        let role = match v.role.as_str() {
            "owner" => Role::Owner,
            "operator" => Role::Operator,
            other => {
                return Err(format!(
                    "verifications/{id}: role {other:?}: expected owner or operator"
                ))
            }
        };
        site.verifications.push(SiteVerification {
            role,
            entity: v.entity,
            verified_by: format!("record verifications/{id}"),
            date: v.valid_from,
            evidence: format!("verifications/{id} (sha256 {})", &v.document_sha256),
            // An open-ended record is valid until the last date a scenario may name.
            valid_until: v
                .valid_to
                .unwrap_or_else(|| v.valid_from.plus_days(100 * 365)),
            hq_country: None,
            ultimate_parent: None,
        });
    }
    for (id, body) in licences {
        let l: Licence = serde_json::from_str(body).map_err(|e| format!("licences/{id}: {e}"))?;
        sc.licences.retain(|x| x.id != l.id);
        sc.licences.push(l);
    }
    Ok(())
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
}

impl Job {
    pub fn state(&self) -> JobState {
        self.state
            .lock()
            .map(|s| s.clone())
            .unwrap_or_else(|_| JobState::Done(Err("the job's state was lost".into())))
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
}

impl Jobs {
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
        });
        map.insert(id, job.clone());
        drop(map);
        let j = job.clone();
        let text = text.to_string();
        tokio::task::spawn_blocking(move || {
            let out = run(&j, &text, &records);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> Scenario {
        xpufleet_app::load_text(
            "scenario",
            xpufleet_io::EXAMPLE_SCENARIO,
            xpufleet_io::builtin_catalog(),
        )
        .unwrap()
        .scenario
    }

    #[test]
    fn a_verification_record_on_a_pool_lands_on_its_site() {
        let mut sc = example();
        let before = sc
            .sites
            .iter()
            .find(|s| s.id == "my-cyberjaya")
            .unwrap()
            .verifications
            .len();
        let rec = r#"{"entity":"sg-neocloud","role":"owner","subject":"my-h200-overflow","valid_from":"2025-01-01","document_sha256":"00000000000000000000000000000000000000000000000000000000000000aa"}"#;
        overlay_records(&mut sc, &[("v1".into(), rec.into())], &[]).unwrap();
        let site = sc.sites.iter().find(|s| s.id == "my-cyberjaya").unwrap();
        assert_eq!(site.verifications.len(), before + 1);
        let v = site.verifications.last().unwrap();
        assert_eq!(v.role, Role::Owner);
        assert_eq!(v.entity, "sg-neocloud");
        assert!(v.valid_on("2030-01-01".parse().unwrap()));
        assert!(!v.valid_on("2024-12-31".parse().unwrap()));
    }

    #[test]
    fn a_record_for_another_scenario_changes_nothing_and_a_bad_one_is_refused() {
        let mut sc = example();
        let before = sc.clone();
        let rec = r#"{"entity":"x","role":"owner","subject":"no-such-site","valid_from":"2025-01-01","document_sha256":"00000000000000000000000000000000000000000000000000000000000000aa"}"#;
        overlay_records(&mut sc, &[("v".into(), rec.into())], &[]).unwrap();
        assert_eq!(sc, before);
        let err = overlay_records(&mut sc, &[("v".into(), "{}".into())], &[]).unwrap_err();
        assert!(err.starts_with("verifications/v:"), "{err}");
    }
}
