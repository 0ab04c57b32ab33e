//! From a scenario to a planning problem: each candidate becomes an item (an integer variable) or
//! is excluded with every reason that applies, and the scenario's limits become rows.

use serde::{Deserialize, Serialize};
use xpufleet_comply::{Gate, UseKind, UseRequest};
use xpufleet_model::{
    Acquisition, CandidateMode, Catalog, Currency, Date, MixBasis, Money, Precision, Scenario,
};

use crate::PlanError;

/// Why a candidate was left out of the program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExclusionKind {
    /// It names an accelerator, site or envelope the scenario or catalog does not have.
    Reference,
    /// Its envelope's scope does not cover its site country or its mode.
    Scope,
    /// The compliance gate does not allow it on the plan date (or it is unverified).
    Verdict,
    /// A figure the plan needs (BF16 TFLOPS, board power) is unknown.
    UnknownFigure,
    /// No exchange rate for its price or envelope currency.
    Fx,
    /// Its site has no power headroom for one node (or the headroom is unknown).
    Power,
    /// A supply cap leaves less than one node.
    Supply,
    /// One node costs more than its whole envelope.
    Budget,
    /// `max_nodes = 0`, a zero price or zero accelerators per node.
    Invalid,
    /// In a plan over periods: a lease outside its `from`/`until` window, or a purchase that
    /// would arrive after the last period starts.
    Period,
}

/// One reason a candidate was excluded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reason {
    pub kind: ExclusionKind,
    pub detail: String,
}

/// A candidate left out of the program, with every reason that applies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Excluded {
    pub candidate: String,
    pub accelerator: String,
    pub site: String,
    pub mode: CandidateMode,
    /// All reasons joined with "; ".
    pub reason: String,
    pub reasons: Vec<Reason>,
    /// The one use it is excluded for, when the other use is allowed: `training` for a
    /// candidate the rules allow only for serving (it may still be bought to serve the
    /// scenario's services). Absent: excluded for every use.
    #[serde(rename = "use", default, skip_serializing_if = "Option::is_none")]
    pub excluded_use: Option<crate::services::Use>,
}

/// A candidate that entered the program: one integer variable, its nodes.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    pub id: String,
    pub accelerator: String,
    pub vendor: String,
    pub vendor_country: String,
    /// Index into `Problem::sites`.
    pub site: usize,
    /// Index into `Problem::envelopes`.
    pub envelope: usize,
    pub mode: CandidateMode,
    pub accels_per_node: u64,
    pub chips_per_node: u64,
    /// Price of one node over the plan, in the envelope's currency (lease: rate × accels ×
    /// horizon hours).
    pub node_cost: f64,
    pub node_cost_usd: f64,
    /// Board power × accelerators × site PUE.
    pub node_power_w: f64,
    pub pflops_per_node: f64,
    pub mfu: f64,
    pub max_nodes: Option<u64>,
    /// Supply caps (indices into `Problem::caps`) this item counts toward.
    pub caps: Vec<usize>,
    /// For a serving copy of a candidate (`services`): the row it covers; `None` for the
    /// candidate itself, whose nodes train.
    pub serve: Option<crate::services::Serve>,
    /// For a serving copy: the candidate items whose nodes its units are shares of (its own
    /// candidate, or several alike: see `services::share_copies`); empty for a candidate.
    pub sharers: Vec<usize>,
    /// The licence rows (indices into `Problem::licences`) one node draws on, with what it
    /// draws: accelerators for a quantity row, purchase value for a value row.
    pub licences: Vec<(usize, f64)>,
    /// True for a candidate whose training verdict excludes it but whose serving verdict does
    /// not: it trains nothing (no PFLOPS, no nodes of its own) and enters the program only
    /// through its serving copies.
    pub serving_only: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct EnvelopeRow {
    pub id: String,
    pub currency: Currency,
    pub budget: f64,
    /// USD per unit of the envelope's currency, if known.
    pub usd_rate: Option<f64>,
}

#[derive(Debug, Clone)]
pub(crate) struct MixRow {
    pub id: String,
    pub envelope: usize,
    pub domestic_country: String,
    pub min_share: f64,
    pub basis: MixBasis,
}

#[derive(Debug, Clone)]
pub(crate) struct CapRow {
    pub id: String,
    pub max_accels: f64,
}

