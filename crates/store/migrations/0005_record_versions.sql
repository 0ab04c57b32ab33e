-- Retention (15 CFR 762.6): every version of an export record (acquisitions, verifications,
-- licences, reviews) is kept here as it is written, and deleting one adds a tombstone (deleted
-- = 1, the last body kept) instead of forgetting it. The versions stay readable for five years
-- after the record's last event; only then may they be purged. `at` is the change's UTC time
-- (RFC 3339), as the audit trail writes it.
CREATE TABLE record_versions (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    version BIGINT NOT NULL,
    body TEXT NOT NULL,
    deleted BIGINT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (kind, id, version)
)
