//! Transactions on either backend, so a service writes its change and its events together.

use sqlx::{Postgres, Sqlite, Transaction};

use crate::Database;

/// A database transaction on the backend of the pool it came from.
#[derive(Debug)]
pub enum Tx {
    /// On SQLite (begun `IMMEDIATE`, so the write lock is taken up front).
    Sqlite(Transaction<'static, Sqlite>),
    /// On PostgreSQL.
    Postgres(Transaction<'static, Postgres>),
}

impl Database {
    /// Begins a write transaction. On SQLite it takes the write lock at once, so two
    /// writers queue on the busy timeout instead of failing halfway with SQLITE_BUSY.
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        match self {
            Self::Sqlite(pool) => pool.begin_with("BEGIN IMMEDIATE").await.map(Tx::Sqlite),
            Self::Postgres(pool) => pool.begin().await.map(Tx::Postgres),
        }
    }
}

/// Wakes this process's relays after a commit, so events written here go out at once
/// instead of at the relay's next poll (which still catches other processes' writes).
pub(crate) static COMMITTED: tokio::sync::Notify = tokio::sync::Notify::const_new();

impl Tx {
    /// Commits the change and its events.
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Self::Sqlite(tx) => tx.commit().await,
            Self::Postgres(tx) => tx.commit().await,
        }?;
        COMMITTED.notify_waiters();
        Ok(())
    }
}

/// Runs `$body` with `$pool` bound to the backend's typed pool. The body is written once
/// and compiled for both backends, so both arms must produce one type: map query results
/// to plain values (`.map(|done| done.rows_affected())`). Write placeholders as `$1, $2, …`
/// (SQLite accepts them).
#[macro_export]
macro_rules! on_pool {
    ($database:expr, $pool:ident => $body:expr) => {
        match $database {
            $crate::Database::Sqlite($pool) => $body,
            $crate::Database::Postgres($pool) => $body,
        }
    };
}

/// Runs `$body` with `$conn` bound to the transaction's connection (`&mut SqliteConnection`
/// or `&mut PgConnection`), written once for both backends as with [`on_pool!`].
#[macro_export]
macro_rules! on_tx {
    ($tx:expr, $conn:ident => $body:expr) => {
        match $tx {
            $crate::Tx::Sqlite(tx) => {
                let $conn = &mut **tx;
                $body
            }
            $crate::Tx::Postgres(tx) => {
                let $conn = &mut **tx;
                $body
            }
        }
    };
}
