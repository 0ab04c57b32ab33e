//! `xpufleet sweep`: evaluate one shard of a sweep spec (a grid of what-ifs and planning policies
//! times a sample of the scenario's risks), and `sweep merge` the shards into `result.json`,
//! byte for byte what one unsharded run (`--shard 0/1`) writes.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use xpufleet_app::sweep::{merge, run_shard, ShardOutput, SweepResult};

use crate::common::{say, Ctx};

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct Args {
    #[command(subcommand)]
    merge: Option<Merge>,
    /// Sweep spec (TOML; see docs/risk.md and examples/sweep.toml).
    #[arg(value_name = "SPEC", required = true)]
    spec: Option<PathBuf>,
    /// Which slice to evaluate: I/N is the I-th of N equal slices (0-based).
    #[arg(long, value_name = "I/N", default_value = "0/1")]
    shard: Shard,
    /// Folder to write shard-I-of-N.json to (and result.json when N is 1).
    #[arg(long, value_name = "DIR", required = true)]
    out: Option<PathBuf>,
}

#[derive(Debug, clap::Subcommand)]
enum Merge {
    /// Combine the shards found in DIRs into OUT/result.json.
    Merge {
        /// Folders holding shard-I-of-N.json files.
        #[arg(value_name = "DIR", required = true)]
        dirs: Vec<PathBuf>,
        /// Folder to write result.json to.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
}

/// `I/N`.
#[derive(Debug, Clone, Copy)]
struct Shard {
    index: u64,
    of: u64,
}

impl std::str::FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Shard, String> {
        let bad = || format!("expected I/N with 0 <= I < N (e.g. 3/16); found {s:?}");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, of) = (
            i.trim().parse::<u64>().map_err(|_| bad())?,
            n.trim().parse::<u64>().map_err(|_| bad())?,
        );
        if of == 0 || index >= of {
            return Err(bad());
        }
        Ok(Shard { index, of })
    }
}

fn shard_name(index: u64, of: u64) -> String {
    format!("shard-{index}-of-{of}.json")
}

/// Writes `dir/name` whole or not at all, so a killed task never leaves half a shard.
fn write(dir: &Path, name: &str, text: &str) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    crate::common::write_atomic(&dir.join(name), text)
}

fn result_text(r: &SweepResult) -> Result<String> {
    Ok(serde_json::to_string_pretty(r)? + "\n")
}

fn summary(r: &SweepResult) {
    say!(
        "{}: {} points x {} samples (seed {})",
        r.name,
        r.points.len(),
        r.samples,
        r.seed
    );
    for p in &r.points {
        let e = &p.effective_pflops;
        say!(
            "  {}: effective PFLOPS p10 {:.1} / p50 {:.1} / p90 {:.1} (nominal {:.1})",
            p.id,
            e.p10,
            e.p50,
            e.p90,
            p.nominal_effective_pflops
        );
    }
}

pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    if ctx.catalog.is_some() {
        bail!("sweep reads its scenario against the built-in catalog: give overrides as [[accelerator]] entries in the scenario");
    }
    if let Some(Merge::Merge { dirs, out }) = args.merge {
        let mut shards = Vec::new();
        for d in &dirs {
            let entries =
                std::fs::read_dir(d).with_context(|| format!("{}: cannot read", d.display()))?;
            let mut names: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("shard-") && n.ends_with(".json"))
                })
                .collect();
            names.sort();
            for p in names {
                shards.push(read_shard(&p)?);
            }
        }
        let r = merge(&shards)?;
        write(&out, "result.json", &result_text(&r)?)?;
        summary(&r);
        return Ok(());
    }
    let spec_path = args.spec.ok_or_else(|| anyhow!("give a sweep SPEC"))?;
    let out = args.out.ok_or_else(|| anyhow!("give --out DIR"))?;
    let origin = spec_path.display().to_string();
    let text =
        std::fs::read_to_string(&spec_path).map_err(|e| anyhow!("{origin}: cannot read: {e}"))?;
    let spec = xpufleet_io::sweep::parse_sweep_spec(&text, &origin).map_err(|d| anyhow!("{d}"))?;
    let dir = spec_path.parent().unwrap_or(Path::new("")).to_path_buf();
    let shard = run_shard(&spec, &origin, &dir, args.shard.index, args.shard.of)?;
    let name = shard_name(args.shard.index, args.shard.of);
    let shard_text = serde_json::to_string(&shard)? + "\n";
    write(&out, &name, &shard_text)?;
    say!(
        "{}: shard {}/{}: {} of {} work items -> {}",
        spec.name,
        args.shard.index,
        args.shard.of,
        shard.values.len(),
        shard.total,
        out.join(&name).display()
    );
    if args.shard.of == 1 {
        // Merged from the text just written, exactly as `sweep merge` would read it, so the
        // result is the same bytes either way.
        let parsed: ShardOutput = serde_json::from_str(&shard_text)?;
        let r = merge(&[(name, parsed)])?;
        write(&out, "result.json", &result_text(&r)?)?;
        summary(&r);
    }
    Ok(())
}

fn read_shard(p: &Path) -> Result<(String, ShardOutput)> {
    let origin = p.display().to_string();
    let text = std::fs::read_to_string(p).map_err(|e| anyhow!("{origin}: cannot read: {e}"))?;
    let s: ShardOutput = serde_json::from_str(&text).map_err(|e| {
        anyhow!(
            "{origin}:{}:{}: not a sweep shard: {e}",
            e.line(),
            e.column()
        )
    })?;
    Ok((origin, s))
}
