-- Answers to retried writes (SQLite): a write carrying a request id stores its response
-- here in its own transaction; a repeat with the same id gets the stored response.
CREATE TABLE idempotency_keys (
    scope       TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    fingerprint BLOB    NOT NULL,
    response    BLOB    NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
);
