//! Serving demand in the procurement program: each `[[service]]` (split by its request
//! buckets) becomes a covering row `Σ tokens/s per node · nodes ≥ demand` over serving copies of
//! the candidates it may use, in the same MILP as the training compute.
//!
//! The formulation, in the order the code builds it:
//! 1. *rows*: one per (service, bucket), in output tokens a second at the service's peak
//!    (`output_tokens_per_day / 86 400 × peak_to_average`, split by the bucket's share);
//! 2. *existing pools serve first*: each pool the service may use (accelerator allowed, site in
//!    `data_countries`, not kept for training by its `use`, the gate's verdict usable for
//!    serving) gives its accelerators to the
//!    rows in scenario order until the row is covered or the pool is spent; what is left is the
//!    row's right-hand side;
//! 3. *serving copies*: every candidate item the service may use gets a copy, a *continuous*
//!    share of the candidate's own nodes: the candidate's item stays the one integer variable
//!    (nodes bought, which every budget, supply, power and licence row and `max_nodes` see), and
//!    each copy is the part of those nodes that serves the row, with the *coupling row*
//!    `Σ copies ≤ nodes` per candidate. A copy counts in [`SERVE_UNITS`] (millionths of a
//!    node): the program stays over whole numbers, and a millionth of a node is below anything
//!    a plan reports. Its objective value is minus its candidate's PFLOPS (a node's time that
//!    serves does not train) and its coefficient in the row is what that share serves there,
//!    from the perf crate's serving model (a measured profile, or the roofline). The choice
//!    among copies is Mélange's (request buckets × part types at minimum cost), made by the
//!    solver against the training compute the same money would buy. Where a split pays,
//!    *prefill* and *decode* copies too (see [`add_copies`]): the row is then two, decode and
//!    prefill, so one part may prefill and another decode (`role` in the plan). Serving is thus
//!    fractional *within* bought nodes (a node's time is split between services and training),
//!    and the integer count stays the number of candidates;
//! 4. *never fail*: when no plan covers every service, the conflict analysis names the services
//!    and the constraints they conflict with; those rows are lowered to the largest share of
//!    their demand that still fits, and the plan reports the shortfall and what binds.

use serde::{Deserialize, Serialize};
use xpufleet_comply::{Gate, UseKind, UseRequest, Verdict};
use xpufleet_model::{Acquisition, CandidateMode, Catalog, Date, Scenario, Service};
use xpufleet_perf::serving::{
    estimate_serving, ServedModel, ServingDemand, ServingError, ServingParams, ServingProfile,
};

use crate::prepare::{Item, Problem};

/// Seconds in a day.
const DAY_S: f64 = 86_400.0;

/// What one unit of a serving copy is: a millionth of a node. Copies are continuous in the
/// formulation (the branch-and-bound never branches on them); counting them in millionths keeps
/// the solver's plans in whole numbers, and what rounding a share to a millionth of a node costs
/// (a millionth of a node's PFLOPS a row) stays far below the default gap, even a ratio step's,
/// which is measured against the PFLOPS of the cheapest node.
pub(crate) const SERVE_UNITS: u64 = 1_000_000;

/// What an accelerator is asked to do: the compliance gate's verdict may differ between the two
/// (a rule that names one use applies to that use only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Use {
    Training,
    Serving,
}

impl Use {
    pub fn as_str(self) -> &'static str {
        match self {
            Use::Training => "training",
            Use::Serving => "serving",
        }
    }
}

/// The gate's verdict on `req` for `use_`: a rule that names one use applies to that use only
/// (the 2025-05-13 guidance on IaaS *training* red-flags training on leased chips abroad, not
/// serving on them). Every serving decision of the planner goes through it.
pub(crate) fn verdict_for(gate: &dyn Gate, req: &UseRequest, use_: Use) -> Verdict {
    let purpose = match use_ {
        Use::Training => xpufleet_model::Purpose::Training,
        Use::Serving => xpufleet_model::Purpose::Serving,
    };
    gate.verdict_for(req, purpose)
}

/// One covering row: a service, or one request bucket of it.
#[derive(Debug, Clone)]
pub(crate) struct ServiceRow {
    /// Index into the scenario's services.
    pub service: usize,
    /// "chat" or "chat#2" (its third bucket).
    pub id: String,
    /// Output tokens a second the row must carry (peak-sized).
    pub demand_per_s: f64,
    /// What the existing pools carry of it.
    pub pools_per_s: f64,
    /// Whether any candidate has a serving copy for it.
    pub has_copies: bool,
}

impl ServiceRow {
    /// What new capacity must carry.
    pub fn rhs(&self) -> f64 {
        (self.demand_per_s - self.pools_per_s).max(0.0)
    }

    /// The row's right-hand side in the program: `None` when the pools carry it, or when no
    /// candidate may serve it (the report then says so rather than the solver failing).
    pub fn need(&self) -> Option<f64> {
        (self.has_copies && self.rhs() > 0.0).then(|| self.rhs())
    }
}

/// What a serving copy's nodes do for its row: both phases in one pool (time-shared), or one
/// phase of a disaggregated pair (prefill on one part, decode on another).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Both,
    Prefill,
    Decode,
}

impl Role {
    /// The `plan --json` word (`by_accelerator[].role`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Both => "both",
            Role::Prefill => "prefill",
            Role::Decode => "decode",
        }
    }
}

