//! Services in a plan over periods (issue 22 item 5, issue 26 item 3): each quarter's demand
//! covered by what is present in it, bought no earlier than needed, under the quarter's rules;
//! a shortfall located in its quarter; properties of generated two-quarter plans.

use proptest::prelude::*;
use xpufleet_comply::{AllowAll, Gate, UseRequest, Verdict};
use xpufleet_model::{Date, Money, Purpose};
use xpufleet_perf::serving::{estimate_serving, ServedModel, ServingDemand, ServingParams};
use xpufleet_plan::{
    plan, verify_periods, verify_with_gate, FixedMfu, Plan, PlanOptions, ServiceReport,
};

use crate::support::*;

/// USD a node: 8 accelerators at the candidate's price.
const H20_NODE_USD: f64 = 8.0 * 12_000.0;
const H100_NODE_USD: f64 = 8.0 * 25_000.0;

fn opts() -> PlanOptions {
    PlanOptions {
        sensitivity: false,
        ..PlanOptions::default()
    }
}

/// Output tokens/s one H20 node (8 accelerators) carries for `chat`, input included, straight
/// from the serving model (the ratio of input to output is the same in both quarters).
fn h20_node_per_s(s: &xpufleet_io::LoadedScenario) -> f64 {
    let v = &s.scenario.services[0];
    let model = ServedModel {
        params: v.params,
        active_params: v.active(),
        precision: v.precision,
        kv_bytes_per_token: v.kv_bytes(),
    };
    let d = ServingDemand {
        input_tokens_per_day: v.input_tokens_per_day,
        output_tokens_per_day: v.output_tokens_per_day,
        mean_input_tokens: None,
        ttft_ms: v.ttft_ms,
        tpot_ms: v.tpot_ms,
        peak_to_average: v.peak_to_average,
    };
    let a = s.catalog.get("h20").unwrap();
    let e = estimate_serving(&model, &d, a, &[], false, None, &ServingParams::default()).unwrap();
    let r = e.tokens_per_s_per_accel;
    let ratio = d.input_tokens_per_day / d.output_tokens_per_day;
    8.0 / (ratio / r.input + 1.0 / r.output)
}

/// Whole nodes that carry `output_tokens_per_day` at a node rate of `per_s`.
fn nodes_for(output_tokens_per_day: f64, per_s: f64) -> u64 {
    (output_tokens_per_day / 86_400.0 / per_s - 1e-9).ceil() as u64
}

/// Nodes of `id` ordered in `period`, and how many of them serve.
fn ordered(p: &Plan, period: &str, id: &str) -> (u64, u64) {
    p.lines
        .iter()
        .filter(|l| l.candidate == id && l.period.as_deref() == Some(period))
        .fold((0, 0), |(n, s), l| (n + l.nodes, s + l.serving_nodes))
}

fn service(p: &Plan, period: usize) -> &ServiceReport {
    &p.periods[period].services[0]
}

fn set_budgets(s: &mut xpufleet_io::LoadedScenario, usd: [f64; 2]) {
    for (per, b) in s.scenario.periods.iter_mut().zip(usd) {
        per.budgets.insert("capex".into(), Money::new(b, "USD"));
    }
}

