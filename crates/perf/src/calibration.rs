//! The calibration corpus and the fit: published training runs (`data/calibration/runs.toml`),
//! what each one says about the fraction of peak a stack reached, the fit of the corpus-derived
//! parameters (base, one ratio for the stacks below the best, MoE factor; the width term is a
//! prior and the unknown stack's middle follows from the ratio) on the steady-state rate rows, and validation by source: each paper is held out in turn, everything is refitted on the others,
//! and the held-out rows' errors make the 80% intervals (per outcome kind, with and without the
//! stack known) whose coverage is measured the same way, one level deeper.
//!
//! Pure: the caller parses the file and looks the accelerators up; everything here is
//! arithmetic, fast enough that the tests refit the whole corpus a few hundred times.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use xpufleet_model::{Accelerator, Figure, Precision, Work};

use crate::{work_flops, LayoutRequest, PerfError, PerfModel, Placement, Shape, Stack};

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

/// What a published figure covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// A steady-state rate of the main pre-training stage (an MFU, TFLOP/s, or hours derived
    /// from a measured throughput): fits the throughput terms.
    Rate,
    /// A total over the run, downtime, restarts, reruns and any long-context or annealing stage
    /// included: never fitted, scored against MFU × ETTR (the model's goodput).
    Total,
    /// The rate of a stage the model does not describe (long-context with context parallelism,
    /// annealing): neither fitted nor counted in the figures, shown in the per-run table.
    Stage,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Rate => "rate",
            Scope::Total => "total",
            Scope::Stage => "stage",
        }
    }
}

/// One published run.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalibrationRun {
    pub id: String,
    /// The source group: rows from one paper (or one team's paper and model card) share it and
    /// are held out together.
    pub paper: String,
    /// What the figure covers.
    pub scope: Scope,
    /// A fixed prior was set from this row (`"scale law"`): it is fitted but never scored.
    pub prior: Option<String>,
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
    /// The parallel layout the source states (issue 25): each part given is charged in
    /// absolute terms, the rest chosen as for any job. Tensor and pipeline degree, ZeRO stage,
    /// `"full"` or `"selective"` activation recompute, sequences per micro-batch, global batch
    /// in tokens, and scale-out bandwidth per chip in Gb/s.
    pub tp: Option<u32>,
    pub pp: Option<u32>,
    pub zero: Option<u8>,
    pub recompute: Option<Recompute>,
    pub micro_batch_size: Option<u32>,
    pub global_batch_tokens: Option<u64>,
    pub nic_gbps: Option<f64>,
    pub outcome: OutcomeKind,
    pub value: f64,
    /// A TFLOP/s figure that counts activation recompute (Megatron's 8·T·P): model FLOPs are 3/4.
    #[serde(default)]
    pub hardware_flops: bool,
    pub source: String,
    pub includes: String,
    /// What was checked against the source, and how.
    pub checked: String,
    pub unsure: Option<String>,
}

fn eight() -> u32 {
    8
}

