//! `/metrics` on the admin port counts each call by method and status code, and times it; a
//! client that goes away mid-request is counted as CANCELLED, not UNKNOWN.

use campus_proto::finance::{ListAccountsRequest, finance_service_client::FinanceServiceClient};
use campus_testkit::{Error, spawn_campus};

/// The value of a sample of `name` carrying every label (never a `# HELP` or `# TYPE` line).
fn sample(metrics: &str, name: &str, labels: &[&str]) -> Option<f64> {
    campus_testkit::metric_sample(metrics, name, labels)
}

#[tokio::test]
async fn metrics_count_and_time_each_method_by_code() -> Result<(), Error> {
    let campus = spawn_campus().await?;
    let token = campus.platform_admin_token().await?;
    let mut finance = FinanceServiceClient::new(campus.channel_as(&token).await?);
    for _ in 0..3 {
        let _ = finance.list_accounts(ListAccountsRequest::default()).await;
    }
    let metrics = campus.metrics().await?;
    let method = [
        r#"grpc_service="campus.finance.v1.FinanceService""#,
        r#"grpc_method="ListAccounts""#,
    ];
    assert_eq!(
        sample(&metrics, "grpc_server_started_total", &method),
        Some(3.0)
    );
    let ok = [method[0], method[1], r#"grpc_code="OK""#];
    assert_eq!(
        sample(&metrics, "grpc_server_handled_total", &ok),
        Some(3.0),
        "{metrics}"
    );
    assert_eq!(
        sample(&metrics, "grpc_server_handling_seconds_count", &method),
        Some(3.0)
    );
    let le_inf = [method[0], method[1], r#"le="+Inf""#];
    assert_eq!(
        sample(&metrics, "grpc_server_handling_seconds_bucket", &le_inf),
        Some(3.0)
    );

    // Health checks are counted with code OK.
    let checks_before = sample(
        &metrics,
        "grpc_server_handled_total",
        &[r#"grpc_method="Check""#, r#"grpc_code="OK""#],
    )
    .unwrap_or(0.0);
    campus.health("").await?;
    let metrics = campus.metrics().await?;
    let checks_after = sample(
        &metrics,
        "grpc_server_handled_total",
        &[r#"grpc_method="Check""#, r#"grpc_code="OK""#],
    );
    assert_eq!(checks_after, Some(checks_before + 1.0));
    campus.shutdown().await
}

#[tokio::test]
async fn unknown_paths_do_not_create_new_labels() -> Result<(), Error> {
    let campus = spawn_campus().await?;
    let token = campus.platform_admin_token().await?;
    let channel = campus.channel_as(&token).await?;
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await?;
    let path =
        http::uri::PathAndQuery::from_static("/campus.finance.v1.FinanceService/NoSuchMethod");
    let codec = tonic_prost::ProstCodec::<ListAccountsRequest, ListAccountsRequest>::default();
    let status = grpc
        .unary(
            tonic::Request::new(ListAccountsRequest::default()),
            path,
            codec,
        )
        .await
        .err()
        .ok_or("an unknown method answered")?;
    assert_eq!(status.code(), tonic::Code::Unimplemented);
    let metrics = campus.metrics().await?;
    assert!(!metrics.contains("NoSuchMethod"));
    assert!(
        sample(
            &metrics,
            "grpc_server_started_total",
            &[r#"grpc_method="unknown""#]
        )
        .is_some()
    );
    campus.shutdown().await
}

#[tokio::test]
async fn a_client_that_disconnects_mid_request_is_counted_as_cancelled() -> Result<(), Error> {
    use tokio::io::AsyncWriteExt as _;

    let campus = spawn_campus().await?;
    let token = campus.platform_admin_token().await?;
    // A browser's grpc-web call over HTTP/1.1 that announces 100 bytes, sends the first five
    // of its frame, and then the client goes away (the connection closes; no reset is sent).
    let mut connection = tokio::net::TcpStream::connect(campus.addr).await?;
    let head = format!(
        "POST /campus.finance.v1.FinanceService/ListAccounts HTTP/1.1\r\nhost: campus\r\n\
         content-type: application/grpc-web+proto\r\nx-grpc-web: 1\r\n\
         authorization: Bearer {token}\r\ncontent-length: 100\r\n\r\n"
    );
    connection.write_all(head.as_bytes()).await?;
    connection.write_all(&[0, 0, 0, 0, 95]).await?;
    connection.flush().await?;
    let method = [
        r#"grpc_service="campus.finance.v1.FinanceService""#,
        r#"grpc_method="ListAccounts""#,
    ];
    let mut started = false;
    for _ in 0..1500 {
        if sample(
            &campus.metrics().await?,
            "grpc_server_started_total",
            &method,
        ) == Some(1.0)
        {
            started = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(started, "the call never started");
    drop(connection);

    let cancelled = [method[0], method[1], r#"grpc_code="CANCELLED""#];
    let mut metrics = String::new();
    for _ in 0..1500 {
        metrics = campus.metrics().await?;
        if sample(&metrics, "grpc_server_handled_total", &cancelled).is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(
        sample(&metrics, "grpc_server_handled_total", &cancelled),
        Some(1.0),
        "{metrics}"
    );
    let unknown = [method[0], method[1], r#"grpc_code="UNKNOWN""#];
    assert_eq!(
        sample(&metrics, "grpc_server_handled_total", &unknown),
        None,
        "{metrics}"
    );
    campus.shutdown().await
}
