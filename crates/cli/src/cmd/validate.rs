//! `xpufleet validate [FILE]`: checks a scenario (or catalog) file's syntax, types and
//! cross-references, and prints every problem found, one per line, located.

use std::path::PathBuf;

use anyhow::{anyhow, Result};
use serde::Serialize;
use xpufleet_io::validate::{
    check_catalog, check_scenario, looks_like_catalog, validate_referenced_files,
};
use xpufleet_io::{Diagnostic, Diagnostics, LoadedScenario};

use crate::common::{print_json, Ctx};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Scenario file (default: the built-in example). A catalog file (one with `[sources]` or
    /// `[[accelerator]]` and no scenario fields) is checked as a catalog.
    file: Option<PathBuf>,
    /// Print the result as JSON: `{ok, origin, kind, counts, diagnostics}`.
    #[arg(long)]
    json: bool,
}

/// What `validate --json` prints.
#[derive(Debug, Serialize)]
struct Report<'a> {
    ok: bool,
    origin: String,
    /// "scenario" or "catalog".
    kind: &'static str,
    /// What was read, by list ("pools" -> 5); empty when the file is invalid.
    counts: std::collections::BTreeMap<&'static str, usize>,
    diagnostics: &'a [Diagnostic],
}

pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let as_catalog = match &args.file {
        Some(p) => std::fs::read_to_string(p)
            .map(|t| looks_like_catalog(&t))
            .unwrap_or(false),
        None => false,
    };
    let origin = args
        .file
        .as_ref()
        .map_or(xpufleet_io::EXAMPLE_NAME.to_string(), |p| {
            p.display().to_string()
        });
    let (kind, result) = if as_catalog {
        let path = args.file.as_deref().expect("a catalog comes from a file");
        let result = xpufleet_io::diag::read_text(path)
            .map_err(Diagnostics::from)
            .and_then(|text| check_catalog(&text, &origin))
            .map(|c| {
                vec![
                    ("accelerators", c.accelerators.len()),
                    ("sources", c.sources.len()),
                ]
            });
        ("catalog", result)
    } else {
        let result = check_scenario(args.file.as_deref(), ctx.catalog.as_deref()).and_then(|ls| {
            // The rule packs and what-if file it names, located at their entries.
            let d = validate_referenced_files(&ls);
            if d.is_empty() {
                Ok(counts(&ls))
            } else {
                Err(d)
            }
        });
        ("scenario", result)
    };
    let (counts, diags) = match result {
        Ok(c) => (c, Diagnostics::default()),
        Err(d) => (Vec::new(), d),
    };
    if args.json {
        print_json(&Report {
            ok: diags.is_empty(),
            origin: origin.clone(),
            kind,
            counts: counts.iter().copied().collect(),
            diagnostics: &diags.0,
        })?;
    } else if diags.is_empty() {
        let parts: Vec<String> = counts.iter().map(|&(k, n)| count_words(k, n)).collect();
        crate::common::say!("ok: {origin}: {}", parts.join(", "));
    } else {
        for d in diags.iter() {
            eprintln!("{d}");
        }
    }
    if diags.is_empty() {
        Ok(())
    } else {
        let n = diags.len();
        // Name every file with a problem: a `--catalog` file may be at fault, not the scenario.
        let mut files: Vec<&str> = diags.iter().map(|d| d.origin.as_str()).collect();
        files.sort_unstable();
        files.dedup();
        Err(anyhow!(
            "{n} problem{} found in {}",
            if n == 1 { "" } else { "s" },
            files.join(", ")
        ))
    }
}

/// `n` things of the JSON count `key` in words: singular for one (`1 supplier mix`), and the
/// scenario's own `[[accelerator]]` entries named as catalog entries, which they are.
fn count_words(key: &str, n: usize) -> String {
    let (one, many) = match key {
        "entities" => ("entity", "entities"),
        "supplier mixes" => ("supplier mix", "supplier mixes"),
        "own accelerators" => (
            "catalog entry in the scenario",
            "catalog entries in the scenario",
        ),
        "catalog accelerators" => ("accelerator in the catalog", "accelerators in the catalog"),
        k => (k.strip_suffix('s').unwrap_or(k), k),
    };
    format!("{n} {}", if n == 1 { one } else { many })
}

fn counts(ls: &LoadedScenario) -> Vec<(&'static str, usize)> {
    let s = &ls.scenario;
    vec![
        ("entities", s.entities.len()),
        ("sites", s.sites.len()),
        ("pools", s.pools.len()),
        ("envelopes", s.envelopes.len()),
        ("supplier mixes", s.supplier_mix.len()),
        ("candidates", s.candidates.len()),
        ("supply caps", s.supply_caps.len()),
        ("licences", s.licences.len()),
        ("jobs", s.jobs.len()),
        ("own accelerators", s.accelerators.len()),
        ("catalog accelerators", ls.catalog.accelerators.len()),
    ]
}
