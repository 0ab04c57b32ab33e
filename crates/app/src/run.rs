//! The report of a scenario: validates nothing itself (its caller hands it a checked scenario),
//! checks every pool and candidate against the rules as of a date, plans procurement (and
//! re-plans under the what-if), builds the planned fleet (existing pools plus the plan's lines as
//! new pools), simulates the scenario's training jobs on it, and gathers every answer into one
//! `ReportData` that `xpufleet run` writes to files and the server stores and serves.
//!
//! Every engine's answer becomes one section; an engine that cannot answer (an infeasible plan,
//! no jobs) leaves its section "not available" with the reason, never stand-in numbers. Nothing
//! here reads the clock: the same scenario, date, policy and seed give byte-identical JSON.

use std::collections::BTreeMap;

use xpufleet_comply::timeline::next_rule_change;
use xpufleet_comply::{CheckReport, RuleEngine, RuleSet, Status, UseKind};
use xpufleet_io::LoadedScenario;
use xpufleet_model::{Acquisition, CandidateMode, Catalog, Date, Pool, Scenario};
use xpufleet_perf::PerfModel;
use xpufleet_plan::{Plan, PlanOptions};
use xpufleet_report::{self as report, ReportData, Section};
use xpufleet_sched::Policy;
use xpufleet_sim::replay::replay_log;
use xpufleet_sim::scenario::{prepare, Prepared};
use xpufleet_sim::{simulate_over_time, Config, Failures, Limits};

use crate::{Error, RuleText};

/// What `report` computes beyond the scenario.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The rules in force on this date apply; the scenario's date when `None`.
    pub as_of: Option<Date>,
    /// The simulation's scheduling policy.
    pub policy: Policy,
    /// Seed of the simulation's random accelerator failures.
    pub seed: u64,
    /// Simulate accelerator failures.
    pub failures: bool,
}

impl Default for RunOptions {
    fn default() -> RunOptions {
        RunOptions {
            as_of: None,
            policy: crate::defaults::run_policy(),
            seed: crate::defaults::SEED,
            failures: true,
        }
    }
}

/// The steps of `report`, in order, for a progress display.
pub const STEPS: [&str; 5] = [
    "checking every pool and candidate against the rules",
    "planning procurement",
    "re-planning under the what-if",
    "simulating the workload on the planned fleet",
    "gathering the report",
];

