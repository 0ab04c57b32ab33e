//! Plans over time (`[[period]]`): one MILP over every period. Each candidate becomes one integer
//! variable per period it can be ordered in (its nodes ordered then); what is bought stays from
//! its delivery on, a lease counts only in the period it runs, budgets and supply caps bind per
//! period, and each period's orders are judged by the gate on the period's first and last day.
//!
//! The program reuses the one-date machinery: `prepare` runs once per period (on its start date,
//! with the period's budgets and length), its items, envelopes, mixes, caps and sites are renamed
//! `id@period` and stacked, and the rows that span periods (power and demand by period, each
//! envelope's total budget) are [`ExtraRow`]s. `docs/planning.md` writes the formulation out.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use xpufleet_comply::{Gate, UseKind, UseRequest};
use xpufleet_model::{CandidateMode, Catalog, Date, Money, Scenario};

use crate::model::{self, Goal, Limits};
use crate::prepare::{prepare, Excluded, ExclusionKind, Problem, Reason};
use crate::{PlanError, PlanLine};

/// What an extra row limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExtraKind {
    /// An envelope's spend over all periods, in its currency.
    Budget,
    /// A site's draw in one period, W over the existing pools.
    Power,
    /// Effective PFLOPS present in one period (a `≥` row).
    Target,
    /// A service (or request bucket, or its prefill phase) in one period, output tokens a
    /// second at its peak (a `≥` row, `period_services.rs`).
    Service,
    /// An order's nodes and its serving copies' together, at most the candidate's `max_nodes`.
    MaxNodes,
}

/// A row that spans periods: `Σ coef · x ≤ limit` (or `≥` when `at_least`), with positive
/// coefficients in the row's own units.
#[derive(Debug, Clone)]
pub(crate) struct ExtraRow {
    /// The constraint id the report shows: `budget:capex`, `power:site@2025Q3`, `target@2025Q3`.
    pub id: String,
    pub kind: ExtraKind,
    pub coefs: Vec<(usize, f64)>,
    pub limit: f64,
    pub at_least: bool,
    /// Added to the row's value and limit when reported (the existing pools' draw, W).
    pub offset: f64,
    /// The unit the report shows (a currency for a budget).
    pub unit: String,
    /// What one relaxation step is a fraction of (the site's whole limit for power, W).
    pub scale: f64,
}

/// One period as the program sees it.
#[derive(Debug, Clone)]
pub(crate) struct PeriodInfo {
    pub id: String,
    pub start: Date,
    pub end: Date,
    pub days: f64,
    pub target_pflops: Option<f64>,
}

/// When one item is ordered and when its nodes are there.
#[derive(Debug, Clone)]
pub(crate) struct ItemTime {
    /// The period it is ordered (and paid) in.
    pub period: usize,
    /// The periods its nodes count in: from delivery to the end for a purchase, its own period
    /// for a lease.
    pub present: std::ops::Range<usize>,
    pub site: String,
    pub envelope: String,
    /// Effective PFLOPS of one node while present (the item's `pflops_per_node` is this
    /// weighted by the share of the plan's days it is present).
    pub pflops_per_node: f64,
}

/// The periods of a plan over time and each item's place in them.
#[derive(Debug, Clone)]
pub(crate) struct Timeline {
    pub periods: Vec<PeriodInfo>,
    pub items: Vec<ItemTime>,
    /// Each period's view of the services (empty without `[[service]]`).
    pub serving: Vec<crate::period_services::PeriodServing>,
    /// Per item, what it copies when it is a serving copy (`None`: an order whose nodes train).
    pub copies: Vec<Option<crate::period_services::CopyOf>>,
}

/// One period of a plan: what is ordered in it and the capacity there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeriodPlan {
    pub id: String,
    pub start: Date,
    /// The period's last day.
    pub end: Date,
    /// What is ordered (bought, or leased for the period) in it.
    pub lines: Vec<PlanLine>,
    /// Spent in the period, USD.
    pub spend_usd: f64,
    /// Effective PFLOPS present in the period: purchases delivered by its start and the leases
    /// that run in it (the existing pools not counted, as in a one-date plan).
    pub effective_pflops: f64,
    /// The demand the period had to meet, when the objective has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_pflops: Option<f64>,
    /// The capacity present, by part, in catalog order of first appearance.
    pub capacity: Vec<PartCapacity>,
    /// Each `[[service]]` in the period: its demand then, what covers it (the pools and the
    /// nodes present in the period that its rules let serve) and at what cost, as the plan's
    /// top-level `services` (absent without services).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<crate::ServiceReport>,
}

