//! The engine's licence, licence-exception limit and verification logic on small scenarios and
//! the shipped example (moved here from `xpufleet-io`'s unit tests: comply's tests live in
//! comply).

use xpufleet_comply::{Gate, Outcome, RuleEngine, UseKind, UseRequest};
use xpufleet_io::rules::{builtin_rule_set, rule_set};
use xpufleet_io::scenario::{builtin_catalog, load_scenario, parse_scenario};
use xpufleet_model::Licence;

use crate::fixture::d;

fn engine() -> RuleEngine {
    let s = load_scenario(None, None).unwrap();
    RuleEngine::new(builtin_rule_set(), &s.scenario, &s.catalog)
}

fn ask(
    e: &RuleEngine,
    user: &str,
    target: &str,
    kind: UseKind,
    date: &str,
) -> xpufleet_comply::Evaluation {
    e.evaluate(&UseRequest {
        user: user.into(),
        target: target.into(),
        kind,
        workload_flops: None,
        date: d(date),
    })
}

const TEST_PACK_HEAD: &str = "[pack]\nid = \"t\"\nversion = 1\njurisdiction = \"US\"\ncitation = { document = \"test\", date = 2024-01-01 }\n";

fn engine_from(scenario: &str, pack: &str) -> RuleEngine {
    let s = parse_scenario(scenario, "t.toml").unwrap();
    let set = rule_set(&[("t-pack.toml".into(), format!("{TEST_PACK_HEAD}{pack}"))]).unwrap();
    RuleEngine::new(set, &s, &builtin_catalog())
}

const MY_FLEET: &str = r#"name = "lpp"
date = 2025-01-01
company = "myco"

[[entity]]
id = "myco"
name = "MY Co"
hq_country = "MY"

[[site]]
id = "kl"
country = "MY"
tenure = "owned"
owner = "myco"
operator = "myco"
power_mw = 50
pue = 1.3
electricity_per_kwh = { amount = 0.1, currency = "USD" }

[[site.verification]]
role = "owner"
entity = "myco"
verified_by = "audit"
date = 2024-01-01
evidence = "E-1"
valid_until = 2025-12-31
hq_country = "SG"

[[envelope]]
id = "e"
budget = { amount = 1e9, currency = "USD" }

[[pool]]
id = "first"
site = "kl"
accelerator = "h100-sxm"
nodes = 125
accels_per_node = 8
scaleup_domain = 8
acquisition = { kind = "bought", price = { amount = 1, currency = "USD" }, date = 2025-02-01 }

[[pool]]
id = "second"
site = "kl"
accelerator = "h100-sxm"
nodes = 125
accels_per_node = 8
scaleup_domain = 8
acquisition = { kind = "bought", price = { amount = 1, currency = "USD" }, date = 2025-03-01 }

[[candidate]]
id = "more"
accelerator = "h100-sxm"
site = "kl"
mode = "buy"
price = { amount = 1, currency = "USD" }
envelope = "e"
accels_per_node = 8
"#;

#[test]
fn licence_exception_limits_count_across_the_scenario_in_file_order() {
    let pack = r#"
[[rule]]
id = "lpp"
summary = "LPP within 26.9M TPP per consignee-year"
effective_from = 2025-01-01
when = { eccn = ["3A090.a"], site_country = ["MY"], mode = ["own"] }
outcome = "licence-exception"
exception = "LPP"
limit = { tpp = 26.9e6, per = "consignee-year", otherwise = "licence-required" }
"#;
    let e = engine_from(MY_FLEET, pack);
    // 1000 H100 = 15.8M TPP: within; the next 1000 take it to 31.7M: beyond.
    let first = ask(&e, "myco", "first", UseKind::Own, "2025-06-01");
    assert_eq!(first.verdict.outcome, Outcome::LicenceException);
    assert_eq!(first.findings[0].exception.as_deref(), Some("LPP"));
    assert_eq!(first.limits[0].used_tpp, 0.0);
    assert_eq!(first.limits[0].this_tpp, Some(15_832_000.0));
    let second = ask(&e, "myco", "second", UseKind::Own, "2025-06-01");
    assert_eq!(second.verdict.outcome, Outcome::LicenceRequired);
    assert_eq!(second.limits[0].used_tpp, 15_832_000.0);
    assert!(second.limits[0].exceeded);
    // A candidate of unknown size sees the headroom left after every pool: none.
    let more = ask(&e, "myco", "more", UseKind::Own, "2025-06-01");
    assert_eq!(more.verdict.outcome, Outcome::LicenceRequired);
    assert_eq!(more.limits[0].headroom_tpp, 0.0);
    assert_eq!(more.limits[0].scope, "consignee myco, 2025");
    // A country cap counts every owner's pools in the country.
    let cap = r#"
[[rule]]
id = "cap"
summary = "country cap 20M TPP"
effective_from = 2025-01-01
when = { eccn = ["3A090.a"], site_country = ["MY"], mode = ["own"] }
outcome = "allowed"
limit = { tpp = 20e6, per = "country", otherwise = "prohibited" }
"#;
    let e = engine_from(MY_FLEET, cap);
    assert_eq!(
        ask(&e, "myco", "first", UseKind::Own, "2025-06-01")
            .verdict
            .outcome,
        Outcome::Allowed
    );
    let second = ask(&e, "myco", "second", UseKind::Own, "2025-06-01");
    assert_eq!(second.verdict.outcome, Outcome::Prohibited);
    assert_eq!(second.limits[0].scope, "country MY");
}