/// A serving copy's place in the program.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Serve {
    /// Index into `Problem::service_rows`.
    pub row: usize,
    /// Output tokens a second one node carries for the row: for `Both` its input tokens
    /// included; for `Decode` the decode alone; for `Prefill` the output tokens of the requests
    /// whose prompts it prefills (input tokens a second over the row's input per output token).
    pub per_node_per_s: f64,
    pub role: Role,
}

/// Existing pool capacity given to one row.
#[derive(Debug, Clone)]
pub(crate) struct PoolUse {
    pub row: usize,
    pub pool: String,
    pub accelerator: String,
    pub accels: u64,
    pub per_accel_per_s: f64,
    pub usd_per_accel_hour: Option<f64>,
    pub source: String,
}

/// What attaching the services found, for the report.
#[derive(Debug, Clone, Default)]
pub(crate) struct Attached {
    pub pool_uses: Vec<PoolUse>,
    /// Per service: why parts could not serve it ("h20 at cn-ulanqab: ...").
    pub unusable: Vec<Vec<String>>,
    /// Per serving item (index into `Problem::items`): the serving model's source.
    pub sources: Vec<(usize, String)>,
    /// Per service: its tenant.
    pub tenants: Vec<String>,
}

/// One part's share of a service in the plan. Field names are the `plan --json` contract.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceAllocation {
    pub accelerator: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub candidate: Option<String>,
    pub accelerators: u64,
    /// `both`: one pool time-shares prefill and decode; `prefill` or `decode`: this share does
    /// that phase only, the other phase of its requests on another part (disaggregated).
    pub role: String,
    /// Output tokens a day this share carries at the service's peak-to-average (for a
    /// `prefill` share: the output tokens of the requests whose prompts it prefills).
    pub output_tokens_per_day: f64,
    /// Its cost per million output tokens at full use, where the price is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usd_per_million_output_tokens: Option<f64>,
    /// The serving profile id, or `roofline`.
    pub source: String,
}

/// A service the plan does not cover in full: by how much, and what binds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceShortfall {
    pub output_tokens_per_day: f64,
    /// The constraints that together leave it short ("budget:cn-chips"), or empty when no part
    /// may serve it at all.
    pub binds: Vec<String>,
    pub reason: String,
}

/// One service in the plan. Field names are the `plan --json` contract.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceReport {
    pub id: String,
    pub input_tokens_per_day: f64,
    pub output_tokens_per_day: f64,
    pub covered_output_tokens_per_day: f64,
    pub by_accelerator: Vec<ServiceAllocation>,
    /// Pools at their hourly cost (bought: price over its life; leased: the rate), candidates
    /// likewise (bought: price over the serving model's amortisation life).
    pub cost_usd_per_day: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shortfall: Option<ServiceShortfall>,
    /// Parts that cannot serve it, with the reason (memory, latency, verdict, residency).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unusable: Vec<String>,
}

/// The serving model's view of a service: its model and its per-bucket demands.
fn served_model(v: &Service) -> ServedModel {
    ServedModel {
        params: v.params,
        active_params: v.active(),
        precision: v.precision,
        kv_bytes_per_token: v.kv_bytes(),
    }
}

/// The (row id, demand) pairs of a service: one per bucket, the volumes split by each bucket's
/// share of requests times its lengths, or the whole service when it has no buckets.
fn bucket_demands(v: &Service) -> Vec<(String, ServingDemand)> {
    let whole = |input: f64, output: f64, mean_input: Option<f64>| ServingDemand {
        input_tokens_per_day: input,
        output_tokens_per_day: output,
        mean_input_tokens: mean_input,
        ttft_ms: v.ttft_ms,
        tpot_ms: v.tpot_ms,
        peak_to_average: v.peak_to_average,
    };
    if v.buckets.is_empty() {
        return vec![(
            v.id.clone(),
            whole(v.input_tokens_per_day, v.output_tokens_per_day, None),
        )];
    }
    let in_w: f64 = v.buckets.iter().map(|b| b.share * b.input_tokens).sum();
    let out_w: f64 = v.buckets.iter().map(|b| b.share * b.output_tokens).sum();
    v.buckets
        .iter()
        .enumerate()
        .map(|(j, b)| {
            let input = v.input_tokens_per_day * b.share * b.input_tokens / in_w.max(1e-300);
            let output = v.output_tokens_per_day * b.share * b.output_tokens / out_w.max(1e-300);
            (
                format!("{}#{j}", v.id),
                whole(input, output, Some(b.input_tokens)),
            )
        })
        .collect()
}

/// What one accelerator does for a demand, in output tokens a second (see [`Serve`]).
#[derive(Debug, Clone)]
struct Rates {
    /// One pool doing both phases, its input tokens included.
    both: f64,
    /// Prefill only: the output tokens of the requests it prefills (0 where it cannot
    /// prefill, or the demand has no input).
    prefill: f64,
    /// Decode only.
    decode: f64,
    /// The serving model's source.
    source: String,
}

/// What one accelerator carries for `d` and the serving model's source; or why it cannot
/// serve. The prefill and decode rates are the serving model's own (the ones `estimate
/// serving --disaggregated` sizes separate pools with); one pool doing both time-shares them.
fn per_accel(
    model: &ServedModel,
    d: &ServingDemand,
    a: &xpufleet_model::Accelerator,
    profiles: &[ServingProfile],
    params: &ServingParams,
) -> Result<Rates, ServingError> {
    let e = estimate_serving(model, d, a, profiles, false, None, params)?;
    let r = e.tokens_per_s_per_accel;
    let ratio = d.input_tokens_per_day / d.output_tokens_per_day;
    let input_term = if ratio > 0.0 { ratio / r.input } else { 0.0 };
    let per = 1.0 / (input_term + 1.0 / r.output);
    if per.is_finite() && per > 0.0 {
        let prefill = if ratio > 0.0 && r.input.is_finite() && r.input > 0.0 {
            r.input / ratio
        } else {
            0.0
        };
        Ok(Rates {
            both: per,
            prefill,
            decode: r.output,
            source: e.source,
        })
    } else {
        Err(ServingError::Invalid {
            field: "tokens_per_s_per_accel".into(),
            message: format!("the serving model gives no positive rate for {}", a.id),
        })
    }
}

