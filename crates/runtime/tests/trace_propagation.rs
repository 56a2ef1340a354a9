//! Spans reach an OTLP collector, and a call that hops from one service to another is one
//! trace: the callee's server span is a child of the caller's client span of the peer call,
//! itself a child of the caller's server span, and every span records its gRPC status code.

mod common;

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use campus_proto::users::{
    GetSchoolRequest, get_school_request::Key, users_service_client::UsersServiceClient,
};
use campus_runtime::{client::peer_channel, config::TelemetryConfig, telemetry::Telemetry};
use clap::Parser as _;
use common::{Error, ForwardingSchools, SlowSchools, listeners, server_config, server_with};
use opentelemetry_proto::tonic::{
    collector::trace::v1::{
        ExportTraceServiceRequest, ExportTraceServiceResponse,
        trace_service_server::{TraceService, TraceServiceServer},
    },
    trace::v1::{Span, span::SpanKind},
};
use tokio_stream::wrappers::TcpListenerStream;

/// An OTLP/gRPC trace receiver that keeps every span it is sent.
#[derive(Debug, Clone, Default)]
struct Collector {
    spans: Arc<Mutex<Vec<Span>>>,
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let spans = request
            .into_inner()
            .resource_spans
            .into_iter()
            .flat_map(|resource| resource.scope_spans)
            .flat_map(|scope| scope.spans);
        self.spans
            .lock()
            .map_err(|_| tonic::Status::internal("poisoned"))?
            .extend(spans);
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

#[derive(Debug, clap::Parser)]
struct Flags {
    #[command(flatten)]
    telemetry: TelemetryConfig,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_across_two_services_is_one_trace_in_the_collector() -> Result<(), Error> {
    let collector = Collector::default();
    let collector_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let collector_addr = collector_listener.local_addr()?;
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(collector.clone()))
            .serve_with_incoming(TcpListenerStream::new(collector_listener)),
    );
    let flags = Flags::try_parse_from([
        "test",
        "--otlp-endpoint",
        &format!("http://{collector_addr}"),
    ])?;
    let telemetry = Telemetry::init(&flags.telemetry, "campus-trace-test")?;

    // Service B answers; service A answers by calling B through the peer client.
    let (b_grpc, b_admin, b_addr) = listeners().await?;
    let b = server_with(server_config(&[])?, SlowSchools(Duration::ZERO)).await?;
    tokio::spawn(b.serve(b_grpc, b_admin, std::future::pending()));
    let (a_grpc, a_admin, a_addr) = listeners().await?;
    let to_b = peer_channel(format!("http://{b_addr}").parse()?, None);
    let a = server_with(server_config(&[])?, ForwardingSchools::to(to_b)).await?;
    tokio::spawn(a.serve(a_grpc, a_admin, std::future::pending()));

    let mut client = UsersServiceClient::connect(format!("http://{a_addr}")).await?;
    let answer = client
        .get_school(GetSchoolRequest {
            key: Some(Key::SchoolId("school-7".into())),
        })
        .await?
        .into_inner();
    assert_eq!(
        answer.school.map(|school| school.id).as_deref(),
        Some("school-7")
    );

    // Shutting the provider down exports what is still batched; it blocks, so off the runtime.
    tokio::task::spawn_blocking(move || telemetry.shutdown()).await?;

    let spans: Vec<Span> = collector.spans.lock().map_err(|_| "poisoned")?.clone();
    let server_spans: Vec<Span> = spans
        .iter()
        .filter(|span| {
            span.kind() == SpanKind::Server
                && span.name == "/campus.users.v1.UsersService/GetSchool"
        })
        .cloned()
        .collect();
    assert_eq!(
        server_spans.len(),
        2,
        "one server span per service: {server_spans:?}"
    );
    let (first, second) = (&server_spans[0], &server_spans[1]);
    assert_eq!(
        first.trace_id, second.trace_id,
        "both hops share one trace id"
    );
    let (caller, callee) = if first.parent_span_id.is_empty() {
        (first, second)
    } else {
        (second, first)
    };
    assert!(
        caller.parent_span_id.is_empty(),
        "the first hop starts the trace"
    );
    // Between them, the caller's client span of the peer call, with its outcome.
    let client = spans
        .iter()
        .find(|span| span.span_id == callee.parent_span_id)
        .ok_or("the callee's parent is not an exported span")?;
    assert_eq!(client.kind(), SpanKind::Client, "{client:?}");
    assert_eq!(client.name, "campus.users.v1.UsersService/GetSchool");
    assert_eq!(
        client.parent_span_id, caller.span_id,
        "the peer call is a child of the call being served"
    );
    for span in [caller, callee, client] {
        assert_eq!(
            int_attribute(span, "rpc.grpc.status_code"),
            Some(0),
            "each hop records its code: {span:?}"
        );
    }
    Ok(())
}

/// The integer value of attribute `key` of `span`.
fn int_attribute(span: &Span, key: &str) -> Option<i64> {
    use opentelemetry_proto::tonic::common::v1::any_value::Value;
    span.attributes
        .iter()
        .find(|attribute| attribute.key == key)
        .and_then(|attribute| attribute.value.as_ref())
        .and_then(|value| match value.value {
            Some(Value::IntValue(int)) => Some(int),
            _ => None,
        })
}