#[derive(Debug, Clone)]
pub(crate) struct SiteRow {
    pub id: String,
    pub country: String,
    pub limit_w: f64,
    /// Draw of the existing pools at the site, or why it is unknown.
    pub existing_w: Result<f64, String>,
    /// True for a plan over periods, whose power rows are in `Problem::extra`: the headroom then
    /// only bounds each item's nodes.
    pub bound_only: bool,
}

impl SiteRow {
    pub fn headroom_w(&self) -> Option<f64> {
        self.existing_w.as_ref().ok().map(|e| self.limit_w - e)
    }
}

/// What a licence with a `quantity` or `value` has left for the plan (`licence:<id>`): one row
/// over every plan line under it, in every period. A licence with both gets a second row for
/// its value, `licence:<id>:value`.
#[derive(Debug, Clone)]
pub(crate) struct LicenceRow {
    /// The constraint id: `licence:<id>` (or `licence:<id>:value` for the value of a licence
    /// that also limits the quantity).
    pub id: String,
    /// "accelerators", or the licence's currency.
    pub unit: String,
    /// What the licence allows in all, in `unit`.
    pub allowed: f64,
    /// What the pools under it already draw, in `unit`.
    pub drawn: f64,
}

impl LicenceRow {
    /// What is left for the plan: never below zero.
    pub fn remaining(&self) -> f64 {
        (self.allowed - self.drawn).max(0.0)
    }
}

/// The licence rows of `scenario`, the warnings about them (over-drawn by the pools, a value
/// that cannot be converted), and for each licence of the scenario the indices of its rows
/// (quantity first, then value).
fn licence_rows(scenario: &Scenario) -> (Vec<LicenceRow>, Vec<String>, Vec<Vec<usize>>) {
    let mut rows = Vec::new();
    let mut warnings = Vec::new();
    let mut of = Vec::new();
    let n = scenario.pools.len();
    for l in &scenario.licences {
        let mut mine = Vec::new();
        let (used_q, used_v) = xpufleet_comply::licence_drawdown(scenario, l, n);
        if let Some(q) = l.quantity {
            if used_q > q {
                warnings.push(format!(
                    "licence {}: the pools under it already draw {used_q} of its {q} accelerators, so nothing more is planned under it (remaining 0)",
                    l.id
                ));
            }
            mine.push(rows.len());
            rows.push(LicenceRow {
                id: format!("licence:{}", l.id),
                unit: "accelerators".into(),
                allowed: q as f64,
                drawn: used_q as f64,
            });
        }
        if let Some(v) = &l.value {
            match used_v {
                Some(used) => {
                    if used > v.amount {
                        warnings.push(format!(
                            "licence {}: the pools under it already draw {} of its value of {v}, so nothing more is bought under it (remaining 0)",
                            l.id,
                            Money::new(used, v.currency.clone())
                        ));
                    }
                    mine.push(rows.len());
                    rows.push(LicenceRow {
                        id: if l.quantity.is_some() {
                            format!("licence:{}:value", l.id)
                        } else {
                            format!("licence:{}", l.id)
                        },
                        unit: v.currency.to_string(),
                        allowed: v.amount,
                        drawn: used,
                    });
                }
                // The plan cannot know what is left, so it buys nothing under the licence
                // (every line under it is held at zero through a zero limit).
                None => {
                    warnings.push(format!(
                        "licence {}: a pool's price under it cannot be converted to {}, so what is left of its value is unknown and nothing is bought under it; add the rate to [fx]",
                        l.id, v.currency
                    ));
                    mine.push(rows.len());
                    rows.push(LicenceRow {
                        id: if l.quantity.is_some() {
                            format!("licence:{}:value", l.id)
                        } else {
                            format!("licence:{}", l.id)
                        },
                        unit: v.currency.to_string(),
                        allowed: 0.0,
                        drawn: 0.0,
                    });
                }
            }
        }
        of.push(mine);
    }
    (rows, warnings, of)
}

