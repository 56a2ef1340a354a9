//! Idempotent writes, written once for every service: a write that carries a request id
//! stores its answer in the same transaction as its change, and a retry with that id gets
//! the first answer back, even when two retries race. A different request under the same id
//! is refused instead of applied.
//!
//! [`Idempotency::write`] runs the whole path:
//! 1. recall: an answer stored under the id is returned (a different request is [`KeyReused`]);
//! 2. write and remember in one transaction;
//! 3. if the write fails (a concurrent retry committed first and the unique key, or one of
//!    the write's own unique rows, refused this one), recall again: the winner's answer is
//!    returned as a replay; if nothing is stored, the write's own error is.
//!
//! A request's fingerprint is the SHA-256 of its encoded message, the same for every service.
//! Answers are kept for `CAMPUS_IDEMPOTENCY_RETENTION` (24 h by default, as payment APIs
//! keep keys): an older answer is neither recalled nor kept; [`Idempotency::prune`] deletes it.

use std::{
    collections::{HashMap, HashSet},
    future::Future,
    time::Duration,
};

use sha2::Digest as _;

use crate::{
    Database, MAX_PARAMETERS, Tx,
    events::outbox::{micros_ago, now_micros},
    on_pool, on_tx, value_rows,
};

/// The stored answer of a key within the retention period.
const RECALL: &str = "SELECT fingerprint, response FROM idempotency_keys \
     WHERE scope = $1 AND key = $2 AND created_at >= $3";

/// A stored row as the answer for `request`.
fn stored_answer<R: prost::Message + Default>(
    row: Option<(Vec<u8>, Vec<u8>)>,
    request: &Request<'_>,
) -> Result<Option<Result<R, KeyReused>>, sqlx::Error> {
    let Some((fingerprint, response)) = row else {
        return Ok(None);
    };
    if fingerprint != request.fingerprint {
        return Ok(Some(Err(KeyReused)));
    }
    R::decode(response.as_slice())
        .map(|response| Some(Ok(response)))
        .map_err(|error| sqlx::Error::Decode(Box::new(error)))
}

/// Refuses a batch whose requests do not share one scope (a batch's rows are stored under one).
fn one_scope<'a>(requests: impl IntoIterator<Item = &'a Request<'a>>) -> Result<(), sqlx::Error> {
    let mut scopes = requests.into_iter().map(|request| request.scope.as_str());
    let first = scopes.next();
    if scopes.any(|scope| Some(scope) != first) {
        return Err(sqlx::Error::Protocol(
            "a batch of idempotency keys must share one scope".into(),
        ));
    }
    Ok(())
}

/// A retried write's identity: where its key lives, the key, and the request's fingerprint.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    scope: String,
    key: &'a str,
    fingerprint: Vec<u8>,
}

impl<'a> Request<'a> {
    /// The request `body` under `key` in `scope` (`service.Method` plus whatever narrows
    /// it, such as the caller). An empty key means the write is not idempotent: it runs once
    /// as asked and nothing is stored.
    pub fn new(scope: impl Into<String>, key: &'a str, body: &impl prost::Message) -> Self {
        Self {
            scope: scope.into(),
            key,
            fingerprint: sha2::Sha256::digest(body.encode_to_vec()).to_vec(),
        }
    }

    /// The request id; empty when the write is not idempotent.
    pub fn key(&self) -> &str {
        self.key
    }

    fn keyed(&self) -> bool {
        !self.key.is_empty()
    }
}

/// What an idempotent write answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer<R> {
    /// The response: this call's, or the first call's for a retry.
    pub response: R,
    /// Whether this is a retry answered with the first call's response.
    pub replayed: bool,
}

/// A request id already used for a different request; services answer ALREADY_EXISTS.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("request_id was already used for a different request")]
pub struct KeyReused;

/// The idempotency keys of one database, kept for a retention period.
#[derive(Debug, Clone)]
pub struct Idempotency {
    database: Database,
    retention: Duration,
}

impl Idempotency {
    /// Keys in `database`, answered for `retention`.
    pub fn new(database: Database, retention: Duration) -> Self {
        Self {
            database,
            retention,
        }
    }