/// Where `report` is: a new step (one of `STEPS`), or a message within the current one.
#[derive(Debug, Clone, Copy)]
pub enum Progress<'a> {
    Step(&'a str),
    Message(&'a str),
}

/// The report of a checked scenario, with the rule packs in `extra_rules` added after the
/// built-in ones and the scenario's own. `progress` hears of each step.
pub fn report(
    loaded: &LoadedScenario,
    extra_rules: &[RuleText],
    opts: &RunOptions,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<ReportData, Error> {
    let sc = &loaded.scenario;
    let catalog = &loaded.catalog;
    let as_of = opts.as_of.unwrap_or(sc.date);
    let rules = crate::rule_set(loaded, extra_rules)?;
    let engine = RuleEngine::new(rules.clone(), sc, catalog);
    let perf = PerfModel::default();
    let mut notes: Vec<String> = Vec::new();

    progress(Progress::Step(STEPS[0]));
    let checked = engine.check(as_of);
    let compliance = compliance_section(&checked, sc);

    progress(Progress::Step(STEPS[1]));
    let plan_opts = PlanOptions {
        date: Some(as_of),
        ..crate::plan_options()
    };
    let base = xpufleet_plan::plan(sc, catalog, &engine, &perf, &plan_opts)
        .map(|p| crate::verified(p, sc, catalog, &engine));
    let plan_section = match &base {
        Ok(p) => {
            for w in &p.warnings {
                notes.push(format!("plan: {w}"));
            }
            let mut data = plan_data(p, sc);
            // What changes within the horizon, as `plan --json` lists it.
            let until = crate::horizon::horizon_end(sc, p.date);
            data.horizon_end = Some(until);
            data.verdict_changes =
                verdict_change_rows(&crate::horizon::plan_verdict_changes(&engine, p, until));
            Section::available(data)
        }
        Err(e) => Section::unavailable(format!("no procurement plan: {e}")),
    };

    progress(Progress::Step(STEPS[2]));
    let what_if = match &base {
        Ok(b) => what_if_section(loaded, &engine, &rules, &perf, as_of, b)?,
        Err(_) => Section::unavailable("there is no base plan to compare with"),
    };
    // The risk section, only when the scenario has risks (else the report is unchanged).
    let risk = (!sc.risks.is_empty()).then(|| match &base {
        Ok(b) => match crate::risk::report_section(loaded, extra_rules, &plan_opts, b, opts.seed) {
            Ok(r) => Section::available(r),
            Err(e) => Section::unavailable(format!("no risk analysis: {e}")),
        },
        Err(_) => Section::unavailable("there is no base plan to sample"),
    });

    progress(Progress::Step(STEPS[3]));
    let mut planned = planned_scenario(sc, base.as_ref().ok(), as_of);
    if let Some(w) = &sc.workload {
        let jobs = generated_jobs(w, &planned, catalog).map_err(|e| {
            Error::Input(
                xpufleet_io::Diagnostic::new(&loaded.origin, format!("workload: {e}")).into(),
            )
        })?;
        notes.push(format!(
            "workload: {} generated by {:?} (seed {}) for the planned fleet, besides the \
             scenario's {}",
            report::format::count(jobs.len(), "job", "jobs"),
            w.generator,
            w.seed,
            report::format::count(sc.jobs.len(), "[[job]]", "[[job]]s")
        ));
        planned.jobs.extend(jobs);
    }
    let fleet = Section::available(fleet_data(&planned, catalog));
    let (capacity, capacity_note) = match &base {
        Ok(p) => capacity_events(sc, p, &planned),
        Err(_) => (Vec::new(), None),
    };
    notes.extend(capacity_note);
    let sim = simulate_fleet(
        &planned, catalog, &rules, &perf, as_of, opts, &capacity, progress,
    );
    let (workload, cost_energy) = match sim {
        Ok(s) => {
            notes.extend(s.notes);
            (Section::available(s.workload), s.cost)
        }
        Err(why) => (
            Section::unavailable(why.clone()),
            Section::unavailable(format!("no simulation: {why}")),
        ),
    };

    progress(Progress::Step(STEPS[4]));
    Ok(ReportData {
        meta: report::Meta {
            scenario: sc.name.clone(),
            description: sc.description.clone(),
            origin: loaded.origin.clone(),
            company: sc.company.clone(),
            as_of,
            seed: opts.seed,
            policy: opts.policy.name().to_string(),
            generator: crate::build::generator(),
        },
        labels: labels(&planned, catalog),
        fleet,
        plan: plan_section,
        what_if,
        compliance,
        workload,
        cost_energy,
        risk,
        serving: serving_section(sc, &base),
        notes,
    })
}

/// The report's Serving section from the plan's services; none without `[[service]]`.
fn serving_section(
    sc: &Scenario,
    base: &Result<Plan, xpufleet_plan::PlanError>,
) -> Option<Section<report::serving::Serving>> {
    if sc.services.is_empty() {
        return None;
    }
    Some(match base {
        Ok(p) => Section::available(report::serving::Serving {
            services: p
                .services
                .iter()
                .map(|v| report::serving::ServiceRow {
                    id: v.id.clone(),
                    input_tokens_per_day: v.input_tokens_per_day,
                    output_tokens_per_day: v.output_tokens_per_day,
                    covered_output_tokens_per_day: v.covered_output_tokens_per_day,
                    cost_usd_per_day: v.cost_usd_per_day,
                    chips: v
                        .by_accelerator
                        .iter()
                        .map(|b| report::serving::ServiceChips {
                            accelerator: b.accelerator.clone(),
                            from: match (&b.pool, &b.candidate) {
                                (Some(pl), _) => format!("pool {pl}"),
                                (_, Some(c)) => format!("candidate {c}"),
                                _ => String::new(),
                            },
                            role: b.role.clone(),
                            accelerators: b.accelerators,
                            output_tokens_per_day: b.output_tokens_per_day,
                            usd_per_million_output_tokens: b.usd_per_million_output_tokens,
                            source: b.source.clone(),
                        })
                        .collect(),
                    shortfall: v.shortfall.as_ref().map(|s| {
                        format!(
                            "{:.3e} output tokens/day short: {}",
                            s.output_tokens_per_day, s.reason
                        )
                    }),
                })
                .collect(),
        }),
        Err(e) => Section::unavailable(format!("no procurement plan: {e}")),
    })
}

fn use_str(k: UseKind) -> &'static str {
    match k {
        UseKind::Own => "own",
        UseKind::Operate => "operate",
        UseKind::Remote => "remote",
    }
}

fn compliance_section(checked: &CheckReport, sc: &Scenario) -> Section<report::Compliance> {
    let rows = checked
        .uses
        .iter()
        .chain(&checked.candidates)
        .map(|u| {
            let e = &u.eval;
            let v = &e.verdict;
            let citations = v
                .rules
                .iter()
                .map(|r| {
                    e.findings
                        .iter()
                        .chain(&e.notices)
                        .find(|f| &f.rule == r)
                        .map(|f| f.citation.to_string())
                        .unwrap_or_default()
                })
                .collect();
            let classification = e.classification.as_ref().and_then(|c| match c.status {
                Status::NotControlled => None,
                _ => Some(c.label()),
            });
            report::ComplianceRow {
                target: e.target.clone(),
                target_kind: e.target_kind.to_string(),
                accelerator: e.accelerator.clone(),
                site: e.site.clone(),
                country: e.site_country.clone().unwrap_or_default(),
                classification,
                user: e.user.clone(),
                use_kind: use_str(e.mode).to_string(),
                outcome: v.outcome,
                verified: v.verified,
                usable: v.usable(),
                rules: v.rules.clone(),
                citations,
                reasons: v.reasons.clone(),
                would_change: v.would_change.clone(),
            }
        })
        .collect();
    let unverified = checked
        .unverified
        .iter()
        .filter(|u| u.target_kind == "pool")
        .map(|u| {
            let pool = sc.pool(&u.target);
            report::UnverifiedRow {
                pool: u.target.clone(),
                site: u.site.clone(),
                accelerator: pool.map(|p| p.accelerator.clone()).unwrap_or_default(),
                accels: pool.map_or(0, Pool::accelerators),
                missing: u.missing.clone(),
            }
        })
        .collect();
    Section::available(report::Compliance { rows, unverified })
}

fn mode_str(m: CandidateMode) -> String {
    m.to_string()
}

/// The plan's effective PFLOPS as the performance model's 80% interval.
fn pflops_interval(point: f64) -> report::PflopsInterval {
    let perf = PerfModel::default();
    let [lo, hi] = perf.interval_factors();
    report::PflopsInterval {
        level: perf.calibration.interval_level,
        stack: perf.stack.to_string(),
        pflops: [point * lo, point * hi],
    }
}

/// One period's service as the report's periods view shows it: the accelerators serving it
/// summed by part, in the order the plan lists them.
pub fn period_service(v: &xpufleet_plan::ServiceReport) -> report::periods::PeriodService {
    let mut parts: Vec<(String, u64)> = Vec::new();
    for b in &v.by_accelerator {
        match parts.iter_mut().find(|(a, _)| *a == b.accelerator) {
            Some((_, n)) => *n += b.accelerators,
            None => parts.push((b.accelerator.clone(), b.accelerators)),
        }
    }
    report::periods::PeriodService {
        id: v.id.clone(),
        output_tokens_per_day: v.output_tokens_per_day,
        covered_output_tokens_per_day: v.covered_output_tokens_per_day,
        cost_usd_per_day: v.cost_usd_per_day,
        parts,
    }
}

/// The report's view of a plan: its lines, envelopes, constraints (with what relaxing a
/// binding one gains, as text) and exclusions. The web Plan page draws the same.
pub fn plan_data(p: &Plan, sc: &Scenario) -> report::Plan {
    let lines: Vec<report::PlanLine> = p
        .lines
        .iter()
        .map(|l| report::PlanLine {
            candidate: l.candidate.clone(),
            accelerator: l.accelerator.clone(),
            vendor: l.vendor.clone(),
            site: l.site.clone(),
            country: l.country.clone(),
            mode: mode_str(l.mode),
            nodes: l.nodes,
            accels: l.units,
            chips: l.chips,
            spend: l.spend,
            currency: l.currency.clone(),
            spend_usd: l.spend_usd,
            envelope: l.envelope.clone(),
            effective_pflops: Some(l.effective_pflops),
            power_mw: Some(l.power_mw),
            line_use: l.line_use.as_str().into(),
            services: l.services.clone(),
        })
        .collect();
    let envelopes = p
        .envelopes
        .iter()
        .map(|e| {
            let env = sc.envelope(&e.id);
            let to_usd = |amount: f64| {
                sc.fx
                    .to_usd(&xpufleet_model::Money::new(amount, e.currency.as_str()))
                    .unwrap_or(f64::NAN)
            };
            report::EnvelopeSpend {
                id: e.id.clone(),
                description: env.map(|x| x.description.clone()).unwrap_or_default(),
                currency: e.currency.clone(),
                budget: e.budget,
                spent: e.spent,
                budget_usd: to_usd(e.budget),
                spent_usd: e.spent_usd.unwrap_or_else(|| to_usd(e.spent)),
            }
        })
        .collect();
    let objective_unit = p.objective.unit.clone();
    let constraints = p
        .constraints
        .iter()
        .map(|c| {
            let mut detail = format!(
                "{} {} {} {}",
                report::format::sig3(c.value),
                c.sense,
                report::format::sig3(c.limit),
                c.unit
            );
            let mut value = None;
            if let Some(r) = &c.relaxation {
                value = r.objective_delta;
                match r.objective_delta {
                    Some(d) => detail.push_str(&format!(
                        "; {}: {}{} {objective_unit}",
                        r.step,
                        if d >= 0.0 { "+" } else { "" },
                        report::format::sig3(d)
                    )),
                    None => detail.push_str(&format!("; {}: no better plan", r.step)),
                }
            }
            report::ConstraintRow {
                id: c.id.clone(),
                binding: c.binding,
                value,
                detail,
            }
        })
        .collect();
    report::Plan {
        as_of: p.date,
        periods: p
            .periods
            .iter()
            .map(|q| report::periods::PeriodCapacity {
                id: q.id.clone(),
                start: q.start,
                end: q.end,
                spend_usd: q.spend_usd,
                parts: q
                    .capacity
                    .iter()
                    .map(|c| (c.accelerator.clone(), c.effective_pflops))
                    .collect(),
                target_pflops: q.target_pflops,
                services: q.services.iter().map(period_service).collect(),
            })
            .collect(),
        objective: p.objective.kind.as_str().to_string(),
        objective_value: p.objective.value,
        effective_pflops: p.effective_pflops,
        effective_pflops_interval: Some(pflops_interval(p.effective_pflops)),
        spend_by_vendor: report::spend_by(&lines, |l| l.vendor.clone()),
        spend_by_site: report::spend_by(&lines, |l| l.site.clone()),
        supplier_shares: p
            .supplier_mix
            .iter()
            .map(|m| report::SupplierShare {
                id: m.id.clone(),
                envelope: m.envelope.clone(),
                domestic_country: m.domestic_country.clone(),
                min_share: m.min_share,
                share: m.share,
            })
            .collect(),
        constraints,
        excluded: p
            .excluded
            .iter()
            .map(|e| report::ExcludedRow {
                candidate: e.candidate.clone(),
                reason: e.reason.clone(),
            })
            .collect(),
        horizon_end: None,
        verdict_changes: vec![],
        lines,
        envelopes,
    }
}

/// The report's rows of a plan's verdict changes inside its horizon.
pub fn verdict_change_rows(
    changes: &[crate::horizon::PlanVerdictChange],
) -> Vec<report::VerdictChangeRow> {
    changes
        .iter()
        .map(|c| report::VerdictChangeRow {
            target: c.change.target.clone(),
            user: c.change.user.clone(),
            date: c.change.date,
            from: c.change.from,
            to: c.change.to,
            usable_from: c.change.usable_from,
            usable_to: c.change.usable_to,
            direction: c.direction.to_string(),
            rules: c.change.rules.clone(),
            accelerators: c.accelerators,
            spend_usd: c.spend_usd,
            effective_pflops: c.effective_pflops,
        })
        .collect()
}

/// The alternative plan: the scenario's `plan.what_if` file applied to the scenario, or, when it
/// names none, the plan as of the next rule change after the date. A what-if file that does not
/// parse or names what the scenario lacks is bad input (an `Err`); a what-if that cannot be
/// planned is an answer (an unavailable section).
fn what_if_section(
    loaded: &xpufleet_io::LoadedScenario,
    engine: &RuleEngine,
    rules: &RuleSet,
    perf: &PerfModel,
    as_of: Date,
    base: &Plan,
) -> Result<Section<report::WhatIf>, Error> {
    let sc = &loaded.scenario;
    let catalog = &loaded.catalog;
    let (name, description, date, alt) = match &sc.plan.what_if {
        Some(rel) => {
            let (origin, text) = loaded
                .read_relative(rel)
                .map_err(|d| Error::Input(d.field("plan.what_if").into()))?;
            let w = xpufleet_io::whatif::parse_what_if(&text, &origin).map_err(Error::Input)?;
            let (alt_sc, alt_cat) = w.apply(sc, catalog).map_err(Error::Input)?;
            // Rule packs the what-if adds are read relative to the what-if file.
            let dir = std::path::Path::new(&origin)
                .parent()
                .map(|p| p.to_path_buf())
                .unwrap_or_default();
            let alt_rules = if w.what_if.rule_packs.is_empty() {
                rules.clone()
            } else {
                let extra = crate::read_rule_files(&w.what_if.rule_packs, &dir, loaded)?;
                crate::rule_set(loaded, &extra)?
            };
            let date = w.what_if.as_of.unwrap_or(as_of);
            let alt_engine = RuleEngine::new(alt_rules, &alt_sc, &alt_cat);
            let opts = PlanOptions {
                date: Some(date),
                sensitivity: false,
                ..crate::plan_options()
            };
            let alt = xpufleet_plan::plan(&alt_sc, &alt_cat, &alt_engine, perf, &opts);
            let name = if w.what_if.name.is_empty() {
                rel.clone()
            } else {
                w.what_if.name.clone()
            };
            let description = if w.what_if.description.is_empty() {
                w.changes().join("; ")
            } else {
                w.what_if.description.clone()
            };
            (name, description, date, alt)
        }
        None => {
            let Some((date, ids)) = next_rule_change(rules, as_of) else {
                return Ok(Section::unavailable(format!(
                    "the scenario names no what-if (plan.what_if) and no rule changes after {as_of}"
                )));
            };
            let opts = PlanOptions {
                date: Some(date),
                sensitivity: false,
                ..crate::plan_options()
            };
            let alt = xpufleet_plan::plan(sc, catalog, engine, perf, &opts);
            let shown: Vec<&str> = ids.iter().take(4).map(String::as_str).collect();
            let more = if ids.len() > 4 {
                format!(" and {} more", ids.len() - 4)
            } else {
                String::new()
            };
            (
                format!("rules of {date}"),
                format!(
                    "the plan re-solved as of the next rule change after {as_of}: {}{more}",
                    shown.join(", ")
                ),
                date,
                alt,
            )
        }
    };
    let alt = match alt {
        Ok(p) => p,
        Err(e) => {
            return Ok(Section::unavailable(format!(
                "re-planning under the what-if {name} failed: {e}"
            )));
        }
    };
    let diff = xpufleet_plan::diff(base, &alt);
    let mut changes: Vec<report::WhatIfChange> = Vec::new();
    // Over periods, a candidate's orders are compared period by period and named with it.
    let named = |l: &xpufleet_plan::PlanLine| match &l.period {
        Some(p) => format!("{} ({p})", l.candidate),
        None => l.candidate.clone(),
    };
    for l in base.lines.iter().chain(&alt.lines) {
        if changes.iter().any(|c| c.candidate == named(l)) {
            continue;
        }
        let same =
            |x: &&xpufleet_plan::PlanLine| x.candidate == l.candidate && x.period == l.period;
        let b = base.lines.iter().find(same);
        let a = alt.lines.iter().find(same);
        changes.push(report::WhatIfChange {
            candidate: named(l),
            accelerator: l.accelerator.clone(),
            site: l.site.clone(),
            mode: mode_str(l.mode),
            base_accels: b.map_or(0, |x| x.units),
            what_if_accels: a.map_or(0, |x| x.units),
            base_spend_usd: b.map_or(0.0, |x| x.spend_usd),
            what_if_spend_usd: a.map_or(0.0, |x| x.spend_usd),
        });
    }
    Ok(Section::available(report::WhatIf {
        name,
        description,
        as_of: date,
        base_effective_pflops: diff.pflops_base,
        what_if_effective_pflops: diff.pflops_alt,
        base_spend_usd: diff.spend_usd_base,
        what_if_spend_usd: diff.spend_usd_alt,
        changes,
        newly_excluded: diff
            .newly_excluded
            .iter()
            .map(|e| report::ExcludedRow {
                candidate: e.candidate.clone(),
                reason: e.reason.clone(),
            })
            .collect(),
    }))
}

/// Prefix of the pools the plan adds to the fleet.
const PLANNED_PREFIX: &str = "plan:";

/// `plan:<candidate>`, or `plan:<candidate>@<period>` for a line of a plan over periods (a
/// candidate may be ordered in several).
fn planned_pool_id(l: &xpufleet_plan::PlanLine) -> String {
    match &l.period {
        Some(p) => format!("{PLANNED_PREFIX}{}@{p}", l.candidate),
        None => format!("{PLANNED_PREFIX}{}", l.candidate),
    }
}

/// For a plan over periods, when each pool of `planned` (the scenario with the plan's pools)
/// arrives and leaves, in simulated seconds after the scenario's date: a purchase arrives at
/// the start of the first period on or after its delivery (order period's start + lead time,
/// as the planner counts it), a lease runs through its period, and an existing pool leased
/// `until` a date leaves the day after. Empty for a one-date plan, whose fleet is all there
/// from the start. Also the note the report gives.
fn capacity_events(
    sc: &Scenario,
    plan: &Plan,
    planned: &Scenario,
) -> (Vec<xpufleet_sim::CapacityEvent>, Option<String>) {
    let mut out = Vec::new();
    if plan.periods.is_empty() {
        return (out, None);
    }
    let secs = |d: Date| (sc.date.days_until(d).max(0) as u64) * 86_400;
    let pool_of = |id: &str| planned.pools.iter().position(|p| p.id == id);
    let (mut arrive, mut leave) = (0, 0);
    let mut event = |t: u64, pool: usize, present: bool| {
        out.push(xpufleet_sim::CapacityEvent {
            t: xpufleet_model::SimTime(t),
            pool: pool as u32,
            present,
        });
    };
    for l in &plan.lines {
        let (Some(k), Some(c)) = (
            pool_of(&planned_pool_id(l)),
            sc.candidates.iter().find(|c| c.id == l.candidate),
        ) else {
            continue;
        };
        let Some(u) = plan
            .periods
            .iter()
            .position(|q| Some(&q.id) == l.period.as_ref())
        else {
            continue;
        };
        let per = &plan.periods[u];
        match c.mode {
            CandidateMode::Buy => {
                let due = per.start.plus_days(c.lead_time_days.unwrap_or(0));
                let Some(q) = plan.periods[u..].iter().find(|q| q.start >= due) else {
                    continue;
                };
                if secs(q.start) > 0 {
                    event(secs(q.start), k, true);
                    arrive += 1;
                }
            }
            CandidateMode::Lease => {
                if secs(per.start) > 0 {
                    event(secs(per.start), k, true);
                    arrive += 1;
                }
                event(secs(per.end.plus_days(1)), k, false);
                leave += 1;
            }
        }
    }
    for (k, p) in planned.pools.iter().enumerate() {
        if let Acquisition::Leased {
            until: Some(until), ..
        } = &p.acquisition
        {
            event(secs(until.plus_days(1)), k, false);
            leave += 1;
        }
    }
    let note = format!(
        "simulation: the plan over {} periods is simulated as it is delivered: {arrive} order(s) \
         arrive at the start of the period they are delivered in and {leave} lease(s) end \
         (their jobs go back to the queue), counted from {}",
        plan.periods.len(),
        sc.date
    );
    (out, Some(note))
}

/// The scenario with each plan line as a new pool (`plan:<candidate>`), bought or leased as of
/// `as_of`, so the rule engine and the simulator see the planned fleet.
fn planned_scenario(sc: &Scenario, plan: Option<&Plan>, as_of: Date) -> Scenario {
    let mut out = sc.clone();
    let Some(plan) = plan else { return out };
    for l in &plan.lines {
        let Some(c) = sc.candidates.iter().find(|c| c.id == l.candidate) else {
            continue;
        };
        let per_node = c.accels_per_node.max(1);
        let (acquisition, owner) = match c.mode {
            CandidateMode::Buy => (
                Acquisition::Bought {
                    price: c.price.clone(),
                    date: Some(as_of),
                    life_years: 4.0,
                },
                None,
            ),
            CandidateMode::Lease => {
                let lessor = c
                    .lessor
                    .clone()
                    .or_else(|| sc.site(&c.site).map(|s| s.owner.clone()))
                    .unwrap_or_default();
                (
                    Acquisition::Leased {
                        rate: c.price.clone(),
                        from: lessor.clone(),
                        until: None,
                    },
                    Some(lessor),
                )
            }
        };
        out.pools.push(Pool {
            id: planned_pool_id(l),
            site: c.site.clone(),
            accelerator: c.accelerator.clone(),
            nodes: l.nodes.min(u32::MAX as u64) as u32,
            accels_per_node: per_node,
            scaleup_domain: c.scaleup_domain.unwrap_or(per_node).max(per_node),
            acquisition,
            owner,
            licences: c.licences.clone(),
            history: vec![],
            purpose: c.purpose,
        });
    }
    out
}

/// The `[workload]` generator's jobs for the planned fleet `sc`: one type per accelerator in
/// its pools, with its size, largest pool and dense BF16 peak.
fn generated_jobs(
    w: &xpufleet_model::WorkloadGen,
    sc: &Scenario,
    catalog: &Catalog,
) -> Result<Vec<xpufleet_model::TrainingJob>, xpufleet_sim::gen::GenError> {
    let mut types: BTreeMap<&str, xpufleet_sim::gen::FleetType> = BTreeMap::new();
    for p in &sc.pools {
        let Some(tflops) = catalog
            .get(&p.accelerator)
            .and_then(|a| a.tflops_bf16.get())
        else {
            continue;
        };
        let t =
            types
                .entry(p.accelerator.as_str())
                .or_insert_with(|| xpufleet_sim::gen::FleetType {
                    accelerator: p.accelerator.clone(),
                    accels: 0,
                    largest_pool: 0,
                    tflops_bf16: tflops,
                });
        t.accels += p.accelerators();
        t.largest_pool = t.largest_pool.max(p.accelerators());
    }
    let tenants = if w.tenants.is_empty() {
        vec![sc.company.clone()]
    } else {
        w.tenants.clone()
    };
    let types: Vec<_> = types.into_values().collect();
    xpufleet_sim::gen::fleet_month_jobs(w, &types, &tenants)
}

fn fleet_data(sc: &Scenario, catalog: &Catalog) -> report::Fleet {
    let pools = sc
        .pools
        .iter()
        .map(|p| {
            let a = catalog.get(&p.accelerator);
            let site = sc.site(&p.site);
            let accels = p.accelerators();
            report::FleetPool {
                id: p.id.clone(),
                origin: if p.id.starts_with(PLANNED_PREFIX) {
                    report::PoolOrigin::Planned
                } else {
                    report::PoolOrigin::Existing
                },
                accelerator: p.accelerator.clone(),
                vendor: a.map(|a| a.vendor.clone()).unwrap_or_default(),
                site: p.site.clone(),
                country: site.map(|s| s.country.clone()).unwrap_or_default(),
                accels,
                peak_pflops: a
                    .and_then(|a| a.tflops_bf16.get())
                    .map(|t| t * accels as f64 / 1000.0),
                power_mw: match (a.and_then(|a| a.power_w.get()), site) {
                    (Some(w), Some(s)) => Some(w * accels as f64 * s.pue / 1e6),
                    _ => None,
                },
            }
        })
        .collect();
    let sites: Vec<(String, String, f64)> = sc
        .sites
        .iter()
        .map(|s| (s.id.clone(), s.country.clone(), s.power_mw))
        .collect();
    report::Fleet::new(pools, &sites)
}

/// Display names of the scenario's accelerators and sites.
pub fn labels(sc: &Scenario, catalog: &Catalog) -> report::Labels {
    let mut l = report::Labels::default();
    let ids = sc
        .pools
        .iter()
        .map(|p| &p.accelerator)
        .chain(sc.candidates.iter().map(|c| &c.accelerator));
    for id in ids {
        if let Some(a) = catalog.get(id) {
            l.accelerators.insert(id.clone(), a.name.clone());
        }
    }
    for s in &sc.sites {
        if !s.name.is_empty() {
            l.sites.insert(s.id.clone(), s.name.clone());
        }
    }
    l
}

struct SimSections {
    workload: report::Workload,
    cost: Section<report::CostEnergy>,
    notes: Vec<String>,
}

/// Simulates the scenario's jobs on its pools (the planned fleet) and reads the event log back
/// into job rows, utilisation over time and cost and energy per accelerator type.
#[allow(clippy::too_many_arguments)]
fn simulate_fleet(
    sc: &Scenario,
    catalog: &Catalog,
    rules: &RuleSet,
    perf: &PerfModel,
    as_of: Date,
    opts: &RunOptions,
    capacity: &[xpufleet_sim::CapacityEvent],
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<SimSections, String> {
    let RunOptions {
        policy,
        seed,
        failures,
        ..
    } = *opts;
    if sc.jobs.is_empty() {
        return Err("the scenario has no [[job]]s to simulate".into());
    }
    let gate = RuleEngine::new(rules.clone(), sc, catalog);
    let Prepared { fleet, jobs, .. } =
        prepare(sc, catalog, &gate, perf, as_of).map_err(|e| e.to_string())?;
    let restart_delay_s = if failures {
        perf.reliability.restart_s.max(0.0) as u64
    } else {
        0
    };
    let cfg = Config {
        policy,
        seed,
        round_s: None,
        restart_delay_s,
        failures: failures.then_some(Failures {
            rate_per_chip_hour: perf.reliability.failure_rate_per_chip_hour,
            repair_s: crate::defaults::REPAIR_S,
            checkpoint_interval_s: crate::defaults::CHECKPOINT_S,
        }),
        // The jobs checkpoint whether or not failures are simulated: a round policy keeps a
        // (re)started gang placed until it has restored and reached its next checkpoint, so
        // that a 65,536-accelerator gang is not restarted every 360 s round (which grew the
        // event log past 24 GB before; docs/scheduling.md).
        hold_s: Some(restart_delay_s + crate::defaults::CHECKPOINT_S),
        log: true,
    };
    let out = simulate_over_time(
        fleet,
        jobs,
        &cfg,
        Limits::default(),
        capacity,
        &mut |done, total| {
            progress(Progress::Message(&format!(
                "simulating the workload: {done}/{total} jobs done"
            )));
        },
    );
    let mut notes = Vec::new();
    if let Some(stop) = &out.stopped {
        notes.push(format!(
            "simulation: {stop}; the workload figures cover the simulation until then"
        ));
    }
    for (reason, n) in &out.metrics.rejected {
        notes.push(format!(
            "simulation: {} can never run on the planned fleet: {reason}",
            report::format::count(*n as usize, "job", "jobs")
        ));
    }
    if out.metrics.rejected_decisions > 0 {
        notes.push(format!(
            "simulation: {} refused on re-check",
            match out.metrics.rejected_decisions {
                1 => "1 scheduler decision was".to_string(),
                n => format!("{} scheduler decisions were", report::format::int(n)),
            }
        ));
    }
    let pool_accel: Vec<String> = sc.pools.iter().map(|p| p.accelerator.clone()).collect();
    let replay = replay_log(&out.log, sc.jobs.len(), sc.pools.len());
    // Failures that hit a running job, per job; the rest hit idle accelerators and cost no
    // work, so the report's headline counts only these.
    let mut job_failures = vec![0u32; sc.jobs.len()];
    for e in &out.log {
        if let xpufleet_sim::log::LogEvent::Fail { job: Some(j), .. } = e {
            if let Some(n) = job_failures.get_mut(*j as usize) {
                *n += 1;
            }
        }
    }
    let unfinished: BTreeMap<usize, String> = out
        .unfinished
        .iter()
        .map(|(id, r)| (*id as usize, r.to_string()))
        .collect();

    // Jobs.
    let job_rows: Vec<report::JobRow> = sc
        .jobs
        .iter()
        .enumerate()
        .map(|(i, j)| {
            let r = &replay.jobs[i];
            let status = if r.end.is_some() {
                "completed"
            } else if r.rejected.is_some() {
                "rejected"
            } else if r.running {
                "running"
            } else {
                "waiting"
            };
            let pools: Vec<&str> = r.pools.iter().map(|&p| sc.pools[p].id.as_str()).collect();
            report::JobRow {
                id: j.id.clone(),
                name: j.name.clone(),
                tenant: j.tenant.clone(),
                accels: if r.accels > 0 {
                    r.accels
                } else {
                    j.max_accels.max(j.min_accels)
                },
                accelerator: r.pools.first().map(|&p| pool_accel[p].clone()),
                pool: (!pools.is_empty()).then(|| pools.join(" + ")),
                submit_s: j.submit_s,
                start_s: r.first_start,
                end_s: r.end,
                status: status.to_string(),
                reason: r.rejected.clone().or_else(|| unfinished.get(&i).cloned()),
                failures: job_failures[i],
            }
        })
        .collect();
    let horizon_s = replay.last_t.max(1);

    // Utilisation per accelerator type (summed over the countries it sits in).
    let mut capacity: BTreeMap<String, u64> = BTreeMap::new();
    for p in &sc.pools {
        *capacity.entry(p.accelerator.clone()).or_default() += p.accelerators();
    }
    let utilisation: Vec<report::UtilSeries> = capacity
        .iter()
        .map(|(accel, &cap)| {
            let pools: Vec<usize> = (0..sc.pools.len())
                .filter(|&p| &pool_accel[p] == accel)
                .collect();
            let points = replay
                .busy_series(&pools)
                .into_iter()
                .map(|p| report::UtilPoint {
                    t_s: p.t_s,
                    busy: p.busy,
                })
                .collect();
            report::UtilSeries::new(accel.clone(), cap, points, horizon_s)
        })
        .collect();

    // The whole planned fleet, types that ran nothing included: idle capacity shows as such.
    let busy_accel_s = utilisation
        .iter()
        .map(|u| u.mean * u.capacity as f64 * horizon_s as f64)
        .fold(0.0, |a, b| a + b);
    let fleet_use = report::FleetUse::new(capacity.values().sum(), horizon_s, busy_accel_s);

    let mut cost = cost_energy(sc, catalog, perf, &replay.chip_seconds, &mut notes);
    if let Section::Available { data } = &mut cost {
        data.idle = Some(idle_cost(
            sc,
            catalog,
            perf,
            &replay.chip_seconds,
            horizon_s,
            &mut notes,
        ));
    }
    Ok(SimSections {
        workload: report::Workload {
            policy: policy.name().to_string(),
            horizon_s,
            stats: report::JctStats::from_jobs(&job_rows),
            jobs: job_rows,
            utilisation,
            preemptions: out.metrics.preemptions,
            failures: out.metrics.failures,
            job_failures: job_failures.iter().map(|&n| u64::from(n)).sum(),
            fleet_use: Some(fleet_use),
            stopped: out.stopped.as_ref().map(|s| s.to_string()),
        },
        cost,
        notes,
    })
}

/// The cost and energy section from `xpufleet_perf::cost::usage_cost`, with a note for every
/// pool it had to leave out.
fn cost_energy(
    sc: &Scenario,
    catalog: &Catalog,
    perf: &PerfModel,
    chip_seconds: &[f64],
    notes: &mut Vec<String>,
) -> Section<report::CostEnergy> {
    let used = xpufleet_perf::cost::usage_cost(sc, catalog, &perf.energy, chip_seconds);
    for (pool, why) in &used.skipped {
        notes.push(format!("cost and energy: pool {pool} left out: {why}"));
    }
    if used.rows.is_empty() {
        return Section::unavailable(if used.skipped.is_empty() {
            "no job ran on the planned fleet".to_string()
        } else {
            "no pool that ran jobs has a known board power and exchange rate".to_string()
        });
    }
    let rows = used
        .rows
        .into_iter()
        .map(|r| report::CostRow {
            accelerator: r.accelerator,
            chip_hours: r.chip_hours,
            energy_mwh: r.energy_mwh,
            cost_usd: r.cost_usd,
        })
        .collect();
    Section::available(report::CostEnergy::new(rows))
}

/// What the accelerator-hours no job used cost over the horizon: each pool's capacity × horizon
/// less what it ran, priced like used hours (lease, or capex amortised) but with no energy, since
/// idle power is not modelled. Pools that cannot be priced are left out with a note, never
/// costed at $0.
fn idle_cost(
    sc: &Scenario,
    catalog: &Catalog,
    perf: &PerfModel,
    used_accel_s: &[f64],
    horizon_s: u64,
    notes: &mut Vec<String>,
) -> report::IdleCost {
    let idle_s: Vec<f64> = sc
        .pools
        .iter()
        .enumerate()
        .map(|(p, pool)| {
            let cap = pool.accelerators() as f64 * horizon_s as f64;
            (cap - used_accel_s.get(p).copied().unwrap_or(0.0)).max(0.0)
        })
        .collect();
    let no_energy = xpufleet_perf::params::EnergyParams {
        board_utilisation: 0.0,
        host_overhead_frac: 0.0,
        ..perf.energy.clone()
    };
    let idle = xpufleet_perf::cost::usage_cost(sc, catalog, &no_energy, &idle_s);
    for (pool, why) in &idle.skipped {
        notes.push(format!(
            "cost of idle capacity: pool {pool} left out: {why}"
        ));
    }
    report::IdleCost::new(
        idle.rows
            .into_iter()
            .map(|r| report::CostRow {
                accelerator: r.accelerator,
                chip_hours: r.chip_hours,
                energy_mwh: 0.0,
                cost_usd: r.cost_usd,
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 17: the example's report shows the planned fleet's real utilisation and the cost
    /// of its idle accelerators, and prints no NaN, infinity or negative zero.
    #[test]
    fn the_example_report_tells_the_whole_truth() {
        let loaded = xpufleet_io::load_scenario(None, None).expect("the example loads");
        let d = report(&loaded, &[], &RunOptions::default(), &mut |_| {}).expect("a report");
        let w = d.workload.get().expect("the example simulates");
        let f = w.fleet_use.as_ref().expect("the fleet's use");
        let fleet = d.fleet.get().expect("the fleet");
        let accels: u64 = fleet.pools.iter().map(|p| p.accels).sum();
        assert_eq!(
            f.accels, accels,
            "every planned accelerator counts, idle or not"
        );
        assert!((0.0..=1.0).contains(&f.utilisation), "{}", f.utilisation);
        let available = accels as f64 * w.horizon_s as f64 / 3600.0;
        assert!((f.accel_hours_available - available).abs() <= 1e-9 * available);
        assert!((f.utilisation - f.accel_hours_used / f.accel_hours_available).abs() < 1e-12);
        let busy: f64 = w
            .utilisation
            .iter()
            .map(|u| u.mean * u.capacity as f64 * w.horizon_s as f64 / 3600.0)
            .sum();
        assert!((f.accel_hours_used - busy).abs() <= 1e-9 * busy.max(1.0));
        let c = d.cost_energy.get().expect("the workload is costed");
        let idle = c.idle.as_ref().expect("idle capacity is costed");
        assert!(idle.total_cost_usd > 0.0 && idle.total_accel_hours > 0.0);
        let idle_expected = available - f.accel_hours_used;
        // Pools that cannot be priced are left out (with a note), so at most the idle hours.
        assert!(idle.total_accel_hours <= idle_expected * (1.0 + 1e-9));
        for (name, text) in xpufleet_report::render_all(&d) {
            for bad in ["NaN", "-0.00", ": -0.0", "Infinity"] {
                assert!(!text.contains(bad), "{name} prints {bad}");
            }
        }
    }

    #[test]
    fn next_rule_change_is_strictly_after_the_date() {
        let rules = xpufleet_io::rules::builtin_rule_set();
        let d: Date = "2025-03-01".parse().unwrap();
        let (next, ids) = next_rule_change(&rules, d).expect("the packs change after 2025-03-01");
        assert!(next > d);
        assert!(!ids.is_empty());
        // Nothing changes strictly between the date and the next change.
        let (again, _) = next_rule_change(&rules, next.plus_days(-1)).unwrap();
        assert_eq!(again, next);
    }
}
