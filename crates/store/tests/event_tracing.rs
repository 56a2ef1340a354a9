//! A consumer's span continues the trace of the request that produced the event, through
//! the trace context carried in the envelope.

mod common;

use std::sync::{Arc, Mutex};

use campus_proto::events::EnrollmentCreated;
use campus_store::{
    Tx,
    events::{EventEnvelope, EventHandler, HandlerError, outbox::envelope},
};
use campus_testkit::TestDatabase;
use common::{Error, store};
use opentelemetry::trace::{TraceContextExt as _, TraceId, TracerProvider as _};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::layer::SubscriberExt as _;

/// Remembers the trace id of the span it runs in.
#[derive(Debug, Clone, Default)]
struct TraceIdOfHandler(Arc<Mutex<Option<TraceId>>>);

#[async_trait::async_trait]
impl EventHandler for TraceIdOfHandler {
    async fn handle(&self, _tx: &mut Tx, _event: &EventEnvelope) -> Result<(), HandlerError> {
        let trace_id = tracing::Span::current()
            .context()
            .span()
            .span_context()
            .trace_id();
        if let Ok(mut seen) = self.0.lock() {
            *seen = Some(trace_id);
        }
        Ok(())
    }
}

#[tokio::test]
async fn the_consumer_span_continues_the_producer_trace() -> Result<(), Error> {
    opentelemetry::global::set_text_map_propagator(
        opentelemetry_sdk::propagation::TraceContextPropagator::new(),
    );
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
    let _guard = tracing::subscriber::set_default(subscriber);

    let database = TestDatabase::sqlite()?;
    let store = store(&database, None, &prometheus::Registry::new()).await?;
    let handler = TraceIdOfHandler::default();
    store
        .consumer("progress", &["enrollment"], handler.clone())
        .start(&store.bus, std::future::pending())
        .await;

    let request = tracing::info_span!("grpc.server");
    let produced =
        request.in_scope(|| envelope("enrollment-1", "school-1", &EnrollmentCreated::default()));
    let producer_trace = request.context().span().span_context().trace_id();
    assert_ne!(producer_trace, TraceId::INVALID);
    assert!(produced.traceparent.contains(&producer_trace.to_string()));

    // Delivered outside the request's span, as the relay does.
    store.bus.publish(&[produced]).await?;
    let consumer_trace = handler
        .0
        .lock()
        .map_err(|_| "poisoned")?
        .ok_or("not handled")?;
    assert_eq!(consumer_trace, producer_trace);
    Ok(())
}
