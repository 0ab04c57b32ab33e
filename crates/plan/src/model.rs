//! The mixed-integer program: limits, rows, variable bounds, and one solve through good_lp's
//! pure-Rust microlp branch-and-bound.

use good_lp::{
    microlp, variable, Expression, ProblemVariables, ResolutionError, Solution, SolutionStatus,
    SolverModel, Variable, WithInitialSolution, WithMipGap, WithTimeLimit,
};
use xpufleet_model::MixBasis;

use crate::prepare::Problem;
use crate::PlanError;

/// The right-hand sides of every constraint group. `None` drops the group: the infeasibility
/// analysis drops groups one at a time, and the sensitivity analysis scales one at a time.
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    /// Per envelope, in its currency.
    pub budget: Vec<Option<f64>>,
    /// Per supplier mix, 0..=1.
    pub mix_share: Vec<Option<f64>>,
    /// Per supply cap, accelerators.
    pub cap_accels: Vec<Option<f64>>,
    /// Per site, W of headroom over the existing pools.
    pub power_w: Vec<Option<f64>>,
    /// Per item.
    pub max_nodes: Vec<Option<f64>>,
    /// Effective PFLOPS to reach.
    pub target_pflops: Option<f64>,
}

impl Limits {
    pub fn of(p: &Problem, target_pflops: Option<f64>) -> Limits {
        Limits {
            budget: p.envelopes.iter().map(|e| Some(e.budget)).collect(),
            mix_share: p.mixes.iter().map(|m| Some(m.min_share)).collect(),
            cap_accels: p.caps.iter().map(|c| Some(c.max_accels)).collect(),
            power_w: p.sites.iter().map(|s| s.headroom_w()).collect(),
            max_nodes: p
                .items
                .iter()
                .map(|it| it.max_nodes.map(|n| n as f64))
                .collect(),
            target_pflops,
        }
    }
}

/// Which constraint group a row (or bound) comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Group {
    Budget(usize),
    Mix(usize),
    Cap(usize),
    Power(usize),
    MaxNodes(usize),
    Target,
}

/// What one solve optimises.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Goal {
    MaxCompute,
    /// Needs `Limits::target_pflops`.
    MinCost,
    /// Any plan at all (objective 0).
    Feasibility,
    /// Dinkelbach step: maximise PFLOPS − λ · MUSD over plans of at least one node.
    Parametric {
        lambda: f64,
    },
    /// Final Dinkelbach step: the most PFLOPS among plans with PFLOPS ≥ λ · MUSD.
    RatioFloor {
        lambda: f64,
    },
}

/// One linear row `Σ coef · x ≤ rhs`, in the units the report shows (a `≥` row is stored
/// negated and `negated` set).
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub group: Option<Group>,
    pub coefs: Vec<(usize, f64)>,
    pub rhs: f64,
    pub negated: bool,
}

impl Row {
    /// Left-hand side at `nodes`, in the row's own sense (un-negated).
    pub fn lhs(&self, nodes: &[u64]) -> f64 {
        let v: f64 = self.coefs.iter().map(|&(i, a)| a * nodes[i] as f64).sum();
        if self.negated {
            -v
        } else {
            v
        }
    }
    /// The right-hand side in the row's own sense.
    pub fn limit(&self) -> f64 {
        if self.negated {
            -self.rhs
        } else {
            self.rhs
        }
    }
    /// How far the plan is from breaking the row (≥ 0 when satisfied).
    pub fn slack(&self, nodes: &[u64]) -> f64 {
        let v: f64 = self.coefs.iter().map(|&(i, a)| a * nodes[i] as f64).sum();
        self.rhs - v
    }
    /// The smallest amount of slack one more node of anything that uses the row takes (for a
    /// row nothing can tighten, such as a target, the smallest change one node makes).
    pub fn min_step(&self) -> f64 {
        let min = |pos: bool| {
            self.coefs
                .iter()
                .map(|&(_, a)| if pos { a } else { a.abs() })
                .filter(|a| *a > 0.0)
                .fold(f64::INFINITY, f64::min)
        };
        let m = min(true);
        if m.is_finite() {
            m
        } else {
            min(false)
        }
    }
}

