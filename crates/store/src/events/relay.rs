//! The relay: moves unsent outbox rows to the bus in id order, then marks them sent. A crash
//! between the two republishes the rows after restart (at least once; consumers
//! deduplicate). On PostgreSQL an advisory lock lets one replica relay at a time, so events
//! of one aggregate reach the bus in the order they were written. Sent rows are pruned after
//! the retention period.

use std::time::Duration;

use campus_runtime::backoff::Backoff;
use prost::Message as _;

use super::{
    Bus, EventEnvelope,
    outbox::{micros_ago, now_micros},
};
use crate::{Database, idempotency::Idempotency, on_pool};

/// Rows moved per round.
const BATCH: i64 = 256;
/// Arbitrary, fixed key of the PostgreSQL advisory lock that elects the relaying replica.
const RELAY_LOCK: i64 = 0x0000_6361_6d70_7573;

/// Why a relay round failed; the round is retried.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// Reading or marking outbox rows failed.
    #[error("outbox: {0}")]
    Database(#[from] sqlx::Error),
    /// The bus did not take the events.
    #[error(transparent)]
    Bus(#[from] super::BusError),
}

/// Moves a database's outbox to a bus.
#[derive(Debug, Clone)]
pub struct Relay {
    database: Database,
    bus: Bus,
    /// Wait between rounds when the outbox is empty.
    pub idle_poll: Duration,
    /// How long sent rows are kept (for inspection and replay) before they are deleted.
    pub retention: Duration,
    /// Idempotency keys to prune with the outbox, if any.
    pub idempotency: Option<Idempotency>,
}

impl Relay {
    /// A relay polling every 20 ms when idle and keeping sent rows for a day.
    pub fn new(database: Database, bus: Bus) -> Self {
        Self {
            database,
            bus,
            idle_poll: Duration::from_millis(20),
            retention: Duration::from_secs(24 * 60 * 60),
            idempotency: None,
        }
    }

    /// Relays until `shutdown` completes, then finishes the round under way.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut last_prune = tokio::time::Instant::now();
        let mut backoff = Backoff::reconnect();
        loop {
            let round = self.relay_once().await;
            // A local commit cuts an idle wait short, but never a backoff after an error.
            let wake_on_commit = matches!(round, Ok(moved) if moved as i64 != BATCH);
            let wait = match round {
                Ok(moved) if moved as i64 == BATCH => Duration::ZERO,
                Ok(_) => {
                    backoff.reset();
                    self.idle_poll
                }
                Err(error) => {
                    tracing::warn!(%error, "outbox relay round failed; retrying");
                    backoff.next_pause()
                }
            };
            if last_prune.elapsed() > Duration::from_secs(60) {
                last_prune = tokio::time::Instant::now();
                if let Err(error) = self.prune().await {
                    tracing::warn!(%error, "pruning sent outbox rows failed");
                }
                if let Some(idempotency) = &self.idempotency
                    && let Err(error) = idempotency.prune().await
                {
                    tracing::warn!(%error, "pruning expired idempotency keys failed");
                }
            }
            tokio::select! {
                () = &mut shutdown => return,
                () = tokio::time::sleep(wait) => {}
                () = crate::tx::COMMITTED.notified(), if wake_on_commit => {}
            }
        }
    }

    /// One round: publish up to one batch of unsent events, oldest first; returns how many.
    pub async fn relay_once(&self) -> Result<usize, RelayError> {
        match &self.database {
            Database::Sqlite(pool) => {
                // One relay per process, and SQLite has one writer: no lock needed, and no
                // transaction held while consumers (which write) run.
                let rows: Vec<(String, Vec<u8>)> =
                    sqlx::query_as(UNSENT).bind(BATCH).fetch_all(pool).await?;
                self.publish(&rows).await?;
                let sql = mark_sent_sql(rows.len());
                mark_sent(&sql, &rows).execute(pool).await?;
                Ok(rows.len())
            }
            Database::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                let elected: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
                    .bind(RELAY_LOCK)
                    .fetch_one(&mut *tx)
                    .await?;
                if !elected {
                    return Ok(0);
                }
                let rows: Vec<(String, Vec<u8>)> = sqlx::query_as(UNSENT)
                    .bind(BATCH)
                    .fetch_all(&mut *tx)
                    .await?;
                self.publish(&rows).await?;
                let sql = mark_sent_sql(rows.len());
                mark_sent(&sql, &rows).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(rows.len())
            }
        }
    }

    /// Publishes the rows' envelopes in order; a row that does not decode is logged and
    /// skipped (it is still marked sent, so it cannot block the outbox).
    async fn publish(&self, rows: &[(String, Vec<u8>)]) -> Result<(), RelayError> {
        let mut envelopes = Vec::with_capacity(rows.len());
        for (id, bytes) in rows {
            match EventEnvelope::decode(bytes.as_slice()) {
                Ok(envelope) => envelopes.push(envelope),
                Err(error) => tracing::error!(%error, id, "outbox row does not decode; skipped"),
            }
        }
        self.bus.publish(&envelopes).await?;
        Ok(())
    }

    /// Puts back on an in-process bus the sent events of `family` younger than `age`: the
    /// outbox is the durable log of the all-in-one mode, so a restarted process's live feed
    /// holds again what it held before (consumers handled these events already and do not
    /// see them again). Does nothing on Redis, which keeps its streams itself. Returns how
    /// many events were restored.
    pub async fn restore_sent(&self, family: &str, age: Duration) -> Result<usize, sqlx::Error> {
        let Bus::Local(bus) = &self.bus else {
            return Ok(0);
        };
        let rows: Vec<(Vec<u8>,)> = on_pool!(&self.database, pool => {
            sqlx::query_as(
                "SELECT envelope FROM outbox WHERE sent_at IS NOT NULL AND event_type LIKE $1 \
                 AND created_at >= $2 ORDER BY id",
            )
            .bind(format!("{family}.%"))
            .bind(micros_ago(age))
            .fetch_all(pool)
            .await
        })?;
        let envelopes: Vec<EventEnvelope> = rows
            .iter()
            .filter_map(|(bytes,)| EventEnvelope::decode(bytes.as_slice()).ok())
            .collect();
        let restored = envelopes.len();
        bus.restore(envelopes);
        Ok(restored)
    }

    /// Deletes rows sent longer ago than the retention period.
    pub async fn prune(&self) -> Result<u64, sqlx::Error> {
        let cutoff = micros_ago(self.retention);
        let deleted = on_pool!(&self.database, pool => {
            sqlx::query("DELETE FROM outbox WHERE sent_at IS NOT NULL AND sent_at < $1")
                .bind(cutoff)
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
        })?;
        Ok(deleted)
    }
}

/// Up to one batch of unsent rows, oldest first.
const UNSENT: &str = "SELECT id, envelope FROM outbox WHERE sent_at IS NULL ORDER BY id LIMIT $1";

/// The statement marking exactly `rows` rows sent (by id, not "up to an id": a row with a
/// smaller id may commit after this round read the outbox).
fn mark_sent_sql(rows: usize) -> String {
    if rows == 0 {
        "UPDATE outbox SET sent_at = $1 WHERE 1 = 0".to_owned()
    } else {
        format!(
            "UPDATE outbox SET sent_at = $1 WHERE id IN ({})",
            crate::placeholders(2, rows)
        )
    }
}

/// [`mark_sent_sql`] with its arguments bound.
fn mark_sent<'q, DB>(
    sql: &'q str,
    rows: &[(String, Vec<u8>)],
) -> sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>
where
    DB: sqlx::Database,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    let mut query = sqlx::query(sql).bind(now_micros());
    for (id, _) in rows {
        query = query.bind(id.clone());
    }
    query
}
