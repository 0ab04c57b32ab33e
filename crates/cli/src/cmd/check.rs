//! `xpufleet check`: a compliance verdict for every pool and intended use (pool x tenant of the
//! scenario's jobs, and the company) and every candidate, as of a date, with the rules that
//! decided it, their citations, what would change it, and the unverified targets.
//!
//! Verdicts are answers, not errors: the command exits 0 whatever they are, and 2 only on bad
//! input (an unreadable scenario or rule pack).

use std::path::PathBuf;

use anyhow::{anyhow, Result};
use xpufleet_app::PackRef;
use xpufleet_comply::{CheckReport, CheckedUse, Outcome};
use xpufleet_model::Date;

use crate::common::{print_json, table, Ctx};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Scenario file (default: the built-in example).
    #[arg(value_name = "SCENARIO")]
    scenario: Option<PathBuf>,
    /// Evaluate the rules in force on this date (YYYY-MM-DD); default: the scenario's date.
    #[arg(long, value_name = "DATE")]
    as_of: Option<Date>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// Rule-pack files added after the built-in packs and the scenario's `rule_packs`; a rule or
    /// group with the same id replaces the earlier one.
    #[arg(long, value_name = "FILE")]
    rules: Vec<PathBuf>,
    /// Screen every party (company, owners, operators, lessors, tenants and their parents)
    /// against this list, in the Consolidated Screening List CSV or JSON layout (repeatable).
    #[arg(long, value_name = "FILE")]
    screening: Vec<PathBuf>,
    /// A previous version of the `--screening` list (repeatable): report the hits that are
    /// new on the list and those it cleared, naming both lists' SHA-256.
    #[arg(long, value_name = "FILE")]
    screening_previous: Vec<PathBuf>,
    /// Name similarity (0..1) at or above which a screening match is a hit.
    #[arg(long, value_name = "X", default_value_t = xpufleet_comply::screening::DEFAULT_THRESHOLD)]
    screening_threshold: f64,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let loaded = ctx.scenario(args.scenario.as_deref())?;
    let rules = xpufleet_app::read_rule_paths(&args.rules).map_err(|d| anyhow!("{d}"))?;
    let list = if args.screening.is_empty() {
        None
    } else {
        if !(args.screening_threshold > 0.0 && args.screening_threshold <= 1.0) {
            return Err(anyhow!(
                "--screening-threshold: expected a number in (0, 1], found {}",
                args.screening_threshold
            ));
        }
        Some(
            xpufleet_io::screening::read_screening_files(&args.screening)
                .map_err(|d| anyhow!("{d}"))?,
        )
    };
    let out = match &list {
        None if !args.screening_previous.is_empty() => {
            return Err(anyhow!(
                "--screening-previous: expected the new list too (--screening FILE)"
            ))
        }
        None => xpufleet_app::check_screened(&loaded, &rules, args.as_of, None)?,
        Some(list) => {
            let previous = if args.screening_previous.is_empty() {
                None
            } else {
                Some(
                    xpufleet_io::screening::read_screening_files(&args.screening_previous)
                        .map_err(|d| anyhow!("{d}"))?,
                )
            };
            let sha = digests(&args.screening)?;
            let previous_sha = digests(&args.screening_previous)?;
            use xpufleet_app::screening::{check_rescreened, ListInput};
            check_rescreened(
                &loaded,
                &rules,
                args.as_of,
                ListInput { list, sha256: &sha },
                previous.as_ref().map(|list| ListInput {
                    list,
                    sha256: &previous_sha,
                }),
                args.screening_threshold,
            )?
        }
    };
    if args.json {
        return print_json(&out);
    }
    print_text(&out.report, &out.rule_packs);
    Ok(())
}

/// SHA-256 of each file's bytes (they were read once already; a file that changed in between
/// would give a digest of what the list was not read from, so this reads them the same way).
fn digests(paths: &[PathBuf]) -> Result<Vec<String>> {
    paths
        .iter()
        .map(|p| {
            std::fs::read(p)
                .map(|b| xpufleet_app::screening::sha256_hex(&b))
                .map_err(|e| anyhow!("{}: {e}", p.display()))
        })
        .collect()
}

