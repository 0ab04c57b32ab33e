//! Issue 25 item 4, the layout's traffic inside each layer charged when the user gives it: the
//! tensor-parallel collectives over the scale-up links (`--tp`) and the expert all-to-all of a
//! mixture-of-experts model (`--ep`, `--top-k`), by hand, as ratios through the model, their
//! refusals, and as properties (never negative, never above 1, monotone).

use proptest::prelude::*;
use xpufleet_model::{Precision, Work};
use xpufleet_perf::{
    LayerTraffic, LayoutRequest, MfuBreakdown, PerfError, PerfModel, Placement, Shape,
};

use crate::support::*;

/// A 70B dense layer on one H100 busy at 40% of its 989.5 TFLOPS BF16.
fn dense_70b() -> LayerTraffic {
    LayerTraffic {
        // The layer's share of 6N (6 · 70e9 / 80 = 5.25e9) and its causal attention
        // (6 · s · h = 6 · 4096 · 8192 = 201,326,592).
        flops: 5.25e9 + 201_326_592.0,
        busy_flops_per_s: 0.4 * 989.5e12,
        d_model: 8192.0,
        // NVLink 4: 900 GB/s both ways, 450 GB/s one way.
        link_bytes_per_s: 450e9,
        // 400 Gb/s NIC: 50 GB/s.
        nic_bytes_per_s: 50e9,
        full_recompute: false,
    }
}

#[test]
fn tensor_parallel_by_hand() {
    let t = dense_70b();
    // tp 8: one chip computes 5,451,326,592 / 8 = 681,415,824 FLOPs per token and layer at
    // 395.8 TFLOP/s: 1.7216 µs. Eight collectives (an all-gather and a reduce-scatter at the
    // attention and at the MLP, forward and backward) each move 7/8 of 8192 BF16 values, 14,336
    // bytes, through the chip's links: 114,688 bytes at 450 GB/s, 0.25486 µs, none hidden.
    let compute_s = 681_415_824.0 / 395.8e12;
    let comm_s = 114_688.0 / 450e9;
    let want = compute_s / (compute_s + comm_s);
    assert!((t.tensor_parallel(8, 0.0) - want).abs() < 1e-12, "{want}");
    assert!((want - 0.8711).abs() < 1e-3, "{want}");
    // Full recompute: 4/3 the FLOPs and the forward's four collectives again (twelve).
    let full = LayerTraffic {
        full_recompute: true,
        ..t
    };
    let (c, x) = (compute_s * 4.0 / 3.0, comm_s * 12.0 / 8.0);
    assert!((full.tensor_parallel(8, 0.0) - c / (c + x)).abs() < 1e-12);
    // Half hidden under compute, half the cost exposed; tp 1 moves nothing.
    assert!((t.tensor_parallel(8, 0.5) - compute_s / (compute_s + comm_s / 2.0)).abs() < 1e-12);
    assert_eq!(t.tensor_parallel(1, 0.0), 1.0);
}

#[test]
fn expert_all_to_all_by_hand() {
    // A 37B-active MoE layer (61 layers, 4096 tokens of 7168): DeepSeek-V3's shape.
    let t = LayerTraffic {
        flops: 6.0 * 37e9 / 61.0 + 6.0 * 4096.0 * 7168.0,
        d_model: 7168.0,
        ..dense_70b()
    };
    // ep 16 over domains of 8, top-8, tp 1: a token's 8 experts sit on other chips 15/16 of the
    // time; dispatch and combine forward and backward move 4 · 8 · 7168 · 2 · 15/16 = 430,080
    // bytes per token; of the 15 peers 7 share the domain (links), 8 do not (NIC).
    let bytes = 4.0 * 8.0 * 7168.0 * 2.0 * 15.0 / 16.0;
    assert_eq!(bytes, 430_080.0);
    let comm_s = bytes * (7.0 / 15.0 / 450e9 + 8.0 / 15.0 / 50e9);
    let compute_s = t.flops / 395.8e12;
    let want = compute_s / (compute_s + 0.5 * comm_s);
    assert!(
        (t.expert_all_to_all(1, 16, 8, 8, 0.5) - want).abs() < 1e-12,
        "{want}"
    );
    // Inside one domain (ep 8): 7/8 of the bytes, all over the links.
    let inside = 4.0 * 8.0 * 7168.0 * 2.0 * 7.0 / 8.0 / 450e9;
    let want8 = compute_s / (compute_s + 0.5 * inside);
    assert!((t.expert_all_to_all(1, 8, 8, 8, 0.5) - want8).abs() < 1e-12);
    // tp 2 halves both a chip's compute and its share of the token's traffic: the same ratio.
    let tp2 = t.expert_all_to_all(2, 16, 8, 8, 0.5);
    assert!((tp2 - want).abs() < 1e-12);
    // ep 1: every expert on every chip, nothing moves.
    assert_eq!(t.expert_all_to_all(1, 1, 8, 8, 0.5), 1.0);
}

