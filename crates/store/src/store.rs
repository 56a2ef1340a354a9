//! The storage handle a service gets: its database, its caches and the event bus, built
//! once per process from configuration.

use std::time::Duration;

use prometheus::Registry;

use crate::{
    Caches, Database, DatabaseConfig, DatabaseError, Redis, RedisConfig, RedisError,
    events::{Bus, Consumer, EventHandler, Relay, consumer::ConsumerMetrics},
    idempotency::Idempotency,
};

/// How long the store keeps what it has sent, answered or retained for resuming.
#[derive(Debug, Clone, clap::Args)]
pub struct RetentionConfig {
    /// How long sent outbox rows are kept before they are deleted.
    #[arg(
        long = "outbox-retention",
        env = "CAMPUS_OUTBOX_RETENTION",
        value_name = "CAMPUS_OUTBOX_RETENTION",
        default_value = "24h",
        value_parser = humantime::parse_duration
    )]
    pub outbox_retention: Duration,

    /// Events kept per event family for live subscribers to resume from (the approximate
    /// `MAXLEN` of each Redis stream, or the in-process log's length).
    #[arg(
        long = "events-retained",
        env = "CAMPUS_EVENTS_RETAINED",
        value_name = "CAMPUS_EVENTS_RETAINED",
        default_value_t = 100_000
    )]
    pub retained: usize,

    /// How long the answer of a write with a request id is kept: a retry within it gets
    /// the first answer back; after it the id may be used again.
    #[arg(
        long = "idempotency-retention",
        env = "CAMPUS_IDEMPOTENCY_RETENTION",
        value_name = "CAMPUS_IDEMPOTENCY_RETENTION",
        default_value = "24h",
        value_parser = humantime::parse_duration
    )]
    pub idempotency_retention: Duration,
}

/// Why the store could not be built.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database configuration is unusable.
    #[error(transparent)]
    Database(#[from] DatabaseError),
    /// The Redis configuration is unusable.
    #[error(transparent)]
    Redis(#[from] RedisError),
    /// A metric could not be registered.
    #[error("registering store metrics: {0}")]
    Metrics(#[from] prometheus::Error),
}

/// Database, caches and bus of one process, shared by its services.
#[derive(Debug, Clone)]
pub struct Store {
    /// The database pool.
    pub database: Database,
    /// The Redis pool, when configured.
    pub redis: Option<Redis>,
    /// Factory of named caches.
    pub caches: Caches,
    /// The event bus: Redis Streams when Redis is configured, else in process.
    pub bus: Bus,
    /// Answers of retried writes.
    pub idempotency: Idempotency,
    consumer_metrics: ConsumerMetrics,
    outbox_retention: Duration,
}

impl Store {
    /// Builds the store; nothing connects until first use, so a process can start while
    /// its database or Redis is still down.
    pub fn connect_lazy(
        database: &DatabaseConfig,
        redis: &RedisConfig,
        retention: &RetentionConfig,
        registry: &Registry,
    ) -> Result<Self, StoreError> {
        let database = Database::connect_lazy(database)?;
        let redis = Redis::connect_lazy(redis)?;
        let bus = match &redis {
            Some(redis) => Bus::redis(
                redis.clone(),
                retention.retained,
                crate::events::bus::FeedMetrics::register(registry)?,
            ),
            None => Bus::in_process(retention.retained),
        };
        Ok(Self {
            idempotency: Idempotency::new(database.clone(), retention.idempotency_retention),
            database,
            caches: Caches::new(redis.clone(), registry)?,
            redis,
            bus,
            consumer_metrics: ConsumerMetrics::register(registry)?,
            outbox_retention: retention.outbox_retention,
        })
    }

    /// A consumer group `name` of `families` on this store's database.
    pub fn consumer(&self, name: &str, families: &[&str], handler: impl EventHandler) -> Consumer {
        Consumer::new(
            name,
            families,
            self.database.clone(),
            handler,
            self.consumer_metrics.clone(),
        )
    }

    /// The relay moving this database's outbox to the bus (and pruning what is kept past
    /// its retention: sent outbox rows and expired idempotency keys).
    pub fn relay(&self) -> Relay {
        let mut relay = Relay::new(self.database.clone(), self.bus.clone());
        relay.retention = self.outbox_retention;
        relay.idempotency = Some(self.idempotency.clone());
        relay
    }
}
