//! Analytics figures match a hand-computed fixture, and a new transaction invalidates the
//! cached report.

mod common;

use campus_proto::finance::{
    AnalyticsQuery, AnalyticsSection, BalanceInterval, CreateTransactionRequest,
    CreateTransferRequest, DateRange, GetAnalyticsRequest, Money, SetBudgetRequest,
    TransactionKind,
};
use campus_runtime::api::{Timestamp, day_start_micros, parse_date, timestamp};
use campus_testkit::spawn_campus;
use common::{Error, account, category, eur, finance_as, user};

fn at(date: &str) -> Option<Timestamp> {
    // Noon UTC of the day.
    parse_date(date).map(|days| timestamp(day_start_micros(days) + 12 * 3_600_000_000))
}

fn amount(money: &Option<Money>) -> i64 {
    money.as_ref().map_or(0, |m| m.amount_minor)
}

#[tokio::test]
async fn report_matches_the_fixture_and_is_refreshed_by_writes() -> Result<(), Error> {
    let campus = spawn_campus().await?;
    let token = user(&campus, "ada").await?;
    let mut client = finance_as(&campus, &token).await?;
    let checking = account(&mut client, "Checking", 10_000).await?;
    let savings = account(&mut client, "Savings", 0).await?;
    let salary = category(&mut client, "Salary", TransactionKind::Income).await?;
    let food = category(&mut client, "Food", TransactionKind::Expense).await?;
    let transport = category(&mut client, "Transport", TransactionKind::Expense).await?;
    client
        .set_budget(SetBudgetRequest {
            category_id: food.clone(),
            monthly_limit: eur(5_000),
        })
        .await?;

    // January: salary 100000, food 3000 + 4000, transport 1000. February: food 6000.
    // Transfer 20000 to savings on Jan 20.
    let fixture = [
        ("2026-01-05", &salary, TransactionKind::Income, 100_000),
        ("2026-01-10", &food, TransactionKind::Expense, 3_000),
        ("2026-01-15", &food, TransactionKind::Expense, 4_000),
        ("2026-01-16", &transport, TransactionKind::Expense, 1_000),
        ("2026-02-03", &food, TransactionKind::Expense, 6_000),
    ];
    for (n, (date, category, kind, value)) in fixture.iter().enumerate() {
        client
            .create_transaction(CreateTransactionRequest {
                idempotency_key: format!("f{n}"),
                account_id: checking.id.clone(),
                category_id: (*category).clone(),
                kind: *kind as i32,
                amount: eur(*value),
                occurred_at: at(date),
                ..CreateTransactionRequest::default()
            })
            .await?;
    }
    client
        .create_transfer(CreateTransferRequest {
            idempotency_key: "save".into(),
            from_account_id: checking.id.clone(),
            to_account_id: savings.id.clone(),
            amount: eur(20_000),
            occurred_at: at("2026-01-20"),
            ..CreateTransferRequest::default()
        })
        .await?;

    let query = AnalyticsQuery {
        date_range: Some(DateRange {
            start_date: "2026-01-01".into(),
            end_date: "2026-02-28".into(),
        }),
        sections: vec![],
        currency: "EUR".into(),
        account_ids: vec![],
        top_categories_limit: 2,
        balance_interval: BalanceInterval::Month as i32,
    };
    let report = client
        .get_analytics(GetAnalyticsRequest {
            query: Some(query.clone()),
        })
        .await?
        .into_inner()
        .report
        .ok_or("no report")?;

    let flows: Vec<(String, i64, i64, i64)> = report
        .cash_flow
        .iter()
        .map(|f| {
            (
                f.month.clone(),
                amount(&f.income),
                amount(&f.expense),
                amount(&f.net),
            )
        })
        .collect();
    assert_eq!(
        flows,
        [
            ("2026-01".into(), 100_000, 8_000, 92_000),
            ("2026-02".into(), 0, 6_000, -6_000)
        ]
    );

    let totals: Vec<(String, String, i64)> = report
        .category_month_totals
        .iter()
        .map(|t| (t.month.clone(), t.category_name.clone(), amount(&t.total)))
        .collect();
    assert_eq!(
        totals,
        [
            ("2026-01".into(), "Food".into(), 7_000),
            ("2026-01".into(), "Salary".into(), 100_000),
            ("2026-01".into(), "Transport".into(), 1_000),
            ("2026-02".into(), "Food".into(), 6_000),
        ]
    );

    // Balance at the end of each month over both accounts: 10000 + 92000 = 102000 (the
    // transfer moves money between them), then 96000.
    let history: Vec<(String, i64)> = report
        .balance_history
        .iter()
        .map(|p| (p.period_start.clone(), amount(&p.balance)))
        .collect();
    assert_eq!(
        history,
        [
            ("2026-01-01".into(), 102_000),
            ("2026-02-01".into(), 96_000)
        ]
    );

    // Top 2 expense categories: Food 13000 (3 transactions), Transport 1000.
    let top: Vec<(String, i64, i64)> = report
        .top_categories
        .iter()
        .filter(|c| c.kind == TransactionKind::Expense as i32)
        .map(|c| {
            (
                c.category_name.clone(),
                amount(&c.total),
                c.transaction_count,
            )
        })
        .collect();
    assert_eq!(
        top,
        [("Food".into(), 13_000, 3), ("Transport".into(), 1_000, 1)]
    );

    let budgets: Vec<(String, i64, i64, bool)> = report
        .budgets
        .iter()
        .map(|b| {
            (
                b.month.clone(),
                amount(&b.spent),
                amount(&b.remaining),
                b.over_limit,
            )
        })
        .collect();
    assert_eq!(
        budgets,
        [
            ("2026-01".into(), 7_000, -2_000, true),
            ("2026-02".into(), 6_000, -1_000, true)
        ]
    );

    // Only the savings account: 0, then 20000 from the Jan 20 transfer.
    let savings_only = client
        .get_analytics(GetAnalyticsRequest {
            query: Some(AnalyticsQuery {
                account_ids: vec![savings.id.clone()],
                sections: vec![AnalyticsSection::BalanceHistory as i32],
                ..query.clone()
            }),
        })
        .await?
        .into_inner()
        .report
        .ok_or("no report")?;
    let history: Vec<i64> = savings_only
        .balance_history
        .iter()
        .map(|p| amount(&p.balance))
        .collect();
    assert_eq!(history, [20_000, 20_000]);

    // A new transaction in February refreshes the (cached) report.
    client
        .create_transaction(CreateTransactionRequest {
            idempotency_key: "late".into(),
            account_id: checking.id.clone(),
            category_id: transport.clone(),
            kind: TransactionKind::Expense as i32,
            amount: eur(500),
            occurred_at: at("2026-02-10"),
            ..CreateTransactionRequest::default()
        })
        .await?;
    let refreshed = client
        .get_analytics(GetAnalyticsRequest { query: Some(query) })
        .await?
        .into_inner()
        .report
        .ok_or("no report")?;
    assert_eq!(amount(&refreshed.cash_flow[1].expense), 6_500);
    campus.shutdown().await
}
