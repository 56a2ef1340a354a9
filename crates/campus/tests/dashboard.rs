//! The web dashboard is served on the gRPC port from `CAMPUS_WEB_DIR`: files with their cache
//! policy and pre-compressed variants, `index.html` for the app's own routes, and never in
//! the way of a gRPC or grpc-web call; `campus serve web` serves it alone, behind an edge.

use std::path::Path;

use campus_proto::users::{GetJwksRequest, users_service_client::UsersServiceClient};
use campus_testkit::{CampusOptions, Error, TestCampus};
use reqwest::{StatusCode, header};
use tonic_health::pb::health_check_response::ServingStatus;

const INDEX: &str = "<!doctype html><title>Campus</title><div id=app></div>";
const SCRIPT: &str = "console.log('campus')";
const CHECK: &str = "/grpc.health.v1.Health/Check";

/// A built dashboard in miniature: `index.html`, one hashed script and its gzip variant.
fn dashboard(dir: &Path) -> Result<(), Error> {
    std::fs::create_dir_all(dir.join("assets"))?;
    std::fs::write(dir.join("index.html"), INDEX)?;
    std::fs::write(dir.join("assets/index-3f2a.js"), SCRIPT)?;
    // The content does not matter to the server: it sends the variant the browser accepts.
    std::fs::write(dir.join("assets/index-3f2a.js.gz"), b"gzip bytes")?;
    Ok(())
}

async fn campus_with_dashboard(dir: &Path) -> Result<TestCampus, Error> {
    let campus = TestCampus::start(CampusOptions {
        args: vec!["--web-dir".into(), dir.display().to_string()],
        ..CampusOptions::default()
    })
    .await?;
    campus.wait_for_status("", ServingStatus::Serving).await?;
    Ok(campus)
}

async fn get(campus: &TestCampus, path: &str) -> Result<reqwest::Response, Error> {
    Ok(reqwest::Client::new()
        .get(format!("{}{path}", campus.url()))
        .header(header::ACCEPT, "text/html")
        .send()
        .await?)
}

fn header_of(response: &reqwest::Response, name: header::HeaderName) -> &str {
    response
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
}

#[tokio::test]
async fn files_routes_and_cache_policy() -> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    dashboard(dir.path())?;
    let campus = campus_with_dashboard(dir.path()).await?;

    let index = get(&campus, "/").await?;
    assert_eq!(index.status(), StatusCode::OK);
    assert!(header_of(&index, header::CONTENT_TYPE).starts_with("text/html"));
    assert_eq!(header_of(&index, header::CACHE_CONTROL), "no-cache");
    assert_eq!(index.text().await?, INDEX);

    let script = get(&campus, "/assets/index-3f2a.js").await?;
    assert_eq!(script.status(), StatusCode::OK);
    assert_eq!(
        header_of(&script, header::CACHE_CONTROL),
        "public, max-age=31536000, immutable"
    );
    assert_eq!(script.text().await?, SCRIPT);

    let compressed = reqwest::Client::new()
        .get(format!("{}/assets/index-3f2a.js", campus.url()))
        .header(header::ACCEPT_ENCODING, "gzip")
        .send()
        .await?;
    assert_eq!(header_of(&compressed, header::CONTENT_ENCODING), "gzip");
    assert_eq!(header_of(&compressed, header::VARY), "accept-encoding");
    assert_eq!(compressed.bytes().await?.as_ref(), b"gzip bytes");

    // A route of the app gets the app; a missing file is missing.
    let route = get(&campus, "/courses/0196/lessons").await?;
    assert_eq!(route.status(), StatusCode::OK);
    assert_eq!(header_of(&route, header::CACHE_CONTROL), "no-cache");
    assert_eq!(route.text().await?, INDEX);
    let missing = get(&campus, "/assets/gone-1234.js").await?;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(header_of(&missing, header::CACHE_CONTROL), "no-cache");
    campus.shutdown().await
}

#[tokio::test]
async fn the_dashboard_never_shadows_the_api() -> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    dashboard(dir.path())?;
    let campus = campus_with_dashboard(dir.path()).await?;

    // A GET under a gRPC service, even of a method that does not exist, is not a page.
    for path in [CHECK, "/campus.users.v1.UsersService/NoSuchMethod"] {
        let response = get(&campus, path).await?;
        assert_ne!(response.text().await?, INDEX, "{path}");
    }

    // grpc-web from the dashboard's own origin needs no CORS entry.
    let origin = campus.url();
    let call = reqwest::Client::new()
        .post(format!("{}{CHECK}", campus.url()))
        .header("origin", origin)
        .header("content-type", "application/grpc-web+proto")
        .header("x-grpc-web", "1")
        .body(vec![0u8, 0, 0, 0, 0])
        .send()
        .await?;
    assert_eq!(call.status(), StatusCode::OK);
    let body = call.bytes().await?;
    assert_eq!(&body[..7], &[0, 0, 0, 0, 2, 0x08, 0x01], "SERVING");

    // And a native gRPC client is served as before.
    assert_eq!(campus.health("").await?, ServingStatus::Serving);
    campus.shutdown().await
}

#[tokio::test]
async fn a_web_dir_without_index_html_is_a_configuration_error() -> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    let started = TestCampus::start(CampusOptions {
        args: vec!["--web-dir".into(), dir.path().display().to_string()],
        ..CampusOptions::default()
    })
    .await;
    let error = started.err().ok_or("campus started without a dashboard")?;
    assert!(error.to_string().contains("CAMPUS_WEB_DIR"), "{error}");
    Ok(())
}

#[tokio::test]
async fn the_web_role_serves_the_dashboard_and_health_only() -> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    dashboard(dir.path())?;
    let campus = TestCampus::start(CampusOptions {
        role: "web",
        args: vec!["--web-dir".into(), dir.path().display().to_string()],
        ..CampusOptions::default()
    })
    .await?;
    // Ready at once: it waits for no database.
    campus.wait_for_status("", ServingStatus::Serving).await?;
    let index = get(&campus, "/people").await?;
    assert_eq!(index.status(), StatusCode::OK);
    assert_eq!(index.text().await?, INDEX);

    // The services' paths belong to the services' Deployments, not to this one.
    let mut users = UsersServiceClient::new(campus.channel().await?);
    let call = users.get_jwks(GetJwksRequest::default()).await;
    assert_eq!(campus_testkit::code(call), tonic::Code::Unimplemented);
    assert!(!campus.log()?.contains("migrat"), "{}", campus.log()?);
    campus.shutdown().await
}

#[tokio::test]
async fn the_web_role_without_a_dashboard_is_a_configuration_error() -> Result<(), Error> {
    let started = TestCampus::start(CampusOptions {
        role: "web",
        ..CampusOptions::default()
    })
    .await;
    let error = started
        .err()
        .ok_or("campus serve web started without a dashboard")?;
    assert!(error.to_string().contains("CAMPUS_WEB_DIR"), "{error}");
    Ok(())
}
