//! The calibration corpus and the fit: published training runs (`data/calibration/runs.toml`),
//! what each one says about the fraction of peak a stack reached, and the fit of the stack
//! multipliers and the width term to them, with leave-one-out errors and interval coverage.
//!
//! Pure: the caller parses the file and looks the accelerators up; everything here is
//! arithmetic, fast enough that the tests refit the whole corpus a thousand times.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use xpufleet_model::{Accelerator, Figure, Precision, Work};

use crate::{work_flops, PerfError, PerfModel, Placement, Shape, Stack};

/// The corpus file: `[[run]]` tables.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Corpus {
    pub run: Vec<CalibrationRun>,
}

/// What kind of figure a run published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    /// Model FLOPs utilisation, throughput only.
    Mfu,
    /// TFLOP/s per chip, throughput only (`hardware_flops`: counting activation recompute).
    TflopsPerChip,
    /// Total accelerator-hours of the run (downtime included unless the note says otherwise).
    ChipHours,
    /// Wall-clock days of the run on `count` chips.
    Days,
}

/// One published run.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalibrationRun {
    pub id: String,
    pub model: String,
    pub year: u16,
    /// Catalog id of the chip.
    pub accel: String,
    /// Catalog figures that differ for this run's part (A100 40GB: memory_gb, memory_tbps).
    #[serde(default)]
    pub figures: BTreeMap<String, f64>,
    pub count: u64,
    /// The source does not state the chip count; `count` is our assumption.
    #[serde(default)]
    pub count_assumed: bool,
    #[serde(default = "eight")]
    pub scaleup_domain: u32,
    #[serde(default)]
    pub precision: Precision,
    pub params: f64,
    pub active_params: Option<f64>,
    pub tokens: f64,
    pub n_layers: u32,
    pub d_model: u32,
    pub seq_len: u32,
    pub stack: Stack,
    pub outcome: OutcomeKind,
    pub value: f64,
    /// A TFLOP/s figure that counts activation recompute (Megatron's 8·T·P): model FLOPs are 3/4.
    #[serde(default)]
    pub hardware_flops: bool,
    pub source: String,
    pub includes: String,
    pub unsure: Option<String>,
}

fn eight() -> u32 {
    8
}

impl CalibrationRun {
    /// The run's work, attention term included.
    pub fn work(&self) -> Work {
        Work::Model {
            params: self.params,
            active_params: self.active_params.unwrap_or(self.params),
            tokens: self.tokens,
            attention: Some((self.n_layers, self.seq_len, self.d_model)),
        }
    }

    /// `base` with this run's figure overrides applied.
    pub fn part(&self, base: &Accelerator) -> Result<Accelerator, PerfError> {
        let mut a = base.clone();
        for (field, &v) in &self.figures {
            let slot = match field.as_str() {
                "memory_gb" => &mut a.memory_gb,
                "memory_tbps" => &mut a.memory_tbps,
                "interconnect_gbps" => &mut a.interconnect_gbps,
                "tflops_bf16" => &mut a.tflops_bf16,
                "tflops_fp16" => &mut a.tflops_fp16,
                "power_w" => &mut a.power_w,
                _ => {
                    return Err(PerfError::Invalid(format!(
                        "run {}: figure {field:?} cannot be overridden (memory_gb, memory_tbps, interconnect_gbps, tflops_bf16, tflops_fp16, power_w)",
                        self.id
                    )))
                }
            };
            *slot = Figure::given(v);
        }
        Ok(a)
    }
}

/// One run reduced to what the fit needs.
#[derive(Debug, Clone, Serialize)]
pub struct Point {
    pub id: String,
    pub stack: Stack,
    pub outcome: OutcomeKind,
    /// Published useful FLOPs over peak FLOPs: MFU for throughput figures, MFU × ETTR for
    /// accelerator-hours and days.
    pub published: f64,
    /// The model's MFU without the stack and width factors: base · node · scale · moe · parallel.
    pub fixed_mfu: f64,
    /// Model width.
    pub d_model: f64,
    /// ETTR the model expects on the run's chips when the published figure includes downtime,
    /// else 1.
    pub ettr: f64,
}

