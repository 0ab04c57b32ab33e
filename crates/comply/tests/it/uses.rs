//! Use-aware verdicts (issue 22 item 3) and the engine gaps of issue 24 item 7: a rule that
//! names training applies to training only; a purchase is an export judged under the rules then
//! in force, whose taint outlives them; a buy candidate ships from somewhere.

use xpufleet_comply::{classify, Gate, Outcome, Purpose, RuleEngine, Status, UseKind, UseRequest};
use xpufleet_io::rules::builtin_rule_set;
use xpufleet_io::scenario::load_scenario;

use crate::fixture::*;

fn example() -> RuleEngine {
    let s = load_scenario(None, None).unwrap();
    RuleEngine::new(builtin_rule_set(), &s.scenario, &s.catalog)
}

fn remote(user: &str, target: &str, date: &str) -> UseRequest {
    UseRequest {
        user: user.into(),
        target: target.into(),
        kind: UseKind::Remote,
        workload_flops: None,
        date: d(date),
    }
}

/// BIS guidance of 2025-05-13: "providing IaaS for training AI models" to entities
/// headquartered in D:5 is a red flag. It names training: serving on the same leased H100s in
/// Malaysia is not flagged, and a use that states neither may be training, so it is.
#[test]
fn guidance_2025_05_13_red_flags_iaas_training_not_serving() {
    let e = example();
    let req = remote("acme-ai", "my-h100", "2025-06-01");
    let training = e.evaluate_for(&req, Purpose::Training);
    assert_eq!(
        verdict(&training),
        (
            Outcome::RedFlag,
            vec!["us-guidance-2025-05/iaas-training-d5-hq"]
        )
    );
    assert!(!training.verdict.usable);
    let serving = e.evaluate_for(&req, Purpose::Serving);
    assert_eq!(verdict(&serving), (Outcome::Allowed, vec![]));
    assert!(serving.verdict.usable, "{:?}", serving.verdict);
    assert_eq!(serving.purpose, Some(Purpose::Serving));
    // No use stated: either may happen, so the training rule applies.
    let either = e.evaluate(&req);
    assert_eq!(either.verdict.outcome, Outcome::RedFlag);
    assert_eq!(either.purpose, None);
    // The gate answers the same through its trait, for the planner.
    let gate: &dyn Gate = &e;
    assert!(gate.verdict_for(&req, Purpose::Serving).usable);
    assert!(!gate.verdict_for(&req, Purpose::Training).usable);
    // The day before the guidance, training is not flagged either.
    let before = remote("acme-ai", "my-h100", "2025-05-12");
    assert_eq!(
        e.evaluate_for(&before, Purpose::Training).verdict.outcome,
        Outcome::Allowed
    );
}

/// A rule without a `use` condition (GP10 on Ascend) applies to both uses alike.
#[test]
fn rules_that_name_no_use_apply_to_both() {
    let e = example();
    let req = UseRequest {
        kind: UseKind::Own,
        ..remote("acme-ai", "cn-910b", "2025-06-01")
    };
    let t = e.evaluate_for(&req, Purpose::Training).verdict;
    let s = e.evaluate_for(&req, Purpose::Serving).verdict;
    assert_eq!(t.outcome, Outcome::RedFlag);
    assert_eq!((t.outcome, &t.rules), (s.outcome, &s.rules));
    assert!(e.by_use(&req).is_empty());
}