/// The hand solution: Q1's budget buys the H20 nodes Q1's demand needs and three H100s, Q2's
/// the H20 nodes the doubled demand needs beyond them and two H100s. The plan buys exactly
/// that: an H20 bought in Q1 for Q2's demand would take an H100 that trains in both quarters
/// (181 days) for at most one that trains in Q2 (91).
#[test]
fn demand_that_doubles_is_bought_for_when_it_comes() {
    let mut s = load("serve-periods.toml");
    let per_s = h20_node_per_s(&s);
    let (n1, n2) = (nodes_for(4e9, per_s), nodes_for(8e9, per_s));
    assert!(n1 >= 2 && n2 > n1, "{n1} {n2}");
    set_budgets(
        &mut s,
        [
            n1 as f64 * H20_NODE_USD + 3.0 * H100_NODE_USD,
            (n2 - n1) as f64 * H20_NODE_USD + 2.0 * H100_NODE_USD,
        ],
    );
    let p = plan(&s.scenario, &s.catalog, &AllowAll, &FixedMfu(0.4), &opts()).unwrap();
    assert_eq!(ordered(&p, "2025Q1", "h20-buy"), (n1, n1), "{:#?}", p.lines);
    assert_eq!(ordered(&p, "2025Q2", "h20-buy"), (n2 - n1, n2 - n1));
    assert_eq!(ordered(&p, "2025Q1", "h100-buy"), (3, 0));
    assert_eq!(ordered(&p, "2025Q2", "h100-buy"), (2, 0));
    // Each quarter's demand, covered by what is present then.
    let (q1, q2) = (service(&p, 0), service(&p, 1));
    assert!(approx(q1.output_tokens_per_day, 4e9) && approx(q2.output_tokens_per_day, 8e9));
    assert!(
        approx(q2.input_tokens_per_day, 40e9),
        "{}",
        q2.input_tokens_per_day
    );
    assert!(approx(q1.covered_output_tokens_per_day, 4e9), "{q1:#?}");
    assert!(approx(q2.covered_output_tokens_per_day, 8e9), "{q2:#?}");
    assert!(q1.shortfall.is_none() && q2.shortfall.is_none());
    let accels =
        |v: &ServiceReport| -> u64 { v.by_accelerator.iter().map(|b| b.accelerators).sum() };
    assert_eq!(accels(q1), 8 * n1);
    assert_eq!(accels(q2), 8 * n2);
    // The top-level services are the last period's.
    assert_eq!(&p.services[0], q2);
    // Training compute counts only the nodes that train.
    let h100_pflops = 8.0 * 989.5 * 0.4 / 1000.0;
    assert!(
        approx(p.periods[0].effective_pflops, 3.0 * h100_pflops),
        "{:#?}",
        p.periods[0]
    );
    assert!(approx(p.periods[1].effective_pflops, 5.0 * h100_pflops));
    assert!(
        p.warnings.iter().all(|w| !w.contains("not planned")),
        "{:?}",
        p.warnings
    );
    assert_eq!(
        verify_periods(&p, &s.scenario, &s.catalog),
        Vec::<String>::new()
    );
    // A plan that claims a quarter's demand served by nodes bought later does not verify.
    let mut early = p.clone();
    for b in &mut early.periods[0].services[0].by_accelerator {
        b.accelerators += 8 * (n2 - n1);
    }
    let bad = verify_periods(&early, &s.scenario, &s.catalog);
    assert!(
        bad.iter().any(|e| e.contains("h20-buy serves with")),
        "{bad:?}"
    );
    let json = serde_json::to_value(&p).unwrap();
    let svc = &json["periods"][1]["services"][0];
    for k in [
        "id",
        "input_tokens_per_day",
        "output_tokens_per_day",
        "covered_output_tokens_per_day",
        "by_accelerator",
        "cost_usd_per_day",
    ] {
        assert!(
            svc.get(k).is_some(),
            "periods[1].services[0] has no {k}: {svc}"
        );
    }
    for k in ["accelerator", "candidate", "accelerators", "role"] {
        assert!(svc["by_accelerator"][0].get(k).is_some(), "{svc}");
    }
}

/// Min-cost, no budgets per quarter: buying Q2's extra H20s in Q1 or in Q2 costs the same, and
/// the plan buys them in Q2 (among plans of equal cost, the one that commits money latest);
/// nothing trains.
#[test]
fn at_the_same_price_the_extra_nodes_are_bought_when_needed() {
    let s = load("serve-periods.toml");
    let per_s = h20_node_per_s(&s);
    let (n1, n2) = (nodes_for(4e9, per_s), nodes_for(8e9, per_s));
    let o = PlanOptions {
        objective: Some(xpufleet_plan::Objective::MinCost),
        ..opts()
    };
    let p = plan(&s.scenario, &s.catalog, &AllowAll, &FixedMfu(0.4), &o).unwrap();
    assert_eq!(ordered(&p, "2025Q1", "h20-buy"), (n1, n1), "{:#?}", p.lines);
    assert_eq!(ordered(&p, "2025Q2", "h20-buy"), (n2 - n1, n2 - n1));
    assert!(p.lines.iter().all(|l| l.accelerator == "h20"));
    assert!(
        approx(p.spend_usd, n2 as f64 * H20_NODE_USD),
        "{}",
        p.spend_usd
    );
    assert!(
        approx(p.objective.value, p.spend_usd),
        "{}",
        p.objective.value
    );
    assert_eq!(
        verify_periods(&p, &s.scenario, &s.catalog),
        Vec::<String>::new()
    );
}

/// Prohibits serving (only) on `target` from `from` on.
struct NoServingFrom {
    target: &'static str,
    from: Date,
}

