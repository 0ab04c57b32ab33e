//! The model's parameters and their defaults, each with where it comes from.
//!
//! Every default here is derived in `docs/performance-model.md`; the calibration tests in
//! `tests/calibration.rs` check them against the published runs they were fitted to (and a few
//! they were not).

use serde::{Deserialize, Serialize};

/// Throughput parameters of one chip family (one set per family, never one per run).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FamilyParams {
    /// The family key as the catalog spells it ("hopper").
    pub family: String,
    /// MFU the family's software stack reaches on a chip with H100's compute/memory and
    /// compute/link ratios, at small scale (the `n → 0` limit of the scale law).
    pub base_mfu: f64,
    /// Half-efficiency scale of the scale law: at `n_eff = scale_n_c` the scale factor is 1/2.
    pub scale_n_c: f64,
    /// Exponent of the scale law; below 1 so that more chips always give more throughput.
    pub scale_alpha: f64,
    /// How the default was set (shown by `--explain` style reports and the docs).
    pub basis: String,
    /// Scale-out (NIC) bandwidth per chip, Gb/s: one 400G ConnectX-7 per GPU in HGX H100/B200
    /// systems, 200G per GPU in DGX A100 and Ascend 910B servers (`--nic-gbps` overrides).
    pub nic_gbps: f64,
}

/// Parameters shared by all families.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThroughputParams {
    /// Memory-bound overhead at H100's FLOP per byte of HBM bandwidth, relative to GEMM time.
    pub k_mem: f64,
    /// Exposed scale-up communication at H100's FLOP per byte of chip-to-chip bandwidth.
    pub k_link: f64,
    /// H100 SXM dense BF16 FLOP per byte of memory bandwidth (989.5 TFLOPS / 3.35 TB/s).
    pub ref_flop_per_mem_byte: f64,
    /// H100 SXM dense BF16 FLOP per byte of chip-to-chip bandwidth (989.5 TFLOPS / 900 GB/s).
    pub ref_flop_per_link_byte: f64,
    /// Scale-up domain size the scale law was fitted on (HGX H100: 8).
    pub ref_scaleup_domain: f64,
    /// How strongly a bigger scale-up domain shrinks the effective scale-out size.
    pub domain_beta: f64,
    /// MFU of a mixture-of-experts model relative to a dense one on the same chips (all-to-all,
    /// load imbalance), applied when active parameters < total parameters. Fitted on the
    /// corpus's MoE rate rows (`FIT_MOE`).
    pub moe_efficiency: f64,
    /// Share of the tensor-parallel collectives (all-gathers and reduce-scatters over the
    /// scale-up links) hidden under compute, charged when `--tp` is given: 0, as in
    /// Megatron-LM's layers, where each collective sits between the GEMMs that need its result.
    pub tp_overlap: f64,
    /// Share of the expert all-to-all (dispatch and combine) hidden under compute, charged when
    /// `--ep` is given: 1/2, a prior between Megatron-Core's default (none hidden) and
    /// DeepSeek-V3's DualPipe (all hidden); not fitted.
    pub ep_overlap: f64,
    /// Share of a chip's memory not available to the model (workspace, communication buffers,
    /// fragmentation).
    pub memory_reserve: f64,
    /// Smallest global batch, tokens (Llama 2: 4M).
    pub min_batch_tokens: f64,
    /// Micro-batches per pipeline stage at least (Narayanan et al. SC'21: m ≥ 4·pp).
    pub micro_batches_per_stage: f64,
    /// Share of a step's compute that data-parallel communication can hide behind (the
    /// backward pass, 2/3).
    pub dp_overlap: f64,
}

/// How mature the training software stack is: the corpus's runs are grouped by it and each level
/// has its own fitted multiplier on the base (`CalibrationParams`). Which level a run has is set
/// a priori from who built its software and when (table in `docs/performance-model.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stack {
    /// A stack built and tuned by an infrastructure team and published as such (MegaScale,
    /// Llama 3, Pangu Ultra, DeepSeek LLM/V2/V3): "what MegaScale reached".
    Best,
    /// A competent team on a current open stack (Megatron-LM/DeepSpeed/LLM Foundry with
    /// FlashAttention, 2023 on): "what a typical team reaches".
    Typical,
    /// The 2021-2022 open stacks (Megatron-LM SC'21, Metaseq, Megatron-DeepSpeed, GPT-NeoX).
    Legacy,
    /// Not known: the point estimate is the corpus's calibrated middle and the interval spans
    /// the stack spread measured on the corpus. The default.
    #[default]
    Unknown,
}

