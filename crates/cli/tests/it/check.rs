//! `xpufleet check` end to end: golden verdicts on the built-in example on four dates, and
//! targeted assertions that each change happens on the right date and cites its rule.
//!
//! Golden files live in `crates/cli/tests/golden/check-DATE.json`; `UPDATE_GOLDEN=1 cargo test
//! -p xpufleet --test it check` rewrites them (review the diff before committing).

#[allow(unused_imports)]
use crate::support::*;

use serde_json::Value;

const DATES: [&str; 4] = ["2024-06-01", "2025-03-01", "2025-06-01", "2025-08-01"];

fn check_json(args: &[&str]) -> (String, Value) {
    let mut all = vec!["check", "--json"];
    all.extend_from_slice(args);
    let o = xpufleet(&all);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    let v = serde_json::from_str(&text).expect("JSON");
    (text, v)
}

/// The evaluation of `target` (for `user`, when a pool) in a report.
fn find<'a>(report: &'a Value, target: &str, user: Option<&str>) -> &'a Value {
    report["uses"]
        .as_array()
        .unwrap()
        .iter()
        .chain(report["candidates"].as_array().unwrap())
        .find(|u| {
            u["target"] == target
                && match user {
                    None => true,
                    Some(x) => u["user"] == x,
                }
        })
        .unwrap_or_else(|| panic!("{target} in the report"))
}

