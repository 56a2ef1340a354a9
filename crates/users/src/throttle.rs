//! Failed-login throttling, per account and per client address, in fixed windows. With
//! Redis the counts are shared by every replica (INCR with an expiry); without it, or while
//! Redis fails, they are kept in process.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU32, Ordering},
    },
    time::{Duration, Instant},
};

use campus_store::Redis;
use sha2::Digest as _;

use crate::{config::UsersConfig, error::UsersError};

/// A failure count and when its window started.
#[derive(Debug)]
struct Window {
    started: Instant,
    failures: AtomicU32,
}

/// Counts failed logins and refuses logins over the limits until the window passes.
#[derive(Debug, Clone)]
pub(crate) struct LoginThrottle {
    local: moka::future::Cache<String, Arc<Window>>,
    redis: Option<Redis>,
    max_per_account: u32,
    max_per_address: u32,
    window: Duration,
}

/// What is being counted.
#[derive(Debug, Clone, Copy)]
enum Subject {
    Account,
    Address,
}

impl LoginThrottle {
    /// Limits from configuration; shared through `redis` when given.
    pub(crate) fn new(redis: Option<Redis>, config: &UsersConfig) -> Self {
        Self {
            local: moka::future::Cache::builder()
                .max_capacity(1_000_000)
                .time_to_live(config.login_failure_window)
                .build(),
            redis,
            max_per_account: config.login_max_failures,
            max_per_address: config.login_max_failures_per_address,
            window: config.login_failure_window,
        }
    }

    /// RESOURCE_EXHAUSTED (with the time left) if the account or the address is over its
    /// limit; checked before the password, so the right password is refused too.
    pub(crate) async fn check(
        &self,
        account: &str,
        address: Option<&str>,
    ) -> Result<(), UsersError> {
        self.check_one(Subject::Account, account, self.max_per_account)
            .await?;
        if let Some(address) = address {
            self.check_one(Subject::Address, address, self.max_per_address)
                .await?;
        }
        Ok(())
    }

    /// Counts one failed login against the account and the address.
    pub(crate) async fn record_failure(&self, account: &str, address: Option<&str>) {
        self.record_one(Subject::Account, account).await;
        if let Some(address) = address {
            self.record_one(Subject::Address, address).await;
        }
    }

    /// Forgets an account's failures after it logged in.
    pub(crate) async fn clear(&self, account: &str) {
        let key = key(Subject::Account, account);
        self.local.invalidate(&key).await;
        if let Some(redis) = &self.redis {
            let cleared = bounded(redis, async {
                let mut connection = redis_connection(redis).await?;
                redis::cmd("DEL")
                    .arg(redis.key(&key))
                    .query_async::<()>(&mut connection)
                    .await
            })
            .await;
            if cleared.is_none() {
                tracing::warn!("could not clear login failures in Redis");
            }
        }
    }

    async fn check_one(&self, subject: Subject, id: &str, max: u32) -> Result<(), UsersError> {
        let key = key(subject, id);
        if let Some(redis) = &self.redis {
            let read = bounded(redis, async {
                let mut connection = redis_connection(redis).await?;
                let (count, ttl): (Option<u32>, i64) = redis::pipe()
                    .cmd("GET")
                    .arg(redis.key(&key))
                    .cmd("PTTL")
                    .arg(redis.key(&key))
                    .query_async(&mut connection)
                    .await?;
                Ok((count.unwrap_or(0), ttl))
            })
            .await;
            if let Some((count, ttl_ms)) = read {
                if count >= max {
                    let left = Duration::from_millis(u64::try_from(ttl_ms).unwrap_or(0));
                    return Err(UsersError::Throttled(left.max(Duration::from_secs(1))));
                }
                return Ok(());
            }
        }
        if let Some(window) = self.local.get(&key).await
            && window.failures.load(Ordering::Relaxed) >= max
        {
            let left = self.window.saturating_sub(window.started.elapsed());
            return Err(UsersError::Throttled(left.max(Duration::from_secs(1))));
        }
        Ok(())
    }

    async fn record_one(&self, subject: Subject, id: &str) {
        let key = key(subject, id);
        if let Some(redis) = &self.redis {
            let window_ms = u64::try_from(self.window.as_millis()).unwrap_or(u64::MAX);
            let counted = bounded(redis, async {
                let mut connection = redis_connection(redis).await?;
                redis::pipe()
                    .cmd("INCR")
                    .arg(redis.key(&key))
                    .ignore()
                    .cmd("PEXPIRE")
                    .arg(redis.key(&key))
                    .arg(window_ms)
                    .arg("NX")
                    .ignore()
                    .query_async::<()>(&mut connection)
                    .await
            })
            .await;
            if counted.is_some() {
                return;
            }
            tracing::warn!("could not count a failed login in Redis; counting in process");
        }
        let window = self
            .local
            .get_with(key, async {
                Arc::new(Window {
                    started: Instant::now(),
                    failures: AtomicU32::new(0),
                })
            })
            .await;
        window.failures.fetch_add(1, Ordering::Relaxed);
    }
}

/// The counter key of a subject; ids are hashed so emails and addresses are not stored.
fn key(subject: Subject, id: &str) -> String {
    let kind = match subject {
        Subject::Account => "account",
        Subject::Address => "address",
    };
    let digest = hex::encode(&sha2::Sha256::digest(id.as_bytes())[..16]);
    format!("login-failures:{kind}:{digest}")
}

async fn redis_connection(
    redis: &Redis,
) -> Result<redis::aio::MultiplexedConnection, redis::RedisError> {
    redis.connection().await
}

/// Runs a Redis call within the Redis timeout; errors become `None` (and are logged).
async fn bounded<R>(
    redis: &Redis,
    call: impl std::future::Future<Output = Result<R, redis::RedisError>>,
) -> Option<R> {
    match tokio::time::timeout(redis.timeout(), call).await {
        Ok(Ok(result)) => Some(result),
        Ok(Err(error)) => {
            tracing::warn!(%error, "login throttle Redis call failed");
            None
        }
        Err(_) => {
            tracing::warn!("login throttle Redis call timed out");
            None
        }
    }
}