/// The licence a candidate's lines draw on, when one of those it lists limits a quantity or a
/// value: the first it lists that is valid on `date` and covers its accelerator and site
/// country (a line is drawn from one licence, never counted twice). Each entry is a licence
/// row and what one node draws on it; an error when a purchase cannot be priced in the
/// licence's currency.
fn licence_coefs(
    scenario: &Scenario,
    rows_of: &[Vec<usize>],
    c: &xpufleet_model::Candidate,
    country: &str,
    date: Date,
) -> Result<Vec<(usize, f64)>, String> {
    let Some((k, l)) = scenario.licences.iter().enumerate().find(|(_, l)| {
        c.licences.contains(&l.id)
            && l.valid_from <= date
            && date <= l.valid_until
            && (l.accelerators.is_empty() || l.accelerators.contains(&c.accelerator))
            && (l.countries.is_empty()
                || l.countries.iter().any(|x| x.eq_ignore_ascii_case(country)))
    }) else {
        return Ok(vec![]);
    };
    let accels = c.accels_per_node as f64;
    let mut rows = rows_of[k].iter().copied();
    let mut out = Vec::new();
    if l.quantity.is_some() {
        out.extend(rows.next().map(|r| (r, accels)));
    }
    if let Some(v) = &l.value {
        // A lease has no purchase value, as a leased pool draws none (`pool_value`).
        let per_node = match c.mode {
            CandidateMode::Buy => {
                scenario
                    .fx
                    .convert(&c.price.scale(accels), &v.currency)
                    .map_err(|e| {
                        format!(
                            "licence {}: cannot price a node in {} to draw on its value: {e}",
                            l.id, v.currency
                        )
                    })?
                    .amount
            }
            CandidateMode::Lease => 0.0,
        };
        if let Some(r) = rows.next() {
            if per_node > 0.0 {
                out.push((r, per_node));
            }
        }
    }
    Ok(out)
}

/// The planning problem, before any objective.
#[derive(Debug, Clone)]
pub(crate) struct Problem {
    pub items: Vec<Item>,
    pub excluded: Vec<Excluded>,
    /// Candidates excluded only because a budget, supply cap or site's power headroom is too
    /// small for one node (they are in `excluded` too), as the items they would be: a
    /// sensitivity re-solve that relaxes the limit may admit them (`Problem::with_latent`).
    pub latent: Vec<Item>,
    pub envelopes: Vec<EnvelopeRow>,
    pub mixes: Vec<MixRow>,
    pub caps: Vec<CapRow>,
    pub sites: Vec<SiteRow>,
    /// Serving demand rows (`services`), empty without `[[service]]`.
    pub service_rows: Vec<crate::services::ServiceRow>,
    pub warnings: Vec<String>,
    /// Rows beyond the groups above: a plan over periods writes its per-period power, target
    /// and total-budget rows here (`periods.rs`).
    pub extra: Vec<crate::periods::ExtraRow>,
    /// For a plan over periods, which period each item is ordered in and when it is present.
    pub timeline: Option<crate::periods::Timeline>,
    /// What each licence with a quantity or value has left (rows over every period).
    pub licences: Vec<LicenceRow>,
}

fn node_money(price: &Money, accels: u64, mode: CandidateMode, horizon_hours: f64) -> Money {
    match mode {
        CandidateMode::Buy => price.scale(accels as f64),
        CandidateMode::Lease => price.scale(accels as f64 * horizon_hours),
    }
}

