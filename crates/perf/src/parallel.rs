//! Memory fit and parallel layout: do weights, gradients, optimizer state and activations fit in
//! the chips' memory for a data/tensor/pipeline layout and ZeRO stage; which layout to use when
//! none is given; what pipeline bubbles, activation recompute and the scale-out (NIC) network
//! cost in throughput; and the fewest chips on which the model fits at all.
//!
//! Memory per chip (bytes), mixed-precision Adam (Rajbhandari et al., ZeRO, SC'20: 16 bytes per
//! parameter), `Ψ = params / (tp·pp)`:
//! weights `2Ψ` (÷dp at ZeRO-3), gradients `2Ψ` (÷dp at ZeRO ≥ 2), optimizer `12Ψ` (÷dp at
//! ZeRO ≥ 1); activations of the first pipeline stage, which holds `pp` micro-batches of `L/pp`
//! layers under 1F1B, with sequence parallelism and selective recompute (Korthikanti et al.,
//! MLSys'23): `34·s·h·L / tp` per sequence, or with full recompute `2·s·h·L / tp + 34·s·h / tp`.

use serde::{Deserialize, Serialize};
use xpufleet_model::{Accelerator, Precision};

use crate::{PerfError, PerfModel, Placement, Shape};

/// A layout the caller asks for; `None` fields are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LayoutRequest {
    /// Tensor-parallel degree (within a scale-up domain).
    pub tp: Option<u32>,
    /// Pipeline-parallel degree.
    pub pp: Option<u32>,
    /// ZeRO stage 0-3 (default 1: the distributed optimizer every current stack uses).
    pub zero: Option<u8>,
    /// Full (`Some(true)`) or selective (`Some(false)`) activation recompute; `None`: selective
    /// when it fits, else full. Full recompute costs a quarter of the throughput (8/6 the
    /// FLOPs; issue 25).
    #[serde(default)]
    pub full_recompute: Option<bool>,
    /// Micro-batches per pipeline per step (`m`, `--micro-batches`); `None`: from the global
    /// batch. The 1F1B bubble is `(pp − 1) / (m + pp − 1)` of the step.
    #[serde(default)]
    pub micro_batches: Option<u32>,
    /// Sequences per accelerator per micro-batch (`--micro-batch-size`, default 1): scales the
    /// activation memory and, with the global batch, sets `m`.
    #[serde(default)]
    pub micro_batch_size: Option<u32>,
    /// Global batch, tokens per step (`--global-batch-tokens`); `None`: at least 4M tokens and
    /// `4·pp` micro-batches per pipeline. Rounded up to whole micro-batches.
    #[serde(default)]
    pub global_batch_tokens: Option<u64>,
    /// Expert-parallel degree of a mixture-of-experts model (`--ep`): the chips a token's
    /// routed experts are spread over. `None`: no all-to-all is charged; the fitted MoE factor
    /// alone stands for it.
    #[serde(default)]
    pub ep: Option<u32>,
    /// Routed experts per token of a mixture-of-experts model (`--top-k`, with `ep`); `None`:
    /// [`DEFAULT_TOP_K`].
    #[serde(default)]
    pub top_k: Option<u32>,
    /// Charge the scale-up links with the node factor's fitted link term even though `tp` is
    /// given, not with the tensor-parallel term. The corpus's rows that state their `tp` set
    /// it: charging them the tensor-parallel term moved the held-out median error from 8.7% to
    /// 9.3% (stack known) and 9.7% to 10.6% (unknown), so the fit keeps its link term.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fitted_links: bool,
}

/// Routed experts per token when `--ep` is given without `--top-k` (DeepSeek-V3 and Pangu Ultra
/// MoE route each token to 8 experts).
pub const DEFAULT_TOP_K: u32 = 8;

/// One parallel layout of a job: `tp · pp · dp` chips.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Layout {
    pub tp: u32,
    pub pp: u32,
    pub dp: u64,
    pub zero: u8,
    /// Full activation recompute (stores only layer inputs; ~33% more compute).
    pub full_recompute: bool,
}

