//! Logs and traces: a `tracing` subscriber filtered by `RUST_LOG`, printing text or JSON, and
//! bridged to OpenTelemetry so spans leave the process over OTLP/gRPC when a collector is set.
//!
//! The OpenTelemetry layer is installed even without a collector: it is what carries the W3C
//! trace context from an incoming call to the calls it makes, so traces stay whole when the
//! next hop does export.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::{Resource, propagation::TraceContextPropagator, trace::SdkTracerProvider};
use tracing_subscriber::{
    EnvFilter, Layer as _, layer::SubscriberExt as _, util::SubscriberInitExt as _,
};

use tonic::Code;

use crate::config::{LogFormat, TelemetryConfig};

/// Why telemetry could not start.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// `RUST_LOG` does not parse as a filter.
    #[error("RUST_LOG: {0}")]
    Filter(#[from] tracing_subscriber::filter::ParseError),
    /// The OTLP exporter could not be built from `OTEL_EXPORTER_OTLP_ENDPOINT`.
    #[error("OTEL_EXPORTER_OTLP_ENDPOINT: {0}")]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
    /// A global subscriber was already installed in this process.
    #[error("a tracing subscriber is already installed: {0}")]
    AlreadyInstalled(#[from] tracing_subscriber::util::TryInitError),
}

/// Keeps the tracer provider alive; [`Telemetry::shutdown`] flushes spans still buffered.
#[derive(Debug)]
pub struct Telemetry {
    provider: SdkTracerProvider,
}

impl Telemetry {
    /// Installs the global subscriber and propagator. `default_service` names the spans'
    /// service (`campus-users`, …) unless `OTEL_SERVICE_NAME` says otherwise.
    pub fn init(config: &TelemetryConfig, default_service: &str) -> Result<Self, TelemetryError> {
        let filter = match std::env::var("RUST_LOG") {
            Ok(directives) if !directives.is_empty() => EnvFilter::try_new(directives)?,
            Ok(_) | Err(_) => EnvFilter::new("info"),
        };
        let provider = tracer_provider(config, default_service)?;
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());

        let fmt_layer = match config.log_format {
            LogFormat::Text => tracing_subscriber::fmt::layer().boxed(),
            LogFormat::Json => tracing_subscriber::fmt::layer()
                .json()
                .flatten_event(true)
                .with_current_span(true)
                .boxed(),
        };
        let otel_layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("campus"));
        tracing_subscriber::registry()
            .with(filter)
            .with(fmt_layer)
            .with(otel_layer)
            .try_init()?;
        Ok(Self { provider })
    }

    /// Exports every span still buffered; call once before the process exits.
    pub fn shutdown(self) {
        if let Err(error) = self.provider.shutdown() {
            eprintln!("flushing spans at exit failed: {error}");
        }
    }
}

/// A provider that batches spans to the OTLP endpoint, or records them without exporting.
fn tracer_provider(
    config: &TelemetryConfig,
    default_service: &str,
) -> Result<SdkTracerProvider, TelemetryError> {
    let service_name = config
        .service_name
        .clone()
        .unwrap_or_else(|| default_service.to_owned());
    let resource = Resource::builder().with_service_name(service_name).build();
    let builder = SdkTracerProvider::builder().with_resource(resource);
    let Some(endpoint) = &config.otlp_endpoint else {
        return Ok(builder.build());
    };
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint.to_string())
        .build()?;
    Ok(builder.with_batch_exporter(exporter).build())
}

/// Records a call's status code on its span, and marks the span as an error where
/// OpenTelemetry's RPC conventions say the code is one for this side of the call (every
/// non-OK code for a client; for a server, only the codes that are its own fault).
pub(crate) fn record_outcome(span: &tracing::Span, code: Code, server: bool) {
    span.record("rpc.grpc.status_code", code as i32);
    let error = match code {
        Code::Ok => false,
        Code::Unknown
        | Code::DeadlineExceeded
        | Code::Unimplemented
        | Code::Internal
        | Code::Unavailable
        | Code::DataLoss => true,
        Code::Cancelled
        | Code::InvalidArgument
        | Code::NotFound
        | Code::AlreadyExists
        | Code::PermissionDenied
        | Code::ResourceExhausted
        | Code::FailedPrecondition
        | Code::Aborted
        | Code::OutOfRange
        | Code::Unauthenticated => !server,
    };
    if error {
        span.record("otel.status_code", "ERROR");
    }
}
