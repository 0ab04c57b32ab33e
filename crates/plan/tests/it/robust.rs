//! Programs that used to hang, blow up memory or trip a solver assertion (issue 17): each must
//! come back, within the time limit, with a plan or a clear error.

use xpufleet_comply::AllowAll;
use xpufleet_perf::PerfModel;
use xpufleet_plan::{plan, verify, Objective, PlanError, PlanOptions, SolveStatus};

fn example() -> xpufleet_io::LoadedScenario {
    xpufleet_io::load_scenario(None, None).expect("the example loads")
}

fn opts() -> PlanOptions {
    PlanOptions {
        sensitivity: false,
        time_limit_s: Some(2.0),
        ..PlanOptions::default()
    }
}

#[test]
fn an_unreachable_min_cost_target_is_a_named_conflict_not_a_hang() {
    let s = example();
    let o = PlanOptions {
        objective: Some(Objective::MinCost),
        target_pflops: Some(70_000.0),
        ..opts()
    };
    match plan(
        &s.scenario,
        &s.catalog,
        &AllowAll,
        &PerfModel::default(),
        &o,
    ) {
        Ok(p) => assert_eq!(verify(&p, &s.scenario, &s.catalog), Vec::<String>::new()),
        Err(PlanError::Infeasible { conflict, .. }) => assert!(conflict.contains(&"target".into())),
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn a_reachable_min_cost_target_gets_a_plan_with_its_gap() {
    let s = example();
    let max = plan(
        &s.scenario,
        &s.catalog,
        &AllowAll,
        &PerfModel::default(),
        &opts(),
    )
    .unwrap();
    for frac in [0.3, 0.9, 0.999] {
        let o = PlanOptions {
            objective: Some(Objective::MinCost),
            target_pflops: Some(max.effective_pflops * frac),
            ..opts()
        };
        let p = plan(
            &s.scenario,
            &s.catalog,
            &AllowAll,
            &PerfModel::default(),
            &o,
        )
        .unwrap();
        assert_eq!(verify(&p, &s.scenario, &s.catalog), Vec::<String>::new());
        assert!(p.bound <= p.objective.value * (1.0 + 1e-12));
        if p.status != SolveStatus::TimeLimit {
            assert!(p.gap <= 1e-4, "{frac}: gap {}", p.gap);
        }
    }
}

#[test]
fn a_ten_year_horizon_plans_or_says_why() {
    let mut s = example();
    s.scenario.plan.horizon_days = 3650.0;
    for objective in [Objective::MaxCompute, Objective::ComputePerDollar] {
        let o = PlanOptions {
            objective: Some(objective),
            ..opts()
        };
        let p = plan(
            &s.scenario,
            &s.catalog,
            &AllowAll,
            &PerfModel::default(),
            &o,
        )
        .unwrap();
        assert_eq!(verify(&p, &s.scenario, &s.catalog), Vec::<String>::new());
    }
}

#[test]
fn an_absurd_pue_excludes_the_site_instead_of_tripping_the_solver() {
    let mut s = example();
    for pue in [1e308, f64::MAX, 1e300] {
        s.scenario.sites[0].pue = pue;
        let p = plan(
            &s.scenario,
            &s.catalog,
            &AllowAll,
            &PerfModel::default(),
            &opts(),
        )
        .unwrap();
        assert_eq!(verify(&p, &s.scenario, &s.catalog), Vec::<String>::new());
        assert!(p.lines.iter().all(|l| l.site != s.scenario.sites[0].id));
    }
}

#[test]
fn relaxation_figures_have_the_right_sign_and_lie_in_their_proven_range() {
    let s = example();
    let max = plan(
        &s.scenario,
        &s.catalog,
        &AllowAll,
        &PerfModel::default(),
        &opts(),
    )
    .unwrap();
    for objective in [
        Objective::MaxCompute,
        Objective::MinCost,
        Objective::ComputePerDollar,
    ] {
        let o = PlanOptions {
            objective: Some(objective),
            target_pflops: Some(max.effective_pflops * 0.8),
            sensitivity: true,
            ..opts()
        };
        let p = plan(
            &s.scenario,
            &s.catalog,
            &AllowAll,
            &PerfModel::default(),
            &o,
        )
        .unwrap();
        let relaxed: Vec<_> = p
            .constraints
            .iter()
            .filter_map(|c| c.relaxation.as_ref().map(|r| (c, r)))
            .collect();
        assert!(!relaxed.is_empty(), "{objective}: nothing binds");
        for (c, r) in relaxed {
            let d = r
                .objective_delta
                .unwrap_or_else(|| panic!("{}: no figure", c.id));
            let tol = 1e-9 * p.objective.value.abs();
            if objective == Objective::MinCost {
                assert!(d <= tol, "{}: relaxing raised the cost by {d}", c.id);
            } else {
                assert!(d >= -tol, "{}: relaxing lowered the objective by {d}", c.id);
            }
            assert!(
                r.proven,
                "{}: not proven {objective:?} {r:?} base {:?} {}",
                c.id, p.status, p.gap
            );
            let [lo, hi] = r.delta_range.unwrap();
            assert!(
                lo - tol <= d && d <= hi + tol,
                "{}: {d} outside [{lo}, {hi}]",
                c.id
            );
        }
    }
}