fn kind_of(leased: bool) -> UseKind {
    if leased {
        UseKind::Remote
    } else {
        UseKind::Own
    }
}

/// Adds the service rows, gives existing pools to them, and appends a serving copy of every
/// candidate item each row may use to `p.items`, alike candidates sharing one set of copies
/// ([`share_copies`]).
#[allow(clippy::too_many_arguments)]
pub(crate) fn attach(
    p: &mut Problem,
    scenario: &Scenario,
    catalog: &Catalog,
    gate: &dyn Gate,
    date: Date,
    profiles: &[ServingProfile],
    params: &ServingParams,
) -> Attached {
    let n_training = p.items.len();
    let mut out = attach_unshared(p, scenario, catalog, gate, date, profiles, params);
    if !scenario.services.is_empty() {
        share_copies(p, &mut out, n_training);
    }
    out
}

/// [`attach`] with every copy its own candidate's alone (`sharers` is that one item): the
/// program over periods makes an integer variable of each copy per order
/// (`period_services::attach_periods`), which a copy shared by several orders could not map to.
#[allow(clippy::too_many_arguments)]
pub(crate) fn attach_unshared(
    p: &mut Problem,
    scenario: &Scenario,
    catalog: &Catalog,
    gate: &dyn Gate,
    date: Date,
    profiles: &[ServingProfile],
    params: &ServingParams,
) -> Attached {
    let mut out = Attached::default();
    if scenario.services.is_empty() {
        return out;
    }
    // The catalog has the scenario's own entries laid over it already (overrides merged field
    // by field), so it is the one place to look a part up.
    let accel_of = |id: &str| catalog.get(id);
    let country_of = |site: &str| scenario.site(site).map(|s| s.country.clone());
    // Accelerators left in each pool as services take them, in scenario order.
    let mut pool_left: Vec<u64> = scenario
        .pools
        .iter()
        .map(|pl| u64::from(pl.nodes) * u64::from(pl.accels_per_node))
        .collect();
    let n_training = p.items.len();
    for (s, v) in scenario.services.iter().enumerate() {
        let tenant = v.tenant.clone().unwrap_or_else(|| scenario.company.clone());
        out.tenants.push(tenant.clone());
        let mut unusable: Vec<String> = Vec::new();
        let model = served_model(v);
        let usable = |target: &str, leased: bool| {
            let verdict = verdict_for(
                gate,
                &UseRequest {
                    user: tenant.clone(),
                    target: target.to_string(),
                    kind: kind_of(leased),
                    workload_flops: None,
                    date,
                },
                Use::Serving,
            );
            if verdict.usable() {
                Ok(())
            } else {
                Err(verdict.summary())
            }
        };
        for (id, demand) in bucket_demands(v) {
            let row = p.service_rows.len();
            let demand_per_s = demand.output_tokens_per_day / DAY_S * demand.peak_to_average;
            let mut covered = 0.0;
            // Existing pools first.
            for (k, pool) in scenario.pools.iter().enumerate() {
                if covered >= demand_per_s || pool_left[k] == 0 {
                    continue;
                }
                let Some(country) = country_of(&pool.site) else {
                    continue;
                };
                if !v.allows(&pool.accelerator, &country) {
                    continue;
                }
                // A pool the scenario keeps for training (its `use`) serves nothing.
                if pool.purpose == Some(xpufleet_model::Purpose::Training) {
                    note(
                        &mut unusable,
                        format!("pool {}: kept for training (use = \"training\")", pool.id),
                    );
                    continue;
                }
                let leased = matches!(pool.acquisition, Acquisition::Leased { .. });
                if let Err(why) = usable(&pool.id, leased) {
                    note(&mut unusable, format!("pool {}: {why}", pool.id));
                    continue;
                }
                let Some(a) = accel_of(&pool.accelerator) else {
                    continue;
                };
                let (per, source) = match per_accel(&model, &demand, a, profiles, params) {
                    Ok(x) => (x.both, x.source),
                    Err(e) => {
                        note(&mut unusable, format!("pool {}: {e}", pool.id));
                        continue;
                    }
                };
                let want = ((demand_per_s - covered) / per - 1e-9).ceil().max(0.0) as u64;
                let take = want.min(pool_left[k]);
                if take == 0 {
                    continue;
                }
                pool_left[k] -= take;
                covered += take as f64 * per;
                out.pool_uses.push(PoolUse {
                    row,
                    pool: pool.id.clone(),
                    accelerator: pool.accelerator.clone(),
                    accels: take,
                    per_accel_per_s: per,
                    usd_per_accel_hour: pool_hourly_usd(scenario, pool),
                    source,
                });
            }
            p.service_rows.push(ServiceRow {
                service: s,
                id,
                demand_per_s,
                pools_per_s: covered.min(demand_per_s),
                has_copies: false,
            });
            // Serving copies of the candidate items the row may use.
            let mut usable_items: Vec<(usize, Rates)> = Vec::new();
            for i in 0..n_training {
                let it = &p.items[i];
                let country = &p.sites[it.site].country;
                if !v.allows(&it.accelerator, country) {
                    continue;
                }
                // Likewise a candidate declared for training is bought only to train.
                let declared = scenario.candidates.iter().find(|c| c.id == it.id);
                if declared.is_some_and(|c| c.purpose == Some(xpufleet_model::Purpose::Training)) {
                    note(
                        &mut unusable,
                        format!("candidate {}: for training (use = \"training\")", it.id),
                    );
                    continue;
                }
                if let Err(why) = usable(&it.id, it.mode == CandidateMode::Lease) {
                    note(&mut unusable, format!("candidate {}: {why}", it.id));
                    continue;
                }
                let Some(a) = accel_of(&it.accelerator) else {
                    continue;
                };
                match per_accel(&model, &demand, a, profiles, params) {
                    Ok(rates) => usable_items.push((i, rates)),
                    Err(e) => note(&mut unusable, format!("candidate {}: {e}", it.id)),
                }
            }
            let horizon_days = scenario.plan.horizon_days;
            add_copies(p, &mut out, row, &usable_items, horizon_days, params);
        }
        out.unusable.push(unusable);
    }
    out
}