/// A pool or candidate that declares `use = "serving"` is judged as serving by default; the
/// caller may still ask about training.
#[test]
fn a_declared_use_is_the_default_question() {
    let lease = |id: &str, purpose: &str| {
        format!(
            "\n[[pool]]\nid = \"{id}\"\nsite = \"site-my\"\naccelerator = \"h100-sxm\"\nnodes = 1\naccels_per_node = 8\nscaleup_domain = 8\n{purpose}acquisition = {{ kind = \"leased\", rate = {{ amount = 2, currency = \"USD\" }}, from = \"my-co\" }}\n"
        )
    };
    let e = engine(&[lease("serve", "use = \"serving\"\n"), lease("any", "")].concat());
    let date = "2025-06-01";
    let serve = ask_as(&e, "cn-co", "serve", date);
    assert_eq!(
        serve.verdict.outcome,
        Outcome::Allowed,
        "{:?}",
        serve.findings
    );
    assert_eq!(serve.purpose, Some(Purpose::Serving));
    let any = ask_as(&e, "cn-co", "any", date);
    assert_eq!(
        verdict(&any),
        (
            Outcome::RedFlag,
            vec!["us-guidance-2025-05/iaas-training-d5-hq"]
        )
    );
    let req = remote("cn-co", "serve", date);
    assert_eq!(
        e.evaluate_for(&req, Purpose::Training).verdict.outcome,
        Outcome::RedFlag
    );
    // Both verdicts, as `check` shows them where they differ.
    let both = e.by_use(&req);
    let outcomes: Vec<(Purpose, Outcome)> = both
        .iter()
        .map(|b| (b.purpose, b.verdict.outcome))
        .collect();
    assert_eq!(
        outcomes,
        vec![
            (Purpose::Training, Outcome::RedFlag),
            (Purpose::Serving, Outcome::Allowed)
        ]
    );
}

/// The `use` condition in a user's pack: a serving-only rule leaves training alone, and says
/// what would lift it.
#[test]
fn a_packs_use_condition_is_tested_like_any_other() {
    let pack = r#"
[pack]
id = "test-serving"
title = "A rule on serving only"
version = 1
jurisdiction = "US"
citation = { document = "test", date = 2025-01-01 }

[[rule]]
id = "serving-flag"
summary = "Serving is flagged"
effective_from = 2025-01-01
when = { use = ["serving"] }
outcome = "red-flag"
"#;
    let e = engine_with(
        &pool("p", "h100-sxm", "site-us", "us-co", "2024-01-01"),
        &[pack],
    );
    let req = UseRequest {
        kind: UseKind::Own,
        ..remote("us-co", "p", "2025-06-01")
    };
    let s = e.evaluate_for(&req, Purpose::Serving);
    assert_eq!(
        verdict(&s),
        (Outcome::RedFlag, vec!["test-serving/serving-flag"])
    );
    let why = s.findings[0].would_change.as_deref().unwrap_or("");
    assert!(why.contains("training rather than serving"), "{why}");
    assert_eq!(
        e.evaluate_for(&req, Purpose::Training).verdict.outcome,
        Outcome::Allowed
    );
}

/// General Prohibition 10 (15 CFR 736.2(b)(10)) without a recorded history: an H100 pool
/// bought in China on 2023-03-01 was exported under the 2022-10-07 rule (87 FR 62186) without a
/// licence; that rule ended on 2023-11-16, and the 2023 rule does not catch a purchase made
/// before it, yet the chips stay tainted.
#[test]
fn a_purchase_is_an_export_whose_taint_outlives_the_rule() {
    let e = engine(&pool(
        "h100-cn",
        "h100-sxm",
        "site-cn",
        "us-co",
        "2023-03-01",
    ));
    assert_eq!(
        verdict(&ask(&e, "h100-cn", "2023-06-01")),
        (Outcome::LicenceRequired, vec!["us-ear-2022-10/3a090-china"])
    );
    for later in ["2024-01-01", "2025-06-01", "2027-01-01"] {
        let ev = ask(&e, "h100-cn", later);
        assert_eq!(
            verdict(&ev),
            (Outcome::RedFlag, vec!["us-ear-2022-10/3a090-china"]),
            "{later}: {:?}",
            ev.findings
        );
        assert!(ev.findings[0].reason.contains("stay tainted"));
        assert!(ev.findings[0].reason.contains("from US to CN"));
    }
    // Under a licence that covered the purchase, nothing taints it.
    let e = engine(&format!(
        "{}licences = [\"bis-9\"]\n\n[[licence]]\nid = \"bis-9\"\nauthority = \"US-BIS\"\nholder = \"us-co\"\nvalid_from = 2023-01-01\nvalid_until = 2023-12-31\n",
        pool("h100-cn", "h100-sxm", "site-cn", "us-co", "2023-03-01")
    ));
    assert_eq!(
        ask(&e, "h100-cn", "2025-06-01").verdict.outcome,
        Outcome::Allowed
    );
}