/// How much of one part is present in a period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartCapacity {
    pub accelerator: String,
    pub units: u64,
    pub effective_pflops: f64,
}

/// Builds the program over `scenario.periods`. `targets[u]` is period `u`'s demand floor, when
/// the objective has one.
pub(crate) fn prepare_periods(
    scenario: &Scenario,
    catalog: &Catalog,
    gate: &dyn Gate,
    perf: &dyn crate::Mfu,
    targets: &[Option<f64>],
    profiles: &[xpufleet_perf::serving::ServingProfile],
    params: &xpufleet_perf::serving::ServingParams,
) -> Result<Problem, PlanError> {
    let periods: Vec<PeriodInfo> = scenario
        .periods
        .iter()
        .enumerate()
        .map(|(u, p)| PeriodInfo {
            id: p.id.clone(),
            start: p.start,
            end: p.end,
            days: p.days() as f64,
            target_pflops: targets.get(u).copied().flatten(),
        })
        .collect();
    for (u, p) in periods.iter().enumerate() {
        if p.days < 1.0 {
            return Err(PlanError::Invalid(format!(
                "period {}: ends ({}) before it starts ({})",
                p.id, p.end, p.start
            )));
        }
        if u > 0 && p.start <= periods[u - 1].end {
            return Err(PlanError::Invalid(format!(
                "period {}: starts on {}, inside period {} (to {}); periods must be in order without overlap",
                p.id,
                p.start,
                periods[u - 1].id,
                periods[u - 1].end
            )));
        }
    }
    let total_days: f64 = periods.iter().map(|p| p.days).sum();
    let (n_s, n_k) = (scenario.sites.len(), scenario.supply_caps.len());
    let mut out = Problem {
        items: Vec::new(),
        excluded: Vec::new(),
        envelopes: Vec::new(),
        mixes: Vec::new(),
        caps: Vec::new(),
        sites: Vec::new(),
        warnings: Vec::new(),
        extra: Vec::new(),
        timeline: None,
        // Candidates a limit excludes are not re-admitted by sensitivities over periods.
        latent: Vec::new(),
        service_rows: Vec::new(),
        licences: Vec::new(),
    };
    let mut times: Vec<ItemTime> = Vec::new();
    // Per candidate id, the reasons it was left out, with the period each applies in.
    let mut left_out: BTreeMap<String, Vec<(usize, Reason)>> = BTreeMap::new();
    for (t, per) in scenario.periods.iter().enumerate() {
        let mut sc = scenario.clone();
        sc.plan.horizon_days = periods[t].days;
        for e in &mut sc.envelopes {
            if let Some(m) = per.budgets.get(&e.id) {
                e.budget = m.clone();
            }
        }
        sc.candidates.retain(|c| {
            if c.mode != CandidateMode::Lease {
                return true;
            }
            let why = match (c.from, c.until) {
                (Some(f), _) if per.start < f => Some(format!("the lease is on offer from {f}")),
                (_, Some(u)) if per.end > u => Some(format!("the lease is on offer until {u}")),
                _ => None,
            };
            let keep = why.is_none();
            if let Some(detail) = why {
                left_out.entry(c.id.clone()).or_default().push((
                    t,
                    Reason {
                        kind: ExclusionKind::Period,
                        detail,
                    },
                ));
            }
            keep
        });
        let p = prepare(&sc, catalog, gate, perf, per.start)?;
        let eo = out.envelopes.len();
        let mo = out.mixes.len();
        for e in p.envelopes {
            out.envelopes.push(crate::prepare::EnvelopeRow {
                id: format!("{}@{}", e.id, per.id),
                ..e
            });
        }
        for m in p.mixes {
            out.mixes.push(crate::prepare::MixRow {
                id: format!("{}@{}", m.id, per.id),
                envelope: m.envelope + eo,
                ..m
            });
        }
        debug_assert_eq!(out.mixes.len(), mo + scenario.supplier_mix.len());
        for c in p.caps {
            out.caps.push(crate::prepare::CapRow {
                id: format!("{}@{}", c.id, per.id),
                ..c
            });
        }
        for s in p.sites {
            out.sites.push(crate::prepare::SiteRow {
                id: format!("{}@{}", s.id, per.id),
                bound_only: true,
                ..s
            });
        }
        // A licence's rows span every period (what is bought under it in any period counts),
        // and depend only on the pools: every period's prepare gives the same ones.
        out.licences = p.licences;
        for w in p.warnings {
            // A licence's warnings concern the whole plan, not one period.
            let w = if w.starts_with("licence ") {
                w
            } else {
                format!("{}: {w}", per.id)
            };
            out.warnings.push(w);
        }
        for x in p.excluded {
            let entry = left_out.entry(x.candidate.clone()).or_default();
            entry.extend(x.reasons.into_iter().map(|r| (t, r)));
        }
        for mut it in p.items {
            let c = scenario
                .candidates
                .iter()
                .find(|c| c.id == it.id)
                .expect("an item is a candidate");
            // A rule enacted inside the period: the order must be usable on its last day too
            // (the reason then reads as from the period on, since the order falls in it).
            let req = UseRequest {
                user: scenario.company.clone(),
                target: it.id.clone(),
                kind: match it.mode {
                    CandidateMode::Buy => UseKind::Own,
                    CandidateMode::Lease => UseKind::Remote,
                },
                workload_flops: None,
                date: per.end,
            };
            let verdict = gate.verdict(&req);
            // As on one date, an order its training verdict excludes may still be bought to
            // serve where its serving verdict allows (`prepare`).
            let serving = || {
                !scenario.services.is_empty()
                    && crate::services::verdict_for(gate, &req, crate::services::Use::Serving)
                        .usable()
            };
            let unusable = if it.serving_only {
                let v = crate::services::verdict_for(gate, &req, crate::services::Use::Serving);
                (!v.usable()).then(|| v.summary())
            } else if !verdict.usable() && serving() {
                left_out.entry(it.id.clone()).or_default().push((
                    t,
                    Reason {
                        kind: ExclusionKind::Verdict,
                        detail: format!(
                            "for training: {} (serving is allowed, so it may be bought to serve)",
                            verdict.summary()
                        ),
                    },
                ));
                it.serving_only = true;
                it.pflops_per_node = 0.0;
                None
            } else {
                (!verdict.usable()).then(|| verdict.summary())
            };
            if let Some(detail) = unusable {
                left_out.entry(it.id.clone()).or_default().push((
                    t,
                    Reason {
                        kind: ExclusionKind::Verdict,
                        // The period's runs name when; the same words as a verdict on the start
                        // date let the two merge into one reason.
                        detail,
                    },
                ));
                continue;
            }
            let present = match it.mode {
                CandidateMode::Lease => t..t + 1,
                CandidateMode::Buy => {
                    let lead = c.lead_time_days.unwrap_or(0);
                    let arrives = per.start.plus_days(lead);
                    match (t..periods.len()).find(|&u| periods[u].start >= arrives) {
                        Some(u) => u..periods.len(),
                        None => {
                            left_out.entry(it.id.clone()).or_default().push((
                                t,
                                Reason {
                                    kind: ExclusionKind::Period,
                                    detail: format!(
                                        "ordered on {} with a lead time of {lead} days it arrives on {arrives}, after the last period starts",
                                        per.start
                                    ),
                                },
                            ));
                            continue;
                        }
                    }
                }
            };
            let days: f64 = periods[present.clone()].iter().map(|p| p.days).sum();
            let raw = it.pflops_per_node;
            let site_index = it.site;
            times.push(ItemTime {
                period: t,
                present: present.clone(),
                site: scenario.sites[site_index].id.clone(),
                envelope: scenario.envelopes[it.envelope].id.clone(),
                pflops_per_node: raw,
            });
            let mut item = it;
            item.envelope += eo;
            item.site = present.start * n_s + site_index;
            item.caps = item.caps.iter().map(|k| t * n_k + k).collect();
            item.pflops_per_node = raw * days / total_days;
            out.items.push(item);
        }
    }
    out.warnings.sort();
    out.warnings.dedup();
    for p in &scenario.periods {
        if !p.service_demand.is_empty() {
            out.warnings.push(format!(
                "period {}: service_demand ({}) is not planned for: give each service's tokens a day in `services = {{ id = {{ output_tokens_per_day = ... }} }}`",
                p.id,
                p.service_demand.keys().cloned().collect::<Vec<_>>().join(", ")
            ));
        }
    }
    out.excluded = excluded(scenario, &periods, left_out);
    // The services' copies are appended before the rows over periods are built, so that the
    // budget and power rows count the nodes bought to serve.
    let (serving, copies) = crate::period_services::attach_periods(
        &mut out, &mut times, scenario, catalog, gate, &periods, profiles, params,
    );
    // Each envelope's own budget caps its spend over all periods.
    for (e, env) in scenario.envelopes.iter().enumerate() {
        let coefs: Vec<(usize, f64)> = times
            .iter()
            .enumerate()
            .filter(|(_, tm)| tm.envelope == env.id)
            .map(|(i, _)| (i, out.items[i].node_cost))
            .collect();
        if !coefs.is_empty() {
            out.extra.push(ExtraRow {
                id: format!("budget:{}", env.id),
                kind: ExtraKind::Budget,
                coefs,
                limit: scenario.envelopes[e].budget.amount,
                at_least: false,
                offset: 0.0,
                unit: env.budget.currency.to_string(),
                scale: 0.0,
            });
        }
    }
    // Each site's draw in each period: everything delivered by then and the period's leases.
    for (u, per) in periods.iter().enumerate() {
        for (s, site) in scenario.sites.iter().enumerate() {
            let row = &out.sites[u * n_s + s];
            let Some(headroom) = row.headroom_w() else {
                continue;
            };
            let coefs: Vec<(usize, f64)> = times
                .iter()
                .enumerate()
                .filter(|(_, tm)| tm.site == site.id && tm.present.contains(&u))
                .map(|(i, _)| (i, out.items[i].node_power_w))
                .collect();
            if !coefs.is_empty() {
                out.extra.push(ExtraRow {
                    id: format!("power:{}@{}", site.id, per.id),
                    kind: ExtraKind::Power,
                    coefs,
                    limit: headroom,
                    at_least: false,
                    offset: row.existing_w.clone().unwrap_or(0.0),
                    unit: "MW".into(),
                    scale: row.limit_w,
                });
            }
        }
    }
    // Each period's demand.
    for (u, per) in periods.iter().enumerate() {
        let Some(target) = per.target_pflops else {
            continue;
        };
        let coefs: Vec<(usize, f64)> = times
            .iter()
            .enumerate()
            .filter(|(_, tm)| tm.present.contains(&u) && tm.pflops_per_node > 0.0)
            .map(|(i, tm)| (i, tm.pflops_per_node))
            .collect();
        out.extra.push(ExtraRow {
            id: format!("target@{}", per.id),
            kind: ExtraKind::Target,
            coefs,
            limit: target,
            at_least: true,
            offset: 0.0,
            unit: "effective PFLOPS".into(),
            scale: 0.0,
        });
    }
    out.timeline = Some(Timeline {
        periods,
        items: times,
        serving,
        copies,
    });
    Ok(out)
}

