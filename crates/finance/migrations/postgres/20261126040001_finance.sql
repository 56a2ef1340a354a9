-- Finance service tables (PostgreSQL). Ids are UUIDv7 text; money is integer minor units with
-- an ISO-4217 currency; times are unix epoch microseconds; `occurred_date` (YYYY-MM-DD) and
-- `occurred_month` (YYYY-MM) are the UTC calendar day and month, stored so reports group in
-- plain SQL on both backends.

-- `balance_minor` is kept equal to opening balance + the sum of the account's entries, in
-- the same transaction as every entry; `campus finance reconcile` checks it.
CREATE TABLE accounts (
    id                    TEXT    PRIMARY KEY,
    owner_id              TEXT    NOT NULL,
    name                  TEXT    NOT NULL,
    kind                  BIGINT  NOT NULL,
    currency              TEXT    NOT NULL,
    opening_balance_minor BIGINT  NOT NULL,
    balance_minor         BIGINT  NOT NULL,
    status                BIGINT  NOT NULL,
    created_at            BIGINT  NOT NULL,
    updated_at            BIGINT  NOT NULL,
    closed_at             BIGINT
);
CREATE INDEX accounts_by_owner ON accounts (owner_id, name, id);

CREATE TABLE categories (
    id         TEXT    PRIMARY KEY,
    owner_id   TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    kind       BIGINT  NOT NULL,
    is_default BOOLEAN NOT NULL,
    created_at BIGINT  NOT NULL,
    UNIQUE (owner_id, kind, name)
);
CREATE INDEX categories_by_owner ON categories (owner_id, name, id);

-- Income and expense. Deleted transactions keep their row (`deleted_at`) and lose their
-- entry; previous values of updates and deletes are in transaction_audit.
CREATE TABLE transactions (
    id             TEXT    PRIMARY KEY,
    owner_id       TEXT    NOT NULL,
    account_id     TEXT    NOT NULL REFERENCES accounts (id),
    category_id    TEXT    NOT NULL REFERENCES categories (id),
    kind           BIGINT  NOT NULL,
    amount_minor   BIGINT  NOT NULL,
    currency       TEXT    NOT NULL,
    description    TEXT    NOT NULL,
    occurred_at    BIGINT  NOT NULL,
    occurred_date  TEXT    NOT NULL,
    occurred_month TEXT    NOT NULL,
    created_at     BIGINT  NOT NULL,
    updated_at     BIGINT  NOT NULL,
    version        BIGINT  NOT NULL,
    deleted_at     BIGINT
);
-- ListTransactions (newest first, by owner / account / category) and monthly reports.
CREATE INDEX transactions_by_owner ON transactions (owner_id, occurred_at, id);
CREATE INDEX transactions_by_account ON transactions (account_id, occurred_at, id);
CREATE INDEX transactions_by_category ON transactions (category_id, occurred_at, id);
CREATE INDEX transactions_by_month ON transactions (owner_id, occurred_month);

CREATE TABLE transaction_audit (
    id             TEXT    PRIMARY KEY,
    transaction_id TEXT    NOT NULL REFERENCES transactions (id),
    owner_id       TEXT    NOT NULL,
    action         TEXT    NOT NULL,
    before         BYTEA   NOT NULL,
    at             BIGINT  NOT NULL
);
CREATE INDEX transaction_audit_by_transaction ON transaction_audit (transaction_id, at);

CREATE TABLE transfers (
    id              TEXT    PRIMARY KEY,
    owner_id        TEXT    NOT NULL,
    from_account_id TEXT    NOT NULL REFERENCES accounts (id),
    to_account_id   TEXT    NOT NULL REFERENCES accounts (id),
    amount_minor    BIGINT  NOT NULL,
    currency        TEXT    NOT NULL,
    description     TEXT    NOT NULL,
    occurred_at     BIGINT  NOT NULL,
    occurred_date   TEXT    NOT NULL,
    created_at      BIGINT  NOT NULL
);
CREATE INDEX transfers_by_owner ON transfers (owner_id, occurred_at, id);

-- The ledger: one signed entry per transaction, two per transfer (summing to zero).
CREATE TABLE entries (
    id             TEXT    PRIMARY KEY,
    owner_id       TEXT    NOT NULL,
    account_id     TEXT    NOT NULL REFERENCES accounts (id),
    amount_minor   BIGINT  NOT NULL,
    source_id      TEXT    NOT NULL,
    occurred_date  TEXT    NOT NULL,
    occurred_month TEXT    NOT NULL
);
CREATE INDEX entries_by_account ON entries (account_id, occurred_date);
CREATE INDEX entries_by_source ON entries (source_id);

CREATE TABLE budgets (
    id          TEXT    PRIMARY KEY,
    owner_id    TEXT    NOT NULL,
    category_id TEXT    NOT NULL REFERENCES categories (id),
    limit_minor BIGINT  NOT NULL,
    currency    TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL,
    UNIQUE (owner_id, category_id)
);
