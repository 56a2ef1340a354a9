//! The finance service's SQL, written once for SQLite and PostgreSQL. Balances change by
//! atomic increments guarded in the statement (account open, owned, same currency, no int64
//! overflow), so concurrent writers never lose an update; reports aggregate in SQL.

use campus_store::{Database, MAX_PARAMETERS, Tx, on_pool, on_tx, placeholders, value_rows};

pub(crate) use campus_store::now_micros;

/// An account as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct AccountRow {
    pub(crate) id: String,
    pub(crate) owner_id: String,
    pub(crate) name: String,
    pub(crate) kind: i64,
    pub(crate) currency: String,
    pub(crate) opening_balance_minor: i64,
    pub(crate) balance_minor: i64,
    pub(crate) status: i64,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
    pub(crate) closed_at: Option<i64>,
}

/// A category as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct CategoryRow {
    pub(crate) id: String,
    pub(crate) owner_id: String,
    pub(crate) name: String,
    pub(crate) kind: i64,
    pub(crate) is_default: bool,
    pub(crate) created_at: i64,
}

/// A transaction as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct TransactionRow {
    pub(crate) id: String,
    pub(crate) owner_id: String,
    pub(crate) account_id: String,
    pub(crate) category_id: String,
    pub(crate) kind: i64,
    pub(crate) amount_minor: i64,
    pub(crate) currency: String,
    pub(crate) description: String,
    pub(crate) occurred_at: i64,
    pub(crate) occurred_date: String,
    pub(crate) occurred_month: String,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
    pub(crate) version: i64,
}

/// A transfer as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct TransferRow {
    pub(crate) id: String,
    pub(crate) owner_id: String,
    pub(crate) from_account_id: String,
    pub(crate) to_account_id: String,
    pub(crate) amount_minor: i64,
    pub(crate) currency: String,
    pub(crate) description: String,
    pub(crate) occurred_at: i64,
    pub(crate) occurred_date: String,
    pub(crate) created_at: i64,
}

/// A budget as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct BudgetRow {
    pub(crate) id: String,
    pub(crate) owner_id: String,
    pub(crate) category_id: String,
    pub(crate) limit_minor: i64,
    pub(crate) currency: String,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
}

const ACCOUNT_COLUMNS: &str = "id, owner_id, name, kind, currency, opening_balance_minor, balance_minor, status, \
                               created_at, updated_at, closed_at";
const CATEGORY_COLUMNS: &str = "id, owner_id, name, kind, is_default, created_at";
const TRANSACTION_COLUMNS: &str = "id, owner_id, account_id, category_id, kind, amount_minor, currency, description, \
                                   occurred_at, occurred_date, occurred_month, created_at, updated_at, version";
const TRANSFER_COLUMNS: &str = "id, owner_id, from_account_id, to_account_id, amount_minor, currency, description, \
                                occurred_at, occurred_date, created_at";
const BUDGET_COLUMNS: &str =
    "id, owner_id, category_id, limit_minor, currency, created_at, updated_at";

/// Stored code of open accounts.
pub(crate) const OPEN: i64 = 1;
/// Stored code of closed accounts.
pub(crate) const CLOSED: i64 = 2;

pub(crate) async fn insert_account(tx: &mut Tx, account: &AccountRow) -> Result<(), sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query(&format!("INSERT INTO accounts ({ACCOUNT_COLUMNS}) VALUES ({})", placeholders(1, 11)))
            .bind(&account.id)
            .bind(&account.owner_id)
            .bind(&account.name)
            .bind(account.kind)
            .bind(&account.currency)
            .bind(account.opening_balance_minor)
            .bind(account.balance_minor)
            .bind(account.status)
            .bind(account.created_at)
            .bind(account.updated_at)
            .bind(account.closed_at)
            .execute(conn)
            .await
            .map(|_| ())
    })
}

pub(crate) async fn account(
    database: &Database,
    owner: &str,
    id: &str,
) -> Result<Option<AccountRow>, sqlx::Error> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1 AND owner_id = $2");
    on_pool!(database, pool => {
        sqlx::query_as::<_, AccountRow>(&sql).bind(id).bind(owner).fetch_optional(pool).await
    })
}

