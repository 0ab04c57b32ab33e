//! `xpufleet serve`: the HTTP API (see `xpufleet_server`) on an address, over SQLite (the
//! default, `xpufleet.db` in the working directory) or PostgreSQL. Stops cleanly on SIGTERM.

use std::net::SocketAddr;

use anyhow::{Context, Result};
use xpufleet_server::{DatabaseUrl, Store};

use crate::common::Ctx;

/// The database when none is named: a SQLite file in the working directory.
pub const DEFAULT_DATABASE: &str = "sqlite://xpufleet.db";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "HOST:PORT")]
    addr: SocketAddr,
    /// sqlite://FILE or postgres://USER@HOST/DB; created and migrated on first start.
    #[arg(long, default_value = DEFAULT_DATABASE, value_name = "URL")]
    database: String,
}

/// A runtime for the server and its database client.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

pub fn run(_ctx: &Ctx, args: Args) -> Result<()> {
    let url = DatabaseUrl(args.database);
    runtime()?.block_on(async {
        let store = Store::open(&url)
            .await
            .with_context(|| format!("opening the database {url}"))?;
        let listener = tokio::net::TcpListener::bind(args.addr)
            .await
            .with_context(|| format!("listening on {}", args.addr))?;
        eprintln!(
            "xpufleet serve: listening on http://{} (database {url})",
            listener.local_addr()?
        );
        xpufleet_server::serve_on(listener, store, xpufleet_server::shutdown_signal()).await?;
        eprintln!("xpufleet serve: stopped");
        Ok(())
    })
}