/// Memory per chip, GB (10^9 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MemoryUse {
    pub weights_gb: f64,
    pub gradients_gb: f64,
    pub optimizer_gb: f64,
    pub activations_gb: f64,
    pub total_gb: f64,
    /// Usable memory of one chip: `memory_gb` less the reserve for workspace, communication
    /// buffers and fragmentation; `None` when the catalog does not know the memory (then
    /// nothing is refused).
    pub usable_gb: Option<f64>,
}

impl MemoryUse {
    pub fn fits(&self) -> bool {
        self.usable_gb.is_none_or(|u| self.total_gb <= u)
    }
}

/// The layout a job runs with and what it costs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ParallelPlan {
    pub layout: Layout,
    pub memory: MemoryUse,
    /// Micro-batches per pipeline per step.
    pub micro_batches: u64,
    /// Sequences per accelerator per micro-batch.
    pub micro_batch_size: u64,
    /// Global batch of the step, tokens (`micro_batches · micro_batch_size · dp · seq_len`).
    pub batch_tokens: f64,
    /// Share of time the pipeline is busy, `m / (m + pp − 1)` (1F1B).
    pub bubble: f64,
    /// Throughput kept after exposed data-parallel traffic on the NICs (gradient all-reduce,
    /// and under ZeRO-3 the weight gathers and gradient reduce-scatter).
    pub nic: f64,
    /// Throughput kept under full recompute (0.75) or selective (1).
    pub recompute: f64,
    /// Tensor-parallel links, when `--tp` is given (else 1, and the node factor's link term
    /// charges the links): throughput kept after the given layout's exposed collectives over
    /// this chip's scale-up links, over the same for the reference layout on H100-balanced
    /// links, which the calibrated MFU already contains (see [`LayerTraffic`]).
    pub scaleup: f64,
    /// Expert all-to-all of a mixture-of-experts model, when `--ep` is given (else 1, and the
    /// fitted MoE factor alone stands for it): throughput kept after the given layout's exposed
    /// dispatch and combine, over the same for the reference (ep = the reference scale-up
    /// domain, H100-balanced links), which the fitted MoE factor already contains.
    pub expert: f64,
    /// Expert-parallel degree charged (`--ep`; 1 for a dense model or when none is given).
    pub ep: u32,
    /// Routed experts per token charged (0 when no all-to-all is charged).
    pub top_k: u32,
    /// Share of the chips in whole tensor × pipeline × data groups (`tp·pp·dp / count`); the
    /// rest sit idle.
    pub used: f64,
    /// Scale factor of the chips in use over that of all `count` (≥ 1): idle chips take no part
    /// in the job's communication, so they never slow it.
    #[serde(skip)]
    pub(crate) idle_gain: f64,
    /// The layout's factor on the calibrated MFU: `used · nic` times the bubble and recompute of
    /// this layout relative to the memory-driven choice in the reference scale-up domain (never
    /// above 1), and the scale factor the idle chips do not cost.
    pub factor: f64,
}

/// Bytes per parameter of weights, gradients and optimizer state (BF16 weights and gradients,
/// FP32 master weights and two Adam moments).
const WEIGHT_BYTES: f64 = 2.0;
const GRAD_BYTES: f64 = 2.0;
const OPTIMIZER_BYTES: f64 = 12.0;

/// The full shape the layout needs, with typical values where the job does not say.
struct Dims {
    params: f64,
    active: f64,
    n_layers: f64,
    seq_len: f64,
    d_model: f64,
    moe: bool,
}

fn dims(shape: &Shape) -> Option<Dims> {
    let params = shape.params?;
    let d_model = shape.d_model?;
    Some(Dims {
        params,
        active: shape.active_params.unwrap_or(params),
        n_layers: shape.n_layers.unwrap_or((d_model / 128.0).round().max(1.0)),
        seq_len: shape.seq_len.unwrap_or(4096.0),
        d_model,
        moe: shape.moe,
    })
}

