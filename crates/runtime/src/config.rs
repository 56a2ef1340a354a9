//! Command-line flags with environment fallbacks shared by every service.
//!
//! Each flag's value name is its environment variable, so a bad value is reported as, for
//! example, `invalid value 'x' for '--listen <CAMPUS_LISTEN>'`: the message names the variable
//! an operator has to fix whichever way they set it.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use http::Uri;

/// Listener addresses and the limits that protect the gRPC server.
#[derive(Debug, Clone, clap::Args)]
pub struct ServerConfig {
    /// Address of the gRPC listener (also serves grpc-web over HTTP/1.1).
    #[arg(
        long = "listen",
        env = "CAMPUS_LISTEN",
        value_name = "CAMPUS_LISTEN",
        default_value = "127.0.0.1:50051"
    )]
    pub listen: SocketAddr,

    /// Address of the admin HTTP listener that serves `/metrics`.
    #[arg(
        long = "admin-listen",
        env = "CAMPUS_ADMIN_LISTEN",
        value_name = "CAMPUS_ADMIN_LISTEN",
        default_value = "127.0.0.1:9464"
    )]
    pub admin_listen: SocketAddr,

    /// Longest time a call may take to answer; a shorter `grpc-timeout` from the client wins.
    /// Client streams are bounded by `CAMPUS_STREAM_IDLE_TIMEOUT` instead.
    #[arg(
        long = "request-timeout",
        env = "CAMPUS_REQUEST_TIMEOUT",
        value_name = "CAMPUS_REQUEST_TIMEOUT",
        default_value = "30s",
        value_parser = humantime::parse_duration
    )]
    pub request_timeout: Duration,

    /// Longest wait for the next message of a client stream (a bulk import); a client stream
    /// runs as long as its data keeps coming, or until the client's own `grpc-timeout`.
    #[arg(
        long = "stream-idle-timeout",
        env = "CAMPUS_STREAM_IDLE_TIMEOUT",
        value_name = "CAMPUS_STREAM_IDLE_TIMEOUT",
        default_value = "30s",
        value_parser = humantime::parse_duration
    )]
    pub stream_idle_timeout: Duration,

    /// Calls served at once by this process; beyond it calls are shed with RESOURCE_EXHAUSTED
    /// rather than queued, so a overloaded replica answers fast and clients go elsewhere.
    #[arg(
        long = "concurrency-limit",
        env = "CAMPUS_CONCURRENCY_LIMIT",
        value_name = "CAMPUS_CONCURRENCY_LIMIT",
        default_value_t = 1024
    )]
    pub concurrency_limit: usize,

    /// Largest encoded message, in bytes, accepted or sent by any service.
    #[arg(
        long = "max-message-size",
        env = "CAMPUS_MAX_MESSAGE_SIZE",
        value_name = "CAMPUS_MAX_MESSAGE_SIZE",
        default_value_t = 4 * 1024 * 1024
    )]
    pub max_message_size: usize,

    /// HTTP/2 streams a single connection may open at once (tonic's default is unlimited).
    #[arg(
        long = "max-concurrent-streams",
        env = "CAMPUS_MAX_CONCURRENT_STREAMS",
        value_name = "CAMPUS_MAX_CONCURRENT_STREAMS",
        default_value_t = 256
    )]
    pub max_concurrent_streams: u32,

    /// Response streams (`Watch*`) open at once in this process, across all connections;
    /// more are refused with RESOURCE_EXHAUSTED, reason TOO_MANY_STREAMS.
    #[arg(
        long = "max-open-streams",
        env = "CAMPUS_MAX_OPEN_STREAMS",
        value_name = "CAMPUS_MAX_OPEN_STREAMS",
        default_value_t = 10_000
    )]
    pub max_open_streams: usize,

    /// Response streams one caller (token subject) may hold open at once in this process.
    #[arg(
        long = "max-open-streams-per-user",
        env = "CAMPUS_MAX_OPEN_STREAMS_PER_USER",
        value_name = "CAMPUS_MAX_OPEN_STREAMS_PER_USER",
        default_value_t = 64
    )]
    pub max_open_streams_per_user: usize,

    /// Largest request header list, in bytes (names, values and 32 bytes a header, as HTTP/2
    /// counts them); a call over it is refused alone with RESOURCE_EXHAUSTED, reason
    /// HEADERS_TOO_LARGE. HTTP/2 itself is told eight times as much (see `server`).
    #[arg(
        long = "max-header-list-size",
        env = "CAMPUS_MAX_HEADER_LIST_SIZE",
        value_name = "CAMPUS_MAX_HEADER_LIST_SIZE",
        default_value_t = 16 * 1024,
        value_parser = clap::value_parser!(u32).range(1024..=1024 * 1024)
    )]
    pub max_header_list_size: u32,

    /// Interval of HTTP/2 pings that find dead connections.
    #[arg(
        long = "http2-keepalive-interval",
        env = "CAMPUS_HTTP2_KEEPALIVE_INTERVAL",
        value_name = "CAMPUS_HTTP2_KEEPALIVE_INTERVAL",
        default_value = "30s",
        value_parser = humantime::parse_duration
    )]
    pub http2_keepalive_interval: Duration,

    /// Time to wait for a ping's answer before closing the connection.
    #[arg(
        long = "http2-keepalive-timeout",
        env = "CAMPUS_HTTP2_KEEPALIVE_TIMEOUT",
        value_name = "CAMPUS_HTTP2_KEEPALIVE_TIMEOUT",
        default_value = "10s",
        value_parser = humantime::parse_duration
    )]
    pub http2_keepalive_timeout: Duration,

    /// After SIGTERM, how long health reports NOT_SERVING before the listener closes, so
    /// kubelet and peers stop sending new calls first.
    #[arg(
        long = "shutdown-delay",
        env = "CAMPUS_SHUTDOWN_DELAY",
        value_name = "CAMPUS_SHUTDOWN_DELAY",
        default_value = "2s",
        value_parser = humantime::parse_duration
    )]
    pub shutdown_delay: Duration,

    /// How long in-flight calls may run after the listener closes; the process exits after it
    /// even if connections stay open (hyper may otherwise wait on idle connections).
    #[arg(
        long = "shutdown-grace",
        env = "CAMPUS_SHUTDOWN_GRACE",
        value_name = "CAMPUS_SHUTDOWN_GRACE",
        default_value = "10s",
        value_parser = humantime::parse_duration
    )]
    pub shutdown_grace: Duration,

    /// Browser origins allowed to call over grpc-web, comma-separated (`*` allows any);
    /// empty allows none. Requests from other origins are refused with HTTP 403.
    #[arg(
        long = "cors-origins",
        env = "CAMPUS_CORS_ORIGINS",
        value_name = "CAMPUS_CORS_ORIGINS",
        value_delimiter = ',',
        default_value = ""
    )]
    pub cors_origins: Vec<String>,

    /// Request headers browsers may send besides the ones grpc-web needs (`content-type`,
    /// `authorization`, `x-grpc-web`, `x-user-agent`, `grpc-timeout`, `traceparent`,
    /// `tracestate`), comma-separated: custom metadata such as `x-request-id`.
    #[arg(
        long = "cors-allowed-headers",
        env = "CAMPUS_CORS_ALLOWED_HEADERS",
        value_name = "CAMPUS_CORS_ALLOWED_HEADERS",
        value_delimiter = ',',
        default_value = ""
    )]
    pub cors_allowed_headers: Vec<String>,

    /// The built web dashboard (`web/dist`), served at `/` on the gRPC port; unset serves
    /// the API alone.
    #[arg(
        long = "web-dir",
        env = "CAMPUS_WEB_DIR",
        value_name = "CAMPUS_WEB_DIR"
    )]
    pub web_dir: Option<PathBuf>,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub tls: crate::tls::TlsConfig,
}

