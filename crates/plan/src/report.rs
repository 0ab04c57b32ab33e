//! `plan()`: prepare, solve for the chosen objective, then report lines, envelopes, mix shares,
//! which constraints bind and what relaxing each one would buy.

use serde::{Deserialize, Serialize};
use xpufleet_comply::Gate;
use xpufleet_model::{CandidateMode, Catalog, Date, MixBasis, Scenario};

use crate::model::{self, Goal, Group, Limits, Proof, Row, Solved, SolverOpts, USD_SCALE};
pub use crate::prepare::Excluded;
use crate::prepare::{prepare, Problem};
use crate::{Objective, PlanError};

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
    /// Relative MIP gap at which branch-and-bound may stop (the answer is still integer and
    /// feasible; `Plan::status` says whether optimality was proven). Large programs use at least
    /// the value of one node over the LP bound: see docs/planning.md.
    pub mip_gap: f32,
    /// Seconds one MILP may run before its best integer plan is taken (the one place the
    /// planner looks at a clock; `None` waits for the proof).
    pub time_limit_s: Option<f64>,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            date: None,
            objective: None,
            target_pflops: None,
            sensitivity: true,
            relax_step: 0.10,
            mix_step: 0.05,
            mip_gap: 0.0,
            time_limit_s: Some(10.0),
        }
    }
}

/// Whether the answer is proven optimal.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum SolveStatus {
    Optimal,
    /// Branch-and-bound stopped within this relative gap of the best bound: the objective is at
    /// most `at_most_below` (in its unit) worse than the optimum (`None` for
    /// compute-per-dollar, where the gap applies to each Dinkelbach step).
    WithinGap {
        gap: f64,
        at_most_below: Option<f64>,
    },
    /// A MILP hit the time limit: the plan is integer and feasible, its optimality unproven.
    TimeLimit {
        seconds: f64,
    },
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
    pub effective_pflops: f64,
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
}

