//! Bulk import over a client stream: 10,000 rows with 3 malformed ones give 9,997 accepted
//! and 3 rejected with their line numbers; importing the same rows again adds nothing.

mod common;

use campus_proto::finance::{
    GetBalanceRequest, ImportTransactionRow, ImportTransactionsRequest, ImportTransactionsResponse,
    TransactionKind,
};
use campus_testkit::spawn_campus;
use common::{Error, account, category, eur, finance_as, user};

fn rows(account: &str, food: &str) -> Vec<ImportTransactionRow> {
    (1..=10_000)
        .map(|line| {
            let mut row = ImportTransactionRow {
                line_number: line,
                idempotency_key: format!("line-{line}"),
                account_id: account.to_owned(),
                category_id: food.to_owned(),
                kind: TransactionKind::Expense as i32,
                amount: eur(1),
                description: format!("row {line}"),
                occurred_at: None,
            };
            match line {
                17 => row.amount = eur(0),
                4_242 => row.account_id = "not-an-account".into(),
                9_999 => row.kind = 7,
                _ => {}
            }
            row
        })
        .collect()
}

async fn import(
    campus: &campus_testkit::TestCampus,
    token: &str,
    rows: Vec<ImportTransactionRow>,
) -> Result<ImportTransactionsResponse, Error> {
    let chunks: Vec<ImportTransactionsRequest> = rows
        .chunks(1000)
        .map(|chunk| ImportTransactionsRequest {
            rows: chunk.to_vec(),
        })
        .collect();
    Ok(finance_as(campus, token)
        .await?
        .import_transactions(tokio_stream::iter(chunks))
        .await?
        .into_inner())
}

#[tokio::test]
async fn ten_thousand_rows_with_three_malformed_import_once() -> Result<(), Error> {
    let campus = spawn_campus().await?;
    let token = user(&campus, "ada").await?;
    let mut client = finance_as(&campus, &token).await?;
    let checking = account(&mut client, "Checking", 0).await?;
    let food = category(&mut client, "Food", TransactionKind::Expense).await?;

    let first = import(&campus, &token, rows(&checking.id, &food)).await?;
    assert_eq!(first.accepted_count, 9_997);
    assert_eq!(
        first
            .rejected_rows
            .iter()
            .map(|r| r.line_number)
            .collect::<Vec<_>>(),
        [17, 4_242, 9_999]
    );
    assert_eq!(
        first
            .rejected_rows
            .iter()
            .map(|r| r.field.as_str())
            .collect::<Vec<_>>(),
        ["amount", "account_id", "kind"]
    );

    let again = import(&campus, &token, rows(&checking.id, &food)).await?;
    assert_eq!(
        (
            again.accepted_count,
            again.duplicate_count,
            again.rejected_rows.len()
        ),
        (0, 9_997, 3)
    );

    let balance = client
        .get_balance(GetBalanceRequest {
            account_id: checking.id.clone(),
        })
        .await?
        .into_inner();
    assert_eq!(
        balance.accounts[0].balance.as_ref().map(|m| m.amount_minor),
        Some(-9_997)
    );
    campus.shutdown().await
}

/// A server whose request timeout is far shorter than the client streams it is sent, and
/// which waits `idle` for a client stream's next message.
async fn short_timeouts(idle: &str) -> Result<campus_testkit::TestCampus, Error> {
    let campus = campus_testkit::TestCampus::start(campus_testkit::CampusOptions {
        args: vec![
            "--request-timeout".into(),
            "200ms".into(),
            "--stream-idle-timeout".into(),
            idle.into(),
        ],
        ..campus_testkit::CampusOptions::default()
    })
    .await?;
    campus
        .wait_for_status(
            "",
            tonic_health::pb::health_check_response::ServingStatus::Serving,
        )
        .await?;
    Ok(campus)
}

#[tokio::test]
async fn a_client_stream_outlives_the_request_timeout_while_its_messages_keep_coming()
-> Result<(), Error> {
    let campus = short_timeouts("10s").await?;
    let token = user(&campus, "grace").await?;
    let mut client = finance_as(&campus, &token).await?;
    let checking = account(&mut client, "Checking", 0).await?;
    let food = category(&mut client, "Food", TransactionKind::Expense).await?;
    let all = rows(&checking.id, &food);
    let (first, second) = (all[..10].to_vec(), all[10..20].to_vec());
    // Each pause is shorter than the idle timeout; together they pass the request timeout.
    let messages = [first, Vec::new(), second].map(|rows| ImportTransactionsRequest { rows });
    let paced = futures::stream::unfold(messages.into_iter(), |mut messages| async move {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        messages.next().map(|message| (message, messages))
    });
    let report = client.import_transactions(paced).await?.into_inner();
    assert_eq!((report.accepted_count, report.rejected_rows.len()), (19, 1));
    campus.shutdown().await
}

#[tokio::test]
async fn a_client_stream_that_stalls_is_ended_with_deadline_exceeded() -> Result<(), Error> {
    let campus = short_timeouts("500ms").await?;
    let token = user(&campus, "stall").await?;
    let mut client = finance_as(&campus, &token).await?;
    let checking = account(&mut client, "Checking", 0).await?;
    let food = category(&mut client, "Food", TransactionKind::Expense).await?;
    let first = ImportTransactionsRequest {
        rows: rows(&checking.id, &food)[..5].to_vec(),
    };
    // One message, then nothing: the stream stays open but silent.
    let stalled =
        futures::StreamExt::chain(tokio_stream::iter([first]), futures::stream::pending());
    let answer = client.import_transactions(stalled).await;
    assert_eq!(
        answer.err().map(|status| status.code()),
        Some(tonic::Code::DeadlineExceeded)
    );
    let metrics = campus.metrics().await?;
    assert_eq!(
        campus_testkit::metric_sample(
            &metrics,
            "grpc_server_handled_total",
            &[
                "grpc_method=\"ImportTransactions\"",
                "grpc_code=\"DEADLINE_EXCEEDED\""
            ]
        ),
        Some(1.0)
    );
    campus.shutdown().await
}
