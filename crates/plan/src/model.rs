//! The mixed-integer program: limits, rows, variable bounds, and one solve: LP relaxation,
//! rounding with repair, then branch-and-bound: ours over microlp's LP (`bnb.rs`), microlp's own, or HiGHS.

use serde::{Deserialize, Serialize};
use xpufleet_model::MixBasis;

use crate::prepare::Problem;
use crate::search::LocalRow;
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
    /// Per service row, output tokens a second new capacity must carry.
    pub service_per_s: Vec<Option<f64>>,
    /// Per row of `Problem::extra` (a plan over periods), its bound in the row's own sense.
    pub extra: Vec<Option<f64>>,
    /// Per row of `Problem::licences`, what is left of the licence (accelerators or value).
    pub licence: Vec<Option<f64>>,
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
            service_per_s: p.service_rows.iter().map(|r| r.need()).collect(),
            extra: p.extra.iter().map(|r| Some(r.limit)).collect(),
            licence: p.licences.iter().map(|r| Some(r.remaining())).collect(),
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
    /// A service (or request bucket) row: `Σ tokens/s per node · nodes ≥ demand`.
    Service(usize),
    /// A row of `Problem::extra`.
    Extra(usize),
    /// A row of `Problem::licences`: what the plan lines under a licence draw, at most what
    /// the pools leave of it.
    Licence(usize),
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
            .filter(|(_, it)| it.envelope == e && it.serve.is_none())
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
        // Over periods, a site's power row counts everything present in the period and is one
        // of `p.extra`; the site's headroom here only bounds the items arriving then.
        if p.sites[s].bound_only {
            continue;
        }
        let coefs: Vec<(usize, f64)> = p
            .items
            .iter()
            .enumerate()
            .filter(|(_, it)| it.site == s && it.serve.is_none())
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
    for (k, (x, limit)) in p.extra.iter().zip(&lim.extra).enumerate() {
        let Some(limit) = *limit else { continue };
        let sign = if x.at_least { -1.0 } else { 1.0 };
        out.push(Row {
            group: Some(Group::Extra(k)),
            coefs: x.coefs.iter().map(|&(i, a)| (i, sign * a)).collect(),
            rhs: sign * limit,
            negated: x.at_least,
        });
    }
    for (k, left) in lim.licence.iter().enumerate() {
        let Some(left) = *left else { continue };
        let coefs: Vec<(usize, f64)> = p
            .items
            .iter()
            .enumerate()
            .flat_map(|(i, it)| {
                it.licences
                    .iter()
                    .filter(move |&&(r, _)| r == k)
                    .map(move |&(_, a)| (i, a))
            })
            .collect();
        if !coefs.is_empty() {
            out.push(Row {
                group: Some(Group::Licence(k)),
                coefs,
                rhs: left,
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
    crate::services::push_rows(p, lim, &mut out);
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
    // Nodes bought: a serving copy is a share of its candidate's nodes, not a node.
    Row {
        group: None,
        coefs: (0..p.items.len())
            .filter(|&i| p.items[i].serve.is_none())
            .map(|i| (i, -1.0))
            .collect(),
        rhs: -1.0,
        negated: true,
    }
}

/// The largest number of nodes of each item that every single row and bound allows on its own:
/// tight bounds keep microlp's branch-and-bound tree small.
pub(crate) fn upper_bounds(p: &Problem, lim: &Limits) -> Vec<f64> {
    let mut ubs: Vec<f64> = p
        .items
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
            for &(k, a) in &it.licences {
                if let Some(left) = lim.licence[k] {
                    ub = ub.min(left / a);
                }
            }
            if let Some(b) = crate::services::copy_bound(p, lim, i) {
                ub = ub.min(b);
            }
            // Over periods a serving-only order buys its nodes only as its own serving copies
            // (integer variables of their own, `period_services`), so it has none itself; on
            // one date its nodes are the variable its copies share.
            if it.serving_only && p.timeline.is_some() {
                ub = 0.0;
            }
            // Round down with a little tolerance so that 2.9999999 (from FX) counts as 3.
            let ub = (ub + 1e-9).floor().max(0.0);
            ub.min(i32::MAX as f64)
        })
        .collect();
    // A serving copy is at most all of its candidates' nodes (a continuous variable: the
    // integer solvers' i32 bounds do not apply to it).
    for (i, it) in p.items.iter().enumerate() {
        if it.serve.is_some() {
            let nodes: f64 = it.sharers.iter().map(|&c| ubs[c]).sum();
            let all = nodes * crate::services::SERVE_UNITS as f64;
            let own = crate::services::copy_bound(p, lim, i).unwrap_or(f64::INFINITY);
            ubs[i] = own.min(all).min(1e15);
        }
    }
    ubs
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
    // Over periods, two items that look alike here differ in when they arrive and which period
    // rows they count in, so none is dropped.
    if !p.extra.is_empty() {
        return out;
    }
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
    let copies = crate::services::copies_of(p);
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
                // A serving copy is a share of its own candidate's nodes: it neither dominates
                // nor is dominated (its candidate's domination fixes it at zero through the
                // coupling row).
                if p.items[i].serve.is_some() || p.items[j].serve.is_some() {
                    continue;
                }
                let (a, b) = (&p.items[i], &p.items[j]);
                // Caps: a node of `a` counts in no cap that a node of `b` does not count in.
                let same = a.caps.iter().all(|k| b.caps.contains(k))
                    && a.licences == b.licences
                    && a.vendor_country == b.vendor_country
                    && a.accels_per_node == b.accels_per_node
                    && crate::services::serves_at_least(p, &copies, i, j);
                let cost_ok = if spend_mix(j) {
                    a.node_cost == b.node_cost
                } else {
                    a.node_cost <= b.node_cost && a.node_cost_usd <= b.node_cost_usd
                };
                let better = a.pflops_per_node >= b.pflops_per_node
                    && a.node_power_w <= b.node_power_w
                    && cost_ok;
                // Between exact twins the earlier one stays.
                let twin = a.caps == b.caps
                    && crate::services::serves_at_least(p, &copies, j, i)
                    && a.pflops_per_node == b.pflops_per_node
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

/// Which MILP solver runs branch-and-bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Solver {
    /// Our own branch-and-bound (`bnb.rs`) over microlp's LP, pure Rust, always built in.
    #[default]
    Microlp,
    /// microlp's own branch-and-bound, kept for comparison.
    MicrolpBb,
    /// HiGHS, built only with the `highs` cargo feature.
    Highs,
}

impl Solver {
    pub const NAMES: [&'static str; 3] = ["microlp", "microlp-bb", "highs"];

    pub fn as_str(self) -> &'static str {
        match self {
            Solver::Microlp => "microlp",
            Solver::MicrolpBb => "microlp-bb",
            Solver::Highs => "highs",
        }
    }

    /// Whether this binary was built with the solver.
    pub fn available(self) -> bool {
        match self {
            Solver::Microlp | Solver::MicrolpBb => true,
            Solver::Highs => cfg!(feature = "highs"),
        }
    }
}

impl std::fmt::Display for Solver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Solver {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "microlp" => Ok(Solver::Microlp),
            "microlp-bb" => Ok(Solver::MicrolpBb),
            "highs" => Ok(Solver::Highs),
            other => Err(format!(
                "expected one of {}; found {other:?}",
                Solver::NAMES.join(", ")
            )),
        }
    }
}

