//! Planning under uncertainty: Monte Carlo over a scenario's risks, the spread of a plan's
//! compute and spend across samples, and a robust plan that maximises a stated measure of
//! compute over a sample (a sample-average program: buy now, judged on every sample).
//!
//! Words:
//!
//! - **risk**: a rule that may land (making candidates unusable from its date), a delivered
//!   fraction, a price multiplier or an exchange rate ([`Effect`]), already resolved by the
//!   caller to the candidates it touches.
//! - **sample**: one uniform number per risk, drawn from ChaCha8 seeded with the run's seed on
//!   the stream of the sample's index ([`draw`]): sample `i` is the same whether it is drawn
//!   alone, in a shard or in a full run.
//! - **outcome** of a plan in a sample: effective PFLOPS once every landed rule is in force
//!   (lines a landed rule makes unusable give nothing, and are not paid for), scaled by the
//!   delivered fraction; spend in USD of what is delivered, at the sampled prices and rates.
//! - **measure**: what the robust plan maximises over the samples it is solved on: the mean
//!   (`expected`), the 10th percentile (`p10`) or the conditional value at risk at level `a`
//!   (`cvar:a`, the mean of the worst `a` fraction of samples).
//!
//! **Invariant:** nothing here reads a clock or a file; the same seed gives the same numbers.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use xpufleet_comply::Gate;
use xpufleet_model::{Catalog, Date, Dist, RiskKind, Scenario};

use crate::model::{self, Goal, Limits};
use crate::prepare::prepare;
use crate::report::{lines, PlanLine, PlanOptions};
use crate::PlanError;

/// What one risk does once resolved against the scenario's candidates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "effect", rename_all = "lowercase")]
pub enum Effect {
    /// Lands with `probability`; from `date` on, the candidates in `lost` are unusable.
    Rule {
        probability: f64,
        date: Date,
        lost: Vec<String>,
    },
    /// The fraction delivered of each candidate in `candidates`.
    Delivery {
        candidates: Vec<String>,
        fraction: Dist,
    },
    /// A multiplier on the price of each candidate in `candidates`.
    Price {
        candidates: Vec<String>,
        multiplier: Dist,
    },
    /// USD per unit of a currency; candidates priced in it cost `drawn / nominal` times their
    /// nominal USD.
    Fx {
        candidates: Vec<String>,
        nominal: f64,
        usd_per: Dist,
    },
}

/// One risk, resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskItem {
    pub id: String,
    pub kind: RiskKind,
    pub description: String,
    #[serde(flatten)]
    pub effect: Effect,
}

/// The risks of a scenario, resolved, and the period the fan chart covers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskModel {
    pub risks: Vec<RiskItem>,
    /// The plan date: the fan chart starts here.
    pub start: Date,
    /// Days the fan chart covers (the plan's horizon).
    pub horizon_days: f64,
}

/// Sample `index`'s uniforms, one per risk in order: ChaCha8 seeded with `seed`, on stream
/// `index`, so any sample can be drawn on its own.
pub fn draw(seed: u64, index: u64, n_risks: usize) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(index);
    (0..n_risks).map(|_| rng.random::<f64>()).collect()
}

/// Samples `range` of a run seeded with `seed`.
pub fn draws(seed: u64, range: std::ops::Range<u64>, n_risks: usize) -> Vec<Vec<f64>> {
    range.map(|i| draw(seed, i, n_risks)).collect()
}

/// What a sample does to one candidate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Factors {
    /// The date from which a landed rule makes it unusable, if one does.
    pub lost_from: Option<Date>,
    /// Fraction delivered.
    pub delivered: f64,
    /// Multiplier on its nominal USD spend (prices × exchange rates).
    pub spend: f64,
}

