//! Planning under uncertainty (`plan::risk`): sampling is reproducible and shardable, spreads
//! are ordered, risks that cannot happen change nothing, and the robust plan is the optimum of
//! its measure (checked against every integer plan of the hand scenario).

use proptest::prelude::*;
use xpufleet_model::{Date, Dist, RiskKind};
use xpufleet_plan::risk::{draw, draws, robust, Effect, Measure, RiskItem, RiskModel, Spread};
use xpufleet_plan::{plan, FixedMfu, PlanLine, PlanOptions};

use crate::support::*;

fn date(s: &str) -> Date {
    s.parse().unwrap()
}

/// The hand scenario's risks: the foreign purchase may become unusable, the domestic part may
/// fall short.
fn hand_model(p_rule: f64, dom_min: f64) -> RiskModel {
    RiskModel {
        risks: vec![
            RiskItem {
                id: "rule".into(),
                kind: RiskKind::Rule,
                description: String::new(),
                effect: Effect::Rule {
                    probability: p_rule,
                    date: date("2025-06-01"),
                    lost: vec!["fgn-buy".into()],
                },
            },
            RiskItem {
                id: "dom-delivery".into(),
                kind: RiskKind::Delivery,
                description: String::new(),
                effect: Effect::Delivery {
                    candidates: vec!["dom-buy".into()],
                    fraction: Dist {
                        min: dom_min,
                        max: 1.0,
                        mode: None,
                    },
                },
            },
        ],
        start: date("2025-03-01"),
        horizon_days: 100.0,
    }
}

fn base_plan() -> (xpufleet_io::LoadedScenario, TableGate, Vec<PlanLine>) {
    let s = load("hand.toml");
    let gate = TableGate::deny(&["fgn-grey"]);
    let p = plan(
        &s.scenario,
        &s.catalog,
        &gate,
        &FixedMfu(0.5),
        &PlanOptions {
            sensitivity: false,
            ..PlanOptions::default()
        },
    )
    .unwrap();
    (s, gate, p.lines)
}

/// The best measure over every integer plan of the hand scenario (rows from its comments:
/// budget 0.8a + 1.28b ≤ 10, mix 0.8a ≥ 1.28b, power 5a + 7b ≤ 55, abroad c ≤ 2, cap b + c ≤ 5).
fn brute_force(model: &RiskModel, samples: &[Vec<f64>], measure: Measure) -> f64 {
    let mut best = f64::NEG_INFINITY;
    for a in 0..=15u64 {
        for b in 0..=8u64 {
            for c in 0..=2u64 {
                let (af, bf) = (a as f64, b as f64);
                if 0.8 * af + 1.28 * bf > 10.0 + 1e-9
                    || 0.8 * af < 1.28 * bf - 1e-9
                    || 5.0 * af + 7.0 * bf > 55.0 + 1e-9
                    || b + c > 5
                {
                    continue;
                }
                let lines = [
                    ("dom-buy", a, 1.6),
                    ("fgn-buy", b, 4.0),
                    ("fgn-lease", c, 4.0),
                ]
                .iter()
                .map(|&(id, n, v)| line(id, n, v))
                .collect::<Vec<_>>();
                let vals: Vec<f64> = samples.iter().map(|u| model.outcome(&lines, u).0).collect();
                best = best.max(measure.of(&vals));
            }
        }
    }
    best
}

fn line(id: &str, nodes: u64, pflops_per_node: f64) -> PlanLine {
    PlanLine {
        candidate: id.into(),
        accelerator: String::new(),
        vendor: String::new(),
        vendor_country: String::new(),
        site: String::new(),
        country: String::new(),
        mode: xpufleet_model::CandidateMode::Buy,
        nodes,
        units: nodes * 8,
        chips: nodes * 8,
        spend: 0.0,
        currency: "USD".into(),
        spend_usd: nodes as f64 * 1000.0,
        envelope: String::new(),
        power_mw: 0.0,
        mfu: 0.5,
        effective_pflops: nodes as f64 * pflops_per_node,
        serving_nodes: 0,
        line_use: xpufleet_plan::LineUse::Training,
        services: Vec::new(),
        period: None,
    }
}

#[test]
fn samples_are_reproducible_and_shardable() {
    let all = draws(42, 0..100, 3);
    assert_eq!(all, draws(42, 0..100, 3));
    assert_eq!(&all[60..80], draws(42, 60..80, 3).as_slice());
    assert_eq!(all[17], draw(42, 17, 3));
    assert_ne!(all, draws(43, 0..100, 3));
    assert!(all.iter().flatten().all(|u| (0.0..1.0).contains(u)));
}

#[test]
fn risks_that_cannot_happen_change_nothing() {
    let (_, _, lines) = base_plan();
    let mut m = hand_model(0.0, 1.0);
    m.risks.push(RiskItem {
        id: "price".into(),
        kind: RiskKind::Price,
        description: String::new(),
        effect: Effect::Price {
            candidates: vec!["fgn-lease".into()],
            multiplier: Dist {
                min: 1.0,
                max: 1.0,
                mode: Some(1.0),
            },
        },
    });
    let nominal: (f64, f64) = (
        lines.iter().map(|l| l.effective_pflops).sum(),
        lines.iter().map(|l| l.spend_usd).sum(),
    );
    for u in draws(1, 0..50, m.risks.len()) {
        let (p, s) = m.outcome(&lines, &u);
        assert!(
            approx(p, nominal.0) && approx(s, nominal.1),
            "{p} {s} {nominal:?}"
        );
    }
    for s in m.swings(&lines) {
        assert!(approx(s.pflops_low, s.pflops_high), "{s:?}");
    }
}