#[test]
fn verification_missing_expired_or_mismatched_makes_a_target_unverified() {
    let e = engine_from(MY_FLEET, "");
    let ev = ask(&e, "myco", "first", UseKind::Own, "2025-06-01");
    assert!(!ev.verdict.verified);
    assert!(!ev.verdict.usable());
    let m = ev.verification.missing.join("\n");
    assert!(
        m.contains("E-1 records HQ SG, but myco is headquartered in MY"),
        "{m}"
    );
    assert!(m.contains("no operator verification of myco at kl"), "{m}");
    let summary = ev.verdict.summary();
    assert!(
        summary.starts_with("unverified: owner verification E-1 records HQ SG"),
        "{summary}"
    );
    // The example's Malaysian records expire on 2025-09-30.
    let e = engine();
    let ev = ask(&e, "acme-sg", "my-h100", UseKind::Remote, "2025-10-01");
    assert!(!ev.verdict.verified);
    let m = ev.verification.missing.join("\n");
    assert!(
        m.contains("not valid on 2025-10-01 (AUDIT-JDC-2024-44 valid 2024-10-01 to 2025-09-30)"),
        "{m}"
    );
    // Chips outside 3A090 need no verification.
    let ev = ask(&e, "acme-ai", "cn-h20", UseKind::Own, "2024-06-01");
    assert!(!ev.verification.required && ev.verdict.verified);
}

#[test]
fn an_unknown_target_is_prohibited_and_unverified() {
    let e = engine();
    let v = e.verdict(&UseRequest {
        user: "acme-ai".into(),
        target: "ghost".into(),
        kind: UseKind::Own,
        workload_flops: None,
        date: d("2025-06-01"),
    });
    assert_eq!(v.outcome, Outcome::Prohibited);
    assert!(!v.verified);
    assert!(v.reasons[0].contains("neither a pool nor a candidate"));
}

#[test]
fn an_unknown_workload_is_not_guessed() {
    let pack = r#"
[[rule]]
id = "big-training"
summary = "training above 1e26 operations"
effective_from = 2025-01-01
when = { min_workload_flops = 1e26 }
outcome = "licence-required"
"#;
    let e = engine_from(MY_FLEET, pack);
    let at = |flops: Option<f64>| {
        e.evaluate(&UseRequest {
            user: "myco".into(),
            target: "first".into(),
            kind: UseKind::Own,
            workload_flops: flops,
            date: d("2025-06-01"),
        })
    };
    assert_eq!(at(Some(1e25)).verdict.outcome, Outcome::Allowed);
    assert_eq!(at(Some(2e26)).verdict.outcome, Outcome::LicenceRequired);
    let unknown = at(None);
    assert_eq!(unknown.verdict.outcome, Outcome::RedFlag);
    assert!(!unknown.findings[0].certain);
    assert!(unknown.findings[0]
        .reason
        .contains("training operations are unknown"));
}

#[test]
fn a_licence_lifts_the_hq_rule_for_the_candidate_it_names() {
    let mut s = load_scenario(None, None).unwrap();
    s.scenario.licences.push(Licence {
        id: "bis-1".into(),
        authority: "US-BIS".into(),
        holder: "acme-ai".into(),
        accelerators: vec!["h100-sxm".into()],
        countries: vec!["MY".into()],
        valid_from: d("2024-01-01"),
        valid_until: d("2026-12-31"),
        max_accels: None,
        quantity: None,
        value: None,
        reference: String::new(),
    });
    let e = RuleEngine::new(builtin_rule_set(), &s.scenario, &s.catalog);
    let ev = ask(&e, "acme-ai", "my-h100-buy", UseKind::Own, "2024-06-01");
    assert_eq!(ev.verdict.outcome, Outcome::Allowed);
    assert_eq!(ev.verdict.rules, vec!["us-ear-2023-10/hq-d5"]);
    // It does not cover China.
    let ev = ask(&e, "acme-ai", "cn-h100-buy", UseKind::Own, "2024-06-01");
    assert_eq!(ev.verdict.outcome, Outcome::Prohibited);
}