/// Builds the problem. Structural mistakes that would silently drop a constraint (a mix over an
/// unknown envelope, a share outside 0..=1) are errors; anything about one candidate is an
/// exclusion with its reasons.
pub(crate) fn prepare(
    scenario: &Scenario,
    catalog: &Catalog,
    gate: &dyn Gate,
    perf: &dyn crate::Mfu,
    date: Date,
) -> Result<Problem, PlanError> {
    let horizon_hours = scenario.plan.horizon_days * 24.0;
    if !(horizon_hours.is_finite() && horizon_hours >= 0.0) {
        return Err(PlanError::Invalid(format!(
            "plan.horizon_days must be a non-negative number, found {}",
            scenario.plan.horizon_days
        )));
    }
    let fx = &scenario.fx;
    let envelopes: Vec<EnvelopeRow> = scenario
        .envelopes
        .iter()
        .map(|e| EnvelopeRow {
            id: e.id.clone(),
            currency: e.budget.currency.clone(),
            budget: e.budget.amount,
            usd_rate: fx.rate(&e.budget.currency).ok(),
        })
        .collect();
    for e in &envelopes {
        if !(e.budget.is_finite() && e.budget >= 0.0) {
            return Err(PlanError::Invalid(format!(
                "envelope {}: budget must be a non-negative amount, found {}",
                e.id, e.budget
            )));
        }
    }
    let mut mixes = Vec::new();
    for m in &scenario.supplier_mix {
        let Some(envelope) = envelopes.iter().position(|e| e.id == m.envelope) else {
            return Err(PlanError::Invalid(format!(
                "supplier_mix {}: unknown envelope {:?}",
                m.id, m.envelope
            )));
        };
        if !(0.0..=1.0).contains(&m.min_share) {
            return Err(PlanError::Invalid(format!(
                "supplier_mix {}: min_share must lie in 0..=1, found {}",
                m.id, m.min_share
            )));
        }
        mixes.push(MixRow {
            id: m.id.clone(),
            envelope,
            domestic_country: m.domestic_country.clone(),
            min_share: m.min_share,
            basis: m.basis,
        });
    }
    let caps: Vec<CapRow> = scenario
        .supply_caps
        .iter()
        .map(|c| CapRow {
            id: c.id.clone(),
            max_accels: c.max_accels as f64,
        })
        .collect();
    for c in &scenario.supply_caps {
        if c.vendor.is_none() && c.accelerator.is_none() {
            return Err(PlanError::Invalid(format!(
                "supply_cap {}: names neither a vendor nor an accelerator",
                c.id
            )));
        }
    }
    let sites: Vec<SiteRow> = scenario
        .sites
        .iter()
        .map(|s| SiteRow {
            id: s.id.clone(),
            country: s.country.clone(),
            limit_w: s.power_mw * 1e6,
            existing_w: existing_draw_w(scenario, catalog, &s.id, s.pue, date),
            bound_only: false,
        })
        .collect();

    let (licences, licence_warnings, licence_rows_of) = licence_rows(scenario);
    let mut items = Vec::new();
    let mut excluded = Vec::new();
    let mut latent = Vec::new();
    for c in &scenario.candidates {
        let mut reasons: Vec<Reason> = Vec::new();
        macro_rules! why {
            ($kind:expr, $detail:expr $(,)?) => {
                reasons.push(Reason {
                    kind: $kind,
                    detail: $detail,
                })
            };
        }
        let accel = catalog.get(&c.accelerator);
        let site = sites.iter().position(|s| s.id == c.site);
        let envelope = envelopes.iter().position(|e| e.id == c.envelope);
        if accel.is_none() {
            why!(
                ExclusionKind::Reference,
                format!("unknown accelerator {:?}", c.accelerator),
            );
        }
        if site.is_none() {
            why!(
                ExclusionKind::Reference,
                format!("unknown site {:?}", c.site)
            );
        }
        if envelope.is_none() {
            why!(
                ExclusionKind::Reference,
                format!("unknown envelope {:?}", c.envelope),
            );
        }
        let (Some(accel), Some(si), Some(ei)) = (accel, site, envelope) else {
            excluded.push(excluded_of(c, reasons));
            continue;
        };
        let scope = &scenario.envelopes[ei].scope;
        let country = &sites[si].country;
        if !scope.countries.is_empty() && !scope.countries.iter().any(|k| k == country) {
            why!(
                ExclusionKind::Scope,
                format!(
                    "envelope {} pays only for sites in {}; site {} is in {country}",
                    c.envelope,
                    scope.countries.join(", "),
                    c.site
                ),
            );
        }
        if !scope.modes.is_empty() && !scope.modes.contains(&c.mode) {
            why!(
                ExclusionKind::Scope,
                format!("envelope {} does not pay for {}", c.envelope, c.mode),
            );
        }
        let req = UseRequest {
            user: scenario.company.clone(),
            target: c.id.clone(),
            kind: match c.mode {
                CandidateMode::Buy => UseKind::Own,
                CandidateMode::Lease => UseKind::Remote,
            },
            workload_flops: None,
            date,
        };
        let verdict = gate.verdict(&req);
        // Judged per use: what makes a candidate unusable for *training* (the training verdict,
        // an unknown training figure: TFLOPS or MFU) leaves it free to serve, when the scenario
        // has services to serve and its serving verdict is usable (the 2025-05-13 guidance
        // names training on leased chips abroad, not serving on them; a part bought only to
        // serve needs only what serving needs). Such reasons go to `training_why`; with no
        // other reason the candidate enters as serving-only, listed as excluded for training.
        let serving_ok = !scenario.services.is_empty()
            && crate::services::verdict_for(gate, &req, crate::services::Use::Serving).usable();
        let mut training_why: Vec<Reason> = Vec::new();
        macro_rules! training_why {
            ($kind:expr, $detail:expr $(,)?) => {
                if serving_ok {
                    training_why.push(Reason {
                        kind: $kind,
                        detail: $detail,
                    })
                } else {
                    why!($kind, $detail)
                }
            };
        }
        if !verdict.usable() {
            training_why!(ExclusionKind::Verdict, verdict.summary());
        }
        let tflops = accel.peak_tflops(Precision::Bf16);
        if tflops.is_none() {
            training_why!(
                ExclusionKind::UnknownFigure,
                format!(
                    "{}: tflops_bf16 is unknown, so its compute cannot be valued",
                    accel.id
                ),
            );
        }
        let power_w = accel.power_w.get();
        if power_w.is_none() {
            // A user-given value is taken only through the catalog (`--catalog FILE` or an
            // [[accelerator]] override in the scenario or a what-if): the planner never guesses.
            why!(
                ExclusionKind::UnknownFigure,
                format!(
                    "{}: power_w (board power) is unknown, so the site power cap cannot be checked; give it in a catalog override",
                    accel.id
                ),
            );
        }
        let accels = c.accels_per_node as u64;
        if accels == 0 || !(c.price.amount.is_finite() && c.price.amount > 0.0) {
            why!(
                ExclusionKind::Invalid,
                "needs accels_per_node > 0 and a positive price".to_string(),
            );
        }
        if c.max_nodes == Some(0) {
            why!(ExclusionKind::Invalid, "max_nodes = 0".to_string());
        }
        let node = node_money(&c.price, accels, c.mode, horizon_hours);
        let env_ccy = &envelopes[ei].currency;
        let (node_cost, node_cost_usd) = match (fx.convert(&node, env_ccy), fx.to_usd(&node)) {
            (Ok(m), Ok(usd)) => (m.amount, usd),
            (Err(e), _) | (_, Err(e)) => {
                why!(
                    ExclusionKind::Fx,
                    format!("cannot price {} in {env_ccy} and USD: {e}", node.currency),
                );
                (f64::NAN, f64::NAN)
            }
        };
        let licence_coefs =
            match licence_coefs(scenario, &licence_rows_of, c, &sites[si].country, date) {
                Ok(v) => v,
                Err(e) => {
                    why!(ExclusionKind::Fx, e);
                    vec![]
                }
            };
        // Training reasons alone leave a serving-only candidate in; any other reason excludes
        // it for every use.
        if !reasons.is_empty() {
            excluded.push(excluded_of(c, with_training(training_why, reasons)));
            continue;
        }
        // An unknown TFLOPS figure left the candidate in only to serve (`training_why`).
        let tflops = tflops.unwrap_or(0.0);
        let power_w = power_w.expect("checked above");
        let pue = scenario.sites[scenario_site_index(scenario, &c.site)].pue;
        let node_power_w = power_w * accels as f64 * pue;

        let mut member_caps = Vec::new();
        let mut ub = c.max_nodes.map(u64::from).unwrap_or(u64::MAX) as f64;
        let budget = envelopes[ei].budget;
        let by_budget = (budget / node_cost).floor();
        if !(node_cost.is_finite() && node_cost_usd.is_finite() && by_budget >= 1.0) {
            why!(
                ExclusionKind::Budget,
                format!(
                    "one node costs {} but envelope {} holds {}",
                    Money::new(node_cost, env_ccy.clone()),
                    c.envelope,
                    Money::new(budget, env_ccy.clone())
                ),
            );
        }
        ub = ub.min(by_budget);
        for &(r, per_node) in &licence_coefs {
            ub = ub.min((licences[r].remaining() / per_node + 1e-9).floor());
        }
        for (k, cap) in scenario.supply_caps.iter().enumerate() {
            let vendor_ok = cap
                .vendor
                .as_ref()
                .is_none_or(|v| v.eq_ignore_ascii_case(&accel.vendor));
            let part_ok = cap.accelerator.as_ref().is_none_or(|a| *a == accel.id);
            if !(vendor_ok && part_ok) {
                continue;
            }
            member_caps.push(k);
            let by_cap = (cap.max_accels as f64 / accels as f64).floor();
            if by_cap < 1.0 {
                why!(
                    ExclusionKind::Supply,
                    format!(
                        "supply cap {} allows {} accelerators; one node has {accels}",
                        cap.id, cap.max_accels
                    ),
                );
            }
            ub = ub.min(by_cap);
        }
        match sites[si].headroom_w() {
            None => why!(
                ExclusionKind::Power,
                format!(
                    "site {} power headroom is unknown: {}",
                    c.site,
                    sites[si].existing_w.as_ref().unwrap_err()
                ),
            ),
            Some(_) if !(node_power_w.is_finite() && node_power_w > 0.0) => why!(
                ExclusionKind::Power,
                format!(
                    "one node's power (board power x {accels} x site PUE {pue}) is not a finite positive number"
                ),
            ),
            Some(h) => {
                let by_power = (h / node_power_w).floor();
                // NaN (an unbounded draw of the existing pools) counts as no headroom.
                if by_power.is_nan() || by_power < 1.0 {
                    why!(
                        ExclusionKind::Power,
                        format!(
                            "site {} has {:.3} MW of headroom; one node draws {:.3} MW",
                            c.site,
                            h.max(0.0) / 1e6,
                            node_power_w / 1e6
                        ),
                    );
                }
                ub = ub.min(by_power);
            }
        }
        // Left out only by a limit too small for one node, with every figure known: kept as a
        // latent item, which relaxing the limit can admit.
        let single_node_limit = |k: ExclusionKind| {
            matches!(
                k,
                ExclusionKind::Budget | ExclusionKind::Supply | ExclusionKind::Power
            )
        };
        let latent_item = !reasons.is_empty()
            && training_why.is_empty()
            && reasons.iter().all(|r| single_node_limit(r.kind))
            && node_cost.is_finite()
            && node_cost > 0.0
            && node_cost_usd.is_finite()
            && node_power_w.is_finite()
            && node_power_w > 0.0
            && sites[si].headroom_w().is_some_and(f64::is_finite);
        if !reasons.is_empty() && !latent_item {
            excluded.push(excluded_of(c, with_training(training_why, reasons)));
            continue;
        }
        let limit_reasons = reasons.len();
        // MFU falls with scale in any sensible model, so it is taken at the largest build-out
        // the limits allow: the plan never values a candidate above what it could deliver.
        let n_accels = (ub.max(1.0) * accels as f64).min(u64::MAX as f64 / 2.0) as u64;
        let domain = c.scaleup_domain.unwrap_or(c.accels_per_node);
        // Without TFLOPS there is nothing to ask an MFU of (the reason is said above).
        let mfu = match perf.mfu(accel, n_accels, domain) {
            _ if tflops <= 0.0 && !training_why.is_empty() => 0.0,
            Ok(m) if m.is_finite() && m > 0.0 => m,
            Ok(m) => {
                training_why!(
                    ExclusionKind::UnknownFigure,
                    format!("the performance model gives MFU {m} for {}", accel.id),
                );
                0.0
            }
            Err(e) => {
                training_why!(ExclusionKind::UnknownFigure, e);
                0.0
            }
        };
        let pflops_per_node = tflops * mfu * accels as f64 / 1000.0;
        if training_why.is_empty() && !(pflops_per_node.is_finite() && pflops_per_node > 0.0) {
            training_why!(
                ExclusionKind::UnknownFigure,
                format!("its effective PFLOPS a node ({pflops_per_node}) is not a finite positive number"),
            );
        }
        if latent_item && (reasons.len() > limit_reasons || !training_why.is_empty()) {
            // A figure is missing too: excluded for the limit alone, as before, and never
            // admitted.
            reasons.truncate(limit_reasons);
            excluded.push(excluded_of(c, reasons));
            continue;
        }
        if !reasons.is_empty() && !latent_item {
            excluded.push(excluded_of(c, with_training(training_why, reasons)));
            continue;
        }
        let serving_only = !training_why.is_empty();
        let item = Item {
            id: c.id.clone(),
            accelerator: accel.id.clone(),
            vendor: accel.vendor.clone(),
            vendor_country: accel.vendor_country.clone(),
            site: si,
            envelope: ei,
            mode: c.mode,
            accels_per_node: accels,
            chips_per_node: accels * accel.chips_per_unit as u64,
            node_cost,
            node_cost_usd,
            node_power_w,
            // It trains nothing, so it can never dominate a part that trains.
            pflops_per_node: if serving_only { 0.0 } else { pflops_per_node },
            mfu,
            max_nodes: c.max_nodes.map(u64::from),
            caps: member_caps,
            serve: None,
            sharers: Vec::new(),
            licences: licence_coefs,
            serving_only,
        };
        if serving_only {
            let reasons = training_why
                .into_iter()
                .map(|r| Reason {
                    kind: r.kind,
                    detail: format!(
                        "for training: {} (serving is allowed, so it may be bought to serve)",
                        r.detail
                    ),
                })
                .collect();
            let mut x = excluded_of(c, reasons);
            x.excluded_use = Some(crate::services::Use::Training);
            excluded.push(x);
            items.push(item);
        } else if latent_item {
            excluded.push(excluded_of(c, reasons));
            latent.push(item);
        } else {
            items.push(item);
        }
    }
    let mut warnings = licence_warnings;
    for m in &mixes {
        let any_domestic = items
            .iter()
            .any(|it| it.envelope == m.envelope && it.vendor_country == m.domestic_country);
        let any = items.iter().any(|it| it.envelope == m.envelope);
        if any && !any_domestic && m.min_share > 0.0 {
            warnings.push(format!(
                "supplier mix {}: no eligible candidate in envelope {} is from a {} vendor, so the envelope can spend nothing",
                m.id, envelopes[m.envelope].id, m.domestic_country
            ));
        }
    }
    Ok(Problem {
        items,
        excluded,
        latent,
        envelopes,
        mixes,
        caps,
        sites,
        service_rows: Vec::new(),
        warnings,
        extra: Vec::new(),
        timeline: None,
        licences,
    })
}