/// Each left-out candidate once, in scenario order, its reasons prefixed with the periods they
/// apply in (`2025Q1-2025Q4: ...`); a candidate planned in some periods and left out of others
/// is listed for the others.
fn excluded(
    scenario: &Scenario,
    periods: &[PeriodInfo],
    mut left_out: BTreeMap<String, Vec<(usize, Reason)>>,
) -> Vec<Excluded> {
    let mut out = Vec::new();
    for c in &scenario.candidates {
        let Some(entries) = left_out.remove(&c.id) else {
            continue;
        };
        // Distinct reasons in first-seen order, each with its periods.
        let mut by_reason: Vec<(Reason, Vec<usize>)> = Vec::new();
        for (t, r) in entries {
            match by_reason.iter_mut().find(|(q, _)| *q == r) {
                Some((_, ts)) => ts.push(t),
                None => by_reason.push((r, vec![t])),
            }
        }
        let reasons: Vec<Reason> = by_reason
            .into_iter()
            .map(|(r, ts)| Reason {
                kind: r.kind,
                detail: format!("{}: {}", period_runs(periods, &ts), r.detail),
            })
            .collect();
        out.push(Excluded {
            candidate: c.id.clone(),
            accelerator: c.accelerator.clone(),
            site: c.site.clone(),
            mode: c.mode,
            reason: reasons
                .iter()
                .map(|r| r.detail.as_str())
                .collect::<Vec<_>>()
                .join("; "),
            reasons,
            excluded_use: None,
        });
    }
    out
}

