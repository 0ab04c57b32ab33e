//! `xpufleet import`: a running cluster into xpufleet. Node inventories (`kubernetes`,
//! `slurm`) become a scenario fragment of `[[site]]` and `[[pool]]` tables (`--json`: the same
//! as `{"site": [...], "pool": [...], "skipped": [...], "missing": [...]}`); queues (`kueue`,
//! `volcano`, `squeue`) become jobs in xpufleet's JSONL job format for `simulate --trace
//! jobs:FILE`. Skipped nodes and objects are listed, never dropped silently.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use xpufleet_cluster::k8s::NodeOptions;
use xpufleet_cluster::queue::{QueueImport, QueueOptions};
use xpufleet_cluster::slurm::SlurmOptions;
use xpufleet_cluster::{Inventory, Mapping};

use crate::common::{print_json, Ctx};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(Debug, clap::Args)]
struct MapArg {
    /// A mapping file (TOML) whose product rules come before the built-in ones and which may
    /// give site countries and facility fields and pool defaults (docs/integrations.md).
    #[arg(long, value_name = "FILE")]
    map: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct QueueArgs {
    #[command(flatten)]
    map: MapArg,
    /// Seconds a job runs when its object gives no limit; without it such objects are skipped
    /// as `no-duration`.
    #[arg(long, value_name = "S")]
    default_duration_s: Option<f64>,
    /// Write the jobs here instead of standard output.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

#[derive(Debug, clap::Subcommand)]
enum What {
    /// Nodes from `kubectl get nodes -o json` into sites and pools.
    Kubernetes {
        /// The node list: `kubectl get nodes -o json` saved to a file.
        #[arg(value_name = "NODES.json")]
        nodes: PathBuf,
        /// Label naming each node's site (default: topology.kubernetes.io/zone, else region).
        #[arg(long, value_name = "LABEL")]
        site_label: Option<String>,
        /// Label holding each node's ISO 3166 country code.
        #[arg(long, value_name = "LABEL")]
        country_label: Option<String>,
        #[command(flatten)]
        map: MapArg,
        /// Print JSON instead of the TOML fragment.
        #[arg(long)]
        json: bool,
    },
    /// Nodes from `scontrol show node -o` (and optionally slurm.conf) into sites and pools.
    Slurm {
        /// The node list: `scontrol show node -o` saved to a file.
        #[arg(value_name = "NODES.txt")]
        nodes: PathBuf,
        /// A slurm.conf whose NodeName lines add nodes or their Gres, and whose ClusterName is
        /// the default site.
        #[arg(long, value_name = "FILE")]
        conf: Option<PathBuf>,
        /// A gres.conf whose `Name=gpu Type=... File=...|Count=...` lines type untyped Gres.
        #[arg(long, value_name = "FILE")]
        gres_conf: Option<PathBuf>,
        /// A topology.conf (topology/block) whose BlockName lines are scale-up domains.
        #[arg(long, value_name = "FILE")]
        topology: Option<PathBuf>,
        /// Site id of the cluster's nodes.
        #[arg(long, value_name = "ID")]
        site: Option<String>,
        /// ISO 3166 country of the site.
        #[arg(long, value_name = "CC")]
        country: Option<String>,
        #[command(flatten)]
        map: MapArg,
        /// Print JSON instead of the TOML fragment.
        #[arg(long)]
        json: bool,
    },
    /// Kueue Workloads (`kubectl get workloads -A -o json`) into jobs (JSONL).
    Kueue {
        /// The Workloads: `kubectl get workloads -A -o json` saved to a file.
        #[arg(value_name = "WORKLOADS.json")]
        file: PathBuf,
        #[command(flatten)]
        q: QueueArgs,
    },
    /// Volcano PodGroups (`kubectl get podgroups -A -o json`) into jobs (JSONL).
    Volcano {
        /// The PodGroups: `kubectl get podgroups -A -o json` saved to a file.
        #[arg(value_name = "PODGROUPS.json")]
        file: PathBuf,
        #[command(flatten)]
        q: QueueArgs,
    },
    /// Slurm jobs (`squeue --json`) into jobs (JSONL).
    Squeue {
        /// The jobs: `squeue --json` saved to a file.
        #[arg(value_name = "SQUEUE.json")]
        file: PathBuf,
        #[command(flatten)]
        q: QueueArgs,
    },
}

fn read(path: &Path) -> Result<(String, String)> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).with_context(|| format!("{name}: cannot read"))?;
    Ok((name, text))
}

