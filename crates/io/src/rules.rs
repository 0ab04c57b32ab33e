//! Rule packs: reading versioned export-control rule files (`data/rules/*.toml`, built in, and
//! users' own files), with every problem located at file:line:col, the field, and what was
//! expected.

use std::path::{Path, PathBuf};

use xpufleet_comply::{RuleEngine, RulePack, RuleSet};

use crate::diag::{Diagnostic, Diagnostics, SpanIndex};
use crate::scenario::{toml_diag, LoadedScenario};

/// The shipped packs, in the order they are bound (later packs override earlier ones by id).
pub const BUILTIN_RULE_PACKS: &[(&str, &str)] = &[
    (
        "data/rules/country-groups.toml",
        include_str!("../../../data/rules/country-groups.toml"),
    ),
    (
        "data/rules/us-is-informed-2022-08.toml",
        include_str!("../../../data/rules/us-is-informed-2022-08.toml"),
    ),
    (
        "data/rules/us-ear-2022-10.toml",
        include_str!("../../../data/rules/us-ear-2022-10.toml"),
    ),
    (
        "data/rules/us-ear-2023-10.toml",
        include_str!("../../../data/rules/us-ear-2023-10.toml"),
    ),
    (
        "data/rules/us-ear-2024-12-hbm.toml",
        include_str!("../../../data/rules/us-ear-2024-12-hbm.toml"),
    ),
    (
        "data/rules/us-ai-diffusion-2025-01.toml",
        include_str!("../../../data/rules/us-ai-diffusion-2025-01.toml"),
    ),
    (
        "data/rules/us-ear-2025-04-h20.toml",
        include_str!("../../../data/rules/us-ear-2025-04-h20.toml"),
    ),
    (
        "data/rules/us-guidance-2025-05.toml",
        include_str!("../../../data/rules/us-guidance-2025-05.toml"),
    ),
    (
        "data/rules/us-ear-2026-01.toml",
        include_str!("../../../data/rules/us-ear-2026-01.toml"),
    ),
    (
        "data/rules/my-stp-2025-07.toml",
        include_str!("../../../data/rules/my-stp-2025-07.toml"),
    ),
    (
        "data/rules/cn-guidance-2025.toml",
        include_str!("../../../data/rules/cn-guidance-2025.toml"),
    ),
];

/// Parses one pack's text (syntax and types; cross-pack checks happen in `rule_set`).
pub fn parse_rule_pack(text: &str, origin: &str) -> Result<RulePack, Diagnostics> {
    toml::from_str(text).map_err(|e| {
        let mut d = toml_diag(text, origin, &e);
        if let Some(span) = e.span() {
            if let Some(path) = SpanIndex::new(text).path_at(span.start) {
                if !path.is_empty() {
                    d = d.field(path);
                }
            }
        }
        d.into()
    })
}

/// Reads a pack file's text: (origin, text). A byte that is not UTF-8 is located (line and
/// column), like a syntax error.
pub fn read_rule_file(path: &Path) -> Result<(String, String), Diagnostics> {
    let origin = path.display().to_string();
    if let Err(e) = std::fs::metadata(path) {
        return Err(Diagnostic::new(&origin, format!("cannot read rule pack: {e}")).into());
    }
    crate::diag::read_text(path)
        .map(|t| (origin, t))
        .map_err(Diagnostics::from)
}

/// Binds the built-in packs and then `extra` packs (origin, text) in order; an extra pack's
/// rule or group replaces a built-in one with the same id. Every problem in every pack is
/// reported, each located.
pub fn rule_set(extra: &[(String, String)]) -> Result<RuleSet, Diagnostics> {
    let sources: Vec<(String, String)> = BUILTIN_RULE_PACKS
        .iter()
        .map(|(o, t)| (o.to_string(), t.to_string()))
        .chain(extra.iter().cloned())
        .collect();
    let mut diags = Diagnostics::default();
    let mut packs = vec![];
    for (origin, text) in &sources {
        match parse_rule_pack(text, origin) {
            Ok(p) => packs.push((origin, text, p)),
            Err(d) => diags.0.extend(d.0),
        }
    }
    if !diags.is_empty() {
        return Err(diags);
    }
    let list: Vec<RulePack> = packs.iter().map(|(_, _, p)| p.clone()).collect();
    RuleSet::new(list).map_err(|problems| {
        Diagnostics(
            problems
                .into_iter()
                .map(|p| {
                    let (origin, text, _) = &packs[p.pack];
                    let d = Diagnostic::new(origin, p.message).field(p.field.clone());
                    match SpanIndex::new(text).locate(&p.field) {
                        Some(span) => d.at_offset(text, span.start),
                        None => d,
                    }
                })
                .collect(),
        )
    })
}

