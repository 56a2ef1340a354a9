//! Per-call context on the server: a tracing span that continues the caller's trace, the
//! call's deadline, and its credentials, which the peer client reads so the calls a handler
//! makes are bounded by the same deadline and act for the same caller.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use tokio::time::Instant;
use tower::{Layer, Service};
use tracing::Instrument as _;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use crate::propagation;

/// What the handler's future knows about the call it serves.
#[derive(Debug, Clone)]
struct CallScope {
    /// When the call must have answered.
    deadline: Instant,
    /// The caller's `authorization` header, forwarded on peer calls.
    authorization: Option<http::HeaderValue>,
}

tokio::task_local! {
    static CALL: CallScope;
}

/// The deadline of the call this task is serving, if it is serving one.
pub fn current_deadline() -> Option<Instant> {
    CALL.try_with(|call| call.deadline).ok()
}

/// The `authorization` header of the call this task is serving, if any.
pub fn current_authorization() -> Option<http::HeaderValue> {
    CALL.try_with(|call| call.authorization.clone())
        .ok()
        .flatten()
}

/// Wraps each call in its span and deadline scope.
#[derive(Debug, Clone)]
pub(crate) struct CallContextLayer {
    /// The server's own limit, used when the client sent no shorter `grpc-timeout`.
    max_timeout: Duration,
}

impl CallContextLayer {
    pub(crate) fn new(max_timeout: Duration) -> Self {
        Self { max_timeout }
    }
}

impl<S> Layer<S> for CallContextLayer {
    type Service = CallContext<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CallContext {
            inner,
            max_timeout: self.max_timeout,
        }
    }
}

/// See [`CallContextLayer`].
#[derive(Debug, Clone)]
pub(crate) struct CallContext<S> {
    inner: S,
    max_timeout: Duration,
}

impl<S, B> Service<http::Request<B>> for CallContext<S>
where
    S: Service<http::Request<B>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let timeout = grpc_timeout(request.headers())
            .map_or(self.max_timeout, |timeout| timeout.min(self.max_timeout));
        let deadline = Instant::now() + timeout;
        let path = request.uri().path();
        let (service, method) = path
            .trim_start_matches('/')
            .split_once('/')
            .unwrap_or(("", ""));
        let span = tracing::info_span!(
            "grpc.server",
            otel.name = %path,
            otel.kind = "server",
            rpc.system = "grpc",
            rpc.service = %service,
            rpc.method = %method,
        );
        // An error here means the span is disabled by the filter; the call goes on untraced.
        let _ = span.set_parent(propagation::extract(request.headers()));
        let scope = CallScope {
            deadline,
            authorization: request.headers().get(http::header::AUTHORIZATION).cloned(),
        };
        let future = self.inner.call(request);
        Box::pin(CALL.scope(scope, future.instrument(span)))
    }
}

/// The `grpc-timeout` header of a call, if it has a valid one.
fn grpc_timeout(headers: &http::HeaderMap) -> Option<Duration> {
    parse_grpc_timeout(headers.get("grpc-timeout")?.to_str().ok()?)
}

/// Parses a `grpc-timeout` value: up to 8 digits and a unit (H, M, S, m, u, n).
pub(crate) fn parse_grpc_timeout(value: &str) -> Option<Duration> {
    if value.len() < 2 || value.len() > 9 {
        return None;
    }
    let (digits, unit) = value.split_at(value.len() - 1);
    let amount: u64 = digits.parse().ok()?;
    match unit {
        "H" => Some(Duration::from_secs(amount * 3600)),
        "M" => Some(Duration::from_secs(amount * 60)),
        "S" => Some(Duration::from_secs(amount)),
        "m" => Some(Duration::from_millis(amount)),
        "u" => Some(Duration::from_micros(amount)),
        "n" => Some(Duration::from_nanos(amount)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::grpc_timeout;

    fn parse(value: &str) -> Option<Duration> {
        let mut headers = http::HeaderMap::new();
        headers.insert("grpc-timeout", value.parse().ok()?);
        grpc_timeout(&headers)
    }

    #[test]
    fn grpc_timeout_units_parse() {
        assert_eq!(parse("2S"), Some(Duration::from_secs(2)));
        assert_eq!(parse("250m"), Some(Duration::from_millis(250)));
        assert_eq!(parse("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(parse("10x"), None);
        assert_eq!(parse("123456789S"), None);
    }
}