impl RiskModel {
    /// The factors of `candidate` in the sample with uniforms `u`.
    pub fn factors(&self, candidate: &str, u: &[f64]) -> Factors {
        let mut f = Factors {
            lost_from: None,
            delivered: 1.0,
            spend: 1.0,
        };
        for (r, &u) in self.risks.iter().zip(u) {
            let has = |v: &Vec<String>| v.iter().any(|c| c == candidate);
            match &r.effect {
                Effect::Rule {
                    probability,
                    date,
                    lost,
                } if u < *probability && has(lost) => {
                    f.lost_from = Some(f.lost_from.map_or(*date, |d: Date| d.min(*date)));
                }
                Effect::Delivery {
                    candidates,
                    fraction,
                } if has(candidates) => f.delivered *= fraction.quantile(u),
                Effect::Price {
                    candidates,
                    multiplier,
                } if has(candidates) => f.spend *= multiplier.quantile(u),
                Effect::Fx {
                    candidates,
                    nominal,
                    usd_per,
                } if has(candidates) => f.spend *= usd_per.quantile(u) / nominal,
                _ => {}
            }
        }
        f
    }

    /// Effective PFLOPS and USD spend of `lines` in the sample with uniforms `u`.
    pub fn outcome(&self, lines: &[PlanLine], u: &[f64]) -> (f64, f64) {
        let (mut pflops, mut spend) = (0.0, 0.0);
        for l in lines {
            let f = self.factors(&l.candidate, u);
            if f.lost_from.is_none() {
                pflops += l.effective_pflops * f.delivered;
                spend += l.spend_usd * f.delivered * f.spend;
            }
        }
        (pflops, spend)
    }

    /// The dates of the fan chart: the start, then every 30 days to the end of the horizon.
    pub fn fan_dates(&self) -> Vec<Date> {
        let steps = (self.horizon_days / 30.0).ceil().max(1.0) as i64;
        (0..=steps)
            .map(|k| self.start.plus_days((k * 30).min(self.horizon_days as i64)))
            .collect()
    }

    /// Effective PFLOPS of `lines` on each of `dates` in the sample with uniforms `u`: a line
    /// counts until a landed rule that makes it unusable comes into force.
    pub fn over_time(&self, lines: &[PlanLine], u: &[f64], dates: &[Date]) -> Vec<f64> {
        let mut out = vec![0.0; dates.len()];
        for l in lines {
            let f = self.factors(&l.candidate, u);
            for (o, d) in out.iter_mut().zip(dates) {
                if f.lost_from.is_none_or(|from| *d < from) {
                    *o += l.effective_pflops * f.delivered;
                }
            }
        }
        out
    }

    /// One-at-a-time swings of `lines`' outcome (the tornado chart): every other risk at its
    /// nominal value (no rule lands; all delivered; prices and rates as planned), this one at
    /// its low and its high (a rule: landed and not; a range: its 10th and 90th percentiles).
    /// Sorted by the width of the PFLOPS swing, then of the spend swing.
    pub fn swings(&self, lines: &[PlanLine]) -> Vec<Swing> {
        let mut out: Vec<Swing> = self
            .risks
            .iter()
            .map(|r| {
                let alone = RiskModel {
                    risks: vec![r.clone()],
                    ..self.clone()
                };
                let at = |u: f64| alone.outcome(lines, &[u]);
                let (lo, hi) = match r.effect {
                    Effect::Rule { .. } => (at(0.0), at(1.0)),
                    _ => (at(0.1), at(0.9)),
                };
                Swing {
                    risk: r.id.clone(),
                    kind: r.kind,
                    pflops_low: lo.0.min(hi.0),
                    pflops_high: lo.0.max(hi.0),
                    spend_usd_low: lo.1.min(hi.1),
                    spend_usd_high: lo.1.max(hi.1),
                }
            })
            .collect();
        let width = |s: &Swing| {
            (
                s.pflops_high - s.pflops_low,
                s.spend_usd_high - s.spend_usd_low,
            )
        };
        out.sort_by(|a, b| {
            let (wa, wb) = (width(a), width(b));
            wb.0.total_cmp(&wa.0)
                .then_with(|| wb.1.total_cmp(&wa.1))
                .then_with(|| a.risk.cmp(&b.risk))
        });
        out
    }
}

/// How far one risk alone moves a plan's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Swing {
    pub risk: String,
    pub kind: RiskKind,
    pub pflops_low: f64,
    pub pflops_high: f64,
    pub spend_usd_low: f64,
    pub spend_usd_high: f64,
}

/// The spread of a figure across samples.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    pub p10: f64,
    pub p50: f64,
    pub p90: f64,
    pub mean: f64,
}

