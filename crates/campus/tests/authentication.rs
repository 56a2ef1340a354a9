//! Every non-public method refuses a caller without a token, and serves one with a token.

use campus_proto::finance::{ListAccountsRequest, finance_service_client::FinanceServiceClient};
use campus_testkit::{Error, spawn_campus};

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