/// Candidates whose copies would be alike share one set of copies: the same part, node size,
/// PFLOPS a node and serving-only flag, and copies for the same rows in the same roles at the
/// same rates (the same sites' rules and residency, so the same rows). Any split of the
/// shared copies' units over the candidates' nodes is then a plan of the per-candidate
/// program with the same rows, cost and PFLOPS, and every per-candidate plan is one of the
/// shared program's, so sharing changes no optimum; it divides the copies (the columns every
/// LP of the branch-and-bound carries) by the number of such candidates (buy and lease, at
/// every site alike). Reports split the units back over the candidates ([`shares`]).
fn share_copies(p: &mut Problem, out: &mut Attached, n_training: usize) {
    let copies = p.items.split_off(n_training);
    let source_of = |k: usize| {
        out.sources
            .iter()
            .find(|(i, _)| *i == n_training + k)
            .map(|(_, s)| s.clone())
    };
    let sources: Vec<Option<String>> = (0..copies.len()).map(source_of).collect();
    let mut own: Vec<Vec<usize>> = vec![Vec::new(); n_training];
    for (k, c) in copies.iter().enumerate() {
        own[c.sharers[0]].push(k);
    }
    type Key = (String, u64, u64, bool, Vec<(usize, Role, u64)>);
    let key = |i: usize| -> Key {
        let it = &p.items[i];
        let rows = own[i]
            .iter()
            .map(|&k| {
                let sv = copies[k].serve.expect("a copy");
                (sv.row, sv.role, sv.per_node_per_s.to_bits())
            })
            .collect();
        (
            it.accelerator.clone(),
            it.accels_per_node,
            it.pflops_per_node.to_bits(),
            it.serving_only,
            rows,
        )
    };
    let mut groups: Vec<(Key, Vec<usize>)> = Vec::new();
    for i in (0..n_training).filter(|&i| !own[i].is_empty()) {
        let k = key(i);
        match groups.iter_mut().find(|(g, _)| *g == k) {
            Some((_, members)) => members.push(i),
            None => groups.push((k, vec![i])),
        }
    }
    out.sources.clear();
    for (_, members) in groups {
        for &k in &own[members[0]] {
            if let Some(s) = &sources[k] {
                out.sources.push((p.items.len(), s.clone()));
            }
            p.items.push(Item {
                sharers: members.clone(),
                ..copies[k].clone()
            });
        }
    }
}

/// Takes from each serving copy (in their order) the units its rows can do without: a share
/// beyond the demand serves nothing. Where serving costs PFLOPS the solver leaves none such,
/// but a min-cost plan (or a serving-only candidate) is indifferent to it, and the plan would
/// report more serving than the services need. Less of a copy breaks no `≤` row and lowers no
/// objective, so every row that held still holds (each is checked with its slack).
pub(crate) fn trim(p: &Problem, rows: &[crate::model::Row], nodes: &mut [u64]) {
    let mut by_item: Vec<Vec<(usize, f64)>> = vec![Vec::new(); p.items.len()];
    let mut slack: Vec<f64> = Vec::with_capacity(rows.len());
    for (r, row) in rows.iter().enumerate() {
        for &(i, a) in &row.coefs {
            if p.items[i].serve.is_some() {
                by_item[i].push((r, a));
            }
        }
        // What the row may still take, less a tolerance relative to its size.
        let big = row
            .coefs
            .iter()
            .map(|&(i, a)| (a * nodes[i] as f64).abs())
            .fold(row.rhs.abs(), f64::max)
            .max(1.0);
        slack.push(row.slack(nodes) - 1e-9 * big);
    }
    for (k, it) in p.items.iter().enumerate() {
        if it.serve.is_none() || nodes[k] == 0 {
            continue;
        }
        // Less of the copy raises the left-hand side of each row where its coefficient is
        // negative (its covering rows, a target): by what those rows' slack allows.
        let mut take = nodes[k] as f64;
        for &(r, a) in &by_item[k] {
            if a < 0.0 {
                take = take.min((slack[r] / -a).floor().max(0.0));
            }
        }
        let take = take as u64;
        if take == 0 {
            continue;
        }
        nodes[k] -= take;
        for &(r, a) in &by_item[k] {
            slack[r] += a * take as f64;
        }
    }
}