/// How logs and traces leave the process.
#[derive(Debug, Clone, clap::Args)]
pub struct TelemetryConfig {
    /// Log line format; the filter itself comes from `RUST_LOG` (default `info`).
    #[arg(
        long = "log-format",
        env = "CAMPUS_LOG_FORMAT",
        value_name = "CAMPUS_LOG_FORMAT",
        default_value = "text"
    )]
    pub log_format: LogFormat,

    /// OTLP/gRPC collector that receives spans, e.g. `http://otel-collector:4317`; unset sends none.
    #[arg(
        long = "otlp-endpoint",
        env = "OTEL_EXPORTER_OTLP_ENDPOINT",
        value_name = "OTEL_EXPORTER_OTLP_ENDPOINT"
    )]
    pub otlp_endpoint: Option<Uri>,

    /// Service name on exported spans; defaults to `campus-<service>`.
    #[arg(
        long = "otel-service-name",
        env = "OTEL_SERVICE_NAME",
        value_name = "OTEL_SERVICE_NAME"
    )]
    pub service_name: Option<String>,
}

/// Log line formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines, for a terminal.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Where the peer services are; unset means this process serves them itself.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct PeersConfig {
    /// Users service address, e.g. `http://users:50051`.
    #[arg(long = "users-addr", env = "CAMPUS_USERS_ADDR", value_name = "CAMPUS_USERS_ADDR", value_parser = parse_peer_uri)]
    pub users: Option<Uri>,
    /// Courses service address.
    #[arg(long = "courses-addr", env = "CAMPUS_COURSES_ADDR", value_name = "CAMPUS_COURSES_ADDR", value_parser = parse_peer_uri)]
    pub courses: Option<Uri>,
    /// Progress service address.
    #[arg(long = "progress-addr", env = "CAMPUS_PROGRESS_ADDR", value_name = "CAMPUS_PROGRESS_ADDR", value_parser = parse_peer_uri)]
    pub progress: Option<Uri>,
    /// Finance service address.
    #[arg(long = "finance-addr", env = "CAMPUS_FINANCE_ADDR", value_name = "CAMPUS_FINANCE_ADDR", value_parser = parse_peer_uri)]
    pub finance: Option<Uri>,
    /// PEM CA bundle that `https://` peers' certificates must chain to; unset: the system's.
    #[arg(
        long = "peer-ca-file",
        env = "CAMPUS_PEER_CA_FILE",
        value_name = "CAMPUS_PEER_CA_FILE"
    )]
    pub ca_file: Option<PathBuf>,
}

/// Accepts `http://host:port` (or `https://`) with an explicit host.
fn parse_peer_uri(value: &str) -> Result<Uri, String> {
    let uri: Uri = value
        .parse()
        .map_err(|e| format!("not a URI ({e}); expected http://host:port"))?;
    match uri.scheme_str() {
        Some("http" | "https") if uri.host().is_some() => Ok(uri),
        _ => Err("expected http://host:port or https://host:port".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_peer_uri;

    #[test]
    fn peer_uri_needs_scheme_and_host() {
        assert!(parse_peer_uri("http://users:50051").is_ok());
        assert!(parse_peer_uri("users:50051").is_err());
        assert!(parse_peer_uri("ftp://users").is_err());
    }
}
