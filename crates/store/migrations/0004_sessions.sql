-- Replicas act as one: the web UI's sessions and the failed sign-ins that throttle sign-in live
-- in the database, so that every server on it sees them. A session is stored by the SHA-256 of
-- its id (the cookie's secret never reaches the database); its CSRF token is derived from the
-- id, so it is not stored at all.
CREATE TABLE sessions (
    id_sha256 TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    last_used BIGINT NOT NULL
);
CREATE TABLE login_failures (
    at BIGINT NOT NULL
);
CREATE INDEX login_failures_at ON login_failures (at)