impl PerfModel {
    /// Memory per chip of `shape` on `accel` under `layout`; `None` when the work has no shape
    /// (given as FLOPs).
    pub fn memory_use(
        &self,
        accel: &Accelerator,
        shape: &Shape,
        layout: &Layout,
    ) -> Result<Option<MemoryUse>, PerfError> {
        let Some(d) = dims(shape) else {
            return Ok(None);
        };
        Ok(Some(memory(self, &self.layout, accel, &d, layout)?))
    }

    /// The layout of `shape` on `count` chips of `accel` in `placement`: the one requested
    /// (`self.layout`), completed with the fitting layout of highest factor on the calibrated
    /// MFU, then of highest throughput factor (used × bubble × recompute × NIC), ties to the
    /// least model parallelism (tensor parallel first,
    /// within a scale-up domain, then pipeline; selective recompute before full).
    /// `Ok(None)` when the work has no shape. When nothing fits, the most-sharded layout is
    /// returned with `memory.fits() == false`.
    pub fn parallel_plan(
        &self,
        accel: &Accelerator,
        precision: Precision,
        count: u64,
        placement: &Placement,
        shape: &Shape,
        mfu_before: f64,
    ) -> Result<Option<ParallelPlan>, PerfError> {
        let Some(d) = dims(shape) else {
            return Ok(None);
        };
        let req = self.layout;
        if let Some(z) = req.zero {
            if z > 3 {
                return Err(PerfError::Invalid(format!(
                    "ZeRO stage must be 0, 1, 2 or 3; found {z}"
                )));
            }
        }
        for (name, v) in [
            ("tensor-parallel degree", req.tp),
            ("pipeline-parallel degree", req.pp),
            ("micro-batch count", req.micro_batches),
            ("micro-batch size", req.micro_batch_size),
            ("expert-parallel degree (--ep)", req.ep),
            ("routed experts per token (--top-k)", req.top_k),
        ] {
            if v == Some(0) {
                return Err(PerfError::Invalid(format!("{name} must be at least 1")));
            }
        }
        if req.global_batch_tokens == Some(0) {
            return Err(PerfError::Invalid(
                "global batch must be at least one token".into(),
            ));
        }
        if let Some(ep) = req.ep {
            if u64::from(ep) > count {
                return Err(PerfError::Invalid(format!(
                    "expert parallelism (--ep) {ep} exceeds the job's {count} chips"
                )));
            }
            if ep > 1 && !d.moe {
                return Err(PerfError::Invalid(format!(
                    "expert parallelism (--ep) {ep} needs a mixture-of-experts model (active \
                     parameters below total); this one is dense"
                )));
            }
        }
        if req.top_k.is_some() && req.ep.is_none() {
            return Err(PerfError::Invalid(
                "routed experts per token (--top-k) is charged with the expert all-to-all; \
                 give the expert-parallel degree (--ep) too"
                    .into(),
            ));
        }
        let tp_max = placement.scaleup_domain.clamp(1, 64);
        if let Some(tp) = req.tp {
            if tp > placement.scaleup_domain {
                return Err(PerfError::Invalid(format!(
                    "tensor parallelism {tp} exceeds the scale-up domain of {} chips",
                    placement.scaleup_domain
                )));
            }
        }
        // The calibrated MFU already contains the bubbles and recompute of the layouts the
        // published runs chose, which the memory-driven choice (least model parallelism that
        // fits, default batch) stands for; runs whose source states its layout are fitted with
        // that layout's own costs (issue 25). A layout is charged what its bubble and recompute
        // lose against that reference, in full (micro-batches, global batch and recompute as
        // given), and never credited above it. The NIC term (gradients, and ZeRO-3's gathers) is
        // absolute. The reference is the memory-driven choice in the reference scale-up domain
        // (where the corpus's runs were), whatever the job's own domain: were it the choice in
        // the job's domain, a bigger domain could move the reference to a better layout and
        // charge the same chips more.
        let auto = LayoutRequest {
            zero: req.zero,
            ..LayoutRequest::default()
        };
        let ref_tp_max = (self.throughput.ref_scaleup_domain.round() as u32).clamp(1, 64);
        let mut reference = None;
        let mut ref_layout = None;
        for layout in candidates(count, ref_tp_max, d.n_layers as u32, &auto) {
            if memory(self, &auto, accel, &d, &layout)?.fits() {
                let (m, _, _) = micro_batches(self, &auto, &d, &layout);
                let bubble = m / (m + f64::from(layout.pp) - 1.0);
                reference = Some(bubble * if layout.full_recompute { 0.75 } else { 1.0 });
                ref_layout = Some(layout);
                break;
            }
        }
        // The tensor-parallel and expert terms are a ratio to the reference and apply only to
        // a layout the user gave: they are not part of the choice's own factor's cap.
        let factor = |p: &ParallelPlan| {
            let reference = reference.unwrap_or(p.bubble * p.recompute);
            p.used
                * p.idle_gain
                * p.scaleup
                * p.expert
                * (p.nic * p.bubble * p.recompute / reference).min(p.nic)
        };
        // Of the layouts that fit, the one with the highest factor on the calibrated MFU, then
        // the highest throughput factor (used × bubble × recompute × NIC); ties go to the
        // earliest candidate (least model parallelism). Choosing by the factor itself makes the
        // choice monotone: a bigger scale-up domain only adds candidates (larger tensor
        // parallelism) and never lowers a candidate's factor. When nothing fits, the most
        // sharded.
        let own = |p: &ParallelPlan| p.used * p.nic * p.bubble * p.recompute;
        let better = |a: f64, b: f64| a > b * (1.0 + 1e-12);
        let mut best: Option<ParallelPlan> = None;
        let mut last = None;
        for layout in candidates(count, tp_max, d.n_layers as u32, &req) {
            let mem = memory(self, &req, accel, &d, &layout)?;
            let mut plan = costs(
                self, accel, precision, count, placement, &d, layout, mem, mfu_before,
            )?;
            self.layer_terms(
                accel, precision, count, placement, &d, ref_layout, mfu_before, &mut plan,
            )?;
            plan.factor = factor(&plan);
            if !mem.fits() {
                last = Some(plan);
                continue;
            }
            if best.as_ref().is_none_or(|b| {
                better(plan.factor, b.factor)
                    || (!better(b.factor, plan.factor) && better(own(&plan), own(b)))
            }) {
                best = Some(plan);
            }
        }
        let Some(plan) = best.or(last) else {
            return Err(PerfError::Invalid(format!(
                "no layout divides {count} chips as tensor × pipeline × data parallel{}",
                describe(&req)
            )));
        };
        Ok(Some(plan))
    }

