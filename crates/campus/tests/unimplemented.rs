//! Services whose issues have not landed answer UNIMPLEMENTED, the one stub allowed.

use campus_proto::finance::{ListAccountsRequest, finance_service_client::FinanceServiceClient};
use campus_testkit::{Error, spawn_campus};

#[tokio::test]
async fn a_service_without_its_issue_answers_unimplemented() -> Result<(), Error> {
    let campus = spawn_campus().await?;
    let mut finance = FinanceServiceClient::new(campus.channel().await?);
    let status = finance
        .list_accounts(ListAccountsRequest::default())
        .await
        .err()
        .ok_or("ListAccounts answered")?;
    assert_eq!(status.code(), tonic::Code::Unimplemented);
    campus.shutdown().await
}