/// Micro-dollars would do as well; millions keep the objective near 1.
pub(crate) const USD_SCALE: f64 = 1e6;

/// The linear rows of the program under `lim`, including the goal's own rows.
pub(crate) fn rows(p: &Problem, lim: &Limits, goal: Goal) -> Vec<Row> {
    let mut out = Vec::new();
    for (e, budget) in lim.budget.iter().enumerate() {
        let Some(budget) = *budget else { continue };
        let coefs: Vec<(usize, f64)> = p
            .items
            .iter()
            .enumerate()
            .filter(|(_, it)| it.envelope == e)
            .map(|(i, it)| (i, it.node_cost))
            .collect();
        if !coefs.is_empty() {
            out.push(Row {
                group: Some(Group::Budget(e)),
                coefs,
                rhs: budget,
                negated: false,
            });
        }
    }
    for (m, share) in lim.mix_share.iter().enumerate() {
        let Some(share) = *share else { continue };
        let mix = &p.mixes[m];
        // Σ_domestic w·x ≥ share · Σ_all w·x  ⇔  Σ (share − domestic) · w · x ≤ 0.
        let coefs: Vec<(usize, f64)> = p
            .items
            .iter()
            .enumerate()
            .filter(|(_, it)| it.envelope == mix.envelope)
            .map(|(i, it)| {
                let w = match mix.basis {
                    MixBasis::Spend => it.node_cost,
                    MixBasis::Units => it.accels_per_node as f64,
                };
                let domestic = if it.vendor_country == mix.domestic_country {
                    1.0
                } else {
                    0.0
                };
                (i, (share - domestic) * w)
            })
            .filter(|(_, a)| *a != 0.0)
            .collect();
        if !coefs.is_empty() {
            out.push(Row {
                group: Some(Group::Mix(m)),
                coefs,
                rhs: 0.0,
                negated: true,
            });
        }
    }
    for (k, cap) in lim.cap_accels.iter().enumerate() {
        let Some(cap) = *cap else { continue };
        let coefs: Vec<(usize, f64)> = p
            .items
            .iter()
            .enumerate()
            .filter(|(_, it)| it.caps.contains(&k))
            .map(|(i, it)| (i, it.accels_per_node as f64))
            .collect();
        if !coefs.is_empty() {
            out.push(Row {
                group: Some(Group::Cap(k)),
                coefs,
                rhs: cap,
                negated: false,
            });
        }
    }
    for (s, power) in lim.power_w.iter().enumerate() {
        let Some(power) = *power else { continue };
        let coefs: Vec<(usize, f64)> = p
            .items
            .iter()
            .enumerate()
            .filter(|(_, it)| it.site == s)
            .map(|(i, it)| (i, it.node_power_w))
            .collect();
        if !coefs.is_empty() {
            out.push(Row {
                group: Some(Group::Power(s)),
                coefs,
                rhs: power,
                negated: false,
            });
        }
    }
    if let Some(t) = lim.target_pflops {
        out.push(Row {
            group: Some(Group::Target),
            coefs: (0..p.items.len())
                .map(|i| (i, -p.items[i].pflops_per_node))
                .collect(),
            rhs: -t,
            negated: true,
        });
    }
    match goal {
        Goal::Parametric { .. } => out.push(at_least_one_node(p)),
        Goal::RatioFloor { lambda } => {
            out.push(at_least_one_node(p));
            out.push(Row {
                group: None,
                coefs: p
                    .items
                    .iter()
                    .enumerate()
                    .map(|(i, it)| {
                        (
                            i,
                            lambda * it.node_cost_usd / USD_SCALE - it.pflops_per_node,
                        )
                    })
                    .collect(),
                rhs: 0.0,
                negated: true,
            });
        }
        _ => {}
    }
    out
}

fn at_least_one_node(p: &Problem) -> Row {
    Row {
        group: None,
        coefs: (0..p.items.len()).map(|i| (i, -1.0)).collect(),
        rhs: -1.0,
        negated: true,
    }
}