impl Stack {
    /// The known levels, best first (the corpus's runs each have one).
    pub const ALL: [Stack; 3] = [Stack::Best, Stack::Typical, Stack::Legacy];

    pub fn as_str(self) -> &'static str {
        match self {
            Stack::Best => "best",
            Stack::Typical => "typical",
            Stack::Legacy => "legacy",
            Stack::Unknown => "unknown",
        }
    }

    /// Whether the level is known (anything but [`Stack::Unknown`]).
    pub fn is_known(self) -> bool {
        self != Stack::Unknown
    }
}

impl std::fmt::Display for Stack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Stack {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "best" => Ok(Stack::Best),
            "typical" => Ok(Stack::Typical),
            "legacy" => Ok(Stack::Legacy),
            "unknown" => Ok(Stack::Unknown),
            _ => Err(format!(
                "expected one of best, typical, legacy, unknown; found {s:?}"
            )),
        }
    }
}

/// What the calibration corpus (`data/calibration/runs.toml`) gives: one multiplier per software
/// stack (typical and legacy share one fitted ratio; the unknown one follows from it), the
/// model-width term (a prior), and the spread of the held-out (leave one source out) errors
/// that the 80% intervals are made of, per outcome kind and with or without the stack known.
/// `tests/it/corpus.rs` refits them from the corpus and fails if these drift. (The base and the
/// MoE factor, fitted with them, live in the family table and `ThroughputParams`.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationParams {
    /// Multiplier on the base for [`Stack::Best`]: 1 by definition (the base is the best stack's).
    pub stack_best: f64,
    /// Multiplier on the base for [`Stack::Typical`].
    pub stack_typical: f64,
    /// Multiplier on the base for [`Stack::Legacy`].
    pub stack_legacy: f64,
    /// Multiplier on the base for [`Stack::Unknown`]: the corpus's middle, the levels'
    /// multipliers weighted by the corpus's sources at each (geometric mean).
    pub stack_unknown: f64,
    /// Width term `size = min(1, (1 + d_half/d_ref) / (1 + d_half/d_model))`, a saturating
    /// `d/(d + d_half)` normalised to 1 at `d_ref`: narrow models (short GEMMs, relatively more
    /// memory-bound work per FLOP) reach a lower MFU. A prior ([`PRIOR_SIZE_D_HALF`]).
    pub size_d_half: f64,
    /// Reference width where the size term is 1 (GPT-3 175B, MegaScale's model: 12,288).
    pub size_d_ref: f64,
    /// Coverage the interval aims at (0.8).
    pub interval_level: f64,
    /// 10th and 90th percentiles of the held-out log errors ln(published / modelled) of rate
    /// rows with the stack known, each source weighted once: the interval on MFU is
    /// `[mfu·e^lo, mfu·e^hi]`.
    pub interval_log_lo: f64,
    pub interval_log_hi: f64,
    /// The same for totals (accelerator-hours, days) against MFU × ETTR: the interval on wall
    /// time and accelerator-hours is `[t·e^-hi, t·e^-lo]`.
    pub interval_total_log_lo: f64,
    pub interval_total_log_hi: f64,
    /// Rate rows, stack unknown: the known-stack errors, each spread over the corpus's mix of
    /// stack levels (ln of a level's multiplier over the unknown one, weighted by the share of
    /// sources at that level), so the interval spans the stack spread as well.
    pub interval_unknown_log_lo: f64,
    pub interval_unknown_log_hi: f64,
    /// Totals, stack unknown.
    pub interval_unknown_total_log_lo: f64,
    pub interval_unknown_total_log_hi: f64,
}

impl CalibrationParams {
    /// The multiplier of `stack`.
    pub fn stack(&self, stack: Stack) -> f64 {
        match stack {
            Stack::Best => self.stack_best,
            Stack::Typical => self.stack_typical,
            Stack::Legacy => self.stack_legacy,
            Stack::Unknown => self.stack_unknown,
        }
    }

    /// The 80% interval on ln(published / modelled) of a throughput (`total` false) or of a
    /// total over the run (`total` true), with `stack` known or not.
    pub fn interval_log(&self, stack: Stack, total: bool) -> [f64; 2] {
        match (stack.is_known(), total) {
            (true, false) => [self.interval_log_lo, self.interval_log_hi],
            (true, true) => [self.interval_total_log_lo, self.interval_total_log_hi],
            (false, false) => [self.interval_unknown_log_lo, self.interval_unknown_log_hi],
            (false, true) => [
                self.interval_unknown_total_log_lo,
                self.interval_unknown_total_log_hi,
            ],
        }
    }

