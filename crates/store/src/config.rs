//! Flags for the database and Redis, with environment fallbacks.

use std::{fmt, str::FromStr, time::Duration};

/// Where the database is and how long a call may wait for one of its connections.
#[derive(Debug, Clone, clap::Args)]
pub struct DatabaseConfig {
    /// `sqlite://path.db` (embedded, created if missing) or `postgres://user@host/db`.
    #[arg(
        id = "database_url",
        long = "database-url",
        env = "CAMPUS_DATABASE_URL",
        value_name = "CAMPUS_DATABASE_URL",
        default_value = "sqlite://campus.db"
    )]
    pub url: DatabaseUrl,

    /// Connections in the pool.
    #[arg(
        long = "database-max-connections",
        env = "CAMPUS_DATABASE_MAX_CONNECTIONS",
        value_name = "CAMPUS_DATABASE_MAX_CONNECTIONS",
        default_value_t = 16
    )]
    pub max_connections: u32,

    /// Longest wait for a pooled connection; well under the request deadline, so an
    /// exhausted pool fails a call fast instead of holding it (sqlx waits 30 s by default).
    #[arg(
        long = "database-acquire-timeout",
        env = "CAMPUS_DATABASE_ACQUIRE_TIMEOUT",
        value_name = "CAMPUS_DATABASE_ACQUIRE_TIMEOUT",
        default_value = "2s",
        value_parser = humantime::parse_duration
    )]
    pub acquire_timeout: Duration,
}

/// A database URL whose backend Campus supports.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// Embedded SQLite file (`sqlite://campus.db`, `sqlite::memory:`).
    Sqlite(String),
    /// PostgreSQL server (`postgres://` or `postgresql://`).
    Postgres(String),
}

impl DatabaseUrl {
    /// The URL as given.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Sqlite(url) | Self::Postgres(url) => url,
        }
    }
}

/// Shows the URL without its password, so it can be logged.
impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match url::Url::parse(self.as_str()) {
            Ok(mut parsed) if parsed.password().is_some() => {
                let _ = parsed.set_password(Some("***"));
                write!(f, "{parsed}")
            }
            Ok(_) | Err(_) => write!(f, "{}", self.as_str()),
        }
    }
}

impl FromStr for DatabaseUrl {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let scheme = value.split_once(':').map_or("", |(scheme, _)| scheme);
        match scheme {
            "sqlite" => Ok(Self::Sqlite(value.to_owned())),
            "postgres" | "postgresql" => Ok(Self::Postgres(value.to_owned())),
            "" => Err("no scheme; expected sqlite://<file> or postgres://<host>/<db>".to_owned()),
            other => Err(format!(
                "unknown scheme {other:?}; expected sqlite://<file> or postgres://<host>/<db>"
            )),
        }
    }
}

/// Where Redis is; unset keeps cache and events in process.
#[derive(Debug, Clone, clap::Args)]
pub struct RedisConfig {
    /// `redis://host:6379/0` (or `rediss://` for TLS); unset runs without Redis.
    #[arg(
        id = "redis_url",
        long = "redis-url",
        env = "CAMPUS_REDIS_URL",
        value_name = "CAMPUS_REDIS_URL",
        value_parser = parse_redis_url
    )]
    pub url: Option<String>,

    /// Longest wait for a Redis connection or answer; Redis is a cache, so a slow Redis is
    /// skipped rather than waited on.
    #[arg(
        id = "redis_timeout",
        long = "redis-timeout",
        env = "CAMPUS_REDIS_TIMEOUT",
        value_name = "CAMPUS_REDIS_TIMEOUT",
        default_value = "250ms",
        value_parser = humantime::parse_duration
    )]
    pub timeout: Duration,

    /// Prefix of every key this deployment writes, so deployments can share one Redis.
    #[arg(
        id = "redis_prefix",
        long = "redis-prefix",
        env = "CAMPUS_REDIS_PREFIX",
        value_name = "CAMPUS_REDIS_PREFIX",
        default_value = "campus:"
    )]
    pub prefix: String,

    /// PEM CA bundle that a `rediss://` server's certificate must chain to; unset: the
    /// system's CA certificates.
    #[arg(
        id = "redis_ca_file",
        long = "redis-ca-file",
        env = "CAMPUS_REDIS_CA_FILE",
        value_name = "CAMPUS_REDIS_CA_FILE"
    )]
    pub ca_file: Option<std::path::PathBuf>,
}

/// Accepts `redis://` and `rediss://` URLs.
fn parse_redis_url(value: &str) -> Result<String, String> {
    match value.split_once("://") {
        Some(("redis" | "rediss", rest)) if !rest.is_empty() => Ok(value.to_owned()),
        _ => Err("expected redis://host:port[/db] or rediss://host:port[/db]".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::{DatabaseUrl, parse_redis_url};

    #[test]
    fn database_url_scheme_picks_the_backend() {
        assert!(matches!(
            "sqlite://campus.db".parse(),
            Ok(DatabaseUrl::Sqlite(_))
        ));
        assert!(matches!(
            "postgres://db/campus".parse(),
            Ok(DatabaseUrl::Postgres(_))
        ));
        assert!(matches!(
            "postgresql://db/campus".parse(),
            Ok(DatabaseUrl::Postgres(_))
        ));
        assert!("mysql://db/campus".parse::<DatabaseUrl>().is_err());
        assert!("campus.db".parse::<DatabaseUrl>().is_err());
    }

    #[test]
    fn database_url_debug_hides_the_password() {
        let url: DatabaseUrl = "postgres://campus:secret@db/campus"
            .parse()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!format!("{url:?}").contains("secret"));
    }

    #[test]
    fn redis_url_needs_redis_scheme() {
        assert!(parse_redis_url("redis://127.0.0.1:6379").is_ok());
        assert!(parse_redis_url("http://127.0.0.1:6379").is_err());
    }
}