impl NoServingFrom {
    fn no(&self, req: &UseRequest) -> Verdict {
        Verdict::prohibited(
            "test/no-serving",
            format!("{} may not serve from {}", req.target, self.from),
        )
    }
}

impl Gate for NoServingFrom {
    fn verdict(&self, _req: &UseRequest) -> Verdict {
        Verdict::allowed()
    }

    fn verdict_for(&self, req: &UseRequest, purpose: Purpose) -> Verdict {
        if purpose == Purpose::Serving && req.target == self.target && req.date >= self.from {
            self.no(req)
        } else {
            Verdict::allowed()
        }
    }
}

/// A rule on serving that takes effect with Q2 blocks serving on the H20s from Q2 only: Q1 is
/// served by H20s, Q2 (the same H20s are still there, and train nothing) by H100s; without the
/// rule Q2 is served by H20s. A rule enacted inside Q1 blocks Q1 too (Q1 then falls short: its
/// budget does not buy enough H100s).
#[test]
fn a_serving_rule_from_q2_blocks_serving_on_the_part_from_q2_only() {
    let mut s = load("serve-periods.toml");
    s.scenario.services[0].allowed_accels = vec!["h20".into(), "h100-sxm".into()];
    // Decode-heavy (one input token per ten output tokens): the H20's bandwidth at half the
    // H100's price makes it the cheaper server, so the rule is what moves Q2 to the H100.
    s.scenario.services[0].input_tokens_per_day = 0.4e9;
    // Q1's budget covers Q1's demand with H20s (about 100 nodes, 9.6M USD) but not with H100s
    // (about 27M USD): without it, H100s bought in Q1 would serve both quarters, which is
    // cheaper than H20s for Q1 and H100s for Q2 once the rule binds.
    set_budgets(&mut s, [12e6, 88e6]);
    let uses = |v: &ServiceReport, accel: &str| -> u64 {
        v.by_accelerator
            .iter()
            .filter(|b| b.accelerator == accel)
            .map(|b| b.accelerators)
            .sum()
    };
    let free = plan(&s.scenario, &s.catalog, &AllowAll, &FixedMfu(0.4), &opts()).unwrap();
    assert!(
        uses(service(&free, 0), "h20") > 0 && uses(service(&free, 1), "h20") > 0,
        "{:#?}",
        free.periods
    );
    let gate = NoServingFrom {
        target: "h20-buy",
        from: "2025-04-01".parse().unwrap(),
    };
    let p = plan(&s.scenario, &s.catalog, &gate, &FixedMfu(0.4), &opts()).unwrap();
    let (q1, q2) = (service(&p, 0), service(&p, 1));
    assert!(uses(q1, "h20") > 0, "{q1:#?}");
    assert_eq!(uses(q2, "h20"), 0, "{q2:#?}");
    assert!(uses(q2, "h100-sxm") > 0);
    assert!(approx(q2.covered_output_tokens_per_day, 8e9), "{q2:#?}");
    assert!(
        q2.unusable.iter().any(|u| u.contains("h20-buy")),
        "{:?}",
        q2.unusable
    );
    assert_eq!(ordered(&p, "2025Q2", "h20-buy").1, 0);

    let gate = NoServingFrom {
        target: "h20-buy",
        from: "2025-03-31".parse().unwrap(),
    };
    let p = plan(&s.scenario, &s.catalog, &gate, &FixedMfu(0.4), &opts()).unwrap();
    assert_eq!(uses(service(&p, 0), "h20"), 0, "{:#?}", p.periods);
    assert_eq!(uses(service(&p, 1), "h20"), 0);
    assert!(service(&p, 0).shortfall.is_some());
}

/// Refuses training (only) on `target`: it may still be bought to serve.
struct NoTraining {
    target: &'static str,
}

impl NoTraining {
    fn judge(&self, req: &UseRequest, purpose: Purpose) -> Verdict {
        if purpose == Purpose::Training && req.target == self.target {
            Verdict::prohibited("test/no-training", format!("{} may not train", req.target))
        } else {
            Verdict::allowed()
        }
    }
}

impl Gate for NoTraining {
    fn verdict(&self, req: &UseRequest) -> Verdict {
        self.judge(req, Purpose::Training)
    }

    fn verdict_for(&self, req: &UseRequest, purpose: Purpose) -> Verdict {
        self.judge(req, purpose)
    }
}