    /// The width factor for a model of width `d_model` (1 when unknown).
    pub fn size(&self, d_model: Option<f64>) -> f64 {
        match d_model {
            Some(d) if d > 0.0 => {
                ((1.0 + self.size_d_half / self.size_d_ref) / (1.0 + self.size_d_half / d)).min(1.0)
            }
            _ => 1.0,
        }
    }
}

impl Default for CalibrationParams {
    fn default() -> Self {
        CalibrationParams {
            stack_best: 1.0,
            stack_typical: FIT_STACK_TYPICAL,
            stack_legacy: FIT_STACK_LEGACY,
            stack_unknown: FIT_STACK_UNKNOWN,
            size_d_half: PRIOR_SIZE_D_HALF,
            size_d_ref: 12_288.0,
            interval_level: 0.8,
            interval_log_lo: FIT_INTERVAL[0][0],
            interval_log_hi: FIT_INTERVAL[0][1],
            interval_total_log_lo: FIT_INTERVAL[1][0],
            interval_total_log_hi: FIT_INTERVAL[1][1],
            interval_unknown_log_lo: FIT_INTERVAL[2][0],
            interval_unknown_log_hi: FIT_INTERVAL[2][1],
            interval_unknown_total_log_lo: FIT_INTERVAL[3][0],
            interval_unknown_total_log_hi: FIT_INTERVAL[3][1],
        }
    }
}

/// Fitted on `data/calibration/runs.toml` (see [`CalibrationParams`]); refit with
/// `UPDATE_GOLDEN=1 cargo test -p xpufleet-perf` and copy from `tests/golden/calibration.txt`.
/// The best stack's MFU on an H100-balanced chip at small scale, every corpus family alike.
pub const FIT_BASE: f64 = 0.55;
/// See [`FIT_BASE`].
pub const FIT_STACK_TYPICAL: f64 = 0.9025;
/// The same ratio as typical: the corpus's rate sources below the best are fitted as one level
/// (`calibration::fit` says why).
pub const FIT_STACK_LEGACY: f64 = FIT_STACK_TYPICAL;
/// Derived, not fitted: the levels' multipliers averaged (geometrically) over the corpus's 16
/// sources, 6 best and 10 below, i.e. `FIT_STACK_TYPICAL^(10/16)`, rounded as the fit prints it.
pub const FIT_STACK_UNKNOWN: f64 = 0.9379;
/// The width term's `d_half`, a prior fixed beforehand, not fitted (issue 25 item 2: fewer
/// fitted quantities per source). Per token and layer, the GEMMs do `72·h²` FLOPs forward and
/// backward (`6 · 12h²`); the memory-bound work moves the `34·h` bytes of activations a layer
/// keeps (Korthikanti et al., MLSys'23, BF16, without the attention scores FlashAttention does
/// not store) four times: written forward, read backward, and a gradient of the same size
/// written and read. The memory-bound share of GEMM time is then
/// `136·h / bw ÷ 72·h² / peak = (136/72) · (peak/bw) / h`, so
/// `efficiency = h / (h + d_half)` with `d_half = (136/72) · peak/bw` at H100 SXM's balance
/// (989.5 TFLOPS / 3.35 TB/s; other chips' balance is the node factor's `x_mem`): 557.9.
pub const PRIOR_SIZE_D_HALF: f64 = 136.0 / 72.0 * (989.5 / 3.35);
/// See [`FIT_BASE`].
pub const FIT_MOE: f64 = 0.5910;
/// 80% intervals on ln(published / modelled), `[lo, hi]`: rate with the stack known, total
/// with the stack known, rate unknown, total unknown. See [`FIT_BASE`].
pub const FIT_INTERVAL: [[f64; 2]; 4] = [
    [-0.2074, 0.2049],
    [-0.3779, 0.0468],
    [-0.2254, 0.2101],
    [-0.4004, 0.0426],
];

/// Failure and checkpoint parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReliabilityParams {
    /// Unexpected interruptions per accelerator-hour (λ).
    pub failure_rate_per_chip_hour: f64,
    /// Training stalled per checkpoint (δ), seconds.
    pub checkpoint_stall_s: f64,
    /// Time from an interruption to training again, reload included (R), seconds.
    pub restart_s: f64,
}