impl Spread {
    /// Percentiles by linear interpolation between order statistics (R's type 7), and the mean.
    pub fn of(values: &[f64]) -> Spread {
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        let mean = if v.is_empty() {
            0.0
        } else {
            v.iter().sum::<f64>() / v.len() as f64
        };
        Spread {
            p10: quantile(&v, 0.1),
            p50: quantile(&v, 0.5),
            p90: quantile(&v, 0.9),
            mean,
        }
    }
}

/// The `q` quantile of sorted `v` (type 7); 0 for no values.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    match sorted.len() {
        0 => 0.0,
        1 => sorted[0],
        n => {
            let h = (n - 1) as f64 * q;
            let (lo, frac) = (h.floor() as usize, h - h.floor());
            let hi = (lo + 1).min(n - 1);
            sorted[lo] + frac * (sorted[hi] - sorted[lo])
        }
    }
}

/// What the robust plan maximises.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Measure {
    /// The mean effective PFLOPS.
    Expected,
    /// The 10th percentile.
    P10,
    /// The mean of the worst `alpha` fraction of samples (0 < alpha ≤ 1).
    Cvar(f64),
}

impl Measure {
    /// The measure of `values` (effective PFLOPS, one per sample).
    pub fn of(self, values: &[f64]) -> f64 {
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        match self {
            Measure::Expected => v.iter().sum::<f64>() / v.len().max(1) as f64,
            Measure::P10 => quantile(&v, 0.1),
            Measure::Cvar(a) => cvar(&v, a),
        }
    }
}

/// CVaR at level `a` of sorted `v`: the mean of the lowest `a·n` values, the boundary value
/// counted fractionally (what the Rockafellar–Uryasev program's optimum equals).
fn cvar(sorted: &[f64], a: f64) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return 0.0;
    }
    let mass = a * n as f64;
    let (mut sum, mut left) = (0.0, mass);
    for &x in sorted {
        if left <= 0.0 {
            break;
        }
        let w = left.min(1.0);
        sum += w * x;
        left -= w;
    }
    sum / mass
}

impl std::fmt::Display for Measure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Measure::Expected => f.write_str("expected"),
            Measure::P10 => f.write_str("p10"),
            Measure::Cvar(a) => write!(f, "cvar:{a}"),
        }
    }
}

/// The smallest CVaR level accepted: the worst one sample in a thousand. The program weighs
/// each sample's shortfall by `1 / (level × samples)`, so a level like `1e-300` would put
/// coefficients of 1e300 before the solver and mean nothing a sample count could reach.
pub const MIN_CVAR_LEVEL: f64 = 0.001;

impl std::str::FromStr for Measure {
    type Err = String;
    fn from_str(s: &str) -> Result<Measure, String> {
        match s {
            "expected" => Ok(Measure::Expected),
            "p10" => Ok(Measure::P10),
            _ => {
                let a = s
                    .strip_prefix("cvar:")
                    .and_then(|a| a.parse::<f64>().ok())
                    .filter(|a| (MIN_CVAR_LEVEL..=1.0).contains(a));
                a.map(Measure::Cvar).ok_or_else(|| {
                    format!(
                        "expected expected, p10 or cvar:LEVEL with {MIN_CVAR_LEVEL} ≤ LEVEL ≤ 1; \
                         found {s:?}"
                    )
                })
            }
        }
    }
}

impl From<Measure> for String {
    fn from(m: Measure) -> String {
        m.to_string()
    }
}

impl TryFrom<String> for Measure {
    type Error = String;
    fn try_from(s: String) -> Result<Measure, String> {
        s.parse()
    }
}

/// The most samples the robust program is solved on; the plan is then evaluated on all of
/// them. 200 samples keep the program (one row a sample for CVaR) quick on two cores.
pub const MAX_SOLVE_SAMPLES: usize = 200;

/// CVaR levels tried when the measure is `p10`, which is not a convex measure: each level's
/// optimum, the expected-compute optimum and the base plan are the candidates, and the best
/// 10th percentile on the solve samples wins.
const P10_LEVELS: [f64; 4] = [0.05, 0.1, 0.2, 0.3];

