//! Browsers call over grpc-web (HTTP/1.1) on the same port: CORS preflights from allowed
//! origins pass (custom metadata headers too, once allowed), calls succeed, and other origins
//! are refused.

use campus_testkit::{CampusOptions, Error, TestCampus};
use tonic_health::pb::health_check_response::ServingStatus;

const ALLOWED: &str = "https://app.campus.test";
const DISALLOWED: &str = "https://evil.example";
const CHECK: &str = "/grpc.health.v1.Health/Check";

async fn campus_with_cors() -> Result<TestCampus, Error> {
    let campus = TestCampus::start(CampusOptions {
        args: vec![
            "--cors-origins".into(),
            ALLOWED.into(),
            "--cors-allowed-headers".into(),
            "X-Request-Id".into(),
        ],
        ..CampusOptions::default()
    })
    .await?;
    campus.wait_for_status("", ServingStatus::Serving).await?;
    Ok(campus)
}

fn preflight(campus: &TestCampus, origin: &str) -> reqwest::RequestBuilder {
    reqwest::Client::new()
        .request(reqwest::Method::OPTIONS, format!("{}{CHECK}", campus.url()))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type,x-grpc-web")
}

/// An empty `HealthCheckRequest` (the whole server) as one grpc-web frame.
fn check_call(campus: &TestCampus, origin: &str) -> reqwest::RequestBuilder {
    reqwest::Client::new()
        .post(format!("{}{CHECK}", campus.url()))
        .header("origin", origin)
        .header("content-type", "application/grpc-web+proto")
        .header("x-grpc-web", "1")
        .body(vec![0u8, 0, 0, 0, 0])
}

#[tokio::test]
async fn grpc_web_call_from_an_allowed_origin_succeeds() -> Result<(), Error> {
    let campus = campus_with_cors().await?;

    let preflight = preflight(&campus, ALLOWED).send().await?;
    assert!(
        preflight.status().is_success(),
        "preflight: {}",
        preflight.status()
    );
    assert_eq!(
        preflight
            .headers()
            .get("access-control-allow-origin")
            .map(|v| v.as_bytes()),
        Some(ALLOWED.as_bytes())
    );

    let response = check_call(&campus, ALLOWED).send().await?;
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    assert_eq!(
        response.headers().get("content-type").map(|v| v.as_bytes()),
        Some(&b"application/grpc-web+proto"[..])
    );
    assert_eq!(
        response
            .headers()
            .get("access-control-allow-origin")
            .map(|v| v.as_bytes()),
        Some(ALLOWED.as_bytes())
    );
    let body = response.bytes().await?;
    // Data frame: flag 0, length 2, `status: SERVING` (field 1 = 1).
    assert_eq!(&body[..7], &[0, 0, 0, 0, 2, 0x08, 0x01]);
    // Trailer frame: flag 0x80, then `grpc-status:0`.
    assert_eq!(body[7], 0x80);
    let trailers = String::from_utf8_lossy(&body[12..]).to_lowercase();
    assert!(trailers.contains("grpc-status:0"), "trailers: {trailers}");
    campus.shutdown().await
}

#[tokio::test]
async fn grpc_web_from_a_disallowed_origin_is_refused() -> Result<(), Error> {
    let campus = campus_with_cors().await?;

    let preflight = preflight(&campus, DISALLOWED).send().await?;
    assert_eq!(preflight.status(), reqwest::StatusCode::FORBIDDEN);
    assert!(
        preflight
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );

    let response = check_call(&campus, DISALLOWED).send().await?;
    assert_eq!(response.status(), reqwest::StatusCode::FORBIDDEN);
    assert!(response.bytes().await?.is_empty());
    campus.shutdown().await
}

#[tokio::test]
async fn a_preflight_for_configured_custom_metadata_is_allowed() -> Result<(), Error> {
    let campus = campus_with_cors().await?;
    let preflight = reqwest::Client::new()
        .request(reqwest::Method::OPTIONS, format!("{}{CHECK}", campus.url()))
        .header("origin", ALLOWED)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type,x-grpc-web,x-request-id",
        )
        .send()
        .await?;
    assert!(preflight.status().is_success(), "{}", preflight.status());
    let allowed = preflight
        .headers()
        .get("access-control-allow-headers")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(
        allowed.split(',').any(|name| name.trim() == "x-request-id"),
        "allowed headers: {allowed}"
    );
    campus.shutdown().await
}