/// Activation recompute a source states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Recompute {
    Full,
    Selective,
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

    /// The layout the source states, as a request (unstated parts are chosen).
    pub fn layout(&self) -> LayoutRequest {
        LayoutRequest {
            tp: self.tp,
            pp: self.pp,
            zero: self.zero,
            full_recompute: self.recompute.map(|r| r == Recompute::Full),
            micro_batches: None,
            micro_batch_size: self.micro_batch_size,
            global_batch_tokens: self.global_batch_tokens,
            // No corpus row states its expert layout: the fitted MoE factor stands for it.
            ep: None,
            top_k: None,
            // The fit charges the links with its node term; the tensor-parallel term made the
            // held-out error worse (see `LayoutRequest::fitted_links`).
            fitted_links: true,
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
    pub paper: String,
    /// Chip family (`hopper`, `ampere`, `ascend`).
    pub family: String,
    pub stack: Stack,
    pub scope: Scope,
    /// A prior was set from this row: fitted, never scored.
    pub prior: bool,
    /// Published useful FLOPs over peak FLOPs.
    pub published: f64,
    /// The model's MFU factors that are not fitted: chip balance · scale · layout.
    pub fixed_mfu: f64,
    /// Mixture of experts (active < total parameters).
    pub moe: bool,
    /// Model width.
    pub d_model: f64,
    /// ETTR the model expects on the run's chips for a total, else 1.
    pub ettr: f64,
}

impl Point {
    /// Whether the validation figures count this row.
    pub fn scored(&self) -> bool {
        !self.prior && self.scope != Scope::Stage
    }
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
    let mut model = model
        .clone()
        .with_stack(run.stack)
        .with_layout(run.layout());
    if let Some(g) = run.nic_gbps {
        if !(g.is_finite() && g > 0.0) {
            return Err(PerfError::Invalid(format!(
                "run {}: nic_gbps must be a number > 0; found {g}",
                run.id
            )));
        }
        for f in &mut model.families {
            f.nic_gbps = g;
        }
    }
    let d = model.mfu_detail(&a, run.precision, run.count, &placement, &shape)?;
    let peak = model.peak_flops(&a, run.precision)?;
    if !(run.value.is_finite() && run.value > 0.0) {
        return Err(PerfError::Invalid(format!(
            "run {}: value must be a number > 0; found {}",
            run.id, run.value
        )));
    }
    if run.stack == Stack::Unknown {
        // The fit treats every level but the best as below it, and the middle is made of the
        // corpus's levels: a row of no level would enter both as a guess.
        return Err(PerfError::Invalid(format!(
            "run {}: stack must be best, typical or legacy (set by the rule in \
             data/calibration/README.md); found unknown",
            run.id
        )));
    }
    if run.prior.is_some() && run.scope != Scope::Rate {
        return Err(PerfError::Invalid(format!(
            "run {}: a prior can only be set from a rate row; scope is {}",
            run.id,
            run.scope.as_str()
        )));
    }
    let hours = |chip_hours: f64| w.total / (chip_hours * 3600.0 * peak);
    let published = match run.outcome {
        OutcomeKind::Mfu => run.value,
        OutcomeKind::TflopsPerChip => {
            let model_flops = if run.hardware_flops { 0.75 } else { 1.0 };
            run.value * 1e12 * model_flops / peak
        }
        OutcomeKind::ChipHours => hours(run.value),
        OutcomeKind::Days => hours(run.value * 24.0 * run.count as f64),
    };
    let ettr = if run.scope == Scope::Total {
        model.job_reliability(run.count, 1.0)?.ettr
    } else {
        1.0
    };
    Ok(Point {
        id: run.id.clone(),
        paper: run.paper.clone(),
        family: a.family.to_ascii_lowercase(),
        stack: run.stack,
        scope: run.scope,
        prior: run.prior.is_some(),
        published,
        fixed_mfu: d.node * d.scale * d.parallel,
        moe: shape.moe,
        d_model: run.d_model as f64,
        ettr,
    })
}

/// The calibration: three numbers fitted on rate rows only (base, ratio below the best, MoE
/// factor), the middle that follows from them, and the width prior it was fitted with.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Fit {
    /// MFU of the best stack on an H100-balanced chip at small scale, every family alike.
    pub base: f64,
    /// Typical and legacy stacks relative to the best (best = 1 by definition): one fitted
    /// ratio, the same for both.
    pub stack_typical: f64,
    pub stack_legacy: f64,
    /// The middle for an unknown stack: the levels' multipliers weighted by the corpus's
    /// sources at each level (geometric mean), not fitted.
    pub stack_unknown: f64,
    /// The width term's prior (`params::PRIOR_SIZE_D_HALF`), not fitted.
    pub size_d_half: f64,
    pub size_d_ref: f64,
    /// Mixture-of-experts factor.
    pub moe: f64,
}

impl Fit {
    /// Multiplier of `s` on the base; [`Stack::Unknown`] is the calibrated middle.
    pub fn stack(&self, s: Stack) -> f64 {
        match s {
            Stack::Best => 1.0,
            Stack::Typical => self.stack_typical,
            Stack::Legacy => self.stack_legacy,
            Stack::Unknown => self.stack_unknown,
        }
    }