pub(crate) async fn account_in(
    tx: &mut Tx,
    owner: &str,
    id: &str,
) -> Result<Option<AccountRow>, sqlx::Error> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1 AND owner_id = $2");
    on_tx!(tx, conn => {
        sqlx::query_as::<_, AccountRow>(&sql).bind(id).bind(owner).fetch_optional(conn).await
    })
}

/// Every account of the owner, by name.
pub(crate) async fn all_accounts(
    database: &Database,
    owner: &str,
) -> Result<Vec<AccountRow>, sqlx::Error> {
    let sql =
        format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE owner_id = $1 ORDER BY name, id");
    on_pool!(database, pool => {
        sqlx::query_as::<_, AccountRow>(&sql).bind(owner).fetch_all(pool).await
    })
}

/// One page of accounts by (name, id) after the cursor.
pub(crate) async fn list_accounts(
    database: &Database,
    owner: &str,
    include_closed: bool,
    after: (&str, &str),
    limit: u32,
) -> Result<Vec<AccountRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE owner_id = $1 AND ($2 OR status = $3) \
         AND (name > $4 OR (name = $4 AND id > $5)) ORDER BY name, id LIMIT $6"
    );
    on_pool!(database, pool => {
        sqlx::query_as::<_, AccountRow>(&sql)
            .bind(owner)
            .bind(include_closed)
            .bind(OPEN)
            .bind(after.0)
            .bind(after.1)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await
    })
}

pub(crate) async fn rename_account(
    tx: &mut Tx,
    owner: &str,
    id: &str,
    name: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query("UPDATE accounts SET name = $1, updated_at = $2 WHERE id = $3 AND owner_id = $4")
            .bind(name)
            .bind(now)
            .bind(id)
            .bind(owner)
            .execute(conn)
            .await
            .map(|done| done.rows_affected() == 1)
    })
}

/// Closes an open account at a zero balance; false if it is not open or not at zero.
pub(crate) async fn close_account(
    tx: &mut Tx,
    owner: &str,
    id: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query(
            "UPDATE accounts SET status = $1, closed_at = $2, updated_at = $2 \
             WHERE id = $3 AND owner_id = $4 AND status = $5 AND balance_minor = 0",
        )
        .bind(CLOSED)
        .bind(now)
        .bind(id)
        .bind(owner)
        .bind(OPEN)
        .execute(conn)
        .await
        .map(|done| done.rows_affected() == 1)
    })
}

/// Adds `delta` to an open account of `owner` in `currency`, unless the result would leave
/// int64; false if any condition fails (nothing changed).
pub(crate) async fn apply_delta(
    tx: &mut Tx,
    owner: &str,
    account_id: &str,
    currency: &str,
    delta: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let (low, high) = crate::domain::balance_bounds(delta);
    on_tx!(tx, conn => {
        sqlx::query(
            "UPDATE accounts SET balance_minor = balance_minor + $1, updated_at = $2 \
             WHERE id = $3 AND owner_id = $4 AND status = $5 AND currency = $6 \
             AND balance_minor >= $7 AND balance_minor <= $8",
        )
        .bind(delta)
        .bind(now)
        .bind(account_id)
        .bind(owner)
        .bind(OPEN)
        .bind(currency)
        .bind(low)
        .bind(high)
        .execute(conn)
        .await
        .map(|done| done.rows_affected() == 1)
    })
}

/// Creates the default categories of `owner` that do not exist yet.
pub(crate) async fn ensure_default_categories(
    database: &Database,
    owner: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    let defaults = crate::domain::DEFAULT_CATEGORIES;
    let sql = format!(
        "INSERT INTO categories ({CATEGORY_COLUMNS}) VALUES {} ON CONFLICT (owner_id, kind, name) DO NOTHING",
        value_rows(defaults.len(), 6)
    );
    on_pool!(database, pool => {
        let mut query = sqlx::query(&sql);
        for (name, kind) in defaults {
            query = query
                .bind(uuid::Uuid::now_v7().to_string())
                .bind(owner)
                .bind(*name)
                .bind(*kind as i64)
                .bind(true)
                .bind(now);
        }
        query.execute(pool).await.map(|_| ())
    })
}

