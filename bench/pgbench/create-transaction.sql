-- What one CreateTransaction asks of PostgreSQL (crates/finance/src/ledger.rs), for pgbench:
-- the idempotency recall, the account and category reads, then one transaction with the
-- guarded balance update, the transaction row, its ledger entry, its outbox event and the
-- stored answer. Sixteen accounts of one owner, as the `create-transaction` scenario uses.
-- (No colon inside a string: pgbench's prepared mode would take it for a variable.)
\set account random(1, 16)
\set key random(1, 2000000000)
SELECT fingerprint, response FROM idempotency_keys
  WHERE scope = 'finance.CreateTransaction-pgbench' AND key = CAST(:key AS text) AND created_at >= 0;
SELECT id, owner_id, name, kind, currency, opening_balance_minor, balance_minor, status,
       created_at, updated_at, closed_at
  FROM accounts WHERE id = 'pgbench-account-' || CAST(:account AS text) AND owner_id = 'pgbench';
SELECT id, owner_id, name, kind, is_default, created_at
  FROM categories WHERE id = 'pgbench-food' AND owner_id = 'pgbench';
BEGIN;
UPDATE accounts SET balance_minor = balance_minor + -1234, updated_at = 1700000000000000
  WHERE id = 'pgbench-account-' || CAST(:account AS text) AND owner_id = 'pgbench' AND status = 1
  AND currency = 'EUR' AND balance_minor >= -9223372036854774574
  AND balance_minor <= 9223372036854775807;
INSERT INTO transactions (id, owner_id, account_id, category_id, kind, amount_minor, currency,
    description, occurred_at, occurred_date, occurred_month, created_at, updated_at, version)
  VALUES ('pgbench-' || CAST(:key AS text) || '-' || CAST(:client_id AS text), 'pgbench', 'pgbench-account-' || CAST(:account AS text),
    'pgbench-food', 2, 1234, 'EUR', '', 1700000000000000, '2023-11-14', '2023-11',
    1700000000000000, 1700000000000000, 1);
INSERT INTO entries (id, owner_id, account_id, amount_minor, source_id, occurred_date,
    occurred_month)
  VALUES ('pgbench-entry-' || CAST(:key AS text) || '-' || CAST(:client_id AS text), 'pgbench',
    'pgbench-account-' || CAST(:account AS text), -1234, 'pgbench-' || CAST(:key AS text) || '-' || CAST(:client_id AS text),
    '2023-11-14', '2023-11');
INSERT INTO outbox (id, event_type, aggregate_id, envelope, created_at)
  VALUES ('pgbench-event-' || CAST(:key AS text) || '-' || CAST(:client_id AS text), 'finance.transaction.recorded',
    'pgbench-' || CAST(:key AS text), decode(repeat('ab', 300), 'hex'), 1700000000000000);
DELETE FROM idempotency_keys
  WHERE scope = 'finance.CreateTransaction-pgbench' AND key = CAST(:key AS text) AND created_at < 0;
INSERT INTO idempotency_keys (scope, key, fingerprint, response, created_at)
  VALUES ('finance.CreateTransaction-pgbench', CAST(:key AS text) || '-' || CAST(:client_id AS text),
    decode(repeat('cd', 32), 'hex'), decode(repeat('ef', 300), 'hex'), 1700000000000000);
COMMIT;
