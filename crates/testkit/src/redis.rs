//! A fresh Redis key prefix for each test: on `CAMPUS_TEST_REDIS_URL` when it is set (always
//! in CI), else on a private `redis-server` of the test's own, so no test that needs Redis is
//! ever skipped.

use crate::{Error, PrivateRedis};

/// The Redis server tests use when set (e.g. `redis://127.0.0.1:6379`).
pub const REDIS_ENV: &str = "CAMPUS_TEST_REDIS_URL";

/// A key prefix on the test Redis that exists for one test.
#[derive(Debug)]
pub struct TestRedis {
    url: String,
    prefix: String,
    /// The server when it is this test's own; stopped on drop.
    _private: Option<PrivateRedis>,
}

impl TestRedis {
    /// A new prefix on `CAMPUS_TEST_REDIS_URL`, or on a private server started for this
    /// test when the variable is unset.
    pub async fn start() -> Result<Self, Error> {
        let prefix = format!("campus-test:{}:", uuid::Uuid::now_v7().simple());
        Ok(match std::env::var(REDIS_ENV) {
            Ok(url) => Self {
                url,
                prefix,
                _private: None,
            },
            Err(_) => {
                let private = PrivateRedis::start().await?;
                Self {
                    url: private.url(),
                    prefix,
                    _private: Some(private),
                }
            }
        })
    }

    /// The URL to give `CAMPUS_REDIS_URL`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The prefix to give `CAMPUS_REDIS_PREFIX`.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Every key under this test's prefix, to check what a test left in Redis. A scan is fine
    /// here: it is a test's own prefix on a test server, never a service's hot path.
    pub async fn keys(&self) -> Result<Vec<String>, Error> {
        let client = redis::Client::open(self.url.as_str())?;
        let mut connection = client.get_multiplexed_async_connection().await?;
        Ok(redis::cmd("KEYS")
            .arg(format!("{}*", self.prefix))
            .query_async(&mut connection)
            .await?)
    }

    /// Deletes every key under this test's prefix.
    pub async fn clean(&self) -> Result<(), Error> {
        let keys = self.keys().await?;
        let client = redis::Client::open(self.url.as_str())?;
        let mut connection = client.get_multiplexed_async_connection().await?;
        if !keys.is_empty() {
            redis::cmd("DEL")
                .arg(keys)
                .query_async::<()>(&mut connection)
                .await?;
        }
        Ok(())
    }
}
