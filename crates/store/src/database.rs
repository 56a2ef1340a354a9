//! The database pool, on SQLite or PostgreSQL as the URL says, and its migrations.

use std::{str::FromStr, time::Duration};

use sqlx::{
    PgPool, SqlitePool,
    migrate::Migrator,
    postgres::{PgConnectOptions, PgPoolOptions},
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};

use crate::config::{DatabaseConfig, DatabaseUrl};

/// Why the database could not be reached or migrated.
#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    /// `CAMPUS_DATABASE_URL` does not parse for its backend.
    #[error("CAMPUS_DATABASE_URL: {0}")]
    Url(#[source] sqlx::Error),
    /// The database did not answer.
    #[error("database unreachable: {0}")]
    Unreachable(#[source] sqlx::Error),
    /// A migration failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The operation does not exist for this backend.
    #[error("{0}")]
    Unsupported(&'static str),
}

/// Whether a database error is a unique-constraint violation (a duplicate row), which
/// services turn into ALREADY_EXISTS or into the stored answer of a retried request.
pub fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// The status a service answers for a failed database call, logged once here: ABORTED (retry
/// the whole call) when PostgreSQL gave up a transaction for a serialization failure or a
/// deadlock, so nothing was written; UNAVAILABLE (retry) when the database could not be
/// reached or no connection was free; INTERNAL otherwise. The cause is never sent to the
/// client.
pub fn database_status(service: &str, error: &sqlx::Error) -> tonic::Status {
    if let sqlx::Error::Database(database) = error
        && matches!(database.code().as_deref(), Some("40001" | "40P01"))
    {
        tracing::warn!(%error, service, "transaction conflicted and was rolled back");
        return tonic::Status::aborted(
            "the write conflicted with a concurrent one and was not applied; retry",
        );
    }
    tracing::error!(%error, service, "database call failed");
    if matches!(error, sqlx::Error::PoolTimedOut | sqlx::Error::Io(_)) {
        tonic::Status::unavailable(format!("the {service} database is unavailable; retry"))
    } else {
        tonic::Status::internal("internal error")
    }
}

/// One crate's migrations, written once per backend (their SQL dialects differ).
#[derive(Debug, Clone, Copy)]
pub struct Migrations {
    /// Which crate they belong to, for logs.
    pub name: &'static str,
    /// The SQLite migrations (`sqlx::migrate!("migrations/sqlite")`).
    pub sqlite: fn() -> Migrator,
    /// The PostgreSQL migrations (`sqlx::migrate!("migrations/postgres")`).
    pub postgres: fn() -> Migrator,
}

/// A connection pool on the backend the URL named.
#[derive(Debug, Clone)]
pub enum Database {
    /// Embedded SQLite: WAL, `synchronous=FULL`, foreign keys on.
    Sqlite(SqlitePool),
    /// PostgreSQL.
    Postgres(PgPool),
}

/// SQLite waits this long for the one writer lock before giving up.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

impl Database {
    /// A pool that connects on first use, so a process can start (and report NOT_SERVING)
    /// while its database is still down.
    pub fn connect_lazy(config: &DatabaseConfig) -> Result<Self, DatabaseError> {
        match &config.url {
            DatabaseUrl::Sqlite(url) => {
                let options = SqliteConnectOptions::from_str(url)
                    .map_err(DatabaseError::Url)?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    // FULL: NORMAL can lose the last commits on power loss, and the ledger
                    // must not.
                    .synchronous(SqliteSynchronous::Full)
                    .busy_timeout(SQLITE_BUSY_TIMEOUT)
                    .foreign_keys(true);
                let pool = SqlitePoolOptions::new()
                    .max_connections(config.max_connections)
                    .acquire_timeout(config.acquire_timeout)
                    .connect_lazy_with(options);
                Ok(Self::Sqlite(pool))
            }
            DatabaseUrl::Postgres(url) => {
                let options = PgConnectOptions::from_str(url).map_err(DatabaseError::Url)?;
                let pool = PgPoolOptions::new()
                    .max_connections(config.max_connections)
                    .acquire_timeout(config.acquire_timeout)
                    .connect_lazy_with(options);
                Ok(Self::Postgres(pool))
            }
        }
    }

    /// Answers when the database does.
    pub async fn ping(&self) -> Result<(), DatabaseError> {
        let result = match self {
            Self::Sqlite(pool) => sqlx::query("SELECT 1").execute(pool).await.map(drop),
            Self::Postgres(pool) => sqlx::query("SELECT 1").execute(pool).await.map(drop),
        };
        result.map_err(DatabaseError::Unreachable)
    }

    /// Applies every pending migration of each set, in order. Crates share one database in
    /// all-in-one mode, so each set skips the versions of the others (migration versions are
    /// timestamps, unique across crates).
    pub async fn migrate(&self, sets: &[Migrations]) -> Result<(), DatabaseError> {
        for set in sets {
            match self {
                Self::Sqlite(pool) => {
                    let mut migrator = (set.sqlite)();
                    migrator.set_ignore_missing(true);
                    migrator.run(pool).await?;
                }
                Self::Postgres(pool) => {
                    let mut migrator = (set.postgres)();
                    migrator.set_ignore_missing(true);
                    migrator.run(pool).await?;
                }
            }
            tracing::info!(migrations = set.name, "migrations applied");
        }
        Ok(())
    }

    /// Writes a consistent copy of an SQLite database to `path` while it keeps serving
    /// (`VACUUM INTO`: one read transaction, so the copy is a snapshot). PostgreSQL is backed
    /// up with `pg_dump` (see the README), so it is refused here.
    pub async fn backup_to(&self, path: &std::path::Path) -> Result<(), DatabaseError> {
        match self {
            Self::Sqlite(pool) => {
                let target = path.to_string_lossy().replace('\'', "''");
                let statement = format!("VACUUM INTO '{target}'");
                sqlx::query(&statement)
                    .execute(pool)
                    .await
                    .map(drop)
                    .map_err(DatabaseError::Unreachable)
            }
            Self::Postgres(_) => Err(DatabaseError::Unsupported(
                "back up PostgreSQL with pg_dump (the campus-backup CronJob does)",
            )),
        }
    }

    /// Closes every connection; pending queries finish first.
    pub async fn close(&self) {
        match self {
            Self::Sqlite(pool) => pool.close().await,
            Self::Postgres(pool) => pool.close().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use sqlx::error::{DatabaseError, ErrorKind};

    use super::database_status;

    /// A database error with a SQLSTATE code, as PostgreSQL reports one.
    #[derive(Debug, thiserror::Error)]
    #[error("sqlstate {0}")]
    struct Failed(&'static str);

    impl DatabaseError for Failed {
        fn message(&self) -> &str {
            self.0
        }

        fn code(&self) -> Option<Cow<'_, str>> {
            Some(Cow::Borrowed(self.0))
        }

        fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
            self
        }

        fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
            self
        }

        fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
            self
        }

        fn kind(&self) -> ErrorKind {
            ErrorKind::Other
        }
    }

    fn code_for(sqlstate: &'static str) -> tonic::Code {
        database_status("test", &sqlx::Error::Database(Box::new(Failed(sqlstate)))).code()
    }

    #[test]
    fn conflicts_are_aborted_and_other_failures_internal() {
        assert_eq!(
            code_for("40001"),
            tonic::Code::Aborted,
            "serialization failure"
        );
        assert_eq!(code_for("40P01"), tonic::Code::Aborted, "deadlock");
        assert_eq!(code_for("42P01"), tonic::Code::Internal, "undefined table");
        assert_eq!(
            database_status("test", &sqlx::Error::PoolTimedOut).code(),
            tonic::Code::Unavailable
        );
    }
}
