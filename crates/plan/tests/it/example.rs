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

#[test]
fn issue_22_the_example_covers_its_services() {
    let s = xpufleet_io::load_scenario(None, None).unwrap();
    let opts = PlanOptions {
        sensitivity: false,
        serving_profiles: xpufleet_io::serving::builtin_serving_profiles().profiles,
        ..PlanOptions::default()
    };
    let p = plan(
        &s.scenario,
        &s.catalog,
        &xpufleet_comply::AllowAll,
        &PerfModel::default(),
        &opts,
    )
    .unwrap();
    assert_eq!(p.services.len(), 2);
    for svc in &p.services {
        eprintln!("{svc:#?}");
        assert!(svc.shortfall.is_none(), "{svc:#?}");
        assert!((svc.covered_output_tokens_per_day - svc.output_tokens_per_day).abs() < 1.0);
        // Residency: every accelerator serving it sits in a country its data may go to.
        let want = &s.scenario.service(&svc.id).unwrap().data_countries;
        for b in &svc.by_accelerator {
            let site = match (&b.pool, &b.candidate) {
                (Some(pl), _) => &s.scenario.pool(pl).unwrap().site,
                (_, Some(c)) => {
                    &s.scenario
                        .candidates
                        .iter()
                        .find(|x| &x.id == c)
                        .unwrap()
                        .site
                }
                _ => panic!("{b:?} names neither a pool nor a candidate"),
            };
            assert!(
                want.contains(&s.scenario.site(site).unwrap().country),
                "{b:?}"
            );
        }
    }
    assert_eq!(verify(&p, &s.scenario, &s.catalog), Vec::<String>::new());
}

/// The example keeps its CN pools for training (`use = "training"`) and sizes the assistant at
/// DeepSeek's published day: the plan buys new parts to serve it, says so on each line, and
/// serves the Malaysian search from the pool there.
#[test]
fn issue_22_the_example_buys_to_serve_what_its_pools_may_not() {
    let s = xpufleet_io::load_scenario(None, None).unwrap();
    let p = plan(
        &s.scenario,
        &s.catalog,
        &xpufleet_comply::AllowAll,
        &PerfModel::default(),
        &PlanOptions {
            sensitivity: false,
            ..PlanOptions::default()
        },
    )
    .unwrap();
    let training_pools: Vec<&str> = s
        .scenario
        .pools
        .iter()
        .filter(|pl| pl.purpose == Some(xpufleet_model::Purpose::Training))
        .map(|pl| pl.id.as_str())
        .collect();
    assert_eq!(training_pools, ["cn-a800", "cn-h20", "cn-910b"]);
    let assistant = p.services.iter().find(|v| v.id == "assistant-cn").unwrap();
    assert!(assistant.shortfall.is_none(), "{assistant:#?}");
    assert!(assistant
        .by_accelerator
        .iter()
        .all(|b| b.candidate.is_some()));
    let search = p.services.iter().find(|v| v.id == "search-my").unwrap();
    assert!(search
        .by_accelerator
        .iter()
        .all(|b| b.pool.as_deref() == Some("my-h100")));
    // Every accelerator bought to serve is on a line that says it serves the assistant (a
    // share rounded up to whole accelerators, within the line's serving nodes rounded up).
    for l in p.lines.iter().filter(|l| l.serving_nodes > 0) {
        assert_eq!(l.services, ["assistant-cn"], "{l:#?}");
        assert_ne!(l.line_use, xpufleet_plan::LineUse::Training);
    }
    for b in &assistant.by_accelerator {
        let l = p
            .lines
            .iter()
            .find(|l| Some(&l.candidate) == b.candidate.as_ref())
            .unwrap_or_else(|| panic!("{b:#?} on no line"));
        assert!(
            b.accelerators <= l.units / l.nodes * l.serving_nodes,
            "{b:#?} {l:#?}"
        );
    }
    let bought: u64 = assistant
        .by_accelerator
        .iter()
        .map(|b| b.accelerators)
        .sum();
    assert!(bought > 0);
}
