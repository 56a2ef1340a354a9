//! Bulk import over a client stream: 10,000 rows with 3 malformed ones give 9,997 accepted
//! and 3 rejected with their line numbers; importing the same rows again adds nothing; rows
//! at the edges of messages are judged one by one; an import and single writes to the same
//! account, some under the same keys, keep the balance exact and the ledger reconciled; the
//! unary batch import (for browsers) shares the stream import's keys and checks.

mod common;

use campus_proto::finance::{
    BatchImportTransactionsRequest, CreateTransactionRequest, GetBalanceRequest,
    ImportTransactionRow, ImportTransactionsRequest, ImportTransactionsResponse, TransactionKind,
};
use campus_store::on_pool;
use campus_testkit::spawn_campus;
use common::{Error, account, category, database, eur, finance_as, user};

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

/// The balance of `account`, in minor units.
async fn balance(
    client: &mut campus_proto::finance::finance_service_client::FinanceServiceClient<
        campus_testkit::AuthedChannel,
    >,
    account: &str,
) -> Result<Option<i64>, Error> {
    Ok(client
        .get_balance(GetBalanceRequest {
            account_id: account.to_owned(),
        })
        .await?
        .into_inner()
        .accounts
        .first()
        .and_then(|b| b.balance.as_ref().map(|m| m.amount_minor)))
}