fn mode(u: &CheckedUse) -> &'static str {
    match u.eval.mode {
        xpufleet_comply::UseKind::Own => "own",
        xpufleet_comply::UseKind::Operate => "operate",
        xpufleet_comply::UseKind::Remote => "remote",
    }
}

fn verdict_cell(u: &CheckedUse) -> String {
    let v = &u.eval.verdict;
    let mut s = v.outcome.to_string();
    let deciding_uncertain = u
        .eval
        .findings
        .iter()
        .any(|f| f.outcome == v.outcome && !f.certain && v.outcome > Outcome::Allowed);
    if deciding_uncertain {
        s.push_str(" (indeterminate)");
    }
    if !v.verified {
        s.push_str(", unverified");
    }
    if let Some(r) = &v.review {
        s.push_str(&format!(", {} ({})", r.decision, r.id));
    }
    s
}

fn chip_cell(u: &CheckedUse) -> String {
    let class = u
        .eval
        .classification
        .as_ref()
        .map_or("not in catalog".to_string(), |c| c.label());
    format!("{} ({class})", u.eval.accelerator)
}

fn section(title: &str, uses: &[CheckedUse], candidates: bool) {
    crate::common::say!("\n{title}");
    let mut t = table();
    let mut header = vec![if candidates { "candidate" } else { "pool" }];
    if !candidates {
        header.push("user");
    }
    header.extend(["mode", "site", "chip", "verdict", "decided by"]);
    t.set_header(header);
    for u in uses {
        let e = &u.eval;
        let mut row = vec![e.target.clone()];
        if !candidates {
            row.push(e.user.clone());
        }
        row.extend([
            mode(u).to_string(),
            format!("{} ({})", e.site, e.site_country.as_deref().unwrap_or("?")),
            chip_cell(u),
            verdict_cell(u),
            e.verdict.rules.join("\n"),
        ]);
        t.add_row(row);
    }
    println!("{}", crate::common::fit(&mut t));
    for u in uses {
        let e = &u.eval;
        let restricted = e.verdict.outcome > Outcome::Allowed;
        let lifted = e.findings.iter().any(|f| f.lifted_by.is_some());
        if !restricted && !lifted && e.verdict.review.is_none() && u.by_use.is_empty() {
            continue;
        }
        let who = if candidates {
            e.target.clone()
        } else {
            format!("{} for {}", e.target, e.user)
        };
        let judged = e
            .purpose
            .map_or(String::new(), |p| format!(" (judged as {p})"));
        crate::common::say!("  {who}: {}{judged}", e.verdict.outcome);
        for b in &u.by_use {
            let v = &b.verdict;
            let by = if v.rules.is_empty() {
                String::new()
            } else {
                format!(" by {}", v.rules.join(", "))
            };
            crate::common::say!(
                "    for {}: {}{by}{}; usable: {}",
                b.purpose,
                v.outcome,
                if v.verified { "" } else { ", unverified" },
                if v.usable { "yes" } else { "no" }
            );
        }
        for f in &e.findings {
            crate::common::say!("    {} {}: {}", f.outcome, f.rule, f.reason);
            crate::common::say!("      citation: {}", f.citation);
            if let (Some(x), Some(duty)) = (&f.exception, &f.duty) {
                crate::common::say!("      exception {x}, duty: {duty}");
            }
            if restricted && f.outcome == e.verdict.outcome {
                if let Some(w) = &f.would_change {
                    crate::common::say!("      would change: {w}");
                }
            }
        }
        if let Some(r) = &e.verdict.review {
            crate::common::say!(
                "    review {}: {} by {} on {}, valid until {}; usable: {}",
                r.id,
                r.decision,
                r.reviewer,
                r.date,
                r.valid_until,
                if e.verdict.usable { "yes" } else { "no" }
            );
            if !r.evidence.is_empty() {
                crate::common::say!("      evidence: {}", r.evidence);
            }
        }
        let extra: Vec<&String> = e
            .verdict
            .reasons
            .iter()
            .filter(|r| r.starts_with("licence ") || r.starts_with("review "))
            .collect();
        for r in extra {
            crate::common::say!("      note: {r}");
        }
    }
}