fn outcome(report: &Value, target: &str, user: Option<&str>) -> (String, Vec<String>, bool) {
    let u = find(report, target, user);
    let v = &u["verdict"];
    (
        v["outcome"].as_str().unwrap().to_string(),
        v["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap().to_string())
            .collect(),
        v["verified"].as_bool().unwrap(),
    )
}

#[test]
fn golden_verdicts_on_four_dates() {
    let dir = repo().join("crates/cli/tests/golden");
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut stale = vec![];
    for date in DATES {
        let (text, _) = check_json(&["--as-of", date]);
        let path = dir.join(format!("check-{date}.json"));
        if update {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &text).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_GOLDEN=1)", path.display()));
        if want != text {
            stale.push(path.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "output differs from {stale:?}; rerun with UPDATE_GOLDEN=1 and review the diff"
    );
}

#[test]
fn verdicts_change_on_the_right_dates_each_citing_its_rule() {
    let r: Vec<Value> = DATES
        .iter()
        .map(|d| check_json(&["--as-of", d]).1)
        .collect();
    let [d2024, d2025_03, d2025_06, d2025_08] = [&r[0], &r[1], &r[2], &r[3]];

    // H20 purchases for China: allowed before 2025-04-09, licence-required after.
    assert_eq!(outcome(d2025_03, "cn-h20-buy", None).0, "allowed");
    let (o, rules, _) = outcome(d2025_06, "cn-h20-buy", None);
    assert_eq!(o, "licence-required");
    // The 2025-04-15 8-K: the destination prong and the headquarters prong (acme-ai is CN).
    assert_eq!(
        rules,
        [
            "us-ear-2025-04-h20/h20-china-d5",
            "us-ear-2025-04-h20/h20-hq"
        ]
    );
    // The pool bought in 2024 stays allowed.
    assert_eq!(outcome(d2025_06, "cn-h20", Some("acme-ai")).0, "allowed");

    // A800 bought in 2022 is 3A090.a now but was exported before the 2023 rule.
    let a800 = find(d2024, "cn-a800", Some("acme-ai"));
    assert_eq!(a800["classification"]["eccn"], "3A090.a");
    assert_eq!(a800["verdict"]["outcome"], "allowed");

    // H100 bought for China: prohibited (presumption of denial) on every date.
    for rep in [d2024, d2025_03, d2025_06, d2025_08] {
        let (o, rules, _) = outcome(rep, "cn-h100-buy", None);
        assert_eq!(o, "prohibited");
        assert_eq!(rules, ["us-ear-2023-10/d5-site"]);
    }
    // H100 bought for Malaysia by a CN company: the HQ rule, with what would lift it.
    let buy = find(d2025_03, "my-h100-buy", None);
    assert_eq!(buy["verdict"]["outcome"], "licence-required");
    let w = buy["verdict"]["would_change"].as_str().unwrap();
    assert!(w.starts_with("licence-required by us-ear-2023-10/hq-d5: a US licence covering it, an owner not headquartered in D:5/Macau"), "{w}");

    // Ascend: red flag from the 2025-05-13 guidance.
    assert_eq!(outcome(d2025_03, "cn-910b", Some("acme-ai")).0, "allowed");
    let (o, rules, _) = outcome(d2025_06, "cn-910b", Some("acme-ai"));
    assert_eq!(o, "red-flag");
    assert!(rules.contains(&"us-guidance-2025-05/ascend-gp10".to_string()));

    // Leased H100 in Malaysia for a CN-parented tenant: allowed, then a red flag (IaaS for
    // D:5-HQ). Malaysia's permit is for chips leaving Malaysia, not for deployment there: a
    // notice, not a finding.
    assert_eq!(
        outcome(d2025_03, "my-h100", Some("acme-sg")),
        ("allowed".into(), vec![], true)
    );
    let (o, rules, _) = outcome(d2025_06, "my-h100", Some("acme-sg"));
    assert_eq!(
        (o.as_str(), rules),
        (
            "red-flag",
            vec!["us-guidance-2025-05/iaas-training-d5-hq".to_string()]
        )
    );
    let aug = find(d2025_08, "my-h100", Some("acme-sg"));
    assert!(!aug["findings"].to_string().contains("my-stp-2025-07"));
    assert!(aug["notices"]
        .to_string()
        .contains("my-stp-2025-07/us-ai-chips-notice"));

    // The overflow pool: a red flag for the CN-parented tenant, and never verified.
    let (o, rules, verified) = outcome(d2025_08, "my-h200-overflow", Some("acme-sg"));
    assert_eq!(o, "red-flag");
    assert_eq!(rules, ["us-guidance-2025-05/iaas-training-d5-hq"]);
    assert!(!verified);
    let unverified: Vec<&str> = d2025_08["unverified"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["target"].as_str().unwrap())
        .collect();
    assert!(unverified.contains(&"my-h200-overflow"), "{unverified:?}");
    assert!(unverified.contains(&"my-h100-buy"), "{unverified:?}");
    assert!(!unverified.contains(&"my-h100"), "{unverified:?}");

    // MLU590: unknown figures make the PRC-chip guidance undecidable: a red flag, indeterminate.
    let mlu = find(d2025_06, "cn-mlu590-buy", None);
    assert_eq!(mlu["classification"]["status"], "indeterminate");
    assert_eq!(mlu["verdict"]["outcome"], "red-flag");
    assert_eq!(mlu["findings"][0]["certain"], false);
    assert_eq!(outcome(d2025_03, "cn-mlu590-buy", None).0, "allowed");

    // AI Diffusion: notices before the rescission, never a binding verdict.
    let notices = find(d2025_03, "my-h100-buy", None)["notices"].to_string();
    assert!(
        notices.contains("us-ai-diffusion-2025-01/d5-hq-no-exception"),
        "{notices}"
    );
    assert!(!find(d2025_06, "my-h100-buy", None)["notices"]
        .to_string()
        .contains("us-ai-diffusion"));
}

#[test]
fn text_output_lists_rules_citations_and_unverified() {
    let o = xpufleet(&["check", "--as-of", "2025-08-01"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("Compliance check of capex-2025 as of 2025-08-01"),
        "{out}"
    );
    assert!(
        out.contains("citation: BIS interim final rule, 88 FR 73458"),
        "{out}"
    );
    assert!(
        out.contains("would change: a US licence covering it"),
        "{out}"
    );
    assert!(
        out.contains("my-h200-overflow (pool at my-cyberjaya):"),
        "{out}"
    );
    assert!(
        out.contains("no owner verification of sg-neocloud at my-cyberjaya"),
        "{out}"
    );
    assert!(out.contains("not legal advice"), "{out}");
}

#[test]
fn scenario_rule_packs_and_rules_flag_override_builtins() {
    let d = scratch("check-rule-packs");
    let scenario = xpufleet_io_example().replace(
        "company = \"acme-ai\"",
        "company = \"acme-ai\"\nrule_packs = [\"local.toml\"]",
    );
    std::fs::write(d.join("s.toml"), scenario).unwrap();
    // The local pack lifts both H20 rules by ending them early.
    std::fs::write(
        d.join("local.toml"),
        r#"[pack]
id = "us-ear-2025-04-h20"
version = 3
jurisdiction = "US"
citation = { document = "local correction", date = 2025-04-09 }

[[rule]]
id = "h20-china-d5"
summary = "corrected"
effective_from = 2025-04-09
effective_to = 2025-04-10
when = { accelerator = ["h20"] }
outcome = "licence-required"

[[rule]]
id = "h20-hq"
summary = "corrected"
effective_from = 2025-04-09
effective_to = 2025-04-10
when = { accelerator = ["h20"] }
outcome = "licence-required"
"#,
    )
    .unwrap();
    let s = d.join("s.toml");
    let (_, v) = check_json(&[s.to_str().unwrap(), "--as-of", "2025-06-01"]);
    assert_eq!(outcome(&v, "cn-h20-buy", None).0, "allowed");
    let packs = v["rule_packs"].to_string();
    assert!(packs.contains("\"version\":3"), "{packs}");
    // --rules comes last and wins.
    std::fs::write(
        d.join("strict.toml"),
        r#"[pack]
id = "extra"
version = 1
jurisdiction = "US"
citation = { document = "house policy", date = 2025-01-01 }

[[rule]]
id = "no-h20"
summary = "house policy: no H20"
effective_from = 2025-01-01
when = { accelerator = ["h20"], mode = ["own"] }
outcome = "prohibited"
licensable = false
"#,
    )
    .unwrap();
    let strict = d.join("strict.toml");
    let (_, v) = check_json(&[
        s.to_str().unwrap(),
        "--as-of",
        "2025-06-01",
        "--rules",
        strict.to_str().unwrap(),
    ]);
    let (o, rules, _) = outcome(&v, "cn-h20-buy", None);
    assert_eq!(
        (o.as_str(), rules),
        ("prohibited", vec!["extra/no-h20".to_string()])
    );
}

#[test]
fn malformed_rule_pack_is_located_and_exits_2() {
    let d = scratch("check-bad-pack");
    let bad = d.join("bad.toml");
    std::fs::write(
        &bad,
        "[pack]\nid = \"p\"\nversion = 1\njurisdiction = \"US\"\ncitation = { document = \"d\", date = 2025-01-01 }\n\n[[rule]]\nid = \"r\"\nsummary = \"s\"\neffective_from = 2025-01-01\noutcome = \"maybe\"\n",
    )
    .unwrap();
    let o = xpufleet(&["check", "--rules", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains("bad.toml:11:"), "{err}");
    assert!(
        err.contains("licence-required"),
        "says what was expected: {err}"
    );
    let o = xpufleet(&["check", "--rules", d.join("missing.toml").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("cannot read rule pack"),
        "{}",
        stderr(&o)
    );
}

/// The built-in example's text, for tests that edit it.
fn xpufleet_io_example() -> String {
    std::fs::read_to_string(repo().join("examples/capex-2025.toml")).unwrap()
}

#[test]
fn screening_flag_reports_hits_with_list_and_entry() {
    let list = repo().join("data/screening/synthetic-csl.csv");
    let (_, v) = check_json(&[
        "--as-of",
        "2025-08-01",
        "--screening",
        list.to_str().unwrap(),
    ]);
    let hits = v["screening"]["hits"].as_array().unwrap();
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0]["entity"], "sg-neocloud");
    assert_eq!(hits[0]["entry_id"], "SYN-001");
    assert_eq!(v["screening"]["threshold"], 0.88);
    let (o, rules, _) = outcome(&v, "my-h200-overflow", Some("acme-sg"));
    assert_eq!(o, "red-flag");
    assert!(
        rules.contains(&"screening/SYN-001".to_string()),
        "{rules:?}"
    );
    // Without the flag there is no screening section (the contract of `check --json` holds).
    let (_, v) = check_json(&["--as-of", "2025-08-01"]);
    assert!(v.get("screening").is_none());
    // A bad list is bad input: exit 2 with the file and line.
    let d = scratch("check-screening");
    let bad = d.join("bad.csv");
    std::fs::write(&bad, "name,source,start_date\nX,EL,someday\n").unwrap();
    let o = xpufleet(&["check", "--screening", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("bad.csv:2"), "{}", stderr(&o));
}

/// Issue 24 item 4: `check --screening NEW --screening-previous OLD` reports the hits that are
/// new and those cleared, and names both lists' SHA-256 and the matcher version, so the answer
/// can be reproduced from (lists, matcher, input).
#[test]
fn screening_previous_reports_new_and_cleared_hits_with_digests() {
    let new = repo().join("data/screening/synthetic-csl.csv");
    let d = scratch("check-rescreening");
    let old = d.join("old.csv");
    let header = std::fs::read_to_string(&new)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_string();
    // The previous version listed the Johor operator, and not yet the Singapore lessor.
    let old_text = format!(
        "{header}\nOLD-1,Entity List (EL) - Bureau of Industry and Security,,Entity,,JOHOR DATA CENTRES BHD (EXAMPLE THIRD-PARTY OPERATOR),,,,2024-01-01,,,,,,,,,,,Synthetic.,,,,,,,,\n"
    );
    std::fs::write(&old, &old_text).unwrap();
    let args = [
        "--as-of",
        "2025-08-01",
        "--screening",
        new.to_str().unwrap(),
        "--screening-previous",
        old.to_str().unwrap(),
    ];
    let (_, v) = check_json(&args);
    let s = &v["screening"];
    let ids = |k: &str| -> Vec<(String, String)> {
        s[k].as_array()
            .unwrap_or_else(|| panic!("{k}: {s}"))
            .iter()
            .map(|h| {
                (
                    h["entity"].as_str().unwrap().to_string(),
                    h["entry_id"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    assert_eq!(ids("new_hits"), [("sg-neocloud".into(), "SYN-001".into())]);
    assert_eq!(ids("cleared_hits"), [("johor-dc".into(), "OLD-1".into())]);
    // Both lists by digest (of the files' bytes), and the matcher by version.
    let sha =
        |path: &std::path::Path| xpufleet_app::screening::sha256_hex(&std::fs::read(path).unwrap());
    assert_eq!(s["sha256"][0], sha(&new).as_str());
    assert_eq!(s["previous"]["sha256"][0], sha(&old).as_str());
    assert_eq!(s["previous"]["hits"], 1);
    assert_eq!(s["matcher_version"], "comply-screening-1");
    // The same inputs give the same answer.
    let (_, again) = check_json(&args);
    assert_eq!(again["screening"], v["screening"]);
    // Against itself nothing is new or cleared.
    let (_, same) = check_json(&[
        "--as-of",
        "2025-08-01",
        "--screening",
        new.to_str().unwrap(),
        "--screening-previous",
        new.to_str().unwrap(),
    ]);
    assert_eq!(same["screening"]["new_hits"], serde_json::json!([]));
    assert_eq!(same["screening"]["cleared_hits"], serde_json::json!([]));
    // The table says the same.
    let o = xpufleet(&[
        "check", args[0], args[1], args[2], args[3], args[4], args[5],
    ]);
    let text = stdout(&o);
    assert!(text.contains("1 new, 1 cleared"), "{text}");
    assert!(text.contains("new: sg-neocloud"), "{text}");
    assert!(text.contains("cleared: johor-dc"), "{text}");
    assert!(
        text.contains(&format!("previous sha256 {}", sha(&old))),
        "{text}"
    );
    // Without the new list the previous one means nothing: bad input.
    let o = xpufleet(&["check", "--screening-previous", old.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--screening-previous"),
        "{}",
        stderr(&o)
    );
}