pub(crate) async fn insert_category(
    tx: &mut Tx,
    category: &CategoryRow,
) -> Result<(), sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query(&format!("INSERT INTO categories ({CATEGORY_COLUMNS}) VALUES ({})", placeholders(1, 6)))
            .bind(&category.id)
            .bind(&category.owner_id)
            .bind(&category.name)
            .bind(category.kind)
            .bind(category.is_default)
            .bind(category.created_at)
            .execute(conn)
            .await
            .map(|_| ())
    })
}

/// Every category of the owner.
pub(crate) async fn all_categories(
    database: &Database,
    owner: &str,
) -> Result<Vec<CategoryRow>, sqlx::Error> {
    let sql =
        format!("SELECT {CATEGORY_COLUMNS} FROM categories WHERE owner_id = $1 ORDER BY name, id");
    on_pool!(database, pool => {
        sqlx::query_as::<_, CategoryRow>(&sql).bind(owner).fetch_all(pool).await
    })
}

pub(crate) async fn category(
    database: &Database,
    owner: &str,
    id: &str,
) -> Result<Option<CategoryRow>, sqlx::Error> {
    let sql = format!("SELECT {CATEGORY_COLUMNS} FROM categories WHERE id = $1 AND owner_id = $2");
    on_pool!(database, pool => {
        sqlx::query_as::<_, CategoryRow>(&sql).bind(id).bind(owner).fetch_optional(pool).await
    })
}

/// One page of categories by (name, id), optionally of one kind (0 = any).
pub(crate) async fn list_categories(
    database: &Database,
    owner: &str,
    kind: i64,
    after: (&str, &str),
    limit: u32,
) -> Result<Vec<CategoryRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {CATEGORY_COLUMNS} FROM categories WHERE owner_id = $1 AND ($2 = 0 OR kind = $2) \
         AND (name > $3 OR (name = $3 AND id > $4)) ORDER BY name, id LIMIT $5"
    );
    on_pool!(database, pool => {
        sqlx::query_as::<_, CategoryRow>(&sql)
            .bind(owner)
            .bind(kind)
            .bind(after.0)
            .bind(after.1)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await
    })
}

/// Inserts transactions, many rows per statement (one for a single write, a message's rows
/// for an import).
pub(crate) async fn insert_transactions(
    tx: &mut Tx,
    rows: &[TransactionRow],
) -> Result<(), sqlx::Error> {
    for chunk in rows.chunks(MAX_PARAMETERS / 14) {
        let sql = format!(
            "INSERT INTO transactions ({TRANSACTION_COLUMNS}) VALUES {}",
            value_rows(chunk.len(), 14)
        );
        let sql = tx.many_parameters(&sql);
        on_tx!(&mut *tx, conn => {
            let mut query = sqlx::query(&sql);
            for row in chunk {
                query = query
                    .bind(&row.id)
                    .bind(&row.owner_id)
                    .bind(&row.account_id)
                    .bind(&row.category_id)
                    .bind(row.kind)
                    .bind(row.amount_minor)
                    .bind(&row.currency)
                    .bind(&row.description)
                    .bind(row.occurred_at)
                    .bind(&row.occurred_date)
                    .bind(&row.occurred_month)
                    .bind(row.created_at)
                    .bind(row.updated_at)
                    .bind(row.version);
            }
            query.execute(conn).await.map(|_| ())
        })?;
    }
    Ok(())
}

/// A ledger entry to write: one per transaction, one per transfer leg.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NewEntry<'a> {
    pub(crate) owner: &'a str,
    pub(crate) account_id: &'a str,
    pub(crate) amount: i64,
    pub(crate) source_id: &'a str,
    pub(crate) micros: i64,
}

impl<'a> NewEntry<'a> {
    /// The entry of a transaction: its signed amount on its account.
    pub(crate) fn of(row: &'a TransactionRow) -> Self {
        Self {
            owner: &row.owner_id,
            account_id: &row.account_id,
            amount: crate::domain::signed(row.kind, row.amount_minor),
            source_id: &row.id,
            micros: row.occurred_at,
        }
    }
}

