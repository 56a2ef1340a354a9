//! Storage shared by every Campus service.
//!
//! # Layout
//! - [`config`]: `CAMPUS_DATABASE_*` and `CAMPUS_REDIS_*` flags.
//! - [`database`]: the pool on SQLite or PostgreSQL, and migrations per crate.
//! - [`redis`]: the Redis pool, when one is configured.
//! - [`MIGRATIONS`]: the store's own tables (the event outbox and processed events).

pub mod config;
pub mod database;
pub mod redis;

pub use config::{DatabaseConfig, DatabaseUrl, RedisConfig};
pub use database::{Database, DatabaseError, Migrations};
pub use redis::{Redis, RedisError};

/// The store's own tables, which every service database carries.
pub const MIGRATIONS: Migrations = Migrations {
    name: "store",
    sqlite: || sqlx::migrate!("migrations/sqlite"),
    postgres: || sqlx::migrate!("migrations/postgres"),
};
