//! `plan()`: prepare, solve for the chosen objective, then report lines, envelopes, mix shares,
//! which constraints bind and what relaxing each one would buy.

use serde::{Deserialize, Serialize};
use xpufleet_comply::Gate;
use xpufleet_model::{CandidateMode, Catalog, Date, MixBasis, Scenario};

use crate::model::{self, Goal, Group, Limits, Proof, Row, Solved, Solver, SolverOpts, USD_SCALE};
use crate::periods::ExtraKind;
pub use crate::prepare::Excluded;
use crate::prepare::{prepare, Problem};
use crate::{Objective, PlanError};

/// The longest `time_limit_s` a plan accepts (a year, in seconds).
pub const MAX_TIME_LIMIT_S: f64 = 365.0 * 86_400.0;

/// How to plan. `Default` plans as the scenario says, with sensitivity analysis.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    /// The plan date (rules in force then apply); the scenario's date when `None`.
    pub date: Option<Date>,
    /// The scenario's `plan.objective` when `None`.
    pub objective: Option<Objective>,
    /// The scenario's `plan.target_pflops` when `None`.
    pub target_pflops: Option<f64>,
    /// Re-solve once per binding constraint with that constraint relaxed.
    pub sensitivity: bool,
    /// Relative step by which a binding budget, supply cap, site power cap or `max_nodes` is
    /// relaxed (0.10 = 10% more), and a min-cost target lowered.
    pub relax_step: f64,
    /// Step by which a binding supplier-mix share is lowered (0.05 = five percentage points).
    pub mix_step: f64,
    /// Relative gap, in the objective's own units, at which a solve may stop: the plan is then
    /// proven within this fraction of the optimum (`Plan::gap` says how close it is proven).
    pub mip_gap: f64,
    /// Seconds one MILP may run before its best integer plan is taken (the one place the
    /// planner looks at a clock; `None` waits for the proof). A plan is still returned, with
    /// `status = time-limit` and the gap proven so far.
    pub time_limit_s: Option<f64>,
    /// Which MILP solver runs branch-and-bound.
    pub solver: Solver,
    /// Measured serving profiles the services are sized with (the built-in ones in the app);
    /// empty leaves every service to the roofline.
    pub serving_profiles: Vec<xpufleet_perf::serving::ServingProfile>,
}

/// The default relative gap: 0.01%.
pub const DEFAULT_GAP: f64 = 1e-4;

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            date: None,
            objective: None,
            target_pflops: None,
            sensitivity: true,
            relax_step: 0.10,
            mix_step: 0.05,
            mip_gap: DEFAULT_GAP,
            time_limit_s: Some(10.0),
            solver: Solver::Microlp,
            serving_profiles: Vec::new(),
        }
    }
}

/// How far the solve got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SolveStatus {
    /// Proven optimal (the bound equals the objective).
    Optimal,
    /// Proven within the requested relative gap of the optimum.
    WithinGap,
    /// A solve hit its time or work limit: the plan satisfies every row, and `gap` is what is
    /// proven about it, larger than requested.
    TimeLimit,
}

impl SolveStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SolveStatus::Optimal => "optimal",
            SolveStatus::WithinGap => "within-gap",
            SolveStatus::TimeLimit => "time-limit",
        }
    }
}

/// One candidate's coefficients in the program, bought or not: what anyone needs to see why it
/// was (not) bought, or to re-solve the same program with another solver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CandidateCoefs {
    pub id: String,
    /// Expected MFU used to value it (`None` when excluded before it was valued).
    pub mfu: Option<f64>,
    /// Its objective and target coefficient: peak BF16 × MFU × units / 1000.
    pub effective_pflops_per_node: Option<f64>,
    /// Its budget-row coefficient, in its envelope's currency (`currency`).
    pub price_per_node: Option<f64>,
    /// Its min-cost objective coefficient, in USD.
    pub spend_usd_per_node: Option<f64>,
    /// Its site-power-row coefficient: board power × units × PUE.
    pub power_w_per_node: Option<f64>,
    /// The variable's upper bound: `max_nodes` and what each single row allows (0 when
    /// excluded).
    pub bound_nodes: u64,
    pub excluded: bool,
    /// The envelope's currency, the unit of `price_per_node`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
}

/// One thing to buy or lease.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanLine {
    pub candidate: String,
    pub accelerator: String,
    pub vendor: String,
    pub vendor_country: String,
    pub site: String,
    pub country: String,
    pub mode: CandidateMode,
    pub nodes: u64,
    /// Accelerators (catalog units: a card or module).
    pub units: u64,
    /// Chips: units × chips per unit.
    pub chips: u64,
    /// In the envelope's currency: price × units (lease: × horizon hours).
    pub spend: f64,
    pub currency: String,
    pub spend_usd: f64,
    pub envelope: String,
    /// Board power × units × site PUE.
    pub power_mw: f64,
    /// Expected MFU used to value it.
    pub mfu: f64,
    /// Training compute only: nodes that serve count none.
    pub effective_pflops: f64,
    /// Nodes of `nodes` bought to serve services (`services` says which).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub serving_nodes: u64,
    /// What the line is bought for: `training`, `serving` (every node serves) or `both`.
    #[serde(rename = "use", default)]
    pub line_use: LineUse,
    /// The services its serving nodes serve, in scenario order (empty when it only trains).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<String>,
    /// In a plan over periods, the period the line is ordered in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<String>,
}

/// What a plan line is bought for. Field values are the `plan --json` contract.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LineUse {
    /// Every node trains (plans without services, and plans over periods).
    #[default]
    Training,
    /// Every node serves the line's `services`.
    Serving,
    /// Some nodes train, the others serve.
    Both,
}

impl LineUse {
    pub fn of(nodes: u64, serving_nodes: u64) -> LineUse {
        if serving_nodes == 0 {
            LineUse::Training
        } else if serving_nodes >= nodes {
            LineUse::Serving
        } else {
            LineUse::Both
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            LineUse::Training => "training",
            LineUse::Serving => "serving",
            LineUse::Both => "both",
        }
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// What an envelope spends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnvelopeUse {
    pub id: String,
    pub currency: String,
    pub budget: f64,
    pub spent: f64,
    pub spent_usd: Option<f64>,
}

/// The share a supplier mix achieves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MixShare {
    pub id: String,
    pub envelope: String,
    pub domestic_country: String,
    pub basis: MixBasis,
    pub min_share: f64,
    /// Domestic / total (spend in the envelope's currency, or units); `None` when nothing is
    /// bought in the envelope.
    pub share: Option<f64>,
    pub domestic: f64,
    pub total: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConstraintKind {
    Budget,
    SupplierMix,
    Supply,
    Power,
    MaxNodes,
    Target,
    /// A service's (or request bucket's) demand, in output tokens a second at its peak.
    Service,
    /// What a licence's quantity or value leaves after the pools under it (`licence:<id>`).
    Licence,
}

/// What relaxing one binding constraint by a stated step does to the objective. The re-solve
/// starts from the base plan (still feasible once the constraint is relaxed), so its objective
/// is never worse than the base's, and is solved to the same gap.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Relaxation {
    /// The step, in words ("budget +10% (+4.00B CNY)").
    pub step: String,
    /// Objective after re-solving with the relaxed bound; `None` if the re-solve failed.
    pub objective: Option<f64>,
    /// Change of the objective (in its unit); for min-cost a saving is negative.
    pub objective_delta: Option<f64>,
    /// The re-solve's status; `proven` is true only when both it and the base solve reached
    /// the requested gap. When false, `objective_delta` is what was found, not a proven figure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<SolveStatus>,
    #[serde(default)]
    pub proven: bool,
    /// The interval the true change of the optimum lies in, from both solves' bounds:
    /// `[low, high]` in the objective's unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delta_range: Option<[f64; 2]>,
    /// The re-solve's own proven relative gap (as the plan's `gap`); `None` when it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gap: Option<f64>,
}