/// Solver settings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SolverOpts {
    /// Relative gap, in the objective's own units, at which a solve may stop.
    pub gap: f64,
    /// Seconds one MILP may take before the best integer plan found so far is returned.
    pub time_limit_s: Option<f64>,
    pub solver: Solver,
}

/// Branch-and-bound nodes one microlp MILP may open: with the time limit, the budget of work
/// that keeps a hard program from growing its tree without end.
const NODE_LIMIT: u64 = 200_000;

/// Nodes our search may open on the root's neighbourhood (the items the LP or the incumbent
/// uses): a budget of work, so the plan does not depend on the machine's speed.
const NEIGHBOURHOOD_NODES: u64 = 5_000;

/// Rounds of MIR cuts before microlp's branch-and-bound (each one LP re-solve).
const CUT_ROUNDS: usize = 8;

/// Item visits the local search of one MILP may make (a few tens of milliseconds).
const POLISH_WORK: u64 = 20_000_000;

/// How far one solve got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Proof {
    Optimal,
    WithinGap,
    TimeLimit,
}

/// An integer solution: nodes per item, and what is proven about it.
#[derive(Debug, Clone)]
pub(crate) struct Solved {
    pub nodes: Vec<u64>,
    pub proof: Proof,
    /// A proven bound on the goal's optimum, in the goal's units (PFLOPS, MUSD, PFLOPS − λ·MUSD):
    /// no plan does better than this.
    pub bound: f64,
}

/// The objective coefficient of item `i` under `goal` (PFLOPS, MUSD or PFLOPS − λ·MUSD a node).
/// What a serving share costs in a min-cost program, as a share of its node's price per node
/// of shares (see [`coef`]).
const SHARE_TIE_BREAK: f64 = 1e-6;

pub(crate) fn coef(p: &Problem, goal: Goal, i: usize) -> f64 {
    let it = &p.items[i];
    match goal {
        Goal::MaxCompute | Goal::RatioFloor { .. } => it.pflops_per_node,
        // A serving share buys nothing (its candidate's nodes carry the price), but a min-cost
        // program indifferent to its shares leaves the LP at any vertex, often one that fills
        // every unit of the nodes bought; whole millionths rounded from there cannot cover the
        // rows, and the rounding buys one more node. A share therefore costs a millionth of its
        // node's price per node of shares: the LP then uses no more of a node than its rows
        // need, at a cost (10⁻⁶ of the nodes that serve) far below any gap.
        Goal::MinCost if it.serve.is_some() => {
            let node = it
                .sharers
                .first()
                .map_or(0.0, |&c| p.items[c].node_cost_usd);
            node * SHARE_TIE_BREAK / crate::services::SERVE_UNITS as f64 / USD_SCALE
        }
        Goal::MinCost => it.node_cost_usd / USD_SCALE,
        Goal::Feasibility => 0.0,
        Goal::Parametric { lambda } => it.pflops_per_node - lambda * it.node_cost_usd / USD_SCALE,
    }
}

fn minimise(goal: Goal) -> bool {
    matches!(goal, Goal::MinCost)
}

/// The scale the relative gap is measured against: the incumbent's own value, but never less
/// than `floor` (a Dinkelbach step's optimum is near zero; its floor is λ times the cheapest
/// node, so a step proven within the gap proves the ratio within the gap).
fn within(short: f64, v: f64, floor: f64, gap: f64) -> bool {
    short <= gap * v.abs().max(floor) + 1e-12 * v.abs().max(1.0)
}

/// Solves the program; `Ok(None)` when it is proven infeasible.
///
/// Items that share no row (different envelopes, sites and caps) are independent, so each
/// connected group of items is solved as its own, smaller MILP: the objective is a sum, so the
/// parts' optima make the whole's, and the parts' bounds add up to the whole's bound. Rows that
/// span every item (a min-cost target, the Dinkelbach rows) make one group.
///
/// `start`, when given and feasible, is a plan the answer is never worse than (the sensitivity
/// re-solves pass the base plan).
pub(crate) fn solve(
    p: &Problem,
    lim: &Limits,
    goal: Goal,
    opts: SolverOpts,
    start: Option<&[u64]>,
) -> Result<Option<Solved>, PlanError> {
    let rows = rows(p, lim, goal);
    let mut ubs = upper_bounds(p, lim);
    let dom = dominated(p, lim);
    // A dominated item is fixed at zero unless the start plan uses it (then it stays free, so
    // the start plan stays a feasible point of the program).
    for (i, d) in dom.into_iter().enumerate() {
        if d && start.is_none_or(|s| s[i] == 0) {
            ubs[i] = 0.0;
        }
    }
    let start = start.filter(|s| {
        s.iter().zip(&ubs).all(|(&n, &u)| n as f64 <= u) && rows.iter().all(|r| holds(r, s))
    });
    let mut nodes = vec![0u64; p.items.len()];
    let mut proof = Proof::Optimal;
    let mut bound = 0.0;
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
    let mut group_of: Vec<usize> = vec![usize::MAX; p.items.len()];
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut root_group: std::collections::HashMap<usize, usize> = Default::default();
    for &i in &live {
        let root = find(&mut parent, i);
        let g = *root_group.entry(root).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[g].push(i);
        group_of[i] = g;
    }
    // Rows whose items all have a zero bound (a target nothing can reach) decide alone.
    for r in &rows {
        let live_coefs = r.coefs.iter().any(|(i, _)| ubs[*i] >= 1.0);
        if !live_coefs && !holds(r, &nodes) {
            return Ok(None);
        }
    }
    let mut part_rows: Vec<Vec<Row>> = vec![Vec::new(); groups.len()];
    for r in &rows {
        if let Some(&(i, _)) = r.coefs.iter().find(|(i, _)| ubs[*i] >= 1.0) {
            part_rows[group_of[i]].push(r.clone());
        }
    }
    for (g, items) in groups.iter().enumerate() {
        let part = Part {
            p,
            items,
            rows: &part_rows[g],
            ubs: &ubs,
            goal,
            opts,
            budget: None,
        };
        match part.solve(start)? {
            None => return Ok(None),
            Some((x, pr, b)) => {
                for (k, &i) in items.iter().enumerate() {
                    nodes[i] = x[k];
                }
                proof = proof.max(pr);
                bound += b;
            }
        }
    }
    crate::services::trim(p, &rows, &mut nodes);
    // The solvers work in floating point: the answer is checked against the rows in their own
    // units before anyone sees it.
    if let Some(r) = rows.iter().find(|r| !holds(r, &nodes)) {
        return Err(PlanError::Solver(format!(
            "the integer answer breaks a row by {} (numerical trouble)",
            -r.slack(&nodes)
        )));
    }
    Ok(Some(Solved {
        nodes,
        proof,
        bound,
    }))
}

