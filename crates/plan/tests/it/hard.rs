//! The hard generated programs (`synth::hard`) and the sensitivity shortcuts: a hard plan
//! satisfies every row and proves its gap by a bound, the gate's exclusions are never bought,
//! and every sensitivity figure (re-solved, or skipped by the LP-bound proof) agrees with an
//! exact solve of the relaxed scenario.

use proptest::prelude::*;
use xpufleet_comply::Gate;
use xpufleet_model::MixBasis;
use xpufleet_plan::{plan, synth, verify, ExclusionKind, FixedMfu, PlanOptions, SolveStatus};

#[test]
fn a_hard_program_has_what_the_generator_promises_and_plans_within_its_proven_gap() {
    let (s, catalog) = synth::hard(130, 7);
    let gate = synth::HardGate::new(&s, &catalog);
    // Many sites and currencies, mixes in spend and in units, vendor and part caps.
    assert!(s.sites.len() >= 12);
    let currencies: std::collections::BTreeSet<_> = s
        .envelopes
        .iter()
        .map(|e| e.budget.currency.clone())
        .collect();
    assert_eq!(currencies.len(), 7, "{currencies:?}");
    assert!(s.supplier_mix.iter().any(|m| m.basis == MixBasis::Spend));
    assert!(s.supplier_mix.iter().any(|m| m.basis == MixBasis::Units));
    assert!(s.supply_caps.iter().any(|c| c.vendor.is_some()));
    assert!(s.supply_caps.iter().any(|c| c.accelerator.is_some()));
    assert!(!gate.prohibited.is_empty());
    let opts = PlanOptions {
        sensitivity: false,
        time_limit_s: Some(1.0),
        ..PlanOptions::default()
    };
    let p = plan(&s, &catalog, &gate, &FixedMfu(0.4), &opts).unwrap();
    assert_eq!(verify(&p, &s, &catalog), Vec::<String>::new());
    // The gate's exclusions are named as verdicts and never bought.
    let by_gate: Vec<_> = p
        .excluded
        .iter()
        .filter(|e| e.reasons.iter().any(|r| r.kind == ExclusionKind::Verdict))
        .collect();
    assert_eq!(by_gate.len(), gate.prohibited.len());
    for l in &p.lines {
        assert!(
            !gate.prohibited.contains(&l.candidate),
            "{} bought",
            l.candidate
        );
    }
    // Power binds at several sites, and budgets, a mix and supply caps bind too.
    let binding = |prefix: &str| {
        p.constraints
            .iter()
            .filter(|c| c.binding && c.id.starts_with(prefix))
            .count()
    };
    assert!(
        binding("power:") >= 3,
        "{} sites at their power limit",
        binding("power:")
    );
    assert!(binding("budget:") >= 3);
    assert!(binding("mix:") >= 1);
    assert!(binding("supply:") >= 1);
    // The gap is what the bound proves, whatever the status.
    assert!(p.bound >= p.objective.value);
    let gap = (p.bound - p.objective.value) / p.objective.value;
    assert!(
        (gap - p.gap).abs() <= 1e-9 + 1e-6 * gap,
        "{gap} vs {}",
        p.gap
    );
    if p.status != SolveStatus::TimeLimit {
        assert!(p.gap <= opts.mip_gap * (1.0 + 1e-9));
    }
}