/// One constraint of the program.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConstraintReport {
    /// "budget:cn-chips", "mix:cn-domestic-60", "supply:huawei-2025", "power:cn-ulanqab",
    /// "max_nodes:my-b200-lease", "target".
    pub id: String,
    pub kind: ConstraintKind,
    /// True when not one more node of anything it limits would fit (or, for a `≥` row, not one
    /// fewer).
    pub binding: bool,
    /// The constrained quantity in the plan, in `unit` (spend, share, accelerators, MW with the
    /// existing pools, nodes, PFLOPS).
    pub value: f64,
    /// Its bound, in `unit`.
    pub limit: f64,
    /// "≤" or "≥".
    pub sense: String,
    pub unit: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relaxation: Option<Relaxation>,
}

/// The objective reached.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectiveReport {
    pub kind: Objective,
    pub value: f64,
    pub unit: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_pflops: Option<f64>,
    /// MILPs solved to reach the answer (Dinkelbach steps for compute-per-dollar), not counting
    /// the sensitivity re-solves.
    pub solves: u32,
}

/// A procurement plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub scenario: String,
    pub date: Date,
    pub objective: ObjectiveReport,
    /// `optimal`, `within-gap` or `time-limit`.
    pub status: SolveStatus,
    /// The proven relative gap: |bound − objective| / |objective| (0 when optimal).
    pub gap: f64,
    /// A proven bound on the optimum, in the objective's unit: no plan does better.
    pub bound: f64,
    /// The MILP solver used.
    pub solver: Solver,
    pub lines: Vec<PlanLine>,
    pub envelopes: Vec<EnvelopeUse>,
    pub supplier_mix: Vec<MixShare>,
    pub constraints: Vec<ConstraintReport>,
    pub excluded: Vec<Excluded>,
    /// Every candidate, bought or not, with its coefficients in the program.
    pub candidates: Vec<CandidateCoefs>,
    pub effective_pflops: f64,
    pub spend_usd: f64,
    pub power_mw: f64,
    pub warnings: Vec<String>,
    /// Each `[[service]]`: demand, what covers it and at what cost (absent without services).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<crate::ServiceReport>,
    /// A plan over periods (`[[period]]`): each period's orders, spend and capacity. Then
    /// `lines` holds every period's lines, `effective_pflops` is the periods' average weighted
    /// by days and `power_mw` the most the plan draws in any period.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub periods: Vec<crate::periods::PeriodPlan>,
}

