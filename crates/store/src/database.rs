//! The database pool, on SQLite or PostgreSQL as the URL says, and its migrations.

use std::{str::FromStr, time::Duration};

use sqlx::{
    PgPool, SqlitePool,
    migrate::Migrator,
    postgres::{PgConnectOptions, PgPoolOptions},
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};

use campus_runtime::failure::{Failure, FailureKind};

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
    /// The database's TLS certificate was refused (expired, another host name, unknown CA).
    #[error(
        "CAMPUS_DATABASE_URL: the database's certificate was refused (see its sslmode and \
         sslrootcert): {0}"
    )]
    Tls(#[source] sqlx::Error),
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

/// A failed database call, classified: a transaction PostgreSQL gave up for a serialization
/// failure or a deadlock (nothing was written) is a conflict; a database that cannot be
/// reached, a connection lost or terminated (SQLSTATE classes 08 and 57P0x, `53` out of
/// resources), no free connection in the pool, or SQLite's lock held past its busy timeout
/// is unavailable; anything else is internal. The one place database errors are classified.
pub fn database_failure(error: sqlx::Error) -> Failure {
    let kind = match &error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => FailureKind::Unavailable,
        sqlx::Error::Database(database) => match database.code().as_deref() {
            Some("40001" | "40P01") => FailureKind::Conflict,
            Some(code) if is_unavailable_code(code) => FailureKind::Unavailable,
            Some(_) | None => FailureKind::Internal,
        },
        sqlx::Error::Configuration(_)
        | sqlx::Error::InvalidArgument(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::RowNotFound
        | sqlx::Error::TypeNotFound { .. }
        | sqlx::Error::ColumnIndexOutOfBounds { .. }
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Encode(_)
        | sqlx::Error::Decode(_)
        | sqlx::Error::AnyDriverError(_)
        | sqlx::Error::Migrate(_)
        | sqlx::Error::InvalidSavePointStatement
        | sqlx::Error::BeginFailed
        | _ => FailureKind::Internal,
    };
    Failure::new(kind, "the database", error)
}

/// Whether a database error code says the database is (for now) out of reach: PostgreSQL's
/// connection exceptions (class 08), operator intervention (57P01 admin shutdown, 57P02
/// crash shutdown, 57P03 cannot connect now), insufficient resources (class 53); SQLite's
/// BUSY and LOCKED, also as extended codes.
fn is_unavailable_code(code: &str) -> bool {
    code.starts_with("08")
        || code.starts_with("57P0")
        || code.starts_with("53")
        || (code.len() < 5 // SQLite's codes are numbers below 10000, SQLSTATEs five characters
            && code
                .parse::<u32>()
                .is_ok_and(|sqlite| matches!(sqlite & 0xff, 5 | 6)))
}

/// `$first, $first+1, …` for `count` values: the placeholders of an `IN (…)` list, written
/// once for both backends (SQLite and PostgreSQL both number parameters `$n`).
pub fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Most parameters one statement may bind on both backends (SQLite's limit; PostgreSQL takes
/// 65,535): a multi-row write binds `columns` a row, so it writes at most
/// `MAX_PARAMETERS / columns` rows a statement.
pub const MAX_PARAMETERS: usize = 32_766;

/// `($1, …, $columns), ($columns+1, …), …` for `rows` rows: the `VALUES` list of a multi-row
/// insert, written once for both backends.
pub fn value_rows(rows: usize, columns: usize) -> String {
    (0..rows)
        .map(|row| format!("({})", placeholders(row * columns + 1, columns)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `sql` with its `$1, $2, …` written as SQLite's anonymous `?` when they appear once each in
/// ascending order (multi-row writes, long `IN` lists). SQLite keeps numbered parameters in
/// a list it searches from the start for each one bound, so a statement of thousands of
/// `$n` costs time quadratic in their number; anonymous ones are bound by position. Any
/// other `sql` is returned as it is.
fn anonymous_parameters(sql: &str) -> std::borrow::Cow<'_, str> {
    let mut out = String::with_capacity(sql.len());
    let mut expected = 1usize;
    let mut rest = sql;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let digits = rest[at + 1..]
            .bytes()
            .take_while(u8::is_ascii_digit)
            .count();
        if rest[at + 1..at + 1 + digits].parse::<usize>() != Ok(expected) {
            return std::borrow::Cow::Borrowed(sql);
        }
        out.push('?');
        expected += 1;
        rest = &rest[at + 1 + digits..];
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

impl crate::Tx {
    /// `sql` (written with `$n` for both backends) as this transaction's backend runs a
    /// statement with many parameters fastest: see [`anonymous_parameters`].
    pub fn many_parameters<'s>(&self, sql: &'s str) -> std::borrow::Cow<'s, str> {
        match self {
            Self::Sqlite(_) => anonymous_parameters(sql),
            Self::Postgres(_) => std::borrow::Cow::Borrowed(sql),
        }
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

/// A PostgreSQL connection idle this long is pinged before it is handed out again.
const PING_WHEN_IDLE_FOR: Duration = Duration::from_secs(5);

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
                    // A file in this process does not go away under a connection.
                    .test_before_acquire(false)
                    .connect_lazy_with(options);
                Ok(Self::Sqlite(pool))
            }
            DatabaseUrl::Postgres(url) => {
                let options = PgConnectOptions::from_str(url).map_err(DatabaseError::Url)?;
                let pool = PgPoolOptions::new()
                    .max_connections(config.max_connections)
                    .acquire_timeout(config.acquire_timeout)
                    // sqlx pings every connection it hands out: a round trip per statement.
                    // Only a connection idle for a while may have been closed underneath
                    // (server restart, a proxy's idle timeout); a busy one is checked by
                    // its use, and a failure there is UNAVAILABLE, retried by the client.
                    .test_before_acquire(false)
                    .before_acquire(|connection, meta| {
                        Box::pin(async move {
                            if meta.idle_for >= PING_WHEN_IDLE_FOR {
                                sqlx::Connection::ping(connection).await?;
                            }
                            Ok(true)
                        })
                    })
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
        result.map_err(|error| {
            if campus_runtime::tls::tls_failure(&error).is_some() {
                DatabaseError::Tls(error)
            } else {
                DatabaseError::Unreachable(error)
            }
        })
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

    /// The migrations of `sets` not applied to this database yet, as `name version
    /// description`; reads only (unlike [`Database::migrate`], it creates nothing), so a
    /// read-only tool can say the schema is behind instead of changing it.
    pub async fn pending_migrations(
        &self,
        sets: &[Migrations],
    ) -> Result<Vec<String>, DatabaseError> {
        let (table_exists, migrators): (&str, Vec<Migrator>) = match self {
            Self::Sqlite(_) => (
                "SELECT EXISTS (SELECT 1 FROM sqlite_master \
                 WHERE type = 'table' AND name = '_sqlx_migrations')",
                sets.iter().map(|set| (set.sqlite)()).collect(),
            ),
            Self::Postgres(_) => (
                "SELECT to_regclass('_sqlx_migrations') IS NOT NULL",
                sets.iter().map(|set| (set.postgres)()).collect(),
            ),
        };
        let applied: Vec<i64> = crate::on_pool!(self, pool => {
            let exists: bool = sqlx::query_scalar(table_exists)
                .fetch_one(pool)
                .await
                .map_err(DatabaseError::Unreachable)?;
            if exists {
                sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
                    .fetch_all(pool)
                    .await
                    .map_err(DatabaseError::Unreachable)?
            } else {
                Vec::new()
            }
        });
        Ok(sets
            .iter()
            .zip(&migrators)
            .flat_map(|(set, migrator)| {
                migrator
                    .iter()
                    .filter(|migration| !applied.contains(&migration.version))
                    .map(move |migration| {
                        format!(
                            "{} {} {}",
                            set.name, migration.version, migration.description
                        )
                    })
            })
            .collect())
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

    use super::{FailureKind, anonymous_parameters, database_failure, value_rows};

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

    fn kind_for(sqlstate: &'static str) -> FailureKind {
        database_failure(sqlx::Error::Database(Box::new(Failed(sqlstate)))).kind()
    }

    #[test]
    fn conflicts_outages_and_defects_are_told_apart() {
        assert_eq!(kind_for("40001"), FailureKind::Conflict, "serialization");
        assert_eq!(kind_for("40P01"), FailureKind::Conflict, "deadlock");
        assert_eq!(
            kind_for("57P01"),
            FailureKind::Unavailable,
            "admin shutdown"
        );
        assert_eq!(
            kind_for("57P03"),
            FailureKind::Unavailable,
            "cannot connect now"
        );
        assert_eq!(
            kind_for("08006"),
            FailureKind::Unavailable,
            "connection failure"
        );
        assert_eq!(
            kind_for("53300"),
            FailureKind::Unavailable,
            "too many connections"
        );
        assert_eq!(kind_for("5"), FailureKind::Unavailable, "SQLite busy");
        assert_eq!(
            kind_for("517"),
            FailureKind::Unavailable,
            "SQLite busy snapshot"
        );
        assert_eq!(kind_for("42P01"), FailureKind::Internal, "undefined table");
        assert_eq!(kind_for("2067"), FailureKind::Internal, "SQLite unique");
        assert_eq!(
            kind_for("22021"),
            FailureKind::Internal,
            "not in repertoire"
        );
        assert_eq!(
            database_failure(sqlx::Error::PoolTimedOut).kind(),
            FailureKind::Unavailable
        );
    }

    #[test]
    fn numbered_parameters_in_order_become_anonymous_for_sqlite() {
        let insert = format!("INSERT INTO t (a, b) VALUES {}", value_rows(2, 2));
        assert_eq!(
            anonymous_parameters(&insert),
            "INSERT INTO t (a, b) VALUES (?, ?), (?, ?)"
        );
        let reused = "SELECT 1 WHERE a = $1 OR b = $1";
        assert!(matches!(anonymous_parameters(reused), Cow::Borrowed(_)));
        let out_of_order = "UPDATE t SET a = $2 WHERE b = $1";
        assert!(matches!(
            anonymous_parameters(out_of_order),
            Cow::Borrowed(_)
        ));
    }
}
