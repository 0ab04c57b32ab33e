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
        "data/rules/us-kyc-verification.toml",
        include_str!("../../../data/rules/us-kyc-verification.toml"),
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
    use xpufleet_comply::{Gate, UseKind, UseRequest};
    use xpufleet_model::Date;

    use crate::scenario::load_scenario;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
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

    // The tests of each shipped rule, tied to its citation, and of the engine's licence, limit
    // and verification logic live in crates/comply/tests/it.

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
}