/// 91 FR 1684 (2026-01-15): exports *from the US* of H200-class parts to China go to
/// case-by-case review; a buy candidate ships from the vendor's country of export unless it
/// says `ships_from`, and from elsewhere (a re-export) the presumption of denial stays.
#[test]
fn ear_2026_01_15_applies_to_candidates_by_where_they_ship_from() {
    let cand = |id: &str, ships: &str| {
        format!(
            "\n[[candidate]]\nid = \"{id}\"\naccelerator = \"h200-sxm\"\nsite = \"site-cn\"\nmode = \"buy\"\nprice = {{ amount = 30000, currency = \"USD\" }}\nenvelope = \"env\"\naccels_per_node = 8\n{ships}"
        )
    };
    let e = engine(
        &[
            "\n[[envelope]]\nid = \"env\"\nbudget = { amount = 1e9, currency = \"USD\" }\n"
                .to_string(),
            cand("from-vendor", ""),
            cand("from-us", "ships_from = \"US\"\n"),
            cand("from-sg", "ships_from = \"SG\"\n"),
        ]
        .concat(),
    );
    let date = "2026-03-01";
    for id in ["from-vendor", "from-us"] {
        // The H20 notice (parts reaching 4.0 TB/s) also asks for a licence.
        let ev = ask(&e, id, date);
        assert_eq!(ev.verdict.outcome, Outcome::LicenceRequired, "{id}");
        assert!(
            decided_by(&ev).contains(&"us-ear-2026-01/case-by-case-china"),
            "{id}: {:?}",
            ev.findings
        );
    }
    assert_eq!(
        verdict(&ask(&e, "from-sg", date)),
        (Outcome::Prohibited, vec!["us-ear-2023-10/d5-site"])
    );
    // Before the rule, all three are under the presumption of denial.
    assert_eq!(
        ask(&e, "from-us", "2026-01-14").verdict.outcome,
        Outcome::Prohibited
    );
}

/// 88 FR 73458 (PD = TPP / applicable die area): with the AD102's published 608.5 mm², the
/// L20 (TPP 1,912, PD 3.14) is outside 3A090, not "indeterminate" for want of a die area. Every
/// catalog part with public figures is classified; only the MLU590, with none published, is
/// left open (and says what is missing).
#[test]
fn every_catalog_part_with_public_figures_is_classified() {
    let cat = catalog();
    // Under the 2022 rule (TPP and interconnect) and the 2023 rule (TPP and PD).
    for (a, date) in cat
        .accelerators
        .iter()
        .flat_map(|a| ["2023-01-01", "2025-06-01"].map(|day| (a, day)))
    {
        let c = classify(a, d(date));
        if a.id == "mlu590" {
            assert_eq!(c.status, Status::Indeterminate);
            assert!(!c.missing.is_empty());
            continue;
        }
        assert_ne!(
            c.status,
            Status::Indeterminate,
            "{} on {date}: missing {:?}",
            a.id,
            c.missing
        );
    }
    // A TPP lower bound decides 3A090.a when it reaches 4,800 (the 910C's FP8 and INT8 are
    // unknown), and a per-chip TPP below 1,600 leaves a part outside 3A090 whatever its die
    // (the MLU370-X8's die area is not published).
    let c910 = classify(cat.get("ascend-910c").unwrap(), d("2025-06-01"));
    assert!(!c910.tpp_exact && c910.tpp.unwrap() >= 4800.0, "{c910:?}");
    assert_eq!(
        (c910.status, c910.eccn),
        (Status::Controlled, Some(xpufleet_comply::Eccn::A3090a))
    );
    assert!(
        c910.reason.contains("TPP at least 12480"),
        "{}",
        c910.reason
    );
    let mlu370 = classify(cat.get("mlu370-x8").unwrap(), d("2025-06-01"));
    assert_eq!(mlu370.status, Status::NotControlled, "{mlu370:?}");
    assert!(mlu370.tpp_exact && mlu370.tpp.unwrap() < 1600.0 && mlu370.pd.is_none());
    let l20 = classify(cat.get("l20").unwrap(), d("2025-06-01"));
    assert_eq!(l20.status, Status::NotControlled);
    assert!(
        (l20.pd.unwrap() - 1912.0 / 608.5).abs() < 1e-9,
        "{:?}",
        l20.pd
    );
}
