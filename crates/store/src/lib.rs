//! Storage shared by every Campus service.
//!
//! # Layout
//! - [`cache`]: the two-level cache (moka, then Redis) with single-flight and tag invalidation.
//! - [`config`]: `CAMPUS_DATABASE_*` and `CAMPUS_REDIS_*` flags.
//! - [`content`]: files kept outside the database (a directory or S3), addressed by SHA-256.
//! - [`database`]: the pool on SQLite or PostgreSQL, and migrations per crate.
//! - [`redis`]: the Redis pool, when one is configured.
//! - `tx`: transactions on either backend, and the [`on_pool!`] / [`on_tx!`] macros that
//!   run one piece of SQL code on both.
//! - `store`: the [`Store`] handle a service gets (database, caches, bus).
//! - [`idempotency`]: stored answers to retried writes (`request_id`).
//! - [`events`]: outbox, relay, bus, consumers and the live feed.
//! - [`revocations`]: revoked sessions, followed from the live feed into the deny list.
//! - [`MIGRATIONS`]: the store's own tables (outbox, processed events, idempotency keys).

pub mod cache;
pub mod config;
pub mod content;
pub mod database;
pub mod events;
pub mod idempotency;
pub mod redis;
pub mod revocations;
mod store;
mod tx;

pub use cache::{Cache, Caches};
pub use config::{DatabaseConfig, DatabaseUrl, RedisConfig};
pub use database::{
    Database, DatabaseError, MAX_PARAMETERS, Migrations, database_failure, is_unique_violation,
    placeholders, value_rows,
};
pub use events::outbox::now_micros;
pub use redis::{Redis, RedisError};
pub use store::{RetentionConfig, Store, StoreError};
pub use tx::Tx;

/// The store's own tables, which every service database carries.
pub const MIGRATIONS: Migrations = Migrations {
    name: "store",
    sqlite: || sqlx::migrate!("migrations/sqlite"),
    postgres: || sqlx::migrate!("migrations/postgres"),
};