    /// Runs `write` once for `request`: see the module documentation. `write` gets the
    /// transaction, makes its changes (events included) and hands it back with its response;
    /// this remembers the response and commits.
    pub async fn write<R, E, W, Fut>(&self, request: &Request<'_>, write: W) -> Result<Answer<R>, E>
    where
        R: prost::Message + Default,
        E: From<sqlx::Error> + From<KeyReused>,
        W: FnOnce(Tx) -> Fut,
        Fut: Future<Output = Result<(Tx, R), E>>,
    {
        if request.keyed()
            && let Some(earlier) = self.recall(request).await?
        {
            return Ok(Answer {
                response: earlier?,
                replayed: true,
            });
        }
        self.write_after_recall(request, write).await
    }

    /// [`Idempotency::write`] without its first recall, for a caller that recalled already
    /// (before checking the request against state that may have changed since the first
    /// call), so the key is not read twice.
    pub async fn write_after_recall<R, E, W, Fut>(
        &self,
        request: &Request<'_>,
        write: W,
    ) -> Result<Answer<R>, E>
    where
        R: prost::Message + Default,
        E: From<sqlx::Error> + From<KeyReused>,
        W: FnOnce(Tx) -> Fut,
        Fut: Future<Output = Result<(Tx, R), E>>,
    {
        let written = async {
            let (mut tx, response) = write(self.database.begin().await?).await?;
            if request.keyed() {
                self.remember(&mut tx, request, &response).await?;
            }
            tx.commit().await?;
            Ok::<_, E>(response)
        }
        .await;
        match written {
            Ok(response) => Ok(Answer {
                response,
                replayed: false,
            }),
            Err(error) if request.keyed() => match self.recall(request).await {
                Ok(Some(earlier)) => Ok(Answer {
                    response: earlier?,
                    replayed: true,
                }),
                Ok(None) | Err(_) => Err(error),
            },
            Err(error) => Err(error),
        }
    }

    /// The answer stored for `request`'s key within the retention period: `Ok` for the same
    /// request, [`KeyReused`] for a different one. A write that checks the request against
    /// state that may have changed since the first call recalls before checking, so a retry
    /// gets the first answer whatever changed.
    pub async fn recall<R: prost::Message + Default>(
        &self,
        request: &Request<'_>,
    ) -> Result<Option<Result<R, KeyReused>>, sqlx::Error> {
        let row: Option<(Vec<u8>, Vec<u8>)> = on_pool!(&self.database, pool => {
            sqlx::query_as(RECALL)
                .bind(&request.scope)
                .bind(request.key)
                .bind(self.cutoff())
                .fetch_optional(pool)
                .await
        })?;
        stored_answer(row, request)
    }

    /// [`Idempotency::recall`] in `tx`, for a write that stores many keys in one transaction
    /// (an import's rows).
    pub async fn recall_in<R: prost::Message + Default>(
        &self,
        tx: &mut Tx,
        request: &Request<'_>,
    ) -> Result<Option<Result<R, KeyReused>>, sqlx::Error> {
        let cutoff = self.cutoff();
        let row: Option<(Vec<u8>, Vec<u8>)> = on_tx!(tx, conn => {
            sqlx::query_as(RECALL)
                .bind(&request.scope)
                .bind(request.key)
                .bind(cutoff)
                .fetch_optional(conn)
                .await
        })?;
        stored_answer(row, request)
    }

    /// Stores `response` under `request`'s key in `tx`, replacing an answer past the
    /// retention period. A concurrent call that stored first makes this fail with a unique
    /// violation, so the transaction rolls back and [`Idempotency::write`] recalls. Public
    /// for a write that stores many keys in one transaction (an import's rows).
    pub async fn remember<R: prost::Message>(
        &self,
        tx: &mut Tx,
        request: &Request<'_>,
        response: &R,
    ) -> Result<(), sqlx::Error> {
        let encoded = response.encode_to_vec();
        let cutoff = self.cutoff();
        on_tx!(tx, conn => {
            sqlx::query("DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND created_at < $3")
                .bind(&request.scope)
                .bind(request.key)
                .bind(cutoff)
                .execute(&mut *conn)
                .await?;
            sqlx::query(
                "INSERT INTO idempotency_keys (scope, key, fingerprint, response, created_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&request.scope)
            .bind(request.key)
            .bind(&request.fingerprint)
            .bind(&encoded)
            .bind(now_micros())
            .execute(conn)
            .await
            .map(|_| ())
        })
    }

    /// [`Idempotency::recall_in`] for many requests of one scope in one statement (an
    /// import's rows): the answers found, by key.
    pub async fn recall_many_in<R: prost::Message + Default>(
        &self,
        tx: &mut Tx,
        requests: &[Request<'_>],
    ) -> Result<HashMap<String, Result<R, KeyReused>>, sqlx::Error> {
        let cutoff = self.cutoff();
        let mut answers = HashMap::new();
        one_scope(requests)?;
        for chunk in requests.chunks(MAX_PARAMETERS - 2) {
            // The keys as a table joined on the primary key: one index probe a key. As
            // `key IN (…)`, PostgreSQL read every key of the scope and filtered them.
            let sql = format!(
                "WITH wanted(key) AS (VALUES {}) \
                 SELECT k.key, k.fingerprint, k.response FROM wanted \
                 JOIN idempotency_keys k ON k.key = wanted.key \
                 WHERE k.scope = ${} AND k.created_at >= ${}",
                value_rows(chunk.len(), 1),
                chunk.len() + 1,
                chunk.len() + 2
            );
            let sql = tx.many_parameters(&sql);
            let rows: Vec<(String, Vec<u8>, Vec<u8>)> = on_tx!(&mut *tx, conn => {
                let mut query = sqlx::query_as(&sql);
                for request in chunk {
                    query = query.bind(request.key);
                }
                query.bind(&chunk[0].scope).bind(cutoff).fetch_all(conn).await
            })?;
            let by_key: HashMap<&str, &Request<'_>> =
                chunk.iter().map(|request| (request.key, request)).collect();
            for (key, fingerprint, response) in rows {
                if let Some(request) = by_key.get(key.as_str())
                    && let Some(answer) = stored_answer(Some((fingerprint, response)), request)?
                {
                    answers.insert(key, answer);
                }
            }
        }
        Ok(answers)
    }

    /// Stores many answers of one scope in `tx`, a few statements for all of them (an
    /// import's rows), replacing answers past the retention period. Unlike
    /// [`Idempotency::remember`], a key another write stored first is skipped, not an error:
    /// returns the keys this call stored, so the caller undoes the rest and recalls them.
    pub async fn remember_many<R: prost::Message>(
        &self,
        tx: &mut Tx,
        answers: &[(Request<'_>, R)],
    ) -> Result<HashSet<String>, sqlx::Error> {
        let cutoff = self.cutoff();
        let now = now_micros();
        let mut stored = HashSet::new();
        one_scope(answers.iter().map(|(request, _)| request))?;
        let mut requests: Vec<&(Request<'_>, R)> = answers.iter().collect();
        // Keys in one order for every writer, so two imports never wait on each other in a cycle.
        requests.sort_by_key(|(request, _)| request.key);
        for chunk in requests.chunks((MAX_PARAMETERS - 1) / 5) {
            // An answer past the retention period is replaced; a live one stays (another
            // write stored it first) and its key is not returned.
            let insert = format!(
                "INSERT INTO idempotency_keys (scope, key, fingerprint, response, created_at) \
                 VALUES {} ON CONFLICT (scope, key) DO UPDATE SET \
                 fingerprint = excluded.fingerprint, response = excluded.response, \
                 created_at = excluded.created_at \
                 WHERE idempotency_keys.created_at < ${} RETURNING key",
                value_rows(chunk.len(), 5),
                chunk.len() * 5 + 1
            );
            let insert = tx.many_parameters(&insert);
            let keys: Vec<String> = on_tx!(&mut *tx, conn => {
                let mut query = sqlx::query_scalar(&insert);
                for (request, response) in chunk {
                    query = query
                        .bind(&request.scope)
                        .bind(request.key)
                        .bind(&request.fingerprint)
                        .bind(response.encode_to_vec())
                        .bind(now);
                }
                query.bind(cutoff).fetch_all(conn).await
            })?;
            stored.extend(keys);
        }
        Ok(stored)
    }

    /// Deletes the answers past the retention period; how many.
    pub async fn prune(&self) -> Result<u64, sqlx::Error> {
        on_pool!(&self.database, pool => {
            sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
                .bind(self.cutoff())
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
        })
    }

    /// The oldest `created_at` still answered.
    fn cutoff(&self) -> i64 {
        micros_ago(self.retention)
    }
}
