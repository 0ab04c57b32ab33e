//! `xpufleet`: plan, verify, estimate and schedule a heterogeneous AI-accelerator fleet.
//!
//! **Architecture invariant:** this binary is the only place that prints. Engines return data;
//! commands turn it into tables, JSON or files.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

mod cmd;
mod common;

/// The build: the version and the git commit (or a hash of the sources) it was built from,
/// named by `build.rs`; run ids and reports carry it.
const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (", env!("XPUFLEET_BUILD"), ")");

/// Plan, verify, estimate and schedule a heterogeneous AI-accelerator fleet.
#[derive(Debug, Parser)]
#[command(name = "xpufleet", version = VERSION, about, long_about = None)]
struct Cli {
    /// Accelerator catalog file that adds to or overrides the built-in catalog.
    #[arg(long, global = true, value_name = "FILE")]
    catalog: Option<PathBuf>,

    /// Draw tables at full width (by default they are fitted to the terminal, or to 100 columns).
    #[arg(long, global = true)]
    wide: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Plan, verify, simulate and report on a scenario in one go (default: the built-in example).
    Run(cmd::run::Args),
    /// List the accelerator catalog with derived figures.
    Catalog(cmd::catalog::Args),
    /// Check a scenario file: syntax, types and cross-references.
    Validate(cmd::validate::Args),
    /// Summarise a scenario's fleet by vendor, site and country.
    Fleet(cmd::fleet::Args),
    /// Classify accelerators under the export rules in force on a date.
    Classify(cmd::classify::Args),
    /// Give every pool and intended use a compliance verdict as of a date.
    Check(cmd::check::Args),
    /// Estimate a training run (time, MFU, failures, energy, cost), or `estimate serving`.
    Estimate(Box<cmd::estimate::Args>),
    /// Plan procurement under budgets, supplier mix, supply, power and the rules.
    Plan(cmd::plan::Args),
    /// Simulate a scheduling policy on a trace or a scenario's workload.
    Simulate(cmd::simulate::Args),
    /// Read a Kubernetes or Slurm cluster's nodes or queue into scenario tables or jobs.
    Import(cmd::import::Args),
    /// Write Kueue, Volcano or Slurm policy from a scenario's pools, tenants and verdicts.
    Export(cmd::export::Args),
    /// Serve the HTTP API over a SQLite or PostgreSQL database.
    #[cfg(feature = "serve")]
    Serve(cmd::serve::Args),
    /// Create API tokens for `serve`.
    #[cfg(feature = "serve")]
    Token(cmd::token::Args),
    /// Evaluate a shard of a sweep (what-ifs x policies x risk samples), or merge shards.
    Sweep(cmd::sweep::Args),
    /// Verify or export the server's hash-chained audit trail.
    #[cfg(feature = "serve")]
    Audit(cmd::audit::Args),
}

/// The command line, less the global `--catalog` and `--wide` on the commands that read no
/// catalog and print no table (`serve`, `token`, `audit`): clap copies a global option into
/// every subcommand unless the subcommand already has one of that name, so each of these gets a
/// hidden one that refuses a value, and its `--help` does not offer what would do nothing.
fn command() -> clap::Command {
    let mut cmd = Cli::command();
    for name in ["serve", "token", "audit"] {
        // Absent without the `serve` feature.
        if cmd.find_subcommand(name).is_none() {
            continue;
        }
        cmd = cmd.mut_subcommand(name, |sc| {
            sc.arg(
                clap::Arg::new("catalog")
                    .long("catalog")
                    .value_name("FILE")
                    .global(true)
                    .hide(true)
                    .value_parser(|_: &str| -> Result<String, String> {
                        Err("this command reads no catalog".into())
                    }),
            )
            .arg(
                clap::Arg::new("wide")
                    .long("wide")
                    .global(true)
                    .hide(true)
                    .num_args(0)
                    .action(clap::ArgAction::Set)
                    .default_missing_value("x")
                    .value_parser(|_: &str| -> Result<String, String> {
                        Err("this command prints no table".into())
                    }),
            )
        });
    }
    cmd
}

fn main() -> ExitCode {
    common::quiet_on_closed_pipe();
    xpufleet_app::build::set_version(VERSION);
    let cli = Cli::from_arg_matches(&command().get_matches()).unwrap_or_else(|e| e.exit());
    common::set_wide(cli.wide);
    let ctx = common::Ctx {
        catalog: cli.catalog,
    };
    let result = match cli.command {
        Command::Run(a) => cmd::run::run(&ctx, a),
        Command::Catalog(a) => cmd::catalog::run(&ctx, a),
        Command::Validate(a) => cmd::validate::run(&ctx, a),
        Command::Fleet(a) => cmd::fleet::run(&ctx, a),
        Command::Classify(a) => cmd::classify::run(&ctx, a),
        Command::Check(a) => cmd::check::run(&ctx, a),
        Command::Estimate(a) => cmd::estimate::run(&ctx, *a),
        Command::Plan(a) => cmd::plan::run(&ctx, a),
        Command::Simulate(a) => cmd::simulate::run(&ctx, a),
        Command::Import(a) => cmd::import::run(&ctx, a),
        Command::Export(a) => cmd::export::run(&ctx, a),
        #[cfg(feature = "serve")]
        Command::Serve(a) => cmd::serve::run(&ctx, a),
        #[cfg(feature = "serve")]
        Command::Token(a) => cmd::token::run(&ctx, a),
        Command::Sweep(a) => cmd::sweep::run(&ctx, a),
        #[cfg(feature = "serve")]
        Command::Audit(a) => cmd::audit::run(&ctx, a),
    };
    let result = result.and_then(|()| common::flush_stdout());
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