    /// The fewest chips of `accel` on which `shape` fits (any layout, ZeRO as requested or 1),
    /// among multiples of the scale-up domain (or powers of two below it); `None` when the work
    /// has no shape or not even 2^24 chips suffice.
    pub fn min_chips(
        &self,
        accel: &Accelerator,
        scaleup_domain: u32,
        shape: &Shape,
    ) -> Result<Option<u64>, PerfError> {
        let Some(d) = dims(shape) else {
            return Ok(None);
        };
        let free = LayoutRequest {
            zero: self.layout.zero,
            micro_batch_size: self.layout.micro_batch_size,
            ..LayoutRequest::default()
        };
        let tp_max = scaleup_domain.clamp(1, 64);
        let fits = |n: u64| -> Result<bool, PerfError> {
            for l in candidates(n, tp_max, d.n_layers as u32, &free) {
                if memory(self, &free, accel, &d, &l)?.fits() {
                    return Ok(true);
                }
            }
            Ok(false)
        };
        let step = u64::from(scaleup_domain.max(1));
        let mut n = 1u64;
        while n < step {
            if fits(n)? {
                return Ok(Some(n));
            }
            n *= 2;
        }
        // Doubling finds an upper bound; a scan of domain multiples below it finds the least.
        let mut hi = step;
        while !fits(hi)? {
            hi *= 2;
            if hi > 1 << 24 {
                return Ok(None);
            }
        }
        let mut k = (hi / 2 / step).max(1);
        while k * step < hi {
            if fits(k * step)? {
                return Ok(Some(k * step));
            }
            k += 1;
        }
        Ok(Some(hi))
    }
}