fn moe_shape() -> Shape {
    Shape::of(&Work::Model {
        params: 671e9,
        active_params: 37e9,
        tokens: 1e12,
        attention: Some((61, 4096, 7168)),
    })
    .unwrap()
}

fn dense_shape() -> Shape {
    Shape::of(&Work::Model {
        params: 70e9,
        active_params: 70e9,
        tokens: 1e12,
        attention: Some((80, 4096, 8192)),
    })
    .unwrap()
}

fn detail(id: &str, shape: &Shape, n: u64, req: LayoutRequest) -> Result<MfuBreakdown, PerfError> {
    PerfModel::default().with_layout(req).mfu_detail(
        &accel(id),
        Precision::Bf16,
        n,
        &Placement::compact(n, 8),
        shape,
    )
}

/// What the model computes per token and layer for `shape` on `id`, from the breakdown's own
/// MFU before the layout (the busy rate the terms are measured against).
fn traffic_of(id: &str, d: &MfuBreakdown, flops: f64, h: f64, full: bool) -> LayerTraffic {
    let a = accel(id);
    let peak = a.tflops_bf16.get().unwrap() * 1e12;
    LayerTraffic {
        flops,
        busy_flops_per_s: peak * d.base * d.stack * d.node * d.scale * d.size * d.moe,
        d_model: h,
        link_bytes_per_s: a.interconnect_gbps.get().unwrap() * 1e9 / 2.0,
        nic_bytes_per_s: 400e9 / 8.0,
        full_recompute: full,
    }
}

#[test]
fn tp_given_is_charged_against_the_reference() {
    // The reference's term cancels in a ratio of two given layouts: tp 8 over tp 4 on 1,024 A100
    // (300 GB/s one way) is the by-hand ratio of the two layers' terms.
    let s = dense_shape();
    let req = |tp| LayoutRequest {
        tp: Some(tp),
        pp: Some(4),
        full_recompute: Some(false),
        ..LayoutRequest::default()
    };
    let (d8, d4) = (
        detail("a100-sxm-80gb", &s, 1024, req(8)).unwrap(),
        detail("a100-sxm-80gb", &s, 1024, req(4)).unwrap(),
    );
    let (p8, p4) = (d8.layout.unwrap(), d4.layout.unwrap());
    let t = traffic_of(
        "a100-sxm-80gb",
        &d8,
        6.0 * 70e9 / 80.0 + 6.0 * 4096.0 * 8192.0,
        8192.0,
        false,
    );
    let want = t.tensor_parallel(8, 0.0) / t.tensor_parallel(4, 0.0);
    assert!(
        (p8.scaleup / p4.scaleup - want).abs() < 1e-9,
        "{} vs {want}",
        p8.scaleup / p4.scaleup
    );
    assert!(p8.scaleup < p4.scaleup);
    // With --tp given the node factor no longer credits the links (A100's 600 GB/s carry more
    // per FLOP than H100's balance: 520 FLOP per byte against 1,099): the layout's term does,
    // above 1 at tp 4, against the reference on H100-balanced links.
    let auto = detail("a100-sxm-80gb", &s, 1024, LayoutRequest::default()).unwrap();
    assert!(d8.node < auto.node, "{} vs {}", d8.node, auto.node);
    assert!(p4.scaleup > 1.0, "{}", p4.scaleup);
    // Without --tp nothing is charged by the term; the corpus's way (fitted_links) neither.
    assert_eq!(auto.layout.unwrap().scaleup, 1.0);
    let fitted = detail(
        "a100-sxm-80gb",
        &s,
        1024,
        LayoutRequest {
            fitted_links: true,
            ..req(8)
        },
    )
    .unwrap();
    assert_eq!(fitted.layout.unwrap().scaleup, 1.0);
    assert_eq!(fitted.node, auto.node);
}

