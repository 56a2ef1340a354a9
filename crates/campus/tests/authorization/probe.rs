//! One call of a row, watched: the row counts of every table a call may write before and after
//! it, and what came back.

use std::future::Future;

use campus_testkit::Error;
use sqlx::{PgPool, Row as _, SqlitePool};
use tonic::Status;

/// The tables a call of one of the four services writes itself, with an expression of a row
/// that grows whenever the row changes, where the table has one: a write shows as a new count
/// or a new largest value. Left out: the outbox and processed events (the relay and consumers write them in the
/// background) and progress's course facts and course progress (projections of course events,
/// written by a consumer), and download counts (written in the background once an allowed
/// download's stream ends), and event reminders (every replica's reminder tick takes the due
/// ones in the background; a refused answer writes none, as `event_responses` shows).
const TABLES: [(&str, Option<&str>); 23] = [
    ("schools", Some("updated_at")),
    ("users", Some("updated_at")),
    (
        "refresh_tokens",
        Some("COALESCE(used_at, 0) + COALESCE(revoked_at, 0)"),
    ),
    ("courses", Some("updated_at")),
    ("lessons", Some("updated_at")),
    ("enrollments", None),
    ("resources", Some("updated_at")),
    ("resource_uploads", Some("updated_at")),
    ("content_blobs", Some("COALESCE(orphaned_at, 0)")),
    ("school_events", Some("updated_at + answers")),
    ("event_responses", Some("responded_at")),
    ("calendar_feeds", Some("generation")),
    (
        "lesson_progress",
        Some("started_at + COALESCE(completed_at, 0)"),
    ),
    ("attendance_sessions", None),
    ("attendance_marks", Some("marked_at")),
    ("accounts", Some("updated_at")),
    ("categories", None),
    ("budgets", Some("updated_at")),
    ("transactions", Some("updated_at")),
    ("entries", None),
    ("transfers", None),
    ("transaction_audit", None),
    ("idempotency_keys", None),
];

/// The server's database, read by the test.
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// What a row's call did.
#[derive(Debug)]
pub(crate) struct Observed {
    /// The answer as text, or the refusal.
    pub(crate) answer: Result<String, Status>,
    /// What an answer must hold to count as the target's data.
    pub(crate) expect: String,
    /// The tables whose row counts changed during the call, with before and after.
    pub(crate) written: Vec<String>,
}

/// Watches calls against one server's database.
pub(crate) struct Probe {
    pool: Pool,
}

impl Probe {
    /// Connects to the database at `url` (SQLite or PostgreSQL, as the server uses).
    pub(crate) async fn connect(url: &str) -> Result<Self, Error> {
        let pool = if url.starts_with("postgres") {
            Pool::Postgres(PgPool::connect(url).await?)
        } else {
            Pool::Sqlite(SqlitePool::connect(url).await?)
        };
        Ok(Self { pool })
    }

    /// Runs `call`, shown by its `Debug` text; `expect` is what the target's data looks like.
    pub(crate) async fn run<T: std::fmt::Debug>(
        &self,
        expect: impl Into<String>,
        call: impl Future<Output = Result<tonic::Response<T>, Status>>,
    ) -> Result<Observed, Error> {
        self.run_shown(expect, call, |answer| format!("{answer:?}"))
            .await
    }

    /// Runs `call` (not started before this) between two counts of every table; `show` turns
    /// the answer into the text `expect` is looked for in.
    pub(crate) async fn run_shown<T>(
        &self,
        expect: impl Into<String>,
        call: impl Future<Output = Result<tonic::Response<T>, Status>>,
        show: impl FnOnce(T) -> String,
    ) -> Result<Observed, Error> {
        let before = self.counts().await?;
        let answer = call.await.map(|response| show(response.into_inner()));
        let after = self.counts().await?;
        let written = TABLES
            .iter()
            .zip(before.iter().zip(&after))
            .filter(|(_, (before, after))| before != after)
            .map(|((table, _), (before, after))| format!("{table} {before:?}→{after:?}"))
            .collect();
        Ok(Observed {
            answer,
            expect: expect.into(),
            written,
        })
    }

    /// Every table's row count and largest change value, in the order of [`TABLES`], in one
    /// statement.
    async fn counts(&self) -> Result<Vec<(i64, i64)>, Error> {
        let columns: Vec<String> = TABLES
            .iter()
            .map(|(table, changed)| {
                let latest = changed.map_or_else(
                    || "CAST(0 AS BIGINT)".to_owned(),
                    |grows| format!("(SELECT COALESCE(MAX({grows}), 0) FROM {table})"),
                );
                format!("(SELECT COUNT(*) FROM {table}), {latest}")
            })
            .collect();
        let statement = format!("SELECT {}", columns.join(", "));
        let values: Vec<i64> = match &self.pool {
            Pool::Sqlite(pool) => {
                let row = sqlx::query(&statement).fetch_one(pool).await?;
                (0..TABLES.len() * 2)
                    .map(|index| row.try_get::<i64, _>(index))
                    .collect::<Result<_, _>>()?
            }
            Pool::Postgres(pool) => {
                let row = sqlx::query(&statement).fetch_one(pool).await?;
                (0..TABLES.len() * 2)
                    .map(|index| row.try_get::<i64, _>(index))
                    .collect::<Result<_, _>>()?
            }
        };
        Ok(values
            .chunks_exact(2)
            .map(|pair| (pair[0], pair[1]))
            .collect())
    }
}
