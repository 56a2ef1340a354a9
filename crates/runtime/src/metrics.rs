//! Per-method gRPC server metrics in Prometheus form: calls started, calls handled by status
//! code, and handling latency, for every method the server knows.

use std::{
    future::Future,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll, ready},
    time::Instant,
};

use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};
use tonic::Code;
use tower::{Layer, Service};

use crate::methods::MethodTable;

/// The server's call counters and latency histogram, registered in one registry.
#[derive(Debug, Clone)]
pub struct GrpcMetrics {
    started: IntCounterVec,
    handled: IntCounterVec,
    latency: HistogramVec,
    /// The paths that get their own labels; any other path is counted as `unknown` so a
    /// client cannot grow the label set without bound.
    methods: MethodTable,
}

impl GrpcMetrics {
    /// Registers the metrics, labelled for the server's `methods`.
    pub fn register(registry: &Registry, methods: MethodTable) -> Result<Self, prometheus::Error> {
        let labels = ["grpc_service", "grpc_method"];
        let started = IntCounterVec::new(
            Opts::new(
                "grpc_server_started_total",
                "gRPC calls started on the server.",
            ),
            &labels,
        )?;
        let handled = IntCounterVec::new(
            Opts::new(
                "grpc_server_handled_total",
                "gRPC calls completed on the server, by status code.",
            ),
            &["grpc_service", "grpc_method", "grpc_code"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "grpc_server_handling_seconds",
                "Time from a call's arrival to its last response byte.",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                10.0,
            ]),
            &labels,
        )?;
        registry.register(Box::new(started.clone()))?;
        registry.register(Box::new(handled.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        Ok(Self {
            started,
            handled,
            latency,
            methods,
        })
    }

    /// The `(service, method)` labels for a request path.
    fn labels<'a>(&self, path: &'a str) -> (&'a str, &'a str) {
        if !self.methods.is_known(path) {
            return ("unknown", "unknown");
        }
        path.trim_start_matches('/')
            .split_once('/')
            .unwrap_or(("unknown", "unknown"))
    }
}

/// Records every call that passes through it in [`GrpcMetrics`].
#[derive(Debug, Clone)]
pub(crate) struct MetricsLayer {
    metrics: GrpcMetrics,
}

impl MetricsLayer {
    pub(crate) fn new(metrics: GrpcMetrics) -> Self {
        Self { metrics }
    }
}

impl<S> Layer<S> for MetricsLayer {
    type Service = MetricsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        MetricsService {
            inner,
            metrics: self.metrics.clone(),
        }
    }
}

/// See [`MetricsLayer`].
#[derive(Debug, Clone)]
pub(crate) struct MetricsService<S> {
    inner: S,
    metrics: GrpcMetrics,
}

impl<S, ResBody> Service<http::Request<tonic::body::Body>> for MetricsService<S>
where
    S: Service<http::Request<tonic::body::Body>, Response = http::Response<ResBody>>,
    S::Error: Into<tower::BoxError>,
{
    type Response = http::Response<MetricsBody<ResBody>>;
    type Error = tower::BoxError;
    type Future = MetricsFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        let (service, method) = self.metrics.labels(request.uri().path());
        // A client that goes away while sending its request makes the handler fail reading
        // it (tonic answers UNKNOWN); such a call is counted as CANCELLED.
        let client_gone = Arc::new(AtomicBool::new(false));
        self.metrics
            .started
            .with_label_values(&[service, method])
            .inc();
        let recorder = Recorder {
            handled: self.metrics.handled.clone(),
            latency: self.metrics.latency.clone(),
            service: service.to_owned(),
            method: method.to_owned(),
            started: Instant::now(),
            code: None,
            client_gone: Arc::clone(&client_gone),
            span: None,
        };
        let request =
            request.map(|inner| tonic::body::Body::new(RequestBody { inner, client_gone }));
        MetricsFuture {
            inner: self.inner.call(request),
            recorder: Some(recorder),
        }
    }
}

pin_project! {
    /// Waits for the response head, then hands the recorder to the body.
    pub(crate) struct MetricsFuture<F> {
        #[pin]
        inner: F,
        recorder: Option<Recorder>,
    }
}

