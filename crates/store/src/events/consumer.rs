//! Consumers: a named group that handles every event of some families once. Delivery is at
//! least once; the processed-events table makes a redelivered event a no-op, because the
//! handler's writes and the "processed" mark commit in one transaction.
//!
//! A failing handler is retried with backoff; after `max_attempts` the event goes to the dead
//! letters (a Redis stream per group, or the log in process) and is counted.

use std::{sync::Arc, time::Duration};

use campus_runtime::backoff::Backoff;
use prometheus::{IntCounterVec, Opts, Registry};
use redis::streams::{StreamAutoClaimReply, StreamReadReply};
use tracing::Instrument as _;

use super::{
    EventEnvelope,
    bus::{Bus, RedisBus, decode_entry},
    family,
    outbox::now_micros,
};
use crate::{Database, Tx, on_tx};

/// The longest pause between attempts of a failing handler.
const MAX_HANDLER_BACKOFF: Duration = Duration::from_secs(30);

/// Why a handler could not handle an event; the event is retried.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// A database statement failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// Anything else the handler reports.
    #[error("{0}")]
    Other(String),
}

/// What a consumer does with each event, inside the transaction that marks it processed.
#[async_trait::async_trait]
pub trait EventHandler: Send + Sync + 'static {
    /// Handles one event; returning an error rolls back its writes and retries it.
    async fn handle(&self, tx: &mut Tx, event: &EventEnvelope) -> Result<(), HandlerError>;
}

/// Counters of what consumers did, by consumer and outcome.
#[derive(Debug, Clone)]
pub struct ConsumerMetrics {
    events: IntCounterVec,
}

impl ConsumerMetrics {
    /// Registers `campus_events_consumed_total{consumer, outcome}`.
    pub fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let events = IntCounterVec::new(
            Opts::new(
                "campus_events_consumed_total",
                "Events delivered to consumers, by outcome (handled, duplicate, retried, dead_lettered).",
            ),
            &["consumer", "outcome"],
        )?;
        registry.register(Box::new(events.clone()))?;
        Ok(Self { events })
    }

    fn count(&self, consumer: &str, outcome: &str) {
        self.events.with_label_values(&[consumer, outcome]).inc();
    }
}

/// One consumer group: its name, families, handler and retry policy.
pub struct Consumer {
    name: String,
    families: Vec<String>,
    database: Database,
    handler: Arc<dyn EventHandler>,
    metrics: ConsumerMetrics,
    max_attempts: u32,
    backoff: Duration,
    /// How long a stream entry may stay unacknowledged with one member before another
    /// member claims it (that member is presumed dead).
    claim_idle: Duration,
}

impl std::fmt::Debug for Consumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consumer")
            .field("name", &self.name)
            .field("families", &self.families)
            .finish_non_exhaustive()
    }
}

/// What became of one delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The handler ran and committed.
    Handled,
    /// The event was handled before; nothing ran.
    Duplicate,
    /// Every attempt failed; the event is in the dead letters.
    DeadLettered,
}

impl Consumer {
    /// A consumer named `name` (the group name, stable across restarts) of `families`
    /// (`enrollment`, `attendance`, …), retrying 5 times from 200 ms.
    pub fn new(
        name: &str,
        families: &[&str],
        database: Database,
        handler: impl EventHandler,
        metrics: ConsumerMetrics,
    ) -> Self {
        Self {
            name: name.to_owned(),
            families: families.iter().map(|&family| family.to_owned()).collect(),
            database,
            handler: Arc::new(handler),
            metrics,
            max_attempts: 5,
            backoff: Duration::from_millis(200),
            claim_idle: Duration::from_secs(30),
        }
    }

    /// Sets how long an entry may stay pending with a silent member before it is claimed.
    #[must_use]
    pub fn with_claim_idle(mut self, claim_idle: Duration) -> Self {
        self.claim_idle = claim_idle;
        self
    }