    fn size(&self, d: f64) -> f64 {
        size_factor(self.size_d_half, self.size_d_ref, d)
    }

    /// The model's prediction for `p`, comparable with `p.published`, with the run's stack
    /// known (`known`) or not.
    pub fn predict(&self, p: &Point, known: bool) -> f64 {
        let stack = self.stack(if known { p.stack } else { Stack::Unknown });
        let moe = if p.moe { self.moe } else { 1.0 };
        (self.base * stack * moe * p.fixed_mfu * self.size(p.d_model)).min(1.0) * p.ettr
    }
}

fn size_factor(d_half: f64, d_ref: f64, d: f64) -> f64 {
    ((1.0 + d_half / d_ref) / (1.0 + d_half / d)).min(1.0)
}

/// Fits the base, the one ratio of the stacks below the best, and the MoE factor to the rate
/// rows of `points` by least absolute log error, every rate row weighing the same; the width
/// term is the prior `size_d_half` (`params::PRIOR_SIZE_D_HALF`), not fitted. The log-linear
/// L1 problem `ln(published / fixed·size) = b + s·below + m·moe` is solved by coordinate
/// descent, each coordinate set to the median of its rows' residuals (its exact L1 optimum given
/// the others). Totals and stage rows never enter. A parameter with no rows keeps its neutral
/// value (ratio 1).
///
/// Typical and legacy share the ratio: the same team's Megatron-LM of 2021 and 2022 differ in
/// throughput by full against selective recompute with sequence parallelism (Korthikanti et
/// al., MLSys'23), which the layout terms charge, so what is left of "legacy" is not a second
/// level the five rate sources below the best could tell apart. The unknown stack's multiplier
/// is not fitted either: it is the geometric mean of the levels' multipliers weighted by the
/// share of the corpus's sources at each level, the multiplier a source drawn as the corpus's
/// sources were drawn has on average, and the centre of the stack mix the unknown-stack
/// interval spreads the errors over ([`stack_mix`]).
pub fn fit(points: &[Point], size_d_ref: f64, size_d_half: f64) -> Fit {
    let rate: Vec<&Point> = points.iter().filter(|p| p.scope == Scope::Rate).collect();
    let y: Vec<f64> = rate
        .iter()
        .map(|p| {
            (p.published / (p.fixed_mfu * size_factor(size_d_half, size_d_ref, p.d_model))).ln()
        })
        .collect();
    let below = |p: &Point| p.stack != Stack::Best;
    let moe = |p: &Point, m: f64| if p.moe { m } else { 0.0 };
    // Log parameters: base, below best, MoE.
    let (mut b, mut r, mut m) = (0.0, 0.0, 0.0);
    let mut buf: Vec<f64> = Vec::with_capacity(rate.len());
    for _ in 0..40 {
        let before = (b, r, m);
        let mut med = |keep: &dyn Fn(&Point) -> bool, resid: &dyn Fn(&Point, f64) -> f64| {
            buf.clear();
            buf.extend(
                rate.iter()
                    .zip(&y)
                    .filter(|(p, _)| keep(p))
                    .map(|(p, &yi)| resid(p, yi)),
            );
            (!buf.is_empty()).then(|| median(&mut buf))
        };
        b = med(&|p| !below(p), &|p, yi| yi - moe(p, m)).unwrap_or(b);
        r = med(&below, &|p, yi| yi - b - moe(p, m)).unwrap_or(r);
        m = med(&|p| p.moe, &|p, yi| yi - b - if below(p) { r } else { 0.0 }).unwrap_or(m);
        if before == (b, r, m) {
            break;
        }
    }
    let mut f = Fit {
        base: b.exp(),
        stack_typical: r.exp(),
        stack_legacy: r.exp(),
        stack_unknown: 1.0,
        size_d_half,
        size_d_ref,
        moe: m.exp(),
    };
    f.stack_unknown = stack_middle(points, &f);
    f
}