/// An H20 its training verdict excludes is still bought to serve, and only to serve: over
/// periods its orders buy nodes through their serving copies alone, so the order itself may
/// have none (its bound is 0, as with the serving copies of one date's program it would not
/// be), every H20 line is all serving, and both quarters are covered by exactly the nodes the
/// demand needs.
#[test]
fn a_part_excluded_for_training_is_bought_over_periods_to_serve_only() {
    let s = load("serve-periods.toml");
    let per_s = h20_node_per_s(&s);
    let (n1, n2) = (nodes_for(4e9, per_s), nodes_for(8e9, per_s));
    let gate = NoTraining { target: "h20-buy" };
    let p = plan(&s.scenario, &s.catalog, &gate, &FixedMfu(0.4), &opts()).unwrap();
    let h20 = p.candidates.iter().find(|c| c.id == "h20-buy").unwrap();
    assert_eq!(h20.bound_nodes, 0, "{h20:#?}");
    assert_eq!(ordered(&p, "2025Q1", "h20-buy"), (n1, n1), "{:#?}", p.lines);
    assert_eq!(ordered(&p, "2025Q2", "h20-buy"), (n2 - n1, n2 - n1));
    for (u, want) in [4e9, 8e9].into_iter().enumerate() {
        let v = service(&p, u);
        assert!(approx(v.covered_output_tokens_per_day, want), "{v:#?}");
        let accels: u64 = v.by_accelerator.iter().map(|b| b.accelerators).sum();
        assert_eq!(accels, 8 * [n1, n2][u], "{v:#?}");
        // A bought accelerator costs its price over the serving model's amortisation life.
        let life_h = ServingParams::default().price_life_years * 365.0 * 24.0;
        let usd_day = accels as f64 * 12_000.0 / life_h * 24.0;
        assert!(approx(v.cost_usd_per_day, usd_day), "{v:#?}");
    }
    assert_eq!(
        verify_with_gate(&p, &s.scenario, &s.catalog, &gate),
        Vec::<String>::new()
    );
}