/// The LP relaxation's optimum of `goal` under `lim` (PFLOPS for max-compute, MUSD for min-cost):
/// a proven bound on the integer optimum; `None` when even the relaxation is infeasible. The
/// planner uses [`cut_bound`], tighter; tests compare plans with this one.
#[cfg(test)]
pub(crate) fn lp_bound(
    p: &Problem,
    lim: &Limits,
    goal: Goal,
    opts: SolverOpts,
) -> Result<Option<f64>, PlanError> {
    relaxed_bound(p, lim, goal, opts, false)
}

/// The LP relaxation's optimum of `goal` under `lim` after rounds of MIR cuts (as the search
/// makes at its root): a proven bound on the integer optimum, at least as tight as the plain
/// LP's, for a few more LP solves; `None` when even the relaxation is infeasible. It is the
/// proof behind skipping a sensitivity re-solve: when relaxing a constraint leaves this bound
/// within the gap of the base plan's value, the constraint's dual is (as good as) zero and the
/// base plan stays the answer.
pub(crate) fn cut_bound(
    p: &Problem,
    lim: &Limits,
    goal: Goal,
    opts: SolverOpts,
) -> Result<Option<f64>, PlanError> {
    relaxed_bound(p, lim, goal, opts, true)
}

/// The LP relaxation's optimum over every item that may take a node, after the root's MIR
/// rounds when `cuts`; `None` when a row no item can meet is broken at zero, or the
/// relaxation is infeasible.
fn relaxed_bound(
    p: &Problem,
    lim: &Limits,
    goal: Goal,
    opts: SolverOpts,
    cuts: bool,
) -> Result<Option<f64>, PlanError> {
    let rows = rows(p, lim, goal);
    let ubs = upper_bounds(p, lim);
    let items: Vec<usize> = (0..p.items.len()).filter(|&i| ubs[i] >= 1.0).collect();
    for r in &rows {
        if !r.coefs.iter().any(|(i, _)| ubs[*i] >= 1.0) && !holds(r, &vec![0; p.items.len()]) {
            return Ok(None);
        }
    }
    if items.is_empty() {
        return Ok(Some(0.0));
    }
    let part = Part {
        p,
        items: &items,
        rows: &rows,
        ubs: &ubs,
        goal,
        opts,
        budget: None,
    };
    let Some((x, lp)) = part.relaxation()? else {
        return Ok(None);
    };
    if cuts {
        Ok(Some(part.cut_rounds(&x, lp)?.1))
    } else {
        Ok(Some(lp))
    }
}

/// Whether `nodes` satisfies row `r`, with a tolerance relative to the row's size.
pub(crate) fn holds(r: &Row, nodes: &[u64]) -> bool {
    let scale = r
        .coefs
        .iter()
        .map(|(i, a)| (a * nodes[*i] as f64).abs())
        .fold(r.rhs.abs(), f64::max)
        .max(1.0);
    r.slack(nodes) >= -1e-9 * scale
}

/// The most nodes of an item every `≤` row but the target still lets in, at row activities
/// `act` and plan `x` (see `Part::rounded`).
type Room<'a> = dyn Fn(&[f64], &[u64], usize) -> u64 + 'a;

/// One connected group of items and the rows that touch them.
struct Part<'a> {
    p: &'a Problem,
    /// Global item indices.
    items: &'a [usize],
    rows: &'a [Row],
    ubs: &'a [f64],
    goal: Goal,
    opts: SolverOpts,
    /// A neighbourhood MILP of another search, with its budget of nodes: it runs no
    /// neighbourhood searches of its own. `None` for the program itself.
    budget: Option<u64>,
}