#[test]
fn a_landed_rule_takes_its_lines_from_its_date() {
    let (_, _, lines) = base_plan();
    let m = hand_model(1.0, 1.0);
    let dates = m.fan_dates();
    assert_eq!(dates.first(), Some(&date("2025-03-01")));
    assert_eq!(dates.last(), Some(&date("2025-06-09")));
    let u = draw(0, 0, 2);
    let over = m.over_time(&lines, &u, &dates);
    let fgn: f64 = lines
        .iter()
        .filter(|l| l.candidate == "fgn-buy")
        .map(|l| l.effective_pflops)
        .sum();
    assert!(fgn > 0.0);
    for (d, v) in dates.iter().zip(&over) {
        let expect = if *d < date("2025-06-01") {
            29.6
        } else {
            29.6 - fgn
        };
        assert!(approx(*v, expect), "{d}: {v} vs {expect}");
    }
    assert!(approx(m.outcome(&lines, &u).0, 29.6 - fgn));
}

/// The robust plan is the optimum of its measure on the solve samples (within the solver's
/// gap), and never worse than the base plan on it.
fn check_robust(p_rule: f64, dom_min: f64, measure: Measure, seed: u64) {
    let (s, gate, base) = base_plan();
    let m = hand_model(p_rule, dom_min);
    let samples = draws(seed, 0..40, m.risks.len());
    let opts = PlanOptions {
        sensitivity: false,
        ..PlanOptions::default()
    };
    let r = robust(
        &s.scenario,
        &s.catalog,
        &gate,
        &FixedMfu(0.5),
        &opts,
        &m,
        &samples,
        &base,
        measure,
    )
    .unwrap();
    let value = |lines: &[PlanLine]| {
        measure.of(&samples
            .iter()
            .map(|u| m.outcome(lines, u).0)
            .collect::<Vec<_>>())
    };
    let best = brute_force(&m, &samples, measure);
    let got = value(&r.lines);
    assert!(approx(got, r.measure_value), "{got} vs {}", r.measure_value);
    assert!(got >= value(&base) - 1e-9, "{measure}: robust {got} < base");
    assert!(
        got <= best + 1e-6,
        "{measure}: {got} beats brute force {best}"
    );
    if measure != Measure::P10 {
        assert!(
            got >= best * (1.0 - 2e-4) - 1e-9,
            "{measure}: {got} < optimum {best}"
        );
    }
}

#[test]
fn a_likely_rule_moves_money_to_the_safe_part() {
    // With the foreign purchase lost 90% of the time, the expected-compute plan buys less of it
    // than the base plan, gives up nominal compute and protects the expected.
    let (s, gate, base) = base_plan();
    let m = hand_model(0.9, 1.0);
    let samples = draws(5, 0..100, 2);
    let r = robust(
        &s.scenario,
        &s.catalog,
        &gate,
        &FixedMfu(0.5),
        &PlanOptions::default(),
        &m,
        &samples,
        &base,
        Measure::Expected,
    )
    .unwrap();
    let nodes = |ls: &[PlanLine], id: &str| {
        ls.iter()
            .filter(|l| l.candidate == id)
            .map(|l| l.nodes)
            .sum::<u64>()
    };
    assert!(
        nodes(&r.lines, "fgn-buy") < nodes(&base, "fgn-buy"),
        "{:?}",
        r.lines
    );
    let nominal = |ls: &[PlanLine]| ls.iter().map(|l| l.effective_pflops).sum::<f64>();
    assert!(nominal(&r.lines) < nominal(&base));
    check_robust(0.9, 1.0, Measure::Expected, 5);
}

#[test]
fn every_measure_matches_brute_force() {
    for (p, dmin, seed) in [(0.5, 0.7, 1), (0.2, 0.4, 2), (0.0, 1.0, 3)] {
        for m in [
            Measure::Expected,
            Measure::Cvar(0.1),
            Measure::Cvar(0.5),
            Measure::P10,
        ] {
            check_robust(p, dmin, m, seed);
        }
    }
}

#[test]
fn measures_parse_and_print() {
    for s in ["expected", "p10", "cvar:0.1", "cvar:1"] {
        assert_eq!(s.parse::<Measure>().unwrap().to_string(), s);
    }
    for s in ["cvar:0", "cvar:1.5", "p90", "cvar:x"] {
        assert!(s.parse::<Measure>().is_err(), "{s}");
    }
    // CVaR at level 1 is the mean; at 1/n the worst value.
    let v = [3.0, 1.0, 2.0, 6.0];
    assert!(approx(Measure::Cvar(1.0).of(&v), 3.0));
    assert!(approx(Measure::Cvar(0.25).of(&v), 1.0));
    assert!(approx(Measure::Cvar(0.375).of(&v), (1.0 + 0.5 * 2.0) / 1.5));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn spreads_are_ordered(values in prop::collection::vec(-1e6f64..1e6, 1..50)) {
        let s = Spread::of(&values);
        prop_assert!(s.p10 <= s.p50 && s.p50 <= s.p90);
        let (lo, hi) = values.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| (l.min(*v), h.max(*v)));
        prop_assert!(lo <= s.p10 && s.p90 <= hi && lo <= s.mean && s.mean <= hi + 1e-6);
        // CVaR at any level lies between the minimum and the mean.
        for a in [0.05, 0.1, 0.5, 1.0] {
            let c = Measure::Cvar(a).of(&values);
            prop_assert!(c >= lo - 1e-6 && c <= s.mean + 1e-6 * s.mean.abs().max(1.0));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    #[test]
    fn robust_plans_match_brute_force(p in 0.0f64..1.0, dmin in 0.0f64..1.0, seed in 0u64..1000, m in 0usize..3) {
        let measure = [Measure::Expected, Measure::Cvar(0.2), Measure::P10][m];
        check_robust(p, dmin, measure, seed);
    }
}
