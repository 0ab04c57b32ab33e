//! Our own branch-and-bound over microlp's LP: best-bound node selection with depth-first
//! plunges for incumbents, pseudo-cost branching, node LPs warm-started from their parent's
//! basis, rounding and local search at the root and now and then in the tree, RINS (a search
//! of the neighbourhood where the node's LP and the incumbent agree) every few hundred nodes,
//! and a proven gap measured as the planner measures it.
//!
//! Why not microlp's own: its search reports a bound that barely moves on the hard generated
//! programs, branches on the first fractional variable it meets, and cannot run our heuristics
//! or poll our cancellation flag. Here each node is a microlp LP [`microlp::Solution`]: a child
//! is its parent's solution cloned with one bound tightened (`x_j ≤ ⌊v⌋` or `x_j ≥ ⌈v⌉`), which
//! microlp re-solves by dual simplex from the parent's basis, so a node costs a few pivots and no
//! refactorisation (the vendored microlp's `Solution::set_var_bounds`). A bound or cut added at a
//! node belongs to its subtree only, because the children clone it.
//!
//! Words: the *bound* of a node is its LP value (no plan in its subtree does better); the
//! *incumbent* is the best integer plan so far; a node is *pruned* when its bound cannot beat the
//! incumbent by more than the requested gap. The search is sequential and looks at no clock
//! except for the time limit, so its answer is the same for the same input unless a time limit
//! or cancellation stops it.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::rc::Rc;
use std::time::Instant;

use microlp::{ComparisonOp, LinearExpr, OptimizationDirection, Problem, Solution, Variable};

/// A program to maximise: `Σ c·x` over integers `0 ≤ x ≤ ub` with rows `Σ a·x ≤ rhs` (local
/// indices). A minimising goal passes `−c` and negates the answer back.
pub(crate) struct Program<'a> {
    pub c: &'a [f64],
    pub ub: &'a [f64],
    /// `(coefficients, rhs)`, each `≤`.
    pub rows: &'a [(Vec<(usize, f64)>, f64)],
    /// The relative gap to prove, measured by `within`.
    pub gap: f64,
    /// The least magnitude the gap is measured against (see `model::within`).
    pub floor: f64,
    pub deadline: Option<Instant>,
    pub node_limit: u64,
    /// Nodes between two neighbourhood searches ([`RINS_EVERY`] for a plan).
    pub rins_every: u64,
    /// Whether the root fixes variables by their reduced costs (the program's own search; a
    /// neighbourhood's small search does not pay for the dual solve).
    pub fixing: bool,
}

/// What the caller's heuristics do for the search: turn a node's LP point into a feasible
/// plan, improve a feasible plan, and check a plan against the rows in their own units.
pub(crate) trait Heuristics {
    /// A feasible plan near the LP point `x` (rounding with repair), or `None`.
    fn round(&self, x: &[f64]) -> Option<Vec<u64>>;
    /// `x` (feasible) improved by local search.
    fn polish(&self, x: Vec<u64>) -> Vec<u64>;
    /// Whether `x` satisfies every row and bound.
    fn feasible(&self, x: &[u64]) -> bool;
    /// A feasible plan better than the incumbent `inc`, found by searching near both it and
    /// the node's LP point `x` (RINS) within a budget of nodes and by `deadline`, or `None`.
    fn neighbourhood(
        &self,
        _x: &[f64],
        _inc: &[u64],
        _deadline: Option<Instant>,
    ) -> Option<Vec<u64>> {
        None
    }
    /// Whether variable `k` is continuous in the program (a serving share counted in
    /// millionths of a node): never branched on; a node whose other variables are integral
    /// is turned into a plan by [`Heuristics::round`].
    fn continuous(&self, _k: usize) -> bool {
        false
    }
    /// How many of variable `k`'s units one unit of its LP column is: a serving share's plans
    /// count millionths of a node while its LP column counts nodes, so the LP stays well scaled.
    fn scale(&self, _k: usize) -> f64 {
        1.0
    }
}

/// What the search found.
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    /// The best plan: the start plan unless the search found a better one.
    pub x: Option<Vec<u64>>,
    /// No plan does better than this (the internal, maximising sense).
    pub bound: f64,
    /// Why it stopped.
    pub stop: Stop,
}

/// Why the search stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// Every node was explored or pruned: the bound is proven to the gap (or exactly).
    Done,
    /// The time or node limit, or a node given up for numerical trouble.
    Limit,
    /// The caller's cancellation flag ([`xpufleet_model::cancel`]).
    Cancelled,
}

/// Nodes between two runs of the rounding heuristic in the tree (every node on a plunge's
/// first few levels runs it too).
const ROUND_EVERY: u64 = 20;

/// Nodes between two local searches from a node's rounded plan (a rounded plan that beats
/// the incumbent is always polished).
const POLISH_EVERY: u64 = 200;

/// How far below the best open bound a plunge may go, as a share of the distance from the
/// incumbent to that bound, before it stops and the best-bound node is taken instead.
const PLUNGE_SLACK: f64 = 0.05;

/// Nodes between two neighbourhood searches (RINS) in the tree.
pub(crate) const RINS_EVERY: u64 = 200;

/// Nodes one neighbourhood search (RINS) may open: a budget of work, not of time, so the
/// search stays the same for the same input.
pub(crate) const RINS_NODES: u64 = 1000;

/// Fractional variables a node may measure by solving both children (reliability branching).
const STRONG_CANDIDATES: usize = 8;