/// Writes ledger entries, many rows per statement.
pub(crate) async fn insert_entries(
    tx: &mut Tx,
    entries: &[NewEntry<'_>],
) -> Result<(), sqlx::Error> {
    for chunk in entries.chunks(MAX_PARAMETERS / 7) {
        let sql = format!(
            "INSERT INTO entries (id, owner_id, account_id, amount_minor, source_id, occurred_date, occurred_month) \
             VALUES {}",
            value_rows(chunk.len(), 7)
        );
        let sql = tx.many_parameters(&sql);
        on_tx!(&mut *tx, conn => {
            let mut query = sqlx::query(&sql);
            for entry in chunk {
                let (date, month) = crate::domain::day_and_month(entry.micros);
                query = query
                    .bind(uuid::Uuid::now_v7().to_string())
                    .bind(entry.owner)
                    .bind(entry.account_id)
                    .bind(entry.amount)
                    .bind(entry.source_id)
                    .bind(date)
                    .bind(month);
            }
            query.execute(conn).await.map(|_| ())
        })?;
    }
    Ok(())
}

/// Replaces the ledger entry of a transaction.
pub(crate) async fn replace_entry(
    tx: &mut Tx,
    owner: &str,
    account_id: &str,
    amount: i64,
    source_id: &str,
    micros: i64,
) -> Result<(), sqlx::Error> {
    delete_entries(tx, source_id).await?;
    insert_entries(
        tx,
        &[NewEntry {
            owner,
            account_id,
            amount,
            source_id,
            micros,
        }],
    )
    .await
}

pub(crate) async fn delete_entries(tx: &mut Tx, source_id: &str) -> Result<(), sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query("DELETE FROM entries WHERE source_id = $1").bind(source_id).execute(conn).await.map(|_| ())
    })
}

pub(crate) async fn transaction(
    database: &Database,
    owner: &str,
    id: &str,
) -> Result<Option<TransactionRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {TRANSACTION_COLUMNS} FROM transactions WHERE id = $1 AND owner_id = $2 AND deleted_at IS NULL"
    );
    on_pool!(database, pool => {
        sqlx::query_as::<_, TransactionRow>(&sql).bind(id).bind(owner).fetch_optional(pool).await
    })
}

/// Writes a transaction's new values if its version is still `expected`; bumps the version.
pub(crate) async fn update_transaction(
    tx: &mut Tx,
    row: &TransactionRow,
    expected: i64,
) -> Result<bool, sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query(
            "UPDATE transactions SET category_id = $1, amount_minor = $2, description = $3, occurred_at = $4, \
             occurred_date = $5, occurred_month = $6, updated_at = $7, version = version + 1 \
             WHERE id = $8 AND owner_id = $9 AND version = $10 AND deleted_at IS NULL",
        )
        .bind(&row.category_id)
        .bind(row.amount_minor)
        .bind(&row.description)
        .bind(row.occurred_at)
        .bind(&row.occurred_date)
        .bind(&row.occurred_month)
        .bind(row.updated_at)
        .bind(&row.id)
        .bind(&row.owner_id)
        .bind(expected)
        .execute(conn)
        .await
        .map(|done| done.rows_affected() == 1)
    })
}

/// Marks a transaction deleted if its version is still `expected`.
pub(crate) async fn delete_transaction(
    tx: &mut Tx,
    owner: &str,
    id: &str,
    expected: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query(
            "UPDATE transactions SET deleted_at = $1, updated_at = $1, version = version + 1 \
             WHERE id = $2 AND owner_id = $3 AND version = $4 AND deleted_at IS NULL",
        )
        .bind(now)
        .bind(id)
        .bind(owner)
        .bind(expected)
        .execute(conn)
        .await
        .map(|done| done.rows_affected() == 1)
    })
}