/// The plan's serving shares per candidate: `(copy, candidate, units)`, a shared copy's units
/// split over its candidates' nodes in their order (each candidate's nodes filled before the
/// next one's), so a serving-only candidate's nodes are all used but the last one's.
pub(crate) fn shares(p: &Problem, nodes: &[u64]) -> Vec<(usize, usize, u64)> {
    let mut left: Vec<u64> = nodes
        .iter()
        .map(|&n| n.saturating_mul(SERVE_UNITS))
        .collect();
    let mut out = Vec::new();
    for (k, it) in p.items.iter().enumerate() {
        if it.serve.is_none() || nodes[k] == 0 {
            continue;
        }
        let mut units = nodes[k];
        for &c in &it.sharers {
            let take = units.min(left[c]);
            if take > 0 {
                left[c] -= take;
                units -= take;
                out.push((k, c, take));
            }
        }
        // The coupling row holds in whole numbers, so nothing is left; were anything left,
        // it is shown on the last candidate rather than dropped.
        if let (true, Some(&c)) = (units > 0, it.sharers.last()) {
            out.push((k, c, units));
        }
    }
    out
}

/// How many parts per phase a row offers split copies of: the cheapest per prefill token and
/// the cheapest per decode token (USD an accelerator-hour over the rate).
const SPLIT_PARTS: usize = 4;

/// Appends the serving copies of `row`: a `Both` copy of every usable item and, where the row
/// may use two or more accelerator types and a split pays, `Prefill` copies of the items of
/// the [`SPLIT_PARTS`] parts cheapest per prefilled token (their cheapest item's price) and
/// `Decode` copies of the items of the parts cheapest per decoded token (the Mélange-style
/// choice per phase: a FLOPS-rich part prefills, a bandwidth-rich one decodes).
///
/// A share doing both carries `1 / (1/prefill + 1/decode)` a node, which is the same node's
/// time split between the two phases: a split pays only between two parts, when the part
/// cheapest per prefilled token is not the one cheapest per decoded token. Offering split
/// copies only then, and only of the parts cheapest per phase, keeps the program's columns
/// few; a split through a dearer part, which another envelope's budget or a supply cap could
/// favour, is not considered. The `Both` copies are all kept, so the answer is never dearer
/// than the best `both`-only one.
fn add_copies(
    p: &mut Problem,
    out: &mut Attached,
    row: usize,
    usable: &[(usize, Rates)],
    horizon_days: f64,
    params: &ServingParams,
) {
    let usd = |i: usize| item_hourly_usd(&p.items[i], horizon_days, params);
    // USD per token-second of each phase and of both, per usable item.
    let per_token = |i: usize, rate: f64| {
        if rate > 0.0 {
            usd(i) / rate
        } else {
            f64::INFINITY
        }
    };
    let cheapest = |rate: &dyn Fn(&Rates) -> f64| {
        let mut order: Vec<(usize, f64)> = usable
            .iter()
            .map(|(i, r)| (*i, per_token(*i, rate(r))))
            .filter(|(_, c)| c.is_finite())
            .collect();
        order.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        order
    };
    let by_prefill = cheapest(&|r| r.prefill);
    let by_decode = cheapest(&|r| r.decode);
    let best_both = usable
        .iter()
        .map(|(i, r)| per_token(*i, r.both))
        .fold(f64::INFINITY, f64::min);
    let split = match (by_prefill.first(), by_decode.first()) {
        (Some(&(pi, pc)), Some(&(di, dc))) => {
            p.items[pi].accelerator != p.items[di].accelerator && pc + dc < best_both
        }
        _ => false,
    };
    let mut copies: Vec<(usize, Role, f64, String)> = Vec::new();
    for (i, r) in usable {
        copies.push((*i, Role::Both, r.both, r.source.clone()));
    }
    if split {
        // The parts (not the items) cheapest per token of the phase, and every item of those
        // parts: the candidates of one part then have the same copies, and share them
        // (`share_copies`).
        let parts = |order: &[(usize, f64)]| {
            let mut parts: Vec<&str> = Vec::new();
            for &(i, _) in order {
                let a = p.items[i].accelerator.as_str();
                if parts.len() < SPLIT_PARTS && !parts.contains(&a) {
                    parts.push(a);
                }
            }
            let parts: Vec<String> = parts.into_iter().map(str::to_string).collect();
            parts
        };
        let (pre, dec) = (parts(&by_prefill), parts(&by_decode));
        for (i, r) in usable {
            if pre.contains(&p.items[*i].accelerator) && r.prefill > 0.0 {
                copies.push((*i, Role::Prefill, r.prefill, r.source.clone()));
            }
        }
        for (i, r) in usable {
            if dec.contains(&p.items[*i].accelerator) && r.decode > 0.0 {
                copies.push((*i, Role::Decode, r.decode, r.source.clone()));
            }
        }
    }
    for (i, role, per_accel, source) in copies {
        let it = &p.items[i];
        // A copy buys nothing: its candidate's nodes carry the price, power, supply and licence
        // draws, so every such field is zero here; its "PFLOPS a node" is per unit (a
        // millionth of a node) and negative, since a node's time that serves does not train.
        let copy = Item {
            pflops_per_node: -it.pflops_per_node / SERVE_UNITS as f64,
            max_nodes: None,
            serving_only: false,
            node_cost: 0.0,
            node_cost_usd: 0.0,
            node_power_w: 0.0,
            accels_per_node: 0,
            chips_per_node: 0,
            caps: Vec::new(),
            licences: Vec::new(),
            serve: Some(Serve {
                row,
                per_node_per_s: per_accel * it.accels_per_node as f64,
                role,
            }),
            sharers: vec![i],
            ..it.clone()
        };
        out.sources.push((p.items.len(), source));
        p.items.push(copy);
        p.service_rows[row].has_copies = true;
    }
}