/// What relaxing one binding constraint by a stated step does to the objective.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Relaxation {
    /// The step, in words ("budget +10% (+4.00B CNY)").
    pub step: String,
    /// Objective after re-solving with the relaxed bound; `None` if the re-solve failed.
    pub objective: Option<f64>,
    /// Change of the objective (in its unit); for min-cost a saving is negative.
    pub objective_delta: Option<f64>,
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
    pub status: SolveStatus,
    pub lines: Vec<PlanLine>,
    pub envelopes: Vec<EnvelopeUse>,
    pub supplier_mix: Vec<MixShare>,
    pub constraints: Vec<ConstraintReport>,
    pub excluded: Vec<Excluded>,
    pub effective_pflops: f64,
    pub spend_usd: f64,
    pub power_mw: f64,
    pub warnings: Vec<String>,
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
    if objective == Objective::MinCost && target.is_none() {
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
    let p = prepare(scenario, catalog, gate, perf, date)?;
    let sopts = SolverOpts {
        mip_gap: opts.mip_gap,
        time_limit_s: opts.time_limit_s,
    };
    let lim = Limits::of(&p, target);
    let Some((sol, value, solves)) = optimise(&p, &lim, objective, sopts)? else {
        return Err(infeasible(&p, &lim, objective, sopts));
    };
    let mut warnings = p.warnings.clone();
    let rows = model::rows(&p, &lim, Goal::Feasibility);
    let mut constraints = constraint_reports(&p, &lim, &rows, &sol.nodes);
    if opts.sensitivity {
        for c in constraints.iter_mut().filter(|c| c.binding) {
            let (relaxed, step) = relax(&p, &lim, &c.id, opts);
            let Some(relaxed) = relaxed else { continue };
            let r = optimise(&p, &relaxed, objective, sopts);
            let new = match r {
                Ok(Some((_, v, _))) => Some(v),
                Ok(None) => None,
                Err(e) => {
                    warnings.push(format!("re-solving with {} relaxed failed: {e}", c.id));
                    None
                }
            };
            c.relaxation = Some(Relaxation {
                step,
                objective: new,
                objective_delta: new.map(|n| n - value),
            });
        }
    }
    let status = match sol.proof {
        Proof::Optimal => SolveStatus::Optimal,
        // For compute-per-dollar the gap bounds each step's MILP, not the ratio itself.
        Proof::WithinGap => SolveStatus::WithinGap {
            gap: sol.gap,
            at_most_below: (objective != Objective::ComputePerDollar)
                .then(|| sol.gap * value.abs()),
        },
        Proof::TimeLimit => SolveStatus::TimeLimit {
            seconds: opts.time_limit_s.unwrap_or(0.0),
        },
    };
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
    let effective_pflops = lines.iter().map(|l| l.effective_pflops).sum();
    let spend_usd = lines.iter().map(|l| l.spend_usd).sum();
    let power_mw = lines.iter().map(|l| l.power_mw).sum();
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
        lines,
        envelopes,
        supplier_mix,
        constraints,
        excluded: p.excluded.clone(),
        effective_pflops,
        spend_usd,
        power_mw,
        warnings,
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

/// Solves for `objective` under `lim`: the solution, the objective's value and the number of
/// MILPs solved. `None` when no plan satisfies the constraints.
fn optimise(
    p: &Problem,
    lim: &Limits,
    objective: Objective,
    opts: SolverOpts,
) -> Result<Option<(Solved, f64, u32)>, PlanError> {
    match objective {
        Objective::MaxCompute => Ok(model::solve(p, lim, Goal::MaxCompute, opts)?.map(|s| {
            let v = pflops(p, &s.nodes);
            (s, v, 1)
        })),
        Objective::MinCost => Ok(model::solve(p, lim, Goal::MinCost, opts)?.map(|s| {
            let v = musd(p, &s.nodes) * USD_SCALE;
            (s, v, 1)
        })),
        Objective::ComputePerDollar => dinkelbach(p, lim, opts),
    }
}

/// Maximises PFLOPS / MUSD over plans of at least one node by Dinkelbach's method: with
/// λ = N(x)/D(x) of the current plan, solve max N − λD; a positive optimum gives a plan with a
/// better ratio, zero proves λ optimal. Every step is an exact MILP, so the ratio is the integer
/// optimum. A last MILP then takes the most PFLOPS among plans at that ratio, so the answer is
/// the biggest plan with the best compute per dollar rather than a single node.
fn dinkelbach(
    p: &Problem,
    lim: &Limits,
    opts: SolverOpts,
) -> Result<Option<(Solved, f64, u32)>, PlanError> {
    let ratio = |s: &Solved| {
        let d = musd(p, &s.nodes);
        if d > 0.0 {
            pflops(p, &s.nodes) / d
        } else {
            0.0
        }
    };
    let Some(mut best) = model::solve(p, lim, Goal::Parametric { lambda: 0.0 }, opts)? else {
        return Ok(None);
    };
    let mut solves = 1;
    let mut proof = best.proof;
    let mut gap = best.gap;
    let mut lambda = ratio(&best);
    for _ in 0..60 {
        let Some(next) = model::solve(p, lim, Goal::Parametric { lambda }, opts)? else {
            break;
        };
        solves += 1;
        proof = proof.max(next.proof);
        let gain = pflops(p, &next.nodes) - lambda * musd(p, &next.nodes);
        if gain <= 1e-9 * lambda.max(1.0) * musd(p, &next.nodes).max(1.0) {
            break;
        }
        lambda = ratio(&next);
        best = next;
    }
    // A hair below λ so that the plan found above satisfies the floor despite rounding.
    let floor = lambda * (1.0 - 1e-9);
    if let Some(big) = model::solve(p, lim, Goal::RatioFloor { lambda: floor }, opts)? {
        solves += 1;
        proof = proof.max(big.proof);
        gap = gap.max(big.gap);
        if ratio(&big) >= floor {
            best = big;
        }
    }
    best.proof = proof;
    best.gap = gap;
    let v = ratio(&best);
    Ok(Some((best, v, solves)))
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
    let present: Vec<Option<Group>> = model::rows(p, &lim, Goal::Feasibility)
        .iter()
        .map(|r| r.group)
        .collect();
    groups.retain(|g| matches!(g, Group::MaxNodes(_)) || present.contains(&Some(*g)));
    // Compute-per-dollar without a target is infeasible only when nothing at all can be
    // bought; its "at least one node" row is then the conflict with the exclusions.
    let goal = Goal::Feasibility;
    let mut conflict = Vec::new();
    for g in groups {
        let trial = dropped(&lim, g);
        match model::solve(p, &trial, goal, opts) {
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
        model::solve(p, &no_target, Goal::MaxCompute, opts)
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
            out.push(ConstraintReport {
                id: group_id(p, Group::MaxNodes(i)),
                kind: ConstraintKind::MaxNodes,
                binding: nodes[i] >= m,
                value: nodes[i] as f64,
                limit: m as f64,
                sense: "≤".into(),
                unit: "nodes".into(),
                relaxation: None,
            });
        }
    }
    out
}

/// The limits with constraint `id` relaxed by one stated step, and the step in words.
fn relax(p: &Problem, lim: &Limits, id: &str, opts: &PlanOptions) -> (Option<Limits>, String) {
    let mut l = lim.clone();
    let step = opts.relax_step;
    let pct = step * 100.0;
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

fn lines(p: &Problem, nodes: &[u64]) -> Vec<PlanLine> {
    p.items
        .iter()
        .zip(nodes)
        .filter(|(_, &n)| n > 0)
        .map(|(it, &n)| {
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
                effective_pflops: it.pflops_per_node * n as f64,
            }
        })
        .collect()
}