/// "2025Q1-2025Q4, 2026Q2": runs of consecutive periods.
fn period_runs(periods: &[PeriodInfo], ts: &[usize]) -> String {
    let mut ts = ts.to_vec();
    ts.sort_unstable();
    ts.dedup();
    let mut parts = Vec::new();
    let mut k = 0;
    while k < ts.len() {
        let mut j = k;
        while j + 1 < ts.len() && ts[j + 1] == ts[j] + 1 {
            j += 1;
        }
        if j == k {
            parts.push(periods[ts[k]].id.clone());
        } else {
            parts.push(format!("{}-{}", periods[ts[k]].id, periods[ts[j]].id));
        }
        k = j + 1;
    }
    if ts.len() == periods.len() && periods.len() > 1 {
        return "every period".into();
    }
    parts.join(", ")
}

/// A first plan that meets every period's demand, for min-cost and compute-per-dollar: period
/// by period, the most PFLOPS per dollar first, as many nodes as the rows let in and the demand
/// still needs. `None` when it cannot meet them (the MILP then decides).
pub(crate) fn greedy(p: &Problem, lim: &Limits) -> Option<Vec<u64>> {
    let tl = p.timeline.as_ref()?;
    let rows = model::rows(p, lim, Goal::Feasibility);
    let ubs = model::upper_bounds(p, lim);
    let n = p.items.len();
    let mut x = vec![0u64; n];
    let mut by_item: Vec<Vec<(usize, f64)>> = vec![Vec::new(); n];
    for (r, row) in rows.iter().enumerate() {
        for &(i, a) in &row.coefs {
            by_item[i].push((r, a));
        }
    }
    let mut act = vec![0.0f64; rows.len()];
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| {
        let r = |i: usize| tl.items[i].pflops_per_node / p.items[i].node_cost_usd;
        r(b).total_cmp(&r(a))
    });
    for (u, per) in tl.periods.iter().enumerate() {
        let Some(target) = per.target_pflops else {
            continue;
        };
        let have = |x: &[u64]| -> f64 {
            tl.items
                .iter()
                .enumerate()
                .filter(|(_, t)| t.present.contains(&u))
                .map(|(i, t)| t.pflops_per_node * x[i] as f64)
                .sum()
        };
        for &i in order.iter().filter(|&&i| tl.items[i].present.contains(&u)) {
            let short = target - have(&x);
            if short <= 1e-9 * target.max(1.0) {
                break;
            }
            let mut room = (ubs[i] as u64).saturating_sub(x[i]) as f64;
            for &(r, a) in &by_item[i] {
                if a > 0.0 {
                    let slack = rows[r].rhs - act[r];
                    room = room.min((slack / a + 1e-9).floor().max(0.0));
                }
            }
            let need = (short / tl.items[i].pflops_per_node).ceil();
            let add = room.min(need) as u64;
            if add > 0 {
                x[i] += add;
                for &(r, a) in &by_item[i] {
                    act[r] += a * add as f64;
                }
            }
        }
    }
    rows.iter().all(|r| model::holds(r, &x)).then_some(x)
}