/// Plans `scenario` against `catalog`, asking `gate` about every candidate on the plan date and
/// valuing compute with `perf`.
pub fn plan(
    scenario: &Scenario,
    catalog: &Catalog,
    gate: &dyn Gate,
    perf: &dyn crate::Mfu,
    opts: &PlanOptions,
) -> Result<Plan, PlanError> {
    let date = opts.date.unwrap_or(scenario.date);
    let objective = match opts.objective {
        Some(o) => o,
        None => scenario
            .plan
            .objective
            .parse()
            .map_err(|e| PlanError::Invalid(format!("plan.objective: {e}")))?,
    };
    let target = opts.target_pflops.or(scenario.plan.target_pflops);
    // With services, min-cost is the cost of serving them (and of any target) alone.
    let target = match target {
        None if objective == Objective::MinCost && !scenario.services.is_empty() => Some(0.0),
        t => t,
    };
    let over_periods = !scenario.periods.is_empty();
    let period_target = scenario.periods.iter().any(|p| p.target_pflops.is_some());
    if objective == Objective::MinCost && target.is_none() && !period_target {
        return Err(PlanError::Invalid(
            "the min-cost objective needs a target: set plan.target_pflops (effective PFLOPS)"
                .into(),
        ));
    }
    if let Some(t) = target {
        if !(t.is_finite() && t >= 0.0) {
            return Err(PlanError::Invalid(format!(
                "target_pflops must be a non-negative number, found {t}"
            )));
        }
    }
    // A target binds max-compute only as a floor; it is what min-cost and compute-per-dollar
    // must reach.
    let target = match objective {
        Objective::MaxCompute => None,
        _ => target,
    };
    if !opts.solver.available() {
        return Err(PlanError::Invalid(format!(
            "this xpufleet was built without the {} solver: rebuild with `--features {}` or use --solver microlp",
            opts.solver, opts.solver
        )));
    }
    if !(opts.mip_gap.is_finite() && (0.0..1.0).contains(&opts.mip_gap)) {
        return Err(PlanError::Invalid(format!(
            "the relative gap must lie in 0..1, found {}",
            opts.mip_gap
        )));
    }
    if let Some(t) = opts.time_limit_s {
        // Finite and at most a year: a `Duration` is made of it, and a deadline from now.
        if !(t > 0.0 && t <= MAX_TIME_LIMIT_S) {
            return Err(PlanError::Invalid(format!(
                "the time limit must be a number of seconds in (0, {MAX_TIME_LIMIT_S}], found {t:?}"
            )));
        }
    }
    let serving_params = xpufleet_perf::serving::ServingParams::default();
    let sopts = SolverOpts {
        gap: opts.mip_gap,
        time_limit_s: opts.time_limit_s,
        solver: opts.solver,
    };
    // Over periods, the demand is a row per period (the period's own target, else the plan's),
    // and so is each service's (`period_services.rs`); a first plan that meets the targets is
    // built before the MILP runs.
    let solve_began = std::time::Instant::now();
    let mut period_shortfalls = crate::period_services::PeriodShortfalls::new();
    let (p, lim, base, attached, shortfalls) = if over_periods {
        let targets: Vec<Option<f64>> = scenario
            .periods
            .iter()
            .map(|per| match objective {
                Objective::MaxCompute => None,
                _ => per.target_pflops.or(target),
            })
            .collect();
        let p = crate::periods::prepare_periods(
            scenario,
            catalog,
            gate,
            perf,
            &targets,
            &opts.serving_profiles,
            &serving_params,
        )?;
        let mut lim = Limits::of(&p, None);
        let start = match objective {
            Objective::MaxCompute => None,
            _ => crate::periods::greedy(&p, &lim),
        };
        // Max-compute: the search over all periods gets most of the time limit, and the
        // period-by-period windows the rest when it stops at it (`improve_over_periods`).
        let began = std::time::Instant::now();
        let mut search = sopts;
        if objective == Objective::MaxCompute {
            search.time_limit_s = sopts
                .time_limit_s
                .map(|t| t * (1.0 - crate::periods::WINDOWS_SHARE));
        }
        let (base, short) = crate::period_services::solve_covering(
            &p,
            &mut lim,
            |l| {
                Ok(optimise(&p, l, objective, search, start.as_deref())?
                    .map(|base| improve_over_periods(&p, l, objective, sopts, began, base)))
            },
            |l| infeasible(&p, l, objective, sopts),
            |l| {
                matches!(
                    model::solve(&p, l, Goal::Feasibility, sopts, None),
                    Ok(Some(_))
                )
            },
        )?;
        period_shortfalls = short;
        // Among plans of the same value, the one that buys serving capacity latest.
        let mut base = base;
        base.sol.nodes = crate::period_services::postpone(&p, &lim, &base.sol.nodes);
        (
            p,
            lim,
            base,
            crate::services::Attached::default(),
            crate::services::Shortfalls::default(),
        )
    } else {
        let mut p = prepare(scenario, catalog, gate, perf, date)?;
        let attached = crate::services::attach(
            &mut p,
            scenario,
            catalog,
            gate,
            date,
            &opts.serving_profiles,
            &serving_params,
        );
        let mut lim = Limits::of(&p, target);
        let (base, shortfalls) = crate::services::solve_covering(
            &p,
            &mut lim,
            |l| optimise(&p, l, objective, sopts, None),
            |l| infeasible(&p, l, objective, sopts),
            |l| {
                matches!(
                    model::solve(&p, l, Goal::Feasibility, sopts, None),
                    Ok(Some(_))
                )
            },
        )?;
        (p, lim, base, attached, shortfalls)
    };
    let base_s = solve_began.elapsed().as_secs_f64();
    let sol = &base.sol;
    let value = base.value;
    let status = base.status(opts.mip_gap);
    let mut warnings = p.warnings.clone();
    warnings.extend(licence_alerts(&p, &sol.nodes));
    let rows = model::rows(&p, &lim, Goal::Feasibility);
    let mut constraints = constraint_reports(&p, &lim, &rows, &sol.nodes);
    if opts.sensitivity {
        // One re-solve per binding constraint, each from the base plan (feasible under every
        // relaxation, so a warm start), run on as many threads as the machine has.
        let jobs: Vec<(usize, Limits, String)> = constraints
            .iter()
            .enumerate()
            .filter(|(_, c)| c.binding)
            .filter_map(|(k, c)| {
                let (relaxed, step) = relax(&p, &lim, &c.id, opts);
                relaxed.map(|l| (k, l, step))
            })
            .collect();
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(jobs.len())
            .max(1);
        // The re-solves together get ten times the base solve's wall time, at least a few
        // seconds and at most its time limit (`ResolveBudget`): each its share of what is
        // left, and once that is spent only the cut LP bound, so a plan over many periods, with
        // a hundred binding rows, costs seconds, not minutes.
        let budget = ResolveBudget::new(sopts.time_limit_s, base_s, threads, jobs.len());
        // The caller's cancellation flag (the server's pool) reaches the worker threads.
        let cancel = xpufleet_model::cancel::current();
        // First every relaxed program's cut LP bound (a few LPs each): a re-solve it proves
        // is answered there. The others then re-solve the MILP, the largest headroom (the gap
        // between that bound and the base plan) first: when the shared time runs short, the
        // re-solves left with only their bound are those whose bound was already the closest,
        // so the largest gap reported is the least it can be (and the re-solves that move the
        // plan most, a budget's, get their MILP first). Each thread takes the next job when it
        // finishes one, so one slow re-solve does not hold back the others; the results are
        // put back in constraint order.
        let bounds = pool(threads, &cancel, jobs.len(), |j| {
            let (_, relaxed, _) = &jobs[j];
            resensitise(&p, relaxed, objective, sopts, None, &base, opts)
        });
        let mut results: Vec<(usize, String, Result<Option<Outcome>, PlanError>)> = Vec::new();
        let mut milps: Vec<(usize, f64)> = Vec::new();
        for (j, r) in bounds.into_iter().enumerate() {
            match r {
                Ok(Some(o)) if o.within(opts.mip_gap) => {
                    results.push((jobs[j].0, jobs[j].2.clone(), Ok(Some(o))))
                }
                Ok(Some(o)) => milps.push((j, o.gap)),
                // No bound without a MILP (compute-per-dollar) or none at all: the MILP says.
                _ => milps.push((j, f64::INFINITY)),
            }
        }
        milps.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let budget = ResolveBudget {
            n_jobs: milps.len(),
            ..budget
        };
        let solved = pool(threads, &cancel, milps.len(), |m| {
            let (_, relaxed, _) = &jobs[milps[m].0];
            let milp = budget.opts(sopts, m);
            resensitise(&p, relaxed, objective, sopts, milp, &base, opts)
        });
        for (m, r) in solved.into_iter().enumerate() {
            let (k, _, step) = &jobs[milps[m].0];
            results.push((*k, step.clone(), r));
        }
        results.sort_by_key(|(k, _, _)| *k);
        for (k, step, r) in results {
            let c = &mut constraints[k];
            c.relaxation = Some(match r {
                Ok(Some(new)) => {
                    let new_status = new.status(opts.mip_gap);
                    // The base plan is feasible under the relaxed limits and the re-solve
                    // started from it, so the new value is never worse; a hair worse from
                    // floating point is the base value.
                    let v = if objective == Objective::MinCost {
                        new.value.min(value)
                    } else {
                        new.value.max(value)
                    };
                    // True change of the optimum: between (new − base bound) and (new bound
                    // − base) for maximising, mirrored for min-cost.
                    // Relaxing never hurts the optimum, which caps the interval at zero.
                    let range = if objective == Objective::MinCost {
                        [(new.bound - value).min(0.0), (v - base.bound).min(0.0)]
                    } else {
                        [(v - base.bound).max(0.0), (new.bound - value).max(0.0)]
                    };
                    Relaxation {
                        step,
                        objective: Some(v),
                        objective_delta: Some(v - value),
                        status: Some(new_status),
                        proven: new_status != SolveStatus::TimeLimit
                            && status != SolveStatus::TimeLimit,
                        delta_range: Some(range),
                        gap: Some(new.gap),
                    }
                }
                Ok(None) => Relaxation {
                    step,
                    objective: None,
                    objective_delta: None,
                    status: None,
                    proven: false,
                    delta_range: None,
                    gap: None,
                },
                Err(e) => {
                    warnings.push(format!("re-solving with {} relaxed failed: {e}", c.id));
                    Relaxation {
                        step,
                        objective: None,
                        objective_delta: None,
                        status: None,
                        proven: false,
                        delta_range: None,
                        gap: None,
                    }
                }
            });
        }
    }
    if status == SolveStatus::TimeLimit {
        warnings.push(format!(
            "the solver stopped at its time limit ({} s) or work limit: the plan satisfies every constraint and is proven within {:.4}% of the optimum, not the requested {:.4}%",
            opts.time_limit_s.unwrap_or(0.0),
            base.gap * 100.0,
            opts.mip_gap * 100.0
        ));
    }
    let mut candidates = candidate_coefs(scenario, &p, &lim);
    crate::periods::present_coefs(&p, &mut candidates);
    let solves = base.solves;
    let lines = lines(&p, &sol.nodes);
    let envelopes = p
        .envelopes
        .iter()
        .map(|env| {
            let spent: f64 = lines
                .iter()
                .filter(|l| l.envelope == env.id)
                .map(|l| l.spend)
                .sum();
            EnvelopeUse {
                id: env.id.clone(),
                currency: env.currency.to_string(),
                budget: env.budget,
                spent,
                spent_usd: env.usd_rate.map(|r| r * spent),
            }
        })
        .collect();
    let supplier_mix = p
        .mixes
        .iter()
        .map(|m| {
            let env = &p.envelopes[m.envelope].id;
            let (mut domestic, mut total) = (0.0, 0.0);
            for l in lines.iter().filter(|l| &l.envelope == env) {
                let w = match m.basis {
                    MixBasis::Spend => l.spend,
                    MixBasis::Units => l.units as f64,
                };
                total += w;
                if l.vendor_country == m.domestic_country {
                    domestic += w;
                }
            }
            MixShare {
                id: m.id.clone(),
                envelope: env.clone(),
                domestic_country: m.domestic_country.clone(),
                basis: m.basis,
                min_share: m.min_share,
                share: (total > 0.0).then(|| domestic / total),
                domestic,
                total,
            }
        })
        .collect();
    let mut effective_pflops = lines.iter().map(|l| l.effective_pflops).sum();
    let spend_usd = lines.iter().map(|l| l.spend_usd).sum();
    let mut power_mw = lines.iter().map(|l| l.power_mw).sum();
    let period_services =
        crate::period_services::reports(&p, &sol.nodes, &period_shortfalls, &serving_params);
    // A service short in a period is said once per period, with the period.
    for (per, svcs) in scenario.periods.iter().zip(&period_services) {
        for v in svcs {
            if let Some(s) = &v.shortfall {
                warnings.push(format!(
                    "service {} in period {}: {:.3e} of {:.3e} output tokens a day uncovered ({})",
                    v.id, per.id, s.output_tokens_per_day, v.output_tokens_per_day, s.reason
                ));
            }
        }
    }
    let periods = crate::periods::report(&p, &sol.nodes, period_services);
    let mut lines = lines;
    if p.timeline.is_some() {
        lines = crate::periods::lines(&p, &sol.nodes);
        effective_pflops = crate::periods::average_pflops(&periods);
        power_mw = crate::periods::peak_power_mw(&p, &sol.nodes);
    }
    Ok(Plan {
        scenario: scenario.name.clone(),
        date,
        objective: ObjectiveReport {
            kind: objective,
            value,
            unit: objective.unit().to_string(),
            target_pflops: target,
            solves,
        },
        status,
        gap: base.gap,
        bound: base.bound,
        solver: opts.solver,
        lines,
        envelopes,
        supplier_mix,
        constraints,
        excluded: p.excluded.clone(),
        candidates,
        effective_pflops,
        spend_usd,
        power_mw,
        warnings,
        // Over periods, the last period's services: the fleet as the plan leaves it (each
        // period's are under `periods[].services`).
        services: if over_periods {
            periods
                .last()
                .map(|p| p.services.clone())
                .unwrap_or_default()
        } else {
            crate::services::reports(
                scenario,
                &p,
                &attached,
                &sol.nodes,
                &shortfalls,
                &serving_params,
            )
        },
        periods,
    })
}

