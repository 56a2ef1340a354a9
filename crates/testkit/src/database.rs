//! A fresh database for each test.

use std::str::FromStr as _;

use sqlx::{Connection as _, Executor as _, PgConnection, postgres::PgConnectOptions};
use tempfile::TempDir;

use crate::{Error, PrivatePostgres};

/// The PostgreSQL server tests use when set (e.g. `postgres://postgres@127.0.0.1:5432/postgres`).
pub const POSTGRES_ENV: &str = "CAMPUS_TEST_DATABASE_URL";

/// A database that exists for one test.
#[derive(Debug)]
pub struct TestDatabase {
    url: String,
    backend: Backend,
}

#[derive(Debug)]
enum Backend {
    /// The temporary directory holding the SQLite file; removed on drop.
    Sqlite(#[allow(dead_code)] TempDir),
    /// A database created on the PostgreSQL server; dropped on drop.
    Postgres { admin_url: String, name: String },
    /// A private PostgreSQL server of this test's own; stopped on drop.
    Private(#[allow(dead_code)] PrivatePostgres),
}

impl TestDatabase {
    /// A new SQLite database file in a temporary directory.
    pub fn sqlite() -> Result<Self, Error> {
        let dir = tempfile::tempdir()?;
        let url = format!("sqlite://{}", dir.path().join("campus.db").display());
        Ok(Self {
            url,
            backend: Backend::Sqlite(dir),
        })
    }

    /// A new PostgreSQL database on `CAMPUS_TEST_DATABASE_URL`'s server, or `None` when the
    /// variable is unset.
    pub async fn postgres() -> Result<Option<Self>, Error> {
        let Ok(admin_url) = std::env::var(POSTGRES_ENV) else {
            return Ok(None);
        };
        let name = format!("campus_test_{}", uuid::Uuid::now_v7().simple());
        let mut admin = PgConnection::connect_with(&PgConnectOptions::from_str(&admin_url)?)
            .await
            .map_err(|e| format!("{POSTGRES_ENV}: cannot connect: {e}"))?;
        admin
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await?;
        admin.close().await?;
        let mut url = url::Url::parse(&admin_url)?;
        url.set_path(&name);
        Ok(Some(Self {
            url: url.to_string(),
            backend: Backend::Postgres { admin_url, name },
        }))
    }

    /// Every backend this run tests: SQLite always, PostgreSQL when configured.
    pub async fn all() -> Result<Vec<Self>, Error> {
        let mut databases = vec![Self::sqlite()?];
        databases.extend(Self::postgres().await?);
        Ok(databases)
    }

    /// A PostgreSQL database whatever the run: on `CAMPUS_TEST_DATABASE_URL`'s server when
    /// set, else on a private server started for this test. For what SQLite cannot do, such
    /// as two replicas sharing one database; never skipped.
    pub async fn postgres_always() -> Result<Self, Error> {
        if let Some(database) = Self::postgres().await? {
            return Ok(database);
        }
        let private = PrivatePostgres::start().await?;
        Ok(Self {
            url: private.url(),
            backend: Backend::Private(private),
        })
    }

    /// PostgreSQL when configured, else SQLite: the closest to production this run can get.
    pub async fn preferred() -> Result<Self, Error> {
        match Self::postgres().await? {
            Some(database) => Ok(database),
            None => Self::sqlite(),
        }
    }

    /// The URL to give `CAMPUS_DATABASE_URL`.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Backend::Postgres { admin_url, name } = &self.backend else {
            return;
        };
        let (admin_url, name) = (admin_url.clone(), name.clone());
        // Drop runs outside any async context we can rely on, so the database is dropped
        // from a thread with its own runtime.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let mut admin = PgConnection::connect(&admin_url).await?;
                admin
                    .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                    .await?;
                admin.close().await?;
                Ok::<_, Error>(())
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop test database {}", self.url);
        }
    }
}