/// Keeps a transaction's values before an update or delete.
pub(crate) async fn insert_audit(
    tx: &mut Tx,
    owner: &str,
    transaction_id: &str,
    action: &str,
    before: &[u8],
    now: i64,
) -> Result<(), sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query(
            "INSERT INTO transaction_audit (id, transaction_id, owner_id, action, before, at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(transaction_id)
        .bind(owner)
        .bind(action)
        .bind(before)
        .bind(now)
        .execute(conn)
        .await
        .map(|_| ())
    })
}

/// Filters of ListTransactions; empty strings and 0 mean "any".
#[derive(Debug, Default)]
pub(crate) struct TransactionFilter<'a> {
    pub(crate) owner_id: &'a str,
    pub(crate) account_id: &'a str,
    pub(crate) category_id: &'a str,
    pub(crate) kind: i64,
    /// `[start, end)` in microseconds; `(i64::MIN, i64::MAX)` for any time.
    pub(crate) window: (i64, i64),
    /// The cursor: rows strictly before `(occurred_at, id)` in newest-first order.
    pub(crate) before: Option<(i64, &'a str)>,
}

/// One page of transactions, newest `occurred_at` first (ties by id, descending).
pub(crate) async fn list_transactions(
    database: &Database,
    filter: &TransactionFilter<'_>,
    limit: u32,
) -> Result<Vec<TransactionRow>, sqlx::Error> {
    let (before_at, before_id) = filter.before.unwrap_or((i64::MAX, "\u{10ffff}"));
    let sql = format!(
        "SELECT {TRANSACTION_COLUMNS} FROM transactions WHERE owner_id = $1 AND deleted_at IS NULL \
         AND ($2 = '' OR account_id = $2) AND ($3 = '' OR category_id = $3) AND ($4 = 0 OR kind = $4) \
         AND occurred_at >= $5 AND occurred_at < $6 \
         AND (occurred_at < $7 OR (occurred_at = $7 AND id < $8)) \
         ORDER BY occurred_at DESC, id DESC LIMIT $9"
    );
    on_pool!(database, pool => {
        sqlx::query_as::<_, TransactionRow>(&sql)
            .bind(filter.owner_id)
            .bind(filter.account_id)
            .bind(filter.category_id)
            .bind(filter.kind)
            .bind(filter.window.0)
            .bind(filter.window.1)
            .bind(before_at)
            .bind(before_id)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await
    })
}

pub(crate) async fn insert_transfer(tx: &mut Tx, row: &TransferRow) -> Result<(), sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query(&format!("INSERT INTO transfers ({TRANSFER_COLUMNS}) VALUES ({})", placeholders(1, 10)))
            .bind(&row.id)
            .bind(&row.owner_id)
            .bind(&row.from_account_id)
            .bind(&row.to_account_id)
            .bind(row.amount_minor)
            .bind(&row.currency)
            .bind(&row.description)
            .bind(row.occurred_at)
            .bind(&row.occurred_date)
            .bind(row.created_at)
            .execute(conn)
            .await
            .map(|_| ())
    })
}

/// One page of transfers, newest first, optionally touching one account, within a window.
pub(crate) async fn list_transfers(
    database: &Database,
    owner: &str,
    account_id: &str,
    window: (i64, i64),
    before: Option<(i64, &str)>,
    limit: u32,
) -> Result<Vec<TransferRow>, sqlx::Error> {
    let (before_at, before_id) = before.unwrap_or((i64::MAX, "\u{10ffff}"));
    let sql = format!(
        "SELECT {TRANSFER_COLUMNS} FROM transfers WHERE owner_id = $1 \
         AND ($2 = '' OR from_account_id = $2 OR to_account_id = $2) AND occurred_at >= $3 AND occurred_at < $4 \
         AND (occurred_at < $5 OR (occurred_at = $5 AND id < $6)) ORDER BY occurred_at DESC, id DESC LIMIT $7"
    );
    on_pool!(database, pool => {
        sqlx::query_as::<_, TransferRow>(&sql)
            .bind(owner)
            .bind(account_id)
            .bind(window.0)
            .bind(window.1)
            .bind(before_at)
            .bind(before_id)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await
    })
}