/// Reduces `run` on `accel` (already looked up in the catalog) to a [`Point`].
pub fn point(
    model: &PerfModel,
    run: &CalibrationRun,
    accel: &Accelerator,
) -> Result<Point, PerfError> {
    let a = run.part(accel)?;
    let work = run.work();
    let w = work_flops(&work)?;
    let shape = Shape::of(&work)?;
    let placement = Placement::compact(run.count, run.scaleup_domain);
    let model = model.clone().with_stack(run.stack);
    let d = model.mfu_detail(&a, run.precision, run.count, &placement, &shape)?;
    let peak = model.peak_flops(&a, run.precision)?;
    if !(run.value.is_finite() && run.value > 0.0) {
        return Err(PerfError::Invalid(format!(
            "run {}: value must be a number > 0; found {}",
            run.id, run.value
        )));
    }
    let hours = |chip_hours: f64| w.total / (chip_hours * 3600.0 * peak);
    let (published, downtime) = match run.outcome {
        OutcomeKind::Mfu => (run.value, false),
        OutcomeKind::TflopsPerChip => {
            let model_flops = if run.hardware_flops { 0.75 } else { 1.0 };
            (run.value * 1e12 * model_flops / peak, false)
        }
        OutcomeKind::ChipHours => (hours(run.value), true),
        OutcomeKind::Days => (hours(run.value * 24.0 * run.count as f64), true),
    };
    let ettr = if downtime {
        model.job_reliability(run.count, 1.0)?.ettr
    } else {
        1.0
    };
    Ok(Point {
        id: run.id.clone(),
        stack: run.stack,
        outcome: run.outcome,
        published,
        fixed_mfu: d.base * d.node * d.scale * d.moe * d.parallel,
        d_model: run.d_model as f64,
        ettr,
    })
}

/// The fitted parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Fit {
    pub stack_best: f64,
    pub stack_typical: f64,
    pub stack_legacy: f64,
    pub size_d_half: f64,
    pub size_d_ref: f64,
}

impl Fit {
    fn stack(&self, s: Stack) -> f64 {
        match s {
            Stack::Best => self.stack_best,
            Stack::Typical => self.stack_typical,
            Stack::Legacy => self.stack_legacy,
        }
    }

    fn size(&self, d: f64) -> f64 {
        size_factor(self.size_d_half, self.size_d_ref, d)
    }

    /// The model's prediction for `p`, comparable with `p.published`.
    pub fn predict(&self, p: &Point) -> f64 {
        (p.fixed_mfu * self.stack(p.stack) * self.size(p.d_model)).min(1.0) * p.ettr
    }
}

fn size_factor(d_half: f64, d_ref: f64, d: f64) -> f64 {
    ((1.0 + d_half / d_ref) / (1.0 + d_half / d)).min(1.0)
}

/// Candidate width scales: 0 and 40 log-spaced values from 32 to 32,768.
fn d_half_grid() -> impl Iterator<Item = f64> {
    std::iter::once(0.0).chain((0..40).map(|i| 32.0 * 2f64.powf(i as f64 / 4.0)))
}

/// Fits the three stack multipliers and the width scale to `points` by least absolute log error:
/// for each width scale on a grid, each stack's multiplier is the median of its runs' log ratios
/// (the exact L1 optimum given the width term), and the width scale with the smallest total is
/// kept. A stack with no runs keeps multiplier 1.
pub fn fit(points: &[Point], size_d_ref: f64) -> Fit {
    let mut best: Option<(f64, Fit)> = None;
    let mut logs: Vec<f64> = Vec::with_capacity(points.len());
    for d_half in d_half_grid() {
        let mut f = Fit {
            stack_best: 1.0,
            stack_typical: 1.0,
            stack_legacy: 1.0,
            size_d_half: d_half,
            size_d_ref,
        };
        let mut total = 0.0;
        for s in Stack::ALL {
            logs.clear();
            logs.extend(points.iter().filter(|p| p.stack == s).map(|p| {
                (p.published / (p.fixed_mfu * size_factor(d_half, size_d_ref, p.d_model) * p.ettr))
                    .ln()
            }));
            if logs.is_empty() {
                continue;
            }
            let m = median(&mut logs);
            total += logs.iter().map(|l| (l - m).abs()).sum::<f64>();
            match s {
                Stack::Best => f.stack_best = m.exp(),
                Stack::Typical => f.stack_typical = m.exp(),
                Stack::Legacy => f.stack_legacy = m.exp(),
            }
        }
        if best.as_ref().is_none_or(|(t, _)| total < *t - 1e-12) {
            best = Some((total, f));
        }
    }
    best.map(|(_, f)| f).unwrap_or(Fit {
        stack_best: 1.0,
        stack_typical: 1.0,
        stack_legacy: 1.0,
        size_d_half: 0.0,
        size_d_ref,
    })
}

/// Log errors ln(published / predicted) of each point, predicted by a fit on all the others.
pub fn loo_log_errors(points: &[Point], size_d_ref: f64) -> Vec<f64> {
    let mut rest = Vec::with_capacity(points.len());
    (0..points.len())
        .map(|i| {
            rest.clear();
            rest.extend(
                points
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .map(|(_, p)| p.clone()),
            );
            let f = fit(&rest, size_d_ref);
            (points[i].published / f.predict(&points[i])).ln()
        })
        .collect()
}

