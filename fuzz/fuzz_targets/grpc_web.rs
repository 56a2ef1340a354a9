//! Browsers reach every service through grpc-web (tonic-web in front of the gRPC services):
//! any body under any grpc-web content type is answered (a gRPC status or an HTTP error),
//! never a panic or a hang. The service behind is the real health service, so well-framed
//! requests are decoded and answered.

#![no_main]

use std::sync::OnceLock;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use tower::{Layer as _, ServiceExt as _};

const CONTENT_TYPES: [&str; 6] = [
    "application/grpc-web",
    "application/grpc-web+proto",
    "application/grpc-web-text",
    "application/grpc-web-text+proto",
    "application/grpc",
    "text/plain",
];

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|error| panic!("a runtime: {error}"))
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&which, body)) = data.split_first() else {
        return;
    };
    let content_type = CONTENT_TYPES[usize::from(which) % CONTENT_TYPES.len()];
    let path = if which & 0x80 == 0 {
        "/grpc.health.v1.Health/Check"
    } else {
        "/grpc.health.v1.Health/Nothing"
    };
    let Ok(request) = http::Request::post(path)
        .header("content-type", content_type)
        .body(Full::new(Bytes::copy_from_slice(body)))
    else {
        return;
    };
    runtime().block_on(async {
        let (_, health) = tonic_health::server::health_reporter();
        let service = tonic_web::GrpcWebLayer::new().layer(health);
        let Ok(response) = service.oneshot(request).await;
        let status = response.status();
        assert!(
            status.is_success() || status.is_client_error(),
            "an answer, not a server error: {status}"
        );
        // Reading the whole answer must end: a grpc-web body, then its trailers frame.
        let _ = response.into_body().collect().await;
    });
});
