-- Event tables every service database carries (PostgreSQL).
-- Conventions: ids are UUIDv7 text (time-ordered); times are unix epoch microseconds (BIGINT), as on SQLite.

-- Events written in the same transaction as the change they describe; a relay publishes
-- them to the bus in `id` order and sets `sent_at`.
CREATE TABLE outbox (
    id           TEXT        PRIMARY KEY,
    event_type   TEXT        NOT NULL,
    aggregate_id TEXT        NOT NULL,
    envelope     BYTEA       NOT NULL,
    created_at   BIGINT      NOT NULL,
    sent_at      BIGINT
);

-- The relay's scan: unsent events, oldest first.
CREATE INDEX outbox_unsent ON outbox (id) WHERE sent_at IS NULL;

-- Events a consumer has handled, so a redelivered event is a no-op.
CREATE TABLE processed_events (
    consumer     TEXT        NOT NULL,
    event_id     TEXT        NOT NULL,
    processed_at BIGINT      NOT NULL,
    PRIMARY KEY (consumer, event_id)
);
