//! Calibration against the published runs in `shared/reference/training.md`. One base, fitted
//! on the corpus's rate rows and shared by every family the corpus covers
//! (`params::FIT_BASE`); no test tunes anything. The base describes the best published stacks
//! (MegaScale, Llama 3, Pangu Ultra, DeepSeek), so these checks run with `Stack::Best`, whose
//! multiplier is 1 by definition; the whole corpus and its held-out figures are in `corpus.rs`.
//!
//! The runs here are in the corpus and so in the fit (in-sample): each tolerance says how far
//! the shared fit leaves it. Llama 3's two MFU figures set the scale law (a prior); GPT-3 on
//! 1,024 A100 is not in the corpus.

use xpufleet_model::{Precision, Work};
use xpufleet_perf::{LayoutRequest, PerfModel, Placement, Shape, Stack};

use crate::support::*;

fn mfu(id: &str, n: u64, domain: u32, moe: bool) -> f64 {
    let shape = Shape {
        moe,
        ..Shape::DENSE
    };
    PerfModel::default()
        .with_stack(Stack::Best)
        .mfu_detail(
            &accel(id),
            Precision::Bf16,
            n,
            &Placement::compact(n, domain),
            &shape,
        )
        .unwrap()
        .mfu
}

#[test]
fn megascale_175b_on_12288_ampere() {
    // In the fit, no longer its own: MegaScale (NSDI'24) reports 55.2% MFU; the paper says
    // "Ampere GPUs", taken as A100 SXM (600 GB/s NVLink). With one base for every family the
    // model gives 48.7% (-12%): Ampere's chip balance does not lift it as far as MegaScale
    // went. ±15% states that; the held-out error (+13% in time) is in the corpus table.
    assert_within(
        "MegaScale MFU",
        mfu("a100-sxm-80gb", 12_288, 8, false),
        0.552,
        0.15,
    );
    // Had they been A800s (400 GB/s NVLink, the China variant), the model gives ~2% less: the
    // link term is small at Ampere's compute per byte.
    assert_within(
        "MegaScale MFU (A800)",
        mfu("a800-sxm", 12_288, 8, false),
        0.552,
        0.17,
    );
}

#[test]
fn llama3_405b_on_8k_and_16k_h100() {
    // The scale law's prior (α and n_c solved exactly from these two given a small-scale MFU of
    // 0.55, which the shared base fits to as well): ±2% covers the rounding of α and n_c.
    assert_within(
        "Llama 3 8,192 H100",
        mfu("h100-sxm", 8_192, 8, false),
        0.43,
        0.02,
    );
    assert_within(
        "Llama 3 16,384 H100",
        mfu("h100-sxm", 16_384, 8, false),
        0.41,
        0.02,
    );
}

#[test]
fn llama3_405b_long_context_is_outside_the_model() {
    // Check. The third Llama 3 figure, 38% on 16,384 H100, is the 131k-token context-parallel
    // phase; the model knows nothing of context parallelism and predicts the 41% of the same
    // chip count. ±10% states that gap honestly (it is 8%).
    assert_within(
        "Llama 3 16,384 H100 CP",
        mfu("h100-sxm", 16_384, 8, false),
        0.38,
        0.10,
    );
}

#[test]
fn llama3_405b_end_to_end_h100_hours() {
    // Check, not a fit: 3.8e25 FLOPs over ~30.8M H100-hours "incl. all downtime" (~35% of peak).
    // Uses the 16,384-GPU MFU (most tokens) and the default failure model (λ from Llama 3's own
    // 419 interruptions, δ = 1 min, R = 10 min). ±10%: the run also had an 8k-GPU phase (43%)
    // and a long-context phase (38%) that pull in opposite directions, and the paper's
    // GPU-hours are rounded.
    let e = estimate(
        Stack::Best,
        "h100-sxm",
        16_384,
        Precision::Bf16,
        Work::Flops(3.8e25),
    );
    assert_within("Llama 3 H100-hours", e.chip_hours, 30.8e6, 0.10);
    assert_within("Llama 3 fraction of peak", e.goodput, 0.35, 0.10);
    // Job MTBF ~3.1 h (training.md).
    assert_within("Llama 3 job MTBF", e.mtbf_hours.unwrap(), 3.1, 0.02);
}

#[test]
fn pangu_ultra_135b_on_8192_ascend() {
    // In the fit: ~50% MFU on 8,192 Ascend NPUs (arXiv 2504.07866), taken as 910B in 8-chip
    // HCCS domains. The shared base gives 47.1% (-6%); ±8%: "~50%" is itself rounded.
    assert_within(
        "Pangu Ultra MFU",
        mfu("ascend-910b", 8_192, 8, false),
        0.50,
        0.08,
    );
}