/// Power parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnergyParams {
    /// Mean board power while training, as a fraction of board power (TDP).
    pub board_utilisation: f64,
    /// Host power (CPUs, memory, NICs, switches) per accelerator, as a fraction of board power.
    pub host_overhead_frac: f64,
    /// PUE used when no site is given.
    pub default_pue: f64,
    /// Electricity price used when no site is given, USD per kWh.
    pub default_electricity_usd_per_kwh: f64,
}

/// Llama 3 (54 days on 16,384 H100): 419 unexpected interruptions.
pub const LLAMA3_UNEXPECTED_INTERRUPTIONS: f64 = 419.0;
/// Llama 3 pre-training snapshot length, hours.
pub const LLAMA3_HOURS: f64 = 54.0 * 24.0;
/// Llama 3 pre-training GPUs.
pub const LLAMA3_GPUS: f64 = 16_384.0;

impl Default for ThroughputParams {
    fn default() -> Self {
        ThroughputParams {
            k_mem: 0.3,
            k_link: 0.1,
            ref_flop_per_mem_byte: 989.5e12 / 3.35e12,
            ref_flop_per_link_byte: 989.5e12 / 900e9,
            ref_scaleup_domain: 8.0,
            domain_beta: 0.3,
            moe_efficiency: FIT_MOE,
            tp_overlap: 0.0,
            ep_overlap: 0.5,
            memory_reserve: 0.1,
            min_batch_tokens: 4.0 * 1024.0 * 1024.0,
            micro_batches_per_stage: 4.0,
            dp_overlap: 2.0 / 3.0,
        }
    }
}

impl Default for ReliabilityParams {
    fn default() -> Self {
        ReliabilityParams {
            failure_rate_per_chip_hour: LLAMA3_UNEXPECTED_INTERRUPTIONS
                / (LLAMA3_HOURS * LLAMA3_GPUS),
            checkpoint_stall_s: 60.0,
            restart_s: 600.0,
        }
    }
}

impl Default for EnergyParams {
    fn default() -> Self {
        EnergyParams {
            board_utilisation: 0.8,
            host_overhead_frac: 0.3,
            default_pue: 1.3,
            default_electricity_usd_per_kwh: 0.08,
        }
    }
}

/// Scale law shared by every family: a prior set from Llama 3 405B's 43% on 8,192 and 41% on
/// 16,384 H100 given a small-scale MFU of 0.55 (see the docs for the derivation). Those two rows
/// are marked `prior = "scale law"` in the corpus: fitted, never scored.
pub const SCALE_ALPHA: f64 = 0.2911;
/// See [`SCALE_ALPHA`].
pub const SCALE_N_C: f64 = 6.5685e5;

fn family(name: &str, base_mfu: f64, nic_gbps: f64, basis: &str) -> FamilyParams {
    FamilyParams {
        nic_gbps,
        family: name.into(),
        base_mfu,
        scale_n_c: SCALE_N_C,
        scale_alpha: SCALE_ALPHA,
        basis: basis.into(),
    }
}

/// The default family table: hopper, ampere, blackwell, ada, ascend, mlu. The corpus's families
/// (hopper, ampere, ascend) and Blackwell share the fitted base; the chip-balance factor makes
/// them differ. Ada and MLU keep their assumed ratio to it (0.45 and 0.40 against 0.55).
pub fn default_families() -> Vec<FamilyParams> {
    let fitted =
        "fitted on the corpus's rate rows, shared by every family the corpus covers (docs §6)";
    vec![
        family("hopper", FIT_BASE, 400.0, fitted),
        family("ampere", FIT_BASE, 200.0, fitted),
        family("ascend", FIT_BASE, 200.0, fitted),
        family(
            "blackwell",
            FIT_BASE,
            400.0,
            "no published large-run MFU; same CUDA software stack as Hopper, so the fitted base",
        ),
        family(
            "ada",
            FIT_BASE * 0.45 / 0.55,
            100.0,
            "no published training MFU; assumption below Hopper (PCIe, GDDR, inference-oriented parts): 0.45/0.55 of the fitted base",
        ),
        family(
            "mlu",
            FIT_BASE * 0.40 / 0.55,
            100.0,
            "no published training MFU for Cambricon parts (training.md): 0.40/0.55 of the fitted base; an input to override with --mfu",
        ),
    ]
}
