//! `xpufleet audit`: check the server's hash-chained audit trail (in its database, or in an
//! export), and export it as JSON Lines for a third party to check.

use std::path::PathBuf;

use anyhow::{Context, Result};
use xpufleet_store::audit::{self, AuditEntry};
use xpufleet_store::{DatabaseUrl, Store};

use crate::common::Ctx;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Walk the chain and compare the data with it; exit 0 when both hold, 1 naming the first
    /// broken entry or every resource whose stored data is not what its last entry says.
    Verify {
        /// The server's database.
        #[arg(long, default_value = super::serve::DEFAULT_DATABASE, value_name = "URL")]
        database: String,
        /// Check this export (JSON Lines, from `audit export`) instead of a database.
        #[arg(long, value_name = "FILE.jsonl", conflicts_with = "database")]
        file: Option<PathBuf>,
    },
    /// Write the whole chain as JSON Lines, one entry per line, oldest first.
    Export {
        /// The server's database.
        #[arg(long, default_value = super::serve::DEFAULT_DATABASE, value_name = "URL")]
        database: String,
        /// Where to write it.
        #[arg(long, value_name = "FILE.jsonl")]
        out: PathBuf,
    },
}

/// The chain in a database, and where the data disagrees with it (`Store::audit_mismatches`).
/// A SQLite file that does not exist is an error, never a new empty database.
fn chain_from_db(database: String) -> Result<(Vec<AuditEntry>, Vec<String>)> {
    let url = DatabaseUrl(database);
    super::serve::runtime()?.block_on(async {
        let store = Store::open_existing(&url)
            .await
            .with_context(|| format!("opening the database {url}"))?;
        let chain = store.audit_chain().await;
        let mismatches = match &chain {
            Ok(_) => store.audit_mismatches().await,
            Err(_) => Ok(vec![]),
        };
        store.close().await;
        let chain = chain.with_context(|| format!("reading the audit trail from {url}"))?;
        let mismatches =
            mismatches.with_context(|| format!("comparing the data in {url} with its trail"))?;
        anyhow::Ok((chain, mismatches))
    })
}

fn chain_from_file(path: &PathBuf) -> Result<Vec<AuditEntry>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut out = vec![];
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let e: AuditEntry = serde_json::from_str(line).with_context(|| {
            format!(
                "{}:{}: expected one audit entry as a JSON object",
                path.display(),
                i + 1
            )
        })?;
        out.push(e);
    }
    Ok(out)
}

pub fn run(_ctx: &Ctx, args: Args) -> Result<()> {
    match args.action {
        Action::Verify { database, file } => {
            let (chain, mismatches, origin) = match &file {
                Some(f) => (chain_from_file(f)?, vec![], f.display().to_string()),
                None => {
                    let origin = DatabaseUrl(database.clone()).to_string();
                    let (chain, mismatches) = chain_from_db(database)?;
                    (chain, mismatches, origin)
                }
            };
            match audit::verify(&chain) {
                Ok(_) if !mismatches.is_empty() => {
                    eprintln!(
                        "audit trail intact, but the DATA DISAGREES with it in {origin} ({} \
                         resources):",
                        mismatches.len()
                    );
                    for m in &mismatches {
                        eprintln!("  {m}");
                    }
                    std::process::exit(1);
                }
                Ok(n) => {
                    let head = chain.last().map_or(audit::GENESIS, |e| e.hash.as_str());
                    println!("audit trail intact: {n} entries in {origin}; head {head}");
                    Ok(())
                }
                Err(b) => {
                    eprintln!("audit trail BROKEN in {origin}: {b}");
                    std::process::exit(1);
                }
            }
        }
        Action::Export { database, out } => {
            let (chain, _) = chain_from_db(database)?;
            if let Err(b) = audit::verify(&chain) {
                eprintln!("warning: exporting a broken chain: {b}");
            }
            let mut text = String::new();
            for e in &chain {
                text.push_str(&serde_json::to_string(e)?);
                text.push('\n');
            }
            // Whole or not at all: a failed write leaves no partial export behind.
            crate::common::write_atomic(&out, &text)?;
            eprintln!("{} entries written to {}", chain.len(), out.display());
            Ok(())
        }
    }
}