/// The unknown stack's multiplier: the geometric mean of `fit`'s level multipliers, each
/// weighted by the share of `points`' sources (papers) at that level (1 when there are none).
fn stack_middle(points: &[Point], fit: &Fit) -> f64 {
    let mut papers: BTreeMap<&str, Stack> = BTreeMap::new();
    for p in points {
        papers.insert(p.paper.as_str(), p.stack);
    }
    if papers.is_empty() {
        return 1.0;
    }
    let n = papers.len() as f64;
    papers
        .values()
        .map(|&s| fit.stack(s).ln() / n)
        .sum::<f64>()
        .exp()
}

/// Outcome kinds the intervals are built for (stage rows are not scored).
pub const KINDS: [Scope; 2] = [Scope::Rate, Scope::Total];

/// An 80% interval on ln(published / modelled) per outcome kind, with and without the stack.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Intervals {
    pub rate_known: [f64; 2],
    pub total_known: [f64; 2],
    pub rate_unknown: [f64; 2],
    pub total_unknown: [f64; 2],
}

impl Intervals {
    pub fn get(&self, kind: Scope, known: bool) -> [f64; 2] {
        match (kind, known) {
            (Scope::Total, true) => self.total_known,
            (Scope::Total, false) => self.total_unknown,
            (_, true) => self.rate_known,
            (_, false) => self.rate_unknown,
        }
    }
}

/// Held-out log errors ln(published / predicted) of every point, with the stack known and
/// unknown, each point predicted by a fit on the rows of every *other* paper (`skip` also left
/// out of the fits). Points of `skip` get NaN.
fn loso(points: &[Point], size_d_ref: f64, size_d_half: f64, skip: Option<&str>) -> Vec<[f64; 2]> {
    let mut papers: Vec<&str> = points.iter().map(|p| p.paper.as_str()).collect();
    papers.sort_unstable();
    papers.dedup();
    let mut out = vec![[f64::NAN; 2]; points.len()];
    for paper in papers {
        if Some(paper) == skip {
            continue;
        }
        let rest: Vec<Point> = points
            .iter()
            .filter(|p| p.paper != paper && Some(p.paper.as_str()) != skip)
            .cloned()
            .collect();
        let f = fit(&rest, size_d_ref, size_d_half);
        for (o, p) in out.iter_mut().zip(points).filter(|(_, p)| p.paper == paper) {
            *o = [
                (p.published / f.predict(p, true)).ln(),
                (p.published / f.predict(p, false)).ln(),
            ];
        }
    }
    out
}

/// The 80% interval of the scored rows' errors of `kind`, each paper weighted equally (a row's
/// weight is one over its paper's rows of that kind), so that one paper with eight rows counts
/// as one source. Each error `e` enters as `e + offset` for every `(offset, share)` of `mix`,
/// its weight times the share (one `(0, 1)` for the errors as they are). The bounds are the
/// plain weighted 10th and 90th percentiles. (The split-conformal correction `q = 0.9·(n + 1)/n`
/// used before reaches 1 for the 5 to 9 sources an interval rests on here, which made each
/// interval the full range of its held-out errors: 89-91% coverage instead of 80%.) NaN errors
/// (held-out papers) are skipped.
fn grouped_interval(points: &[Point], errors: &[f64], kind: Scope, mix: &[(f64, f64)]) -> [f64; 2] {
    let mut per_paper: BTreeMap<&str, usize> = BTreeMap::new();
    let rows: Vec<(f64, &str)> = points
        .iter()
        .zip(errors)
        .filter(|(p, e)| p.scored() && p.scope == kind && e.is_finite())
        .map(|(p, &e)| (e, p.paper.as_str()))
        .collect();
    for (_, paper) in &rows {
        *per_paper.entry(paper).or_default() += 1;
    }
    let weighted: Vec<(f64, f64)> = rows
        .iter()
        .flat_map(|(e, paper)| {
            let w = 1.0 / per_paper[paper] as f64;
            mix.iter()
                .map(move |&(offset, share)| (e + offset, w * share))
        })
        .collect();
    [
        weighted_quantile(&weighted, 0.1),
        weighted_quantile(&weighted, 0.9),
    ]
}

