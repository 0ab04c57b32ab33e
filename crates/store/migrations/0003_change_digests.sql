-- A change and its audit entry are one transaction, and the entry names the changed record's
-- digest before and after (empty for entries written before this migration, and for entries
-- that changed nothing).
ALTER TABLE audit_log ADD COLUMN before_sha256 TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN after_sha256 TEXT NOT NULL DEFAULT ''
