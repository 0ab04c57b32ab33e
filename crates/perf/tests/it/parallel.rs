//! Memory fit and parallel layouts: the bytes by hand, refusal of what cannot fit, the fewest
//! chips, and that a worse layout is never faster than the automatic one.

use proptest::prelude::*;
use xpufleet_model::{FxRates, Money, Precision, Work};
use xpufleet_perf::{
    EstimateInput, Layout, LayoutRequest, PerfModel, Placement, Shape, SiteEnergy,
};

use crate::support::*;

fn model_work(params: f64, n_layers: u32, seq_len: u32, d_model: u32) -> Work {
    Work::Model {
        params,
        active_params: params,
        tokens: 1e12,
        attention: Some((n_layers, seq_len, d_model)),
    }
}

fn input<'a>(
    a: &'a xpufleet_model::Accelerator,
    fx: &'a FxRates,
    work: Work,
    n: u64,
) -> EstimateInput<'a> {
    EstimateInput {
        work,
        precision: Precision::Bf16,
        accel: a,
        count: n,
        placement: Placement::compact(n, 8),
        site: SiteEnergy {
            pue: 1.2,
            electricity_per_kwh: Money::new(0.08, "USD"),
        },
        cost: None,
        fx,
        mfu_override: None,
    }
}

#[test]
fn memory_by_hand() {
    // LLaMA 7B shape on H100, tp 1, pp 1, dp 64, ZeRO-1: 2 + 2 bytes per parameter whole,
    // 12 sharded over 64, and 34·s·h·L bytes of activations.
    let m = PerfModel::default();
    let h100 = accel("h100-sxm");
    let shape = Shape::of(&model_work(6.7e9, 32, 2048, 4096)).unwrap();
    let l = Layout {
        tp: 1,
        pp: 1,
        dp: 64,
        zero: 1,
        full_recompute: false,
    };
    let u = m.memory_use(&h100, &shape, &l).unwrap().unwrap();
    assert!((u.weights_gb - 13.4).abs() < 1e-9);
    assert!((u.gradients_gb - 13.4).abs() < 1e-9);
    assert!((u.optimizer_gb - 12.0 * 6.7 / 64.0).abs() < 1e-9);
    assert!((u.activations_gb - 34.0 * 2048.0 * 4096.0 * 32.0 / 1e9).abs() < 1e-9);
    assert_eq!(u.usable_gb, Some(72.0));
    // ZeRO-3 shards everything; tp 2 halves every term.
    let z3 = m
        .memory_use(&h100, &shape, &Layout { zero: 3, ..l })
        .unwrap()
        .unwrap();
    assert!((z3.weights_gb - 13.4 / 64.0).abs() < 1e-9);
    let tp2 = m
        .memory_use(&h100, &shape, &Layout { tp: 2, dp: 32, ..l })
        .unwrap()
        .unwrap();
    assert!((tp2.activations_gb - u.activations_gb / 2.0).abs() < 1e-9);
    // Work given as FLOPs has no shape: nothing to check.
    assert!(m
        .memory_use(&h100, &Shape::of(&Work::Flops(1e21)).unwrap(), &l)
        .unwrap()
        .is_none());
}

#[test]
fn a_layout_that_cannot_fit_is_refused_with_the_shortfall() {
    // 70B on 8 H100 with ZeRO-0: 16 bytes × 70e9 / 8 = 140 GB per chip of 72.
    let m = PerfModel::default().with_layout(LayoutRequest {
        tp: Some(8),
        pp: Some(1),
        zero: Some(0),
        ..LayoutRequest::default()
    });
    let a = accel("h100-sxm");
    let fx = FxRates::default();
    let e = m
        .estimate(&input(&a, &fx, model_work(70e9, 80, 4096, 8192), 8))
        .unwrap_err()
        .to_string();
    assert!(e.contains("does not fit in memory"), "{e}");
    assert!(e.contains("GB short") && e.contains("at least"), "{e}");
    // Chosen freely the same job fits on enough chips, and the estimate says how few.
    let m = PerfModel::default();
    let est = m
        .estimate(&input(&a, &fx, model_work(70e9, 80, 4096, 8192), 1024))
        .unwrap();
    let min = est.min_chips.unwrap();
    assert!(min > 8 && min <= 1024, "{min}");
    assert!(est.layout.unwrap().memory.fits());
    let e = m
        .estimate(&input(&a, &fx, model_work(70e9, 80, 4096, 8192), min - 8))
        .unwrap_err()
        .to_string();
    assert!(e.contains(&format!("at least {min}")), "{e}");
    assert!(m
        .estimate(&input(&a, &fx, model_work(70e9, 80, 4096, 8192), min))
        .is_ok());
}