/// Nodes down to this depth get a round of MIR cuts of their own.
const CUT_DEPTH: u32 = 3;

/// The most cuts one node adds.
const NODE_CUTS: usize = 4;

/// A value at most this far from an integer counts as one.
const INT_TOL: f64 = 1e-6;

/// An open node: its parent's LP and the one row that makes it.
struct Open {
    /// The parent's LP value: a bound on the subtree.
    bound: f64,
    depth: u32,
    /// Creation order, to break ties deterministically.
    seq: u64,
    parent: Rc<Solution>,
    branch: Branch,
}

#[derive(Clone, Copy)]
struct Branch {
    var: usize,
    /// `x ≤ value` when `up` is false, `x ≥ value` when true.
    value: f64,
    up: bool,
    /// The parent's fractional part of the variable, for the pseudo-costs.
    frac: f64,
}

impl PartialEq for Open {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Open {}
impl PartialOrd for Open {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Open {
    /// The best bound first; among equal bounds the deeper, then the older node.
    fn cmp(&self, o: &Self) -> Ordering {
        self.bound
            .total_cmp(&o.bound)
            .then(self.depth.cmp(&o.depth))
            .then(o.seq.cmp(&self.seq))
    }
}

/// Per variable and direction, the objective lost per unit of fractionality branched away.
struct PseudoCosts {
    sum: Vec<[f64; 2]>,
    count: Vec<[u32; 2]>,
}

impl PseudoCosts {
    fn record(&mut self, b: &Branch, lost: f64) {
        let d = usize::from(b.up);
        let dist = if b.up { 1.0 - b.frac } else { b.frac };
        if dist > INT_TOL && lost.is_finite() {
            self.sum[b.var][d] += lost.max(0.0) / dist;
            self.count[b.var][d] += 1;
        }
    }

