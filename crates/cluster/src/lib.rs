//! Real clusters in and out: Kubernetes (Kueue, Volcano) and Slurm inventories and queues read
//! into scenario fragments and xpufleet jobs, and a scenario's pools, tenants and verdicts
//! written out as scheduler policy (Kueue ResourceFlavors and ClusterQueues, Volcano Queues,
//! Slurm partitions and `gres.conf`).
//!
//! **Architecture invariant:** this crate parses and renders; it decides nothing. Which tenant
//! may use which pool is `comply`'s `RuleEngine`'s verdict, handed in; which product string is
//! which accelerator is the documented [`Mapping`], never a guess from a partial match.
//! It opens no files: callers pass text and get text back.
//!
//! Code map: `map` (vendor product strings → catalog ids, overridable), `inventory` (the
//! imported sites and pools, grouping, TOML/JSON fragments), `k8s` (`kubectl get nodes -o
//! json`), `slurm` (`scontrol show node -o`, `slurm.conf` node lines, hostlists), `queue`
//! (Kueue Workloads, Volcano PodGroups, `squeue --json` → jobs), `policy` (who may use what, from
//! the verdicts), `export` (Kueue, Volcano and Slurm renderings), `synth` (generated inputs
//! for benchmarks).

pub mod export;
pub mod inventory;
pub mod k8s;
pub mod map;
pub mod policy;
pub mod queue;
pub mod slurm;
pub mod synth;
mod time;

pub use inventory::{Inventory, Skip};
pub use map::Mapping;
pub use policy::{Access, Policy};

/// Errors: input that is not what its format promises. Each names the file, where in it, what
/// was expected and what was found. Unmappable nodes and unusable queue entries are not errors:
/// they are counted skips in the answer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A value in an input file is malformed.
    #[error("{file}: {at}: expected {expected}, found {found}")]
    Input {
        file: String,
        /// Where: a JSON path with the object's name, or `line N`.
        at: String,
        expected: String,
        found: String,
    },
    /// A mapping file does not parse.
    #[error("{file}: {message}")]
    Map { file: String, message: String },
    /// The scenario cannot be exported (a pool whose accelerator the mapping cannot name, ...).
    #[error("{0}")]
    Export(String),
}

impl Error {
    pub(crate) fn input(
        file: &str,
        at: impl Into<String>,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) -> Error {
        Error::Input {
            file: file.to_string(),
            at: at.into(),
            expected: expected.into(),
            found: found.into(),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
