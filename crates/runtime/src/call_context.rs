//! Per-call context on the server: a tracing span that continues the caller's trace, the
//! call's deadline (enforced here, answered as DEADLINE_EXCEEDED), and its credentials, which
//! the peer client reads so the calls a handler makes are bounded by the same deadline and act
//! for the same caller.
//!
//! A unary or server-streaming call must produce its response head within the shorter of the
//! client's `grpc-timeout` and `CAMPUS_REQUEST_TIMEOUT`. A client stream (a bulk import) is not
//! a unary call: its length follows the client's data, so it is bounded by the client's own
//! `grpc-timeout` when it sends one, and otherwise by `CAMPUS_STREAM_IDLE_TIMEOUT` between
//! messages, so a stalled client cannot hold the call forever.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use tokio::time::{Instant, Sleep};
use tower::{Layer, Service};
use tracing::Instrument as _;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use crate::{methods::MethodTable, metrics::CallSpan, propagation};

/// What the handler's future knows about the call it serves.
#[derive(Debug, Clone)]
struct CallScope {
    /// When the call must have answered; none for a client stream without a client deadline.
    deadline: Option<Instant>,
    /// The caller's `authorization` header, forwarded on peer calls.
    authorization: Option<http::HeaderValue>,
}

tokio::task_local! {
    static CALL: CallScope;
}

/// The deadline of the call this task is serving, if it is serving one that has a deadline.
pub fn current_deadline() -> Option<Instant> {
    CALL.try_with(|call| call.deadline).ok().flatten()
}

/// The `authorization` header of the call this task is serving, if any.
pub fn current_authorization() -> Option<http::HeaderValue> {
    CALL.try_with(|call| call.authorization.clone())
        .ok()
        .flatten()
}

/// How long calls may take: the server's limits and the methods that take client streams.
#[derive(Debug, Clone)]
pub(crate) struct CallLimits {
    /// The server's own limit for a call's answer, used when the client sent no shorter
    /// `grpc-timeout`.
    pub(crate) request_timeout: Duration,
    /// The longest wait for a client stream's next message.
    pub(crate) stream_idle_timeout: Duration,
    /// Which methods take client streams.
    pub(crate) methods: MethodTable,
}

/// Wraps each call in its span and deadline scope, and enforces the deadline.
#[derive(Debug, Clone)]
pub(crate) struct CallContextLayer {
    limits: CallLimits,
}

impl CallContextLayer {
    pub(crate) fn new(limits: CallLimits) -> Self {
        Self { limits }
    }
}

impl<S> Layer<S> for CallContextLayer {
    type Service = CallContext<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CallContext {
            inner,
            limits: self.limits.clone(),
        }
    }
}

/// See [`CallContextLayer`].
#[derive(Debug, Clone)]
pub(crate) struct CallContext<S> {
    inner: S,
    limits: CallLimits,
}

impl<S, ResBody> Service<http::Request<tonic::body::Body>> for CallContext<S>
where
    S: Service<http::Request<tonic::body::Body>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
    ResBody: Default,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        let path = request.uri().path();
        let client_stream = self.limits.methods.is_client_streaming(path);
        let timeout = match (grpc_timeout(request.headers()), client_stream) {
            (Some(client), true) => Some(client),
            (None, true) => None,
            (client, false) => Some(client.map_or(self.limits.request_timeout, |client| {
                client.min(self.limits.request_timeout)
            })),
        };
        let deadline = timeout.map(|timeout| Instant::now() + timeout);
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
            rpc.grpc.status_code = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
        );
        // An error here means the span is disabled by the filter; the call goes on untraced.
        let _ = span.set_parent(propagation::extract(request.headers()));
        let scope = CallScope {
            deadline,
            authorization: request.headers().get(http::header::AUTHORIZATION).cloned(),
        };
        let request = if client_stream {
            let idle = self.limits.stream_idle_timeout;
            request.map(|body| tonic::body::Body::new(IdleTimeoutBody::new(body, idle)))
        } else {
            request
        };
        let future = self.inner.call(request);
        let call_span = CallSpan(span.clone());
        let bounded = async move {
            let answer = match deadline {
                None => future.await,
                Some(deadline) => match tokio::time::timeout_at(deadline, future).await {
                    Ok(answer) => answer,
                    Err(_elapsed) => Ok(tonic::Status::deadline_exceeded(
                        "the call did not finish within its deadline",
                    )
                    .into_http()),
                },
            };
            answer.map(|mut response| {
                response.extensions_mut().insert(call_span);
                response
            })
        };
        Box::pin(CALL.scope(scope, bounded.instrument(span)))
    }
}

pin_project! {
    /// A client stream's body that fails with DEADLINE_EXCEEDED when the client sends nothing
    /// for `idle` while the handler waits for it. Time the handler spends on a message it
    /// already has does not count.
    struct IdleTimeoutBody {
        #[pin]
        inner: tonic::body::Body,
        idle: Duration,
        armed: bool,
        #[pin]
        timer: Sleep,
    }
}

impl IdleTimeoutBody {
    fn new(inner: tonic::body::Body, idle: Duration) -> Self {
        Self {
            inner,
            idle,
            armed: false,
            timer: tokio::time::sleep(idle),
        }
    }
}

impl Body for IdleTimeoutBody {
    type Data = <tonic::body::Body as Body>::Data;
    type Error = tonic::Status;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let mut this = self.project();
        if let Poll::Ready(frame) = this.inner.poll_frame(cx) {
            *this.armed = false;
            return Poll::Ready(frame);
        }
        if !*this.armed {
            this.timer.as_mut().reset(Instant::now() + *this.idle);
            *this.armed = true;
        }
        match this.timer.poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(tonic::Status::deadline_exceeded(format!(
                "the client sent nothing for {}; send the stream's next message sooner",
                humantime::format_duration(*this.idle)
            ))))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
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