#[test]
fn pangu_ultra_moe_718b_on_6000_ascend() {
    // In the fit of the MoE factor (with DeepSeek V2 and V3): 30.0% on ~6,000 Ascend NPUs
    // (arXiv 2505.04519). The model gives 28.4% (-5%); ±8%: "~6,000" chips and the shared base.
    assert_within(
        "Pangu Ultra MoE MFU",
        mfu("ascend-910b", 6_000, 8, true),
        0.30,
        0.08,
    );
}

#[test]
fn deepseek_v3_h800_gpu_hours() {
    // In the fit (one of eight best-stack rate rows for the base, one of three MoE rows for the
    // MoE factor): 2.664M H800 GPU-hours for 14.8T tokens of a 671B model with 37B active, FP8,
    // on 2,048 H800 (DeepSeek-V3 report); the FP8 and H800 penalties come from the chip-balance
    // term, fitted to nothing. Its held-out error is in the corpus table. ±15%: DeepSeek's FP8 recipe keeps some GEMMs
    // and all attention in BF16, MLA and DualPipe are far from a generic stack, and the
    // attention shape (61 layers, 4K context, d_model 7168) is only approximately MLA's.
    let e = estimate(
        Stack::Best,
        "h800-sxm",
        2_048,
        Precision::Fp8,
        Work::Model {
            params: 671e9,
            active_params: 37e9,
            tokens: 14.8e12,
            attention: Some((61, 4096, 7168)),
        },
    );
    assert_within("DeepSeek-V3 GPU-hours", e.chip_hours, 2.664e6, 0.15);
}

#[test]
fn narayanan_gpt3_time_is_software_bound() {
    // Check, not in the corpus: SC'21 Megatron-LM projects GPT-3 175B (300B tokens) on 1,024
    // A100 at 140 TFLOP/s counting full recompute (105 TFLOP/s of model FLOPs, 34% MFU) to
    // 34 days. The legacy stack (since issue 25's round 7 one ratio with typical, fitted on the
    // rates of the paper's other configurations, OPT, LLaMA 1, BloombergGPT and TinyLlama) lands
    // within ±15% of it when given the projection's full recompute (30.8 days; issue 25: the
    // Megatron rows are fitted with the full recompute their source states); the best stack
    // (MegaScale-era) with its own choice of recompute takes about 0.6 as long (20.8 days),
    // which is why `--stack` matters.
    let work = || Work::Model {
        params: 175e9,
        active_params: 175e9,
        tokens: 300e9,
        attention: Some((96, 2048, 12288)),
    };
    let full = LayoutRequest {
        full_recompute: Some(true),
        ..LayoutRequest::default()
    };
    let legacy = estimate_with(
        PerfModel::default()
            .with_stack(Stack::Legacy)
            .with_layout(full),
        "a100-sxm-80gb",
        1_024,
        Precision::Bf16,
        work(),
    );
    assert_within(
        "GPT-3 days, legacy stack",
        legacy.ideal_hours / 24.0,
        34.0,
        0.15,
    );
    let best = estimate(Stack::Best, "a100-sxm-80gb", 1_024, Precision::Bf16, work());
    let ratio = best.ideal_hours / (34.0 * 24.0);
    assert!(
        (0.45..0.75).contains(&ratio),
        "modelled {:.1} days vs 34 days (ratio {ratio:.2})",
        best.ideal_hours / 24.0
    );
}

#[test]
fn energy_of_the_llama3_snapshot() {
    // training.md: 16,384 H100 for 54 days ~ 15 GWh. At PUE 1.0 the model draws
    // 700 W × (0.8 board utilisation + 0.3 host) = 770 W per GPU: 16.3 GWh. ±15%: the
    // reference figure is a rough one.
    let hours = 54.0 * 24.0;
    let gwh = 16_384.0 * 700.0 * (0.8 + 0.3) * hours / 1e9;
    assert_within("Llama 3 energy", gwh, 15.0, 0.15);
    // And the estimate uses exactly that power.
    let e = estimate(
        Stack::Typical,
        "h100-sxm",
        16_384,
        Precision::Bf16,
        Work::Flops(3.8e25),
    );
    assert_within(
        "facility MW",
        e.facility_mw,
        16_384.0 * 700.0 * 1.1 / 1e6,
        1e-9,
    );
}