impl Problem {
    /// The problem with its latent items appended as items (after the others, so the first
    /// `items.len()` indices keep their meaning), and `lim` extended to match; `None` when there
    /// are none. Under the base limits a latent item's row-implied bound is zero, so it only
    /// enters a program whose limits were relaxed.
    pub fn with_latent(
        &self,
        lim: &crate::model::Limits,
    ) -> Option<(Problem, crate::model::Limits)> {
        if self.latent.is_empty() {
            return None;
        }
        let mut p = self.clone();
        p.items.append(&mut p.latent);
        let mut l = lim.clone();
        l.max_nodes
            .extend(self.latent.iter().map(|it| it.max_nodes.map(|n| n as f64)));
        Some((p, l))
    }
}

fn scenario_site_index(s: &Scenario, id: &str) -> usize {
    s.sites
        .iter()
        .position(|x| x.id == id)
        .expect("the site was resolved before")
}

/// Power drawn at a site by the pools already there (board power × accelerators × PUE). Leases
/// that ended before the plan date no longer draw power.
fn existing_draw_w(
    scenario: &Scenario,
    catalog: &Catalog,
    site: &str,
    pue: f64,
    date: Date,
) -> Result<f64, String> {
    let mut total_w = 0.0;
    for p in scenario.pools.iter().filter(|p| p.site == site) {
        if let Acquisition::Leased {
            until: Some(until), ..
        } = &p.acquisition
        {
            if *until < date {
                continue;
            }
        }
        let Some(a) = catalog.get(&p.accelerator) else {
            return Err(format!(
                "pool {} names unknown accelerator {:?}",
                p.id, p.accelerator
            ));
        };
        let Some(w) = a.power_w.get() else {
            return Err(format!(
                "pool {} holds {}, whose power_w is unknown",
                p.id, a.id
            ));
        };
        total_w += w * p.accelerators() as f64 * pue;
    }
    Ok(total_w)
}

/// A candidate excluded for every use: its training reasons (verdict, training figures) first,
/// as they were found first, then the others.
fn with_training(mut training: Vec<Reason>, reasons: Vec<Reason>) -> Vec<Reason> {
    training.extend(reasons);
    training
}

fn excluded_of(c: &xpufleet_model::Candidate, reasons: Vec<Reason>) -> Excluded {
    Excluded {
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
    }
}
