//! Verdicts over the plan's horizon (issue 24): how each plan line's verdict moves on the
//! dated rule changes (and review dates) inside [as_of, as_of + horizon], with the value at
//! stake, and the strict gate of `plan --horizon-rules strict`, which plans only what stays
//! usable for the whole horizon.

use serde::Serialize;
use xpufleet_comply::{
    timeline::change_dates, verdict_changes, Gate, RuleEngine, UseKind, UseRequest, Verdict,
    VerdictChange,
};
use xpufleet_model::{CandidateMode, Date, Scenario};
use xpufleet_plan::Plan;

/// Which rules the planner judges candidates by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum HorizonRules {
    /// The rules in force on the plan's date; later changes are listed, not planned around.
    #[default]
    AsOf,
    /// Only what stays usable on every rule-change date inside the horizon.
    Strict,
}

impl std::str::FromStr for HorizonRules {
    type Err = String;
    fn from_str(s: &str) -> Result<HorizonRules, String> {
        match s {
            "as-of" => Ok(HorizonRules::AsOf),
            "strict" => Ok(HorizonRules::Strict),
            _ => Err(format!(
                "unknown horizon rules {s:?}: expected as-of or strict"
            )),
        }
    }
}

/// The last day of the plan's horizon: its date plus `plan.horizon_days` (rounded up to a day).
pub fn horizon_end(scenario: &Scenario, date: Date) -> Date {
    let days = scenario.plan.horizon_days;
    let days = if days.is_finite() && days > 0.0 {
        days.ceil().min(36_500.0) as i64
    } else {
        0
    };
    date.plus_days(days)
}

/// A plan line's verdict change, with what is at stake.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanVerdictChange {
    #[serde(flatten)]
    pub change: VerdictChange,
    /// "stricter" or "looser".
    pub direction: &'static str,
    /// What the plan line holds: accelerators, spend (USD) and effective PFLOPS.
    pub accelerators: u64,
    pub spend_usd: f64,
    pub effective_pflops: f64,
}

fn candidate_use(scenario: &Scenario, id: &str, date: Date) -> Option<UseRequest> {
    let c = scenario.candidates.iter().find(|c| c.id == id)?;
    Some(UseRequest {
        user: scenario.company.clone(),
        target: c.id.clone(),
        kind: match c.mode {
            CandidateMode::Buy => UseKind::Own,
            CandidateMode::Lease => UseKind::Remote,
        },
        workload_flops: None,
        date,
    })
}

/// Each plan line judged on every rule-change and review date in `(plan.date, until]`: the
/// moves of its verdict, in line then date order.
pub fn plan_verdict_changes(
    engine: &RuleEngine,
    plan: &Plan,
    until: Date,
) -> Vec<PlanVerdictChange> {
    let mut out = vec![];
    for line in &plan.lines {
        let Some(req) = candidate_use(engine.scenario(), &line.candidate, plan.date) else {
            continue;
        };
        for change in verdict_changes(engine, &[req], until) {
            out.push(PlanVerdictChange {
                direction: change.direction(),
                change,
                accelerators: line.chips,
                spend_usd: line.spend_usd,
                effective_pflops: line.effective_pflops,
            });
        }
    }
    out
}

/// The gate of `--horizon-rules strict`: a use usable on its date but not on some later
/// rule-change or review date inside the horizon gets that later verdict, with a first reason
/// that says when.
pub struct StrictGate<'a> {
    pub engine: &'a RuleEngine,
    pub until: Date,
}

impl Gate for StrictGate<'_> {
    fn verdict(&self, req: &UseRequest) -> Verdict {
        let now = self.engine.evaluate(req).verdict;
        if !now.usable {
            return now;
        }
        let dates = change_dates(self.engine, &req.target, req.date, self.until);
        for d in dates.into_keys() {
            let then = self
                .engine
                .evaluate(&UseRequest {
                    date: d,
                    ..req.clone()
                })
                .verdict;
            if !then.usable {
                let mut v = then;
                v.reasons.insert(
                    0,
                    format!(
                        "from {d}, inside the plan's horizon (to {}; --horizon-rules strict)",
                        self.until
                    ),
                );
                return v;
            }
        }
        now
    }
}
