//! Every non-public method refuses a caller without a token, and serves one with a token.

use campus_proto::finance::{ListAccountsRequest, finance_service_client::FinanceServiceClient};
use campus_testkit::{CampusOptions, Error, TestCampus, spawn_campus};
use tonic_health::pb::health_check_response::ServingStatus;

#[tokio::test]
async fn a_call_with_a_token_is_served() -> Result<(), Error> {
    let campus = spawn_campus().await?;
    let token = campus.platform_admin_token().await?;
    let mut finance = FinanceServiceClient::new(campus.channel_as(&token).await?);
    let accounts = finance
        .list_accounts(ListAccountsRequest::default())
        .await?
        .into_inner();
    assert!(accounts.accounts.is_empty());
    campus.shutdown().await
}

#[tokio::test]
async fn a_call_without_a_token_is_unauthenticated() -> Result<(), Error> {
    let campus = spawn_campus().await?;
    let mut finance = FinanceServiceClient::new(campus.channel().await?);
    let status = finance
        .list_accounts(ListAccountsRequest::default())
        .await
        .err()
        .ok_or("ListAccounts answered without a token")?;
    assert_eq!(status.code(), tonic::Code::Unauthenticated);
    campus.shutdown().await
}

/// A finance server whose users peer is at `users_addr`, on the same database as `campus`.
async fn finance_with_users_at(campus: &TestCampus, users_addr: &str) -> Result<TestCampus, Error> {
    let finance = TestCampus::start(CampusOptions {
        role: "finance",
        database_url: Some(campus.database_url().to_owned()),
        args: vec!["--users-addr".into(), users_addr.into()],
        ..CampusOptions::default()
    })
    .await?;
    finance
        .wait_for_status("campus.finance.v1.FinanceService", ServingStatus::Serving)
        .await?;
    Ok(finance)
}

#[tokio::test]
async fn a_token_is_unavailable_not_unauthenticated_while_users_cannot_be_reached()
-> Result<(), Error> {
    let campus = spawn_campus().await?;
    let token = campus.platform_admin_token().await?;
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let cut_off = finance_with_users_at(&campus, &format!("http://{closed_port}")).await?;
    let status = FinanceServiceClient::new(cut_off.channel_as(&token).await?)
        .list_accounts(ListAccountsRequest::default())
        .await
        .err()
        .ok_or("ListAccounts answered without the keys to verify the token")?;
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
    assert!(
        status.message().contains("cannot be verified now"),
        "{status:?}"
    );

    let connected = finance_with_users_at(&campus, &campus.url()).await?;
    FinanceServiceClient::new(connected.channel_as(&token).await?)
        .list_accounts(ListAccountsRequest::default())
        .await?;
    // Another first signature character changes six bits of the signature.
    let (signed, signature) = token
        .rsplit_once('.')
        .ok_or("a token without a signature")?;
    let other = if signature.starts_with('A') { 'B' } else { 'A' };
    let forged = format!("{signed}.{other}{}", &signature[1..]);
    let status = FinanceServiceClient::new(connected.channel_as(&forged).await?)
        .list_accounts(ListAccountsRequest::default())
        .await
        .err()
        .ok_or("ListAccounts answered a token with a broken signature")?;
    assert_eq!(status.code(), tonic::Code::Unauthenticated, "{status:?}");
    connected.shutdown().await?;
    cut_off.shutdown().await?;
    campus.shutdown().await
}

#[tokio::test]
async fn an_access_ttl_longer_than_the_maximum_is_a_configuration_error() -> Result<(), Error> {
    let started = TestCampus::start(CampusOptions {
        args: vec![
            "--jwt-access-ttl".into(),
            "2h".into(),
            "--jwt-max-ttl".into(),
            "1h".into(),
        ],
        ..CampusOptions::default()
    })
    .await;
    let error = started
        .err()
        .ok_or("campus started issuing tokens it refuses")?;
    let error = error.to_string();
    assert!(
        error.contains("CAMPUS_JWT_ACCESS_TTL") && error.contains("CAMPUS_JWT_MAX_TTL"),
        "{error}"
    );
    Ok(())
}
