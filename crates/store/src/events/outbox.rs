//! The write side of events: `tx.publish(...)` stores the event in the outbox table inside
//! the caller's transaction, so the event exists exactly when the change does.

use std::time::SystemTime;

use prost::Message as _;

use super::{EventEnvelope, EventPayload};
use crate::{Tx, on_tx};

/// Microseconds since the Unix epoch, the time unit of the store's own tables.
pub fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_micros()).unwrap_or(i64::MAX)
        })
}

/// The time `age` ago in microseconds since the Unix epoch: the cutoff of a retention
/// period (a period too long to represent reaches back past the epoch).
pub fn micros_ago(age: std::time::Duration) -> i64 {
    now_micros() - i64::try_from(age.as_micros()).unwrap_or(i64::MAX / 2)
}

/// A new envelope for `payload`, stamped with a time-ordered id, the time, and the trace
/// context of the current span.
pub fn envelope<P: EventPayload>(
    aggregate_id: &str,
    school_id: &str,
    payload: &P,
) -> EventEnvelope {
    let (traceparent, tracestate) = campus_runtime::propagation::current_trace_context();
    let now = SystemTime::now();
    EventEnvelope {
        event_id: uuid::Uuid::now_v7().to_string(),
        event_type: P::EVENT_TYPE.to_owned(),
        aggregate_id: aggregate_id.to_owned(),
        school_id: school_id.to_owned(),
        occurred_at: Some(prost_types::Timestamp::from(now)),
        traceparent,
        tracestate,
        payload_type: P::PAYLOAD_TYPE.to_owned(),
        payload: payload.encode_to_vec(),
    }
}

impl Tx {
    /// Adds an event to this transaction: it is published if and only if the transaction
    /// commits. Returns the event id.
    pub async fn publish<P: EventPayload>(
        &mut self,
        aggregate_id: &str,
        school_id: &str,
        payload: &P,
    ) -> Result<String, sqlx::Error> {
        let envelope = envelope(aggregate_id, school_id, payload);
        self.publish_envelope(&envelope).await?;
        Ok(envelope.event_id)
    }

    /// Adds many events in one statement (a batch write publishes one event per row it
    /// changed). Returns their event ids, in order.
    pub async fn publish_many<P: EventPayload>(
        &mut self,
        events: &[(String, String, P)],
    ) -> Result<Vec<String>, sqlx::Error> {
        let mut ids = Vec::with_capacity(events.len());
        for chunk in events.chunks(crate::MAX_PARAMETERS / 5) {
            let envelopes: Vec<EventEnvelope> = chunk
                .iter()
                .map(|(aggregate_id, school_id, payload)| {
                    envelope(aggregate_id, school_id, payload)
                })
                .collect();
            let sql = format!(
                "INSERT INTO outbox (id, event_type, aggregate_id, envelope, created_at) VALUES {}",
                crate::value_rows(envelopes.len(), 5)
            );
            let sql = self.many_parameters(&sql);
            let now = now_micros();
            on_tx!(self, conn => {
                let mut query = sqlx::query(&sql);
                for envelope in &envelopes {
                    query = query
                        .bind(envelope.event_id.clone())
                        .bind(envelope.event_type.clone())
                        .bind(envelope.aggregate_id.clone())
                        .bind(envelope.encode_to_vec())
                        .bind(now);
                }
                query.execute(conn).await.map(|_| ())
            })?;
            ids.extend(envelopes.into_iter().map(|envelope| envelope.event_id));
        }
        Ok(ids)
    }

    /// Adds a prepared envelope to this transaction.
    pub async fn publish_envelope(&mut self, envelope: &EventEnvelope) -> Result<(), sqlx::Error> {
        let encoded = envelope.encode_to_vec();
        on_tx!(self, conn => {
            sqlx::query(
                "INSERT INTO outbox (id, event_type, aggregate_id, envelope, created_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&envelope.event_id)
            .bind(&envelope.event_type)
            .bind(&envelope.aggregate_id)
            .bind(&encoded)
            .bind(now_micros())
            .execute(conn)
            .await
            .map(|_| ())
        })?;
        Ok(())
    }
}
