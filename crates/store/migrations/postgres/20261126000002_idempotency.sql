-- Answers to retried writes (PostgreSQL): a write carrying a request id stores its response
-- here in its own transaction; a repeat with the same id gets the stored response.
CREATE TABLE idempotency_keys (
    scope       TEXT   NOT NULL,
    key         TEXT   NOT NULL,
    fingerprint BYTEA  NOT NULL,
    response    BYTEA  NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (scope, key)
);