    /// Sets how often a failing event is tried and the first wait between tries (doubling).
    #[must_use]
    pub fn with_retries(mut self, max_attempts: u32, backoff: Duration) -> Self {
        self.max_attempts = max_attempts.max(1);
        self.backoff = backoff;
        self
    }

    /// Whether this consumer handles events of this type.
    pub(crate) fn wants(&self, event_type: &str) -> bool {
        let family = family(event_type);
        self.families.iter().any(|wanted| wanted == family)
    }

    /// Starts consuming from `bus` until `shutdown` completes.
    pub async fn start(
        self,
        bus: &Bus,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) {
        let consumer = Arc::new(self);
        match bus {
            Bus::Local(local) => local.attach(consumer).await,
            Bus::Redis(redis) => {
                let redis = Arc::clone(redis);
                tokio::spawn(async move {
                    tokio::select! {
                        () = shutdown => {}
                        () = consume_redis(consumer, redis) => {}
                    }
                });
            }
        }
    }

    /// Delivers one event: handles it (retrying) unless already processed.
    pub(crate) async fn process(&self, envelope: &EventEnvelope) -> Outcome {
        let span = tracing::info_span!(
            "event.consume",
            otel.name = %format!("consume {}", envelope.event_type),
            otel.kind = "consumer",
            consumer = %self.name,
            event_id = %envelope.event_id,
        );
        campus_runtime::propagation::continue_trace(
            &span,
            &envelope.traceparent,
            &envelope.tracestate,
        );
        self.process_with_retries(envelope).instrument(span).await
    }

    async fn process_with_retries(&self, envelope: &EventEnvelope) -> Outcome {
        let mut backoff = Backoff::new(self.backoff, MAX_HANDLER_BACKOFF);
        for attempt in 1..=self.max_attempts {
            match self.try_once(envelope).await {
                Ok(outcome) => {
                    self.metrics.count(&self.name, outcome_name(outcome));
                    return outcome;
                }
                Err(error) => {
                    tracing::warn!(%error, attempt, event_id = %envelope.event_id, "event handler failed");
                    if attempt < self.max_attempts {
                        self.metrics.count(&self.name, "retried");
                        backoff.wait().await;
                    }
                }
            }
        }
        tracing::error!(
            consumer = %self.name,
            event_id = %envelope.event_id,
            event_type = %envelope.event_type,
            "event dead-lettered after every attempt failed"
        );
        self.metrics.count(&self.name, "dead_lettered");
        Outcome::DeadLettered
    }

    /// One attempt in one transaction: claim the event id, run the handler, commit.
    async fn try_once(&self, envelope: &EventEnvelope) -> Result<Outcome, HandlerError> {
        let mut tx = self
            .database
            .begin()
            .await
            .map_err(|error| HandlerError::Other(error.to_string()))?;
        let claimed = on_tx!(&mut tx, conn => {
            sqlx::query(
                "INSERT INTO processed_events (consumer, event_id, processed_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (consumer, event_id) DO NOTHING",
            )
            .bind(&self.name)
            .bind(&envelope.event_id)
            .bind(now_micros())
            .execute(conn)
            .await
            .map(|done| done.rows_affected())
        })?;
        if claimed == 0 {
            return Ok(Outcome::Duplicate);
        }
        self.handler.handle(&mut tx, envelope).await?;
        tx.commit().await?;
        Ok(Outcome::Handled)
    }
}

fn outcome_name(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Handled => "handled",
        Outcome::Duplicate => "duplicate",
        Outcome::DeadLettered => "dead_lettered",
    }
}

/// The consumer-group loop on Redis Streams: read new entries, handle, acknowledge; now and
/// then claim entries left pending by a consumer that died.
async fn consume_redis(consumer: Arc<Consumer>, bus: Arc<RedisBus>) {
    let keys: Vec<String> = consumer
        .families
        .iter()
        .map(|family| bus.stream_key(family))
        .collect();
    let dead_letters = bus.redis().key(&format!("events-dead:{}", consumer.name));
    let member = format!("{}-{}", consumer.name, uuid::Uuid::now_v7().simple());
    let mut backoff = Backoff::reconnect();
    loop {
        let result = consume_redis_session(&consumer, &bus, &keys, &dead_letters, &member).await;
        if let Err(error) = result {
            tracing::warn!(%error, consumer = %consumer.name, "consumer lost Redis; reconnecting");
            backoff.wait().await;
        }
    }
}