#[test]
fn requested_pipeline_depth_costs_its_bubble() {
    let a = accel("h100-sxm");
    let w = model_work(70e9, 80, 4096, 8192);
    let p = Placement::compact(1024, 8);
    let auto = PerfModel::default();
    let r_auto = auto.rate(&w, &a, Precision::Bf16, 1024, &p).unwrap();
    let deep = PerfModel::default().with_layout(LayoutRequest {
        tp: Some(8),
        pp: Some(16),
        zero: None,
        ..LayoutRequest::default()
    });
    let r_deep = deep.rate(&w, &a, Precision::Bf16, 1024, &p).unwrap();
    assert!(r_deep < r_auto, "{r_deep} vs {r_auto}");
}

#[test]
fn issue_25_full_recompute_on_request_costs_a_quarter() {
    // 70B on 1,024 H100 fits with selective recompute; asking for full recompute pays 8/6 the
    // compute.
    let a = accel("h100-sxm");
    let w = model_work(70e9, 80, 4096, 8192);
    let p = Placement::compact(1024, 8);
    let with = |full: Option<bool>| {
        let m = PerfModel::default().with_layout(LayoutRequest {
            full_recompute: full,
            ..LayoutRequest::default()
        });
        let d = m
            .mfu_detail(
                &a,
                Precision::Bf16,
                1024,
                &p,
                &xpufleet_perf::Shape::of(&w).unwrap(),
            )
            .unwrap();
        (d.mfu, d.layout.unwrap().layout)
    };
    let (auto, la) = with(None);
    let (sel, ls) = with(Some(false));
    let (full, lf) = with(Some(true));
    assert!(!la.full_recompute && la == ls && sel == auto);
    assert!(lf.full_recompute, "{lf:?}");
    // Full recompute needs less activation memory, so it may fit a shallower pipeline; with the
    // same tp and pp the cost is exactly the quarter.
    assert!(full < auto, "{full} vs {auto}");
    if (lf.tp, lf.pp) == (la.tp, la.pp) {
        assert!((full / auto - 0.75).abs() < 1e-9, "{full} vs {auto}");
    }
}

#[test]
fn slow_nics_cost_throughput() {
    // A 7B model on many chips, data parallel across nodes: gradient all-reduce over 10 Gb/s NICs
    // cannot hide behind the backward pass.
    let a = accel("a100-sxm-80gb");
    let w = model_work(6.7e9, 32, 2048, 4096);
    let p = Placement::compact(2048, 8);
    let fast = PerfModel::default();
    let mut slow = PerfModel::default();
    for f in &mut slow.families {
        f.nic_gbps = 10.0;
    }
    let rf = fast.rate(&w, &a, Precision::Bf16, 2048, &p).unwrap();
    let rs = slow.rate(&w, &a, Precision::Bf16, 2048, &p).unwrap();
    // The chooser escapes to a deep pipeline (tp 8 × pp 8: 8× less gradient per chip), whose
    // bubble (0.90 against the memory-driven tp 1 × pp 1) is what the slow network costs.
    assert!(rs < 0.95 * rf, "{rs} vs {rf}");
}

/// The layout `m` gives `70B` on 1,024 H100 with the rest of `req`.
fn plan_with(req: LayoutRequest) -> xpufleet_perf::ParallelPlan {
    let a = accel("h100-sxm");
    let w = model_work(70e9, 80, 4096, 8192);
    PerfModel::default()
        .with_layout(req)
        .mfu_detail(
            &a,
            Precision::Bf16,
            1024,
            &Placement::compact(1024, 8),
            &Shape::of(&w).unwrap(),
        )
        .unwrap()
        .layout
        .unwrap()
}

#[test]
fn issue_25_micro_batches_set_the_bubble_exactly() {
    // tp 8 × pp 8 × dp 16: with m micro-batches the 1F1B pipeline is busy m / (m + 7).
    let fixed = LayoutRequest {
        tp: Some(8),
        pp: Some(8),
        ..LayoutRequest::default()
    };
    let few = plan_with(LayoutRequest {
        micro_batches: Some(8),
        ..fixed
    });
    let many = plan_with(LayoutRequest {
        micro_batches: Some(64),
        ..fixed
    });
    assert_eq!(few.micro_batches, 8);
    assert!((few.bubble - 8.0 / 15.0).abs() < 1e-12, "{}", few.bubble);
    assert!((many.bubble - 64.0 / 71.0).abs() < 1e-12, "{}", many.bubble);
    // The batch follows: m · b · dp · seq tokens.
    assert_eq!(few.batch_tokens, 8.0 * 16.0 * 4096.0);
    // Fewer micro-batches: more bubble, lower factor on the MFU.
    assert!(
        few.factor < many.factor,
        "{} vs {}",
        few.factor,
        many.factor
    );
}