/// The largest number of nodes of each item that every single row and bound allows on its own:
/// tight bounds keep microlp's branch-and-bound tree small.
pub(crate) fn upper_bounds(p: &Problem, lim: &Limits) -> Vec<f64> {
    p.items
        .iter()
        .enumerate()
        .map(|(i, it)| {
            let mut ub = lim.max_nodes[i].unwrap_or(f64::INFINITY);
            if let Some(b) = lim.budget[it.envelope] {
                ub = ub.min(b / it.node_cost);
            }
            for &k in &it.caps {
                if let Some(c) = lim.cap_accels[k] {
                    ub = ub.min(c / it.accels_per_node as f64);
                }
            }
            if let Some(w) = lim.power_w[it.site] {
                ub = ub.min(w / it.node_power_w);
            }
            // Round down with a little tolerance so that 2.9999999 (from FX) counts as 3.
            let ub = (ub + 1e-9).floor().max(0.0);
            ub.min(i32::MAX as f64)
        })
        .collect()
}

/// Items that another item beats in every respect: same envelope, site, supply caps, vendor
/// country and node size, at least the PFLOPS, at most the power and (for a part that counts as
/// foreign in a spend-basis mix, or under no mix) at most the price; a part counted as domestic
/// must cost the same, since a cheaper one would add less to the domestic share. The better
/// item must have no `max_nodes`, so any node of the dominated one can be swapped for it without
/// breaking a row or lowering any objective. Fixing dominated items at zero removes the
/// identical columns that stall microlp's branch-and-bound (three H100-class leases at one
/// site, say).
pub(crate) fn dominated(p: &Problem, lim: &Limits) -> Vec<bool> {
    let n = p.items.len();
    let mut out = vec![false; n];
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| (p.items[i].envelope, p.items[i].site));
    let spend_mix = |i: usize| {
        let it = &p.items[i];
        p.mixes.iter().enumerate().any(|(m, mix)| {
            mix.envelope == it.envelope
                && mix.basis == MixBasis::Spend
                && lim.mix_share[m].is_some()
                && mix.domestic_country == it.vendor_country
        })
    };
    let mut start = 0;
    while start < n {
        let key = |i: usize| (p.items[i].envelope, p.items[i].site);
        let mut end = start;
        while end < n && key(order[end]) == key(order[start]) {
            end += 1;
        }
        let group = &order[start..end];
        for &j in group {
            for &i in group {
                if i == j || out[i] || lim.max_nodes[i].is_some() {
                    continue;
                }
                let (a, b) = (&p.items[i], &p.items[j]);
                let same = a.caps == b.caps
                    && a.vendor_country == b.vendor_country
                    && a.accels_per_node == b.accels_per_node;
                let cost_ok = if spend_mix(j) {
                    a.node_cost == b.node_cost
                } else {
                    a.node_cost <= b.node_cost && a.node_cost_usd <= b.node_cost_usd
                };
                let better = a.pflops_per_node >= b.pflops_per_node
                    && a.node_power_w <= b.node_power_w
                    && cost_ok;
                // Between exact twins the earlier one stays.
                let twin = a.pflops_per_node == b.pflops_per_node
                    && a.node_power_w == b.node_power_w
                    && a.node_cost == b.node_cost;
                if same && better && (!twin || i < j) {
                    out[j] = true;
                    break;
                }
            }
        }
        start = end;
    }
    out
}

/// Solver settings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SolverOpts {
    /// Relative MIP gap at which branch-and-bound stops (0 proves optimality).
    pub mip_gap: f32,
    /// Seconds one MILP may take before the best integer plan found so far is returned.
    pub time_limit_s: Option<f64>,
}

/// How far one solve got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Proof {
    Optimal,
    WithinGap,
    TimeLimit,
}

/// An integer solution: nodes per item.
#[derive(Debug, Clone)]
pub(crate) struct Solved {
    pub nodes: Vec<u64>,
    pub proof: Proof,
    /// The relative MIP gap the solve was allowed.
    pub gap: f64,
}

