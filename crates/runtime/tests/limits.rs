//! The server's protections: load shedding past the concurrency limit, the request timeout,
//! the message size limit, and the caller's deadline carried to the calls a handler makes.

mod common;

use std::time::Duration;

use campus_proto::users::users_service_server::UsersServiceServer;
use campus_runtime::{client::peer_channel, server::Server};
use common::{
    Error, ForwardingSchools, GatedSchools, SlowSchools, TimeoutEcho, get_school, listeners,
    server_config, server_with, users_client,
};
use tokio::net::TcpListener;
use tonic::Code;
use tonic_types::StatusExt as _;

#[tokio::test]
async fn calls_past_the_concurrency_limit_are_shed_at_once() -> Result<(), Error> {
    let config = server_config(&["--concurrency-limit", "1"])?;
    let gate = GatedSchools::default();
    let server = server_with(config, gate.clone()).await?;
    let (grpc, admin, addr) = listeners().await?;
    tokio::spawn(server.serve(grpc, admin, std::future::pending()));

    let mut first = users_client(addr).await?;
    let held = tokio::spawn(async move { first.get_school(get_school("held")).await });
    gate.entered().await;

    // The held call cannot finish until it is released, so a second call that queued behind
    // it instead of being shed would never answer.
    let mut second = users_client(addr).await?;
    let shed = tokio::time::timeout(
        Duration::from_secs(20),
        second.get_school(get_school("shed")),
    )
    .await
    .map_err(|_| "a call past the limit was queued instead of shed")?;
    let shed = shed.err().ok_or("a call past the limit was answered")?;
    assert_eq!(shed.code(), Code::ResourceExhausted);
    let details = shed.get_error_details();
    assert_eq!(
        details.error_info().map(|info| info.reason.as_str()),
        Some("OVERLOADED"),
        "the shed call says why"
    );
    assert!(details.retry_info().is_some(), "and when to try again");
    gate.release();
    assert!(held.await?.is_ok(), "the call within the limit completes");
    Ok(())
}