/// Keeps one line per reason (a bucketed service would repeat each).
fn note(list: &mut Vec<String>, line: String) {
    if !list.contains(&line) {
        list.push(line);
    }
}

/// A pool's cost an accelerator-hour in USD: a bought pool's price over its amortisation life,
/// a leased pool's rate.
fn pool_hourly_usd(scenario: &Scenario, pool: &xpufleet_model::Pool) -> Option<f64> {
    match &pool.acquisition {
        Acquisition::Bought {
            price, life_years, ..
        } => scenario
            .fx
            .to_usd(price)
            .ok()
            .map(|usd| usd / (life_years.max(1e-9) * 365.0 * 24.0)),
        Acquisition::Leased { rate, .. } => scenario.fx.to_usd(rate).ok(),
    }
}

/// A candidate item's cost an accelerator-hour in USD: a lease's rate, a purchase's price over
/// the serving model's amortisation life.
fn item_hourly_usd(it: &Item, horizon_days: f64, params: &ServingParams) -> f64 {
    let per_accel = it.node_cost_usd / it.accels_per_node.max(1) as f64;
    match it.mode {
        CandidateMode::Lease => per_accel / (horizon_days.max(1e-9) * 24.0),
        CandidateMode::Buy => per_accel / (params.price_life_years * 365.0 * 24.0),
    }
}

/// The per-service answer for the plan at `nodes`, with the shortfalls found while solving.
pub(crate) fn reports(
    scenario: &Scenario,
    p: &Problem,
    att: &Attached,
    nodes: &[u64],
    shortfalls: &[(usize, Vec<String>)],
    params: &ServingParams,
) -> Vec<ServiceReport> {
    let horizon = scenario.plan.horizon_days;
    let source_of = |i: usize| {
        att.sources
            .iter()
            .find(|(k, _)| *k == i)
            .map_or("roofline".to_string(), |(_, s)| s.clone())
    };
    scenario
        .services
        .iter()
        .enumerate()
        .map(|(s, v)| {
            let rows: Vec<usize> = (0..p.service_rows.len())
                .filter(|&r| p.service_rows[r].service == s)
                .collect();
            let mut by: Vec<ServiceAllocation> = Vec::new();
            let mut cost_per_day = 0.0;
            // Per row: what pools and `Both` nodes carry whole, and what the split pools
            // prefill and decode (a request is served when both of its phases are).
            let mut whole_per_s = vec![0.0; p.service_rows.len()];
            let mut prefill_per_s = vec![0.0; p.service_rows.len()];
            let mut decode_per_s = vec![0.0; p.service_rows.len()];
            let per_m = |usd_h: Option<f64>, per_accel: f64| {
                usd_h.map(|h| h / (per_accel * 3600.0 / v.peak_to_average) * 1e6)
            };
            let mut add = |a: ServiceAllocation, usd_day: f64| {
                cost_per_day += usd_day;
                match by.iter_mut().find(|b| {
                    b.accelerator == a.accelerator
                        && b.pool == a.pool
                        && b.candidate == a.candidate
                        && b.role == a.role
                }) {
                    Some(b) => {
                        b.accelerators += a.accelerators;
                        b.output_tokens_per_day += a.output_tokens_per_day;
                    }
                    None => by.push(a),
                }
            };
            for u in att.pool_uses.iter().filter(|u| rows.contains(&u.row)) {
                let per_s = u.accels as f64 * u.per_accel_per_s;
                whole_per_s[u.row] += per_s;
                add(
                    ServiceAllocation {
                        accelerator: u.accelerator.clone(),
                        pool: Some(u.pool.clone()),
                        candidate: None,
                        accelerators: u.accels,
                        role: "both".into(),
                        output_tokens_per_day: per_s * DAY_S / v.peak_to_average,
                        usd_per_million_output_tokens: per_m(
                            u.usd_per_accel_hour,
                            u.per_accel_per_s,
                        ),
                        source: u.source.clone(),
                    },
                    u.usd_per_accel_hour.unwrap_or(0.0) * 24.0 * u.accels as f64,
                );
            }
            for (i, c, units) in shares(p, nodes) {
                let Some(sv) = p.items[i].serve else { continue };
                if !rows.contains(&sv.row) {
                    continue;
                }
                // The copy's share of its candidate's nodes: continuous, reported as whole
                // accelerators rounded up, while tokens and cost are those of the exact share.
                let parent = &p.items[c];
                let share_nodes = units as f64 / SERVE_UNITS as f64;
                let exact_accels = share_nodes * parent.accels_per_node as f64;
                let accels = (exact_accels - 1e-9).ceil().max(0.0) as u64;
                let per_s = share_nodes * sv.per_node_per_s;
                match sv.role {
                    Role::Both => whole_per_s[sv.row] += per_s,
                    Role::Prefill => prefill_per_s[sv.row] += per_s,
                    Role::Decode => decode_per_s[sv.row] += per_s,
                }
                let usd_h = item_hourly_usd(parent, horizon, params);
                let per_accel = sv.per_node_per_s / parent.accels_per_node.max(1) as f64;
                add(
                    ServiceAllocation {
                        accelerator: parent.accelerator.clone(),
                        pool: None,
                        candidate: Some(parent.id.clone()),
                        accelerators: accels,
                        role: sv.role.as_str().into(),
                        output_tokens_per_day: per_s * DAY_S / v.peak_to_average,
                        usd_per_million_output_tokens: per_m(Some(usd_h), per_accel),
                        source: source_of(i),
                    },
                    usd_h * 24.0 * exact_accels,
                );
            }
            let carried_per_s: f64 = rows
                .iter()
                .map(|&r| whole_per_s[r] + prefill_per_s[r].min(decode_per_s[r]))
                .sum();
            let covered = (carried_per_s * DAY_S / v.peak_to_average).min(v.output_tokens_per_day);
            let short = v.output_tokens_per_day - covered;
            let unusable = att.unusable.get(s).cloned().unwrap_or_default();
            let shortfall = (short > 1e-6 * v.output_tokens_per_day).then(|| {
                let binds: Vec<String> = shortfalls
                    .iter()
                    .filter(|(r, _)| rows.contains(r))
                    .flat_map(|(_, b)| b.iter().cloned())
                    .fold(Vec::new(), |mut acc, b| {
                        if !acc.contains(&b) {
                            acc.push(b);
                        }
                        acc
                    });
                let any_part = p
                    .items
                    .iter()
                    .any(|it| it.serve.is_some_and(|sv| rows.contains(&sv.row)));
                let reason = if !any_part && binds.is_empty() {
                    "no pool capacity is left and no candidate may serve it (see unusable)".into()
                } else if binds.is_empty() {
                    "the solver's plan leaves it short".into()
                } else {
                    format!("covering it in full conflicts with {}", binds.join(", "))
                };
                ServiceShortfall {
                    output_tokens_per_day: short,
                    binds,
                    reason,
                }
            });
            ServiceReport {
                id: v.id.clone(),
                input_tokens_per_day: v.input_tokens_per_day,
                output_tokens_per_day: v.output_tokens_per_day,
                covered_output_tokens_per_day: covered,
                by_accelerator: by,
                cost_usd_per_day: cost_per_day,
                shortfall,
                unusable,
            }
        })
        .collect()
}