/// The plan's lines, one per order with nodes (its serving copies' nodes counted in it, as
/// `serving_nodes`), named by the real site and envelope and the period they are ordered in;
/// `effective_pflops` is what the training nodes give while present.
pub(crate) fn lines(p: &Problem, nodes: &[u64]) -> Vec<PlanLine> {
    let Some(tl) = p.timeline.as_ref() else {
        return crate::report::lines(p, nodes);
    };
    let (serving, services) = serving_of(p, nodes);
    let mut out = Vec::new();
    for (i, (it, &trains)) in p.items.iter().zip(nodes).enumerate() {
        if tl.copies.get(i).is_some_and(|c| c.is_some()) {
            continue;
        }
        let n = trains + serving[i];
        if n == 0 {
            continue;
        }
        let tm = &tl.items[i];
        let env = &p.envelopes[it.envelope];
        let site = &p.sites[it.site];
        out.push(PlanLine {
            candidate: it.id.clone(),
            accelerator: it.accelerator.clone(),
            vendor: it.vendor.clone(),
            vendor_country: it.vendor_country.clone(),
            site: tm.site.clone(),
            country: site.country.clone(),
            mode: it.mode,
            nodes: n,
            units: n * it.accels_per_node,
            chips: n * it.chips_per_node,
            spend: it.node_cost * n as f64,
            currency: env.currency.to_string(),
            spend_usd: it.node_cost_usd * n as f64,
            envelope: tm.envelope.clone(),
            power_mw: it.node_power_w * n as f64 / 1e6,
            mfu: it.mfu,
            effective_pflops: tm.pflops_per_node * trains as f64,
            serving_nodes: serving[i],
            line_use: crate::LineUse::of(n, serving[i]),
            services: services[i].clone(),
            period: Some(tl.periods[tm.period].id.clone()),
        });
    }
    out
}

