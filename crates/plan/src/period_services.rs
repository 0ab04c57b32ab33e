//! Serving demand in a plan over periods: each period's services are attached as on one date
//! ([`services::attach`], on the period's own view of the fleet), and the serving copies it
//! makes become variables of the program over all periods.
//!
//! In the order [`attach_periods`] builds it:
//! 1. *each period's view*: the items present in period `u` (purchases delivered by its start,
//!    its own leases), the scenario with the period's token volumes (`[[period]].services`,
//!    `service_growth`) and length, and a gate that judges each use on the period's first and
//!    last day. `services::attach_unshared` gives the existing pools to the period's rows
//!    first (serving verdicts in force then), and makes the serving copies (whole or
//!    prefill/decode split) of the items the period's rules let serve, each its own item's
//!    (`sharers` is that one item: alike candidates do not share copies here);
//! 2. *one variable per serving copy*: a copy of the item ordered in period `t`, for one
//!    service row and role, is one integer variable however many periods it serves in: the
//!    nodes are bought once (budget, supply, power and licence rows count them as their
//!    parent's), serve in every period they are present in where that period's rules allow,
//!    and never train (no PFLOPS). A node that serves in a period does not train in it, nor in
//!    any other: unlike one date's copies, continuous shares of a candidate's one node count,
//!    these are whole nodes bought apart from the order's training nodes, since over periods a
//!    node keeps its use for its life (and a serving-only order buys only these);
//! 3. *covering rows per period*: `service:<row>@<period>` (and `.../prefill` where the period
//!    offers split copies), `Σ min(tokens/s per node, need) · nodes ≥ need`, over the copies
//!    present in the period; the same coefficient strengthening as on one date;
//! 4. a candidate's `max_nodes` holds for its order and the order's copies together
//!    (`max_nodes:<id>@<period>`);
//! 5. *never fail*: [`solve_covering`] lowers the rows a conflict names, as on one date, and
//!    each period's report says its shortfall and what binds;
//! 6. after the solve, [`postpone`] moves serving nodes to the same candidate's later orders
//!    where that costs the same and every row holds, so capacity is bought when it is needed.

use std::collections::BTreeMap;

use xpufleet_comply::{Gate, UseRequest, Verdict};
use xpufleet_model::{Catalog, Date, Purpose, Scenario};
use xpufleet_perf::serving::{ServingParams, ServingProfile};

use crate::periods::{ExtraKind, ExtraRow, ItemTime, PeriodInfo};
use crate::prepare::{Item, Problem};
use crate::services::{self, Attached, Role, ServiceReport, SERVE_UNITS};

/// One period's view of the services: the program `services::attach` built for it.
#[derive(Debug, Clone)]
pub(crate) struct PeriodServing {
    /// The items present in the period, then the serving copies `attach` made of them; its
    /// service rows are the period's.
    pub problem: Problem,
    pub attached: Attached,
    /// Per item of `problem`, its index in the program over all periods.
    pub global: Vec<usize>,
    /// The scenario as the period sees it: its token volumes and its length.
    pub scenario: Scenario,
    /// Per service row of `problem`, the rows of `Problem::extra` that cover it (decode, and
    /// prefill where split).
    pub extra: Vec<Vec<usize>>,
}

/// What a serving copy in the program over all periods copies.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CopyOf {
    /// The training item (an order in one period).
    pub parent: usize,
    /// Index into the scenario's services.
    pub service: usize,
    /// The same candidate's copy for the same service row and role ordered in the nearest
    /// later period that has one ([`postpone`] moves nodes to it).
    pub later: Option<usize>,
}

/// A gate that judges each use on two dates, the period's first and last day: usable only
/// when usable on both (a rule enacted inside a period binds the whole period).
struct BothEnds<'a> {
    inner: &'a dyn Gate,
    end: Date,
}

impl BothEnds<'_> {
    fn judge(&self, req: &UseRequest, ask: impl Fn(&UseRequest) -> Verdict) -> Verdict {
        let first = ask(req);
        if !first.usable() || req.date >= self.end {
            return first;
        }
        ask(&UseRequest {
            date: self.end,
            ..req.clone()
        })
    }
}

impl Gate for BothEnds<'_> {
    fn verdict(&self, req: &UseRequest) -> Verdict {
        self.judge(req, |r| self.inner.verdict(r))
    }

    fn verdict_for(&self, req: &UseRequest, purpose: Purpose) -> Verdict {
        self.judge(req, |r| self.inner.verdict_for(r, purpose))
    }
}

