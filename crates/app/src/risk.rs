//! Planning under uncertainty, the use case: resolve a scenario's `[[risk]]` entries against its
//! candidates (which a vendor covers, which a rule would make unusable), then sample them and
//! compare the base plan with a robust one (`plan --samples`). The engine is
//! `xpufleet_plan::risk`; this file reads the rule risks' what-if files and asks the rule engine.

use serde::Serialize;
use xpufleet_comply::{Gate, RuleEngine, UseKind, UseRequest};
use xpufleet_io::whatif::parse_what_if;
use xpufleet_io::{Diagnostic, Diagnostics, LoadedScenario};
use xpufleet_model::{CandidateMode, Date, RiskKind, Scenario};
use xpufleet_perf::PerfModel;
use xpufleet_plan::risk::{
    draws, Effect, Measure, RiskItem, RiskModel, Spread, Swing, MAX_SOLVE_SAMPLES,
};
use xpufleet_plan::{Plan, PlanLine, PlanOptions};

use crate::{rule_set, Error, RuleText};

/// What `plan --samples N --seed S --risk-measure M` asks for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RiskOptions {
    pub samples: u64,
    pub seed: u64,
    pub measure: Measure,
}

/// The most samples one run may ask for: ten million samples of the example take minutes; more
/// is a sweep (`xpufleet sweep`), which splits them into shards.
pub const MAX_SAMPLES: u64 = 10_000_000;

impl Default for RiskOptions {
    fn default() -> Self {
        RiskOptions {
            samples: 1000,
            seed: 0,
            measure: Measure::Expected,
        }
    }
}

fn usable(gate: &dyn Gate, s: &Scenario, id: &str, mode: CandidateMode, date: Date) -> bool {
    gate.verdict(&UseRequest {
        user: s.company.clone(),
        target: id.to_string(),
        kind: match mode {
            CandidateMode::Buy => UseKind::Own,
            CandidateMode::Lease => UseKind::Remote,
        },
        workload_flops: None,
        date,
    })
    .usable()
}

