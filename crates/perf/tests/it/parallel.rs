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
