//! Request headers over `CAMPUS_MAX_HEADER_LIST_SIZE` (16 KiB) are refused for that call
//! alone, with RESOURCE_EXHAUSTED and reason HEADERS_TOO_LARGE, on a connection that goes on
//! serving; past eight times the limit HTTP/2 itself refuses the stream (431), and past 32
//! times it closes the connection (GOAWAY), as the README says. Raw HTTP/2 on one connection,
//! so a reconnecting client cannot hide a lost connection.

use bytes::Bytes;
use campus_testkit::{Error, spawn_campus};
use h2::client::SendRequest;
use http::{Request, StatusCode};
use tokio::net::TcpStream;
use tonic::Code;
use tonic_types::StatusExt as _;

/// What the server answered a health check.
#[derive(Debug)]
enum Answer {
    /// A gRPC answer: its status (OK included).
    Grpc(tonic::Status),
    /// A bare HTTP answer without a gRPC status.
    Http(StatusCode),
}

/// A health check on `client`'s connection with `padding` bytes of extra metadata.
async fn check(client: &mut SendRequest<Bytes>, padding: usize) -> Result<Answer, Error> {
    let request = Request::post("/grpc.health.v1.Health/Check")
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .header("x-padding", "p".repeat(padding))
        .body(())?;
    client.clone().ready().await?;
    let (response, mut body) = client.send_request(request, false)?;
    // An empty HealthCheckRequest: uncompressed, zero length.
    body.send_data(Bytes::from_static(&[0, 0, 0, 0, 0]), true)?;
    let response = response.await?;
    let status = response.status();
    if let Some(grpc) = tonic::Status::from_header_map(response.headers()) {
        return Ok(Answer::Grpc(grpc));
    }
    let mut body = response.into_body();
    while let Some(chunk) = body.data().await {
        let chunk = chunk?;
        body.flow_control().release_capacity(chunk.len())?;
    }
    match body.trailers().await? {
        Some(trailers) => Ok(Answer::Grpc(
            tonic::Status::from_header_map(&trailers).ok_or("trailers without grpc-status")?,
        )),
        None => Ok(Answer::Http(status)),
    }
}

fn served(answer: &Answer) -> bool {
    matches!(answer, Answer::Grpc(status) if status.code() == Code::Ok)
}

#[tokio::test]
async fn oversized_headers_are_refused_per_call_and_the_connection_keeps_serving()
-> Result<(), Error> {
    let campus = spawn_campus().await?;
    let address = campus.url().trim_start_matches("http://").to_owned();
    let (mut client, connection) =
        h2::client::handshake(TcpStream::connect(&address).await?).await?;
    let connection = tokio::spawn(connection);

    let answer = check(&mut client, 0).await?;
    assert!(served(&answer), "{answer:?}");
    let answer = check(&mut client, 15 * 1024).await?;
    assert!(
        served(&answer),
        "headers under 16 KiB are served: {answer:?}"
    );

    for padding in [17 * 1024, 64 * 1024, 120 * 1024] {
        let Answer::Grpc(status) = check(&mut client, padding).await? else {
            return Err(format!("{padding} bytes: not a gRPC answer").into());
        };
        assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
        let details = status.get_error_details();
        let info = details.error_info().ok_or("no ErrorInfo")?;
        assert_eq!(info.reason, "HEADERS_TOO_LARGE");
        assert_eq!(
            info.metadata.get("limit").map(String::as_str),
            Some("16384")
        );
        assert!(details.retry_info().is_none(), "retrying would not help");
        let answer = check(&mut client, 0).await?;
        assert!(served(&answer), "after {padding} bytes: {answer:?}");
    }

    let answer = check(&mut client, 200 * 1024).await?;
    assert!(
        matches!(
            answer,
            Answer::Http(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
        ),
        "HTTP/2 refuses the stream past eight times the limit: {answer:?}"
    );
    let answer = check(&mut client, 0).await?;
    assert!(served(&answer), "after HTTP/2's own refusal: {answer:?}");
    assert!(!connection.is_finished());

    // Past 32 times the limit HTTP/2 stops decoding and closes the connection.
    assert!(check(&mut client, 600 * 1024).await.is_err());
    assert!(check(&mut client, 0).await.is_err());
    campus.shutdown().await
}
