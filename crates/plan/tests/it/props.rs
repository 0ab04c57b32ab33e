//! Property tests on generated scenarios: every plan satisfies every constraint, and on tiny
//! scenarios the max-compute plan is as good as the best one found by brute force.

use proptest::prelude::*;
use xpufleet_model::{CandidateMode, MixBasis, Scenario};
use xpufleet_plan::{
    plan, synth, verify, FixedMfu, Objective, PlanError, PlanOptions, SolveStatus, Solver,
};

use crate::support::*;

fn small(accels: usize, sites: usize, seed: u64) -> (Scenario, xpufleet_model::Catalog) {
    synth::scenario(
        synth::Size {
            accelerators: accels,
            sites,
        },
        seed,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn every_plan_satisfies_every_constraint(
        accels in 1usize..6,
        sites in 1usize..4,
        seed in any::<u64>(),
        deny_mask in any::<u64>(),
        objective in 0usize..3,
        target_frac in 0.05f64..1.2,
        units_basis in any::<bool>(),
    ) {
        let (mut s, catalog) = small(accels, sites, seed);
        if units_basis {
            s.supplier_mix[0].basis = MixBasis::Units;
        }
        let denied: Vec<&str> = s
            .candidates
            .iter()
            .enumerate()
            .filter(|(i, _)| deny_mask >> (i % 64) & 1 == 1 && i % 3 == 0)
            .map(|(_, c)| c.id.as_str())
            .collect();
        let gate = TableGate::deny(&denied);
        let mfu = FixedMfu(0.45);
        let base = PlanOptions { sensitivity: false, ..PlanOptions::default() };
        let max = plan(&s, &catalog, &gate, &mfu, &base).unwrap();
        let opts = match objective {
            0 => base.clone(),
            1 => PlanOptions {
                objective: Some(Objective::MinCost),
                target_pflops: Some(max.effective_pflops * target_frac),
                ..base.clone()
            },
            _ => PlanOptions { objective: Some(Objective::ComputePerDollar), ..base.clone() },
        };
        match plan(&s, &catalog, &gate, &mfu, &opts) {
            Ok(p) => {
                prop_assert_eq!(verify(&p, &s, &catalog), Vec::<String>::new());
                for l in &p.lines {
                    prop_assert!(!denied.contains(&l.candidate.as_str()), "{} denied", l.candidate);
                    prop_assert_eq!(l.units, l.nodes * 8);
                }
                if objective == 1 {
                    // The cheapest plan reaching the target costs no more than the max-compute
                    // plan when that one reaches it too.
                    if target_frac <= 1.0 {
                        prop_assert!(p.spend_usd <= max.spend_usd * (1.0 + 1e-9));
                    }
                }
                if objective == 2 && p.spend_usd > 0.0 && max.spend_usd > 0.0 {
                    prop_assert!(p.effective_pflops / p.spend_usd
                        >= max.effective_pflops / max.spend_usd * (1.0 - 1e-9));
                }
            }
            Err(PlanError::Infeasible { conflict, .. }) => {
                // Only a target above what max-compute reaches (or nothing to buy at all for
                // compute-per-dollar) can make the program infeasible.
                prop_assert!(objective == 1 && target_frac > 1.0 - 1e-9
                    || objective == 2 && max.lines.is_empty(), "{conflict:?}");
                prop_assert!(!conflict.is_empty());
            }
            Err(e) => prop_assert!(false, "{e}"),
        }
    }

    #[test]
    fn every_objective_matches_brute_force_within_the_gap(
        seed in any::<u64>(),
        home_nodes in 1.0f64..5.0,
        abroad_nodes in 1.0f64..5.0,
        power_mw in 0.005f64..0.06,
        share in 0.0f64..0.9,
        objective in 0usize..3,
        target_frac in 0.05f64..1.1,
        gap in prop_oneof![Just(0.0), Just(1e-4), Just(1e-2)],
        solver in solvers(),
    ) {
        // Two parts at one CN site and one MY site: buys at both, leases in MY (the lease at the
        // CN site is out of scope) = six variables, each with at most five nodes.
        let (mut s, catalog) = small(2, 2, seed);
        let hours = s.plan.horizon_days * 24.0;
        let node_money = |s: &Scenario, i: usize| {
            let c = &s.candidates[i];
            let per = if c.mode == CandidateMode::Lease { hours } else { 1.0 };
            c.price.scale(8.0 * per)
        };
        let node_cost = |s: &Scenario, i: usize| {
            let env = s.envelope(&s.candidates[i].envelope).unwrap();
            s.fx.convert(&node_money(s, i), &env.budget.currency).unwrap().amount
        };
        let node_usd = |s: &Scenario, i: usize| s.fx.to_usd(&node_money(s, i)).unwrap();
        let cheapest = |s: &Scenario, env: &str| {
            (0..s.candidates.len())
                .filter(|&i| s.candidates[i].envelope == env)
                .map(|i| node_cost(s, i))
                .fold(f64::INFINITY, f64::min)
        };
        let home = cheapest(&s, "home") * home_nodes;
        let abroad = cheapest(&s, "abroad") * abroad_nodes;
        s.envelopes[0].budget.amount = home;
        s.envelopes[1].budget.amount = abroad;
        s.supplier_mix[0].min_share = share;
        for site in &mut s.sites {
            site.power_mw = power_mw;
        }

        // The oracle: enumerate every integer plan over the in-scope candidates, recomputing
        // every row from the scenario.
        let items: Vec<usize> = (0..s.candidates.len())
            .filter(|&i| {
                let c = &s.candidates[i];
                !(c.envelope == "home" && c.mode == CandidateMode::Lease)
            })
            .collect();
        let accel = |i: usize| catalog.get(&s.candidates[i].accelerator).unwrap();
        let site = |i: usize| s.site(&s.candidates[i].site).unwrap();
        let pf = |i: usize| accel(i).tflops_bf16.get().unwrap() * 8.0 * 0.5 / 1000.0;
        let pw = |i: usize| accel(i).power_w.get().unwrap() * 8.0 * site(i).pue;
        let caps = s.supply_caps.clone();
        // (PFLOPS, USD) of every feasible plan but the empty one.
        let mut plans: Vec<(f64, f64)> = Vec::new();
        let mut x = vec![0u64; items.len()];
        loop {
            let (mut spend_h, mut spend_a, mut dom_h, mut val, mut usd) = (0.0, 0.0, 0.0, 0.0, 0.0);
            let mut ok = true;
            for (k, &i) in items.iter().enumerate() {
                let n = x[k] as f64;
                let cost = node_cost(&s, i) * n;
                usd += node_usd(&s, i) * n;
                if s.candidates[i].envelope == "home" {
                    spend_h += cost;
                    if accel(i).vendor_country == "CN" { dom_h += cost; }
                } else {
                    spend_a += cost;
                }
                val += pf(i) * n;
            }
            ok &= spend_h <= home * (1.0 + 1e-12) && spend_a <= abroad * (1.0 + 1e-12);
            ok &= dom_h >= share * spend_h * (1.0 - 1e-12);
            for st in &s.sites {
                let w: f64 = items.iter().enumerate()
                    .filter(|(_, &i)| s.candidates[i].site == st.id)
                    .map(|(k, &i)| pw(i) * x[k] as f64).sum();
                ok &= w <= st.power_mw * 1e6 * (1.0 + 1e-12);
            }
            for cap in &caps {
                let n: u64 = items.iter().enumerate()
                    .filter(|(_, &i)| cap.vendor.as_ref().is_none_or(|v| *v == accel(i).vendor)
                        && cap.accelerator.as_ref().is_none_or(|a| *a == accel(i).id))
                    .map(|(k, _)| x[k] * 8).sum();
                ok &= n <= cap.max_accels;
            }
            if ok && x.iter().any(|&n| n > 0) { plans.push((val, usd)); }
            // Next combination, each digit 0..=5.
            let mut k = 0;
            while k < x.len() && x[k] == 5 { x[k] = 0; k += 1; }
            if k == x.len() { break; }
            x[k] += 1;
        }
        let max_pflops = plans.iter().map(|p| p.0).fold(0.0, f64::max);
        let target = max_pflops * target_frac;
        // The optimum, maximised (min-cost negated), or None when no plan qualifies.
        let optimum: Option<f64> = match objective {
            0 => Some(max_pflops),
            1 => plans.iter().filter(|p| p.0 >= target * (1.0 - 1e-12)).map(|p| -p.1)
                .fold(None, |b: Option<f64>, v| Some(b.map_or(v, |b| b.max(v))))
                .or((target <= 0.0).then_some(0.0)),
            _ => plans.iter().map(|p| p.0 / (p.1 / 1e6))
                .fold(None, |b: Option<f64>, v| Some(b.map_or(v, |b| b.max(v)))),
        };
        let opts = PlanOptions {
            sensitivity: false,
            objective: Some([Objective::MaxCompute, Objective::MinCost, Objective::ComputePerDollar][objective]),
            target_pflops: (objective == 1).then_some(target),
            mip_gap: gap,
            solver,
            ..PlanOptions::default()
        };
        let mfu = FixedMfu(0.5);
        match (plan(&s, &catalog, &xpufleet_comply::AllowAll, &mfu, &opts), optimum) {
            (Ok(p), Some(best)) => {
                prop_assert_eq!(verify(&p, &s, &catalog), Vec::<String>::new());
                let v = if objective == 1 { -p.objective.value } else { p.objective.value };
                let b = if objective == 1 { -p.bound } else { p.bound };
                let tol = 1e-9 * best.abs().max(1.0);
                // Never better than the optimum, never worse than the stated gap allows, and
                // the stated bound really bounds it.
                prop_assert!(v <= best + tol, "{v} beats the optimum {best}");
                // The gap is relative to the plan's own value (`within` in the solver): for
                // min-cost, whose values are negative, the plan's |v| exceeds the optimum's.
                prop_assert!(v >= best - p.gap * v.abs().max(best.abs()) - tol, "{v} vs optimum {best}, gap {}", p.gap);
                prop_assert!(p.gap <= gap + 1e-9, "gap {} > requested {gap}", p.gap);
                prop_assert!(b >= best - tol, "bound {b} below the optimum {best}");
                prop_assert_ne!(p.status, SolveStatus::TimeLimit);
            }
            (Err(PlanError::Infeasible { .. }), None) => {}
            (r, best) => prop_assert!(false, "planner {:?} but brute force {best:?}", r.map(|p| p.objective.value)),
        }
    }
}

fn solvers() -> impl Strategy<Value = Solver> {
    if cfg!(feature = "highs") {
        prop_oneof![Just(Solver::Microlp), Just(Solver::Highs)].boxed()
    } else {
        Just(Solver::Microlp).boxed()
    }
}
