-- The first schema: tokens, scenarios with immutable revisions, computed runs and the fleet's
-- records. Written in the SQL common to SQLite and PostgreSQL, and integers are BIGINT so that both
-- return 64-bit values.
CREATE TABLE tokens (
    hash TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL
);
CREATE TABLE scenarios (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    latest BIGINT NOT NULL
);
CREATE TABLE scenario_revisions (
    scenario_id TEXT NOT NULL REFERENCES scenarios (id),
    revision BIGINT NOT NULL,
    body TEXT NOT NULL,
    created_by TEXT NOT NULL,
    PRIMARY KEY (scenario_id, revision)
);
CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    scenario_id TEXT NOT NULL REFERENCES scenarios (id),
    revision BIGINT NOT NULL,
    inputs TEXT NOT NULL,
    result TEXT NOT NULL,
    html TEXT
);
CREATE TABLE records (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    body TEXT NOT NULL,
    version BIGINT NOT NULL,
    PRIMARY KEY (kind, id)
)
