//! Idempotent writes: a write that carries a request id stores its response in the same
//! transaction as its change; a retry with that id gets the first response back, and a
//! different request under the same id is told so instead of being applied.

use crate::{Database, Tx, events::outbox::now_micros, on_pool, on_tx};

/// What an earlier call with the same request id left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recalled<R> {
    /// The same request: here is its response.
    Same(R),
    /// A different request used this id.
    Conflict,
}

/// Reads the stored answer for `(scope, key)` from `rows`.
fn recalled<R: prost::Message + Default>(
    row: Option<(Vec<u8>, Vec<u8>)>,
    fingerprint: &[u8],
) -> Result<Option<Recalled<R>>, sqlx::Error> {
    let Some((stored_fingerprint, response)) = row else {
        return Ok(None);
    };
    if stored_fingerprint != fingerprint {
        return Ok(Some(Recalled::Conflict));
    }
    R::decode(response.as_slice())
        .map(|response| Some(Recalled::Same(response)))
        .map_err(|error| sqlx::Error::Decode(Box::new(error)))
}

const RECALL: &str =
    "SELECT fingerprint, response FROM idempotency_keys WHERE scope = $1 AND key = $2";

impl Tx {
    /// The answer an earlier call with this request id got, if there was one.
    pub async fn recall<R: prost::Message + Default>(
        &mut self,
        scope: &str,
        key: &str,
        fingerprint: &[u8],
    ) -> Result<Option<Recalled<R>>, sqlx::Error> {
        let row: Option<(Vec<u8>, Vec<u8>)> = on_tx!(self, conn => {
            sqlx::query_as(RECALL).bind(scope).bind(key).fetch_optional(conn).await
        })?;
        recalled(row, fingerprint)
    }

    /// Stores this call's answer under its request id, in this transaction. A concurrent
    /// call that stored first makes this fail with a unique violation: roll back and
    /// [`Database::recall`] its answer.
    pub async fn remember<R: prost::Message>(
        &mut self,
        scope: &str,
        key: &str,
        fingerprint: &[u8],
        response: &R,
    ) -> Result<(), sqlx::Error> {
        let encoded = response.encode_to_vec();
        on_tx!(self, conn => {
            sqlx::query(
                "INSERT INTO idempotency_keys (scope, key, fingerprint, response, created_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(scope)
            .bind(key)
            .bind(fingerprint)
            .bind(&encoded)
            .bind(now_micros())
            .execute(conn)
            .await
            .map(|_| ())
        })
    }
}

impl Database {
    /// [`Tx::recall`] outside a transaction, for answering after a lost race.
    pub async fn recall<R: prost::Message + Default>(
        &self,
        scope: &str,
        key: &str,
        fingerprint: &[u8],
    ) -> Result<Option<Recalled<R>>, sqlx::Error> {
        let row: Option<(Vec<u8>, Vec<u8>)> = on_pool!(self, pool => {
            sqlx::query_as(RECALL).bind(scope).bind(key).fetch_optional(pool).await
        })?;
        recalled(row, fingerprint)
    }
}