/// The scenario's risks resolved against its candidates, as of `date` (the plan date).
///
/// A rule risk is judged on its own against the scenario: its what-if is applied (date, rule
/// packs, licences, catalog entries) and every candidate usable as of `date` under the
/// scenario's rules but not under the what-if's, as of the what-if's `as_of` (else the risk's
/// date), is lost when it lands. Its other changes (prices, budgets, caps) are not applied:
/// price risks model prices.
pub fn risk_model(
    loaded: &LoadedScenario,
    extra_rules: &[RuleText],
    date: Date,
) -> Result<RiskModel, Error> {
    let s = &loaded.scenario;
    let mut risks = Vec::new();
    let mut base_engine: Option<RuleEngine> = None;
    for (i, r) in s.risks.iter().enumerate() {
        let vendor_of = |c: &xpufleet_model::Candidate| {
            loaded
                .catalog
                .get(&c.accelerator)
                .map(|a| a.vendor.clone())
                .unwrap_or_default()
        };
        let matches = |c: &xpufleet_model::Candidate| {
            r.vendor
                .as_ref()
                .is_none_or(|v| vendor_of(c).eq_ignore_ascii_case(v))
                && r.candidate.as_ref().is_none_or(|id| &c.id == id)
                && r.mode.is_none_or(|m| c.mode == m)
        };
        let selected = || -> Vec<String> {
            s.candidates
                .iter()
                .filter(|c| matches(c))
                .map(|c| c.id.clone())
                .collect()
        };
        let missing = |field: &str| {
            Error::Input(Diagnostics::from(Diagnostic::new(
                &loaded.origin,
                format!("risk[{i}] ({}): {field} is missing", r.id),
            )))
        };
        let effect = match r.kind {
            RiskKind::Rule => {
                let rel = r.what_if.as_deref().ok_or_else(|| missing("what_if"))?;
                let risk_date = r.date.ok_or_else(|| missing("date"))?;
                let (origin, text) = loaded.read_relative(rel).map_err(Diagnostics::from)?;
                let w = parse_what_if(&text, &origin)?;
                let (alt_s, alt_c) = w.apply(s, &loaded.catalog)?;
                let alt_loaded = LoadedScenario {
                    scenario: alt_s,
                    catalog: alt_c,
                    ..loaded.clone()
                };
                let mut extra = extra_rules.to_vec();
                if !w.what_if.rule_packs.is_empty() {
                    let dir = std::path::Path::new(&origin)
                        .parent()
                        .unwrap_or(std::path::Path::new(""))
                        .to_path_buf();
                    extra.extend(crate::read_rule_files(&w.what_if.rule_packs, &dir, loaded)?);
                }
                let alt = RuleEngine::new(
                    rule_set(&alt_loaded, &extra)?,
                    &alt_loaded.scenario,
                    &alt_loaded.catalog,
                );
                if base_engine.is_none() {
                    base_engine = Some(RuleEngine::new(
                        rule_set(loaded, extra_rules)?,
                        s,
                        &loaded.catalog,
                    ));
                }
                let base = base_engine.as_ref().expect("set above");
                let alt_date = w.what_if.as_of.unwrap_or(risk_date);
                let lost = s
                    .candidates
                    .iter()
                    .filter(|c| {
                        usable(base, s, &c.id, c.mode, date)
                            && !usable(&alt, &alt_loaded.scenario, &c.id, c.mode, alt_date)
                    })
                    .map(|c| c.id.clone())
                    .collect();
                Effect::Rule {
                    probability: r.probability.ok_or_else(|| missing("probability"))?,
                    date: risk_date,
                    lost,
                }
            }
            RiskKind::Delivery => Effect::Delivery {
                candidates: selected(),
                fraction: r.fraction.ok_or_else(|| missing("fraction"))?,
            },
            RiskKind::Price => Effect::Price {
                candidates: selected(),
                multiplier: r.multiplier.ok_or_else(|| missing("multiplier"))?,
            },
            RiskKind::Fx => {
                let ccy = r.currency.clone().ok_or_else(|| missing("currency"))?;
                let nominal = s.fx.rate(&ccy).map_err(|e| {
                    Error::Input(
                        Diagnostic::new(&loaded.origin, format!("risk {}: {e}", r.id)).into(),
                    )
                })?;
                Effect::Fx {
                    candidates: s
                        .candidates
                        .iter()
                        .filter(|c| c.price.currency == ccy)
                        .map(|c| c.id.clone())
                        .collect(),
                    nominal,
                    usd_per: r.usd_per.ok_or_else(|| missing("usd_per"))?,
                }
            }
        };
        risks.push(RiskItem {
            id: r.id.clone(),
            kind: r.kind,
            description: r.description.clone(),
            effect,
        });
    }
    Ok(RiskModel {
        risks,
        start: date,
        horizon_days: s.plan.horizon_days,
    })
}

/// A plan's outcome across samples.
#[derive(Debug, Clone, Serialize)]
pub struct SideOutput {
    pub effective_pflops: Spread,
    pub spend_usd: Spread,
    /// The measure of effective PFLOPS over every sample.
    pub measure_value: f64,
    /// The measure over the samples the robust plan was solved on.
    pub solve_measure_value: f64,
    /// Effective PFLOPS and spend if nothing goes wrong (the plan's own figures).
    pub nominal_effective_pflops: f64,
    pub nominal_spend_usd: f64,
}

/// The robust plan: its lines and outcome.
#[derive(Debug, Clone, Serialize)]
pub struct RobustOutput {
    pub lines: Vec<PlanLine>,
    #[serde(flatten)]
    pub outcome: SideOutput,
    /// Whether the solver finished within its gap (false for `p10`, a heuristic, and on a time
    /// or work limit).
    pub proven: bool,
    /// No plan has a better measure on the solve samples (when the solver proved one).
    pub bound: Option<f64>,
}

/// What the robust plan costs and buys against the base plan (robust minus base).
#[derive(Debug, Clone, Serialize)]
pub struct Tradeoff {
    /// Change of expected effective PFLOPS (what robustness gives up when negative).
    pub expected_pflops: f64,
    /// Change of the 10th percentile of effective PFLOPS (what it protects when positive).
    pub p10_pflops: f64,
    /// Change of the measure over every sample.
    pub measure: f64,
    /// Change of the nominal effective PFLOPS (nothing goes wrong).
    pub nominal_pflops: f64,
    /// Change of the expected spend, USD.
    pub expected_spend_usd: f64,
}

