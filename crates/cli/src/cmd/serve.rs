//! `xpufleet serve`: the HTTP API (see `xpufleet_server`) on an address, over SQLite (the
//! default, `xpufleet.db` in the working directory) or PostgreSQL. Stops cleanly on SIGTERM.

use std::net::SocketAddr;

use anyhow::{Context, Result};
use xpufleet_store::{DatabaseUrl, Store};

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
    /// Computations (check, plan, simulate, run) run at once; others wait up to 5 s, then 503.
    /// Default: one per core.
    #[arg(long, value_name = "N")]
    compute_slots: Option<usize>,
    /// Seconds one computation may run before it is stopped and answered 503.
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    compute_timeout: u64,
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
    if args.compute_slots == Some(0) || args.compute_slots.is_some_and(|n| n > 1024) {
        anyhow::bail!("--compute-slots: expected 1 to 1024 computations at once");
    }
    if !(1..=86_400).contains(&args.compute_timeout) {
        anyhow::bail!("--compute-timeout: expected 1 to 86400 seconds");
    }
    let slots = args
        .compute_slots
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
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
            .with_log_format(log_format)
            .with_computations(slots, std::time::Duration::from_secs(args.compute_timeout));
        xpufleet_server::serve_state(listener, state, xpufleet_server::shutdown_signal()).await?;
        eprintln!("xpufleet serve: stopped");
        anyhow::Ok(())
    });
    // A computation abandoned at the stop is a blocking task: it is not waited for.
    rt.shutdown_background();
    served
}