/// Q2's budget buys two H20 nodes fewer than its demand needs and Q1's nothing beyond Q1's
/// demand: the plan still returns, Q1 covered, Q2 short by what the missing nodes carry at
/// most, with the quarter's budget among what binds and a warning naming the quarter.
#[test]
fn a_shortfall_is_located_in_its_period() {
    let mut s = load("serve-periods.toml");
    let per_s = h20_node_per_s(&s);
    let (n1, n2) = (nodes_for(4e9, per_s), nodes_for(8e9, per_s));
    set_budgets(
        &mut s,
        [
            n1 as f64 * H20_NODE_USD,
            (n2 - n1 - 2) as f64 * H20_NODE_USD,
        ],
    );
    let p = plan(&s.scenario, &s.catalog, &AllowAll, &FixedMfu(0.4), &opts()).unwrap();
    let (q1, q2) = (service(&p, 0), service(&p, 1));
    assert!(q1.shortfall.is_none(), "{q1:#?}");
    let short = q2.shortfall.as_ref().expect("Q2 is short");
    assert!(
        short.binds.iter().any(|b| b == "budget:capex@2025Q2"),
        "{short:#?}"
    );
    assert!(approx(
        q2.covered_output_tokens_per_day + short.output_tokens_per_day,
        8e9
    ));
    // What Q2 covers is what its n2 - 2 nodes carry, at most (the row is lowered in steps).
    let most = (n2 - 2) as f64 * per_s * 86_400.0;
    assert!(q2.covered_output_tokens_per_day <= most + 1.0, "{q2:#?}");
    assert!(q2.covered_output_tokens_per_day >= 0.5 * most, "{q2:#?}");
    assert!(
        p.warnings
            .iter()
            .any(|w| w.contains("service chat in period 2025Q2")),
        "{:?}",
        p.warnings
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    /// In every period every service is covered or its shortfall reported (covered plus short
    /// is the period's demand), serving accelerators by candidate are never more than the
    /// serving nodes present in the period, and each line's nodes either train or serve.
    #[test]
    fn every_period_covered_or_short_and_no_node_both_trains_and_serves(
        q2 in 0.5f64..3.0,
        b1 in 0.0f64..2.5e6,
        b2 in 0.0f64..2.5e6,
        both in any::<bool>(),
    ) {
        let mut s = load("serve-periods.toml");
        s.scenario.periods[1].services.get_mut("chat").unwrap().output_tokens_per_day = 4e9 * q2;
        if both {
            s.scenario.services[0].allowed_accels = vec![];
        }
        set_budgets(&mut s, [b1, b2]);
        let p = plan(&s.scenario, &s.catalog, &AllowAll, &FixedMfu(0.4), &opts()).unwrap();
        let demand = [4e9, 4e9 * q2];
        let bad = verify_periods(&p, &s.scenario, &s.catalog);
        prop_assert!(bad.is_empty(), "{bad:?}");
        for (u, per) in p.periods.iter().enumerate() {
            let v = &per.services[0];
            prop_assert!(approx(v.output_tokens_per_day, demand[u]));
            let short = v.shortfall.as_ref().map_or(0.0, |x| x.output_tokens_per_day);
            prop_assert!(
                approx(v.covered_output_tokens_per_day + short, demand[u]),
                "{v:#?}"
            );
            prop_assert!(v.covered_output_tokens_per_day <= demand[u] * (1.0 + 1e-9));
            // Serving nodes present in the period: bought in it or before (no lead times).
            for b in &v.by_accelerator {
                let id = b.candidate.as_deref().unwrap();
                let present: u64 = p.lines.iter()
                    .filter(|l| l.candidate == id)
                    .filter(|l| p.periods.iter().position(|q| Some(&q.id) == l.period.as_ref()).unwrap() <= u)
                    .map(|l| l.serving_nodes * (l.units / l.nodes))
                    .sum();
                let serving: u64 = v.by_accelerator.iter()
                    .filter(|c| c.candidate.as_deref() == Some(id))
                    .map(|c| c.accelerators)
                    .sum();
                prop_assert!(serving <= present, "{id} in {}: {serving} > {present}", per.id);
            }
        }
        // A node that serves trains nothing: a line's training compute is its training
        // nodes' (8 × TFLOPS × MFU 0.4 a node while present).
        for l in &p.lines {
            prop_assert!(l.serving_nodes <= l.nodes);
            let tflops = if l.accelerator == "h20" { 148.0 } else { 989.5 };
            let trains = (l.nodes - l.serving_nodes) as f64;
            prop_assert!(
                (l.effective_pflops - trains * 8.0 * tflops * 0.4 / 1000.0).abs() < 1e-6,
                "{l:#?}"
            );
        }
    }
}

/// Bad per-period demand is a located error (the file's line, the field, what was expected):
/// an unknown service, a negative, absurd or zero volume, an unknown field, a growth factor
/// of zero.
#[test]
fn bad_period_demand_is_located() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/serve-periods.toml");
    let good = std::fs::read_to_string(&path).unwrap();
    let from = "services = { chat = { output_tokens_per_day = 8e9 } }";
    let cases: [(&str, &str, &str); 6] = [
        (
            "services = { chatt = { output_tokens_per_day = 8e9 } }",
            "period[1].services.chatt",
            "expected the id of a [[service]] (chat)",
        ),
        (
            "services = { chat = { output_tokens_per_day = -8e9 } }",
            "period[1].services.chat.output_tokens_per_day",
            "expected a number from 0",
        ),
        (
            "services = { chat = { output_tokens_per_day = 1e30 } }",
            "period[1].services.chat.output_tokens_per_day",
            "expected a number from 0",
        ),
        (
            "services = { chat = { output_tokens_per_day = 0 } }",
            "period[1].services.chat.output_tokens_per_day",
            "expected some output",
        ),
        (
            "services = { chat = { output_tokens_per_day = 8e9, input_tokens = 1 } }",
            "period[1]",
            "input_tokens",
        ),
        (
            "service_growth = 0",
            "period[1].service_growth",
            "expected a number above 0",
        ),
    ];
    let dir = std::env::temp_dir().join(format!("xpufleet-serve-periods-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (k, (to, field, words)) in cases.iter().enumerate() {
        let text = good.replacen(from, to, 1);
        let file = dir.join(format!("case{k}.toml"));
        std::fs::write(&file, &text).unwrap();
        let d = match xpufleet_io::load_scenario(Some(&file), None) {
            Err(d) => d,
            Ok(ls) => xpufleet_io::validate::validate(&ls),
        };
        assert!(!d.is_empty(), "case {k}: {to:?} was accepted");
        let shown = d.to_string();
        let hit = d
            .0
            .iter()
            .find(|x| {
                x.field.as_deref().is_some_and(|f| f.starts_with(field))
                    && x.message.contains(words)
            })
            .unwrap_or_else(|| panic!("case {k}: no error at {field} saying {words:?}: {shown}"));
        assert!(hit.line.is_some(), "case {k}: not located: {shown}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
