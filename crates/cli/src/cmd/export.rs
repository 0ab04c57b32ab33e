//! `xpufleet export kueue|volcano|slurm [SCENARIO] --out DIR`: a scenario's pools, tenants and
//! verdicts as of a date, written as scheduler policy a user applies with `kubectl apply -f
//! DIR` or includes from `slurm.conf`. Which tenant may use which pool is the rule engine's
//! verdict (`xpufleet check`); this command only renders it.

use std::path::PathBuf;

use anyhow::{anyhow, Context, Result};
use xpufleet_cluster::export::{self, ExportOptions};
use xpufleet_cluster::{Mapping, Policy};
use xpufleet_model::Date;

use crate::common::Ctx;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    target: Target,
}

#[derive(Debug, clap::Args)]
struct Common {
    /// Scenario file (default: the built-in example).
    #[arg(value_name = "SCENARIO")]
    scenario: Option<PathBuf>,
    /// Folder to write the files into (created if missing; files of the same name replaced).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Verdicts as of this date (YYYY-MM-DD); default: the scenario's date.
    #[arg(long, value_name = "DATE")]
    as_of: Option<Date>,
    /// Rule-pack files added after the built-in packs and the scenario's own, as for `check`.
    #[arg(long, value_name = "FILE")]
    rules: Vec<PathBuf>,
    /// Tenants (entity ids) to write queues for besides the company and the jobs' tenants.
    #[arg(long, value_name = "ID")]
    tenant: Vec<String>,
    /// A mapping file as for `import` (resource names and gres types of accelerators).
    #[arg(long, value_name = "FILE")]
    map: Option<PathBuf>,
}

#[derive(Debug, clap::Subcommand)]
enum Target {
    /// Kueue ResourceFlavors, Topology, Cohort, ClusterQueues and LocalQueues.
    Kueue {
        #[command(flatten)]
        common: Common,
        /// Taint each flavor's nodes (NoSchedule on xpufleet.io/accelerator) and tolerate it
        /// in admitted pods, so only Kueue-admitted pods land on accelerator nodes.
        #[arg(long)]
        taints: bool,
    },
    /// Volcano Queues with capabilities and node-group affinity per tenant.
    Volcano {
        #[command(flatten)]
        common: Common,
    },
    /// Slurm node and partition lines (AllowAccounts from the verdicts) and gres.conf.
    Slurm {
        #[command(flatten)]
        common: Common,
    },
}

pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let (common, kind) = match &args.target {
        Target::Kueue { common, .. } => (common, "kueue"),
        Target::Volcano { common } => (common, "volcano"),
        Target::Slurm { common } => (common, "slurm"),
    };
    let loaded = ctx.scenario(common.scenario.as_deref())?;
    let engine =
        xpufleet_io::rules::rule_engine(&loaded, &common.rules).map_err(|d| anyhow!("{d}"))?;
    for t in &common.tenant {
        if loaded.scenario.entity(t).is_none() {
            anyhow::bail!("--tenant {t:?}: not an entity of {}", loaded.origin);
        }
    }
    let date = common.as_of.unwrap_or(loaded.scenario.date);
    let policy = Policy::evaluate(&engine, date, &common.tenant);
    let mapping = match &common.map {
        None => Mapping::default(),
        Some(p) => {
            let name = p.display().to_string();
            let text =
                std::fs::read_to_string(p).with_context(|| format!("{name}: cannot read"))?;
            Mapping::with_user(&text, &name)?
        }
    };
    let files = match &args.target {
        Target::Kueue { taints, .. } => export::kueue(
            &policy,
            &mapping,
            &loaded.catalog,
            &ExportOptions { taints: *taints },
        )?,
        Target::Volcano { .. } => export::volcano(&policy, &mapping, &loaded.catalog)?,
        Target::Slurm { .. } => export::slurm(&policy, &mapping)?,
    };
    // All files or none: a failed write (a full disk) leaves the earlier export whole and no
    // partial file, so what a scheduler reads is always one export.
    let named: Vec<(String, String)> = files.into_iter().map(|f| (f.name, f.text)).collect();
    crate::common::write_files_atomic(&common.out, &named)?;
    for (name, _) in &named {
        println!("wrote {}", common.out.join(name).display());
    }
    let excluded = policy.access.iter().filter(|a| !a.usable).count();
    crate::common::say!(
        "{kind}: {}, {}, {excluded} of {} (pool, tenant) pairs excluded by the verdicts as of {date}",
        xpufleet_report::format::count(policy.pools.len(), "pool", "pools"),
        xpufleet_report::format::count(policy.tenants.len(), "tenant", "tenants"),
        policy.access.len()
    );
    Ok(())
}
