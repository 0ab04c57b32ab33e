//! A small synthetic scenario to test rules against: entities headquartered where the rules
//! look, one site per country of interest, and a custom 3A090.b part. Tests add pools.

use xpufleet_comply::{Evaluation, Outcome, RuleEngine, RuleSet, UseKind, UseRequest};
use xpufleet_io::rules::{builtin_rule_set, rule_set};
use xpufleet_io::scenario::{builtin_catalog, parse_scenario};
use xpufleet_model::{Catalog, Date};

pub fn d(s: &str) -> Date {
    s.parse().expect("a test date")
}

const BASE: &str = r#"
name = "rules fixture"
date = 2025-01-01
company = "us-co"

[[entity]]
id = "us-co"
name = "US company"
hq_country = "US"

[[entity]]
id = "cn-co"
name = "PRC company"
hq_country = "CN"

[[entity]]
id = "cn-sub-sg"
name = "Singapore subsidiary of a PRC company"
hq_country = "SG"
parent = "cn-co"

[[entity]]
id = "my-co"
name = "Malaysian operator"
hq_country = "MY"

[[entity]]
id = "sg-co"
name = "Singapore company"
hq_country = "SG"

[[accelerator]]
id = "b-part"
vendor = "Test"
vendor_country = "US"
name = "3A090.b test part (TPP 3200, PD 2.0)"
family = "hopper"
data_center = true
tflops_bf16 = 200
tflops_fp16 = 200
fp8_tflops = "-"
int8_tops = "-"
memory_gb = 64
memory_tbps = 1.0
interconnect_gbps = 200
power_w = 300
die_mm2 = 1600
price_usd = "?"

[[accelerator]]
id = "gaming"
vendor = "Test"
vendor_country = "US"
name = "Gaming part above TPP 4800"
family = "ada"
data_center = false
tflops_bf16 = 400
tflops_fp16 = 400
fp8_tflops = "-"
int8_tops = "-"
memory_gb = 24
memory_tbps = 1.0
interconnect_gbps = "-"
power_w = 450
die_mm2 = 600
price_usd = "?"
"#;

const COUNTRIES: &[&str] = &[
    "US", "CN", "HK", "MO", "RU", "MY", "SG", "IL", "SA", "VN", "NI", "JP",
];

/// The scenario text: the base, a site per country ("site-cn", ...), and `extra`.
pub fn scenario_text(extra: &str) -> String {
    let mut s = BASE.to_string();
    for c in COUNTRIES {
        let lc = c.to_ascii_lowercase();
        s.push_str(&format!(
            "\n[[site]]\nid = \"site-{lc}\"\ncountry = \"{c}\"\ntenure = \"owned\"\nowner = \"us-co\"\noperator = \"us-co\"\npower_mw = 10\npue = 1.2\nelectricity_per_kwh = {{ amount = 0.1, currency = \"USD\" }}\n"
        ));
    }
    s.push_str(extra);
    s
}

pub fn catalog() -> Catalog {
    builtin_catalog()
}

/// An engine over the built-in packs (plus `packs`, bound after them) for the fixture and
/// `extra`.
pub fn engine_with(extra: &str, packs: &[&str]) -> RuleEngine {
    let text = scenario_text(extra);
    let scenario = parse_scenario(&text, "fixture.toml").unwrap_or_else(|e| panic!("{e}\n{text}"));
    let mut catalog = catalog();
    assert!(catalog.apply(&scenario.accelerators).is_empty());
    let set: RuleSet = if packs.is_empty() {
        builtin_rule_set()
    } else {
        let files: Vec<(String, String)> = packs
            .iter()
            .enumerate()
            .map(|(i, p)| (format!("pack{i}.toml"), p.to_string()))
            .collect();
        rule_set(&files).unwrap_or_else(|e| panic!("{e}"))
    };
    RuleEngine::new(set, &scenario, &catalog)
}

pub fn engine(extra: &str) -> RuleEngine {
    engine_with(extra, &[])
}

/// A bought pool of 8 `accel` at `site`, owned by `owner`, bought on `bought`.
pub fn pool(id: &str, accel: &str, site: &str, owner: &str, bought: &str) -> String {
    format!(
        "\n[[pool]]\nid = \"{id}\"\nsite = \"{site}\"\naccelerator = \"{accel}\"\nnodes = 1\naccels_per_node = 8\nscaleup_domain = 8\nowner = \"{owner}\"\nacquisition = {{ kind = \"bought\", price = {{ amount = 1, currency = \"USD\" }}, date = {bought} }}\n"
    )
}

/// Evaluates `target` for `user` in the target's own mode on `date`.
pub fn ask_as(e: &RuleEngine, user: &str, target: &str, date: &str) -> Evaluation {
    let kind = e
        .pool_mode(target)
        .or_else(|| e.candidate_mode(target))
        .unwrap_or(UseKind::Own);
    e.evaluate(&UseRequest {
        user: user.into(),
        target: target.into(),
        kind,
        workload_flops: None,
        date: d(date),
    })
}

pub fn ask(e: &RuleEngine, target: &str, date: &str) -> Evaluation {
    ask_as(e, "us-co", target, date)
}

pub fn decided_by(ev: &Evaluation) -> Vec<&str> {
    ev.verdict.rules.iter().map(String::as_str).collect()
}

/// The outcome and the deciding rules, for one-line assertions.
pub fn verdict(ev: &Evaluation) -> (Outcome, Vec<&str>) {
    (ev.verdict.outcome, decided_by(ev))
}

pub fn has_notice(ev: &Evaluation, rule: &str) -> bool {
    ev.notices.iter().any(|n| n.rule == rule)
}
