//! `xpufleet serve`: the fleet's system of record over HTTP. Scenarios with immutable
//! revisions, the fleet's records, and every computed check, plan and run, stored in SQLite or
//! PostgreSQL; the answers come from `xpufleet_app`, the same use cases as the CLI, so the API
//! returns the same JSON as `--json` for the same inputs.
//!
//! A handler parses, authenticates, calls one use case and serialises; nothing else. Runs are
//! addressed by a digest of everything they read (scenario revision, rule packs, catalog
//! overrides, date, seed, policy), so asking twice reuses the stored answer.

use std::future::Future;
use std::net::SocketAddr;

pub mod alerts;
pub mod api;
pub mod approvals;
pub mod audit;
pub mod auth;
pub mod error;
pub mod idempotency;
pub mod limits;
pub mod ops;
pub mod pool;
pub mod screening;
pub mod tokens;
pub mod ui;

pub use api::{openapi, routed_paths, router, AppState};
// The store's modules under their old names, so that `xpufleet_server::db::Store` and the
// like keep working.
pub use xpufleet_store::{db, token, DatabaseUrl, DbError, Store};

/// How long a stop signal waits for the requests in flight.
pub const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// The largest request body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// Where to listen and what to store in.
#[derive(Debug, Clone)]
pub struct Settings {
    pub addr: SocketAddr,
    pub database: DatabaseUrl,
}

/// Serves on `listener` until `shutdown` completes, then finishes the requests in flight (for
/// at most `SHUTDOWN_GRACE`) and closes the database.
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    store: Store,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_state(listener, AppState::new(store), shutdown).await
}

/// `serve_on` with a prepared state (a rate limit other than the default).
pub async fn serve_state(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let store = state.store.clone();
    let computations = state.computations.clone();
    // Replicas share each token's request budget: this process's spending goes into the
    // database every `SYNC_EVERY` (limits.rs).
    let sync = {
        let (auth, store) = (state.auth.clone(), state.store.clone());
        tokio::spawn(async move {
            let mut every = tokio::time::interval(crate::limits::SYNC_EVERY);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                // A database that is down is reported by `/readyz`; spending is kept and
                // written at the next sync that succeeds.
                let _ = auth.limiter.sync(&store).await;
            }
        })
    };
    let _stop_sync = AbortOnDrop(sync);
    let app = router(state);
    let (stopping_tx, mut stopping) = tokio::sync::watch::channel(false);
    let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
        shutdown.await;
        // Running computations are asked to stop, and no new one starts.
        computations.stop_all();
        let _ = stopping_tx.send(true);
    });
    // Requests in flight get `SHUTDOWN_GRACE` to finish; a long computation is not waited
    // for beyond it (its blocking task ends with the process).
    let deadline = async move {
        let _ = stopping.wait_for(|s| *s).await;
        tokio::time::sleep(SHUTDOWN_GRACE).await;
    };
    tokio::select! {
        r = serve => {
            r?;
            store.close().await;
        }
        _ = deadline => {
            tracing::warn!(
                grace_s = SHUTDOWN_GRACE.as_secs(),
                "requests still running after the stop signal were abandoned"
            );
        }
    }
    Ok(())
}

/// Ends a background task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Completes on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
