//! What every Campus service shares, so each service holds only its own domain.
//!
//! # Layout
//! - [`api`]: conventions of every API: page sizes, cursors, field violations, timestamps,
//!   RESOURCE_EXHAUSTED reasons.
//! - [`failure`]: infrastructure failures, classified once and mapped to a status once.
//! - [`config`]: flags with environment fallbacks (`CAMPUS_*`, `OTEL_*`).
//! - [`telemetry`]: `tracing` subscriber (text or JSON) bridged to OpenTelemetry OTLP.
//! - [`propagation`]: W3C trace context in gRPC metadata and in events.
//! - [`call_context`]: the span and deadline of the call being served.
//! - [`server`]: the server builder (health, reflection, grpc-web, limits, shutdown).
//! - [`methods`]: the methods a server serves, from its descriptor sets.
//! - [`metrics`]: per-method Prometheus metrics; [`admin`] serves them on `/metrics`.
//! - `cors`: browser origins allowed over grpc-web.
//! - `accept`: the listener's connections, pausing when the process runs out of descriptors.
//! - [`client`]: channels to peer services; [`retry`] retries their idempotent calls;
//!   [`in_process`] carries calls to a peer this process serves itself.
//! - [`encoded`]: server streams of messages encoded once for every watcher.
//! - [`backoff`]: the one jittered backoff of every loop that tries again.
//! - [`periodic`]: the one timer loop of background work (sweeps, reminders, reloads).
//! - [`auth`]: access token verification (a layer) and the authorization helpers.
//! - [`shutdown`]: the signals that stop the process.
//! - [`http_routes`]: plain HTTP routes of a service on the gRPC port (signed downloads).
//! - [`header_limit`]: request headers over the limit refused per call, not per connection.
//! - [`stream_limits`]: bounds on open response streams, per process and per caller.
//! - [`tls`]: TLS of the listener (reloaded certificates, optional mutual TLS) and of peer
//!   calls.

mod accept;
pub mod admin;
pub mod api;
pub mod auth;
pub mod backoff;
pub mod bearer;
pub mod call_context;
pub mod client;
pub mod config;
mod cors;
pub mod encoded;
pub mod failure;
pub mod header_limit;
pub mod http_routes;
pub mod in_process;
pub mod methods;
pub mod metrics;
pub mod periodic;
pub mod propagation;
pub mod retry;
pub mod server;
pub mod shutdown;
pub mod stream_limits;
pub mod telemetry;
pub mod tls;
pub mod web;

pub use cors::InvalidCors;