/// The stack levels of the sources whose errors are in `errs` (finite), as `(ln(m_level /
/// m_unknown), share of those sources at the level)` with `fit`'s multipliers `m`: what not
/// knowing the stack adds to a known-stack error, drawn as the corpus's sources are drawn.
fn stack_mix(points: &[Point], errs: &[[f64; 2]], fit: &Fit) -> Vec<(f64, f64)> {
    let mut papers: BTreeMap<&str, Stack> = BTreeMap::new();
    for (p, _) in points
        .iter()
        .zip(errs)
        .filter(|(p, e)| p.scored() && e[0].is_finite())
    {
        papers.insert(p.paper.as_str(), p.stack);
    }
    let n = papers.len().max(1) as f64;
    Stack::ALL
        .iter()
        .map(|&s| {
            let share = papers.values().filter(|&&v| v == s).count() as f64 / n;
            ((fit.stack(s) / fit.stack(Stack::Unknown)).ln(), share)
        })
        .filter(|(_, share)| *share > 0.0)
        .collect()
}

/// The intervals of `points`' held-out errors `errs`, `fit` the fit whose stack multipliers
/// the unknown-stack interval uses. With the stack known: the weighted percentiles of the
/// known-stack errors. With it unknown: the same errors, each spread over the corpus's stack
/// mix ([`stack_mix`]), so the interval spans the stack spread the fit measured on top of the
/// error that remains when the stack is known, and knowing the stack narrows it by what the
/// level explains.
fn intervals(points: &[Point], errs: &[[f64; 2]], fit: &Fit) -> Intervals {
    let known: Vec<f64> = errs.iter().map(|e| e[0]).collect();
    let mix = stack_mix(points, errs, fit);
    let one = [(0.0, 1.0)];
    Intervals {
        rate_known: grouped_interval(points, &known, Scope::Rate, &one),
        total_known: grouped_interval(points, &known, Scope::Total, &one),
        rate_unknown: grouped_interval(points, &known, Scope::Rate, &mix),
        total_unknown: grouped_interval(points, &known, Scope::Total, &mix),
    }
}

/// Weighted quantile: the smallest value whose cumulative weight, taken at the middle of each
/// row's weight, reaches `q`, interpolated linearly between neighbours.
fn weighted_quantile(xs: &[(f64, f64)], q: f64) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total: f64 = v.iter().map(|x| x.1).sum();
    if v.is_empty() || total <= 0.0 {
        return 0.0;
    }
    // Plotting positions (cumulative weight at each row's centre), as for the unweighted
    // linear-interpolation quantile when all weights are equal.
    let mut acc = 0.0;
    let pos: Vec<f64> = v
        .iter()
        .map(|x| {
            let c = (acc + x.1 / 2.0) / total;
            acc += x.1;
            c
        })
        .collect();
    if q <= pos[0] {
        return v[0].0;
    }
    for i in 1..v.len() {
        if q <= pos[i] {
            let f = (q - pos[i - 1]) / (pos[i] - pos[i - 1]);
            return v[i - 1].0 + f * (v[i].0 - v[i - 1].0);
        }
    }
    v[v.len() - 1].0
}

/// How good the model is on the corpus.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub runs: usize,
    /// Independent sources (papers) in the corpus.
    pub papers: usize,
    /// Rows the validation figures count (not stage rows, not rows a prior was set from).
    pub scored: usize,
    pub fit: Fit,
    /// The shipped intervals: grouped percentiles of all held-out errors.
    pub intervals: Intervals,
    /// Median |modelled time / published time − 1| over scored rows, with the fit on all rows.
    pub in_sample_median_abs_error: f64,
    /// Held-out (leave one source out) figures over all scored rows.
    pub overall: Cell,
    /// The same per family.
    pub per_family: Vec<(String, Cell)>,
    /// The same per family × stack × outcome kind.
    pub per_group: Vec<(String, Stack, Scope, Cell)>,
    pub per_run: Vec<RunReport>,
}