/// One date of the fan chart: the spread of the base plan's effective PFLOPS.
#[derive(Debug, Clone, Serialize)]
pub struct FanPoint {
    pub date: Date,
    pub p10: f64,
    pub p50: f64,
    pub p90: f64,
}

/// The `"risk"` object of `plan --samples N --json`.
#[derive(Debug, Clone, Serialize)]
pub struct RiskOutput {
    pub samples: u64,
    pub seed: u64,
    pub measure: Measure,
    /// Samples the robust program was solved on (the first ones, at most 200); both plans are
    /// evaluated on all of them.
    pub solved_on: u64,
    pub base: SideOutput,
    pub robust: RobustOutput,
    /// Robust minus base.
    pub tradeoff: Tradeoff,
    /// The risks as resolved against the candidates.
    pub risks: Vec<RiskItem>,
    /// One-at-a-time swings of the base plan (the tornado chart), widest first.
    pub drivers: Vec<Swing>,
    /// The base plan's effective PFLOPS over the horizon, every 30 days.
    pub fan: Vec<FanPoint>,
}

fn side(
    model: &RiskModel,
    lines: &[PlanLine],
    samples: &[Vec<f64>],
    solve_n: usize,
    measure: Measure,
) -> SideOutput {
    let (pflops, spend): (Vec<f64>, Vec<f64>) =
        samples.iter().map(|u| model.outcome(lines, u)).unzip();
    SideOutput {
        effective_pflops: Spread::of(&pflops),
        spend_usd: Spread::of(&spend),
        measure_value: measure.of(&pflops),
        solve_measure_value: measure.of(&pflops[..solve_n]),
        nominal_effective_pflops: lines.iter().map(|l| l.effective_pflops).sum(),
        nominal_spend_usd: lines.iter().map(|l| l.spend_usd).sum(),
    }
}

/// Refuses to sample a scenario with `[[period]]`s: the risk model and the robust plan know one
/// date only, and evaluating a plan over periods as if all its orders arrived on that date would
/// be a silent, wrong answer. The error is located at the first period and says what to do.
pub fn refuse_periods(loaded: &LoadedScenario, what: &str) -> Result<(), Error> {
    let n = loaded.scenario.periods.len();
    if n == 0 {
        return Ok(());
    }
    let index = xpufleet_io::diag::SpanIndex::new(&loaded.text);
    Err(Error::Input(
        Diagnostic::at_path(
            &loaded.origin,
            &loaded.text,
            &index,
            "period[0]",
            format!(
                "{what} samples the one-date plan, and this scenario plans over {n} periods: \
                 prices, deliveries and rules sampled period by period are not built yet. \
                 Sample the scenario without its [[period]] entries, or plan it over periods \
                 without {what}"
            ),
        )
        .into(),
    ))
}

