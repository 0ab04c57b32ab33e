//! Both solvers on the same generated programs: with the `highs` feature, microlp's and HiGHS's
//! answers agree within their proven gaps, for every objective; without it, `--solver highs`
//! is a clear error.

use xpufleet_comply::AllowAll;
use xpufleet_plan::{plan, synth, FixedMfu, PlanOptions, Solver};

#[test]
#[cfg(feature = "highs")]
fn microlp_and_highs_agree_within_their_gaps() {
    use xpufleet_plan::{verify, Objective};
    for (parts, sites, seed) in [(4, 2, 1), (6, 4, 2), (8, 6, 3)] {
        let (s, catalog) = synth::scenario(
            synth::Size {
                accelerators: parts,
                sites,
            },
            seed,
        );
        let mfu = FixedMfu(0.4);
        let base = PlanOptions {
            sensitivity: false,
            ..PlanOptions::default()
        };
        let max = plan(&s, &catalog, &AllowAll, &mfu, &base).unwrap();
        for objective in [
            Objective::MaxCompute,
            Objective::MinCost,
            Objective::ComputePerDollar,
        ] {
            let run = |solver| {
                let o = PlanOptions {
                    objective: Some(objective),
                    target_pflops: Some(max.effective_pflops * 0.7),
                    solver,
                    ..base.clone()
                };
                let p = plan(&s, &catalog, &AllowAll, &mfu, &o).unwrap();
                assert_eq!(verify(&p, &s, &catalog), Vec::<String>::new());
                p
            };
            let (a, b) = (run(Solver::Microlp), run(Solver::Highs));
            let tol = (a.gap + b.gap + 1e-9) * a.objective.value.abs().max(1.0);
            assert!(
                (a.objective.value - b.objective.value).abs() <= tol,
                "{objective} {parts}x{sites}: microlp {} vs highs {}",
                a.objective.value,
                b.objective.value
            );
        }
    }
}

#[test]
#[cfg(not(feature = "highs"))]
fn highs_without_the_feature_is_a_clear_error() {
    use xpufleet_plan::PlanError;
    let (s, catalog) = synth::scenario(
        synth::Size {
            accelerators: 2,
            sites: 2,
        },
        1,
    );
    let o = PlanOptions {
        solver: Solver::Highs,
        ..PlanOptions::default()
    };
    match plan(&s, &catalog, &AllowAll, &FixedMfu(0.4), &o) {
        Err(PlanError::Invalid(m)) => assert!(m.contains("--features highs"), "{m}"),
        r => panic!("{:?}", r.map(|p| p.objective.value)),
    }
}