fn pflops(p: &Problem, nodes: &[u64]) -> f64 {
    p.items
        .iter()
        .zip(nodes)
        .map(|(it, &n)| it.pflops_per_node * n as f64)
        .sum()
}

fn musd(p: &Problem, nodes: &[u64]) -> f64 {
    p.items
        .iter()
        .zip(nodes)
        .map(|(it, &n)| it.node_cost_usd * n as f64)
        .sum::<f64>()
        / USD_SCALE
}

/// One objective's answer: the plan, its value and a proven bound in the objective's unit, the
/// proven relative gap between them, and how the solves ended.
struct Outcome {
    sol: Solved,
    value: f64,
    bound: f64,
    gap: f64,
    solves: u32,
}

impl Outcome {
    fn new(sol: Solved, value: f64, bound: f64, solves: u32, minimise: bool) -> Outcome {
        let short = if minimise {
            value - bound
        } else {
            bound - value
        };
        let gap = if short <= 1e-12 * value.abs().max(1.0) {
            0.0
        } else if value == 0.0 {
            f64::INFINITY
        } else {
            short / value.abs()
        };
        Outcome {
            sol,
            value,
            bound,
            gap,
            solves,
        }
    }

    /// Whether the proven gap is within `requested` itself (no allowance for floating point
    /// below 10⁻⁹, as [`Outcome::status`] makes): a bound that proves the base plan under a
    /// relaxation answers for a MILP only then.
    fn within(&self, requested: f64) -> bool {
        self.gap <= requested * (1.0 + 1e-9)
    }

    fn status(&self, requested: f64) -> SolveStatus {
        if self.gap <= 1e-9 {
            SolveStatus::Optimal
        } else if self.gap <= requested * (1.0 + 1e-9) {
            // Within the gap even where a part stopped at its time limit.
            SolveStatus::WithinGap
        } else {
            SolveStatus::TimeLimit
        }
    }
}

/// A max-compute plan over periods that stopped at its time limit, improved period by period
/// ([`crate::periods::improve_by_windows`], in its share of the time limit); the bound is the
/// full program's, unchanged, and so the proven gap can only shrink.
fn improve_over_periods(
    p: &Problem,
    lim: &Limits,
    objective: Objective,
    sopts: SolverOpts,
    began: std::time::Instant,
    base: Outcome,
) -> Outcome {
    if objective != Objective::MaxCompute || base.status(sopts.gap) != SolveStatus::TimeLimit {
        return base;
    }
    // What is left of the time limit since the search began, but at least a share of it (the
    // search's own rounding and sub-MILP may have used the rest).
    let budget_s = sopts
        .time_limit_s
        .map(|t| (t - began.elapsed().as_secs_f64()).max(t * crate::periods::WINDOWS_MIN_SHARE));
    let x = crate::periods::improve_by_windows(p, lim, &base.sol.nodes, sopts, budget_s);
    let v = pflops(p, &x);
    if v <= base.value {
        return base;
    }
    let sol = Solved {
        nodes: x,
        proof: base.sol.proof,
        bound: base.sol.bound,
    };
    Outcome::new(sol, v, base.bound.max(v), base.solves, false)
}

/// The least time limit a sensitivity re-solve's MILP gets, seconds: below it the search would
/// not get past its root, and the cut LP bound alone says as much. Measured against 0.5 s
/// (docs/benchmarks.md, fifth round): with the shared time short, more re-solves with a
/// quarter of a second each prove more and leave smaller gaps than fewer with half a second.
const RESOLVE_MIN_S: f64 = 0.25;

/// The sensitivity re-solves together get this many times the base solve's wall time, as the
/// issue's speed goal allows a plan with sensitivities ten times what HiGHS takes for the
/// plan...
const RESOLVE_TIMES: f64 = 10.0;

/// ...but at least this many seconds (the goal's own floor is 3 s for the whole plan; at most
/// the time limit). Measured (docs/benchmarks.md, fifth round): the 48 re-solves of the
/// 12-site issue-shaped plan take 21–25 CPU-seconds to be proven without a limit, far more than
/// the goal leaves, so a plan quick to solve answers in about this long and the re-solves that
/// stop at their share say their own gap.
const RESOLVE_FLOOR_S: f64 = 4.0;

/// The time the sensitivity re-solves share: ten times the base solve's wall time
/// ([`RESOLVE_TIMES`]), at least [`RESOLVE_FLOOR_S`], at most the base solve's time limit,
/// counted from when they start. Job `j` of `n_jobs` on `threads` threads gets its share of
/// what is left, at most the whole limit, and at least [`RESOLVE_MIN_S`] while that much is
/// left; once less is left no MILP runs and the re-solve reports the base plan under the
/// relaxed program's cut LP bound, with that gap.
struct ResolveBudget {
    deadline: Option<std::time::Instant>,
    limit_s: f64,
    threads: usize,
    n_jobs: usize,
}

impl ResolveBudget {
    /// `base_s`: the seconds the base solve took.
    fn new(time_limit_s: Option<f64>, base_s: f64, threads: usize, n_jobs: usize) -> ResolveBudget {
        let shared_s = time_limit_s.map(|t| t.min((RESOLVE_TIMES * base_s).max(RESOLVE_FLOOR_S)));
        ResolveBudget {
            deadline: crate::periods::deadline(shared_s),
            limit_s: time_limit_s.unwrap_or(f64::INFINITY),
            threads,
            n_jobs,
        }
    }

    /// The solver options job `j`'s MILP runs under, or `None` when the budget is spent.
    fn opts(&self, sopts: SolverOpts, j: usize) -> Option<SolverOpts> {
        let Some(deadline) = self.deadline else {
            return Some(sopts);
        };
        let left_s = deadline
            .saturating_duration_since(std::time::Instant::now())
            .as_secs_f64();
        let jobs_left = self.n_jobs.saturating_sub(j).max(1);
        // An even share of what is left, but at least RESOLVE_MIN_S while that much is left: an
        // even share of many re-solves would starve the first ones of a MILP, though most end
        // long before their share (what they leave goes to the later ones).
        let share_s = (left_s * self.threads as f64 / jobs_left as f64)
            .max(RESOLVE_MIN_S.min(left_s))
            .min(self.limit_s);
        (share_s >= RESOLVE_MIN_S).then_some(SolverOpts {
            time_limit_s: Some(share_s),
            ..sopts
        })
    }
}