impl Part<'_> {
    fn coef(&self, i: usize) -> f64 {
        coef(self.p, self.goal, i)
    }

    /// Units of item `i` one unit of its LP column is: a serving copy's column counts whole
    /// nodes (its plans count [`crate::services::SERVE_UNITS`] a node), so the LP stays well
    /// scaled.
    fn col_scale(&self, i: usize) -> f64 {
        if self.p.items[i].serve.is_some() {
            crate::services::SERVE_UNITS as f64
        } else {
            1.0
        }
    }

    /// The part's objective at a local plan.
    fn value(&self, x: &[u64]) -> f64 {
        self.items
            .iter()
            .zip(x)
            .map(|(&i, &n)| self.coef(i) * n as f64)
            .sum()
    }

    /// The smallest value the gap is measured against (see [`within`]).
    fn floor(&self) -> f64 {
        match self.goal {
            Goal::Parametric { lambda } => {
                lambda
                    * self
                        .items
                        .iter()
                        .filter(|&&i| self.p.items[i].serve.is_none())
                        .map(|&i| self.p.items[i].node_cost_usd / USD_SCALE)
                        .fold(f64::INFINITY, f64::min)
            }
            _ => 0.0,
        }
    }

    fn better(&self, a: f64, b: f64) -> bool {
        if minimise(self.goal) {
            a < b
        } else {
            a > b
        }
    }

    fn global(&self, x: &[u64]) -> Vec<u64> {
        let mut nodes = vec![0u64; self.p.items.len()];
        for (k, &i) in self.items.iter().enumerate() {
            nodes[i] = x[k];
        }
        nodes
    }

    fn feasible(&self, x: &[u64]) -> bool {
        let nodes = self.global(x);
        self.items
            .iter()
            .zip(x)
            .all(|(&i, &n)| n as f64 <= self.ubs[i])
            && self.rows.iter().all(|r| holds(r, &nodes))
    }

    /// The local plan, its proof and a bound on the part's optimum; `None` when infeasible.
    fn solve(&self, start: Option<&[u64]>) -> Result<Option<(Vec<u64>, Proof, f64)>, PlanError> {
        let Some((lp_x, lp)) = self.relaxation()? else {
            return Ok(None);
        };
        // Every incumbent we can build cheaply: the start plan, the LP rounded down and
        // repaired, and the empty plan.
        let mut best: Option<(Vec<u64>, f64)> = None;
        let offer = |x: Vec<u64>, this: &Self, best: &mut Option<(Vec<u64>, f64)>| {
            if this.feasible(&x) {
                let v = this.value(&x);
                if best.as_ref().is_none_or(|(_, b)| this.better(v, *b)) {
                    *best = Some((x, v));
                }
            }
        };
        if let Some(s) = start {
            offer(self.items.iter().map(|&i| s[i]).collect(), self, &mut best);
        }
        offer(self.rounded(&lp_x), self, &mut best);
        offer(vec![0; self.items.len()], self, &mut best);
        let short = |v: f64| if minimise(self.goal) { v - lp } else { lp - v };
        let proven = |best: &Option<(Vec<u64>, f64)>| {
            best.as_ref()
                .is_some_and(|(_, v)| within(short(*v), *v, self.floor(), self.opts.gap))
        };
        // Exchanges from the best plan so far, when it is not already proven good enough
        // (maximising goals; a min-cost plan is the greedy fill's).
        if !minimise(self.goal) && !proven(&best) {
            if let Some((x, _)) = best.clone() {
                offer(self.polish(x), self, &mut best);
            }
        }
        // Relaxation-induced neighbourhood: only the items the LP or the incumbent uses stay
        // free (with as many rows as a planning program has, that is a few dozen), the rest stay
        // at zero, and the smaller MILP gets a fifth of the time budget to improve the incumbent.
        if !proven(&best)
            && self.opts.solver != Solver::Highs
            && !xpufleet_model::cancel::requested()
        {
            let used: Vec<usize> = self
                .items
                .iter()
                .enumerate()
                .filter(|&(k, _)| lp_x[k] > 1e-9 || best.as_ref().is_some_and(|(x, _)| x[k] > 0))
                .map(|(_, &i)| i)
                .collect();
            if used.len() < self.items.len() {
                let mut opts = self.opts;
                opts.time_limit_s =
                    Some(self.opts.time_limit_s.map_or(2.0, |t| (t / 5.0).min(2.0)));
                // Our search gets a budget of nodes too (as a RINS search does), so the plan
                // does not depend on the machine's speed unless that time limit hits.
                let sub = Part {
                    items: &used,
                    opts,
                    budget: (self.opts.solver == Solver::Microlp).then_some(NEIGHBOURHOOD_NODES),
                    ..*self
                };
                let local: std::collections::HashMap<usize, usize> = self
                    .items
                    .iter()
                    .enumerate()
                    .map(|(k, &i)| (i, k))
                    .collect();
                let start: Option<Vec<u64>> = best
                    .as_ref()
                    .map(|(x, _)| used.iter().map(|i| x[local[i]]).collect());
                // Our own search on the neighbourhood (microlp's own for `microlp-bb`): it
                // stops as soon as the neighbourhood's plan is proven within the gap.
                let found = if self.opts.solver == Solver::MicrolpBb {
                    sub.microlp(start.as_deref())
                } else {
                    sub.bnb(start.as_deref())
                };
                if let Ok(Some(Milp { x: Some(sx), .. })) = found {
                    let mut x = vec![0u64; self.items.len()];
                    for (k, i) in used.iter().enumerate() {
                        x[local[i]] = sx[k];
                    }
                    let x = if minimise(self.goal) {
                        x
                    } else {
                        self.polish(x)
                    };
                    offer(x, self, &mut best);
                }
            }
        }
        // A cancelled computation (the server abandoned it) stops here with the incumbent
        // and the LP bound; the branch-and-bound polls the same flag at every node.
        if xpufleet_model::cancel::requested() {
            if let Some((x, _)) = best {
                return Ok(Some((x, Proof::TimeLimit, lp)));
            }
        }
        if let Some((x, v)) = &best {
            if within(short(*v), *v, self.floor(), self.opts.gap) {
                let proof = if within(short(*v), *v, self.floor(), 0.0) {
                    Proof::Optimal
                } else {
                    Proof::WithinGap
                };
                return Ok(Some((x.clone(), proof, lp)));
            }
        }
        let start = best.as_ref().map(|(x, _)| x.as_slice());
        let (milp, lp) = match self.opts.solver {
            Solver::Microlp | Solver::MicrolpBb => {
                // microlp has no cuts of its own: rounds of MIR cuts tighten the relaxation its
                // branch-and-bound starts from, and the cut relaxation is a bound too.
                let (cuts, cut_lp) = self.cut_rounds(&lp_x, lp)?;
                let all: Vec<Row> = self.rows.iter().cloned().chain(cuts).collect();
                let with_cuts = Part {
                    rows: &all,
                    ..*self
                };
                let milp = if self.opts.solver == Solver::MicrolpBb {
                    with_cuts.microlp(start)?
                } else {
                    with_cuts.bnb(start)?
                };
                (milp, cut_lp)
            }
            Solver::Highs => (self.highs(start)?, lp),
        };
        let Some(m) = milp else {
            // Proven infeasible by the solver: trust our own feasible plan over it, if any
            // (numerical trouble), else report infeasibility.
            return Ok(best.map(|(x, _)| (x, Proof::TimeLimit, lp)));
        };
        // The proven bound is the tighter of the LP relaxation's and the solver's.
        let bound = match m.bound {
            Some(b) if minimise(self.goal) => b.max(lp).min(f64::MAX),
            Some(b) => b.min(lp),
            None => lp,
        };
        let mut x = m.x;
        let mut v = x.as_ref().map(|x| self.value(x));
        if let (Some((bx, bv)), Some(mv)) = (&best, v) {
            if self.better(*bv, mv) {
                x = Some(bx.clone());
                v = Some(*bv);
            }
        }
        if x.as_ref().is_some_and(|x| !self.feasible(x)) {
            x = best.as_ref().map(|(x, _)| x.clone());
            v = best.as_ref().map(|(_, v)| *v);
        }
        if x.is_none() {
            x = best.as_ref().map(|(x, _)| x.clone());
            v = best.as_ref().map(|(_, v)| *v);
        }
        let (Some(x), Some(v)) = (x, v) else {
            return Err(PlanError::Solver(
                "the solver stopped at its time or work limit before finding a feasible plan"
                    .into(),
            ));
        };
        let short = if minimise(self.goal) {
            v - bound
        } else {
            bound - v
        };
        let proof = if m.optimal || within(short, v, self.floor(), 0.0) {
            Proof::Optimal
        } else if within(short, v, self.floor(), self.opts.gap) {
            Proof::WithinGap
        } else {
            Proof::TimeLimit
        };
        Ok(Some((x, proof, bound)))
    }

    /// Up to [`CUT_ROUNDS`] rounds of MIR cuts ([`crate::cuts::mir`]) on the part's rows, each
    /// at the LP point of the rows and the cuts so far: the cuts and the last relaxation's value
    /// (a bound on the part's optimum, never looser than `lp`).
    fn cut_rounds(&self, lp_x: &[f64], lp: f64) -> Result<(Vec<Row>, f64), PlanError> {
        let mut cuts: Vec<Row> = Vec::new();
        let mut x = lp_x.to_vec();
        let mut value = lp;
        for _ in 0..CUT_ROUNDS {
            let mut xg = vec![0.0; self.p.items.len()];
            for (k, &i) in self.items.iter().enumerate() {
                xg[i] = x[k];
            }
            let new = crate::cuts::mir(self.rows, &xg, self.ubs);
            if new.is_empty() {
                break;
            }
            let mut all: Vec<Row> = self.rows.to_vec();
            all.extend(cuts.iter().cloned());
            all.extend(new.iter().cloned());
            let part = Part {
                rows: &all,
                ..*self
            };
            let Some((nx, nv)) = part.relaxation()? else {
                // Valid cuts keep every integer point: an infeasible cut relaxation is
                // floating-point trouble, so the cuts are dropped rather than trusted.
                return Ok((Vec::new(), lp));
            };
            cuts.extend(new);
            let moved = (nv - value).abs() > 1e-9 * value.abs().max(1.0);
            value = if minimise(self.goal) {
                nv.max(value)
            } else {
                nv.min(value)
            };
            x = nx;
            if !moved {
                break;
            }
        }
        Ok((cuts, value))
    }

    /// The LP relaxation: its solution and value; `None` when even it is infeasible.
    fn relaxation(&self) -> Result<Option<(Vec<f64>, f64)>, PlanError> {
        let (pb, xs) = self.microlp_problem(false);
        match pb.solve() {
            Ok(microlp::SolveOutcome::Solution(s)) => {
                let x: Vec<f64> = xs
                    .iter()
                    .zip(self.items)
                    .map(|(v, &i)| s.var_value(*v) * self.col_scale(i))
                    .collect();
                let lp = self
                    .items
                    .iter()
                    .zip(&x)
                    .map(|(&i, v)| self.coef(i) * v)
                    .sum();
                Ok(Some((x, lp)))
            }
            Ok(microlp::SolveOutcome::Interrupted(_)) => Err(PlanError::Solver(
                "the LP relaxation hit the time limit".into(),
            )),
            Err(microlp::Error::Infeasible) => Ok(None),
            Err(microlp::Error::Unbounded) => Err(PlanError::Solver(
                "the program is unbounded: some candidate has no budget, cap or power limit".into(),
            )),
            Err(e) => Err(PlanError::Solver(e.to_string())),
        }
    }

    /// `x` improved by [`crate::search::improve`] over the part's rows.
    fn polish(&self, x: Vec<u64>) -> Vec<u64> {
        let mut local = vec![usize::MAX; self.p.items.len()];
        for (k, &i) in self.items.iter().enumerate() {
            local[i] = k;
        }
        let rows: Vec<LocalRow> = self
            .rows
            .iter()
            .map(|r| {
                let coefs: Vec<(usize, f64)> = r
                    .coefs
                    .iter()
                    .filter(|(i, _)| local[*i] != usize::MAX)
                    .map(|&(i, a)| (local[i], a))
                    .collect();
                let big = coefs
                    .iter()
                    .map(|&(k, a)| a.abs() * self.ubs[self.items[k]].min(1e12))
                    .fold(r.rhs.abs(), f64::max)
                    .max(1.0);
                LocalRow {
                    coefs,
                    rhs: r.rhs,
                    tol: 1e-10 * big,
                }
            })
            .collect();
        let c: Vec<f64> = self.items.iter().map(|&i| self.coef(i)).collect();
        let ub: Vec<u64> = self.items.iter().map(|&i| self.ubs[i] as u64).collect();
        crate::search::improve(&c, &ub, &rows, x, POLISH_WORK)
    }

    /// A first integer plan from the LP relaxation: round every item down (which keeps every
    /// `≤` row with non-negative coefficients), repair any row that rounding broke (a supplier
    /// mix: take away nodes that count against it, least valuable per unit of breach first), then
    /// add nodes greedily while every row still holds: for max-compute the most valuable node
    /// first, for min-cost the most PFLOPS per dollar first until the target is met.
    fn rounded(&self, lp_x: &[f64]) -> Vec<u64> {
        let n = self.items.len();
        let mut x: Vec<u64> = (0..n)
            .map(|k| ((lp_x[k] + 1e-9).floor().max(0.0) as u64).min(self.ubs[self.items[k]] as u64))
            .collect();
        let local: std::collections::HashMap<usize, usize> = self
            .items
            .iter()
            .enumerate()
            .map(|(k, &i)| (i, k))
            .collect();
        // Row activities, kept up to date as nodes move, and each item's rows.
        let mut by_item: Vec<Vec<(usize, f64)>> = vec![Vec::new(); n];
        let mut act = vec![0.0f64; self.rows.len()];
        for (r, row) in self.rows.iter().enumerate() {
            for &(i, a) in &row.coefs {
                if let Some(&k) = local.get(&i) {
                    by_item[k].push((r, a));
                    act[r] += a * x[k] as f64;
                }
            }
        }
        let is_target = |r: usize| self.rows[r].group == Some(Group::Target);
        // Slack a row keeps for floating point, relative to its size.
        let tol: Vec<f64> = self
            .rows
            .iter()
            .map(|row| {
                let big = row
                    .coefs
                    .iter()
                    .map(|(i, a)| a.abs() * self.ubs[*i].min(1e12))
                    .fold(row.rhs.abs(), f64::max)
                    .max(1.0);
                1e-10 * big
            })
            .collect();
        let ok = |act: &[f64], r: usize| act[r] <= self.rows[r].rhs + tol[r];
        // The most nodes of item k every row but the target still lets in.
        let room = |act: &[f64], x: &[u64], k: usize| -> u64 {
            let mut m = (self.ubs[self.items[k]] as u64).saturating_sub(x[k]) as f64;
            for &(r, a) in &by_item[k] {
                if a > 0.0 && !is_target(r) {
                    m = m.min(((self.rows[r].rhs + tol[r] - act[r]) / a).floor().max(0.0));
                }
            }
            m as u64
        };
        // Repair: every row but the target (which the fill below meets, if anything can).
        for r in (0..self.rows.len()).filter(|&r| !is_target(r)) {
            let mut guard = 0;
            while !ok(&act, r) && guard < 1_000_000 {
                guard += 1;
                // The node whose removal cuts the breach most per unit of objective lost.
                let pick = self.rows[r]
                    .coefs
                    .iter()
                    .filter_map(|&(i, a)| local.get(&i).map(|&k| (k, i, a)))
                    .filter(|&(k, _, a)| a > 0.0 && x[k] > 0)
                    .max_by(|a, b| {
                        let score = |(_, i, a): (usize, usize, f64)| {
                            a / self.coef(i).abs().max(f64::MIN_POSITIVE)
                        };
                        score(*a).total_cmp(&score(*b))
                    });
                let Some((k, _, a)) = pick else { break };
                // As many as the breach needs at once (a serving copy's units come by the
                // million).
                let breach = act[r] - self.rows[r].rhs;
                let take = ((breach / a).ceil().max(1.0) as u64).min(x[k]);
                x[k] -= take;
                for &(q, b) in &by_item[k] {
                    act[q] -= b * take as f64;
                }
            }
        }
        self.cover(&mut x, &mut act, &by_item, &local, &room, &ok);
        if !(0..self.rows.len()).all(|r| is_target(r) || ok(&act, r)) {
            x = vec![0; n];
            act = vec![0.0; self.rows.len()];
        }
        let target_row = (0..self.rows.len()).find(|&r| is_target(r));
        // PFLOPS still missing from the target (≤ 0 when met); the target row is stored
        // negated, so its activity is −PFLOPS and its rhs −target.
        let short = |act: &[f64]| target_row.map_or(0.0, |r| act[r] - self.rows[r].rhs);
        let min_cost = minimise(self.goal);
        let mut order: Vec<usize> = (0..n).collect();
        if min_cost || target_row.is_some() {
            let per_usd = |k: usize| {
                let it = &self.p.items[self.items[k]];
                it.pflops_per_node / it.node_cost_usd
            };
            order.sort_by(|&a, &b| per_usd(b).total_cmp(&per_usd(a)));
        } else {
            order.sort_by(|&a, &b| {
                self.coef(self.items[b])
                    .total_cmp(&self.coef(self.items[a]))
            });
        }
        for &k in &order {
            let i = self.items[k];
            let mut add = room(&act, &x, k);
            if min_cost {
                let s = short(&act);
                if s <= 0.0 {
                    break;
                }
                add = add.min((s / self.p.items[i].pflops_per_node).ceil() as u64);
            } else if self.coef(i) <= 0.0 && short(&act) <= 0.0 {
                continue;
            }
            if add > 0 {
                x[k] += add;
                for &(r, a) in &by_item[k] {
                    act[r] += a * add as f64;
                }
            }
        }
        // A Dinkelbach step needs at least one node even when no node pays for itself at λ.
        if matches!(self.goal, Goal::Parametric { .. } | Goal::RatioFloor { .. })
            && x.iter().all(|&m| m == 0)
        {
            if let Some(&k) = order.iter().find(|&&k| room(&act, &x, k) >= 1) {
                x[k] = 1;
            }
        }
        x
    }

    /// Covers the service rows (`≥` rows whose coefficients are all serving shares) that rounding
    /// down left short: first with more of a share whose candidate has bought nodes to spare
    /// (the least PFLOPS lost per token first), then with one more node of a candidate that may
    /// serve the row (the most tokens per USD first) wherever every `≤` row lets it in.
    fn cover(
        &self,
        x: &mut [u64],
        act: &mut [f64],
        by_item: &[Vec<(usize, f64)>],
        local: &std::collections::HashMap<usize, usize>,
        room: &Room,
        ok: &dyn Fn(&[f64], usize) -> bool,
    ) {
        let add = |x: &mut [u64], act: &mut [f64], k: usize, n: u64| {
            x[k] += n;
            for &(q, a) in &by_item[k] {
                act[q] += a * n as f64;
            }
        };
        for (r, row) in self.rows.iter().enumerate() {
            let covering = row.group.is_some_and(|g| matches!(g, Group::Service(_)))
                || (row.negated
                    && !row.coefs.is_empty()
                    && row
                        .coefs
                        .iter()
                        .all(|&(i, a)| a < 0.0 && self.p.items[i].serve.is_some()));
            if !covering {
                continue;
            }
            let mut guard = 0;
            while !ok(act, r) && guard < 10_000 {
                guard += 1;
                let short = act[r] - row.rhs;
                let share = row
                    .coefs
                    .iter()
                    .filter_map(|&(i, a)| local.get(&i).map(|&k| (k, i, -a)))
                    .filter(|&(k, _, a)| a > 0.0 && room(act, x, k) >= 1)
                    .min_by(|a, b| {
                        let loss = |(_, i, a): (usize, usize, f64)| self.coef(i).abs() / a;
                        loss(*a).total_cmp(&loss(*b)).then(b.2.total_cmp(&a.2))
                    });
                if let Some((k, _, a)) = share {
                    let n = ((short / a).ceil().max(1.0) as u64).min(room(act, x, k));
                    add(x, act, k, n);
                    continue;
                }
                let node = row
                    .coefs
                    .iter()
                    .flat_map(|&(i, a)| {
                        self.p.items[i].sharers.iter().filter_map(move |&c| {
                            let k = *local.get(&c)?;
                            let usd = self.p.items[c].node_cost_usd.max(f64::MIN_POSITIVE);
                            Some((k, -a / usd))
                        })
                    })
                    .filter(|&(k, _)| room(act, x, k) >= 1)
                    .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)));
                let Some((k, _)) = node else { break };
                add(x, act, k, 1);
            }
        }
    }

    /// The part as a microlp problem (its LP relaxation when `integer` is false), with one
    /// extra variable fixed at 1 whose objective coefficient lifts the objective by the gap's
    /// floor, so that microlp's relative gap is measured as [`within`] measures it.
    fn microlp_problem(&self, integer: bool) -> (microlp::Problem, Vec<microlp::Variable>) {
        use microlp::{ComparisonOp, LinearExpr, OptimizationDirection, Problem};
        let mut pb = Problem::new(if minimise(self.goal) {
            OptimizationDirection::Minimize
        } else {
            OptimizationDirection::Maximize
        });
        if let Some(t) = self.opts.time_limit_s {
            pb.set_time_limit(std::time::Duration::from_secs_f64(t.max(0.0)));
        }
        let mut local = vec![usize::MAX; self.p.items.len()];
        let xs: Vec<microlp::Variable> = self
            .items
            .iter()
            .enumerate()
            .map(|(k, &i)| {
                local[i] = k;
                let ub = self.ubs[i];
                let s = self.col_scale(i);
                if integer && self.p.items[i].serve.is_none() {
                    pb.add_integer_var(self.coef(i), (0, ub as i32))
                } else {
                    pb.add_var(self.coef(i) * s, (0.0, ub / s))
                }
            })
            .collect();
        let floor = self.floor();
        if integer && floor > 0.0 {
            pb.add_var(floor, (1.0, 1.0));
        }
        for r in self.rows {
            // Each row is scaled so its largest number is 1: budgets of 4e10 next to node
            // prices of 7e5 would otherwise strain the simplex's tolerances.
            let scale = r
                .coefs
                .iter()
                .map(|&(i, a)| (a * self.col_scale(i)).abs())
                .fold(r.rhs.abs(), f64::max);
            let scale = if scale > 0.0 { 1.0 / scale } else { 1.0 };
            let mut e = LinearExpr::empty();
            for &(i, a) in &r.coefs {
                if local[i] != usize::MAX {
                    e.add(xs[local[i]], a * self.col_scale(i) * scale);
                }
            }
            pb.add_constraint(e, ComparisonOp::Le, r.rhs * scale);
        }
        (pb, xs)
    }

    /// Our branch-and-bound ([`crate::bnb`]) over the part, from the incumbent `start`.
    fn bnb(&self, start: Option<&[u64]>) -> Result<Option<Milp>, PlanError> {
        let sign = if minimise(self.goal) { -1.0 } else { 1.0 };
        let c: Vec<f64> = self.items.iter().map(|&i| sign * self.coef(i)).collect();
        let ub: Vec<f64> = self.items.iter().map(|&i| self.ubs[i]).collect();
        let mut local = vec![usize::MAX; self.p.items.len()];
        for (k, &i) in self.items.iter().enumerate() {
            local[i] = k;
        }
        let rows: Vec<(Vec<(usize, f64)>, f64)> = self
            .rows
            .iter()
            .map(|r| {
                let coefs = r
                    .coefs
                    .iter()
                    .filter(|(i, _)| local[*i] != usize::MAX)
                    .map(|&(i, a)| (local[i], a))
                    .collect();
                (coefs, r.rhs)
            })
            .collect();
        let program = crate::bnb::Program {
            c: &c,
            ub: &ub,
            rows: &rows,
            gap: self.opts.gap,
            floor: self.floor(),
            deadline: self.opts.time_limit_s.map(|t| {
                std::time::Instant::now() + std::time::Duration::from_secs_f64(t.max(0.0))
            }),
            node_limit: self.budget.unwrap_or(NODE_LIMIT),
            rins_every: crate::bnb::RINS_EVERY,
            fixing: self.budget.is_none(),
        };
        let out =
            match crate::bnb::solve(&program, self, start.map(|s| s.to_vec())) {
                Ok(Some(out)) => out,
                Ok(None) => return Ok(None),
                Err(microlp::Error::Unbounded) => return Err(PlanError::Solver(
                    "the program is unbounded: some candidate has no budget, cap or power limit"
                        .into(),
                )),
                Err(e) => return Err(PlanError::Solver(e.to_string())),
            };
        Ok(Some(Milp {
            x: out.x,
            bound: Some(sign * out.bound),
            // With no gap to prune by, an exhausted tree proves the plan optimal.
            optimal: out.stop == crate::bnb::Stop::Done && self.opts.gap == 0.0,
        }))
    }

    fn microlp(&self, start: Option<&[u64]>) -> Result<Option<Milp>, PlanError> {
        let (pb, xs) = self.microlp_problem(true);
        let mut o = microlp::SolveOptions::default();
        o.time_limit = self
            .opts
            .time_limit_s
            .map(|t| std::time::Duration::from_secs_f64(t.max(0.0)));
        o.node_limit = Some(NODE_LIMIT);
        o.mip_gap = self.opts.gap;
        o.warm_start = start.map(|x| {
            xs.iter()
                .zip(x)
                .zip(self.items)
                .map(|((v, &n), &i)| (*v, n as f64 / self.col_scale(i)))
                .collect()
        });
        let offset = if self.floor() > 0.0 {
            self.floor()
        } else {
            0.0
        };
        match pb.solve_with(o) {
            Ok(microlp::SolveOutcome::Solution(s)) => {
                let x = xs
                    .iter()
                    .zip(self.items)
                    .map(|(v, &i)| {
                        (s.var_value_raw(*v) * self.col_scale(i)).round().max(0.0) as u64
                    })
                    .collect();
                Ok(Some(Milp {
                    x: Some(x),
                    bound: s.stats().best_bound.map(|b| b - offset),
                    optimal: s.termination_reason() == microlp::TerminationReason::ProvenOptimal,
                }))
            }
            Ok(microlp::SolveOutcome::Interrupted(i)) => Ok(Some(Milp {
                x: None,
                bound: i.stats().best_bound.map(|b| b - offset),
                optimal: false,
            })),
            Err(microlp::Error::Infeasible) => Ok(None),
            Err(microlp::Error::Unbounded) => Err(PlanError::Solver(
                "the program is unbounded: some candidate has no budget, cap or power limit".into(),
            )),
            Err(e) => Err(PlanError::Solver(e.to_string())),
        }
    }

    #[cfg(not(feature = "highs"))]
    fn highs(&self, _start: Option<&[u64]>) -> Result<Option<Milp>, PlanError> {
        Err(PlanError::Invalid(
            "this xpufleet was built without HiGHS: rebuild with `--features highs` or use --solver microlp".into(),
        ))
    }

    #[cfg(feature = "highs")]
    fn highs(&self, start: Option<&[u64]>) -> Result<Option<Milp>, PlanError> {
        use highs::{HighsModelStatus, RowProblem, Sense};
        let mut pb = RowProblem::default();
        let mut local = vec![usize::MAX; self.p.items.len()];
        let cols: Vec<highs::Col> = self
            .items
            .iter()
            .enumerate()
            .map(|(k, &i)| {
                local[i] = k;
                if self.p.items[i].serve.is_some() {
                    pb.add_column(self.coef(i), 0.0..=self.ubs[i])
                } else {
                    pb.add_integer_column(self.coef(i), 0.0..=self.ubs[i])
                }
            })
            .collect();
        let floor = self.floor();
        if floor > 0.0 {
            pb.add_column(floor, 1.0..=1.0);
        }
        for r in self.rows {
            let scale = r
                .coefs
                .iter()
                .map(|(_, a)| a.abs())
                .fold(r.rhs.abs(), f64::max);
            let scale = if scale > 0.0 { 1.0 / scale } else { 1.0 };
            let row: Vec<(highs::Col, f64)> = r
                .coefs
                .iter()
                .filter(|(i, _)| local[*i] != usize::MAX)
                .map(|&(i, a)| (cols[local[i]], a * scale))
                .collect();
            pb.add_row(..=r.rhs * scale, row);
        }
        let sense = if minimise(self.goal) {
            Sense::Minimise
        } else {
            Sense::Maximise
        };
        let mut model = pb
            .try_optimise(sense)
            .map_err(|e| PlanError::Solver(format!("HiGHS: {e:?}")))?;
        model.make_quiet();
        model.set_option("mip_rel_gap", self.opts.gap);
        model.set_option("threads", 1);
        if let Some(t) = self.opts.time_limit_s {
            model.set_option("time_limit", t.max(0.0));
        }
        if let Some(x) = start {
            let mut sol: Vec<f64> = x.iter().map(|&n| n as f64).collect();
            if floor > 0.0 {
                sol.push(1.0);
            }
            let _ = model.try_set_solution(Some(&sol), None, None, None);
        }
        let solved = model
            .try_solve()
            .map_err(|e| PlanError::Solver(format!("HiGHS: {e:?}")))?;
        let offset = if floor > 0.0 { floor } else { 0.0 };
        let status = solved.status();
        match status {
            HighsModelStatus::Infeasible => return Ok(None),
            HighsModelStatus::Unbounded | HighsModelStatus::UnboundedOrInfeasible => {
                return Err(PlanError::Solver(format!("HiGHS: {status:?}")))
            }
            _ => {}
        }
        let bound = solved
            .double_info_value(c"mip_dual_bound")
            .ok()
            .filter(|b| b.is_finite())
            .map(|b| b - offset);
        let has_x = solved.primal_solution_status() == highs::HighsSolutionStatus::Feasible;
        let x = has_x.then(|| {
            solved.get_solution().columns()[..self.items.len()]
                .iter()
                .map(|v| v.round().max(0.0) as u64)
                .collect()
        });
        Ok(Some(Milp {
            x,
            bound,
            optimal: status == HighsModelStatus::Optimal && solved.mip_gap() <= 1e-9,
        }))
    }
}

