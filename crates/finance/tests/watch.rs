//! WatchAnalytics: the current report first, then a fresh one after each of the caller's
//! transactions, also when written through another server sharing Redis.

mod common;

use std::time::Duration;

use campus_proto::finance::{
    AnalyticsQuery, AnalyticsSection, CreateTransactionRequest, DateRange, TransactionKind,
    WatchAnalyticsRequest, WatchAnalyticsResponse,
};
use campus_testkit::{TestCampus, TestDatabase, TestRedis, spawn_campus, spawn_replica};
use common::{Error, account, category, eur, finance_as, user};
use tonic::Streaming;

async fn next(
    stream: &mut Streaming<WatchAnalyticsResponse>,
) -> Result<WatchAnalyticsResponse, Error> {
    Ok(
        tokio::time::timeout(Duration::from_secs(10), stream.message())
            .await??
            .ok_or("the watch ended")?,
    )
}

fn expense_total(message: &WatchAnalyticsResponse) -> i64 {
    message
        .report
        .as_ref()
        .map(|report| {
            report
                .cash_flow
                .iter()
                .map(|flow| flow.expense.as_ref().map_or(0, |m| m.amount_minor))
                .sum()
        })
        .unwrap_or(0)
}

async fn watcher_sees_totals_written_elsewhere(
    writer: &TestCampus,
    reader: &TestCampus,
) -> Result<(), Error> {
    let token = user(writer, "ada").await?;
    let mut client = finance_as(writer, &token).await?;
    let checking = account(&mut client, "Checking", 0).await?;
    let food = category(&mut client, "Food", TransactionKind::Expense).await?;
    let query = AnalyticsQuery {
        date_range: Some(DateRange {
            start_date: "2000-01-01".into(),
            end_date: "2004-12-31".into(),
        }),
        sections: vec![AnalyticsSection::CashFlow as i32],
        ..AnalyticsQuery::default()
    };
    let mut stream = finance_as(reader, &token)
        .await?
        .watch_analytics(WatchAnalyticsRequest { query: Some(query) })
        .await?
        .into_inner();
    let first = next(&mut stream).await?;
    assert!(first.cause_id.is_empty());
    assert_eq!(expense_total(&first), 0);

    let recorded = client
        .create_transaction(CreateTransactionRequest {
            idempotency_key: "k1".into(),
            account_id: checking.id.clone(),
            category_id: food,
            kind: TransactionKind::Expense as i32,
            amount: eur(4_200),
            occurred_at: Some(campus_runtime::api::timestamp(1_000_000_000_000_000)),
            ..CreateTransactionRequest::default()
        })
        .await?
        .into_inner()
        .transaction
        .ok_or("no transaction")?;
    let update = next(&mut stream).await?;
    assert_eq!(update.cause_id, recorded.id);
    assert_eq!(expense_total(&update), 4_200);
    Ok(())
}

#[tokio::test]
async fn a_watcher_sees_updated_totals_in_process() -> Result<(), Error> {
    let campus = spawn_campus().await?;
    watcher_sees_totals_written_elsewhere(&campus, &campus).await?;
    campus.shutdown().await
}

#[tokio::test]
async fn a_watcher_sees_totals_written_through_another_server() -> Result<(), Error> {
    let redis = TestRedis::start().await?;
    let database = TestDatabase::postgres_always().await?;
    let a = spawn_replica(database.url(), redis.url(), redis.prefix()).await?;
    let b = spawn_replica(database.url(), redis.url(), redis.prefix()).await?;
    watcher_sees_totals_written_elsewhere(&a, &b).await?;
    a.shutdown().await?;
    b.shutdown().await?;
    redis.clean().await
}