#[test]
fn issue_25_global_batch_and_micro_batch_size() {
    // A 16M-token global batch on dp 16 at seq 4,096 with 2 sequences per micro-batch:
    // 16M / (4,096 · 2 · 16) = 128 micro-batches per pipeline.
    let fixed = LayoutRequest {
        tp: Some(8),
        pp: Some(8),
        global_batch_tokens: Some(16 * 1024 * 1024),
        micro_batch_size: Some(2),
        ..LayoutRequest::default()
    };
    let p = plan_with(fixed);
    assert_eq!(p.micro_batches, 128);
    assert_eq!(p.micro_batch_size, 2);
    assert_eq!(p.batch_tokens, 16.0 * 1024.0 * 1024.0);
    // Two sequences per micro-batch hold twice the activations of one.
    let one = plan_with(LayoutRequest {
        micro_batch_size: Some(1),
        ..fixed
    });
    let ratio = p.memory.activations_gb / one.memory.activations_gb;
    assert!((ratio - 2.0).abs() < 1e-12, "{ratio}");
    // A batch that does not fill one micro-batch per pipeline is rounded up, and says so.
    let tiny = plan_with(LayoutRequest {
        global_batch_tokens: Some(1),
        ..fixed
    });
    assert_eq!(tiny.micro_batches, 1);
    assert_eq!(tiny.batch_tokens, 2.0 * 16.0 * 4096.0);
}

#[test]
fn issue_25_zero_values_are_refused() {
    let a = accel("h100-sxm");
    let w = model_work(70e9, 80, 4096, 8192);
    for (req, what) in [
        (
            LayoutRequest {
                micro_batches: Some(0),
                ..LayoutRequest::default()
            },
            "micro-batch count",
        ),
        (
            LayoutRequest {
                micro_batch_size: Some(0),
                ..LayoutRequest::default()
            },
            "micro-batch size",
        ),
        (
            LayoutRequest {
                global_batch_tokens: Some(0),
                ..LayoutRequest::default()
            },
            "global batch",
        ),
    ] {
        let e = PerfModel::default()
            .with_layout(req)
            .rate(&w, &a, Precision::Bf16, 1024, &Placement::compact(1024, 8))
            .unwrap_err()
            .to_string();
        assert!(e.contains(what), "{e}");
    }
}

#[test]
fn issue_25_zero3_gathers_cost_on_a_slow_network() {
    // BloombergGPT-like: 50B dense on 512 A100 (50 Gb/s per GPU), data parallel only. ZeRO-3
    // moves three passes of the weights per step through the NICs where ZeRO-1 moves two; on a
    // slow enough network that is exposed, and ZeRO-3 is never the faster of the two.
    let a = accel("a100-sxm-80gb");
    let w = model_work(50e9, 70, 2048, 7680);
    let p = Placement::compact(512, 8);
    let with = |zero: u8, nic: f64| {
        let mut m = PerfModel::default().with_layout(LayoutRequest {
            tp: Some(1),
            pp: Some(1),
            zero: Some(zero),
            full_recompute: Some(true),
            global_batch_tokens: Some(4 * 1024 * 1024),
            ..LayoutRequest::default()
        });
        for f in &mut m.families {
            f.nic_gbps = nic;
        }
        m.mfu_detail(&a, Precision::Bf16, 512, &p, &Shape::of(&w).unwrap())
            .unwrap()
            .layout
            .unwrap()
    };
    for nic in [10.0, 25.0, 50.0, 200.0] {
        let (z1, z3) = (with(1, nic), with(3, nic));
        assert!(
            z3.nic <= z1.nic + 1e-12,
            "{nic} Gb/s: {} vs {}",
            z3.nic,
            z1.nic
        );
    }
    assert!(with(3, 10.0).nic < 0.9, "{}", with(3, 10.0).nic);
    assert!(with(3, 10.0).nic < with(1, 10.0).nic);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn min_chips_is_the_least_that_fits(log_params in 8.5f64..11.7, part in 0..3usize) {
        let id = ["h100-sxm", "a100-sxm-80gb", "h20"][part];
        let a = accel(id);
        let m = PerfModel::default();
        let params = 10f64.powf(log_params);
        let w = Work::Model { params, active_params: params, tokens: 1e12, attention: None };
        let shape = Shape::of(&w).unwrap();
        let min = m.min_chips(&a, 8, &shape).unwrap().unwrap();
        let fx = FxRates::default();
        prop_assert!(m.estimate(&input(&a, &fx, w.clone(), min)).is_ok(), "{id} {params:e} on {min}");
        if min > 8 {
            let e = m.estimate(&input(&a, &fx, w, min - 8));
            prop_assert!(e.is_err(), "{id} {params:e}: {} also fits", min - 8);
        }
    }
}