/// The part's own heuristics, for the branch-and-bound's nodes (local indices).
impl crate::bnb::Heuristics for Part<'_> {
    fn round(&self, x: &[f64]) -> Option<Vec<u64>> {
        let r = self.rounded(x);
        self.feasible(&r).then_some(r)
    }

    fn polish(&self, x: Vec<u64>) -> Vec<u64> {
        // The exchanges maximise; a min-cost plan is the greedy fill's.
        if minimise(self.goal) {
            x
        } else {
            Part::polish(self, x)
        }
    }

    fn feasible(&self, x: &[u64]) -> bool {
        Part::feasible(self, x)
    }

    fn continuous(&self, k: usize) -> bool {
        self.p.items[self.items[k]].serve.is_some()
    }

    fn scale(&self, k: usize) -> f64 {
        self.col_scale(self.items[k])
    }

    /// RINS: the items on which the node's LP point and the incumbent agree stay fixed at the
    /// incumbent's nodes, and our branch-and-bound searches the rest (the rows' limits less
    /// what the fixed items use) in at most [`crate::bnb::RINS_NODES`] nodes and by `deadline`.
    /// `None` when the two agree on fewer than a quarter of the items (the neighbourhood would
    /// be the whole program), inside another neighbourhood, or when nothing better is found.
    fn neighbourhood(
        &self,
        lp: &[f64],
        inc: &[u64],
        deadline: Option<std::time::Instant>,
    ) -> Option<Vec<u64>> {
        if self.budget.is_some() || minimise(self.goal) {
            return None;
        }
        let n = self.items.len();
        let free: Vec<usize> = (0..n)
            .filter(|&k| (lp[k] - inc[k] as f64).abs() > 1e-6)
            .collect();
        if free.is_empty() || free.len() * 4 > n * 3 {
            return None;
        }
        let mut fixed = vec![true; n];
        for &k in &free {
            fixed[k] = false;
        }
        let mut local = vec![usize::MAX; self.p.items.len()];
        for (k, &i) in self.items.iter().enumerate() {
            local[i] = k;
        }
        let rows: Vec<Row> = self
            .rows
            .iter()
            .map(|r| {
                let used: f64 = r
                    .coefs
                    .iter()
                    .filter(|(i, _)| local[*i] != usize::MAX && fixed[local[*i]])
                    .map(|&(i, a)| a * inc[local[i]] as f64)
                    .sum();
                Row {
                    group: r.group,
                    coefs: r
                        .coefs
                        .iter()
                        .filter(|(i, _)| local[*i] != usize::MAX && !fixed[local[*i]])
                        .copied()
                        .collect(),
                    rhs: r.rhs - used,
                    negated: r.negated,
                }
            })
            .collect();
        let items: Vec<usize> = free.iter().map(|&k| self.items[k]).collect();
        let mut opts = self.opts;
        opts.time_limit_s = deadline.map(|d| {
            d.saturating_duration_since(std::time::Instant::now())
                .as_secs_f64()
        });
        let sub = Part {
            items: &items,
            rows: &rows,
            opts,
            budget: Some(crate::bnb::RINS_NODES),
            ..*self
        };
        let start: Vec<u64> = free.iter().map(|&k| inc[k]).collect();
        let Ok(Some(Milp { x: Some(sx), .. })) = sub.bnb(Some(&start)) else {
            return None;
        };
        let mut x = inc.to_vec();
        for (j, &k) in free.iter().enumerate() {
            x[k] = sx[j];
        }
        (self.feasible(&x) && self.value(&x) > self.value(inc)).then_some(x)
    }
}