/// Held-out figures of a set of rows.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Cell {
    pub rows: usize,
    pub median_abs_error_known: f64,
    pub median_abs_error_unknown: f64,
    /// Share of rows inside their kind's 80% interval, interval and prediction both from other
    /// sources (nested leave one source out).
    pub coverage_known: f64,
    pub coverage_unknown: f64,
    /// The same with each source weighing once (a row one over its source's rows in the set),
    /// as the intervals weigh them: what a new source should expect, where Pythia's eight rows
    /// would otherwise count eight times.
    pub coverage_known_by_source: f64,
    pub coverage_unknown_by_source: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunReport {
    pub id: String,
    pub paper: String,
    pub family: String,
    pub stack: Stack,
    pub scope: Scope,
    pub scored: bool,
    pub published: f64,
    /// In-sample prediction with the stack known.
    pub modelled: f64,
    /// Held-out log errors ln(published / predicted), stack known and unknown.
    pub loso_log_error: [f64; 2],
    /// Whether the nested interval covered it, stack known and unknown.
    pub covered: [bool; 2],
}

/// Fits `points` and validates by source: every paper is held out in turn, the parameters are
/// refitted on the others and its rows predicted, with the stack known and unknown. Coverage is
/// nested: a held-out paper's rows are checked against intervals built from the held-out errors
/// of the *other* papers, each computed with both papers out of the fit.
pub fn report(points: &[Point], size_d_ref: f64, size_d_half: f64) -> Report {
    let f = fit(points, size_d_ref, size_d_half);
    let abs_time_err = |log_err: f64| (log_err.exp() - 1.0).abs();
    let scored: Vec<usize> = (0..points.len()).filter(|&i| points[i].scored()).collect();
    let mut in_sample: Vec<f64> = scored
        .iter()
        .map(|&i| abs_time_err((points[i].published / f.predict(&points[i], true)).ln()))
        .collect();
    let errs = loso(points, size_d_ref, size_d_half, None);
    let shipped = intervals(points, &errs, &f);
    let mut papers: Vec<&str> = points.iter().map(|p| p.paper.as_str()).collect();
    papers.sort_unstable();
    papers.dedup();
    let mut covered = vec![[false; 2]; points.len()];
    for paper in &papers {
        // The unknown-stack interval's multipliers come from a fit that did not see the paper.
        let others: Vec<Point> = points
            .iter()
            .filter(|p| p.paper != *paper)
            .cloned()
            .collect();
        let inner = intervals(
            points,
            &loso(points, size_d_ref, size_d_half, Some(paper)),
            &fit(&others, size_d_ref, size_d_half),
        );
        for (i, p) in points.iter().enumerate().filter(|(_, p)| p.paper == *paper) {
            for (k, known) in [true, false].into_iter().enumerate() {
                let [lo, hi] = inner.get(p.scope, known);
                covered[i][k] = (lo..=hi).contains(&errs[i][k]);
            }
        }
    }
    let cell = |rows: &[usize]| {
        let med = |k: usize| {
            let mut v: Vec<f64> = rows.iter().map(|&i| abs_time_err(errs[i][k])).collect();
            median(&mut v)
        };
        let cov = |k: usize| {
            rows.iter().filter(|&&i| covered[i][k]).count() as f64 / rows.len().max(1) as f64
        };
        let mut per_paper: BTreeMap<&str, usize> = BTreeMap::new();
        for &i in rows {
            *per_paper.entry(points[i].paper.as_str()).or_default() += 1;
        }
        let cov_by_source = |k: usize| {
            let hit: f64 = rows
                .iter()
                .filter(|&&i| covered[i][k])
                .map(|&i| 1.0 / per_paper[points[i].paper.as_str()] as f64)
                .sum();
            hit / per_paper.len().max(1) as f64
        };
        Cell {
            rows: rows.len(),
            median_abs_error_known: med(0),
            median_abs_error_unknown: med(1),
            coverage_known: cov(0),
            coverage_unknown: cov(1),
            coverage_known_by_source: cov_by_source(0),
            coverage_unknown_by_source: cov_by_source(1),
        }
    };
    let mut families: Vec<&str> = points.iter().map(|p| p.family.as_str()).collect();
    families.sort_unstable();
    families.dedup();
    let per_family = families
        .iter()
        .map(|fam| {
            let rows: Vec<usize> = scored
                .iter()
                .copied()
                .filter(|&i| points[i].family == *fam)
                .collect();
            (fam.to_string(), cell(&rows))
        })
        .filter(|(_, c)| c.rows > 0)
        .collect();
    let mut per_group = Vec::new();
    for fam in &families {
        for s in Stack::ALL {
            for kind in KINDS {
                let rows: Vec<usize> = scored
                    .iter()
                    .copied()
                    .filter(|&i| {
                        let p = &points[i];
                        p.family == *fam && p.stack == s && p.scope == kind
                    })
                    .collect();
                if !rows.is_empty() {
                    per_group.push((fam.to_string(), s, kind, cell(&rows)));
                }
            }
        }
    }
    let per_run = points
        .iter()
        .enumerate()
        .map(|(i, p)| RunReport {
            id: p.id.clone(),
            paper: p.paper.clone(),
            family: p.family.clone(),
            stack: p.stack,
            scope: p.scope,
            scored: p.scored(),
            published: p.published,
            modelled: f.predict(p, true),
            loso_log_error: errs[i],
            covered: covered[i],
        })
        .collect();
    Report {
        runs: points.len(),
        papers: papers.len(),
        scored: scored.len(),
        fit: f,
        intervals: shipped,
        in_sample_median_abs_error: median(&mut in_sample),
        overall: cell(&scored),
        per_family,
        per_group,
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

    fn p(paper: usize, stack: Stack, moe: bool, fixed: f64, d: f64) -> Point {
        Point {
            id: String::new(),
            paper: format!("paper-{paper}"),
            family: "hopper".into(),
            stack,
            scope: Scope::Rate,
            prior: false,
            published: 0.0,
            fixed_mfu: fixed,
            moe,
            d_model: d,
            ettr: 1.0,
        }
    }

    #[test]
    fn fit_recovers_planted_parameters() {
        // Points made by a known model: base 0.6, both stacks below the best 0.75, MoE 0.7,
        // width 1024 (given, as the prior is). Seven papers, each of one level: three best,
        // two typical, two legacy.
        let truth = Fit {
            base: 0.6,
            stack_typical: 0.75,
            stack_legacy: 0.75,
            stack_unknown: 0.75,
            size_d_half: 1024.0,
            size_d_ref: 12_288.0,
            moe: 0.7,
        };
        let levels = [Stack::Best, Stack::Typical, Stack::Legacy];
        let mut pts = Vec::new();
        for i in 0..30 {
            let d = 256.0 * (1 + i % 10) as f64 * 4.0;
            let paper = i % 7;
            let mut q = p(
                paper,
                levels[paper % 3],
                i % 5 == 0,
                0.5 + 0.01 * i as f64,
                d,
            );
            q.published = truth.predict(&q, true);
            pts.push(q);
        }
        let f = fit(&pts, 12_288.0, 1024.0);
        assert_eq!(f.size_d_half, 1024.0);
        assert_eq!(f.stack_typical, f.stack_legacy);
        // The middle: the levels' multipliers weighted by the sources at each, 3 of 7 at 1.
        let middle = 0.75f64.powf(4.0 / 7.0);
        for (got, want) in [
            (f.base, truth.base),
            (f.stack_typical, truth.stack_typical),
            (f.stack_unknown, middle),
            (f.moe, truth.moe),
        ] {
            assert!((got / want - 1.0).abs() < 1e-9, "{got} vs {want}");
        }
        let r = report(&pts, 12_288.0, 1024.0);
        assert!(r.overall.median_abs_error_known < 1e-9);
        // Without the stack the error is the stack spread, not zero.
        assert!(r.overall.median_abs_error_unknown > 0.1);
    }

    #[test]
    fn totals_and_stages_do_not_move_the_fit() {
        let mut pts: Vec<Point> = (0..12)
            .map(|i| {
                let mut q = p(i % 4, Stack::Best, false, 0.8, 12_288.0);
                q.published = 0.4 * (1.0 + 0.01 * i as f64);
                q
            })
            .collect();
        let f0 = fit(&pts, 12_288.0, 512.0);
        let mut slow = p(3, Stack::Best, false, 0.8, 12_288.0);
        slow.published = 0.05;
        slow.scope = Scope::Total;
        pts.push(slow.clone());
        slow.scope = Scope::Stage;
        pts.push(slow);
        assert_eq!(fit(&pts, 12_288.0, 512.0), f0);
    }

    #[test]
    fn unknown_interval_is_the_known_errors_over_the_stack_mix() {
        // Ten sources, one rate row each, known-stack errors spread evenly over ±0.1; four
        // best, three typical, three legacy.
        let stacks = [Stack::Best, Stack::Typical, Stack::Legacy];
        let pts: Vec<Point> = (0..10)
            .map(|i| p(i, stacks[i % 3], false, 0.8, 12_288.0))
            .collect();
        let errs: Vec<[f64; 2]> = (0..10)
            .map(|i| {
                let e = -0.1 + 0.2 * i as f64 / 9.0;
                [e, f64::NAN]
            })
            .collect();
        let f = Fit {
            base: 0.5,
            stack_typical: 0.8,
            stack_legacy: 0.6,
            stack_unknown: 0.8,
            size_d_half: 0.0,
            size_d_ref: 12_288.0,
            moe: 1.0,
        };
        let mix = stack_mix(&pts, &errs, &f);
        // Shares by source: best 4/10, typical 3/10, legacy 3/10, offsets from the middle.
        let want = [
            ((1.0f64 / 0.8).ln(), 0.4),
            (0.0, 0.3),
            ((0.6f64 / 0.8).ln(), 0.3),
        ];
        assert_eq!(mix.len(), 3);
        for ((o, s), (wo, ws)) in mix.iter().zip(want) {
            assert!((o - wo).abs() < 1e-12 && (s - ws).abs() < 1e-12, "{mix:?}");
        }
        let iv = intervals(&pts, &errs, &f);
        let [klo, khi] = iv.rate_known;
        let [ulo, uhi] = iv.rate_unknown;
        // Known: the plain 10th and 90th percentiles of the errors (plotting positions: halfway
        // between the lowest two and the highest two).
        let step = 0.2 / 9.0;
        assert!(
            (klo - (-0.1 + step / 2.0)).abs() < 1e-12 && (khi - (0.1 - step / 2.0)).abs() < 1e-12,
            "{klo} {khi}"
        );
        // Unknown: wider on both sides, reaching towards the best (fast) and legacy (slow)
        // offsets, and within the errors' range shifted by the extreme offsets.
        assert!(ulo < klo && uhi > khi, "{ulo}..{uhi} vs {klo}..{khi}");
        assert!(ulo >= -0.1 + (0.6f64 / 0.8).ln() && uhi <= 0.1 + (1.0f64 / 0.8).ln());
        // No total rows: the total intervals are empty (zero), not borrowed from the rates.
        assert_eq!(iv.total_known, [0.0, 0.0]);
    }

    #[test]
    fn percentiles_interpolate() {
        let xs: Vec<f64> = (0..11).map(f64::from).collect();
        assert_eq!(percentiles(&xs), [1.0, 9.0]);
        assert_eq!(percentiles(&[3.0, 1.0]), [1.2, 2.8]);
        // Equal weights: the weighted quantile is the plotting-position (Hazen) quantile.
        let w: Vec<(f64, f64)> = (0..10).map(|i| (f64::from(i), 1.0)).collect();
        assert!((weighted_quantile(&w, 0.5) - 4.5).abs() < 1e-12);
        // A paper of nine rows weighs as much as a single row of another.
        let mut g: Vec<(f64, f64)> = (0..9).map(|_| (0.0, 1.0 / 9.0)).collect();
        g.push((1.0, 1.0));
        assert!(weighted_quantile(&g, 0.9) > 0.5);
    }
}
