//! The storage handle a service gets: its database, its caches and the event bus, built
//! once per process from configuration.

use std::time::Duration;

use prometheus::Registry;

use crate::{
    Caches, Database, DatabaseConfig, DatabaseError, Redis, RedisConfig, RedisError,
    events::{Bus, Consumer, EventHandler, Relay, consumer::ConsumerMetrics},
};

/// How events are kept.
#[derive(Debug, Clone, clap::Args)]
pub struct EventsConfig {
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
    consumer_metrics: ConsumerMetrics,
    outbox_retention: Duration,
}

impl Store {
    /// Builds the store; nothing connects until first use, so a process can start while
    /// its database or Redis is still down.
    pub fn connect_lazy(
        database: &DatabaseConfig,
        redis: &RedisConfig,
        events: &EventsConfig,
        registry: &Registry,
    ) -> Result<Self, StoreError> {
        let database = Database::connect_lazy(database)?;
        let redis = Redis::connect_lazy(redis)?;
        let bus = match &redis {
            Some(redis) => Bus::redis(redis.clone(), events.retained),
            None => Bus::in_process(events.retained),
        };
        Ok(Self {
            database,
            caches: Caches::new(redis.clone(), registry)?,
            redis,
            bus,
            consumer_metrics: ConsumerMetrics::register(registry)?,
            outbox_retention: events.outbox_retention,
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

    /// The relay moving this database's outbox to the bus.
    pub fn relay(&self) -> Relay {
        let mut relay = Relay::new(self.database.clone(), self.bus.clone());
        relay.retention = self.outbox_retention;
        relay
    }
}