/// The scenario as period `per` sees it: every service's token volumes in the period, and the
/// period's length as the horizon (a lease's cost per hour is over it).
pub(crate) fn period_scenario(
    scenario: &Scenario,
    per: &xpufleet_model::Period,
    days: f64,
) -> Scenario {
    let mut sc = scenario.clone();
    sc.plan.horizon_days = days;
    for v in &mut sc.services {
        let (input, output) = per.service_volumes(v);
        v.input_tokens_per_day = input;
        v.output_tokens_per_day = output;
    }
    sc
}

/// Attaches every period's services to the program over periods: appends the serving copies
/// to `out.items` (and their times to `times`, as their parent's with no PFLOPS), the covering
/// and `max_nodes` rows to `out.extra`, and returns each period's view and what each copy
/// copies (`None` for a training item).
#[allow(clippy::too_many_arguments)]
pub(crate) fn attach_periods(
    out: &mut Problem,
    times: &mut Vec<ItemTime>,
    scenario: &Scenario,
    catalog: &Catalog,
    gate: &dyn Gate,
    periods: &[PeriodInfo],
    profiles: &[ServingProfile],
    params: &ServingParams,
) -> (Vec<PeriodServing>, Vec<Option<CopyOf>>) {
    let n_training = out.items.len();
    let mut copy_of: Vec<Option<CopyOf>> = vec![None; n_training];
    let mut views = Vec::new();
    if scenario.services.is_empty() {
        return (views, copy_of);
    }
    // (training item, service row id, role) → the copy's variable.
    let mut variable: BTreeMap<(usize, String, &'static str), usize> = BTreeMap::new();
    for (u, per) in periods.iter().enumerate() {
        let sc = period_scenario(scenario, &scenario.periods[u], per.days);
        let present: Vec<usize> = (0..n_training)
            .filter(|&g| times[g].present.contains(&u))
            .collect();
        let mut view = Problem {
            items: present.iter().map(|&g| out.items[g].clone()).collect(),
            excluded: Vec::new(),
            latent: Vec::new(),
            envelopes: out.envelopes.clone(),
            mixes: Vec::new(),
            caps: Vec::new(),
            sites: out.sites.clone(),
            service_rows: Vec::new(),
            warnings: Vec::new(),
            extra: Vec::new(),
            timeline: None,
            licences: Vec::new(),
        };
        let ends = BothEnds {
            inner: gate,
            end: per.end,
        };
        // Unshared: each view copy is one order's, so it maps to one variable here.
        let attached =
            services::attach_unshared(&mut view, &sc, catalog, &ends, per.start, profiles, params);
        let mut global = present.clone();
        for k in present.len()..view.items.len() {
            let sv = view.items[k].serve.expect("attach appends serving copies");
            let [parent] = view.items[k].sharers[..] else {
                unreachable!("an unshared copy belongs to one item")
            };
            let g = present[parent];
            let row = &view.service_rows[sv.row];
            let key = (g, row.id.clone(), sv.role.as_str());
            let service = row.service;
            let i = *variable.entry(key).or_insert_with(|| {
                out.items.push(Item {
                    pflops_per_node: 0.0,
                    max_nodes: None,
                    serve: None,
                    serving_only: false,
                    ..out.items[g].clone()
                });
                times.push(ItemTime {
                    pflops_per_node: 0.0,
                    ..times[g].clone()
                });
                copy_of.push(Some(CopyOf {
                    parent: g,
                    service,
                    later: None,
                }));
                out.items.len() - 1
            });
            global.push(i);
        }
        let mut extra = Vec::new();
        for (r, row) in view.service_rows.iter().enumerate() {
            let mut mine = Vec::new();
            if let Some(need) = row.need() {
                let copies: Vec<(usize, crate::services::Serve)> = (present.len()
                    ..view.items.len())
                    .filter_map(|k| view.items[k].serve.map(|s| (k, s)))
                    .filter(|(_, s)| s.row == r)
                    .collect();
                let split = copies.iter().any(|(_, s)| s.role != Role::Both);
                let phases: &[Role] = if split {
                    &[Role::Decode, Role::Prefill]
                } else {
                    &[Role::Decode]
                };
                for &phase in phases {
                    // Coefficient strengthening as on one date (`services::covering_row`): a
                    // node that carries the row alone counts for the whole row.
                    let coefs: Vec<(usize, f64)> = copies
                        .iter()
                        .filter(|(_, s)| s.role == Role::Both || s.role == phase)
                        .map(|&(k, s)| (global[k], s.per_node_per_s.min(need)))
                        .collect();
                    let suffix = if phase == Role::Prefill {
                        "/prefill"
                    } else {
                        ""
                    };
                    mine.push(out.extra.len());
                    out.extra.push(ExtraRow {
                        id: format!("service:{}@{}{suffix}", row.id, per.id),
                        kind: ExtraKind::Service,
                        coefs,
                        limit: need,
                        at_least: true,
                        offset: 0.0,
                        unit: "output tokens/s".into(),
                        scale: need,
                    });
                }
            }
            extra.push(mine);
        }
        views.push(PeriodServing {
            problem: view,
            attached,
            global,
            scenario: sc,
            extra,
        });
    }
    // Each copy's twin in the nearest later period: same candidate, service row and role.
    for (&(g, ref row, role), &i) in &variable {
        let later = variable
            .iter()
            .filter(|(&(h, ref r, q), _)| {
                r == row
                    && q == role
                    && out.items[h].id == out.items[g].id
                    && times[h].period > times[g].period
            })
            .min_by_key(|(&(h, _, _), _)| times[h].period)
            .map(|(_, &j)| j);
        if let Some(c) = copy_of[i].as_mut() {
            c.later = later;
        }
    }
    // A candidate's `max_nodes` holds for each order and its serving copies together.
    for g in 0..n_training {
        let Some(m) = out.items[g].max_nodes else {
            continue;
        };
        let copies: Vec<usize> = (n_training..out.items.len())
            .filter(|&i| copy_of[i].is_some_and(|c| c.parent == g))
            .collect();
        if copies.is_empty() {
            continue;
        }
        let mut coefs = vec![(g, 1.0)];
        coefs.extend(copies.into_iter().map(|i| (i, 1.0)));
        out.extra.push(ExtraRow {
            id: format!(
                "max_nodes:{}@{}",
                out.items[g].id, periods[times[g].period].id
            ),
            kind: ExtraKind::MaxNodes,
            coefs,
            limit: m as f64,
            at_least: false,
            offset: 0.0,
            unit: "nodes".into(),
            scale: m as f64,
        });
    }
    (views, copy_of)
}

/// Rows lowered to fit: (period, the period's service row, the constraint ids that bind it).
pub(crate) type PeriodShortfalls = Vec<(usize, usize, Vec<String>)>;

/// Solves with every period's service rows, and when no plan covers them all, lowers the rows
/// the conflict names to the largest share of their demand that fits (to 1/64 of it), naming
/// what binds: `services::solve_covering` over the rows of a plan over periods.
pub(crate) fn solve_covering<T>(
    p: &Problem,
    lim: &mut crate::model::Limits,
    mut solve: impl FnMut(&crate::model::Limits) -> Result<Option<T>, crate::PlanError>,
    mut conflict: impl FnMut(&crate::model::Limits) -> crate::PlanError,
    mut feasible: impl FnMut(&crate::model::Limits) -> bool,
) -> Result<(T, PeriodShortfalls), crate::PlanError> {
    let views: &[PeriodServing] = p
        .timeline
        .as_ref()
        .map(|t| t.serving.as_slice())
        .unwrap_or(&[]);
    // Each service row's extra rows, with its period and index.
    let groups: Vec<(usize, usize, &[usize])> = views
        .iter()
        .enumerate()
        .flat_map(|(u, v)| {
            v.extra
                .iter()
                .enumerate()
                .filter(|(_, ks)| !ks.is_empty())
                .map(move |(r, ks)| (u, r, ks.as_slice()))
        })
        .collect();
    let mut shortfalls: PeriodShortfalls = Vec::new();
    for _ in 0..=groups.len() + 1 {
        if let Some(t) = solve(lim)? {
            return Ok((t, shortfalls));
        }
        let err = conflict(lim);
        let crate::PlanError::Infeasible { conflict: ids, .. } = &err else {
            return Err(err);
        };
        let named: Vec<&(usize, usize, &[usize])> = groups
            .iter()
            .filter(|(_, _, ks)| {
                ks.iter()
                    .any(|&k| lim.extra[k].is_some() && ids.contains(&p.extra[k].id))
            })
            .collect();
        if named.is_empty() {
            return Err(err);
        }
        let binds: Vec<String> = ids
            .iter()
            .filter(|id| {
                !p.extra
                    .iter()
                    .any(|x| x.kind == ExtraKind::Service && &x.id == *id)
            })
            .cloned()
            .collect();
        for &&(u, r, ks) in &named {
            let full: Vec<f64> = ks.iter().map(|&k| lim.extra[k].unwrap_or(0.0)).collect();
            let set = |l: &mut crate::model::Limits, share: f64| {
                for (&k, &f) in ks.iter().zip(&full) {
                    l.extra[k] = (share > 0.0).then_some(f * share);
                }
            };
            let share = crate::services::largest_fitting_share(lim, &mut feasible, set);
            set(lim, share);
            shortfalls.push((u, r, binds.clone()));
        }
    }
    Err(crate::PlanError::Solver(
        "the services could not be fitted to the other constraints".into(),
    ))
}

/// Each period's services at `nodes` (the program's), as on one date.
pub(crate) fn reports(
    p: &Problem,
    nodes: &[u64],
    shortfalls: &PeriodShortfalls,
    params: &ServingParams,
) -> Vec<Vec<ServiceReport>> {
    let Some(tl) = p.timeline.as_ref() else {
        return Vec::new();
    };
    tl.serving
        .iter()
        .enumerate()
        .map(|(u, v)| {
            let local = view_nodes(&v.problem, &v.global, nodes);
            let short: Vec<(usize, Vec<String>)> = shortfalls
                .iter()
                .filter(|(w, _, _)| *w == u)
                .map(|(_, r, b)| (*r, b.clone()))
                .collect();
            services::reports(&v.scenario, &v.problem, &v.attached, &local, &short, params)
        })
        .collect()
}

/// The program's `nodes` as `services::reports` reads a period's view: a copy in
/// [`SERVE_UNITS`] of a node (its whole nodes here), and an order as its training nodes and the
/// nodes its copies serve with in the period, so that `services::shares` gives each copy's
/// nodes to the order it was bought with.
fn view_nodes(view: &Problem, global: &[usize], nodes: &[u64]) -> Vec<u64> {
    let mut local: Vec<u64> = global.iter().map(|&i| nodes[i]).collect();
    for (k, it) in view.items.iter().enumerate() {
        if it.serve.is_none() {
            continue;
        }
        for &c in &it.sharers {
            local[c] += local[k];
        }
        local[k] = local[k].saturating_mul(SERVE_UNITS);
    }
    local
}

/// Serving capacity bought no earlier than it is needed: moves serving nodes, one at a time,
/// from an order to the same candidate's order in the nearest later period (same service row
/// and role) wherever that costs exactly the same and earns the same PFLOPS (a purchase at one
/// price; not a lease of another length) and every row of the program still holds. The
/// objective's value is unchanged, so the plan's status, bound and gap stay true; among plans
/// of equal value it is the one that commits money latest, which is what a solver indifferent
/// between them would not choose by itself.
pub(crate) fn postpone(p: &Problem, lim: &crate::model::Limits, x: &[u64]) -> Vec<u64> {
    use crate::model::{self, Goal};
    let mut x = x.to_vec();
    let Some(tl) = p.timeline.as_ref() else {
        return x;
    };
    let moves: Vec<(usize, usize)> = tl
        .copies
        .iter()
        .enumerate()
        .filter_map(|(i, c)| c.and_then(|c| c.later).map(|j| (i, j)))
        .filter(|&(i, j)| {
            let same = |goal: Goal| {
                let (a, b) = (model::coef(p, goal, i), model::coef(p, goal, j));
                (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1e-300)
            };
            same(Goal::MinCost) && same(Goal::MaxCompute)
        })
        .collect();
    if moves.is_empty() {
        return x;
    }
    let rows = model::rows(p, lim, Goal::Feasibility);
    let ubs = model::upper_bounds(p, lim);
    let mut by_item: Vec<Vec<(usize, f64)>> = vec![Vec::new(); p.items.len()];
    for (r, row) in rows.iter().enumerate() {
        for &(i, a) in &row.coefs {
            by_item[i].push((r, a));
        }
    }
    let mut act: Vec<f64> = rows
        .iter()
        .map(|r| r.coefs.iter().map(|&(i, a)| a * x[i] as f64).sum())
        .collect();
    // Whether one node moved from `i` to `j` keeps every row (`Σ a·x ≤ rhs`) holding.
    let fits = |act: &[f64], i: usize, j: usize| {
        let mut delta: Vec<(usize, f64)> = by_item[j].clone();
        for &(r, a) in &by_item[i] {
            match delta.iter_mut().find(|(q, _)| *q == r) {
                Some((_, d)) => *d -= a,
                None => delta.push((r, -a)),
            }
        }
        delta.iter().all(|&(r, d)| {
            let tol = 1e-9 * rows[r].rhs.abs().max(1.0);
            d <= 0.0 || act[r] + d <= rows[r].rhs + tol
        })
    };
    // A node may move several periods on, one period a pass.
    for _ in 0..tl.periods.len() {
        let mut moved = false;
        for &(i, j) in &moves {
            while x[i] > 0 && ((x[j] + 1) as f64) <= ubs[j] + 1e-9 && fits(&act, i, j) {
                x[i] -= 1;
                x[j] += 1;
                for &(r, a) in &by_item[i] {
                    act[r] -= a;
                }
                for &(r, a) in &by_item[j] {
                    act[r] += a;
                }
                moved = true;
            }
        }
        if !moved {
            break;
        }
    }
    debug_assert!(rows.iter().all(|r| model::holds(r, &x)));
    x
}