/// Per order: the nodes its serving copies have, and the services they serve (in scenario
/// order).
fn serving_of(p: &Problem, nodes: &[u64]) -> (Vec<u64>, Vec<Vec<String>>) {
    let n = p.items.len();
    let (mut count, mut which) = (vec![0u64; n], vec![Vec::<usize>::new(); n]);
    if let Some(tl) = p.timeline.as_ref() {
        for (i, c) in tl.copies.iter().enumerate() {
            let Some(c) = c else { continue };
            if nodes[i] == 0 {
                continue;
            }
            count[c.parent] += nodes[i];
            if !which[c.parent].contains(&c.service) {
                which[c.parent].push(c.service);
            }
        }
    }
    // Every period's view has the scenario's services, in its order.
    let id = |s: usize| {
        p.timeline
            .as_ref()
            .and_then(|tl| tl.serving.first())
            .map(|v| v.scenario.services[s].id.clone())
    };
    let names = which
        .into_iter()
        .map(|mut w| {
            w.sort_unstable();
            w.into_iter().filter_map(id).collect()
        })
        .collect();
    (count, names)
}

/// Per item, the line of `lines(p, nodes)` it counts in (an order's copies count in its line).
fn line_index(p: &Problem, nodes: &[u64]) -> Vec<Option<usize>> {
    let Some(tl) = p.timeline.as_ref() else {
        return Vec::new();
    };
    let (serving, _) = serving_of(p, nodes);
    let mut own = vec![None; p.items.len()];
    let mut k = 0;
    for i in 0..p.items.len() {
        if tl.copies.get(i).is_some_and(|c| c.is_some()) {
            continue;
        }
        if nodes[i] + serving[i] > 0 {
            own[i] = Some(k);
            k += 1;
        }
    }
    (0..p.items.len())
        .map(|i| match tl.copies.get(i).copied().flatten() {
            Some(c) => own[c.parent],
            None => own[i],
        })
        .collect()
}

/// Each period's orders, spend, capacity by part and services (`services[u]`, empty without
/// `[[service]]`).
pub(crate) fn report(
    p: &Problem,
    nodes: &[u64],
    mut services: Vec<Vec<crate::ServiceReport>>,
) -> Vec<PeriodPlan> {
    let Some(tl) = p.timeline.as_ref() else {
        return Vec::new();
    };
    let all = lines(p, nodes);
    let line_of = line_index(p, nodes);
    services.resize(tl.periods.len(), Vec::new());
    tl.periods
        .iter()
        .zip(services)
        .enumerate()
        .map(|(u, (per, services))| {
            // Each line once: an order's own item names it (its copies share the line).
            let own = |i: usize| tl.copies.get(i).is_none_or(|c| c.is_none());
            let lines: Vec<PlanLine> = (0..p.items.len())
                .filter(|&i| own(i) && tl.items[i].period == u)
                .filter_map(|i| line_of[i].map(|k| all[k].clone()))
                .collect();
            let mut capacity: Vec<PartCapacity> = Vec::new();
            for i in (0..p.items.len()).filter(|&i| own(i) && tl.items[i].present.contains(&u)) {
                let Some(k) = line_of[i] else { continue };
                let l = &all[k];
                match capacity.iter_mut().find(|c| c.accelerator == l.accelerator) {
                    Some(c) => {
                        c.units += l.units;
                        c.effective_pflops += l.effective_pflops;
                    }
                    None => capacity.push(PartCapacity {
                        accelerator: l.accelerator.clone(),
                        units: l.units,
                        effective_pflops: l.effective_pflops,
                    }),
                }
            }
            PeriodPlan {
                id: per.id.clone(),
                start: per.start,
                end: per.end,
                spend_usd: lines.iter().map(|l| l.spend_usd).sum(),
                effective_pflops: capacity.iter().map(|c| c.effective_pflops).sum(),
                target_pflops: per.target_pflops,
                capacity,
                lines,
                services,
            }
        })
        .collect()
}

/// The average of the periods' effective PFLOPS, weighted by their days.
pub(crate) fn average_pflops(periods: &[PeriodPlan]) -> f64 {
    let days: f64 = periods
        .iter()
        .map(|p| p.start.days_until(p.end) as f64 + 1.0)
        .sum();
    if days <= 0.0 {
        return 0.0;
    }
    periods
        .iter()
        .map(|p| p.effective_pflops * (p.start.days_until(p.end) as f64 + 1.0))
        .sum::<f64>()
        / days
}