/// Rows lowered to fit, each with the constraint ids that bind it.
pub(crate) type Shortfalls = Vec<(usize, Vec<String>)>;

/// Solves with every service row, and when no plan covers them all, lowers the rows the
/// conflict names to the largest share of their demand that fits (to 1/64 of it), naming what
/// binds. `solve` optimises under the limits (`None`: infeasible); `conflict` names an
/// irreducible conflict of constraint ids.
pub(crate) fn solve_covering<T>(
    p: &Problem,
    lim: &mut crate::model::Limits,
    mut solve: impl FnMut(&crate::model::Limits) -> Result<Option<T>, crate::PlanError>,
    mut conflict: impl FnMut(&crate::model::Limits) -> crate::PlanError,
    mut feasible: impl FnMut(&crate::model::Limits) -> bool,
) -> Result<(T, Shortfalls), crate::PlanError> {
    let mut shortfalls: Shortfalls = Vec::new();
    // Each round lowers at least one row to a level that fits with the rest, so one round per
    // row (and one to finish) is enough; the bound only guards against a solver that disagrees
    // with itself.
    for _ in 0..=p.service_rows.len() + 1 {
        if let Some(t) = solve(lim)? {
            return Ok((t, shortfalls));
        }
        let err = conflict(lim);
        let crate::PlanError::Infeasible { conflict: ids, .. } = &err else {
            return Err(err);
        };
        let svc: Vec<usize> = ids
            .iter()
            .filter_map(|id| {
                id.strip_prefix("service:")
                    .and_then(|r| p.service_rows.iter().position(|row| row.id == r))
            })
            .filter(|&r| lim.service_per_s[r].is_some())
            .collect();
        if svc.is_empty() {
            return Err(err);
        }
        let binds: Vec<String> = ids
            .iter()
            .filter(|id| !id.starts_with("service:"))
            .cloned()
            .collect();
        for &r in &svc {
            let full = lim.service_per_s[r].unwrap_or(0.0);
            let set = |l: &mut crate::model::Limits, share: f64| {
                l.service_per_s[r] = (share > 0.0).then_some(full * share);
            };
            let share = largest_fitting_share(lim, &mut feasible, set);
            set(lim, share);
            shortfalls.push((r, binds.clone()));
        }
    }
    Err(crate::PlanError::Solver(
        "the services could not be fitted to the other constraints".into(),
    ))
}

