//! The admin HTTP listener: Prometheus metrics at `/metrics`, apart from the gRPC port so
//! scrapes are never shed or rate-limited with client traffic; and `grpc.health.v1` in
//! cleartext HTTP/2, for the kubelet's gRPC probes, which cannot speak TLS to the gRPC port.

use std::future::Future;

use axum::{Router, extract::State, http::header, response::IntoResponse, routing::get};
use prometheus::{Encoder as _, Registry, TextEncoder};
use tokio::net::TcpListener;

use crate::server::HealthService;

/// Serves `/metrics` from `registry` and the gRPC port's `health` on `listener` until
/// `shutdown` completes.
pub(crate) async fn serve(
    listener: TcpListener,
    registry: Registry,
    health: HealthService,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = Router::new()
        .route("/metrics", get(metrics))
        // Check only: a Watch never ends, and would hold graceful shutdown open.
        .route_service("/grpc.health.v1.Health/Check", health)
        .with_state(registry);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

/// Reads the `/metrics` text of the admin listener at `address` (`host:port`): how tests,
/// the benchmark and operators' scripts look at a running process.
pub async fn scrape(address: &str) -> std::io::Result<String> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::TcpStream::connect(address).await?;
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: campus\r\nConnection: close\r\n\r\n")
        .await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    match response.split_once("\r\n\r\n") {
        Some((head, body)) if head.starts_with("HTTP/1.1 200") => Ok(body.to_owned()),
        _ => Err(std::io::Error::other(format!(
            "/metrics at {address} answered {}",
            response.lines().next().unwrap_or("nothing")
        ))),
    }
}

/// Renders every registered metric in the Prometheus text format.
async fn metrics(State(registry): State<Registry>) -> impl IntoResponse {
    let encoder = TextEncoder::new();
    let mut body = Vec::new();
    if let Err(error) = encoder.encode(&registry.gather(), &mut body) {
        tracing::error!(%error, "encoding metrics failed");
        return (
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, "text/plain")],
            Vec::new(),
        );
    }
    (
        axum::http::StatusCode::OK,
        [(header::CONTENT_TYPE, prometheus::TEXT_FORMAT)],
        body,
    )
}