/// The sensitivity re-solve under `relaxed`, from the base plan. When the relaxed program's LP
/// bound is already within the requested gap of the base plan's value, the base plan is proven
/// good enough under the relaxation and no MILP runs (the constraint's dual is zero, or too small
/// to matter at the gap); compute-per-dollar always re-solves. `milp` is what the MILP may
/// use; `None` (the shared budget is spent) keeps the base plan under the LP bound, with the
/// gap between them (compute-per-dollar, which has no such bound, then reports an error that
/// becomes a warning).
fn resensitise(
    p: &Problem,
    relaxed: &Limits,
    objective: Objective,
    sopts: SolverOpts,
    milp: Option<SolverOpts>,
    base: &Outcome,
    opts: &PlanOptions,
) -> Result<Option<Outcome>, PlanError> {
    // Candidates left out because the base limits were too small for one node may fit under
    // the relaxed ones: they join the re-solve (with no node in the base plan).
    let extended = p.with_latent(relaxed);
    let start: Vec<u64>;
    let (p, relaxed, start) = match &extended {
        Some((q, l)) => {
            start = base
                .sol
                .nodes
                .iter()
                .copied()
                .chain(std::iter::repeat(0))
                .take(q.items.len())
                .collect();
            (q, l, start.as_slice())
        }
        None => (p, relaxed, base.sol.nodes.as_slice()),
    };
    let goal = match objective {
        Objective::MaxCompute => Some((Goal::MaxCompute, 1.0, false)),
        Objective::MinCost => Some((Goal::MinCost, USD_SCALE, true)),
        Objective::ComputePerDollar => None,
    };
    if let Some((goal, scale, minimise)) = goal {
        if let Some(lp) = model::cut_bound(p, relaxed, goal, sopts)? {
            let bound = if minimise {
                (lp * scale).min(base.value)
            } else {
                (lp * scale).max(base.value)
            };
            let kept = Solved {
                nodes: start.to_vec(),
                proof: Proof::WithinGap,
                bound: lp,
            };
            let o = Outcome::new(kept, base.value, bound, 0, minimise);
            if o.within(opts.mip_gap) || milp.is_none() {
                return Ok(Some(o));
            }
        }
    }
    match milp {
        Some(sopts) => optimise(p, relaxed, objective, sopts, Some(start)),
        None => Err(PlanError::Solver(
            "the sensitivities' shared time was spent before this re-solve".into(),
        )),
    }
}