/// The verdicts `HardGate` gives are those of its prohibited set.
#[test]
fn the_hard_gate_prohibits_exactly_its_set() {
    let (s, catalog) = synth::hard(60, 3);
    let gate = synth::HardGate::new(&s, &catalog);
    for c in &s.candidates {
        let v = gate.verdict(&xpufleet_comply::UseRequest {
            user: "co".into(),
            target: c.id.clone(),
            kind: xpufleet_comply::UseKind::Own,
            workload_flops: None,
            date: s.date,
        });
        assert_eq!(v.outcome.usable(), !gate.prohibited.contains(&c.id));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Every budget and site-power relaxation the plan reports (whether its MILP ran or the LP
    /// bound proved the base plan good enough) brackets the exact optimum of the scenario with
    /// that limit raised by the step.
    #[test]
    fn sensitivities_agree_with_an_exact_solve_of_the_relaxed_scenario(
        seed in any::<u64>(),
        budget_scale in 0.02f64..0.3,
        power_mw in 0.02f64..0.2,
        gap in prop_oneof![Just(0.0), Just(1e-2)],
    ) {
        let (mut s, catalog) = synth::scenario(synth::Size { accelerators: 3, sites: 2 }, seed);
        for e in &mut s.envelopes {
            e.budget.amount *= budget_scale;
        }
        for site in &mut s.sites {
            site.power_mw = power_mw;
        }
        let gate = xpufleet_comply::AllowAll;
        let mfu = FixedMfu(0.5);
        let opts = PlanOptions { mip_gap: gap, time_limit_s: None, ..PlanOptions::default() };
        let exact_opts = PlanOptions { sensitivity: false, mip_gap: 0.0, ..opts.clone() };
        let p = plan(&s, &catalog, &gate, &mfu, &opts).unwrap();
        let base = plan(&s, &catalog, &gate, &mfu, &exact_opts).unwrap().objective.value;
        prop_assert_ne!(p.status, SolveStatus::TimeLimit);
        for c in p.constraints.iter().filter(|c| c.relaxation.is_some()) {
            let mut relaxed = s.clone();
            if let Some(env) = c.id.strip_prefix("budget:") {
                let e = relaxed.envelopes.iter_mut().find(|e| e.id == env).unwrap();
                e.budget.amount *= 1.0 + opts.relax_step;
            } else if let Some(site) = c.id.strip_prefix("power:") {
                let st = relaxed.sites.iter_mut().find(|st| st.id == site).unwrap();
                st.power_mw *= 1.0 + opts.relax_step;
            } else {
                continue;
            }
            let exact_plan = plan(&relaxed, &catalog, &gate, &mfu, &exact_opts).unwrap();
            let exact = exact_plan.objective.value;
            let r = c.relaxation.as_ref().unwrap();
            let [low, high] = r.delta_range.unwrap();
            let tol = 1e-6 * exact.max(1.0);
            prop_assert!(r.proven, "{}", c.id);
            // Each re-solve reports its own proven gap, within the requested one when proven.
            let g = r.gap.unwrap();
            prop_assert!((0.0..=opts.mip_gap * (1.0 + 1e-9)).contains(&g), "{}: gap {}", c.id, g);
            if exact_plan.excluded.len() < p.excluded.len() {
                // The raised limit lets in a candidate that the base plan excluded before
                // solving (one node over the whole budget or site): the re-solve works on the
                // base program's candidates, so its figure is only a lower bound (a known
                // limit, docs/planning.md).
                prop_assert!(r.objective.unwrap() <= exact + tol);
                continue;
            }
            // The interval holds the exact change of the optimum, and the reported plan under
            // the relaxation is within the gap of the exact optimum and never beats it.
            prop_assert!(low - tol <= exact - base && exact - base <= high + tol,
                "{}: exact change {} outside [{low}, {high}]", c.id, exact - base);
            let v = r.objective.unwrap();
            prop_assert!(v <= exact + tol && v >= exact * (1.0 - gap) - tol,
                "{}: reported {v}, exact {exact}, gap {gap}", c.id);
        }
    }
}

/// Issue 26 item 1 with issue 23 item 6: a plan solved inside a cancellation scope stops
/// mid-search when the flag is set, with its incumbent (a feasible plan, `time-limit`), even with
/// no time limit of its own. The flag is set from another thread after the search has started;
/// the hard program does not prove its gap in that time, so only the flag can stop it.
#[test]
fn a_cancelled_plan_stops_mid_search_with_its_incumbent() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let (s, catalog) = synth::hard(130, 7);
    let gate = synth::HardGate::new(&s, &catalog);
    let opts = PlanOptions {
        sensitivity: true,
        time_limit_s: None,
        ..PlanOptions::default()
    };
    let flag = Arc::new(AtomicBool::new(false));
    let setter = {
        let flag = flag.clone();
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(500));
            flag.store(true, Ordering::Relaxed);
        })
    };
    let p =
        xpufleet_model::cancel::scope(flag, || plan(&s, &catalog, &gate, &FixedMfu(0.4), &opts))
            .unwrap();
    setter.join().unwrap();
    assert_eq!(verify(&p, &s, &catalog), Vec::<String>::new());
    assert_eq!(p.status, SolveStatus::TimeLimit);
    assert!(p.effective_pflops > 0.0);
}

/// The program shaped like issue 26's own instance goes through `prepare` and the real
/// performance model like a user's file: 12 sites in six currencies, buy and lease over the
/// built-in catalog's parts, pools at some sites, mixes in spend and in units, vendor and part
/// caps, and the export-like gate; planned, every budget binds, a spend and a units mix bind,
/// a part cap binds and the power of a site binds, and the plan proves the requested gap.
#[test]
fn the_issue_shaped_program_binds_what_the_issue_names_and_plans_within_the_gap() {
    let catalog = xpufleet_io::builtin_catalog();
    let s = synth::issue(&catalog, 12, 7);
    assert_eq!(s.sites.len(), 12);
    assert!(
        (120..=140).contains(&s.candidates.len()),
        "{} candidates",
        s.candidates.len()
    );
    assert!(!s.pools.is_empty());
    let currencies: std::collections::BTreeSet<_> = s
        .envelopes
        .iter()
        .map(|e| e.budget.currency.clone())
        .collect();
    assert_eq!(currencies.len(), 6, "{currencies:?}");
    assert!(s
        .candidates
        .iter()
        .any(|c| c.mode == xpufleet_model::CandidateMode::Lease));
    // Every part is the catalog's, not a made-up one.
    for c in &s.candidates {
        assert!(catalog.accelerators.iter().any(|a| a.id == c.accelerator));
    }
    let gate = synth::HardGate::tpp(&s, &catalog, 4800.0);
    // At CN sites the H20 and L20 stay, the H100 class goes.
    assert!(gate.prohibited.iter().any(|c| c.starts_with("h100-sxm-cn")));
    assert!(!gate.prohibited.iter().any(|c| c.starts_with("h20-")));
    let opts = PlanOptions {
        sensitivity: false,
        ..PlanOptions::default()
    };
    let p = plan(
        &s,
        &catalog,
        &gate,
        &xpufleet_perf::PerfModel::default(),
        &opts,
    )
    .unwrap();
    assert_eq!(verify(&p, &s, &catalog), Vec::<String>::new());
    for l in &p.lines {
        assert!(!gate.prohibited.contains(&l.candidate), "{}", l.candidate);
    }
    let binding = |id: &str| p.constraints.iter().any(|c| c.binding && c.id == id);
    for e in &s.envelopes {
        assert!(binding(&format!("budget:{}", e.id)), "budget:{}", e.id);
    }
    assert!(binding("mix:cn-spend-80"));
    assert!(binding("mix:sg-units-35"));
    assert!(binding("supply:b200-cap"));
    assert!(p
        .constraints
        .iter()
        .any(|c| c.binding && c.id.starts_with("power:")));
    assert_ne!(p.status, SolveStatus::TimeLimit, "gap {}", p.gap);
    assert!(p.gap <= opts.mip_gap * (1.0 + 1e-9));
}