    /// The estimate for `var` in direction `d`: its own average, else the average over every
    /// variable measured in that direction, else 1 (most fractional).
    fn get(&self, var: usize, d: usize) -> f64 {
        if self.count[var][d] > 0 {
            return self.sum[var][d] / self.count[var][d] as f64;
        }
        let (s, n) = self
            .sum
            .iter()
            .zip(&self.count)
            .filter(|(_, n)| n[d] > 0)
            .fold((0.0, 0u32), |(s, n), (v, c)| {
                (s + v[d] / c[d] as f64, n + 1)
            });
        if n > 0 {
            s / n as f64
        } else {
            1.0
        }
    }
}

fn within(short: f64, v: f64, floor: f64, gap: f64) -> bool {
    short <= gap * v.abs().max(floor) + 1e-12 * v.abs().max(1.0)
}

/// The program's LP relaxation as a microlp problem; each row scaled so its largest number is 1
/// (budgets of 4e10 next to node prices of 7e5 strain the simplex's tolerances otherwise).
/// Variables' bounds `lo ≤ x ≤ hi` give the LP's columns (the program's own are `0 ≤ x ≤ ub`),
/// in the variables' own units (see [`Heuristics::scale`]).
fn lp(pr: &Program, h: &dyn Heuristics, lo: &[f64], hi: &[f64]) -> (Problem, Vec<Variable>) {
    let mut pb = Problem::new(OptimizationDirection::Maximize);
    if let Some(d) = pr.deadline {
        pb.set_time_limit(d.saturating_duration_since(Instant::now()));
    }
    let xs: Vec<Variable> =
        pr.c.iter()
            .zip(lo.iter().zip(hi))
            .enumerate()
            .map(|(k, (&c, (&l, &u)))| pb.add_var(c * h.scale(k), (l / h.scale(k), u / h.scale(k))))
            .collect();
    for (coefs, rhs) in pr.rows {
        let (e, rhs) = lp_row(coefs, *rhs, &xs, h);
        pb.add_constraint(e, ComparisonOp::Le, rhs);
    }
    (pb, xs)
}

/// A row `Σ a·x ≤ rhs` over the LP's columns (see [`Heuristics::scale`]), scaled so its
/// largest number is 1.
fn lp_row(
    coefs: &[(usize, f64)],
    rhs: f64,
    xs: &[Variable],
    h: &dyn Heuristics,
) -> (LinearExpr, f64) {
    let scale = coefs
        .iter()
        .map(|&(k, a)| (a * h.scale(k)).abs())
        .fold(rhs.abs(), f64::max);
    let scale = if scale > 0.0 { 1.0 / scale } else { 1.0 };
    let mut e = LinearExpr::empty();
    for &(k, a) in coefs {
        e.add(xs[k], a * h.scale(k) * scale);
    }
    (e, rhs * scale)
}

/// The LP point in the variables' own units.
fn point(sol: &Solution, xs: &[Variable], h: &dyn Heuristics) -> Vec<f64> {
    xs.iter()
        .enumerate()
        .map(|(k, v)| sol.var_value_raw(*v) * h.scale(k))
        .collect()
}

/// The factor a row is multiplied by in the LP: one over its largest number.
fn row_scale(coefs: &[(usize, f64)], rhs: f64) -> f64 {
    let scale = coefs.iter().map(|(_, a)| a.abs()).fold(rhs.abs(), f64::max);
    if scale > 0.0 {
        1.0 / scale
    } else {
        1.0
    }
}

/// A dual bound and reduced costs of the LP relaxation: `bound` ≥ `Σ c·x` for every `x` with
/// `0 ≤ x ≤ ub` that satisfies the rows, and `c·x ≤ bound + Σ_j d_j·x_j` for `d_j < 0`,
/// `c·x ≤ bound − Σ_j d_j·(ub_j − x_j)` for `d_j > 0`.
struct Duals {
    bound: f64,
    /// Reduced costs `c − Aᵀy`.
    d: Vec<f64>,
}

/// Duals of the LP relaxation from its dual program, solved by microlp (which gives no duals
/// of its own): `min bᵀy + ubᵀz` over `Aᵀy + z ≥ c`, `y, z ≥ 0`, on the LP's scaled rows.
/// Whatever `y ≥ 0` the simplex returns, the bound and reduced costs are computed from it here
/// by weak duality, so they are valid even if the dual solve is inexact: a loose `y` gives a
/// looser bound, never a wrong one. `None` when the dual solve fails or the bound is not finite.
fn duals(pr: &Program) -> Option<Duals> {
    let n = pr.c.len();
    if pr.ub.iter().any(|u| !u.is_finite()) {
        return None;
    }
    let mut pb = Problem::new(OptimizationDirection::Minimize);
    if let Some(d) = pr.deadline {
        pb.set_time_limit(d.saturating_duration_since(Instant::now()));
    }
    let scales: Vec<f64> = pr.rows.iter().map(|(a, b)| row_scale(a, *b)).collect();
    let ys: Vec<Variable> = pr
        .rows
        .iter()
        .zip(&scales)
        .map(|((_, b), s)| pb.add_var(b * s, (0.0, f64::INFINITY)))
        .collect();
    let mut cols: Vec<LinearExpr> = (0..n).map(|_| LinearExpr::empty()).collect();
    for ((coefs, _), (y, s)) in pr.rows.iter().zip(ys.iter().zip(&scales)) {
        for &(k, a) in coefs {
            cols[k].add(*y, a * s);
        }
    }
    for (k, mut e) in cols.into_iter().enumerate() {
        let z = pb.add_var(pr.ub[k], (0.0, f64::INFINITY));
        e.add(z, 1.0);
        pb.add_constraint(e, ComparisonOp::Ge, pr.c[k]);
    }
    let sol = match pb.solve() {
        Ok(microlp::SolveOutcome::Solution(s)) => s,
        _ => return None,
    };
    let y: Vec<f64> = ys.iter().map(|v| sol.var_value_raw(*v).max(0.0)).collect();
    let mut d = pr.c.to_vec();
    let mut bound = 0.0;
    for (((coefs, b), s), &yr) in pr.rows.iter().zip(&scales).zip(&y) {
        if yr == 0.0 {
            continue;
        }
        bound += yr * s * b;
        for &(k, a) in coefs {
            d[k] -= yr * s * a;
        }
    }
    bound += d
        .iter()
        .zip(pr.ub)
        .filter(|(d, _)| **d > 0.0)
        .map(|(d, u)| d * u)
        .sum::<f64>();
    bound.is_finite().then_some(Duals { bound, d })
}

/// Reduced-cost fixing: the bounds `(lo, hi)` outside which no plan can beat the incumbent
/// `v` by more than the gap (every such plan's value is at most `threshold`), and the largest
/// bound of a region taken away (at most `threshold`), or `None` when nothing is fixed. With
/// `d_j < 0`, a plan with `x_j ≥ m` is worth at most `bound + d_j·m`; with `d_j > 0`, one with
/// `x_j ≤ ub_j − m` at most `bound − d_j·m`.
fn fixing(pr: &Program, du: &Duals, threshold: f64) -> Option<(Vec<f64>, Vec<f64>, f64)> {
    let slack = du.bound - threshold;
    if !(slack.is_finite() && slack > 0.0) {
        return None;
    }
    // A removed region must be worth at most this: the threshold less a hair for rounding.
    let safe = threshold - 1e-9 * threshold.abs().max(1.0);
    let mut lo = vec![0.0; pr.c.len()];
    let mut hi = pr.ub.to_vec();
    let mut removed = f64::NEG_INFINITY;
    let mut any = false;
    for (k, &dk) in du.d.iter().enumerate() {
        let step = dk.abs();
        if step <= 1e-12 * du.bound.abs().max(1.0) || pr.ub[k] < 1.0 {
            continue;
        }
        // The least number of steps away from the LP's side that cannot pay.
        let mut m = (slack / step).ceil().max(1.0);
        while du.bound - step * m > safe {
            m += 1.0;
        }
        if m > pr.ub[k] {
            continue;
        }
        if dk < 0.0 {
            hi[k] = m - 1.0;
        } else {
            lo[k] = pr.ub[k] - (m - 1.0);
        }
        removed = removed.max(du.bound - step * m);
        any = true;
    }
    any.then_some((lo, hi, removed))
}

/// Solves `pr` from the feasible `start` (if any) to the requested gap or a limit.
/// `Ok(None)`: proven infeasible (the LP relaxation is, or the tree holds no integer point).
pub(crate) fn solve(
    pr: &Program,
    h: &dyn Heuristics,
    start: Option<Vec<u64>>,
) -> Result<Option<Outcome>, microlp::Error> {
    let n = pr.c.len();
    let value = |x: &[u64]| -> f64 { x.iter().zip(pr.c).map(|(&v, c)| v as f64 * c).sum() };
    let mut inc: Option<(Vec<u64>, f64)> = start.filter(|x| h.feasible(x)).map(|x| {
        let v = value(&x);
        (x, v)
    });
    let offer = |x: Vec<u64>, inc: &mut Option<(Vec<u64>, f64)>| -> bool {
        if !h.feasible(&x) {
            return false;
        }
        let v = value(&x);
        if inc.as_ref().is_none_or(|(_, b)| v > *b) {
            *inc = Some((x, v));
            return true;
        }
        false
    };
    let zeros = vec![0.0; n];
    let (pb, xs) = lp(pr, h, &zeros, pr.ub);
    let interrupted = |inc: Option<(Vec<u64>, f64)>| Outcome {
        x: inc.map(|(x, _)| x),
        bound: f64::INFINITY,
        stop: Stop::Limit,
    };
    let mut root = match pb.solve() {
        Ok(microlp::SolveOutcome::Solution(s)) => s,
        Ok(microlp::SolveOutcome::Interrupted(_)) => return Ok(Some(interrupted(inc))),
        Err(microlp::Error::Infeasible) => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut root_bound = root.objective();
    // The largest bound of a node pruned because it could not beat the incumbent by more than
    // the gap: the proven bound never drops below it.
    let mut pruned_bound = f64::NEG_INFINITY;
    let threshold = |v: f64| v + pr.gap * v.abs().max(pr.floor);
    // Reduced-cost fixing at the root, when there is an incumbent the root LP does not already
    // prove: the dual bound and reduced costs take away the values of a variable no plan better
    // than the incumbent by more than the gap can have, and the tree searches what is left.
    let mut xs = xs;
    if let Some((_, v)) = inc
        .as_ref()
        .filter(|(_, v)| pr.fixing && !within(root_bound - v, *v, pr.floor, pr.gap))
    {
        if let Some(du) = duals(pr) {
            root_bound = root_bound.min(du.bound);
            if let Some((mut lo, mut hi, removed)) = fixing(pr, &du, threshold(*v)) {
                // Continuous columns (serving shares) keep their bounds: a bound taken away
                // from them would be in units the rounding does not respect. Keeping a region
                // only loosens the bound `removed` stands for, never makes it wrong.
                for k in (0..n).filter(|&k| h.continuous(k)) {
                    (lo[k], hi[k]) = (0.0, pr.ub[k]);
                }
                let (pb, fixed_xs) = lp(pr, h, &lo, &hi);
                match pb.solve() {
                    Ok(microlp::SolveOutcome::Solution(s)) => {
                        root = s;
                        xs = fixed_xs;
                        pruned_bound = removed;
                    }
                    Ok(microlp::SolveOutcome::Interrupted(_)) => return Ok(Some(interrupted(inc))),
                    // Nothing better than the incumbent by more than the gap is left.
                    Err(microlp::Error::Infeasible) => {
                        let v = *v;
                        return Ok(Some(Outcome {
                            x: inc.map(|(x, _)| x),
                            bound: removed.max(v).min(root_bound),
                            stop: Stop::Done,
                        }));
                    }
                    Err(e) => return Err(e),
                }
            }
        }
    }
    let mut pc = PseudoCosts {
        sum: vec![[0.0; 2]; n],
        count: vec![[0; 2]; n],
    };
    let mut heap: BinaryHeap<Open> = BinaryHeap::new();
    let mut seq = 0u64;
    let mut nodes = 0u64;
    let mut next_rins = pr.rins_every / 4;
    let prunable = |b: f64, inc: &Option<(Vec<u64>, f64)>| {
        inc.as_ref()
            .is_some_and(|(_, v)| within(b - v, *v, pr.floor, pr.gap))
    };
    // The node in hand: its LP (solved), bound and depth, and the branch that made it.
    let mut current: Option<Node> = Some((root, 0, None, root_bound));
    let mut stop = Stop::Done;
    let mut gave_up = false;
    let as_rows: Vec<crate::model::Row> = pr
        .rows
        .iter()
        .map(|(coefs, rhs)| crate::model::Row {
            group: None,
            coefs: coefs.clone(),
            rhs: *rhs,
            negated: false,
        })
        .collect();
    'search: loop {
        let Some((sol, depth, made_by, parent_bound)) = current.take() else {
            // Take the best-bound open node and solve its LP from the parent's basis.
            let Some(open) = heap.pop() else { break };
            if prunable(open.bound, &inc) {
                pruned_bound = pruned_bound.max(open.bound);
                continue;
            }
            let bound_before = open.bound;
            if descend(open, &xs, &mut current)? {
                // The node stays unexplored: its bound still counts.
                pruned_bound = pruned_bound.max(bound_before);
                stop = Stop::Limit;
                break;
            }
            nodes += 1;
            continue;
        };
        if xpufleet_model::cancel::requested() {
            pruned_bound = pruned_bound.max(parent_bound);
            stop = Stop::Cancelled;
            break;
        }
        if pr.deadline.is_some_and(|d| Instant::now() >= d) || nodes >= pr.node_limit {
            pruned_bound = pruned_bound.max(parent_bound);
            stop = Stop::Limit;
            break;
        }
        let bound = sol.objective().min(parent_bound);
        if let Some(b) = &made_by {
            pc.record(b, parent_bound - bound);
        }
        if prunable(bound, &inc) {
            pruned_bound = pruned_bound.max(bound);
            continue;
        }
        let mut sol = sol;
        let mut bound = bound;
        if depth > 0 && depth <= CUT_DEPTH {
            // A round of MIR cuts at the node: valid for every integer point, so for the
            // subtree too, and kept there because the children clone this LP.
            let x = point(&sol, &xs, h);
            let mut cuts = crate::cuts::mir(&as_rows, &x, pr.ub);
            cuts.truncate(NODE_CUTS);
            for cut in cuts {
                let (e, rhs) = lp_row(&cut.coefs, cut.rhs, &xs, h);
                match sol.add_constraint(e, ComparisonOp::Le, rhs) {
                    Ok(microlp::SolveOutcome::Solution(s)) => sol = s,
                    Ok(microlp::SolveOutcome::Interrupted(_)) => {
                        pruned_bound = pruned_bound.max(bound);
                        stop = Stop::Limit;
                        break 'search;
                    }
                    // Valid cuts keep every integer point: an infeasible node is one without
                    // any.
                    Err(microlp::Error::Infeasible) => continue 'search,
                    Err(e) => return Err(e),
                }
            }
            bound = sol.objective().min(bound);
            if prunable(bound, &inc) {
                pruned_bound = pruned_bound.max(bound);
                continue;
            }
        }
        let x = point(&sol, &xs, h);
        // The fractional variables, and the branching choice by the product of pseudo-costs.
        let mut pick: Option<(usize, f64)> = None;
        let mut all_integer = true;
        for (k, &v) in x.iter().enumerate() {
            let f = v - v.floor();
            if f <= INT_TOL || f >= 1.0 - INT_TOL || h.continuous(k) {
                continue;
            }
            all_integer = false;
            let score = (pc.get(k, 0) * f).max(1e-6) * (pc.get(k, 1) * (1.0 - f)).max(1e-6);
            if pick.is_none_or(|(_, s)| score > s) {
                pick = Some((k, score));
            }
        }
        if all_integer {
            let xi: Vec<u64> = x.iter().map(|v| v.round().max(0.0) as u64).collect();
            if offer(xi.clone(), &mut inc) {
                continue;
            }
            if h.feasible(&xi) {
                // Integral and feasible but no better: the subtree holds nothing better.
                continue;
            }
            // Continuous variables rounded may break a row: the caller's rounding repairs them.
            if let Some(r) = h.round(&x) {
                offer(r, &mut inc);
                if prunable(bound, &inc) {
                    pruned_bound = pruned_bound.max(bound);
                    continue;
                }
            }
            // Integral within tolerance but breaking a row in its own units: nothing to branch
            // on, so the node is given up, and its bound still counts.
            pruned_bound = pruned_bound.max(bound);
            gave_up = true;
            continue;
        }
        // Heuristics: every node on the first levels, then now and then.
        if depth < 4 || nodes.is_multiple_of(ROUND_EVERY) {
            if let Some(r) = h.round(&x) {
                let incumbent = inc.as_ref().map_or(f64::NEG_INFINITY, |(_, v)| *v);
                let polish =
                    depth == 0 || nodes.is_multiple_of(POLISH_EVERY) || value(&r) > incumbent;
                let r = if polish { h.polish(r) } else { r };
                offer(r, &mut inc);
                if prunable(bound, &inc) {
                    pruned_bound = pruned_bound.max(bound);
                    continue;
                }
            }
        }
        // RINS now and then below the root (whose own neighbourhood the caller searched): a
        // budget of nodes, and this search's deadline.
        if depth > 0 && nodes >= next_rins {
            next_rins = nodes + pr.rins_every;
            if let Some((ix, _)) = inc.as_ref() {
                if let Some(r) = h.neighbourhood(&x, ix, pr.deadline) {
                    offer(h.polish(r), &mut inc);
                    if prunable(bound, &inc) {
                        pruned_bound = pruned_bound.max(bound);
                        continue;
                    }
                }
            }
        }
        // Reliability branching: a fractional variable whose pseudo-costs are not measured yet
        // in both directions is measured by solving both children's LPs (a few a node, most
        // fractional first), so early branching is not blind.
        let mut unmeasured: Vec<(usize, f64)> = x
            .iter()
            .enumerate()
            .map(|(k, &v)| (k, v - v.floor()))
            .filter(|&(k, f)| {
                f > INT_TOL
                    && f < 1.0 - INT_TOL
                    && !h.continuous(k)
                    && (pc.count[k][0] == 0 || pc.count[k][1] == 0)
            })
            .collect();
        if !unmeasured.is_empty() {
            unmeasured.sort_by(|a, b| {
                (b.1.min(1.0 - b.1))
                    .total_cmp(&(a.1.min(1.0 - a.1)))
                    .then(a.0.cmp(&b.0))
            });
            unmeasured.truncate(STRONG_CANDIDATES);
            let incumbent = inc.as_ref().map_or(f64::NEG_INFINITY, |(_, v)| *v);
            for &(k, f) in &unmeasured {
                for up in [false, true] {
                    let b = Branch {
                        var: k,
                        value: if up { x[k].ceil() } else { x[k].floor() },
                        up,
                        frac: f,
                    };
                    let lost = match branch_lp(sol.clone(), &xs, b) {
                        Ok(Some(s)) => bound - s.objective().min(bound),
                        // No integer point that way: as costly as closing the gap.
                        Ok(None) if incumbent.is_finite() => (bound - incumbent).max(0.0),
                        Ok(None) => bound.abs().max(1.0),
                        Err(Halt::Limit) => continue,
                        Err(Halt::Solver(e)) => return Err(e),
                    };
                    pc.record(&b, lost);
                }
            }
            pick = None;
            for (k, &v) in x.iter().enumerate() {
                let f = v - v.floor();
                if f <= INT_TOL || f >= 1.0 - INT_TOL || h.continuous(k) {
                    continue;
                }
                let score = (pc.get(k, 0) * f).max(1e-6) * (pc.get(k, 1) * (1.0 - f)).max(1e-6);
                if pick.is_none_or(|(_, s)| score > s) {
                    pick = Some((k, score));
                }
            }
        }
        let (k, _) = pick.expect("a fractional variable");
        let v = x[k];
        let f = v - v.floor();
        let sol = Rc::new(sol);
        let down = Branch {
            var: k,
            value: v.floor(),
            up: false,
            frac: f,
        };
        let up = Branch {
            var: k,
            value: v.ceil(),
            up: true,
            frac: f,
        };
        // Plunge into the child the LP point is nearer to; the other waits in the heap. The
        // plunge stops when this node has fallen too far below the best open bound.
        let (first, second) = if f >= 0.5 { (up, down) } else { (down, up) };
        seq += 1;
        heap.push(Open {
            bound,
            depth: depth + 1,
            seq,
            parent: sol.clone(),
            branch: second,
        });
        seq += 1;
        let first = Open {
            bound,
            depth: depth + 1,
            seq,
            parent: sol,
            branch: first,
        };
        let best_open = heap.peek().map_or(bound, |o| o.bound).max(bound);
        let incumbent = inc.as_ref().map_or(f64::NEG_INFINITY, |(_, v)| *v);
        if bound >= best_open - PLUNGE_SLACK * (best_open - incumbent).max(0.0) {
            if descend(first, &xs, &mut current)? {
                pruned_bound = pruned_bound.max(bound);
                stop = Stop::Limit;
                break;
            }
            nodes += 1;
        } else {
            heap.push(first);
        }
    }
    // A node given up is a limit of the search: the tree was not exhausted.
    if gave_up && stop == Stop::Done {
        stop = Stop::Limit;
    }
    let open_bound = heap
        .iter()
        .map(|o| o.bound)
        .fold(f64::NEG_INFINITY, f64::max);
    let incumbent = inc.as_ref().map_or(f64::NEG_INFINITY, |(_, v)| *v);
    // No plan beats the incumbent, a pruned or given-up node's bound, an open node's bound;
    // nor the root LP.
    let bound = pruned_bound.max(open_bound).max(incumbent).min(root_bound);
    if inc.is_none() && stop == Stop::Done {
        // Every node explored, none given up, and no integer point found: there is none.
        return Ok(None);
    }
    Ok(Some(Outcome {
        x: inc.map(|(x, _)| x),
        bound: if bound.is_finite() { bound } else { root_bound },
        stop,
    }))
}

enum Halt {
    Limit,
    Solver(microlp::Error),
}

/// `parent`'s LP with the bound of branch `b` (`x ≤ value` or `x ≥ value`, intersected with the
/// bounds the variable already has there), re-solved by dual simplex from its basis without a
/// new row or a refactorisation; `Ok(None)` when infeasible.
fn branch_lp(parent: Solution, xs: &[Variable], b: Branch) -> Result<Option<Solution>, Halt> {
    let var = xs[b.var];
    let (lo, hi) = parent.var_bounds(var);
    let (lo, hi) = if b.up {
        (lo.max(b.value), hi)
    } else {
        (lo, hi.min(b.value))
    };
    if lo > hi {
        return Ok(None);
    }
    match parent.set_var_bounds(var, lo, hi) {
        Ok(microlp::SolveOutcome::Solution(s)) => Ok(Some(s)),
        Ok(microlp::SolveOutcome::Interrupted(_)) => Err(Halt::Limit),
        Err(microlp::Error::Infeasible) => Ok(None),
        Err(e) => Err(Halt::Solver(e)),
    }
}

/// The node in hand: its solved LP, depth, the branch that made it, and its parent's bound.
type Node = (Solution, u32, Option<Branch>, f64);

/// Solves `open`'s LP (its parent's with the branch's bound, by dual simplex from the parent's
/// basis) into `current`, which stays empty when the branch leaves the node infeasible.
/// `Ok(true)` when the time limit stopped the solve: the node is unexplored.
fn descend(
    open: Open,
    xs: &[Variable],
    current: &mut Option<Node>,
) -> Result<bool, microlp::Error> {
    let parent = Rc::try_unwrap(open.parent).unwrap_or_else(|rc| (*rc).clone());
    match branch_lp(parent, xs, open.branch) {
        Ok(s) => {
            *current = s.map(|s| (s, open.depth, Some(open.branch), open.bound));
            Ok(false)
        }
        Err(Halt::Limit) => Ok(true),
        Err(Halt::Solver(e)) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Heuristics for a bare program: round down (feasible when every coefficient is
    /// non-negative), no local search.
    struct Bare<'a>(&'a Program<'a>);

    impl Heuristics for Bare<'_> {
        fn round(&self, x: &[f64]) -> Option<Vec<u64>> {
            let r: Vec<u64> = x
                .iter()
                .map(|v| (v + 1e-9).floor().max(0.0) as u64)
                .collect();
            self.feasible(&r).then_some(r)
        }
        fn polish(&self, x: Vec<u64>) -> Vec<u64> {
            x
        }
        fn feasible(&self, x: &[u64]) -> bool {
            x.iter().zip(self.0.ub).all(|(&v, &u)| v as f64 <= u)
                && self.0.rows.iter().all(|(coefs, rhs)| {
                    coefs.iter().map(|&(k, a)| a * x[k] as f64).sum::<f64>() <= rhs + 1e-9
                })
        }
        /// RINS by enumeration: the best plan that keeps the items on which `x` and `inc`
        /// agree at the incumbent's nodes, if it beats the incumbent.
        fn neighbourhood(
            &self,
            x: &[f64],
            inc: &[u64],
            _deadline: Option<Instant>,
        ) -> Option<Vec<u64>> {
            let value =
                |y: &[u64]| -> f64 { y.iter().zip(self.0.c).map(|(&v, c)| v as f64 * c).sum() };
            let free: Vec<usize> = (0..inc.len())
                .filter(|&k| (x[k] - inc[k] as f64).abs() > 1e-6)
                .collect();
            let mut y = inc.to_vec();
            for &k in &free {
                y[k] = 0;
            }
            let mut best: Option<Vec<u64>> = None;
            loop {
                if self.feasible(&y) && value(&y) > best.as_ref().map_or(value(inc), |b| value(b)) {
                    best = Some(y.clone());
                }
                let mut j = 0;
                while j < free.len() && y[free[j]] as f64 >= self.0.ub[free[j]] {
                    y[free[j]] = 0;
                    j += 1;
                }
                if j == free.len() {
                    return best;
                }
                y[free[j]] += 1;
            }
        }
    }

    /// The best value over every integer point, by enumeration; `None` when there is none.
    fn brute(pr: &Program) -> Option<f64> {
        let n = pr.c.len();
        let h = Bare(pr);
        let mut x = vec![0u64; n];
        let mut best: Option<f64> = None;
        loop {
            if h.feasible(&x) {
                let v: f64 = x.iter().zip(pr.c).map(|(&v, c)| v as f64 * c).sum();
                if best.is_none_or(|b| v > b) {
                    best = Some(v);
                }
            }
            let mut k = 0;
            while k < n && x[k] as f64 >= pr.ub[k] {
                x[k] = 0;
                k += 1;
            }
            if k == n {
                return best;
            }
            x[k] += 1;
        }
    }

    type Rows = Vec<(Vec<(usize, f64)>, f64)>;

    /// The program to solve exactly (gap 0), without a deadline, with the plan's RINS interval
    /// and reduced-cost fixing.
    fn exact<'a>(c: &'a [f64], ub: &'a [f64], rows: &'a Rows) -> Program<'a> {
        Program {
            c,
            ub,
            rows,
            gap: 0.0,
            floor: 0.0,
            deadline: None,
            node_limit: 100_000,
            rins_every: RINS_EVERY,
            fixing: true,
        }
    }