/// `f(0..n)` on `threads` threads, each taking the next index when it finishes one, under the
/// caller's cancellation flag; the answers in index order.
fn pool<T: Send>(
    threads: usize,
    cancel: &Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    n: usize,
    f: impl Fn(usize) -> T + Sync,
) -> Vec<T> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut done: Vec<(usize, T)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads.min(n).max(1))
            .map(|_| {
                let (next, f) = (&next, &f);
                let cancel = cancel.clone();
                scope.spawn(move || {
                    xpufleet_model::cancel::within(cancel, || {
                        let mut done = Vec::new();
                        loop {
                            let j = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            if j >= n {
                                break;
                            }
                            done.push((j, f(j)));
                        }
                        done
                    })
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    done.sort_by_key(|(j, _)| *j);
    done.into_iter().map(|(_, t)| t).collect()
}

/// Solves for `objective` under `lim`; `None` when no plan satisfies the constraints. `start`,
/// when feasible, is a plan the answer is never worse than.
fn optimise(
    p: &Problem,
    lim: &Limits,
    objective: Objective,
    opts: SolverOpts,
    start: Option<&[u64]>,
) -> Result<Option<Outcome>, PlanError> {
    match objective {
        Objective::MaxCompute => Ok(model::solve(p, lim, Goal::MaxCompute, opts, start)?.map(
            |s| {
                let v = pflops(p, &s.nodes);
                let b = s.bound.max(v);
                Outcome::new(s, v, b, 1, false)
            },
        )),
        Objective::MinCost => Ok(model::solve(p, lim, Goal::MinCost, opts, start)?.map(|s| {
            let v = musd(p, &s.nodes) * USD_SCALE;
            let b = (s.bound * USD_SCALE).min(v);
            Outcome::new(s, v, b, 1, true)
        })),
        Objective::ComputePerDollar => dinkelbach(p, lim, opts, start),
    }
}

/// Maximises PFLOPS / MUSD over plans of at least one node by Dinkelbach's method: with
/// λ = N(x)/D(x) of the current plan, solve max N − λD; a positive optimum gives a plan with a
/// better ratio, a bound B ≤ 0 proves λ optimal. Every step is solved to the gap measured
/// against λ × the cheapest node, so the ratio is proven within the gap: no plan beats
/// λ + B / D_min, and no plan beats the best single candidate's ratio either. A last MILP then
/// takes the most PFLOPS among plans at that ratio, so the answer is the biggest plan with the
/// best compute per dollar rather than a single node.
fn dinkelbach(
    p: &Problem,
    lim: &Limits,
    opts: SolverOpts,
    start: Option<&[u64]>,
) -> Result<Option<Outcome>, PlanError> {
    let ratio = |nodes: &[u64]| {
        let d = musd(p, nodes);
        if d > 0.0 {
            pflops(p, nodes) / d
        } else {
            0.0
        }
    };
    let n = p.items.len();
    let feasible_rows = model::rows(p, lim, Goal::Parametric { lambda: 0.0 });
    let ubs = model::upper_bounds(p, lim);
    let feasible = |x: &[u64]| {
        x.iter().zip(&ubs).all(|(&k, &u)| k as f64 <= u)
            && feasible_rows.iter().all(|r| model::holds(r, x))
    };
    let item_ratio = |i: usize| p.items[i].pflops_per_node / (p.items[i].node_cost_usd / USD_SCALE);
    // Candidates that can have a node (a serving copy is a share of a candidate's nodes: it
    // costs nothing and lowers the PFLOPS, so it is no candidate here).
    let bought = |i: &usize| ubs[*i] >= 1.0 && p.items[*i].serve.is_none();
    // No plan's ratio beats its best candidate's: a ratio of sums is at most the largest ratio.
    let top = (0..n).filter(bought).map(item_ratio).fold(0.0, f64::max);
    let d_min = (0..n)
        .filter(bought)
        .map(|i| p.items[i].node_cost_usd / USD_SCALE)
        .fold(f64::INFINITY, f64::min);
    // A first plan: the start plan, or one node of the best candidate that fits alone.
    let mut best: Option<Vec<u64>> = start.filter(|s| feasible(s)).map(|s| s.to_vec());
    let mut order: Vec<usize> = (0..n).filter(bought).collect();
    order.sort_by(|&a, &b| item_ratio(b).total_cmp(&item_ratio(a)));
    for &i in &order {
        let mut x = vec![0u64; n];
        x[i] = 1;
        if feasible(&x) {
            if best.as_ref().is_none_or(|b| ratio(&x) > ratio(b)) {
                best = Some(x);
            }
            break;
        }
    }
    let mut solves = 0;
    let mut proof = Proof::Optimal;
    let mut best = match best {
        Some(b) => b,
        None => {
            let Some(s) = model::solve(p, lim, Goal::Parametric { lambda: 0.0 }, opts, None)?
            else {
                return Ok(None);
            };
            solves += 1;
            proof = proof.max(s.proof);
            s.nodes
        }
    };
    let mut lambda = ratio(&best);
    let mut ub = top;
    for _ in 0..60 {
        if lambda >= top * (1.0 - 1e-12) {
            break;
        }
        let Some(next) = model::solve(p, lim, Goal::Parametric { lambda }, opts, Some(&best))?
        else {
            break;
        };
        solves += 1;
        proof = proof.max(next.proof);
        ub = ub.min(lambda + next.bound.max(0.0) / d_min);
        let gain = pflops(p, &next.nodes) - lambda * musd(p, &next.nodes);
        if gain <= 1e-12 * lambda.max(1.0) * musd(p, &next.nodes).max(1.0) {
            break;
        }
        lambda = ratio(&next.nodes);
        best = next.nodes;
    }
    ub = ub.max(lambda);
    // A hair below λ so that the plan found above satisfies the floor despite rounding.
    let floor = lambda * (1.0 - 1e-9);
    let big_opts = SolverOpts { ..opts };
    if let Some(big) = model::solve(
        p,
        lim,
        Goal::RatioFloor { lambda: floor },
        big_opts,
        Some(&best),
    )? {
        solves += 1;
        proof = proof.max(big.proof);
        if ratio(&big.nodes) >= floor {
            best = big.nodes;
        }
    }
    let v = ratio(&best);
    let sol = Solved {
        nodes: best,
        proof,
        bound: ub,
    };
    Ok(Some(Outcome::new(sol, v, ub.max(v), solves, false)))
}

/// Every candidate of the scenario, in its order, with its coefficients.
fn candidate_coefs(scenario: &Scenario, p: &Problem, lim: &Limits) -> Vec<CandidateCoefs> {
    let ubs = model::upper_bounds(p, lim);
    scenario
        .candidates
        .iter()
        .map(|c| match p.items.iter().position(|it| it.id == c.id) {
            Some(i) => {
                let it = &p.items[i];
                CandidateCoefs {
                    id: c.id.clone(),
                    mfu: Some(it.mfu),
                    effective_pflops_per_node: Some(it.pflops_per_node),
                    price_per_node: Some(it.node_cost),
                    spend_usd_per_node: Some(it.node_cost_usd),
                    power_w_per_node: Some(it.node_power_w),
                    bound_nodes: ubs[i] as u64,
                    excluded: false,
                    currency: Some(p.envelopes[it.envelope].currency.to_string()),
                }
            }
            None => CandidateCoefs {
                id: c.id.clone(),
                mfu: None,
                effective_pflops_per_node: None,
                price_per_node: None,
                spend_usd_per_node: None,
                power_w_per_node: None,
                bound_nodes: 0,
                excluded: true,
                currency: None,
            },
        })
        .collect()
}

/// Names an irreducible set of constraint groups in conflict by a deletion filter: drop each
/// group in turn; if the rest is still infeasible the group is not needed for the conflict and
/// stays dropped, otherwise it is part of it.
fn infeasible(p: &Problem, full: &Limits, objective: Objective, opts: SolverOpts) -> PlanError {
    let mut lim = full.clone();
    let mut groups: Vec<Group> = Vec::new();
    groups.extend(
        (0..p.items.len())
            .filter(|&i| lim.max_nodes[i].is_some())
            .map(Group::MaxNodes),
    );
    groups.extend(
        (0..p.sites.len())
            .filter(|&s| lim.power_w[s].is_some())
            .map(Group::Power),
    );
    groups.extend((0..p.caps.len()).map(Group::Cap));
    groups.extend((0..p.mixes.len()).map(Group::Mix));
    groups.extend((0..p.envelopes.len()).map(Group::Budget));
    groups.extend((0..p.extra.len()).map(Group::Extra));
    groups.extend((0..p.licences.len()).map(Group::Licence));
    let present: Vec<Option<Group>> = model::rows(p, &lim, Goal::Feasibility)
        .iter()
        .map(|r| r.group)
        .collect();
    groups.retain(|g| matches!(g, Group::MaxNodes(_)) || present.contains(&Some(*g)));
    // Compute-per-dollar without a target is infeasible only when nothing at all can be
    // bought; its "at least one node" row is then the conflict with the exclusions.
    // Services go first, so the conflict names as few of them as it can, with what they
    // conflict with.
    let mut groups: Vec<Group> = (0..p.service_rows.len())
        .filter(|&r| lim.service_per_s[r].is_some())
        .map(Group::Service)
        .chain(groups)
        .collect();
    groups.dedup();
    let goal = Goal::Feasibility;
    let mut conflict = Vec::new();
    for g in groups {
        let trial = dropped(&lim, g);
        match model::solve(p, &trial, goal, opts, None) {
            Ok(None) => lim = trial,
            _ => conflict.push(group_id(p, g)),
        }
    }
    if full.target_pflops.is_some() {
        conflict.push("target".into());
    } else if objective == Objective::ComputePerDollar {
        conflict.push("at-least-one-node (no candidate can be bought)".into());
    }
    let max_pflops = full.target_pflops.and_then(|_| {
        let mut no_target = full.clone();
        no_target.target_pflops = None;
        model::solve(p, &no_target, Goal::MaxCompute, opts, None)
            .ok()
            .flatten()
            .map(|s| pflops(p, &s.nodes))
    });
    PlanError::Infeasible {
        conflict,
        max_pflops,
        target_pflops: full.target_pflops,
        excluded: p.excluded.clone(),
    }
}

fn dropped(lim: &Limits, g: Group) -> Limits {
    let mut l = lim.clone();
    match g {
        Group::Budget(e) => l.budget[e] = None,
        Group::Mix(m) => l.mix_share[m] = None,
        Group::Cap(k) => l.cap_accels[k] = None,
        Group::Power(s) => l.power_w[s] = None,
        Group::MaxNodes(i) => l.max_nodes[i] = None,
        Group::Target => l.target_pflops = None,
        Group::Service(r) => l.service_per_s[r] = None,
        Group::Extra(k) => l.extra[k] = None,
        Group::Licence(k) => l.licence[k] = None,
    }
    l
}

fn group_id(p: &Problem, g: Group) -> String {
    match g {
        Group::Budget(e) => format!("budget:{}", p.envelopes[e].id),
        Group::Mix(m) => format!("mix:{}", p.mixes[m].id),
        Group::Cap(k) => format!("supply:{}", p.caps[k].id),
        Group::Power(s) => format!("power:{}", p.sites[s].id),
        Group::MaxNodes(i) => format!("max_nodes:{}", p.items[i].id),
        Group::Target => "target".into(),
        Group::Service(r) => format!("service:{}", p.service_rows[r].id),
        Group::Extra(k) => p.extra[k].id.clone(),
        Group::Licence(k) => p.licences[k].id.clone(),
    }
}

fn constraint_reports(
    p: &Problem,
    lim: &Limits,
    rows: &[Row],
    nodes: &[u64],
) -> Vec<ConstraintReport> {
    let mut out = Vec::new();
    for r in rows {
        let Some(g) = r.group else { continue };
        // Binding: the slack is smaller than the smallest change one node makes, so not one
        // more node of anything in the row fits.
        let binding = r.slack(nodes) < r.min_step() * (1.0 - 1e-9);
        let (kind, value, limit, sense, unit) = match g {
            Group::Budget(e) => (
                ConstraintKind::Budget,
                r.lhs(nodes),
                r.limit(),
                "≤",
                p.envelopes[e].currency.to_string(),
            ),
            Group::Mix(m) => {
                // Report the share itself rather than the linearised row.
                let mix = &p.mixes[m];
                let (mut dom, mut tot) = (0.0, 0.0);
                for (i, it) in p.items.iter().enumerate() {
                    if it.envelope != mix.envelope {
                        continue;
                    }
                    let w = match mix.basis {
                        MixBasis::Spend => it.node_cost,
                        MixBasis::Units => it.accels_per_node as f64,
                    } * nodes[i] as f64;
                    tot += w;
                    if it.vendor_country == mix.domestic_country {
                        dom += w;
                    }
                }
                let share = if tot > 0.0 { dom / tot } else { 1.0 };
                let unit = match mix.basis {
                    MixBasis::Spend => "share of spend",
                    MixBasis::Units => "share of units",
                };
                (
                    ConstraintKind::SupplierMix,
                    share,
                    lim.mix_share[m].unwrap_or(0.0),
                    "≥",
                    unit.to_string(),
                )
            }
            Group::Cap(_) => (
                ConstraintKind::Supply,
                r.lhs(nodes),
                r.limit(),
                "≤",
                "accelerators".to_string(),
            ),
            Group::Power(s) => {
                let existing = p.sites[s].existing_w.clone().unwrap_or(0.0);
                (
                    ConstraintKind::Power,
                    (existing + r.lhs(nodes)) / 1e6,
                    p.sites[s].limit_w / 1e6,
                    "≤",
                    "MW".to_string(),
                )
            }
            Group::Target => (
                ConstraintKind::Target,
                r.lhs(nodes),
                r.limit(),
                "≥",
                "effective PFLOPS".to_string(),
            ),
            Group::Service(_) => (
                ConstraintKind::Service,
                r.lhs(nodes),
                r.limit(),
                "≥",
                "output tokens/s".to_string(),
            ),
            Group::Extra(k) => {
                let x = &p.extra[k];
                match x.kind {
                    ExtraKind::Budget => (
                        ConstraintKind::Budget,
                        r.lhs(nodes),
                        r.limit(),
                        "≤",
                        x.unit.clone(),
                    ),
                    ExtraKind::Power => (
                        ConstraintKind::Power,
                        (x.offset + r.lhs(nodes)) / 1e6,
                        (x.offset + r.limit()) / 1e6,
                        "≤",
                        x.unit.clone(),
                    ),
                    ExtraKind::Target => (
                        ConstraintKind::Target,
                        r.lhs(nodes),
                        r.limit(),
                        "≥",
                        x.unit.clone(),
                    ),
                    ExtraKind::Service => (
                        ConstraintKind::Service,
                        r.lhs(nodes),
                        r.limit(),
                        "≥",
                        x.unit.clone(),
                    ),
                    ExtraKind::MaxNodes => (
                        ConstraintKind::MaxNodes,
                        r.lhs(nodes),
                        r.limit(),
                        "≤",
                        x.unit.clone(),
                    ),
                }
            }
            // Shown as the licence's whole use: the pools' draw (at most the licence: an
            // over-drawn licence has nothing left, and is not shown broken by the plan) and the
            // plan's.
            Group::Licence(k) => {
                let x = &p.licences[k];
                let pools = x.drawn.min(x.allowed);
                (
                    ConstraintKind::Licence,
                    pools + r.lhs(nodes),
                    pools + r.limit(),
                    "≤",
                    x.unit.clone(),
                )
            }
            Group::MaxNodes(_) => unreachable!("max_nodes are bounds, not rows"),
        };
        out.push(ConstraintReport {
            id: group_id(p, g),
            kind,
            binding,
            value,
            limit,
            sense: sense.into(),
            unit,
            relaxation: None,
        });
    }
    for (i, it) in p.items.iter().enumerate() {
        if let Some(m) = it.max_nodes {
            // The candidate's nodes (its serving copies are shares of them).
            let n = nodes[i];
            out.push(ConstraintReport {
                id: group_id(p, Group::MaxNodes(i)),
                kind: ConstraintKind::MaxNodes,
                binding: n >= m,
                value: n as f64,
                limit: m as f64,
                sense: "≤".into(),
                unit: "nodes".into(),
                relaxation: None,
            });
        }
    }
    out
}

/// A warning for each licence the plan brings to `LICENCE_ALERT_SHARE` (80%) of its quantity or
/// value or more, counting the pools under it: apply for more before the plan is carried out.
fn licence_alerts(p: &Problem, nodes: &[u64]) -> Vec<String> {
    let mut out = Vec::new();
    for (k, x) in p.licences.iter().enumerate() {
        let planned: f64 = p
            .items
            .iter()
            .zip(nodes)
            .flat_map(|(it, &n)| {
                it.licences
                    .iter()
                    .filter(move |&&(r, _)| r == k)
                    .map(move |&(_, a)| a * n as f64)
            })
            .sum();
        if planned <= 0.0 || x.allowed <= 0.0 {
            continue;
        }
        let used = x.drawn.min(x.allowed) + planned;
        let share = used / x.allowed;
        if share >= xpufleet_comply::LICENCE_ALERT_SHARE {
            let fmt = |v: f64| {
                if x.unit == "accelerators" {
                    format!("{v:.0}")
                } else {
                    xpufleet_model::Money::new(v, x.unit.as_str()).to_string()
                }
            };
            out.push(format!(
                "{}: the pools and this plan use {:.0}% of it ({} of {} {}): apply for more before planning beyond it",
                x.id,
                share * 100.0,
                fmt(used),
                fmt(x.allowed),
                if x.unit == "accelerators" { "accelerators" } else { "in value" },
            ));
        }
    }
    out
}

/// The limits with constraint `id` relaxed by one stated step, and the step in words.
fn relax(p: &Problem, lim: &Limits, id: &str, opts: &PlanOptions) -> (Option<Limits>, String) {
    let mut l = lim.clone();
    let step = opts.relax_step;
    let pct = step * 100.0;
    // The rows of a plan over periods come first: a period's power row shares its id with the
    // site's arrival bound.
    if let Some(k) = p.extra.iter().position(|x| x.id == id) {
        let x = &p.extra[k];
        let v = lim.extra[k].unwrap_or(x.limit);
        return match x.kind {
            ExtraKind::Budget => {
                l.extra[k] = Some(v * (1.0 + step));
                let added = crate::periods::money(v * step, &x.unit);
                (Some(l), format!("budget +{pct:.0}% (+{added})"))
            }
            ExtraKind::Power => {
                let add_w = x.scale * step;
                l.extra[k] = Some(v + add_w);
                (
                    Some(l),
                    format!("site power +{pct:.0}% (+{:.1} MW)", add_w / 1e6),
                )
            }
            ExtraKind::Target => {
                l.extra[k] = Some(v * (1.0 - step));
                (
                    Some(l),
                    format!("target -{pct:.0}% (-{:.1} PFLOPS)", v * step),
                )
            }
            ExtraKind::Service => {
                // Both phases of a split service are one demand: they move together.
                let base = x.id.trim_end_matches("/prefill");
                for (j, y) in p.extra.iter().enumerate() {
                    if y.kind == ExtraKind::Service && y.id.trim_end_matches("/prefill") == base {
                        l.extra[j] = lim.extra[j].map(|w| w * (1.0 - step));
                    }
                }
                (
                    Some(l),
                    format!("demand -{pct:.0}% (-{:.0} output tokens/s)", v * step),
                )
            }
            ExtraKind::MaxNodes => {
                let add = (v * step).ceil().max(1.0);
                l.extra[k] = Some(v + add);
                (Some(l), format!("max_nodes +{add:.0}"))
            }
        };
    }
    if let Some(e) = p
        .envelopes
        .iter()
        .position(|e| format!("budget:{}", e.id) == id)
    {
        let b = lim.budget[e].unwrap_or(0.0);
        l.budget[e] = Some(b * (1.0 + step));
        let added = xpufleet_model::Money::new(b * step, p.envelopes[e].currency.clone());
        return (Some(l), format!("budget +{pct:.0}% (+{added})"));
    }
    if let Some(m) = p.mixes.iter().position(|m| format!("mix:{}", m.id) == id) {
        let s = lim.mix_share[m].unwrap_or(0.0);
        let new = (s - opts.mix_step).max(0.0);
        l.mix_share[m] = Some(new);
        return (
            Some(l),
            format!("min_share {:.0}% -> {:.0}%", s * 100.0, new * 100.0),
        );
    }
    if let Some(k) = p.caps.iter().position(|c| format!("supply:{}", c.id) == id) {
        let c = lim.cap_accels[k].unwrap_or(0.0);
        let add = (c * step).ceil().max(1.0);
        l.cap_accels[k] = Some(c + add);
        return (Some(l), format!("cap +{pct:.0}% (+{add} accelerators)"));
    }
    if let Some(k) = p.licences.iter().position(|x| x.id == id) {
        let x = &p.licences[k];
        let left = lim.licence[k].unwrap_or(0.0);
        let add = if x.unit == "accelerators" {
            (x.allowed * step).ceil().max(1.0)
        } else {
            x.allowed * step
        };
        l.licence[k] = Some(left + add);
        let added = if x.unit == "accelerators" {
            format!("+{add} accelerators")
        } else {
            format!("+{}", xpufleet_model::Money::new(add, x.unit.as_str()))
        };
        return (Some(l), format!("licence +{pct:.0}% ({added})"));
    }
    if let Some(s) = p.sites.iter().position(|s| format!("power:{}", s.id) == id) {
        let add_w = p.sites[s].limit_w * step;
        l.power_w[s] = lim.power_w[s].map(|h| h + add_w);
        return (
            Some(l),
            format!("site power +{pct:.0}% (+{:.1} MW)", add_w / 1e6),
        );
    }
    if let Some(i) = p
        .items
        .iter()
        .position(|it| format!("max_nodes:{}", it.id) == id)
    {
        let m = lim.max_nodes[i].unwrap_or(0.0);
        let add = (m * step).ceil().max(1.0);
        l.max_nodes[i] = Some(m + add);
        return (Some(l), format!("max_nodes +{pct:.0}% (+{add} nodes)"));
    }
    if let Some(r) = p
        .service_rows
        .iter()
        .position(|r| format!("service:{}", r.id) == id)
    {
        let need = lim.service_per_s[r].unwrap_or(0.0);
        l.service_per_s[r] = Some(need * (1.0 - step));
        return (
            Some(l),
            format!("demand -{pct:.0}% (-{:.0} output tokens/s)", need * step),
        );
    }
    if id == "target" {
        let t = lim.target_pflops.unwrap_or(0.0);
        l.target_pflops = Some(t * (1.0 - step));
        return (
            Some(l),
            format!("target -{pct:.0}% (-{:.1} PFLOPS)", t * step),
        );
    }
    (None, String::new())
}

pub(crate) fn lines(p: &Problem, nodes: &[u64]) -> Vec<PlanLine> {
    // A candidate's serving copies are shares of its line's nodes, in millionths of a node;
    // the services they serve are named by their rows (a request bucket's row counts for its
    // service).
    let mut serving = vec![0u64; p.items.len()];
    let mut served: Vec<Vec<usize>> = vec![Vec::new(); p.items.len()];
    for (k, c, units) in crate::services::shares(p, nodes) {
        let Some(s) = p.items[k].serve else { continue };
        serving[c] += units;
        let service = p.service_rows[s.row].service;
        if !served[c].contains(&service) {
            served[c].push(service);
        }
    }
    let service_id = |k: usize| {
        p.service_rows
            .iter()
            .find(|r| r.service == k)
            .map(|r| r.id.split('#').next().unwrap_or_default().to_string())
            .unwrap_or_default()
    };
    p.items
        .iter()
        .zip(nodes)
        .enumerate()
        .filter(|(_, (it, _))| it.serve.is_none())
        .map(|(i, (it, &n))| {
            // Serving nodes are reported rounded up to whole nodes; training gets the exact
            // rest, so the line's PFLOPS are those the program counted.
            let units = crate::services::SERVE_UNITS;
            let serving_nodes = serving[i].div_ceil(units).min(n);
            let training = n as f64 - serving[i] as f64 / units as f64;
            (i, it, n, training.max(0.0), serving_nodes)
        })
        .filter(|&(_, _, n, _, _)| n > 0)
        .map(|(i, it, n, training, serving_nodes)| {
            let mut services = served[i].clone();
            services.sort_unstable();
            let env = &p.envelopes[it.envelope];
            let site = &p.sites[it.site];
            PlanLine {
                candidate: it.id.clone(),
                accelerator: it.accelerator.clone(),
                vendor: it.vendor.clone(),
                vendor_country: it.vendor_country.clone(),
                site: site.id.clone(),
                country: site.country.clone(),
                mode: it.mode,
                nodes: n,
                units: n * it.accels_per_node,
                chips: n * it.chips_per_node,
                spend: it.node_cost * n as f64,
                currency: env.currency.to_string(),
                spend_usd: it.node_cost_usd * n as f64,
                envelope: env.id.clone(),
                power_mw: it.node_power_w * n as f64 / 1e6,
                mfu: it.mfu,
                effective_pflops: it.pflops_per_node * training,
                serving_nodes,
                line_use: LineUse::of(n, serving_nodes),
                services: services.into_iter().map(service_id).collect(),
                period: None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sopts(time_limit_s: Option<f64>) -> SolverOpts {
        SolverOpts {
            gap: 1e-4,
            time_limit_s,
            solver: Solver::Microlp,
        }
    }

    /// The sensitivity re-solves' shared time: each job gets its share of what is left, never
    /// more than one solve's limit, and none once it is too little for a MILP.
    #[test]
    fn resolve_budget_shares_one_time_limit() {
        let b = ResolveBudget::new(Some(10.0), 1.0, 2, 4);
        let t = b.opts(sopts(Some(10.0)), 0).unwrap().time_limit_s.unwrap();
        assert!((4.5..=5.0).contains(&t), "{t}");
        // The last job alone may use what is left, up to one solve's limit.
        let t = b.opts(sopts(Some(10.0)), 3).unwrap().time_limit_s.unwrap();
        assert!((9.5..=10.0).contains(&t), "{t}");
        // A hundred re-solves of a two-second budget: the first get the least a MILP is given
        // (while that much is left); once it is spent, the LP bound answers.
        let b = ResolveBudget::new(Some(2.0), 1.0, 2, 100);
        let t = b.opts(sopts(Some(2.0)), 0).unwrap().time_limit_s.unwrap();
        assert_eq!(t, RESOLVE_MIN_S);
        let b = ResolveBudget::new(Some(0.2), 1.0, 2, 100);
        assert!(b.opts(sopts(Some(0.2)), 0).is_none());
        // No time limit: no budget either.
        let b = ResolveBudget::new(None, 1.0, 2, 100);
        assert_eq!(b.opts(sopts(None), 0).unwrap().time_limit_s, None);
    }

    /// A base solve of a tenth of a second leaves the re-solves the floor (4 s), not the
    /// 10-s limit: job 0 of 4 on two threads gets half of it; a base solve of 0.6 s leaves
    /// them ten times that.
    #[test]
    fn resolve_budget_is_ten_times_the_base_solve_at_least_the_floor() {
        let b = ResolveBudget::new(Some(10.0), 0.1, 2, 4);
        let t = b.opts(sopts(Some(10.0)), 0).unwrap().time_limit_s.unwrap();
        assert!(
            (RESOLVE_FLOOR_S / 2.0 - 0.1..=RESOLVE_FLOOR_S / 2.0).contains(&t),
            "{t}"
        );
        let b = ResolveBudget::new(Some(10.0), 0.6, 2, 4);
        let t = b.opts(sopts(Some(10.0)), 0).unwrap().time_limit_s.unwrap();
        assert!((2.9..=3.0).contains(&t), "{t}");
    }
}
