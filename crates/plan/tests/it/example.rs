//! The built-in example scenario (examples/capex-2025.toml).

use xpufleet_perf::PerfModel;
use xpufleet_plan::{plan, verify, ExclusionKind, PlanOptions};

#[test]
fn the_example_plan_respects_every_constraint_and_says_what_binds() {
    let s = xpufleet_io::load_scenario(None, None).unwrap();
    let p = plan(
        &s.scenario,
        &s.catalog,
        &xpufleet_comply::AllowAll,
        &PerfModel::default(),
        &PlanOptions::default(),
    )
    .unwrap();
    assert_eq!(verify(&p, &s.scenario, &s.catalog), Vec::<String>::new());
    assert!(!p.lines.is_empty());
    assert!(p.constraints.iter().any(|c| c.binding));
    // MLU590 has no TFLOPS and the 910C no board power: both are left out, with the figure named.
    for (id, field) in [("cn-mlu590-buy", "tflops_bf16"), ("cn-910c-buy", "power_w")] {
        let e = p.excluded.iter().find(|e| e.candidate == id).unwrap();
        assert!(e
            .reasons
            .iter()
            .any(|r| r.kind == ExclusionKind::UnknownFigure));
        assert!(e.reason.contains(field), "{}", e.reason);
    }
    // At least 60% of cn-chips spend goes to CN vendors.
    let mix = &p.supplier_mix[0];
    assert!(mix.share.unwrap() >= 0.6 - 1e-9);
}
