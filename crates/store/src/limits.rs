//! The shared request budget of each token: its refill arithmetic and the level that every
//! replica on one database reads and spends (`Store::rate_bucket`, `Store::spend_rate_bucket`).
//! The server's limiter (`xpufleet_server::limits`) keeps a copy per process and syncs it here.

/// A token's request budget: `burst` requests at once, refilled at `per_second`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    pub per_second: f64,
    pub burst: f64,
}

impl Default for RateLimit {
    /// Generous for people and scripts, a wall for a runaway loop.
    fn default() -> RateLimit {
        RateLimit {
            per_second: 200.0,
            burst: 400.0,
        }
    }
}

impl RateLimit {
    /// `tokens` refilled over `elapsed_s` seconds, capped at `burst`.
    pub fn refill(&self, tokens: f64, elapsed_s: f64) -> f64 {
        (tokens + elapsed_s.max(0.0) * self.per_second).min(self.burst)
    }
}

/// The shared bucket's level after `elapsed_ms` of refill and `spent` requests: never above
/// `burst`, never below `-burst` (a debt of at most one burst).
pub fn shared_level(limit: RateLimit, tokens: f64, elapsed_ms: i64, spent: f64) -> f64 {
    (limit.refill(tokens, elapsed_ms as f64 / 1e3) - spent).max(-limit.burst)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shared_level_refills_spends_and_owes_at_most_one_burst() {
        let l = RateLimit {
            per_second: 10.0,
            burst: 5.0,
        };
        assert_eq!(shared_level(l, 2.0, 100, 0.0), 3.0);
        assert_eq!(shared_level(l, 2.0, 10_000, 1.0), 4.0);
        assert_eq!(
            shared_level(l, 2.0, -500, 0.0),
            2.0,
            "a clock behind refills nothing"
        );
        assert_eq!(shared_level(l, 0.0, 0, 100.0), -5.0);
    }
}