/// How good the model is on the corpus.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub runs: usize,
    pub fit: Fit,
    /// Median of |published time / modelled time − 1| with the fit on all runs.
    pub in_sample_median_abs_error: f64,
    /// The same with each run predicted by a fit on the others.
    pub loo_median_abs_error: f64,
    /// 10th and 90th percentiles of the leave-one-out log errors: the interval's bounds.
    pub interval_log: [f64; 2],
    /// Share of runs inside the interval when both the interval and the prediction come from the
    /// other runs only (nested leave-one-out).
    pub interval_coverage: f64,
    /// Per run: id, published, in-sample prediction, leave-one-out log error, and whether the
    /// nested interval covered it.
    pub per_run: Vec<RunReport>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunReport {
    pub id: String,
    pub stack: Stack,
    pub published: f64,
    pub modelled: f64,
    pub loo_log_error: f64,
    pub covered: bool,
}

/// Fits `points`, and measures in-sample and leave-one-out errors and the coverage of the 80%
/// interval by nested leave-one-out: for each run, the interval's percentiles come from the
/// leave-one-out errors of the other runs, its centre from a fit on the other runs.
pub fn report(points: &[Point], size_d_ref: f64) -> Report {
    let f = fit(points, size_d_ref);
    let abs_time_err = |log_err: f64| (log_err.exp() - 1.0).abs();
    let mut in_sample: Vec<f64> = points
        .iter()
        .map(|p| abs_time_err((p.published / f.predict(p)).ln()))
        .collect();
    let loo = loo_log_errors(points, size_d_ref);
    let mut loo_abs: Vec<f64> = loo.iter().map(|&l| abs_time_err(l)).collect();
    let interval_log = percentiles(&loo);
    let mut covered = Vec::with_capacity(points.len());
    for (i, err) in loo.iter().enumerate() {
        let rest: Vec<Point> = points
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, p)| p.clone())
            .collect();
        let [lo, hi] = percentiles(&loo_log_errors(&rest, size_d_ref));
        covered.push((lo..=hi).contains(err));
    }
    let per_run = points
        .iter()
        .zip(&loo)
        .zip(&covered)
        .map(|((p, &l), &c)| RunReport {
            id: p.id.clone(),
            stack: p.stack,
            published: p.published,
            modelled: f.predict(p),
            loo_log_error: l,
            covered: c,
        })
        .collect();
    Report {
        runs: points.len(),
        fit: f,
        in_sample_median_abs_error: median(&mut in_sample),
        loo_median_abs_error: median(&mut loo_abs),
        interval_log,
        interval_coverage: covered.iter().filter(|&&c| c).count() as f64
            / points.len().max(1) as f64,
        per_run,
    }
}

/// 10th and 90th percentiles (linear interpolation between order statistics).
pub fn percentiles(xs: &[f64]) -> [f64; 2] {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    [quantile(&v, 0.1), quantile(&v, 0.9)]
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    match sorted.len() {
        0 => 0.0,
        n => {
            let h = (n - 1) as f64 * q;
            let (i, frac) = (h.floor() as usize, h - h.floor());
            let j = (i + 1).min(n - 1);
            sorted[i] + frac * (sorted[j] - sorted[i])
        }
    }
}

fn median(xs: &mut [f64]) -> f64 {
    xs.sort_by(f64::total_cmp);
    quantile(xs, 0.5)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(stack: Stack, published: f64, fixed: f64, d: f64) -> Point {
        Point {
            id: String::new(),
            stack,
            outcome: OutcomeKind::Mfu,
            published,
            fixed_mfu: fixed,
            d_model: d,
            ettr: 1.0,
        }
    }

    #[test]
    fn fit_recovers_planted_parameters() {
        // Points made by a known model: stack multipliers 0.9 / 0.7 / 0.5, width scale 1024.
        let truth = Fit {
            stack_best: 0.9,
            stack_typical: 0.7,
            stack_legacy: 0.5,
            size_d_half: 1024.0,
            size_d_ref: 12_288.0,
        };
        let mut pts = Vec::new();
        for (i, s) in Stack::ALL.iter().cycle().take(30).enumerate() {
            let d = 256.0 * (1 + i % 10) as f64 * 4.0;
            let mut q = p(*s, 0.0, 0.5 + 0.01 * i as f64, d);
            q.published = truth.predict(&q);
            pts.push(q);
        }
        let f = fit(&pts, 12_288.0);
        assert_eq!(f.size_d_half, 1024.0);
        for s in Stack::ALL {
            assert!((f.stack(s) / truth.stack(s) - 1.0).abs() < 1e-12, "{s}");
        }
        let r = report(&pts, 12_288.0);
        assert!(r.loo_median_abs_error < 1e-12);
    }

    #[test]
    fn percentiles_interpolate() {
        let xs: Vec<f64> = (0..11).map(f64::from).collect();
        assert_eq!(percentiles(&xs), [1.0, 9.0]);
        assert_eq!(percentiles(&[3.0, 1.0]), [1.2, 2.8]);
    }
}
