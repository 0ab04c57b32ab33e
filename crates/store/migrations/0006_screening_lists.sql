-- Re-screening (issue 24 item 4): every version of the restricted-party list stored, by the
-- SHA-256 of its text, in the order stored (`seq`), with the re-screening of every party made
-- when it was stored (JSON: new and cleared hits against the version before it).
CREATE TABLE screening_lists (
    seq BIGINT PRIMARY KEY,
    sha256 TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL,
    stored_at TEXT NOT NULL,
    rescreen TEXT NOT NULL
)