/// The rule set for a scenario: the built-in packs, then the scenario's `rule_packs` (read
/// relative to the scenario file), then `extra_files` (`--rules FILE`), later ones overriding.
pub fn scenario_rule_set(
    s: &LoadedScenario,
    extra_files: &[PathBuf],
) -> Result<RuleSet, Diagnostics> {
    let mut extra = vec![];
    for rel in &s.scenario.rule_packs {
        extra.push(s.read_relative(rel).map_err(Diagnostics::from)?);
    }
    for f in extra_files {
        extra.push(read_rule_file(f)?);
    }
    rule_set(&extra)
}

/// The rule engine (the compliance `Gate`) for a loaded scenario; see `scenario_rule_set`.
pub fn rule_engine(s: &LoadedScenario, extra_files: &[PathBuf]) -> Result<RuleEngine, Diagnostics> {
    Ok(RuleEngine::new(
        scenario_rule_set(s, extra_files)?,
        &s.scenario,
        &s.catalog,
    ))
}

/// The built-in packs alone.
pub fn builtin_rule_set() -> RuleSet {
    rule_set(&[]).expect("the built-in rule packs bind (checked by tests)")
}

#[cfg(test)]
mod tests {
    /// Issue 17: one byte that is not UTF-8 in a rule pack is located, not an unlocated
    /// "stream did not contain valid UTF-8".
    #[test]
    fn a_non_utf8_byte_in_a_rule_pack_is_located() {
        let dir = std::env::temp_dir().join(format!("xpufleet-rules-utf8-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("bad.toml");
        let mut bytes = b"[pack]\nid = \"p\"\n# caf".to_vec();
        bytes.push(0xE9);
        bytes.extend_from_slice(b"\n");
        std::fs::write(&path, &bytes).unwrap();
        let d = super::read_rule_file(&path).unwrap_err();
        let first = &d.0[0];
        assert_eq!((first.line, first.column), (Some(3), Some(6)), "{d}");
        assert!(d.to_string().contains("0xE9 is not UTF-8"), "{d}");
        // A missing file is still a plain, unlocated read error.
        let d = super::read_rule_file(&dir.join("missing.toml")).unwrap_err();
        assert!(d.to_string().contains("cannot read rule pack"), "{d}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    use super::*;
    use xpufleet_comply::{Gate, Outcome, UseKind, UseRequest};
    use xpufleet_model::{Date, Licence};

    use crate::scenario::load_scenario;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

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

    #[test]
    fn builtin_packs_bind_and_define_the_groups() {
        let set = builtin_rule_set();
        assert!(set.in_group("CN", "D:5"));
        assert!(set.in_group("HK", "D:5"));
        assert!(set.in_group("MO", "Macau"));
        assert!(set.in_group("MY", "Tier 2"));
        assert!(set.in_group("CN", "Tier 3"));
        assert!(set.in_group("JP", "Tier 1"));
        assert!(!set.in_group("MY", "D:5"));
        for r in &set.rules {
            assert!(!r.rule.summary.is_empty(), "{} has a summary", r.id);
            assert!(!r.citation.document.is_empty(), "{} is cited", r.id);
        }
    }

    // The tests of each shipped rule, tied to its citation, live in crates/comply/tests/it.

    #[test]
    fn user_pack_overrides_a_builtin_rule() {
        let pack = r#"
[pack]
id = "us-ear-2025-04-h20"
version = 2
jurisdiction = "US"
citation = { document = "correction", date = 2025-04-09 }

[[rule]]
id = "h20-china-d5"
summary = "corrected: lifted"
effective_from = 2025-04-09
effective_to = 2025-04-10
when = { accelerator = ["h20"] }
outcome = "licence-required"
"#;
        let set = rule_set(&[("fix.toml".into(), pack.into())]).unwrap();
        let s = load_scenario(None, None).unwrap();
        let e = RuleEngine::new(set, &s.scenario, &s.catalog);
        let v = e.verdict(&UseRequest {
            user: "acme-ai".into(),
            target: "cn-h20-buy".into(),
            kind: UseKind::Own,
            workload_flops: None,
            date: d("2025-06-01"),
        });
        // The corrected rule no longer decides; the pack's other rule (the HQ prong) still does.
        assert!(
            !v.rules
                .iter()
                .any(|r| r == "us-ear-2025-04-h20/h20-china-d5"),
            "{v:?}"
        );
        assert_eq!(v.rules, vec!["us-ear-2025-04-h20/h20-hq"]);
    }

    #[test]
    fn malformed_packs_give_located_errors() {
        let bad_outcome = "[pack]\nid = \"p\"\nversion = 1\njurisdiction = \"US\"\ncitation = { document = \"d\", date = 2025-01-01 }\n\n[[rule]]\nid = \"r\"\nsummary = \"s\"\neffective_from = 2025-01-01\noutcome = \"licence-requred\"\n";
        let e = rule_set(&[("bad.toml".into(), bad_outcome.into())]).unwrap_err();
        let s = e.to_string();
        assert!(s.starts_with("bad.toml:11:"), "{s}");
        assert!(
            s.contains("rule[0].outcome") || s.contains("rule[0]"),
            "{s}"
        );
        assert!(
            s.contains("licence-required"),
            "says what was expected: {s}"
        );

        let unknown_field = bad_outcome.replace(
            "outcome = \"licence-requred\"",
            "outcome = \"notice\"\ncolour = 1",
        );
        let s = rule_set(&[("f.toml".into(), unknown_field)])
            .unwrap_err()
            .to_string();
        assert!(s.starts_with("f.toml:12:"), "{s}");
        assert!(s.contains("colour"), "{s}");

        let bad_group = bad_outcome.replace(
            "outcome = \"licence-requred\"",
            "outcome = \"notice\"\nwhen = { site_group = [\"D:9\"] }",
        );
        let s = rule_set(&[("g.toml".into(), bad_group)])
            .unwrap_err()
            .to_string();
        assert!(s.starts_with("g.toml:12:"), "{s}");
        assert!(s.contains("rule[0].when.site_group[0]"), "{s}");
        assert!(
            s.contains("unknown country group \"D:9\"; expected one of"),
            "{s}"
        );

        let bad_dates = bad_outcome.replace(
            "outcome = \"licence-requred\"",
            "outcome = \"notice\"\neffective_to = 2024-01-01",
        );
        let s = rule_set(&[("h.toml".into(), bad_dates)])
            .unwrap_err()
            .to_string();
        assert!(s.starts_with("h.toml:12:"), "{s}");
        assert!(s.contains("effective_to"), "{s}");

        let bad_syntax = "[pack\nid = 1\n";
        let s = rule_set(&[("s.toml".into(), bad_syntax.into())])
            .unwrap_err()
            .to_string();
        assert!(s.starts_with("s.toml:1:"), "{s}");

        let missing = "[pack]\nid = \"p\"\nversion = 1\njurisdiction = \"US\"\n";
        let s = rule_set(&[("m.toml".into(), missing.into())])
            .unwrap_err()
            .to_string();
        assert!(s.contains("citation"), "{s}");
    }

    const TEST_PACK_HEAD: &str = "[pack]\nid = \"t\"\nversion = 1\njurisdiction = \"US\"\ncitation = { document = \"test\", date = 2024-01-01 }\n";

    fn engine_from(scenario: &str, pack: &str) -> RuleEngine {
        let s = crate::scenario::parse_scenario(scenario, "t.toml").unwrap();
        let set = rule_set(&[("t-pack.toml".into(), format!("{TEST_PACK_HEAD}{pack}"))]).unwrap();
        RuleEngine::new(set, &s, &crate::scenario::builtin_catalog())
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
            m.contains(
                "not valid on 2025-10-01 (AUDIT-JDC-2024-44 valid 2024-10-01 to 2025-09-30)"
            ),
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
}

/// Property: holding a licence never makes a verdict stricter, for the shipped packs plus one
/// random rule, over random sites, owners, chips, modes, dates and licences.
#[cfg(test)]
mod licence_property {
    use proptest::prelude::*;
    use xpufleet_comply::{Outcome, RuleEngine, UseKind, UseRequest};
    use xpufleet_model::Date;

    use super::rule_set;
    use crate::scenario::{builtin_catalog, parse_scenario};

    const COUNTRIES: [&str; 7] = ["CN", "MY", "US", "SG", "HK", "JP", "AE"];
    const CHIPS: [&str; 7] = [
        "h100-sxm",
        "h20",
        "a800-sxm",
        "ascend-910b",
        "mlu590",
        "b200",
        "mlu370-x8",
    ];
    // Restrictive outcomes twice, so that licences often have something to lift.
    const OUTCOMES: [&str; 8] = [
        "notice",
        "allowed",
        "licence-exception",
        "red-flag",
        "licence-required",
        "prohibited",
        "licence-required",
        "prohibited",
    ];

    #[derive(Debug, Clone)]
    struct Case {
        site: usize,
        owner_hq: usize,
        parent_hq: usize,
        user_hq: usize,
        chip: usize,
        pool: bool,
        bought: bool,
        acquired_day: i64,
        day: i64,
        authority: usize,
        holder: usize,
        lic_chip: usize,
        lic_country: usize,
        lic_from: i64,
        lic_len: i64,
        lic_max: Option<u64>,
        listed: bool,
        rule_outcome: usize,
        /// 0, 1: no condition; 2: the case's own value; 3: another.
        rule_site: usize,
        rule_hq: usize,
        rule_licensable: Option<bool>,
        rule_limit: Option<f64>,
    }

    fn case() -> impl Strategy<Value = Case> {
        (
            (0..7usize, 0..7usize, 0..7usize, 0..7usize, 0..7usize),
            (any::<bool>(), any::<bool>(), 0..1600i64, 0..1600i64),
            (
                0..5usize,
                0..4usize,
                0..4usize,
                0..4usize,
                -300..30i64,
                200..1000i64,
            ),
            (proptest::option::of(1..5000u64), any::<bool>()),
            (
                0..8usize,
                0..4usize,
                0..4usize,
                proptest::option::of(any::<bool>()),
                proptest::option::of(1e6..1e9f64),
            ),
        )
            .prop_map(|(a, b, c, d, e)| Case {
                site: a.0,
                owner_hq: a.1,
                parent_hq: a.2,
                user_hq: a.3,
                chip: a.4,
                pool: b.0,
                bought: b.1,
                acquired_day: b.2,
                day: b.3,
                authority: c.0,
                holder: c.1,
                lic_chip: c.2,
                lic_country: c.3,
                lic_from: c.4,
                lic_len: c.5,
                lic_max: d.0,
                listed: d.1,
                rule_outcome: e.0,
                rule_site: e.1,
                rule_hq: e.2,
                rule_licensable: e.3,
                rule_limit: e.4,
            })
    }

    fn day(n: i64) -> Date {
        Date::from_ymd(2022, 1, 1).unwrap().plus_days(n)
    }

    fn scenario_text(c: &Case, with_licence: bool) -> String {
        let site = COUNTRIES[c.site];
        let chip = CHIPS[c.chip];
        let listed = if c.listed && with_licence {
            "licences = [\"lic\"]"
        } else {
            ""
        };
        let target = if c.pool {
            let acq = if c.bought {
                format!(
                    "acquisition = {{ kind = \"bought\", price = {{ amount = 1, currency = \"USD\" }}, date = {} }}",
                    day(c.acquired_day)
                )
            } else {
                "acquisition = { kind = \"leased\", rate = { amount = 1, currency = \"USD\" }, from = \"op\" }".to_string()
            };
            format!(
                "[[pool]]\nid = \"t\"\nsite = \"s\"\naccelerator = \"{chip}\"\nnodes = 100\naccels_per_node = 8\nscaleup_domain = 8\n{acq}\n{listed}\n"
            )
        } else {
            let mode = if c.bought {
                "mode = \"buy\""
            } else {
                "mode = \"lease\"\nlessor = \"op\""
            };
            format!(
                "[[candidate]]\nid = \"t\"\naccelerator = \"{chip}\"\nsite = \"s\"\n{mode}\nprice = {{ amount = 1, currency = \"USD\" }}\nenvelope = \"e\"\naccels_per_node = 8\nmax_nodes = 100\n{listed}\n"
            )
        };
        let licence = if with_licence {
            // Mostly US licences: most shipped rules are US rules.
            let authority = ["US-BIS", "US-BIS", "US-BIS", "MY-MITI", "CN-MOFCOM"][c.authority];
            let holder = ["co", "op", "user", "someone"][c.holder];
            let accels = [
                String::new(),
                format!("\"{chip}\""),
                format!("\"{chip}\""),
                "\"other\"".into(),
            ][c.lic_chip]
                .clone();
            let countries = ["", &format!("\"{site}\""), &format!("\"{site}\""), "\"ZZ\""]
                [c.lic_country]
                .to_string();
            let max = c
                .lic_max
                .map_or(String::new(), |m| format!("max_accels = {m}"));
            format!(
                "[[licence]]\nid = \"lic\"\nauthority = \"{authority}\"\nholder = \"{holder}\"\naccelerators = [{accels}]\ncountries = [{countries}]\nvalid_from = {}\nvalid_until = {}\n{max}\n",
                day(c.day + c.lic_from),
                day(c.day + c.lic_from + c.lic_len)
            )
        } else {
            String::new()
        };
        format!(
            r#"name = "prop"
date = 2025-01-01
company = "co"

[[entity]]
id = "top"
name = "top"
hq_country = "{parent}"

[[entity]]
id = "co"
name = "co"
hq_country = "{owner}"
parent = "top"

[[entity]]
id = "op"
name = "op"
hq_country = "{site}"

[[entity]]
id = "user"
name = "user"
hq_country = "{user}"

[[site]]
id = "s"
country = "{site}"
tenure = "owned"
owner = "op"
operator = "op"
power_mw = 10
pue = 1.2
electricity_per_kwh = {{ amount = 0.1, currency = "USD" }}

[[envelope]]
id = "e"
budget = {{ amount = 1e9, currency = "USD" }}

{target}
{licence}
"#,
            parent = COUNTRIES[c.parent_hq],
            owner = COUNTRIES[c.owner_hq],
            user = COUNTRIES[c.user_hq],
        )
    }

    fn extra_pack(c: &Case) -> String {
        let mut when = vec![];
        let pick = |sel: usize, own: usize| match sel {
            2 => Some(COUNTRIES[own]),
            3 => Some(COUNTRIES[(own + 1) % COUNTRIES.len()]),
            _ => None,
        };
        if let Some(s) = pick(c.rule_site, c.site) {
            when.push(format!("site_country = [\"{s}\"]"));
        }
        if let Some(h) = pick(c.rule_hq, c.owner_hq) {
            when.push(format!("hq_country = [\"{h}\"]"));
        }
        let outcome = OUTCOMES[c.rule_outcome];
        let mut extra = String::new();
        if let Some(l) = c.rule_licensable {
            extra.push_str(&format!("licensable = {l}\n"));
        }
        if let (Some(t), true) = (c.rule_limit, c.rule_outcome <= 3) {
            extra.push_str(&format!(
                "limit = {{ tpp = {t}, per = \"country\", otherwise = \"prohibited\" }}\n"
            ));
        }
        format!(
            "[pack]\nid = \"random\"\nversion = 1\njurisdiction = \"US\"\ncitation = {{ document = \"d\", date = 2022-01-01 }}\n\n[[rule]]\nid = \"r\"\nsummary = \"s\"\neffective_from = 2022-06-01\nwhen = {{ {} }}\noutcome = \"{outcome}\"\n{extra}",
            when.join(", ")
        )
    }

    fn evaluate(c: &Case, with: bool) -> xpufleet_comply::Evaluation {
        let rules = rule_set(&[("random.toml".into(), extra_pack(c))]).unwrap();
        let user = if c.user_hq == c.owner_hq {
            "co"
        } else {
            "user"
        };
        let kind = if c.bought {
            UseKind::Own
        } else {
            UseKind::Remote
        };
        let req = UseRequest {
            user: user.into(),
            target: "t".into(),
            kind,
            workload_flops: None,
            date: day(c.day),
        };
        let s = parse_scenario(&scenario_text(c, with), "prop.toml").unwrap();
        RuleEngine::new(rules, &s, &builtin_catalog()).evaluate(&req)
    }

    /// The property below is not vacuous: in a sample of the same cases, licences do lift.
    #[test]
    fn licences_do_lift_in_the_sample() {
        use proptest::strategy::ValueTree;
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let mut lifted = 0;
        for _ in 0..128 {
            let c = case().new_tree(&mut runner).unwrap().current();
            if evaluate(&c, true)
                .findings
                .iter()
                .any(|f| f.lifted_by.is_some())
            {
                lifted += 1;
            }
        }
        assert!(
            lifted >= 5,
            "only {lifted} of 128 cases had a licence lift anything"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

        #[test]
        fn holding_a_licence_never_makes_a_verdict_stricter(c in case()) {
            let without = evaluate(&c, false);
            let with = evaluate(&c, true);
            prop_assert!(
                with.verdict.outcome <= without.verdict.outcome,
                "with {:?} > without {:?}: {:#?}",
                with.verdict.outcome,
                without.verdict.outcome,
                with.findings
            );
            prop_assert_eq!(with.verdict.verified, without.verdict.verified);
            for f in &with.findings {
                if let Some(g) = without.findings.iter().find(|g| g.rule == f.rule) {
                    prop_assert!(f.outcome <= g.outcome, "{} got stricter", f.rule);
                } else {
                    prop_assert!(f.outcome == Outcome::Allowed, "{} appeared", f.rule);
                }
            }
        }
    }
}