fn describe(req: &LayoutRequest) -> String {
    let mut s = String::new();
    if let Some(tp) = req.tp {
        s.push_str(&format!(" with tp = {tp}"));
    }
    if let Some(pp) = req.pp {
        s.push_str(&format!(" with pp = {pp}"));
    }
    s
}

/// Layouts in order of preference: least model parallelism first (tp·pp), tensor before
/// pipeline, selective before full recompute.
fn candidates(count: u64, tp_max: u32, n_layers: u32, req: &LayoutRequest) -> Vec<Layout> {
    let zero = req.zero.unwrap_or(1);
    let pow2 = |max: u32| (0..=16).map(|i| 1u32 << i).take_while(move |&v| v <= max);
    let tps: Vec<u32> = match req.tp {
        Some(t) => vec![t],
        None => pow2(tp_max).collect(),
    };
    let pps: Vec<u32> = match req.pp {
        Some(p) => vec![p],
        None => pow2(n_layers.max(1)).collect(),
    };
    let recomputes: &[bool] = match req.full_recompute {
        Some(true) => &[true],
        Some(false) => &[false],
        None => &[false, true],
    };
    let mut out = Vec::new();
    for &full_recompute in recomputes {
        let mut level = Vec::new();
        for &tp in &tps {
            for &pp in &pps {
                let mp = u64::from(tp) * u64::from(pp);
                // Chips beyond the last whole tensor × pipeline group sit idle.
                if mp <= count {
                    level.push(Layout {
                        tp,
                        pp,
                        dp: count / mp,
                        zero,
                        full_recompute,
                    });
                }
            }
        }
        level.sort_by_key(|l| (u64::from(l.tp) * u64::from(l.pp), l.pp));
        out.extend(level);
    }
    out
}

/// Memory per chip of layout `l` with `req`'s micro-batch size.
fn memory(
    model: &PerfModel,
    req: &LayoutRequest,
    accel: &Accelerator,
    d: &Dims,
    l: &Layout,
) -> Result<MemoryUse, PerfError> {
    let capacity_gb = accel.memory_gb.get();
    let shard = d.params / (f64::from(l.tp) * f64::from(l.pp));
    let dp = l.dp as f64;
    let by = |stage: u8| if l.zero >= stage { dp } else { 1.0 };
    let weights = WEIGHT_BYTES * shard / by(3);
    let grads = GRAD_BYTES * shard / by(2);
    let optimizer = OPTIMIZER_BYTES * shard / by(1);
    let mbs = f64::from(req.micro_batch_size.unwrap_or(1));
    let per_layer = mbs * d.seq_len * d.d_model / f64::from(l.tp);
    let activations = if l.full_recompute {
        2.0 * per_layer * d.n_layers + 34.0 * per_layer
    } else {
        34.0 * per_layer * d.n_layers
    };
    let gb = 1e-9;
    let total = (weights + grads + optimizer + activations) * gb;
    Ok(MemoryUse {
        weights_gb: weights * gb,
        gradients_gb: grads * gb,
        optimizer_gb: optimizer * gb,
        activations_gb: activations * gb,
        total_gb: total,
        usable_gb: capacity_gb.map(|c| c * (1.0 - model.throughput.memory_reserve)),
    })
}