/// Creates or replaces the budget of a category; returns the stored budget.
pub(crate) async fn upsert_budget(
    tx: &mut Tx,
    budget: &BudgetRow,
) -> Result<BudgetRow, sqlx::Error> {
    let select =
        format!("SELECT {BUDGET_COLUMNS} FROM budgets WHERE owner_id = $1 AND category_id = $2");
    on_tx!(tx, conn => {
        sqlx::query(
            "INSERT INTO budgets (id, owner_id, category_id, limit_minor, currency, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (owner_id, category_id) DO UPDATE SET \
             limit_minor = excluded.limit_minor, currency = excluded.currency, updated_at = excluded.updated_at",
        )
        .bind(&budget.id)
        .bind(&budget.owner_id)
        .bind(&budget.category_id)
        .bind(budget.limit_minor)
        .bind(&budget.currency)
        .bind(budget.created_at)
        .bind(budget.updated_at)
        .execute(&mut *conn)
        .await?;
        sqlx::query_as::<_, BudgetRow>(&select)
            .bind(&budget.owner_id)
            .bind(&budget.category_id)
            .fetch_one(&mut *conn)
            .await
    })
}

/// One page of budgets by id.
pub(crate) async fn list_budgets(
    database: &Database,
    owner: &str,
    after: &str,
    limit: u32,
) -> Result<Vec<BudgetRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {BUDGET_COLUMNS} FROM budgets WHERE owner_id = $1 AND id > $2 ORDER BY id LIMIT $3"
    );
    on_pool!(database, pool => {
        sqlx::query_as::<_, BudgetRow>(&sql).bind(owner).bind(after).bind(i64::from(limit)).fetch_all(pool).await
    })
}

/// Every budget of the owner.
pub(crate) async fn all_budgets(
    database: &Database,
    owner: &str,
) -> Result<Vec<BudgetRow>, sqlx::Error> {
    list_budgets(database, owner, "", 10_000).await
}

/// An account whose stored balance differs from its opening balance plus its entries.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BalanceMismatch {
    /// The account.
    pub account_id: String,
    /// Its stored balance.
    pub stored: i64,
    /// Opening balance plus the sum of its entries.
    pub computed: i64,
}

/// A transfer whose legs do not sum to zero, or that has not exactly two legs.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UnbalancedTransfer {
    /// The transfer.
    pub transfer_id: String,
    /// Sum of its legs.
    pub legs_sum: i64,
    /// Number of legs.
    pub legs: i64,
}

/// Every account whose stored balance is not opening balance plus entries.
pub(crate) async fn balance_mismatches(
    database: &Database,
) -> Result<Vec<BalanceMismatch>, sqlx::Error> {
    let sql = "SELECT a.id AS account_id, a.balance_minor AS stored, \
               a.opening_balance_minor + CAST(COALESCE((SELECT SUM(e.amount_minor) FROM entries e WHERE e.account_id = a.id), 0) AS BIGINT) AS computed \
               FROM accounts a WHERE a.balance_minor <> \
               a.opening_balance_minor + CAST(COALESCE((SELECT SUM(e.amount_minor) FROM entries e WHERE e.account_id = a.id), 0) AS BIGINT)";
    on_pool!(database, pool => {
        sqlx::query_as::<_, BalanceMismatch>(sql).fetch_all(pool).await
    })
}

/// Every transfer whose legs do not sum to zero or are not two.
pub(crate) async fn unbalanced_transfers(
    database: &Database,
) -> Result<Vec<UnbalancedTransfer>, sqlx::Error> {
    let sql = "SELECT t.id AS transfer_id, CAST(COALESCE(SUM(e.amount_minor), 0) AS BIGINT) AS legs_sum, COUNT(e.id) AS legs \
               FROM transfers t LEFT JOIN entries e ON e.source_id = t.id GROUP BY t.id \
               HAVING CAST(COALESCE(SUM(e.amount_minor), 0) AS BIGINT) <> 0 OR COUNT(e.id) <> 2";
    on_pool!(database, pool => {
        sqlx::query_as::<_, UnbalancedTransfer>(sql).fetch_all(pool).await
    })
}
