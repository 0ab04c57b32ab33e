-- Trust: revocable tokens, the hash-chained audit trail, plan approvals and stored answers to
-- idempotent POSTs. Same SQL for SQLite and PostgreSQL.
ALTER TABLE tokens ADD COLUMN revoked BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tokens ADD COLUMN created_at TEXT NOT NULL DEFAULT '';
-- Append-only: the server only INSERTs here. Each entry holds the hash of the one before, so an
-- UPDATE, DELETE or reordering shows in `xpufleet audit verify`.
CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    role TEXT NOT NULL,
    action TEXT NOT NULL,
    resource TEXT NOT NULL,
    revision BIGINT,
    body_sha256 TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_log_resource ON audit_log (resource);
CREATE INDEX audit_log_actor ON audit_log (actor);
CREATE TABLE approvals (
    run_id TEXT NOT NULL REFERENCES runs (id),
    approved_by TEXT NOT NULL,
    role TEXT NOT NULL,
    at TEXT NOT NULL,
    note TEXT NOT NULL,
    PRIMARY KEY (run_id, approved_by)
);
CREATE TABLE idempotency (
    token_name TEXT NOT NULL,
    key TEXT NOT NULL,
    request_sha256 TEXT NOT NULL,
    status BIGINT NOT NULL,
    headers TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (token_name, key)
)