/// The largest share of a service row's demand, to 1/64, that fits with the other limits as
/// they stand in `lim`: `set(l, share)` puts the row at that share of its full demand in `l`,
/// and `feasible` says whether a program with those limits has a plan. 0 when none fits.
pub(crate) fn largest_fitting_share(
    lim: &crate::model::Limits,
    feasible: &mut impl FnMut(&crate::model::Limits) -> bool,
    set: impl Fn(&mut crate::model::Limits, f64),
) -> f64 {
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    for _ in 0..6 {
        let mid = (lo + hi) / 2.0;
        let mut trial = lim.clone();
        set(&mut trial, mid);
        if feasible(&trial) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo
}

/// Per item, the indices of its serving copies (empty for a copy and for an item no service
/// may use).
pub(crate) fn copies_of(p: &Problem) -> Vec<Vec<usize>> {
    let mut out = vec![Vec::new(); p.items.len()];
    for (k, it) in p.items.iter().enumerate() {
        for &c in &it.sharers {
            out[c].push(k);
        }
    }
    out
}

/// Whether candidate item `a` serves every row that `b` serves, in the same roles, at least as
/// fast a node: the domination test's extra condition (a node of `a` can then take over
/// whatever share of a node of `b` served). `copies` is [`copies_of`].
pub(crate) fn serves_at_least(p: &Problem, copies: &[Vec<usize>], a: usize, b: usize) -> bool {
    copies[b].iter().all(|&y| {
        let y = p.items[y].serve.expect("a copy");
        copies[a].iter().any(|&x| {
            let x = p.items[x].serve.expect("a copy");
            x.row == y.row && x.role == y.role && x.per_node_per_s >= y.per_node_per_s
        })
    })
}

/// The most units ([`SERVE_UNITS`]) serving copy `i` may have under `lim` (`None` for a
/// candidate's own item): no more than carry its row alone, and none when the pools carry the
/// row (or it was dropped). A share beyond what carries the row alone only takes time from
/// training, so the bound loses no optimum.
pub(crate) fn copy_bound(p: &Problem, lim: &crate::model::Limits, i: usize) -> Option<f64> {
    let sv = p.items[i].serve?;
    let Some(need) = lim.service_per_s.get(sv.row).copied().flatten() else {
        return Some(0.0);
    };
    // The small tolerance keeps 2.0000000001 units (floating point) from asking for a third.
    Some(
        (need / sv.per_node_per_s * SERVE_UNITS as f64 - 1e-9)
            .ceil()
            .max(0.0),
    )
}

/// The service rows under `lim`, and the coupling rows: per candidate with serving copies,
/// `Σ copies ≤ SERVE_UNITS · nodes` (its services share its nodes with training), and for a
/// serving-only candidate also `nodes ≤ ⌈Σ copies / SERVE_UNITS⌉` (it buys no node it does not
/// serve with, so its plan line is all serving).
pub(crate) fn push_rows(p: &Problem, lim: &crate::model::Limits, out: &mut Vec<crate::model::Row>) {
    use crate::model::Row;
    for (r, need) in lim.service_per_s.iter().enumerate() {
        let Some(need) = *need else {
            // A row the pools cover (or that was dropped) needs no new nodes: its copies stay
            // at zero, so the solver never spends on serving nothing.
            let copies: Vec<(usize, f64)> = p
                .items
                .iter()
                .enumerate()
                .filter(|(_, it)| it.serve.is_some_and(|s| s.row == r))
                .map(|(i, _)| (i, 1.0))
                .collect();
            if !copies.is_empty() {
                out.push(Row {
                    group: None,
                    coefs: copies,
                    rhs: 0.0,
                    negated: false,
                });
            }
            continue;
        };
        // With disaggregated copies the row is two: the decode row (what `Both` and `Decode`
        // shares carry) and the prefill row (what `Both` and `Prefill` shares carry), each at
        // least the demand. `Both` shares carry their requests whole, so whatever they leave
        // must be both decoded and prefilled by the split shares. The decode row, in output
        // tokens, stands for the service in reports and conflicts; dropping the service drops
        // both (they share `service_per_s`).
        let split = p
            .items
            .iter()
            .any(|it| it.serve.is_some_and(|s| s.row == r && s.role != Role::Both));
        let phases: &[Role] = if split {
            &[Role::Decode, Role::Prefill]
        } else {
            &[Role::Decode]
        };
        for &phase in phases {
            covering_row(p, r, need, phase, out);
        }
    }
    let units = SERVE_UNITS as f64;
    // One coupling row per set of candidates sharing copies, in the order of their copies.
    let mut sets: Vec<(&[usize], Vec<usize>)> = Vec::new();
    for (k, it) in p
        .items
        .iter()
        .enumerate()
        .filter(|(_, it)| it.serve.is_some())
    {
        match sets.iter_mut().find(|(s, _)| *s == it.sharers.as_slice()) {
            Some((_, copies)) => copies.push(k),
            None => sets.push((&it.sharers, vec![k])),
        }
    }
    for (sharers, copies) in sets {
        let mut coefs: Vec<(usize, f64)> = copies.iter().map(|&k| (k, 1.0)).collect();
        coefs.extend(sharers.iter().map(|&i| (i, -units)));
        out.push(Row {
            group: None,
            coefs,
            rhs: 0.0,
            negated: false,
        });
        if sharers.iter().all(|&i| p.items[i].serving_only) {
            let mut coefs: Vec<(usize, f64)> = copies.iter().map(|&k| (k, -1.0)).collect();
            coefs.extend(sharers.iter().map(|&i| (i, units)));
            out.push(Row {
                group: None,
                coefs,
                rhs: units - 1.0,
                negated: false,
            });
        }
    }
}

/// One covering row of service row `r`: the `Both` copies and the copies of `phase` (the
/// decode row when there are no split copies: then it holds the `Both` copies alone), each
/// unit carrying a millionth of what a node carries.
fn covering_row(p: &Problem, r: usize, need: f64, phase: Role, out: &mut Vec<crate::model::Row>) {
    use crate::model::{Group, Row};
    let coefs: Vec<(usize, f64)> = p
        .items
        .iter()
        .enumerate()
        .filter_map(|(i, it)| {
            it.serve
                .filter(|s| s.row == r && (s.role == Role::Both || s.role == phase))
                .map(|s| (i, -s.per_node_per_s / SERVE_UNITS as f64))
        })
        .collect();
    out.push(Row {
        // The decode row stands for the service (see `push_rows`).
        group: (phase == Role::Decode).then_some(Group::Service(r)),
        coefs,
        rhs: -need,
        negated: true,
    });
}