/// Micro-batches per pipeline per step, sequences per micro-batch and the global batch in
/// tokens: as requested (`micro_batches`, else from `global_batch_tokens` rounded up to whole
/// micro-batches), else the default batch.
fn micro_batches(
    model: &PerfModel,
    req: &LayoutRequest,
    d: &Dims,
    layout: &Layout,
) -> (f64, f64, f64) {
    let t = &model.throughput;
    let b = f64::from(req.micro_batch_size.unwrap_or(1));
    let dp = layout.dp as f64;
    let m = match (req.micro_batches, req.global_batch_tokens) {
        (Some(m), _) => f64::from(m),
        (None, Some(g)) => (g as f64 / (d.seq_len * b * dp)).ceil().max(1.0),
        // The global batch is at least `min_batch_tokens` and at least
        // `micro_batches_per_stage · pp` micro-batches per pipeline, as runs at scale grow it
        // (Llama 3: 4M to 16M tokens; Narayanan et al.: m ≥ 4·pp keeps the 1F1B bubble under
        // 20%).
        (None, None) => {
            let seqs = (t.min_batch_tokens / d.seq_len).max(1.0);
            (seqs / (dp * b))
                .ceil()
                .max(t.micro_batches_per_stage * f64::from(layout.pp))
                .max(1.0)
        }
    };
    (m, b, m * b * dp * d.seq_len)
}

#[allow(clippy::too_many_arguments)]
fn costs(
    model: &PerfModel,
    accel: &Accelerator,
    precision: Precision,
    count: u64,
    placement: &Placement,
    d: &Dims,
    layout: Layout,
    memory: MemoryUse,
    mfu_before: f64,
) -> Result<ParallelPlan, PerfError> {
    let t = &model.throughput;
    let (m, mbs, batch_tokens) = micro_batches(model, &model.layout, d, &layout);
    let bubble = m / (m + f64::from(layout.pp) - 1.0);
    let recompute = if layout.full_recompute { 0.75 } else { 1.0 };
    // Data-parallel gradient traffic crosses the NICs once the job spans more than one scale-up
    // domain. Hierarchically (NCCL): reduce-scatter among the data-parallel peers inside the
    // domain, then a ring all-reduce across domains of each chip's 1/k part, which moves
    // 2·(r−1)/r of it through the chip's NIC (r replicas across domains); overlapped with the
    // backward pass (`dp_overlap` of the step).
    // Chips beyond whole groups sit idle and take no part in the scale-out traffic: the scale
    // factor is that of the chips in use, packed as the placement allows.
    let in_use = (layout.dp * u64::from(layout.tp) * u64::from(layout.pp)) as f64;
    let idle_gain = match model.family(accel) {
        Ok(fam) if in_use < count as f64 => {
            let working = placement.packed_per_domain(count, in_use as u64);
            let all = placement.packed_per_domain(count, count);
            model.scale(fam, in_use, working).1 / model.scale(fam, count as f64, all).1
        }
        _ => 1.0,
    };
    // The traffic is that of the chips in use: packed into the fewest domains when the
    // placement is the tightest (idle chips in a partly filled extra domain carry none).
    let working = in_use as u64;
    let tight =
        u64::from(placement.domains) <= count.div_ceil(u64::from(placement.scaleup_domain.max(1)));
    let (domains, per_domain) = if tight {
        let p = Placement::compact(working, placement.scaleup_domain);
        (p.domains, p.chips_per_domain(working))
    } else {
        (placement.domains, placement.chips_per_domain(count))
    };
    let nic = if domains <= 1 || layout.dp <= 1 {
        1.0
    } else {
        let nic_bps = model.family(accel)?.nic_gbps * 1e9 / 8.0;
        let shard = d.params / (f64::from(layout.tp) * f64::from(layout.pp));
        let in_domain = (per_domain / f64::from(layout.tp)).max(1.0);
        let r = (layout.dp as f64 / in_domain).max(1.0);
        // An all-reduce is a reduce-scatter and an all-gather: two passes of the chip's part.
        // ZeRO-3 gathers the weights before the forward and again before the backward pass and
        // reduce-scatters the gradients: three passes (Rajbhandari et al.: 1.5× data parallel's
        // traffic), which prefetching overlaps with the whole step, not the backward pass only.
        let (passes, overlap) = if layout.zero >= 3 {
            (3.0, 1.0)
        } else {
            (2.0, t.dp_overlap)
        };
        let comm_s = passes * (r - 1.0) / r * GRAD_BYTES * shard / in_domain / nic_bps;
        let step_flops = 6.0 * d.active * batch_tokens;
        let rate = in_use
            * model.peak_flops(accel, precision)?
            * mfu_before
            * idle_gain
            * bubble
            * recompute;
        let compute_s = step_flops / rate.max(f64::MIN_POSITIVE);
        let exposed = (comm_s - overlap * compute_s).max(0.0);
        compute_s / (compute_s + exposed)
    };
    let used = in_use / count as f64;
    Ok(ParallelPlan {
        layout,
        memory,
        micro_batches: m as u64,
        micro_batch_size: mbs as u64,
        batch_tokens,
        bubble,
        nic,
        recompute,
        used,
        idle_gain,
        scaleup: 1.0,
        expert: 1.0,
        ep: 1,
        top_k: 0,
        factor: nic,
    })
}

