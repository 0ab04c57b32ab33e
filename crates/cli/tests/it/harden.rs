//! Issue 17: each reproducer from the black-box campaign, end to end. Every command either
//! finishes or stops with a clear error (exit 2); none panics, hangs or leaves a partial file.

use std::io::Read;
use std::process::Stdio;

use crate::support::*;

fn fails_with(args: &[&str], needle: &str) {
    let o = xpufleet(args);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    assert!(err.contains(needle), "{args:?}: {err}");
    assert!(!err.contains("panicked"), "{err}");
}

fn example_with(from: &str, to: &str, name: &str) -> String {
    let text = std::fs::read_to_string(repo().join("examples/capex-2025.toml")).unwrap();
    assert!(text.contains(from), "the example lacks {from:?}");
    let path = scratch(name).join("s.toml");
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    path.display().to_string()
}

#[test]
fn issue_17_extreme_numbers_are_refused_with_their_range() {
    let s = example_with("pue = 1.2", "pue = 1e308", "pue");
    fails_with(&["validate", &s], "expected a number from 1 to 4");
    fails_with(&["plan", &s], "pue");
    let s = example_with("flops = 5e22", "flops = 1e30", "flops");
    fails_with(&["validate", &s], "at most 1e28 FLOP");
}

#[test]
fn issue_17_a_huge_failure_rate_is_refused() {
    let trace = format!(
        "tiresias:{}",
        repo().join("data/traces/tiresias/60_job.csv").display()
    );
    fails_with(
        &[
            "simulate",
            "--trace",
            &trace,
            "--cluster",
            "h100-sxm=64",
            "--failure-rate",
            "1000",
        ],
        "--failure-rate: expected a rate from 0 to 1 per accelerator-hour",
    );
}

#[test]
fn issue_17_a_cluster_without_a_type_is_refused() {
    let trace = format!(
        "tiresias:{}",
        repo().join("data/traces/tiresias/60_job.csv").display()
    );
    fails_with(
        &["simulate", "--trace", &trace, "--cluster", "=8"],
        "--cluster: expected TYPE=N[xPER_NODE], found \"=8\"",
    );
}

/// A job of 1e30 seconds once ran "to completion" with a makespan of 2^64 s, or never ended
/// under rounds and failures. It now stops at the work limit with a clear error.
#[test]
fn issue_17_endless_jobs_stop_with_a_clear_error() {
    let path = scratch("endless").join("long.csv");
    std::fs::write(
        &path,
        "id,submit_s,accels,duration_s\n0,0,8,1e30\n1,10,8,100\n",
    )
    .unwrap();
    let trace = format!("jobs:{}", path.display());
    for policy in ["fifo", "las"] {
        fails_with(
            &[
                "simulate",
                "--trace",
                &trace,
                "--cluster",
                "h100-sxm=16",
                "--policy",
                policy,
                "--failures",
                "--max-events",
                "100000",
            ],
            "the simulation stopped",
        );
    }
}