#[tokio::test]
async fn a_call_longer_than_the_request_timeout_is_cut_with_deadline_exceeded() -> Result<(), Error>
{
    let config = server_config(&["--request-timeout", "200ms"])?;
    let server = server_with(config, SlowSchools(Duration::from_secs(60))).await?;
    let (grpc, admin, addr) = listeners().await?;
    let admin_addr = admin.local_addr()?;
    tokio::spawn(server.serve(grpc, admin, std::future::pending()));

    let answer = users_client(addr)
        .await?
        .get_school(get_school("slow"))
        .await;
    assert_eq!(
        answer.err().map(|status| status.code()),
        Some(Code::DeadlineExceeded)
    );
    let metrics = campus_runtime::admin::scrape(&admin_addr.to_string()).await?;
    assert!(
        metrics
            .lines()
            .any(|line| line.starts_with("grpc_server_handled_total")
                && line.contains(r#"grpc_method="GetSchool""#)
                && line.contains(r#"grpc_code="DEADLINE_EXCEEDED""#)
                && line.ends_with(" 1")),
        "{metrics}"
    );
    Ok(())
}

#[tokio::test]
async fn messages_over_the_size_limit_are_refused() -> Result<(), Error> {
    let config = server_config(&["--max-message-size", "1024"])?;
    let limit = config.max_message_size;
    let mut server = Server::new(
        config,
        prometheus::Registry::new(),
        campus_proto::FILE_DESCRIPTOR_SET,
    )
    .await?;
    server
        .add_service(
            UsersServiceServer::new(SlowSchools(Duration::ZERO))
                .max_decoding_message_size(limit)
                .max_encoding_message_size(limit),
        )
        .await;
    let (grpc, admin, addr) = listeners().await?;
    tokio::spawn(server.serve(grpc, admin, std::future::pending()));

    let big = "x".repeat(4096);
    let answer = users_client(addr).await?.get_school(get_school(&big)).await;
    assert_eq!(
        answer.err().map(|status| status.code()),
        Some(Code::OutOfRange)
    );
    let small = users_client(addr)
        .await?
        .get_school(get_school("small"))
        .await;
    assert!(small.is_ok());
    Ok(())
}

#[tokio::test]
async fn peer_calls_carry_the_remaining_deadline() -> Result<(), Error> {
    let (b_grpc, b_admin, b_addr) = listeners().await?;
    let b = server_with(server_config(&[])?, TimeoutEcho).await?;
    tokio::spawn(b.serve(b_grpc, b_admin, std::future::pending()));
    let (a_grpc, a_admin, a_addr) = listeners().await?;
    let to_b = peer_channel(format!("http://{b_addr}").parse()?, None);
    let a = server_with(server_config(&[])?, ForwardingSchools::to(to_b)).await?;
    tokio::spawn(a.serve(a_grpc, a_admin, std::future::pending()));

    let mut request = tonic::Request::new(get_school("deadline"));
    request.set_timeout(Duration::from_millis(700));
    let echoed = users_client(a_addr)
        .await?
        .get_school(request)
        .await?
        .into_inner()
        .school
        .map(|school| school.name)
        .unwrap_or_default();
    // tonic encodes the remaining time in microseconds ("699873u") or coarser units.
    let (digits, unit) = echoed.split_at(echoed.len().saturating_sub(1));
    let micros: u64 = match unit {
        "u" => digits.parse()?,
        "m" => digits.parse::<u64>()? * 1000,
        "n" => digits.parse::<u64>()? / 1000,
        _ => return Err(format!("no propagated grpc-timeout: {echoed:?}").into()),
    };
    assert!(micros > 0 && micros <= 700_000, "propagated {echoed}");
    Ok(())
}

#[tokio::test]
async fn peers_named_by_dns_are_reached_through_the_balanced_channel() -> Result<(), Error> {
    let (b_grpc, b_admin, b_addr) = listeners().await?;
    let b = server_with(server_config(&[])?, TimeoutEcho).await?;
    tokio::spawn(b.serve(b_grpc, b_admin, std::future::pending()));
    let (a_grpc, a_admin, a_addr) = listeners().await?;
    // A name, not an address: resolved (and re-resolved) into a balanced set of connections.
    let to_b = peer_channel(format!("http://localhost:{}", b_addr.port()).parse()?, None);
    let a = server_with(server_config(&[])?, ForwardingSchools::to(to_b)).await?;
    tokio::spawn(a.serve(a_grpc, a_admin, std::future::pending()));
    for _ in 0..20 {
        let mut request = tonic::Request::new(get_school("by-name"));
        request.set_timeout(Duration::from_secs(5));
        users_client(a_addr).await?.get_school(request).await?;
    }
    Ok(())
}

#[tokio::test]
async fn a_peer_named_by_dns_is_called_again_after_it_restarts_on_the_same_address()
-> Result<(), Error> {
    let (grpc, admin, addr) = listeners().await?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let first = server_with(server_config(&["--shutdown-delay", "0s"])?, TimeoutEcho).await?;
    let serving = tokio::spawn(first.serve(grpc, admin, async {
        let _ = stopped.await;
    }));
    let to_b = peer_channel(format!("http://localhost:{}", addr.port()).parse()?, None);
    let call = |name: &'static str| {
        let mut client =
            campus_proto::users::users_service_client::UsersServiceClient::new(to_b.clone());
        async move {
            let mut request = tonic::Request::new(get_school(name));
            request.set_timeout(Duration::from_secs(2));
            client.get_school(request).await
        }
    };
    call("before").await?;

    // A restart on the same address, as a container restart keeps its pod IP.
    let _ = stop.send(());
    serving.await??;
    assert!(call("while down").await.is_err(), "answered while stopped");
    let grpc = TcpListener::bind(addr).await?;
    let admin = TcpListener::bind("127.0.0.1:0").await?;
    let second = server_with(server_config(&[])?, TimeoutEcho).await?;
    tokio::spawn(second.serve(grpc, admin, std::future::pending()));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        match call("after").await {
            Ok(_) => return Ok(()),
            Err(status) if tokio::time::Instant::now() < deadline => {
                tracing::debug!(?status, "not yet");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(status) => {
                return Err(format!("never called again after the restart: {status:?}").into());
            }
        }
    }
}