impl PerfModel {
    /// Sets `plan.scaleup` and `plan.expert`: the tensor-parallel term when `--tp` was given,
    /// the expert all-to-all when `--ep` was given for a mixture-of-experts model, each as the
    /// given layout's throughput kept over the reference's (`ref_layout`, the memory-driven
    /// choice in the reference scale-up domain, on H100-balanced scale-up links).
    #[allow(clippy::too_many_arguments)]
    fn layer_terms(
        &self,
        accel: &Accelerator,
        precision: Precision,
        count: u64,
        placement: &Placement,
        d: &Dims,
        ref_layout: Option<Layout>,
        mfu_before: f64,
        plan: &mut ParallelPlan,
    ) -> Result<(), PerfError> {
        let req = &self.layout;
        let ep = if d.moe { req.ep } else { None };
        let tp = req.tp.filter(|_| !req.fitted_links);
        if tp.is_none() && ep.is_none() {
            return Ok(());
        }
        let t = &self.throughput;
        let peak = self.peak_flops(accel, precision)?;
        let l = &plan.layout;
        let traffic = |link_bytes_per_s: f64, full_recompute: bool| LayerTraffic {
            flops: 6.0 * d.active / d.n_layers + 6.0 * d.seq_len * d.d_model,
            busy_flops_per_s: peak * mfu_before,
            d_model: d.d_model,
            link_bytes_per_s,
            nic_bytes_per_s: self
                .family(accel)
                .map_or(f64::NAN, |f| f.nic_gbps * 1e9 / 8.0),
            full_recompute,
        };
        // The catalog's `interconnect_gbps` is the aggregate of both directions (NVLink 4:
        // 900 GB/s); a collective moves data one way at half of it.
        let link = crate::require(accel, "interconnect_gbps")? * 1e9 / 2.0;
        // The chip's own FLOPs over H100's FLOP per byte of links: what H100-balanced links
        // would carry for this chip, the balance the calibrated MFU was fitted at.
        let ref_link = peak / t.ref_flop_per_link_byte / 2.0;
        let (ref_tp, ref_recompute) = ref_layout.map_or((1, false), |r| (r.tp, r.full_recompute));
        let here = traffic(link, l.full_recompute);
        let there = traffic(ref_link, ref_recompute);
        if let Some(tp) = tp {
            plan.scaleup = here.tensor_parallel(tp, t.tp_overlap)
                / there.tensor_parallel(ref_tp, t.tp_overlap);
        }
        if let Some(ep) = ep {
            let k = req.top_k.unwrap_or(DEFAULT_TOP_K);
            let domain = placement.scaleup_domain.max(1);
            let ref_domain = (t.ref_scaleup_domain.round() as u32).max(1);
            let ref_ep = u64::from(ref_domain).min(count) as u32;
            plan.expert = here.expert_all_to_all(l.tp, ep, k, domain, t.ep_overlap)
                / there.expert_all_to_all(ref_tp, ref_ep, k, ref_domain, t.ep_overlap);
            plan.ep = ep;
            plan.top_k = k;
        }
        Ok(())
    }
}

