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