/// The robust plan and how it was found.
#[derive(Debug, Clone, PartialEq)]
pub struct Robust {
    pub lines: Vec<PlanLine>,
    /// The measure on the solve samples.
    pub measure_value: f64,
    /// Whether every MILP behind it finished within its gap (else a time or work limit stopped
    /// one, and the plan is the best found).
    pub proven: bool,
    /// `Some(bound)` when the solver proved one: no plan has a better measure on the solve
    /// samples (for `p10` there is none: it is a heuristic over CVaR levels).
    pub bound: Option<f64>,
}

/// The plan that maximises `measure` of effective PFLOPS over `samples` (uniforms from
/// [`draw`]), under every row of the scenario's program (budgets, supplier mixes, supply caps,
/// site power, `max_nodes`), never worse on the measure than `base` (a plan of the same
/// scenario, taken as the start).
#[allow(clippy::too_many_arguments)]
pub fn robust(
    scenario: &Scenario,
    catalog: &Catalog,
    gate: &dyn Gate,
    perf: &dyn crate::Mfu,
    opts: &PlanOptions,
    model: &RiskModel,
    samples: &[Vec<f64>],
    base: &[PlanLine],
    measure: Measure,
) -> Result<Robust, PlanError> {
    let date = opts.date.unwrap_or(scenario.date);
    let p = prepare(scenario, catalog, gate, perf, date)?;
    let lim = Limits::of(&p, None);
    let rows = model::rows(&p, &lim, Goal::Feasibility);
    let ubs = model::upper_bounds(&p, &lim);
    // a[s][i]: effective PFLOPS a node of item i gives in sample s.
    let a: Vec<Vec<f64>> = samples
        .iter()
        .map(|u| {
            p.items
                .iter()
                .map(|it| {
                    let f = model.factors(&it.id, u);
                    if f.lost_from.is_some() {
                        0.0
                    } else {
                        it.pflops_per_node * f.delivered
                    }
                })
                .collect()
        })
        .collect();
    let value = |nodes: &[u64]| -> Vec<f64> {
        a.iter()
            .map(|row| row.iter().zip(nodes).map(|(v, &n)| v * n as f64).sum())
            .collect()
    };
    let base_nodes: Vec<u64> = p
        .items
        .iter()
        .map(|it| {
            base.iter()
                .filter(|l| l.candidate == it.id)
                .map(|l| l.nodes)
                .sum()
        })
        .collect();
    let base_ok = rows.iter().all(|r| model::holds(r, &base_nodes))
        && base_nodes.iter().zip(&ubs).all(|(&n, &ub)| n as f64 <= ub);
    let mut best: (Vec<u64>, f64) = if base_ok {
        let v = measure.of(&value(&base_nodes));
        (base_nodes.clone(), v)
    } else {
        (
            vec![0; p.items.len()],
            measure.of(&value(&vec![0; p.items.len()])),
        )
    };
    let levels: Vec<Option<f64>> = match measure {
        Measure::Expected => vec![None],
        Measure::Cvar(alpha) => vec![Some(alpha)],
        Measure::P10 => std::iter::once(None)
            .chain(P10_LEVELS.iter().map(|&l| Some(l)))
            .collect(),
    };
    let mut proven = true;
    let mut bound = None;
    for level in levels {
        let start = best.0.clone();
        let solved = solve_saa(&rows, &ubs, &a, level, opts, &start)?;
        proven &= solved.proven;
        if measure != Measure::P10 {
            bound = solved.bound;
        }
        if let Some(x) = solved.nodes {
            let feasible = rows.iter().all(|r| model::holds(r, &x));
            let v = measure.of(&value(&x));
            if feasible && v > best.1 + 1e-9 * best.1.abs().max(1.0) {
                best = (x, v);
            }
        }
    }
    Ok(Robust {
        lines: lines(&p, &best.0),
        measure_value: best.1,
        proven: proven && measure != Measure::P10,
        bound: bound.map(|b: f64| b.max(best.1)),
    })
}

struct Saa {
    nodes: Option<Vec<u64>>,
    proven: bool,
    bound: Option<f64>,
}

