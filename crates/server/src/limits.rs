//! Abuse limits: a request-rate budget per token (a token bucket, `429` with `Retry-After`
//! when spent), and the rule that the server binds only loopback unless told otherwise. The
//! body-size limit is `MAX_BODY_BYTES` (`413`).
//!
//! Replicas share each token's bucket through the database (`rate_buckets`): a process takes
//! from its own copy of the bucket without a round trip, and every `SYNC_EVERY` it writes what
//! it spent and reads what the others left. A bucket a process has not seen yet is read from
//! the database first. So N replicas together admit what one would, give or take what they
//! spend between two syncs; what they overspend there is owed (the shared bucket goes
//! negative, down to `-burst`) and paid back before the next request passes.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::db::{DbError, Store};
use crate::error::ApiError;

/// How often a process reconciles its buckets with the database.
pub const SYNC_EVERY: Duration = Duration::from_millis(250);

/// A bucket untouched this long is no longer synced (its state stays in the database).
const IDLE_AFTER: Duration = Duration::from_secs(60);

pub use xpufleet_store::limits::{shared_level, RateLimit};

/// This process's copy of one token's bucket.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: Instant,
    /// Requests taken here since the last sync.
    unsynced: f64,
}

/// One bucket per token name.
#[derive(Debug)]
pub struct RateLimiter {
    limit: RateLimit,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    pub fn new(limit: RateLimit) -> RateLimiter {
        RateLimiter {
            limit,
            buckets: Mutex::default(),
        }
    }

    /// Takes one request from `who`'s bucket; `Err(wait)` when it is empty. A bucket this
    /// process has not seen is first read from `store` (where other replicas spend it too).
    pub async fn take(&self, who: &str, store: &Store) -> Result<(), Duration> {
        if !self.knows(who) {
            // The database unreachable is not a reason to refuse: the request itself will
            // fail or succeed on its own; the bucket starts full here then.
            let shared = store
                .rate_bucket(who, self.limit, wall_ms())
                .await
                .unwrap_or(self.limit.burst);
            if let Ok(mut b) = self.buckets.lock() {
                b.entry(who.to_string()).or_insert(Bucket {
                    tokens: shared,
                    last: Instant::now(),
                    unsynced: 0.0,
                });
            }
        }
        self.take_at(who, Instant::now())
    }

    fn knows(&self, who: &str) -> bool {
        self.buckets
            .lock()
            .map(|b| b.contains_key(who))
            .unwrap_or(true)
    }

    fn take_at(&self, who: &str, now: Instant) -> Result<(), Duration> {
        let limit = self.limit;
        let Ok(mut b) = self.buckets.lock() else {
            return Ok(());
        };
        let bucket = b.entry(who.to_string()).or_insert(Bucket {
            tokens: limit.burst,
            last: now,
            unsynced: 0.0,
        });
        let elapsed = now.saturating_duration_since(bucket.last).as_secs_f64();
        bucket.tokens = limit.refill(bucket.tokens, elapsed);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            bucket.unsynced += 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - bucket.tokens) / limit.per_second,
            ))
        }
    }

    /// Writes what this process spent since the last sync into the shared buckets and takes
    /// back what is left there (after every replica's spending). Buckets idle for a minute
    /// are dropped from memory.
    pub async fn sync(&self, store: &Store) -> Result<(), DbError> {
        let now = Instant::now();
        let due: Vec<(String, f64)> = match self.buckets.lock() {
            Ok(mut b) => {
                b.retain(|_, k| k.unsynced > 0.0 || now.duration_since(k.last) < IDLE_AFTER);
                b.iter_mut()
                    .map(|(who, k)| {
                        let spent = std::mem::take(&mut k.unsynced);
                        (who.clone(), spent)
                    })
                    .collect()
            }
            Err(_) => return Ok(()),
        };
        for (who, spent) in due {
            let shared = if spent > 0.0 {
                store
                    .spend_rate_bucket(&who, spent, self.limit, wall_ms())
                    .await
            } else {
                store.rate_bucket(&who, self.limit, wall_ms()).await
            };
            let shared = match shared {
                Ok(t) => t,
                Err(e) => {
                    // Keep what was spent for the next sync.
                    if let Ok(mut b) = self.buckets.lock() {
                        if let Some(k) = b.get_mut(&who) {
                            k.unsynced += spent;
                        }
                    }
                    return Err(e);
                }
            };
            if let Ok(mut b) = self.buckets.lock() {
                if let Some(k) = b.get_mut(&who) {
                    // Requests taken here while the database answered are not in `shared` yet.
                    k.tokens = shared - k.unsynced;
                    k.last = Instant::now();
                }
            }
        }
        Ok(())
    }
}

/// Milliseconds since the Unix epoch: the clock replicas share.
fn wall_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// `429` with the whole seconds to wait in `Retry-After`.
pub fn too_many(wait: Duration) -> Response {
    let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
    let mut resp = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        format!("request rate over this token's limit; retry in {secs} s"),
    )
    .into_response();
    resp.headers_mut().insert(
        header::RETRY_AFTER,
        secs.to_string().parse().expect("digits"),
    );
    resp
}

/// `Ok` for a loopback address, or for any address with `allow_remote`; otherwise why not.
pub fn check_bind(addr: SocketAddr, allow_remote: bool) -> Result<(), String> {
    if addr.ip().is_loopback() || allow_remote {
        return Ok(());
    }
    Err(format!(
        "refusing to listen on {addr}: it is not a loopback address, and the API would be \
         reachable from other machines over plain HTTP (tokens in clear); put a TLS proxy in \
         front and pass --allow-remote to do it anyway"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_empties_and_refills() {
        let l = RateLimiter::new(RateLimit {
            per_second: 10.0,
            burst: 3.0,
        });
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(l.take_at("a", t0).is_ok());
        }
        let wait = l.take_at("a", t0).unwrap_err();
        assert!((wait.as_secs_f64() - 0.1).abs() < 1e-9, "{wait:?}");
        // Another token has its own bucket.
        assert!(l.take_at("b", t0).is_ok());
        // A tenth of a second later one request is allowed again, and only one.
        let t1 = t0 + Duration::from_millis(100);
        assert!(l.take_at("a", t1).is_ok());
        assert!(l.take_at("a", t1).is_err());
    }

    #[test]
    fn only_loopback_without_allow_remote() {
        assert!(check_bind("127.0.0.1:8080".parse().unwrap(), false).is_ok());
        assert!(check_bind("[::1]:8080".parse().unwrap(), false).is_ok());
        let e = check_bind("0.0.0.0:8080".parse().unwrap(), false).unwrap_err();
        assert!(e.contains("--allow-remote"), "{e}");
        assert!(check_bind("0.0.0.0:8080".parse().unwrap(), true).is_ok());
    }
}
