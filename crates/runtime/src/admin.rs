//! The admin HTTP listener: Prometheus metrics at `/metrics`, apart from the gRPC port so
//! scrapes are never shed or rate-limited with client traffic.

use std::future::Future;

use axum::{Router, extract::State, http::header, response::IntoResponse, routing::get};
use prometheus::{Encoder as _, Registry, TextEncoder};
use tokio::net::TcpListener;

/// Serves `/metrics` from `registry` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    registry: Registry,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = Router::new()
        .route("/metrics", get(metrics))
        .with_state(registry);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
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
