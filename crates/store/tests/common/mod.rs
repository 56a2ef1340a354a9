//! Set-up shared by the store's integration tests.

#![allow(dead_code, unreachable_pub)]

use campus_store::{Database, DatabaseConfig, Redis, RedisConfig, RetentionConfig, Store};
use campus_testkit::{TestDatabase, TestRedis};
use clap::Parser as _;

pub type Error = campus_testkit::Error;

#[derive(Debug, clap::Parser)]
struct Flags {
    #[command(flatten)]
    database: DatabaseConfig,
    #[command(flatten)]
    redis: RedisConfig,
    #[command(flatten)]
    events: RetentionConfig,
}

fn flags(database_url: &str, redis: Option<(&str, &str)>) -> Result<Flags, Error> {
    let mut args = vec!["test", "--database-url", database_url];
    if let Some((url, prefix)) = redis {
        args.extend(["--redis-url", url, "--redis-prefix", prefix]);
    }
    Ok(Flags::try_parse_from(args)?)
}

/// A migrated database at `url`.
pub async fn database(url: &str) -> Result<Database, Error> {
    let database = Database::connect_lazy(&flags(url, None)?.database)?;
    database.migrate(&[campus_store::MIGRATIONS]).await?;
    Ok(database)
}

/// A Redis handle on `url` with `prefix`.
pub fn redis(url: &str, prefix: &str) -> Result<Redis, Error> {
    let flags = flags("sqlite::memory:", Some((url, prefix)))?;
    Ok(Redis::connect_lazy(&flags.redis)?.ok_or("no Redis configured")?)
}

/// A store on a migrated database, with Redis when given.
pub async fn store(
    database: &TestDatabase,
    redis: Option<&TestRedis>,
    registry: &prometheus::Registry,
) -> Result<Store, Error> {
    let flags = flags(
        database.url(),
        redis.map(|redis| (redis.url(), redis.prefix())),
    )?;
    let store = Store::connect_lazy(&flags.database, &flags.redis, &flags.events, registry)?;
    store.database.migrate(&[campus_store::MIGRATIONS]).await?;
    Ok(store)
}

/// The value of a metric sample whose line contains every label.
pub fn sample(registry: &prometheus::Registry, name: &str, labels: &[&str]) -> f64 {
    use prometheus::Encoder as _;
    let mut text = Vec::new();
    let _ = prometheus::TextEncoder::new().encode(&registry.gather(), &mut text);
    campus_testkit::metric_sample(&String::from_utf8_lossy(&text), name, labels).unwrap_or(0.0)
}