    /// Small programs: up to five variables of at most four nodes, up to three rows with
    /// coefficients of either sign (a supplier mix has both), some of them infeasible.
    fn program() -> impl Strategy<Value = (Vec<f64>, Vec<f64>, Rows)> {
        (1usize..=5).prop_flat_map(|n| {
            (
                prop::collection::vec(-1.0f64..10.0, n),
                prop::collection::vec(0u32..=4, n),
                prop::collection::vec(
                    (prop::collection::vec(-3.0f64..9.0, n), -2.0f64..25.0),
                    1..=3,
                ),
            )
                .prop_map(|(c, ub, rows)| {
                    let ub = ub.into_iter().map(f64::from).collect();
                    let rows = rows
                        .into_iter()
                        .map(|(a, b)| (a.into_iter().enumerate().collect(), b))
                        .collect();
                    (c, ub, rows)
                })
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// With a neighbourhood search at every node, the search still proves the brute-force optimum: a neighbourhood's plan is offered
        /// like any other and never cuts a better one off.
        #[test]
        fn rins_at_every_node_keeps_the_brute_force_optimum((c, ub, rows) in program()) {
            let pr = Program {
                rins_every: 1,
                ..exact(&c, &ub, &rows)
            };
            let h = Bare(&pr);
            let truth = brute(&pr);
            match solve(&pr, &h, h.round(&vec![0.0; c.len()])).unwrap() {
                None => prop_assert_eq!(truth, None),
                Some(out) => {
                    prop_assert_eq!(out.stop, Stop::Done);
                    let x = out.x.expect("a plan when the program is feasible");
                    prop_assert!(h.feasible(&x));
                    let v: f64 = x.iter().zip(&c).map(|(&v, c)| v as f64 * c).sum();
                    let t = truth.expect("brute force finds a plan too");
                    prop_assert!((v - t).abs() <= 1e-6 * t.abs().max(1.0), "{} vs {}", v, t);
                }
            }
        }

        /// The dual bound is at least every integer point's value, and so is each point's
        /// reduced-cost bound (`bound + Σ d_j·x_j` over `d_j < 0`, `bound − Σ d_j·(ub_j −
        /// x_j)` over `d_j > 0`); reduced-cost fixing at any threshold takes away only points
        /// worth at most what it says it took away, which is at most the threshold.
        #[test]
        fn duals_bound_every_point_and_fixing_keeps_every_better_one(
            (c, ub, rows) in program(),
            below in 0.0f64..3.0,
        ) {
            let pr = exact(&c, &ub, &rows);
            let Some(du) = duals(&pr) else {
                // The dual fails only when the LP is infeasible (the dual unbounded).
                prop_assert!(brute(&pr).is_none());
                return Ok(());
            };
            let h = Bare(&pr);
            let tol = |v: f64| 1e-7 * v.abs().max(1.0);
            // A threshold below the optimum, so that fixing has something to take away.
            let threshold = brute(&pr).map_or(0.0, |t| t - below);
            let fixed = fixing(&pr, &du, threshold);
            if let Some((_, _, removed)) = &fixed {
                prop_assert!(*removed <= threshold);
            }
            let n = c.len();
            let mut x = vec![0u64; n];
            loop {
                if h.feasible(&x) {
                    let v: f64 = x.iter().zip(&c).map(|(&v, c)| v as f64 * c).sum();
                    prop_assert!(v <= du.bound + tol(v), "{} above the dual bound {}", v, du.bound);
                    let rc: f64 = du.bound
                        + (0..n)
                            .map(|j| {
                                if du.d[j] < 0.0 {
                                    du.d[j] * x[j] as f64
                                } else {
                                    -du.d[j] * (ub[j] - x[j] as f64)
                                }
                            })
                            .sum::<f64>();
                    prop_assert!(v <= rc + tol(v), "{} above its reduced-cost bound {}", v, rc);
                    if let Some((lo, hi, removed)) = &fixed {
                        let outside =
                            (0..n).any(|j| (x[j] as f64) < lo[j] || (x[j] as f64) > hi[j]);
                        if outside {
                            prop_assert!(
                                v <= removed + tol(v),
                                "{:?} worth {} was fixed away ({})", x, v, removed
                            );
                        }
                    }
                }
                let mut k = 0;
                while k < n && x[k] as f64 >= ub[k] {
                    x[k] = 0;
                    k += 1;
                }
                if k == n {
                    break;
                }
                x[k] += 1;
            }
        }

        /// A chain of branches made by bound changes on a cloned LP (the vendored microlp's
        /// `Solution::set_var_bounds`, re-solved from the parent's basis) reaches the same LP
        /// value as a fresh solve with the bounds those branches leave, and is infeasible when
        /// that one is: warm starts and bound intersections change nothing but the time.
        #[test]
        fn branching_by_bounds_matches_a_fresh_lp(
            (c, ub, rows) in program(),
            branches in prop::collection::vec((0usize..5, 0u32..=4, any::<bool>()), 1..6),
        ) {
            let pr = Program {
                fixing: false,
                ..exact(&c, &ub, &rows)
            };
            let h = Bare(&pr);
            let n = c.len();
            let (pb, xs) = lp(&pr, &h, &vec![0.0; n], &ub);
            let Ok(microlp::SolveOutcome::Solution(mut sol)) = pb.solve() else {
                return Ok(());
            };
            let (mut lo, mut hi): (Vec<f64>, Vec<f64>) = (vec![0.0; n], ub.clone());
            for (k, value, up) in branches {
                let k = k % n;
                let value = f64::from(value);
                let b = Branch { var: k, value, up, frac: 0.5 };
                if up { lo[k] = lo[k].max(value) } else { hi[k] = hi[k].min(value) }
                let warm = match branch_lp(sol.clone(), &xs, b) {
                    Ok(s) => s,
                    Err(_) => return Err(TestCaseError::fail("the LP edit failed")),
                };
                let fresh = if (0..n).any(|j| lo[j] > hi[j]) {
                    None
                } else {
                    match lp(&pr, &h, &lo, &hi).0.solve() {
                        Ok(microlp::SolveOutcome::Solution(s)) => Some(s.objective()),
                        Err(microlp::Error::Infeasible) => None,
                        _ => return Err(TestCaseError::fail("the fresh LP failed")),
                    }
                };
                match (warm, fresh) {
                    (Some(w), Some(f)) => {
                        let tol = 1e-6 * f.abs().max(1.0);
                        prop_assert!((w.objective() - f).abs() <= tol, "{} vs {}", w.objective(), f);
                        let got = w.var_bounds(xs[k]);
                        prop_assert_eq!(got, (lo[k], hi[k]));
                        sol = w;
                    }
                    (None, None) => return Ok(()),
                    (w, f) => {
                        return Err(TestCaseError::fail(format!(
                            "warm {:?} but fresh {:?}",
                            w.map(|s| s.objective()),
                            f
                        )))
                    }
                }
            }
        }

        /// With a zero gap the search proves the brute-force optimum (or infeasibility), its
        /// plan is feasible, its bound is at least its value, and it never returns a plan
        /// worse than the start it was given (the rounding heuristic's plan).
        #[test]
        fn the_search_proves_the_brute_force_optimum((c, ub, rows) in program()) {
            let pr = exact(&c, &ub, &rows);
            let h = Bare(&pr);
            let truth = brute(&pr);
            let start = h.round(&vec![0.0; c.len()]);
            let start_value = start
                .as_ref()
                .map(|x| x.iter().zip(&c).map(|(&v, c)| v as f64 * c).sum::<f64>());
            match solve(&pr, &h, start).unwrap() {
                None => prop_assert_eq!(truth, None),
                Some(out) => {
                    prop_assert_eq!(out.stop, Stop::Done);
                    let x = out.x.expect("a plan when the program is feasible");
                    prop_assert!(h.feasible(&x));
                    let v: f64 = x.iter().zip(&c).map(|(&v, c)| v as f64 * c).sum();
                    let t = truth.expect("brute force finds a plan too");
                    prop_assert!((v - t).abs() <= 1e-6 * t.abs().max(1.0), "{} vs {}", v, t);
                    prop_assert!(out.bound >= v - 1e-6 * v.abs().max(1.0));
                    prop_assert!(out.bound <= t + 1e-6 * t.abs().max(1.0));
                    if let Some(s) = start_value {
                        prop_assert!(v >= s - 1e-9);
                    }
                }
            }
        }
    }
}
