//! Migrations apply on every backend this run has (SQLite always; PostgreSQL in CI), and
//! applying them again is a no-op, as it is on every restart; what is pending is read without
//! changing anything.

use campus_store::{Database, DatabaseConfig};
use campus_testkit::TestDatabase;
use clap::Parser as _;

#[derive(Debug, clap::Parser)]
struct Flags {
    #[command(flatten)]
    database: DatabaseConfig,
}

#[tokio::test]
async fn migrations_apply_twice_on_every_backend() -> Result<(), campus_testkit::Error> {
    for test_database in TestDatabase::all().await? {
        let flags = Flags::try_parse_from(["test", "--database-url", test_database.url()])?;
        let database = Database::connect_lazy(&flags.database)?;
        let pending = database
            .pending_migrations(&[campus_store::MIGRATIONS])
            .await?;
        assert!(!pending.is_empty(), "a fresh database is behind");
        database.migrate(&[campus_store::MIGRATIONS]).await?;
        database.migrate(&[campus_store::MIGRATIONS]).await?;
        assert_eq!(
            database
                .pending_migrations(&[campus_store::MIGRATIONS])
                .await?,
            Vec::<String>::new(),
            "nothing is pending once applied"
        );
        let tables = match &database {
            Database::Sqlite(pool) => {
                sqlx::query_scalar::<_, String>(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('outbox', 'processed_events') ORDER BY name",
                )
                .fetch_all(pool)
                .await?
            }
            Database::Postgres(pool) => {
                sqlx::query_scalar::<_, String>(
                    "SELECT table_name::text FROM information_schema.tables WHERE table_name IN ('outbox', 'processed_events') ORDER BY table_name",
                )
                .fetch_all(pool)
                .await?
            }
        };
        assert_eq!(
            tables,
            ["outbox", "processed_events"],
            "on {}",
            test_database.url()
        );
        database.close().await;
    }
    Ok(())
}

#[tokio::test]
async fn an_unreachable_database_is_reported_not_hung() -> Result<(), campus_testkit::Error> {
    let flags = Flags::try_parse_from([
        "test",
        "--database-url",
        "postgres://postgres@127.0.0.1:1/campus",
        "--database-acquire-timeout",
        "500ms",
    ])?;
    let database = Database::connect_lazy(&flags.database)?;
    let started = std::time::Instant::now();
    assert!(database.ping().await.is_err());
    // The acquire timeout is 500 ms; without it sqlx would wait 30 s.
    assert!(started.elapsed() < std::time::Duration::from_secs(15));
    Ok(())
}
