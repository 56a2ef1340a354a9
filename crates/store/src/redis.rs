//! The Redis pool (bb8-redis), present when `CAMPUS_REDIS_URL` is set.

use std::time::Duration;

use bb8_redis::RedisConnectionManager;

use campus_runtime::failure::{Failure, FailureKind};

use crate::config::RedisConfig;

/// Why Redis could not be reached.
#[derive(Debug, thiserror::Error)]
pub enum RedisError {
    /// `CAMPUS_REDIS_URL` does not parse.
    #[error("CAMPUS_REDIS_URL: {0}")]
    Url(#[source] redis::RedisError),
    /// No connection within the timeout.
    #[error("redis unreachable: {0}")]
    Pool(#[from] bb8::RunError<redis::RedisError>),
    /// A command failed.
    #[error("redis command failed: {0}")]
    Command(#[from] redis::RedisError),
    /// Redis's TLS certificate was refused (expired, another host name, unknown CA).
    #[error(
        "CAMPUS_REDIS_URL: the Redis server's certificate was refused (see \
         CAMPUS_REDIS_CA_FILE): {0}"
    )]
    Tls(#[source] redis::RedisError),
    /// `CAMPUS_REDIS_CA_FILE` cannot be used.
    #[error("CAMPUS_REDIS_CA_FILE: {0}")]
    CaFile(String),
    /// Redis did not answer within `CAMPUS_REDIS_TIMEOUT`.
    #[error("redis did not answer within {0:?}")]
    Timeout(Duration),
}

/// Redis errors, classified: Redis out of reach (no connection, a dropped one, no answer in
/// time, a refused or busy server) is unavailable; a command Redis refused for its content
/// is internal.
impl From<RedisError> for Failure {
    fn from(error: RedisError) -> Self {
        let reachable = match &error {
            RedisError::Pool(_) | RedisError::Timeout(_) | RedisError::Tls(_) => false,
            RedisError::CaFile(_) => true,
            RedisError::Url(command) | RedisError::Command(command) => {
                !(command.is_io_error()
                    || command.is_timeout()
                    || command.is_connection_dropped()
                    || command.is_connection_refusal()
                    || !matches!(command.retry_method(), redis::RetryMethod::NoRetry))
            }
        };
        let kind = if reachable {
            FailureKind::Internal
        } else {
            FailureKind::Unavailable
        };
        Failure::new(kind, "Redis", error)
    }
}

/// Pooled Redis connections with bounded waits, and the key prefix of this deployment.
#[derive(Debug, Clone)]
pub struct Redis {
    pool: bb8::Pool<RedisConnectionManager>,
    /// For connections that block (stream reads, pub/sub), which must not hold a pooled one.
    client: redis::Client,
    timeout: Duration,
    prefix: String,
}

impl Redis {
    /// A pool that connects on first use; `None` when no Redis is configured.
    pub fn connect_lazy(config: &RedisConfig) -> Result<Option<Self>, RedisError> {
        let Some(url) = &config.url else {
            return Ok(None);
        };
        let client = match &config.ca_file {
            Some(ca_file) => {
                let root_cert = std::fs::read(ca_file).map_err(|error| {
                    RedisError::CaFile(format!("reading {}: {error}", ca_file.display()))
                })?;
                redis::Client::build_with_tls(
                    url.as_str(),
                    redis::TlsCertificates {
                        client_tls: None,
                        root_cert: Some(root_cert),
                    },
                )
                .map_err(|error| RedisError::CaFile(error.to_string()))?
            }
            None => redis::Client::open(url.as_str()).map_err(RedisError::Url)?,
        };
        // The manager connects with the same settings, the CA included.
        let manager = RedisConnectionManager::new(client.get_connection_info().clone())
            .map_err(RedisError::Url)?;
        let pool = bb8::Pool::builder()
            .max_size(16)
            // bb8 waits 30 s by default; a cache must fail faster than the call it serves.
            .connection_timeout(config.timeout)
            .build_unchecked(manager);
        Ok(Some(Self {
            pool,
            client,
            timeout: config.timeout,
            prefix: config.prefix.clone(),
        }))
    }

    /// Answers when Redis does, within the configured timeout.
    pub async fn ping(&self) -> Result<(), RedisError> {
        // A connection of its own, not a pooled one: the pool retries a failed connect until
        // its timeout and keeps only "timed out", where readiness must say why.
        let ping = async {
            let mut connection = self
                .client
                .get_multiplexed_async_connection()
                .await
                .map_err(|error| {
                    if campus_runtime::tls::tls_failure(&error).is_some() {
                        RedisError::Tls(error)
                    } else {
                        RedisError::Command(error)
                    }
                })?;
            redis::cmd("PING")
                .query_async::<String>(&mut connection)
                .await?;
            Ok::<_, RedisError>(())
        };
        tokio::time::timeout(self.timeout, ping)
            .await
            .map_err(|_| RedisError::Timeout(self.timeout))?
    }

    /// The prefix every key of this deployment starts with.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// `suffix` under this deployment's prefix.
    pub fn key(&self, suffix: &str) -> String {
        format!("{}{suffix}", self.prefix)
    }

    /// The configured bound on every Redis wait.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// A pooled connection, waiting at most the configured timeout.
    pub(crate) async fn pooled(
        &self,
    ) -> Result<bb8::PooledConnection<'_, RedisConnectionManager>, RedisError> {
        self.fill_empty_pool().await?;
        Ok(self.pool.get().await?)
    }

    /// Connects here when the pool holds no connection. bb8 retries a failed connect in the
    /// background and makes the caller wait its whole timeout, even when Redis refuses at
    /// once; connecting directly answers a refusal at once instead.
    async fn fill_empty_pool(&self) -> Result<(), redis::RedisError> {
        if self.pool.state().connections > 0 {
            return Ok(());
        }
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout));
        let connection = self
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        // A full pool (callers filling it at once) keeps what it has; this one is dropped.
        let _ = self.pool.add(connection);
        Ok(())
    }

    /// A pooled connection for a service's own commands (a clone of the pooled multiplexed
    /// connection, so it can be kept across awaits without holding the pool).
    pub async fn connection(&self) -> Result<redis::aio::MultiplexedConnection, redis::RedisError> {
        self.fill_empty_pool().await?;
        match self.pool.get().await {
            Ok(connection) => Ok(connection.clone()),
            Err(bb8::RunError::User(error)) => Err(error),
            Err(bb8::RunError::TimedOut) => Err(redis::RedisError::from((
                redis::ErrorKind::Io,
                "timed out waiting for a Redis connection",
            ))),
        }
    }

    /// A connection of its own, without a response timeout, for blocking reads.
    pub(crate) async fn dedicated(&self) -> Result<redis::aio::MultiplexedConnection, RedisError> {
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.timeout.max(Duration::from_secs(1))))
            .set_response_timeout(None);
        Ok(self
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await?)
    }

    /// A pub/sub connection, for cache invalidations.
    pub(crate) async fn pubsub(&self) -> Result<redis::aio::PubSub, RedisError> {
        Ok(self.client.get_async_pubsub().await?)
    }
}