/// Solves the program; `Ok(None)` when it is infeasible.
///
/// Items that share no row (different envelopes, sites and caps) are independent, so each
/// connected group of items is solved as its own, smaller MILP: the objective is a sum, so the
/// parts' optima make the whole's. Rows that span every item (a min-cost target, the Dinkelbach
/// rows) make one group.
pub(crate) fn solve(
    p: &Problem,
    lim: &Limits,
    goal: Goal,
    opts: SolverOpts,
) -> Result<Option<Solved>, PlanError> {
    let rows = rows(p, lim, goal);
    let mut ubs = upper_bounds(p, lim);
    for (i, d) in dominated(p, lim).into_iter().enumerate() {
        if d {
            ubs[i] = 0.0;
        }
    }
    let mut nodes = vec![0u64; p.items.len()];
    let mut proof = Proof::Optimal;
    let mut gap = 0.0f64;
    // Items that cannot have a node stay at zero and out of the MILPs.
    let live: Vec<usize> = (0..p.items.len()).filter(|&i| ubs[i] >= 1.0).collect();
    let mut parent: Vec<usize> = (0..p.items.len()).collect();
    fn find(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for r in &rows {
        let mut first = None;
        for &(i, _) in r.coefs.iter().filter(|(i, _)| ubs[*i] >= 1.0) {
            let ri = find(&mut parent, i);
            match first {
                None => first = Some(ri),
                Some(f) => parent[ri] = find(&mut parent, f),
            }
        }
    }
    let mut groups: Vec<(usize, Vec<usize>)> = Vec::new();
    for &i in &live {
        let root = find(&mut parent, i);
        match groups.iter_mut().find(|(r, _)| *r == root) {
            Some((_, g)) => g.push(i),
            None => groups.push((root, vec![i])),
        }
    }
    for (_, items) in &groups {
        let part_rows: Vec<Row> = rows
            .iter()
            .filter(|r| r.coefs.iter().any(|(i, _)| items.contains(i)))
            .cloned()
            .collect();
        match solve_part(p, items, &part_rows, &ubs, goal, opts)? {
            None => return Ok(None),
            Some((part, pr, g)) => {
                for (k, &i) in items.iter().enumerate() {
                    nodes[i] = part[k];
                }
                proof = proof.max(pr);
                gap = gap.max(g);
            }
        }
    }
    // Rows whose items all have a zero bound (a target nothing can reach) are checked here.
    for r in &rows {
        let tol = 1e-7 * r.rhs.abs().max(r.min_step()).max(1.0);
        if r.slack(&nodes) < -tol {
            if r.coefs.iter().all(|(i, _)| ubs[*i] < 1.0) {
                return Ok(None);
            }
            // The solver works in floating point: the rounded answer is checked against the
            // rows in their own units before anyone sees it.
            return Err(PlanError::Solver(format!(
                "the integer answer breaks a row by {} (numerical trouble)",
                -r.slack(&nodes)
            )));
        }
    }
    Ok(Some(Solved { nodes, proof, gap }))
}

/// Solves the MILP over `items` (global indices) and the rows that touch them.
fn solve_part(
    p: &Problem,
    items: &[usize],
    rows: &[Row],
    ubs: &[f64],
    goal: Goal,
    opts: SolverOpts,
) -> Result<Option<(Vec<u64>, Proof, f64)>, PlanError> {
    let coef = |i: usize| {
        let it = &p.items[i];
        match goal {
            Goal::MaxCompute | Goal::RatioFloor { .. } => it.pflops_per_node,
            Goal::MinCost => it.node_cost_usd / USD_SCALE,
            Goal::Feasibility => 0.0,
            Goal::Parametric { lambda } => {
                it.pflops_per_node - lambda * it.node_cost_usd / USD_SCALE
            }
        }
    };
    // microlp's branch-and-bound cannot close the last fraction of a node when two parts of
    // nearly the same value share a binding row (each branch shifts one node from one to the
    // other and the LP bound barely moves). So on large programs it stops once the plan is
    // provably within one node of the most valuable part of the optimum: the relative gap is
    // that node's value over the LP relaxation's value. Feasibility tests keep the caller's gap.
    let mut gap = opts.mip_gap as f64;
    let mut start: Option<Vec<f64>> = None;
    if !matches!(goal, Goal::Feasibility) {
        if let Ok((sol, xs)) = build(p, items, rows, ubs, goal, &coef, false, opts)?.solve() {
            let lp_x: Vec<f64> = xs.iter().map(|x| sol.value(*x)).collect();
            let lp: f64 = items
                .iter()
                .enumerate()
                .map(|(k, &i)| coef(i) * lp_x[k])
                .sum();
            start = incumbent(p, items, rows, ubs, &lp_x, goal, &coef);
            let node = items.iter().map(|&i| coef(i).abs()).fold(0.0, f64::max);
            // Only where one node is a small part of the whole (under 1%): small programs are
            // solved exactly, and their trees stay small.
            let one_node = node / lp.abs().max(f64::MIN_POSITIVE) * 0.999;
            if one_node <= 1e-2 {
                gap = gap.max(one_node);
            }
            // When the rounded-and-filled plan is already within the gap of the LP bound, it
            // is the answer: branch-and-bound could only confirm it.
            if let Some(x0) = &start {
                let v: f64 = items.iter().zip(x0).map(|(&i, x)| coef(i) * x).sum();
                // How much worse than the LP bound (minimising or maximising).
                let short = if matches!(goal, Goal::MinCost) {
                    v - lp
                } else {
                    lp - v
                };
                if gap > 0.0 && short <= gap * v.abs() {
                    let proof = if short <= 1e-9 * v.abs().max(1.0) {
                        Proof::Optimal
                    } else {
                        Proof::WithinGap
                    };
                    return Ok(Some((x0.iter().map(|x| *x as u64).collect(), proof, gap)));
                }
            }
        }
    }
    let mut model = build(
        p,
        items,
        rows,
        ubs,
        goal,
        &coef,
        true,
        SolverOpts {
            mip_gap: gap as f32,
            ..opts
        },
    )?;
    if let Some(x0) = &start {
        model = model.starting_at(x0);
    }
    let (sol, xs) = match model.solve() {
        Ok(s) => s,
        Err(ResolutionError::Infeasible) => return Ok(None),
        Err(ResolutionError::Unbounded) => {
            return Err(PlanError::Solver(
                "the program is unbounded: some candidate has no budget, cap or power limit".into(),
            ))
        }
        Err(e) => return Err(PlanError::Solver(e.to_string())),
    };
    let nodes: Vec<u64> = xs
        .iter()
        .map(|x| sol.value(*x).round().max(0.0) as u64)
        .collect();
    let proof = match sol.status() {
        SolutionStatus::Optimal => Proof::Optimal,
        SolutionStatus::GapLimit => Proof::WithinGap,
        _ => Proof::TimeLimit,
    };
    Ok(Some((nodes, proof, gap)))
}

/// A first integer plan from the LP relaxation: round every item down (which keeps every `≤`
/// row with non-negative coefficients), then add nodes greedily while every other row still
/// holds: for max-compute the most PFLOPS a node first, for min-cost the most PFLOPS per dollar
/// first until the target is met. `None` when the result still breaks a row (a mix share, an
/// unreachable target).
fn incumbent(
    p: &Problem,
    items: &[usize],
    rows: &[Row],
    ubs: &[f64],
    lp_x: &[f64],
    goal: Goal,
    coef: &dyn Fn(usize) -> f64,
) -> Option<Vec<f64>> {
    let min_cost = matches!(goal, Goal::MinCost);
    let mut nodes = vec![0u64; p.items.len()];
    for (k, &i) in items.iter().enumerate() {
        nodes[i] = (lp_x[k] + 1e-9).floor().max(0.0) as u64;
    }
    let holds = |r: &Row, nodes: &[u64]| r.slack(nodes) >= -1e-9 * r.rhs.abs().max(1.0);
    let others_ok = |nodes: &[u64]| {
        rows.iter()
            .filter(|r| r.group != Some(Group::Target))
            .all(|r| holds(r, nodes))
    };
    let target = rows
        .iter()
        .find(|r| r.group == Some(Group::Target))
        .map(|r| r.limit());
    let pflops = |nodes: &[u64]| -> f64 {
        items
            .iter()
            .map(|&i| p.items[i].pflops_per_node * nodes[i] as f64)
            .sum()
    };
    let mut order: Vec<usize> = items.to_vec();
    if min_cost {
        let per_usd = |i: usize| p.items[i].pflops_per_node / p.items[i].node_cost_usd;
        order.sort_by(|&a, &b| per_usd(b).total_cmp(&per_usd(a)));
    } else {
        order.sort_by(|&a, &b| coef(b).total_cmp(&coef(a)));
    }
    for &i in &order {
        let mut cap = ubs[i] as u64;
        if min_cost {
            let short = target.unwrap_or(0.0) - pflops(&nodes);
            if short <= 0.0 {
                break;
            }
            let need = (short / p.items[i].pflops_per_node).ceil() as u64;
            cap = cap.min(nodes[i] + need);
        } else if coef(i) <= 0.0 {
            continue;
        }
        // Add as many as fit, halving the step when one does not.
        let mut step = cap.saturating_sub(nodes[i]).max(1);
        while step > 0 && nodes[i] < cap {
            nodes[i] += step;
            if nodes[i] > cap || !others_ok(&nodes) {
                nodes[i] -= step;
                step /= 2;
            }
        }
    }
    // A Dinkelbach step needs at least one node even when no node pays for itself at λ.
    if matches!(goal, Goal::Parametric { .. }) && items.iter().all(|&i| nodes[i] == 0) {
        for &i in &order {
            nodes[i] = 1;
            if others_ok(&nodes) {
                break;
            }
            nodes[i] = 0;
        }
    }
    rows.iter()
        .all(|r| holds(r, &nodes))
        .then(|| items.iter().map(|&i| nodes[i] as f64).collect())
}

/// A model ready to solve, with its variables.
struct Built {
    model: good_lp::solvers::microlp::MicroLpProblem,
    xs: Vec<Variable>,
}

impl Built {
    /// Gives branch-and-bound a first integer plan, so it can prune from the start.
    fn starting_at(mut self, x0: &[f64]) -> Built {
        let init: Vec<(Variable, f64)> = self.xs.iter().copied().zip(x0.iter().copied()).collect();
        self.model = self.model.with_initial_solution(init);
        self
    }

    fn solve(
        self,
    ) -> Result<(good_lp::solvers::microlp::MicroLpSolution, Vec<Variable>), ResolutionError> {
        self.model.solve().map(|s| (s, self.xs))
    }
}

/// Builds the program (its LP relaxation when `integer` is false).
#[allow(clippy::too_many_arguments)]
fn build(
    p: &Problem,
    items: &[usize],
    rows: &[Row],
    ubs: &[f64],
    goal: Goal,
    coef: &dyn Fn(usize) -> f64,
    integer: bool,
    opts: SolverOpts,
) -> Result<Built, PlanError> {
    let mut vars = ProblemVariables::new();
    let mut local = vec![usize::MAX; p.items.len()];
    let xs: Vec<Variable> = items
        .iter()
        .enumerate()
        .map(|(k, &i)| {
            local[i] = k;
            let v = variable().min(0.0).max(ubs[i]);
            vars.add(if integer { v.integer() } else { v })
        })
        .collect();
    let mut objective = Expression::with_capacity(items.len());
    for (x, &i) in xs.iter().zip(items) {
        let c = coef(i);
        if c != 0.0 {
            objective.add_mul(c, *x);
        }
    }
    let unsolved = match goal {
        Goal::MinCost => vars.minimise(objective),
        _ => vars.maximise(objective),
    };
    let mut model = unsolved.using(microlp);
    if integer && opts.mip_gap > 0.0 {
        model = model
            .with_mip_gap(opts.mip_gap)
            .map_err(|e| PlanError::Solver(e.to_string()))?;
    }
    if let Some(t) = opts.time_limit_s {
        model = model.with_time_limit(t);
    }
    for r in rows {
        // Each row is scaled so its largest number is 1: budgets of 4e10 next to node prices of
        // 7e5 would otherwise strain the simplex's tolerances.
        let scale = r
            .coefs
            .iter()
            .map(|(_, a)| a.abs())
            .fold(r.rhs.abs(), f64::max);
        let scale = if scale > 0.0 { 1.0 / scale } else { 1.0 };
        let mut e = Expression::with_capacity(r.coefs.len());
        for &(i, a) in &r.coefs {
            // Items with no node to give are fixed at zero and left out.
            if local[i] != usize::MAX {
                e.add_mul(a * scale, xs[local[i]]);
            }
        }
        model.add_constraint(e.leq(r.rhs * scale));
    }
    Ok(Built { model, xs })
}