fn mapping(m: &MapArg) -> Result<Mapping> {
    match &m.map {
        None => Ok(Mapping::default()),
        Some(p) => {
            let (name, text) = read(p)?;
            Ok(Mapping::with_user(&text, &name)?)
        }
    }
}

fn print_inventory(inv: &Inventory, source: &str, json: bool) -> Result<()> {
    if json {
        print_json(inv)?;
    } else {
        print!("{}", inv.to_toml(source));
    }
    let by = inv.skipped_by_reason();
    if !by.is_empty() {
        let parts: Vec<String> = by.iter().map(|(r, n)| format!("{r} {n}")).collect();
        eprintln!(
            "skipped {}: {}",
            xpufleet_report::format::count(inv.skipped.len(), "node", "nodes"),
            parts.join(", ")
        );
    }
    for m in &inv.missing {
        eprintln!("to fill: {} {}: {}", m.kind, m.id, m.fields.join(", "));
    }
    Ok(())
}

fn write_jobs(q: &QueueImport, args: &QueueArgs) -> Result<()> {
    let text = xpufleet_io::trace::write_jobs_jsonl(&q.jobs);
    match &args.out {
        // Whole or not at all: a failed write leaves no partial queue behind.
        Some(p) => crate::common::write_atomic(p, &text)?,
        None => print!("{text}"),
    }
    let by = q.skipped_by_reason();
    let parts: Vec<String> = by.iter().map(|(r, n)| format!("{r} {n}")).collect();
    eprintln!(
        "{} {} object(s): {} job(s), {} skipped{}{}",
        q.jobs.len() + q.skipped.len(),
        q.source,
        q.jobs.len(),
        q.skipped.len(),
        if parts.is_empty() { "" } else { ": " },
        parts.join(", ")
    );
    if let Some(e) = q.epoch_s {
        eprintln!("submit_s 0 is Unix time {e}");
    }
    Ok(())
}

pub fn run(_ctx: &Ctx, args: Args) -> Result<()> {
    match args.what {
        What::Kubernetes {
            nodes,
            site_label,
            country_label,
            map,
            json,
        } => {
            let m = mapping(&map)?;
            let (name, text) = read(&nodes)?;
            let opts = NodeOptions {
                site_label,
                country_label,
            };
            let inv = xpufleet_cluster::k8s::import_nodes(&name, &text, &m, &opts)?;
            print_inventory(&inv, &name, json)
        }
        What::Slurm {
            nodes,
            conf,
            gres_conf,
            topology,
            site,
            country,
            map,
            json,
        } => {
            let m = mapping(&map)?;
            let (name, text) = read(&nodes)?;
            let conf = conf.as_deref().map(read).transpose()?;
            let gres = gres_conf.as_deref().map(read).transpose()?;
            let topology = topology.as_deref().map(read).transpose()?;
            if let Some(c) = &country {
                if c.len() != 2 || !c.bytes().all(|b| b.is_ascii_uppercase()) {
                    anyhow::bail!(
                        "--country: expected an ISO 3166 alpha-2 code such as CN, found {c:?}"
                    );
                }
            }
            let opts = SlurmOptions { site, country };
            let inv = xpufleet_cluster::slurm::import_nodes(
                &name,
                &text,
                xpufleet_cluster::slurm::SlurmFiles {
                    conf: pair(&conf),
                    gres: pair(&gres),
                    topology: pair(&topology),
                },
                &m,
                &opts,
            )?;
            print_inventory(&inv, &name, json)
        }
        What::Kueue { file, q } => queue(&file, &q, xpufleet_cluster::queue::import_workloads),
        What::Volcano { file, q } => queue(&file, &q, xpufleet_cluster::queue::import_podgroups),
        What::Squeue { file, q } => queue(&file, &q, xpufleet_cluster::queue::import_squeue),
    }
}

fn pair(x: &Option<(String, String)>) -> Option<(&str, &str)> {
    x.as_ref().map(|(n, t)| (n.as_str(), t.as_str()))
}

type QueueReader = fn(&str, &str, &Mapping, &QueueOptions) -> xpufleet_cluster::Result<QueueImport>;

fn queue(file: &Path, args: &QueueArgs, reader: QueueReader) -> Result<()> {
    let m = mapping(&args.map)?;
    if let Some(d) = args.default_duration_s {
        if !(d.is_finite() && d > 0.0) {
            anyhow::bail!("--default-duration-s: expected seconds > 0, found {d}");
        }
    }
    let (name, text) = read(file)?;
    let q = reader(
        &name,
        &text,
        &m,
        &QueueOptions {
            default_duration_s: args.default_duration_s,
        },
    )?;
    write_jobs(&q, args)
}