impl<F, ResBody, E> Future for MetricsFuture<F>
where
    F: Future<Output = Result<http::Response<ResBody>, E>>,
    E: Into<tower::BoxError>,
{
    type Output = Result<http::Response<MetricsBody<ResBody>>, tower::BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.inner.poll(cx));
        let mut recorder = this.recorder.take();
        match result {
            Ok(response) => {
                if let Some(recorder) = recorder.as_mut() {
                    // A trailers-only response (every error) carries the status in its head.
                    recorder.observe(response.headers());
                    recorder.span = response
                        .extensions()
                        .get::<CallSpan>()
                        .map(|call| call.0.clone());
                }
                Poll::Ready(Ok(response.map(|inner| MetricsBody { inner, recorder })))
            }
            Err(error) => {
                let error = error.into();
                if let Some(recorder) = recorder.as_mut() {
                    recorder.code = Some(code_of_error(&*error));
                }
                Poll::Ready(Err(error))
            }
        }
    }
}

/// The status a layer error becomes once tonic turns it into a response.
fn code_of_error(error: &(dyn std::error::Error + 'static)) -> Code {
    error
        .downcast_ref::<tonic::Status>()
        .map_or(Code::Unknown, tonic::Status::code)
}

pin_project! {
    /// A response body that records the call when its trailers pass or it is dropped.
    pub(crate) struct MetricsBody<B> {
        #[pin]
        inner: B,
        recorder: Option<Recorder>,
    }
}

impl<B: Body> Body for MetricsBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let frame = ready!(this.inner.poll_frame(cx));
        match &frame {
            Some(Ok(frame)) => {
                if let (Some(trailers), Some(recorder)) =
                    (frame.trailers_ref(), this.recorder.as_mut())
                {
                    recorder.observe(trailers);
                }
            }
            Some(Err(_)) => {
                if let Some(recorder) = this.recorder.as_mut() {
                    recorder.code.get_or_insert(Code::Internal);
                }
            }
            None => {
                this.recorder.take();
            }
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

pin_project! {
    /// A request body that notes when reading it fails: the client reset the stream or
    /// closed the connection before sending all of it.
    struct RequestBody {
        #[pin]
        inner: tonic::body::Body,
        client_gone: Arc<AtomicBool>,
    }
}

impl Body for RequestBody {
    type Data = <tonic::body::Body as Body>::Data;
    type Error = <tonic::body::Body as Body>::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let frame = ready!(this.inner.poll_frame(cx));
        if matches!(frame, Some(Err(_))) {
            this.client_gone.store(true, Ordering::Relaxed);
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The server span of a call, handed out with its response so the call's outcome is recorded
/// on it when the response ends.
#[derive(Debug, Clone)]
pub(crate) struct CallSpan(pub(crate) tracing::Span);

/// Records one call when dropped: at the end of the body, or when the client goes away.
#[derive(Debug)]
pub(crate) struct Recorder {
    handled: IntCounterVec,
    latency: HistogramVec,
    service: String,
    method: String,
    started: Instant,
    code: Option<Code>,
    /// Reading the request failed: the client went away mid-request.
    client_gone: Arc<AtomicBool>,
    span: Option<tracing::Span>,
}

impl Recorder {
    /// Takes the status from a `grpc-status` header or trailer, if this map has one.
    fn observe(&mut self, map: &http::HeaderMap) {
        if let Some(status) = map.get("grpc-status") {
            let code = status
                .to_str()
                .ok()
                .and_then(|s| s.parse::<i32>().ok())
                .map_or(Code::Unknown, Code::from);
            self.code = Some(code);
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        // No status seen means the response never finished: the client went away.
        let code = if self.client_gone.load(Ordering::Relaxed) {
            Code::Cancelled
        } else {
            self.code.unwrap_or(Code::Cancelled)
        };
        if let Some(span) = &self.span {
            crate::telemetry::record_outcome(span, code, true);
        }
        let labels = [self.service.as_str(), self.method.as_str()];
        self.latency
            .with_label_values(&labels)
            .observe(self.started.elapsed().as_secs_f64());
        self.handled
            .with_label_values(&[labels[0], labels[1], code_name(code)])
            .inc();
    }
}

/// Canonical upper-case name of a status code, as gRPC dashboards expect.
fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}