/// The ledger reconciles and holds `rows` transactions.
async fn reconciled_with(campus: &campus_testkit::TestCampus, rows: i64) -> Result<(), Error> {
    let database = database(campus).await?;
    let found = campus_finance::reconcile(&database).await?;
    assert!(found.is_clean(), "{found:?}");
    let count: i64 = on_pool!(&database, pool => {
        sqlx::query_scalar("SELECT COUNT(*) FROM transactions").fetch_one(pool).await
    })?;
    assert_eq!(count, rows, "transactions in the ledger");
    database.close().await;
    Ok(())
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

#[tokio::test]
async fn rows_at_the_edges_of_messages_are_judged_one_by_one() -> Result<(), Error> {
    let campus = spawn_campus().await?;
    let token = user(&campus, "edges").await?;
    let mut client = finance_as(&campus, &token).await?;
    let checking = account(&mut client, "Checking", 0).await?;
    let food = category(&mut client, "Food", TransactionKind::Expense).await?;
    // Three messages of 1,000 rows (the test's `import` sends 1,000 a message).
    let mut all = rows(&checking.id, &food)[..3_000].to_vec();
    all[999].amount = eur(-5); // last row of the first message
    all[1_000].account_id = String::new(); // first row of the second
    all[2_999].amount = None; // last row of the third
    // Line 1,500 repeats line 500 exactly (a duplicate across messages); line 2,500 reuses
    // line 10's key for another row (refused).
    all[1_499] = ImportTransactionRow {
        line_number: 1_500,
        ..all[499].clone()
    };
    all[2_499].idempotency_key = all[9].idempotency_key.clone();

    let first = import(&campus, &token, all.clone()).await?;
    let rejected: Vec<(i64, &str)> = first
        .rejected_rows
        .iter()
        .map(|r| (r.line_number, r.field.as_str()))
        .collect();
    assert_eq!(
        rejected,
        [
            (17, "amount"),
            (1_000, "amount"),
            (1_001, "account_id"),
            (2_500, "idempotency_key"),
            (3_000, "amount")
        ]
    );
    assert_eq!((first.accepted_count, first.duplicate_count), (2_994, 1));

    let again = import(&campus, &token, all).await?;
    assert_eq!(
        (
            again.accepted_count,
            again.duplicate_count,
            again.rejected_rows.len()
        ),
        (0, 2_995, 5)
    );
    assert_eq!(balance(&mut client, &checking.id).await?, Some(-2_994));
    reconciled_with(&campus, 2_994).await?;
    campus.shutdown().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_and_single_writes_to_one_account_keep_the_balance_exact() -> Result<(), Error> {
    let campus = spawn_campus().await?;
    let token = user(&campus, "racer").await?;
    let mut client = finance_as(&campus, &token).await?;
    let checking = account(&mut client, "Checking", 1_000_000).await?;
    let food = category(&mut client, "Food", TransactionKind::Expense).await?;
    let imported = rows(&checking.id, &food)[..5_000]
        .iter()
        .filter(|row| row.amount == eur(1) && row.account_id == checking.id && row.kind == 2)
        .cloned()
        .collect::<Vec<_>>();
    assert_eq!(imported.len(), 4_998, "lines 17 and 4,242 are malformed");
    let as_request = |row: &ImportTransactionRow| CreateTransactionRequest {
        idempotency_key: row.idempotency_key.clone(),
        account_id: row.account_id.clone(),
        category_id: row.category_id.clone(),
        kind: row.kind,
        amount: row.amount.clone(),
        description: row.description.clone(),
        occurred_at: row.occurred_at,
    };
    // Writer 0 sends the import's first 200 rows as single writes under the same keys; the
    // others write 200 rows each under keys of their own.
    let mut writers = Vec::new();
    for writer in 0..4 {
        let mut client = finance_as(&campus, &token).await?;
        let requests: Vec<CreateTransactionRequest> = if writer == 0 {
            imported[..200].iter().map(as_request).collect()
        } else {
            (0..200)
                .map(|n| CreateTransactionRequest {
                    idempotency_key: format!("single-{writer}-{n}"),
                    amount: eur(3),
                    description: format!("single {writer}/{n}"),
                    ..as_request(&imported[0])
                })
                .collect()
        };
        writers.push(tokio::spawn(async move {
            for request in requests {
                client.create_transaction(request).await?;
            }
            Ok::<_, tonic::Status>(())
        }));
    }
    let report = import(&campus, &token, imported.clone()).await?;
    for writer in writers {
        writer.await??;
    }
    assert_eq!(
        report.accepted_count + report.duplicate_count,
        4_998,
        "{report:?}"
    );
    assert!(report.rejected_rows.is_empty(), "{report:?}");
    assert_eq!(
        balance(&mut client, &checking.id).await?,
        Some(1_000_000 - 4_998 - 3 * 600)
    );
    reconciled_with(&campus, 4_998 + 600).await?;
    campus.shutdown().await
}

#[tokio::test]
async fn a_batch_import_shares_the_stream_import_keys_and_checks() -> Result<(), Error> {
    let campus = spawn_campus().await?;
    let token = user(&campus, "batch").await?;
    let mut client = finance_as(&campus, &token).await?;
    let checking = account(&mut client, "Checking", 0).await?;
    let food = category(&mut client, "Food", TransactionKind::Expense).await?;
    let all = rows(&checking.id, &food);
    let batch = |rows: &[ImportTransactionRow]| BatchImportTransactionsRequest {
        rows: rows.to_vec(),
    };

    // Lines 1..=1,000 in one call: line 17 is malformed.
    let first = client
        .batch_import_transactions(batch(&all[..1_000]))
        .await?
        .into_inner();
    assert_eq!((first.accepted_count, first.duplicate_count), (999, 0));
    let rejected: Vec<(i64, &str)> = first
        .rejected_rows
        .iter()
        .map(|r| (r.line_number, r.field.as_str()))
        .collect();
    assert_eq!(rejected, [(17, "amount")]);

    // Sent again, and then streamed with the next thousand: nothing is booked twice.
    let again = client
        .batch_import_transactions(batch(&all[..1_000]))
        .await?
        .into_inner();
    assert_eq!((again.accepted_count, again.duplicate_count), (0, 999));
    let streamed = import(&campus, &token, all[..2_000].to_vec()).await?;
    assert_eq!(
        (streamed.accepted_count, streamed.duplicate_count),
        (1_000, 999)
    );

    let too_many = client.batch_import_transactions(batch(&all[..1_001])).await;
    assert_eq!(
        too_many.err().map(|status| status.code()),
        Some(tonic::Code::InvalidArgument)
    );
    assert_eq!(balance(&mut client, &checking.id).await?, Some(-1_999));
    reconciled_with(&campus, 1_999).await?;
    campus.shutdown().await
}