/// An amount in the currency `unit`, in words (a budget row's relaxation step).
pub(crate) fn money(amount: f64, unit: &str) -> String {
    Money::new(amount, unit).to_string()
}

/// The most the plan's nodes draw at once, MW: per period, everything delivered by then and
/// the period's leases.
pub(crate) fn peak_power_mw(p: &Problem, nodes: &[u64]) -> f64 {
    let Some(tl) = p.timeline.as_ref() else {
        return 0.0;
    };
    (0..tl.periods.len())
        .map(|u| {
            (0..p.items.len())
                .filter(|&i| tl.items[i].present.contains(&u))
                .map(|i| p.items[i].node_power_w * nodes[i] as f64)
                .sum::<f64>()
                / 1e6
        })
        .fold(0.0, f64::max)
}

/// Over periods, a candidate's coefficients are those of its first period's variable, with the
/// effective PFLOPS of a node while present rather than weighted by the days it is present.
pub(crate) fn present_coefs(p: &Problem, coefs: &mut [crate::CandidateCoefs]) {
    let Some(tl) = p.timeline.as_ref() else {
        return;
    };
    for c in coefs.iter_mut() {
        if let Some(i) = p.items.iter().position(|it| it.id == c.id) {
            c.effective_pflops_per_node = Some(tl.items[i].pflops_per_node);
        }
    }
}

/// Share of the time limit kept for the windows of [`improve_by_windows`] when a max-compute
/// plan is over periods: the search over all periods gets the rest, and the windows, when that
/// search stops at its limit, what is left of the time limit since the search began, at least
/// [`WINDOWS_MIN_SHARE`] of it. Measured on the 12 × 130 program, 6 s of search and the
/// windows beat 10 s of search alone, in less time (`docs/benchmarks.md`).
pub(crate) const WINDOWS_SHARE: f64 = 0.4;

/// The least share of the time limit the windows get.
pub(crate) const WINDOWS_MIN_SHARE: f64 = 0.2;

/// The instant `seconds` from now; `None` for no limit, or one too far to represent (an
/// infinite limit is none), and a negative or NaN limit is now.
pub(crate) fn deadline(seconds: Option<f64>) -> Option<std::time::Instant> {
    let d = std::time::Duration::try_from_secs_f64(seconds?.max(0.0)).ok()?;
    std::time::Instant::now().checked_add(d)
}