/// Samples the risks of `loaded` `opts.samples` times from `opts.seed`, evaluates `base` (the
/// plan of `loaded` under `plan_opts`) on every sample, and solves the robust plan for
/// `opts.measure` on the first `min(samples, 200)`.
pub fn risk(
    loaded: &LoadedScenario,
    extra_rules: &[RuleText],
    plan_opts: &PlanOptions,
    base: &Plan,
    opts: &RiskOptions,
) -> Result<RiskOutput, Error> {
    if opts.samples == 0 || opts.samples > MAX_SAMPLES {
        return Err(Error::Input(
            Diagnostic::new(
                "--samples",
                format!(
                    "{} samples: expected 1 to {MAX_SAMPLES} (more is a sweep: xpufleet sweep)",
                    opts.samples
                ),
            )
            .into(),
        ));
    }
    refuse_periods(loaded, "--samples")?;
    let date = plan_opts.date.unwrap_or(loaded.scenario.date);
    let model = risk_model(loaded, extra_rules, date)?;
    let samples = draws(opts.seed, 0..opts.samples, model.risks.len());
    let solve_n = samples.len().min(MAX_SOLVE_SAMPLES);
    let rules = rule_set(loaded, extra_rules)?;
    let engine = RuleEngine::new(rules, &loaded.scenario, &loaded.catalog);
    let robust = xpufleet_plan::risk::robust(
        &loaded.scenario,
        &loaded.catalog,
        &engine,
        &PerfModel::default(),
        plan_opts,
        &model,
        &samples[..solve_n],
        &base.lines,
        opts.measure,
    )
    .map_err(|error| Error::Plan {
        context: format!("robust plan of {}", loaded.origin),
        error,
    })?;
    let b = side(&model, &base.lines, &samples, solve_n, opts.measure);
    let r = side(&model, &robust.lines, &samples, solve_n, opts.measure);
    let dates = model.fan_dates();
    let per_date: Vec<Vec<f64>> = samples
        .iter()
        .map(|u| model.over_time(&base.lines, u, &dates))
        .collect();
    let fan = dates
        .iter()
        .enumerate()
        .map(|(k, d)| {
            let s = Spread::of(&per_date.iter().map(|v| v[k]).collect::<Vec<_>>());
            FanPoint {
                date: *d,
                p10: s.p10,
                p50: s.p50,
                p90: s.p90,
            }
        })
        .collect();
    let tradeoff = Tradeoff {
        expected_pflops: r.effective_pflops.mean - b.effective_pflops.mean,
        p10_pflops: r.effective_pflops.p10 - b.effective_pflops.p10,
        measure: r.measure_value - b.measure_value,
        nominal_pflops: r.nominal_effective_pflops - b.nominal_effective_pflops,
        expected_spend_usd: r.spend_usd.mean - b.spend_usd.mean,
    };
    Ok(RiskOutput {
        samples: opts.samples,
        seed: opts.seed,
        measure: opts.measure,
        solved_on: solve_n as u64,
        drivers: model.swings(&base.lines),
        risks: model.risks,
        base: b,
        robust: RobustOutput {
            lines: robust.lines,
            outcome: r,
            proven: robust.proven,
            bound: robust.bound,
        },
        tradeoff,
        fan,
    })
}

/// Samples `xpufleet run` draws for the report's risk section (the robust plan is solved on
/// them all: `MAX_SOLVE_SAMPLES` is 200 too).
pub const REPORT_SAMPLES: u64 = 200;

/// The report's risk section: `REPORT_SAMPLES` samples from `seed`, the robust plan for the
/// expected effective PFLOPS.
pub fn report_section(
    loaded: &LoadedScenario,
    extra_rules: &[RuleText],
    plan_opts: &PlanOptions,
    base: &Plan,
    seed: u64,
) -> Result<xpufleet_report::risk::Risk, Error> {
    use xpufleet_report::risk as r;
    let out = risk(
        loaded,
        extra_rules,
        plan_opts,
        base,
        &RiskOptions {
            samples: REPORT_SAMPLES,
            seed,
            measure: Measure::Expected,
        },
    )?;
    let spread = |s: &Spread| r::Spread {
        p10: s.p10,
        p50: s.p50,
        p90: s.p90,
        mean: s.mean,
    };
    let side = |s: &SideOutput| r::RiskSide {
        effective_pflops: spread(&s.effective_pflops),
        spend_usd: spread(&s.spend_usd),
        nominal_effective_pflops: s.nominal_effective_pflops,
        nominal_spend_usd: s.nominal_spend_usd,
    };
    let key = |l: &PlanLine| (l.candidate.clone(), l.nodes);
    let mut a: Vec<_> = base.lines.iter().map(key).collect();
    let mut b: Vec<_> = out.robust.lines.iter().map(key).collect();
    a.sort();
    b.sort();
    Ok(r::Risk {
        samples: out.samples,
        seed: out.seed,
        measure: out.measure.to_string(),
        solved_on: out.solved_on,
        base: side(&out.base),
        robust: side(&out.robust.outcome),
        same_lines: a == b,
        fan: out
            .fan
            .iter()
            .map(|p| r::FanPoint {
                date: p.date,
                p10: p.p10,
                p50: p.p50,
                p90: p.p90,
            })
            .collect(),
        drivers: out
            .drivers
            .iter()
            .map(|d| r::Driver {
                risk: d.risk.clone(),
                kind: d.kind.to_string(),
                pflops_low: d.pflops_low,
                pflops_high: d.pflops_high,
                spend_usd_low: d.spend_usd_low,
                spend_usd_high: d.spend_usd_high,
            })
            .collect(),
    })
}