/// The sample-average MILP: maximise the mean of `a·x` (`level` = None), or CVaR at `level` by
/// the Rockafellar–Uryasev linearisation: maximise `η − Σ z_s / (level·S)` with
/// `z_s ≥ η − a_s·x`, `z_s ≥ 0`.
fn solve_saa(
    rows: &[model::Row],
    ubs: &[f64],
    a: &[Vec<f64>],
    level: Option<f64>,
    opts: &PlanOptions,
    start: &[u64],
) -> Result<Saa, PlanError> {
    use microlp::{ComparisonOp, LinearExpr, OptimizationDirection, Problem};
    let n_items = ubs.len();
    let n_samples = a.len().max(1) as f64;
    let mut pb = Problem::new(OptimizationDirection::Maximize);
    let xs: Vec<microlp::Variable> = (0..n_items)
        .map(|i| {
            let c = match level {
                None => a.iter().map(|row| row[i]).sum::<f64>() / n_samples,
                Some(_) => 0.0,
            };
            pb.add_integer_var(c, (0, ubs[i] as i32))
        })
        .collect();
    for r in rows {
        let scale = r
            .coefs
            .iter()
            .map(|(_, a)| a.abs())
            .fold(r.rhs.abs(), f64::max);
        let scale = if scale > 0.0 { 1.0 / scale } else { 1.0 };
        let mut e = LinearExpr::empty();
        for &(i, c) in &r.coefs {
            e.add(xs[i], c * scale);
        }
        pb.add_constraint(e, ComparisonOp::Le, r.rhs * scale);
    }
    let mut warm: Vec<(microlp::Variable, f64)> =
        xs.iter().zip(start).map(|(v, &n)| (*v, n as f64)).collect();
    if let Some(alpha) = level {
        let top: f64 = (0..n_items)
            .map(|i| a.iter().map(|row| row[i]).fold(0.0, f64::max) * ubs[i])
            .sum();
        let eta = pb.add_var(1.0, (0.0, top.max(0.0)));
        let start_vals: Vec<f64> = a
            .iter()
            .map(|row| row.iter().zip(start).map(|(v, &n)| v * n as f64).sum())
            .collect();
        let mut sorted = start_vals.clone();
        sorted.sort_by(f64::total_cmp);
        let eta0 = quantile(&sorted, alpha);
        warm.push((eta, eta0));
        for (row, v0) in a.iter().zip(&start_vals) {
            let z = pb.add_var(-1.0 / (alpha * n_samples), (0.0, f64::INFINITY));
            warm.push((z, (eta0 - v0).max(0.0)));
            // z_s − η + a_s·x ≥ 0, scaled by the largest coefficient.
            let scale = row.iter().fold(1.0f64, |m, v| m.max(v.abs()));
            let mut e = LinearExpr::empty();
            e.add(z, 1.0 / scale);
            e.add(eta, -1.0 / scale);
            for (i, &v) in row.iter().enumerate() {
                if v != 0.0 {
                    e.add(xs[i], v / scale);
                }
            }
            pb.add_constraint(e, ComparisonOp::Ge, 0.0);
        }
    }
    let mut o = microlp::SolveOptions::default();
    o.time_limit = opts
        .time_limit_s
        .map(|t| std::time::Duration::from_secs_f64(t.max(0.0)));
    o.node_limit = Some(200_000);
    o.mip_gap = opts.mip_gap.max(1e-4);
    o.warm_start = Some(warm);
    match pb.solve_with(o) {
        Ok(microlp::SolveOutcome::Solution(s)) => {
            let x = xs
                .iter()
                .map(|v| s.var_value_raw(*v).round().max(0.0) as u64)
                .collect();
            Ok(Saa {
                nodes: Some(x),
                proven: matches!(
                    s.termination_reason(),
                    microlp::TerminationReason::ProvenOptimal | microlp::TerminationReason::MipGap
                ),
                bound: s.stats().best_bound,
            })
        }
        Ok(microlp::SolveOutcome::Interrupted(i)) => Ok(Saa {
            nodes: None,
            proven: false,
            bound: i.stats().best_bound,
        }),
        // Buying nothing satisfies every row, so this is the solver's numerical trouble: keep
        // the start.
        Err(microlp::Error::Infeasible) => Ok(Saa {
            nodes: None,
            proven: false,
            bound: None,
        }),
        Err(e) => Err(PlanError::Solver(e.to_string())),
    }
}
