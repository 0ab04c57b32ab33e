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
    /// Listen on a non-loopback address (put a TLS proxy in front: tokens travel in clear).
    #[arg(long)]
    allow_remote: bool,
    /// Requests per second allowed to each token (bursts of twice that); over it, 429.
    #[arg(long, default_value_t = 200.0, value_name = "N")]
    rate_limit: f64,
    /// Clients reach the server through a TLS proxy: session cookies are marked Secure.
    #[arg(long)]
    behind_tls: bool,
    /// The request log on stderr, one line per request: text, json or off.
    #[arg(long, default_value = "text", value_name = "FORMAT")]
    log_format: String,
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
    xpufleet_server::limits::check_bind(args.addr, args.allow_remote)
        .map_err(|e| anyhow::anyhow!("--addr: {e}"))?;
    if !(args.rate_limit.is_finite() && args.rate_limit >= 1.0) {
        anyhow::bail!("--rate-limit: expected 1 or more requests per second");
    }
    let log_format: xpufleet_server::ops::LogFormat = args
        .log_format
        .parse()
        .map_err(|e| anyhow::anyhow!("--log-format: {e}"))?;
    let limit = xpufleet_server::limits::RateLimit {
        per_second: args.rate_limit,
        burst: 2.0 * args.rate_limit,
    };
    xpufleet_server::ops::init_logging(log_format);
    let rt = runtime()?;
    let served = rt.block_on(async {
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
        let state = xpufleet_server::AppState::new(store)
            .with_rate_limit(limit)
            .behind_tls(args.behind_tls)
            .with_log_format(log_format);
        xpufleet_server::serve_state(listener, state, xpufleet_server::shutdown_signal()).await?;
        eprintln!("xpufleet serve: stopped");
        anyhow::Ok(())
    });
    // A computation abandoned at the stop is a blocking task: it is not waited for.
    rt.shutdown_background();
    served
}