/// The traffic inside one transformer layer, per token, on one chip, against its compute
/// (issue 25). Bandwidth only: a token's compute and its bytes both scale with the tokens of a
/// micro-batch (sequence × micro-batch size), so their ratio does not depend on them; latency
/// per collective is not modelled.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LayerTraffic {
    /// FLOPs per token and layer, whole layer: `6·N_active/L + 6·s·h` (the layer's share of
    /// `6N` and its causal attention).
    pub flops: f64,
    /// What one chip computes when busy, FLOP/s (peak × MFU before the layout's costs).
    pub busy_flops_per_s: f64,
    /// Hidden size `h`.
    pub d_model: f64,
    /// Scale-up link bandwidth of one chip in one direction, bytes/s.
    pub link_bytes_per_s: f64,
    /// Scale-out (NIC) bandwidth of one chip, bytes/s.
    pub nic_bytes_per_s: f64,
    /// Full recompute repeats the forward pass: 4/3 the FLOPs and the forward's collectives
    /// once more.
    pub full_recompute: bool,
}

/// Bytes per activation element on the links (BF16).
const ACTIVATION_BYTES: f64 = 2.0;

impl LayerTraffic {
    /// Seconds one chip of a `tp`-way group computes per token and layer.
    fn compute_s(&self, tp: u32) -> f64 {
        let hw = if self.full_recompute { 4.0 / 3.0 } else { 1.0 };
        self.flops * hw / f64::from(tp.max(1)) / self.busy_flops_per_s.max(f64::MIN_POSITIVE)
    }

    /// Collective passes per layer: two forward and two backward (four, six with full
    /// recompute, which repeats the forward ones).
    fn passes(&self) -> f64 {
        if self.full_recompute {
            6.0
        } else {
            4.0
        }
    }

    /// Throughput kept, `compute / (compute + exposed)`, after the tensor-parallel collectives
    /// of a `tp`-way group with sequence parallelism (Korthikanti et al., MLSys'23): per layer an
    /// all-gather and a reduce-scatter of the `h` activations at the attention and again at the
    /// MLP, forward and backward (`2 · passes` collectives), each moving `(t − 1)/t · h · 2`
    /// bytes per token through a chip's links; `overlap` of it hidden under compute. 1 at tp 1.
    pub fn tensor_parallel(&self, tp: u32, overlap: f64) -> f64 {
        if tp <= 1 {
            return 1.0;
        }
        let t = f64::from(tp);
        let bytes = 2.0 * self.passes() * (t - 1.0) / t * self.d_model * ACTIVATION_BYTES;
        let compute = self.compute_s(tp);
        compute / (compute + (1.0 - overlap) * bytes / self.link_bytes_per_s)
    }

    /// Throughput kept after the expert all-to-all: a routed token goes to `top_k` experts
    /// spread over `ep` chips; dispatch and combine forward and their gradients backward move
    /// `passes · k · h · 2 · (ep − 1)/ep` bytes per token (the share of experts on other chips),
    /// a `tp`-way group splitting a token's traffic `tp` ways. Of the `ep − 1` peers, those in
    /// the chip's own scale-up domain (`min(ep, domain) − 1`) are reached over its links, the
    /// rest over its NIC; `overlap` of it hidden under compute. 1 at ep 1.
    pub fn expert_all_to_all(
        &self,
        tp: u32,
        ep: u32,
        top_k: u32,
        domain: u32,
        overlap: f64,
    ) -> f64 {
        if ep <= 1 {
            return 1.0;
        }
        let e = f64::from(ep);
        let per_token =
            self.passes() * f64::from(top_k) * self.d_model * ACTIVATION_BYTES * (e - 1.0)
                / e
                / f64::from(tp.max(1));
        let near = (f64::from(ep.min(domain.max(1))) - 1.0) / (e - 1.0);
        let comm_s =
            per_token * (near / self.link_bytes_per_s + (1.0 - near) / self.nic_bytes_per_s);
        let compute = self.compute_s(tp);
        compute / (compute + (1.0 - overlap) * comm_s)
    }
}