/// One connection's worth of consuming; returns on a Redis error.
async fn consume_redis_session(
    consumer: &Consumer,
    bus: &RedisBus,
    keys: &[String],
    dead_letters: &str,
    member: &str,
) -> Result<(), crate::RedisError> {
    let mut connection = bus.redis().dedicated().await?;
    for key in keys {
        let created: Result<(), redis::RedisError> = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(key)
            .arg(&consumer.name)
            .arg("0")
            .arg("MKSTREAM")
            .query_async(&mut connection)
            .await;
        if let Err(error) = created
            && error.code() != Some("BUSYGROUP")
        {
            return Err(error.into());
        }
    }
    let mut last_claim = tokio::time::Instant::now();
    loop {
        if last_claim.elapsed() >= consumer.claim_idle {
            last_claim = tokio::time::Instant::now();
            for key in keys {
                let claimed: StreamAutoClaimReply = redis::cmd("XAUTOCLAIM")
                    .arg(key)
                    .arg(&consumer.name)
                    .arg(member)
                    .arg(u64::try_from(consumer.claim_idle.as_millis()).unwrap_or(u64::MAX))
                    .arg("0-0")
                    .arg("COUNT")
                    .arg(100)
                    .query_async(&mut connection)
                    .await?;
                for entry in claimed.claimed {
                    handle_entry(consumer, &mut connection, key, dead_letters, &entry).await?;
                }
            }
        }
        let mut command = redis::cmd("XREADGROUP");
        command
            .arg("GROUP")
            .arg(&consumer.name)
            .arg(member)
            .arg("COUNT")
            .arg(100)
            .arg("BLOCK")
            .arg(
                u64::try_from(consumer.claim_idle.as_millis())
                    .unwrap_or(1000)
                    .clamp(10, 1000),
            )
            .arg("STREAMS")
            .arg(keys);
        for _ in keys {
            command.arg(">");
        }
        let reply: StreamReadReply = command.query_async(&mut connection).await?;
        for stream in reply.keys {
            for entry in &stream.ids {
                handle_entry(consumer, &mut connection, &stream.key, dead_letters, entry).await?;
            }
        }
    }
}

/// Handles one stream entry and acknowledges it; an entry that fails every attempt (or does
/// not decode) is copied to the dead-letter stream first.
async fn handle_entry(
    consumer: &Consumer,
    connection: &mut redis::aio::MultiplexedConnection,
    key: &str,
    dead_letters: &str,
    entry: &redis::streams::StreamId,
) -> Result<(), crate::RedisError> {
    let outcome = match decode_entry(&entry.map) {
        Some(envelope) => consumer.process(&envelope).await,
        None => {
            tracing::error!(stream = key, id = %entry.id, "stream entry does not decode as an event");
            consumer.metrics.count(&consumer.name, "dead_lettered");
            Outcome::DeadLettered
        }
    };
    if outcome == Outcome::DeadLettered {
        let mut dead = redis::cmd("XADD");
        dead.arg(dead_letters)
            .arg("*")
            .arg("stream")
            .arg(key)
            .arg("id")
            .arg(&entry.id);
        if let Some(redis::Value::BulkString(bytes)) = entry.map.get(super::bus::ENVELOPE_FIELD) {
            dead.arg(super::bus::ENVELOPE_FIELD).arg(bytes.as_slice());
        }
        dead.query_async::<()>(connection).await?;
    }
    redis::cmd("XACK")
        .arg(key)
        .arg(&consumer.name)
        .arg(&entry.id)
        .query_async::<()>(connection)
        .await?;
    Ok(())
}