#[test]
fn ep_given_is_charged_only_for_moe_and_refused_beyond_the_chips() {
    let s = moe_shape();
    let req = |ep| LayoutRequest {
        tp: Some(8),
        pp: Some(16),
        full_recompute: Some(false),
        ep,
        fitted_links: true,
        ..LayoutRequest::default()
    };
    let none = detail("h100-sxm", &s, 2048, req(None)).unwrap();
    let p = none.layout.unwrap();
    assert_eq!((p.expert, p.ep, p.top_k), (1.0, 1, 0));
    // The fitted MoE factor stays whatever the layout says.
    assert_eq!(none.moe, xpufleet_perf::params::FIT_MOE);
    let d8 = detail("h100-sxm", &s, 2048, req(Some(8))).unwrap();
    let d64 = detail("h100-sxm", &s, 2048, req(Some(64))).unwrap();
    let d1 = detail("h100-sxm", &s, 2048, req(Some(1))).unwrap();
    assert_eq!(d8.moe, none.moe);
    let (p8, p64, p1) = (d8.layout.unwrap(), d64.layout.unwrap(), d1.layout.unwrap());
    assert_eq!((p64.ep, p64.top_k), (64, 8));
    // ep 64 over 8-chip domains over ep 8 inside one: the by-hand ratio of the two terms.
    let t = traffic_of(
        "h100-sxm",
        &d8,
        6.0 * 37e9 / 61.0 + 6.0 * 4096.0 * 7168.0,
        7168.0,
        false,
    );
    let want = t.expert_all_to_all(8, 64, 8, 8, 0.5) / t.expert_all_to_all(8, 8, 8, 8, 0.5);
    assert!(
        (p64.expert / p8.expert - want).abs() < 1e-9,
        "{} vs {want}",
        p64.expert / p8.expert
    );
    assert!(d64.mfu < d8.mfu && d8.mfu <= d1.mfu);
    // ep 1 moves nothing: never charged more than the fitted factor alone.
    assert!(p1.expert >= 1.0 && d1.mfu >= none.mfu);
    // Refused, located by flag: ep beyond the chips, ep on a dense model, top-k without ep.
    let e = detail("h100-sxm", &s, 2048, req(Some(4096)))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("--ep") && e.contains("4096") && e.contains("2048"),
        "{e}"
    );
    let e = detail(
        "h100-sxm",
        &dense_shape(),
        1024,
        LayoutRequest {
            ep: Some(8),
            ..LayoutRequest::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("--ep") && e.contains("dense"), "{e}");
    let e = detail(
        "h100-sxm",
        &s,
        2048,
        LayoutRequest {
            top_k: Some(2),
            ..LayoutRequest::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("--top-k") && e.contains("--ep"), "{e}");
    // --top-k is what is charged: fewer experts per token move fewer bytes.
    let k2 = detail(
        "h100-sxm",
        &s,
        2048,
        LayoutRequest {
            top_k: Some(2),
            ..req(Some(64))
        },
    )
    .unwrap();
    assert!(k2.layout.unwrap().expert > p64.expert);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn terms_are_in_0_1_and_monotone(
        log_flops in 7.0f64..11.0,
        busy_tf in 50.0f64..2000.0,
        h in 512.0f64..16384.0,
        link_gb in 25.0f64..1000.0,
        nic_gb in 5.0f64..100.0,
        full in any::<bool>(),
        tp_log in 0u32..4,
        ep in 1u32..256,
        extra in 1u32..256,
        k in 1u32..16,
        domain_log in 0u32..7,
        overlap in 0.0f64..1.0,
    ) {
        let t = LayerTraffic {
            flops: 10f64.powf(log_flops),
            busy_flops_per_s: busy_tf * 1e12,
            d_model: h,
            link_bytes_per_s: link_gb * 1e9,
            nic_bytes_per_s: nic_gb * 1e9,
            full_recompute: full,
        };
        let tp = 1u32 << tp_log;
        let domain = 1u32 << domain_log;
        let kept = t.tensor_parallel(tp, overlap);
        prop_assert!(kept > 0.0 && kept <= 1.0, "{kept}");
        // More tensor parallelism moves more per unit of compute.
        prop_assert!(t.tensor_parallel(tp * 2, overlap) <= kept);
        // Faster links never cost more.
        let fast = LayerTraffic { link_bytes_per_s: 2.0 * t.link_bytes_per_s, ..t };
        prop_assert!(fast.tensor_parallel(tp, overlap) >= kept);
        let e = t.expert_all_to_all(tp, ep, k, domain, overlap);
        prop_assert!(e > 0.0 && e <= 1.0, "{e}");
        prop_assert_eq!(t.expert_all_to_all(tp, 1, k, domain, overlap), 1.0);
        // Beyond the domain, more expert parallelism sends more over the NIC.
        if ep >= domain && nic_gb * 1e9 <= link_gb * 1e9 {
            prop_assert!(t.expert_all_to_all(tp, ep + extra, k, domain, overlap) <= e * (1.0 + 1e-12));
        }
        // More experts per token move more.
        prop_assert!(t.expert_all_to_all(tp, ep, k + 1, domain, overlap) <= e);
    }
}

/// Embeddings outside 6N (`--vocab`): Llama 2 70B's shape (32,000 tokens of 8,192, untied)
/// by hand; the MFU and rate are unchanged, so the time moves with the FLOPs.
#[test]
fn embeddings_outside_6n_by_hand() {
    let w = Work::Model {
        params: 70e9,
        active_params: 70e9,
        tokens: 2e12,
        attention: Some((80, 4096, 8192)),
    };
    let plain = estimate_with(
        PerfModel::default(),
        "h100-sxm",
        1024,
        Precision::Bf16,
        w.clone(),
    );
    let m = PerfModel::default().with_vocab(Some(32_000));
    let e = estimate_with(m, "h100-sxm", 1024, Precision::Bf16, w);
    // Two tables of 32,000 × 8,192 = 262,144,000 parameters: 6N on 70e9 − 524,288,000 =
    // 69,475,712,000; the head's matmul 6 · 262,144,000 per token.
    assert_eq!(e.flops_dense, 6.0 * 69_475_712_000.0 * 2e12);
    assert_eq!(e.flops_embedding, 6.0 * 262_144_000.0 * 2e12);
    assert_eq!(e.flops_attention, plain.flops_attention);
    assert_eq!(
        e.flops,
        e.flops_dense + e.flops_attention + e.flops_embedding
    );
    assert_eq!(plain.flops_embedding, 0.0);
    // Untied: 6 · 262M fewer FLOPs per token than plain 6N (the input table is a lookup).
    assert!((plain.flops - e.flops - 6.0 * 262_144_000.0 * 2e12).abs() < 1e12);
    assert_eq!(e.mfu, plain.mfu);
    assert!((e.wall_hours / plain.wall_hours - e.flops / plain.flops).abs() < 1e-9);
    // Tables as large as the model, or no parameters at all, are refused naming the flag.
    let m = PerfModel::default().with_vocab(Some(5_000_000));
    let fx = xpufleet_model::FxRates::default();
    let a = accel("h100-sxm");
    let mut input = xpufleet_perf::EstimateInput {
        work: Work::Model {
            params: 70e9,
            active_params: 70e9,
            tokens: 2e12,
            attention: Some((80, 4096, 8192)),
        },
        precision: Precision::Bf16,
        accel: &a,
        count: 1024,
        placement: Placement::compact(1024, 8),
        site: xpufleet_perf::SiteEnergy {
            pue: 1.0,
            electricity_per_kwh: xpufleet_model::Money::new(0.08, "USD"),
        },
        cost: None,
        fx: &fx,
        mfu_override: None,
    };
    let err = m.estimate(&input).unwrap_err().to_string();
    assert!(err.contains("--vocab") && err.contains("5000000"), "{err}");
    input.work = Work::Flops(1e24);
    let err = m.estimate(&input).unwrap_err().to_string();
    assert!(err.contains("--vocab") && err.contains("--flops"), "{err}");
}