fn print_text(r: &CheckReport, packs: &[PackRef]) {
    crate::common::say!("Compliance check of {} as of {}", r.scenario, r.as_of);
    let names: Vec<String> = packs
        .iter()
        .map(|p| format!("{} v{}", p.id, p.version))
        .collect();
    crate::common::say!("Rule packs: {}", names.join(", "));
    section("Pools and intended uses", &r.uses, false);
    section("Candidates", &r.candidates, true);
    crate::common::say!(
        "\nUnverified (no engine may use these until owner and operator are verified)"
    );
    if r.unverified.is_empty() {
        crate::common::say!("  none");
    }
    for u in &r.unverified {
        crate::common::say!("  {} ({} at {}):", u.target, u.target_kind, u.site);
        for m in &u.missing {
            crate::common::say!("    - {m}");
        }
    }
    if !r.licences.is_empty() {
        crate::common::say!("\nLicences (drawn down by the pools that list them)");
    }
    for l in &r.licences {
        let qty = match (l.quantity, l.remaining) {
            (Some(q), Some(left)) => format!("{} of {q} accelerators used, {left} left", l.used),
            _ => format!("{} accelerators used, no quantity limit", l.used),
        };
        let value = match (&l.value, &l.value_used) {
            (Some(v), Some(u)) => format!("; value {:.0} of {v} used", u.amount),
            (Some(v), None) => format!("; value {v}, use unknown (a price could not be converted)"),
            _ => String::new(),
        };
        crate::common::say!("  {}: {qty}{value}", l.id);
        if let Some(a) = &l.alert {
            crate::common::say!("    alert: {a}");
        }
    }
    if let Some(sc) = &r.screening {
        crate::common::say!(
            "\nScreening against {} ({} entries, threshold {:.2}): {} parties screened",
            sc.files.join(", "),
            sc.entries,
            sc.threshold,
            sc.screened.len()
        );
        crate::common::say!("  matcher {}", sc.matcher_version);
        for (f, sha) in sc.files.iter().zip(&sc.sha256) {
            crate::common::say!("  sha256 {sha}  {}", file_name(f));
        }
        if sc.hits.is_empty() {
            crate::common::say!("  no hits");
        }
        for h in &sc.hits {
            crate::common::say!(
                "  {} \"{}\" ({}) matches \"{}\" on {}: entry {} at {}, similarity {:.2}",
                h.entity,
                h.entity_name,
                h.roles.join(", "),
                h.matched_name,
                h.source,
                h.entry_id,
                h.at,
                h.score
            );
        }
    }
    if let (Some(sc), Some(prev)) = (
        &r.screening,
        r.screening.as_ref().and_then(|s| s.previous.as_ref()),
    ) {
        let new = sc.new_hits.as_deref().unwrap_or_default();
        let cleared = sc.cleared_hits.as_deref().unwrap_or_default();
        crate::common::say!(
            "\nScreening changes since the previous list ({} entries, {} hits): {} new, {} cleared",
            prev.entries,
            prev.hits,
            new.len(),
            cleared.len()
        );
        for (f, sha) in prev.files.iter().zip(&prev.sha256) {
            crate::common::say!("  previous sha256 {sha}  {}", file_name(f));
        }
        for (what, hits) in [("new", new), ("cleared", cleared)] {
            for h in hits {
                crate::common::say!(
                    "  {what}: {} \"{}\" matches \"{}\" on {}: entry {}, similarity {:.2}",
                    h.entity,
                    h.entity_name,
                    h.matched_name,
                    h.source,
                    h.entry_id,
                    h.score
                );
            }
        }
    }
    crate::common::say!("\nNotices (advisory; they do not change a verdict)");
    let mut seen: Vec<(String, String)> = vec![];
    for u in r.uses.iter().chain(&r.candidates) {
        for n in &u.eval.notices {
            let key = (n.rule.clone(), u.eval.target.clone());
            if seen.contains(&key) {
                continue;
            }
            seen.push(key);
            crate::common::say!("  {} on {}: {}", n.rule, u.eval.target, n.reason);
        }
    }
    if seen.is_empty() {
        crate::common::say!("  none");
    }
    crate::common::say!(
        "\nDecision support, not legal advice: rule packs are digests of public rules; see docs/compliance.md."
    );
}

/// A list file's name without its folders (the table stays within 100 columns).
fn file_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}