/// Fix-and-optimise over time (the lot-sizing heuristic): from a feasible max-compute plan
/// `x`, each period in turn is re-solved with its own orders free and every other order fixed
/// at `x` (their use of the rows that span periods, the envelopes' totals, power in the periods
/// their nodes are present and the licences, taken off those rows' limits), starting from `x`'s
/// orders in the period. The period's program is feasible at that start and a solve is never
/// worse than its start, so the plan never gets worse; it gets better where the search over all
/// periods at once did not reach, because a one-period program is a twelfth of the whole and its
/// search gets near its optimum in a fraction of a second. Windows of two and three periods
/// were measured too and did worse in the same time. The windows share `budget_s` seconds
/// (each gets what is left over the windows still to run; `None`: no limit). Proves nothing:
/// the bound stays the full program's.
pub(crate) fn improve_by_windows(
    p: &Problem,
    lim: &Limits,
    x: &[u64],
    opts: model::SolverOpts,
    budget_s: Option<f64>,
) -> Vec<u64> {
    let Some(tl) = p.timeline.as_ref() else {
        return x.to_vec();
    };
    let n_periods = tl.periods.len();
    let deadline = deadline(budget_s);
    let rows = model::rows(p, lim, Goal::MaxCompute);
    let value = |v: &[u64]| -> f64 {
        (0..v.len())
            .map(|i| model::coef(p, Goal::MaxCompute, i) * v[i] as f64)
            .sum()
    };
    let mut x = x.to_vec();
    for t in 0..n_periods {
        if xpufleet_model::cancel::requested() {
            break;
        }
        let mut sub = opts;
        if let Some(deadline) = deadline {
            let left_s = deadline
                .saturating_duration_since(std::time::Instant::now())
                .as_secs_f64();
            sub.time_limit_s = Some(left_s / (n_periods - t) as f64);
            if left_s <= 0.0 {
                break;
            }
        }
        let free = |i: usize| tl.items[i].period == t;
        if !(0..x.len()).any(free) {
            continue;
        }
        let mut l = lim.clone();
        let mut fixed = x.clone();
        let mut start = x.clone();
        for i in 0..x.len() {
            if free(i) {
                fixed[i] = 0;
            } else {
                l.max_nodes[i] = Some(0.0);
                start[i] = 0;
            }
        }
        for (k, row) in p.extra.iter().enumerate() {
            let used: f64 = row.coefs.iter().map(|&(i, a)| a * fixed[i] as f64).sum();
            // A `≥` row (demand) may fall below zero: the fixed orders already meet it.
            l.extra[k] = l.extra[k].map(|limit| {
                if row.at_least {
                    limit - used
                } else {
                    (limit - used).max(0.0)
                }
            });
        }
        for (r, left) in l.licence.iter_mut().enumerate() {
            if let Some(left) = left {
                let used: f64 = p
                    .items
                    .iter()
                    .zip(&fixed)
                    .flat_map(|(it, &n)| {
                        it.licences
                            .iter()
                            .filter(move |&&(k, _)| k == r)
                            .map(move |&(_, a)| a * n as f64)
                    })
                    .sum();
                *left = (*left - used).max(0.0);
            }
        }
        let Ok(Some(solved)) = model::solve(p, &l, Goal::MaxCompute, sub, Some(&start)) else {
            continue;
        };
        let mut next = fixed;
        for i in (0..x.len()).filter(|&i| free(i)) {
            next[i] = solved.nodes[i];
        }
        // The composed plan is checked against the full program's rows before it is kept.
        if value(&next) > value(&x) && rows.iter().all(|r| model::holds(r, &next)) {
            x = next;
        }
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Solver, SolverOpts};

    /// A time limit becomes a deadline without panicking on what a user can type.
    #[test]
    fn deadlines_of_odd_limits() {
        assert!(deadline(None).is_none());
        assert!(deadline(Some(f64::INFINITY)).is_none());
        assert!(deadline(Some(1e300)).is_none());
        let now = std::time::Instant::now();
        assert!(deadline(Some(-1.0)).unwrap() >= now);
        assert!(deadline(Some(f64::NAN)).unwrap() >= now);
        assert!(deadline(Some(5.0)).unwrap() > now + std::time::Duration::from_secs(4));
    }

    /// Period-by-period fix-and-optimise on a hard program over four quarters: from the empty
    /// plan (feasible for max-compute) each quarter's program is solved with the others fixed,
    /// and the composed plan satisfies every row of the whole program, is better than where it
    /// started and gets near the whole program's LP bound; from that plan, it never gets worse.
    #[test]
    fn windows_compose_a_feasible_plan_that_never_gets_worse() {
        let (mut s, catalog) = crate::synth::hard(40, 7);
        crate::synth::quarters(&mut s, 4);
        let gate = crate::synth::HardGate::new(&s, &catalog);
        let p = prepare_periods(
            &s,
            &catalog,
            &gate,
            &crate::FixedMfu(0.4),
            &[],
            &[],
            &Default::default(),
        )
        .unwrap();
        let lim = Limits::of(&p, None);
        let opts = SolverOpts {
            gap: 1e-4,
            time_limit_s: Some(1.0),
            solver: Solver::Microlp,
        };
        let rows = model::rows(&p, &lim, Goal::MaxCompute);
        let ubs = model::upper_bounds(&p, &lim);
        let value = |x: &[u64]| -> f64 {
            (0..x.len())
                .map(|i| model::coef(&p, Goal::MaxCompute, i) * x[i] as f64)
                .sum()
        };
        let feasible = |x: &[u64]| {
            rows.iter().all(|r| model::holds(r, x))
                && x.iter().zip(&ubs).all(|(&n, &u)| n as f64 <= u + 1e-9)
        };
        let empty = vec![0; p.items.len()];
        let x = improve_by_windows(&p, &lim, &empty, opts, Some(4.0));
        assert!(feasible(&x));
        let lp = model::lp_bound(&p, &lim, Goal::MaxCompute, opts)
            .unwrap()
            .unwrap();
        // Every quarter gets a say, and the quarters' envelope totals are not over-counted.
        assert!(p.timeline.as_ref().unwrap().periods.len() == 4);
        assert!(
            value(&x) >= 0.95 * lp,
            "{} against the LP's {lp}",
            value(&x)
        );
        let again = improve_by_windows(&p, &lim, &x, opts, Some(4.0));
        assert!(feasible(&again));
        assert!(value(&again) >= value(&x) - 1e-9);
    }
}