/// What a MILP solver returned: its best plan (if any), its proven bound and whether it proved
/// optimality.
struct Milp {
    x: Option<Vec<u64>>,
    bound: Option<f64>,
    optimal: bool,
}

/// The max-compute program of `scenario` as plain text, for checking a solve with another solver
/// (the `synth` example writes it; `docs/benchmarks.md` says how it was used): a line `c` with
/// the objective (PFLOPS a node), a line `ub` with the variables' upper bounds (dominated items
/// fixed at 0), then one line per row, `rhs a0:i0 a1:i1 ...` for `Σ a·x ≤ rhs`.
#[doc(hidden)]
pub fn program_text(
    scenario: &xpufleet_model::Scenario,
    catalog: &xpufleet_model::Catalog,
    gate: &dyn xpufleet_comply::Gate,
    perf: &dyn crate::Mfu,
) -> Result<String, PlanError> {
    use std::fmt::Write;
    // A scenario with periods is written as the program over all of them.
    let p = if scenario.periods.is_empty() {
        crate::prepare::prepare(scenario, catalog, gate, perf, scenario.date)?
    } else {
        crate::periods::prepare_periods(
            scenario,
            catalog,
            gate,
            perf,
            &[],
            &[],
            &xpufleet_perf::serving::ServingParams::default(),
        )?
    };
    let lim = Limits::of(&p, None);
    let rows = rows(&p, &lim, Goal::MaxCompute);
    let mut ubs = upper_bounds(&p, &lim);
    for (i, d) in dominated(&p, &lim).into_iter().enumerate() {
        if d {
            ubs[i] = 0.0;
        }
    }
    let mut out = String::new();
    let join = |v: Vec<String>| v.join(" ");
    let _ = writeln!(
        out,
        "c {}",
        join(
            (0..p.items.len())
                .map(|i| format!("{:e}", coef(&p, Goal::MaxCompute, i)))
                .collect()
        )
    );
    let _ = writeln!(
        out,
        "ub {}",
        join(ubs.iter().map(|u| format!("{u}")).collect())
    );
    for r in &rows {
        let _ = writeln!(
            out,
            "{:e} {}",
            r.rhs,
            join(r.coefs.iter().map(|(i, a)| format!("{a:e}:{i}")).collect())
        );
    }
    Ok(out)
}
