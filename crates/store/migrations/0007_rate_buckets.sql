-- Replicas act as one: each token's request budget (a token bucket) is shared through the
-- database. A process syncs its own spending into it every 250 ms; `tokens` may go below zero
-- by what replicas overspent between syncs (a debt, paid back before the next request).
CREATE TABLE rate_buckets (
    who TEXT PRIMARY KEY,
    tokens DOUBLE PRECISION NOT NULL,
    updated_ms BIGINT NOT NULL
)