/// A submit time near `i64::MAX` is refused where it is read: a counted skip in a trace, a
/// located error in a scenario.
#[test]
fn issue_17_a_submit_time_near_the_end_of_time_is_refused() {
    let path = scratch("late").join("late.csv");
    std::fs::write(
        &path,
        "id,submit_s,accels,duration_s\n0,0,8,100\n1,9223372036854775000,8,100\n",
    )
    .unwrap();
    let trace = format!("jobs:{}", path.display());
    let o = xpufleet(&[
        "simulate",
        "--trace",
        &trace,
        "--cluster",
        "h100-sxm=16",
        "--failures",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["skipped"]["malformed:submit_s"], 1, "{v}");
    assert_eq!(v["completed"], 1);
    let s = example_with(
        "submit_s = 3600",
        "submit_s = 9223372036854775000",
        "late-scenario",
    );
    fails_with(
        &["validate", &s],
        "submit_s is 9223372036854775000: expected at most",
    );
}

/// `simulate --events` to a path that cannot be written leaves nothing behind; an existing
/// log is replaced whole.
#[test]
fn issue_17_event_log_is_written_atomically() {
    let dir = scratch("atomic-events");
    let trace = format!(
        "tiresias:{}",
        repo().join("data/traces/tiresias/60_job.csv").display()
    );
    let missing = dir.join("no-such-dir/events.jsonl");
    let o = xpufleet(&[
        "simulate",
        "--trace",
        &trace,
        "--cluster",
        "h100-sxm=64",
        "--events",
        &missing.display().to_string(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("events.jsonl"), "{}", stderr(&o));
    assert!(!dir.join("no-such-dir").exists());
    let log = dir.join("events.jsonl");
    std::fs::write(&log, "old").unwrap();
    let o = xpufleet(&[
        "simulate",
        "--trace",
        &trace,
        "--cluster",
        "h100-sxm=64",
        "--events",
        &log.display().to_string(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.starts_with("{"), "{text}");
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        vec!["events.jsonl".to_string()],
        "no temporaries left"
    );
}

/// `xpufleet check | head -1` closes stdout early: the command ends quietly, no panic.
#[test]
fn issue_17_a_closed_stdout_is_not_a_panic() {
    let mut child = bin()
        .args(["check", "--as-of", "2025-06-01"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read one byte, then close the pipe, as `head -c1` would.
    let mut out = child.stdout.take().unwrap();
    let mut one = [0u8; 1];
    out.read_exact(&mut one).unwrap();
    drop(out);
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        status.success() || status.code() == Some(0),
        "{status:?}: {err}"
    );
}

/// A `rule_packs` entry or `plan.what_if` that names a missing file is a located `validate`
/// error at that entry, not a later unlocated one.
#[test]
fn issue_17_missing_referenced_files_are_located() {
    let s = example_with(
        "what_if = \"what-if-h20.toml\"",
        "what_if = \"nope.toml\"\nrule_packs = [\"gone.toml\"]",
        "missing-files",
    );
    // `rule_packs` is a top-level key: move it above the first table.
    let text = std::fs::read_to_string(&s).unwrap();
    let text = text.replacen("\nrule_packs = [\"gone.toml\"]", "", 1);
    let text = text.replacen("company =", "rule_packs = [\"gone.toml\"]\ncompany =", 1);
    std::fs::write(&s, text).unwrap();
    let o = xpufleet(&["validate", &s]);
    let err = format!("{}{}", stdout(&o), stderr(&o));
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains(": plan.what_if: what-if file \"nope.toml\""),
        "{err}"
    );
    assert!(
        err.contains(": rule_packs[0]: rule pack \"gone.toml\""),
        "{err}"
    );
}

/// One byte that is not UTF-8 in a scenario is reported at its line and column.
#[test]
fn issue_17_a_non_utf8_byte_in_toml_is_located() {
    let text = std::fs::read_to_string(repo().join("examples/capex-2025.toml")).unwrap();
    let mut bytes = text
        .replacen("pue = 1.2", "pue = 1.2 # \u{1}", 1)
        .into_bytes();
    let at = bytes.iter().position(|&b| b == 1).unwrap();
    bytes[at] = 0xFF;
    let line = bytes[..at].iter().filter(|&&b| b == b'\n').count() + 1;
    let path = scratch("utf8").join("s.toml");
    std::fs::write(&path, bytes).unwrap();
    let o = xpufleet(&["validate", &path.display().to_string()]);
    let err = format!("{}{}", stdout(&o), stderr(&o));
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("s.toml:{line}:13: the byte 0xFF is not UTF-8")),
        "{err}"
    );
}

/// Unknown is never zero on the cost path: the `cost` policy refuses a type with no price
/// rather than rank it as free.
#[test]
fn issue_17_the_cost_policy_refuses_unpriced_types() {
    let trace = format!(
        "tiresias:{}",
        repo().join("data/traces/tiresias/60_job.csv").display()
    );
    fails_with(
        &[
            "simulate",
            "--trace",
            &trace,
            "--cluster",
            "mystery-chip=64",
            "--policy",
            "cost",
        ],
        "--policy: cost: no price for mystery-chip",
    );
    let o = xpufleet(&[
        "simulate",
        "--trace",
        &trace,
        "--cluster",
        "mystery-chip=64",
        "--policy",
        "fifo",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
}

/// Tables fit a 100-column terminal (cells wrap) unless `--wide` asks for full width.
#[test]
fn issue_17_tables_fit_100_columns_unless_wide() {
    let width = |args: &[&str]| {
        let o = xpufleet(args);
        assert!(o.status.success(), "{}", stderr(&o));
        stdout(&o)
            .lines()
            // Table lines only: prose lines are not tables.
            .filter(|l| l.starts_with(['┌', '│', '├', '└', '╞']))
            .map(|l| l.chars().count())
            .max()
            .unwrap_or(0)
    };
    for cmd in [
        &["catalog"][..],
        &["fleet"],
        &["check", "--as-of", "2025-06-01"],
        &["plan"],
    ] {
        let w = width(cmd);
        assert!(w > 0 && w <= 100, "{cmd:?}: {w} columns");
    }
    assert!(width(&["catalog", "--wide"]) > 100);
}

/// Issue 27, item 6: the last bad inputs of the campaign are refused, located, with exit 2.
#[test]
fn issue_27_malformed_dates_are_refused_in_files_and_flags() {
    for bad in ["2025-3-1", "-001-01-01", "+12025-01-01"] {
        let flag = format!("--as-of={bad}");
        fails_with(&["check", &flag], "expected a date as YYYY-MM-DD");
        let s = example_with("date = 2025-03-01", &format!("date = \"{bad}\""), "date");
        fails_with(&["validate", &s], "expected a date as YYYY-MM-DD");
    }
}

#[test]
fn issue_27_arrays_where_tables_belong_are_refused() {
    let s = example_with(
        "scope = { countries = [\"CN\"], modes = [\"buy\"] }",
        "scope = []",
        "scope",
    );
    fails_with(
        &["validate", &s],
        "envelope[0].scope: invalid type: sequence",
    );
    let s = example_with(
        "budget = { amount = 40e9, currency = \"CNY\" }",
        "budget = [40e9, \"CNY\"]",
        "budget",
    );
    fails_with(
        &["validate", &s],
        "envelope[0].budget: invalid type: sequence",
    );
    let s = example_with(
        "budget = { amount = 40e9, currency = \"CNY\" }",
        "budget = { amount = 40e9, currency = \"CNY\", amount_usd = 1 }",
        "budget-key",
    );
    fails_with(&["validate", &s], "unknown field `amount_usd`");
}

#[test]
fn issue_27_a_vanishing_cvar_level_and_an_absurd_figure_are_refused() {
    fails_with(
        &["plan", "--samples", "10", "--risk-measure", "cvar:1e-300"],
        "0.001 ≤ LEVEL ≤ 1",
    );
    let est = [
        "estimate", "--params", "7e9", "--tokens", "1e12", "--accel", "h100-sxm", "--count", "8",
    ];
    for (fig, needle) in [
        ("tflops_bf16=1e308", "tflops_bf16 is 1e308: expected"),
        ("h100-sxm:power_w=1e308", "power_w is 1e308: expected"),
        ("price_usd=0", "price_usd is 0: expected"),
    ] {
        let mut args = est.to_vec();
        args.extend(["--figure", fig]);
        fails_with(&args, needle);
    }
}
