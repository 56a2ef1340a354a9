//! Analytics: totals by category per month, income against expense per month, balance over
//! time, top categories and budgets against spending, for a date range. Every figure is a
//! SQL aggregate; reports are cached per query and dropped on every write of their owner;
//! WatchAnalytics pushes a fresh report after each of the owner's money movements, from any
//! replica.

use std::{collections::BTreeMap, pin::Pin};

use campus_proto::{
    events::{TransactionRecorded, TransferRecorded},
    finance::{
        AnalyticsQuery, AnalyticsReport, AnalyticsSection, BalanceInterval, BalancePoint,
        BudgetMonthStatus, CategoryMonthTotal, CategoryTotal, DateRange, MonthlyCashFlow,
        WatchAnalyticsResponse,
    },
};
use campus_runtime::{
    api::{format_date, parse_date, timestamp},
    auth::Caller,
};
use campus_store::{Database, events::catalog::decode, on_pool, placeholders};
use futures::{Stream, StreamExt as _, stream};
use prost::Message as _;
use sha2::Digest as _;
use tonic::Status;

use crate::{
    Finance,
    domain::{DateBounds, MAX_RANGE_DAYS, check_currency, check_range},
    error::FinanceError,
    messages::{self, money},
    store::{self, now_micros},
};

/// The stream WatchAnalytics answers with.
pub(crate) type ReportStream =
    Pin<Box<dyn Stream<Item = Result<WatchAnalyticsResponse, Status>> + Send>>;

/// A checked query.
#[derive(Debug, Clone)]
pub(crate) struct Query {
    bounds: DateBounds,
    sections: Vec<AnalyticsSection>,
    currency: String,
    accounts: Vec<String>,
    top: usize,
    monthly: bool,
}

pub(crate) fn check_query(query: Option<&AnalyticsQuery>) -> Result<Query, FinanceError> {
    let query = query.ok_or_else(|| FinanceError::invalid("query", "is required"))?;
    let bounds = check_range(
        "query.date_range",
        query.date_range.as_ref(),
        MAX_RANGE_DAYS,
    )?;
    let mut sections = Vec::new();
    for value in &query.sections {
        match AnalyticsSection::try_from(*value) {
            Ok(AnalyticsSection::Unspecified) | Err(_) => {
                return Err(FinanceError::invalid(
                    "query.sections",
                    format!("{value} is not a section"),
                ));
            }
            Ok(section) => sections.push(section),
        }
    }
    if sections.is_empty() {
        sections = vec![
            AnalyticsSection::CategoryMonthTotals,
            AnalyticsSection::CashFlow,
            AnalyticsSection::BalanceHistory,
            AnalyticsSection::TopCategories,
            AnalyticsSection::Budgets,
        ];
    }
    let currency = if query.currency.is_empty() {
        String::new()
    } else {
        check_currency(&query.currency)
            .map_err(|why| FinanceError::invalid("query.currency", why))?
    };
    let top = match query.top_categories_limit {
        0 => 5,
        n @ 1..=50 => usize::try_from(n).unwrap_or(5),
        _ => {
            return Err(FinanceError::invalid(
                "query.top_categories_limit",
                "must be between 0 and 50",
            ));
        }
    };
    let monthly = match BalanceInterval::try_from(query.balance_interval) {
        Ok(BalanceInterval::Unspecified | BalanceInterval::Month) => true,
        Ok(BalanceInterval::Day) => false,
        Err(_) => {
            return Err(FinanceError::invalid(
                "query.balance_interval",
                "is not an interval",
            ));
        }
    };
    Ok(Query {
        bounds,
        sections,
        currency,
        accounts: query.account_ids.clone(),
        top,
        monthly,
    })
}

/// Filters shared by the transaction aggregates: owner, window, currency, accounts. Returns
/// the SQL condition (on alias `t`) and whether the account list binds from `$6`.
fn transaction_filter(query: &Query) -> String {
    let accounts = if query.accounts.is_empty() {
        String::new()
    } else {
        format!(
            " AND t.account_id IN ({})",
            placeholders(6, query.accounts.len())
        )
    };
    format!(
        "t.owner_id = $1 AND t.deleted_at IS NULL AND t.occurred_at >= $2 AND t.occurred_at < $3 \
         AND ($4 = '' OR t.currency = $4) AND $5 = $5{accounts}"
    )
}

/// Rows of an aggregate over the caller's transactions, with the shared filters bound.
macro_rules! aggregate {
    ($database:expr, $row:ty, $sql:expr, $owner:expr, $query:expr, $extra:expr) => {
        on_pool!($database, pool => {
            let mut statement = sqlx::query_as::<_, $row>($sql)
                .bind($owner)
                .bind($query.bounds.start_micros)
                .bind($query.bounds.end_micros)
                .bind(&$query.currency)
                .bind($extra);
            for account in &$query.accounts {
                statement = statement.bind(account);
            }
            statement.fetch_all(pool).await
        })
    };
}

/// Every month (`YYYY-MM`) the range touches.
fn months(bounds: &DateBounds) -> Vec<String> {
    let mut months = Vec::new();
    let mut month = bounds.from[..7].to_owned();
    while month.as_str() <= &bounds.to[..7] {
        months.push(month.clone());
        let (year, number): (i32, u32) = (
            month[..4].parse().unwrap_or(0),
            month[5..7].parse().unwrap_or(1),
        );
        month = if number == 12 {
            format!("{:04}-01", year + 1)
        } else {
            format!("{year:04}-{:02}", number + 1)
        };
    }
    months
}

async fn compute(
    database: &Database,
    owner: &str,
    query: &Query,
) -> Result<AnalyticsReport, FinanceError> {
    let filter = transaction_filter(query);
    let mut report = AnalyticsReport {
        date_range: Some(DateRange {
            start_date: query.bounds.from.clone(),
            end_date: query.bounds.to.clone(),
        }),
        computed_at: Some(timestamp(now_micros())),
        ..AnalyticsReport::default()
    };
    for section in &query.sections {
        match section {
            AnalyticsSection::CategoryMonthTotals => {
                let sql = format!(
                    "SELECT t.occurred_month, t.category_id, c.name, t.kind, t.currency, CAST(SUM(t.amount_minor) AS BIGINT) \
                     FROM transactions t JOIN categories c ON c.id = t.category_id WHERE {filter} \
                     GROUP BY t.occurred_month, t.category_id, c.name, t.kind, t.currency \
                     ORDER BY t.occurred_month, c.name, t.currency"
                );
                let rows: Vec<(String, String, String, i64, String, i64)> = aggregate!(
                    database,
                    (String, String, String, i64, String, i64),
                    &sql,
                    owner,
                    query,
                    ""
                )?;
                report.category_month_totals = rows
                    .into_iter()
                    .map(
                        |(month, category_id, category_name, kind, currency, total)| {
                            CategoryMonthTotal {
                                month,
                                category_id,
                                category_name,
                                kind: i32::try_from(kind).unwrap_or_default(),
                                total: Some(money(total, &currency)),
                            }
                        },
                    )
                    .collect();
            }
            AnalyticsSection::CashFlow => {
                let sql = format!(
                    "SELECT t.occurred_month, t.currency, \
                     CAST(SUM(CASE WHEN t.kind = 1 THEN t.amount_minor ELSE 0 END) AS BIGINT), \
                     CAST(SUM(CASE WHEN t.kind = 2 THEN t.amount_minor ELSE 0 END) AS BIGINT) \
                     FROM transactions t WHERE {filter} GROUP BY t.occurred_month, t.currency \
                     ORDER BY t.occurred_month, t.currency"
                );
                let rows: Vec<(String, String, i64, i64)> =
                    aggregate!(database, (String, String, i64, i64), &sql, owner, query, "")?;
                report.cash_flow = rows
                    .into_iter()
                    .map(|(month, currency, income, expense)| MonthlyCashFlow {
                        month,
                        income: Some(money(income, &currency)),
                        expense: Some(money(expense, &currency)),
                        net: Some(money(income.saturating_sub(expense), &currency)),
                    })
                    .collect();
            }
            AnalyticsSection::BalanceHistory => {
                report.balance_history = balance_history(database, owner, query).await?
            }
            AnalyticsSection::TopCategories => {
                let sql = format!(
                    "SELECT t.category_id, c.name, t.kind, t.currency, CAST(SUM(t.amount_minor) AS BIGINT) AS total, COUNT(*) \
                     FROM transactions t JOIN categories c ON c.id = t.category_id WHERE {filter} \
                     GROUP BY t.category_id, c.name, t.kind, t.currency ORDER BY total DESC, t.category_id"
                );
                let rows: Vec<(String, String, i64, String, i64, i64)> = aggregate!(
                    database,
                    (String, String, i64, String, i64, i64),
                    &sql,
                    owner,
                    query,
                    ""
                )?;
                let mut taken: BTreeMap<(String, i64), usize> = BTreeMap::new();
                for (category_id, category_name, kind, currency, total, count) in rows {
                    let used = taken.entry((currency.clone(), kind)).or_insert(0);
                    if *used < query.top {
                        *used += 1;
                        report.top_categories.push(CategoryTotal {
                            category_id,
                            category_name,
                            kind: i32::try_from(kind).unwrap_or_default(),
                            total: Some(money(total, &currency)),
                            transaction_count: count,
                        });
                    }
                }
            }
            AnalyticsSection::Budgets => {
                report.budgets = budgets(database, owner, query, &filter).await?
            }
            AnalyticsSection::Unspecified => {}
        }
    }
    Ok(report)
}

async fn balance_history(
    database: &Database,
    owner: &str,
    query: &Query,
) -> Result<Vec<BalancePoint>, FinanceError> {
    let accounts_filter = if query.accounts.is_empty() {
        String::new()
    } else {
        format!(" AND a.id IN ({})", placeholders(4, query.accounts.len()))
    };
    let bind_all = |sql: String| sql;
    // Opening balances, then everything before the range, per currency.
    let opening_sql = bind_all(format!(
        "SELECT a.currency, CAST(SUM(a.opening_balance_minor) AS BIGINT) FROM accounts a \
         WHERE a.owner_id = $1 AND ($2 = '' OR a.currency = $2) AND $3 = $3{accounts_filter} GROUP BY a.currency"
    ));
    let before_sql = format!(
        "SELECT a.currency, CAST(SUM(e.amount_minor) AS BIGINT) FROM entries e JOIN accounts a ON a.id = e.account_id \
         WHERE a.owner_id = $1 AND ($2 = '' OR a.currency = $2) AND e.occurred_date < $3{accounts_filter} GROUP BY a.currency"
    );
    let period = if query.monthly {
        "e.occurred_month"
    } else {
        "e.occurred_date"
    };
    let changes_sql = format!(
        "SELECT {period}, a.currency, CAST(SUM(e.amount_minor) AS BIGINT) FROM entries e JOIN accounts a ON a.id = e.account_id \
         WHERE a.owner_id = $1 AND ($2 = '' OR a.currency = $2) AND e.occurred_date >= $3 AND e.occurred_date <= ${}{accounts_filter} \
         GROUP BY {period}, a.currency ORDER BY {period}",
        4 + query.accounts.len()
    );
    let run_pairs = |sql: String, third: String| async move {
        on_pool!(database, pool => {
            let mut statement = sqlx::query_as::<_, (String, i64)>(&sql).bind(owner).bind(&query.currency).bind(third);
            for account in &query.accounts {
                statement = statement.bind(account);
            }
            statement.fetch_all(pool).await
        })
    };
    let mut running: BTreeMap<String, i64> = BTreeMap::new();
    for (currency, amount) in run_pairs(opening_sql, String::new())
        .await?
        .into_iter()
        .chain(run_pairs(before_sql, query.bounds.from.clone()).await?)
    {
        let balance = running.entry(currency).or_insert(0);
        *balance = balance.checked_add(amount).ok_or(FinanceError::OutOfRange(
            "a balance exceeds the int64 range",
        ))?;
    }
    let changes: Vec<(String, String, i64)> = on_pool!(database, pool => {
        let mut statement = sqlx::query_as::<_, (String, String, i64)>(&changes_sql)
            .bind(owner)
            .bind(&query.currency)
            .bind(&query.bounds.from);
        for account in &query.accounts {
            statement = statement.bind(account);
        }
        statement.bind(&query.bounds.to).fetch_all(pool).await
    })?;
    let mut by_period: BTreeMap<String, Vec<(String, i64)>> = BTreeMap::new();
    for (period, currency, amount) in changes {
        by_period
            .entry(period)
            .or_default()
            .push((currency, amount));
    }
    let periods: Vec<String> = if query.monthly {
        months(&query.bounds)
    } else {
        let (start, end) = (
            parse_date(&query.bounds.from).unwrap_or(0),
            parse_date(&query.bounds.to).unwrap_or(0),
        );
        (start..=end).map(format_date).collect()
    };
    let mut points = Vec::new();
    for period in periods {
        for (currency, amount) in by_period.remove(&period).unwrap_or_default() {
            let balance = running.entry(currency).or_insert(0);
            *balance = balance.checked_add(amount).ok_or(FinanceError::OutOfRange(
                "a balance exceeds the int64 range",
            ))?;
        }
        let start = if query.monthly {
            format!("{period}-01")
        } else {
            period.clone()
        };
        for (currency, balance) in &running {
            points.push(BalancePoint {
                period_start: start.clone(),
                balance: Some(money(*balance, currency)),
            });
        }
    }
    Ok(points)
}

async fn budgets(
    database: &Database,
    owner: &str,
    query: &Query,
    filter: &str,
) -> Result<Vec<BudgetMonthStatus>, FinanceError> {
    let budgets = store::all_budgets(database, owner).await?;
    if budgets.is_empty() {
        return Ok(Vec::new());
    }
    let categories = store::all_categories(database, owner).await?;
    let sql = format!(
        "SELECT t.category_id, t.occurred_month, t.currency, CAST(SUM(t.amount_minor) AS BIGINT) \
         FROM transactions t WHERE {filter} AND t.kind = 2 GROUP BY t.category_id, t.occurred_month, t.currency"
    );
    let spent: Vec<(String, String, String, i64)> = aggregate!(
        database,
        (String, String, String, i64),
        &sql,
        owner,
        query,
        ""
    )?;
    let mut statuses = Vec::new();
    for month in months(&query.bounds) {
        for budget in &budgets {
            if !query.currency.is_empty() && budget.currency != query.currency {
                continue;
            }
            let total = spent
                .iter()
                .find(|(category, m, currency, _)| {
                    category == &budget.category_id && m == &month && currency == &budget.currency
                })
                .map_or(0, |row| row.3);
            statuses.push(BudgetMonthStatus {
                budget: Some(messages::budget(budget)),
                category_name: categories
                    .iter()
                    .find(|c| c.id == budget.category_id)
                    .map(|c| c.name.clone())
                    .unwrap_or_default(),
                month: month.clone(),
                spent: Some(money(total, &budget.currency)),
                remaining: Some(money(
                    budget.limit_minor.saturating_sub(total),
                    &budget.currency,
                )),
                over_limit: total > budget.limit_minor,
            });
        }
    }
    Ok(statuses)
}

/// The cache tag of every report of an owner.
fn owner_tag(owner: &str) -> String {
    format!("owner:{owner}")
}

impl Finance {
    /// Drops every cached report of `owner` (in every replica).
    pub(crate) async fn invalidate_reports(&self, owner: &str) {
        self.reports.invalidate_tag(&owner_tag(owner)).await;
    }

    pub(crate) async fn analytics(
        &self,
        caller: &Caller,
        query: Option<AnalyticsQuery>,
    ) -> Result<AnalyticsReport, Status> {
        let checked = check_query(query.as_ref())?;
        let key = format!(
            "{}|{}",
            caller.user_id,
            hex::encode(sha2::Sha256::digest(
                query.unwrap_or_default().encode_to_vec()
            ))
        );
        let database = self.store.database.clone();
        let owner = caller.user_id.clone();
        self.reports
            .get_or_load(
                &key,
                &[&owner_tag(&caller.user_id)],
                self.report_ttl,
                || async move {
                    compute(&database, &owner, &checked)
                        .await
                        .map_err(Status::from)
                },
            )
            .await
            .map_err(|status| Status::clone(&status))
    }

    pub(crate) async fn watch_analytics(
        &self,
        caller: &Caller,
        query: Option<AnalyticsQuery>,
    ) -> Result<ReportStream, Status> {
        let checked = check_query(query.as_ref())?;
        let transactions = self.store.bus.subscribe_live("transaction", None).await?;
        let transfers = self.store.bus.subscribe_live("transfer", None).await?;
        let first = compute(&self.store.database, &caller.user_id, &checked).await?;
        let owner = caller.user_id.clone();
        let database = self.store.database.clone();
        let updates = stream::select(transactions, transfers).filter_map(move |event| {
            let (owner, database, checked) = (owner.clone(), database.clone(), checked.clone());
            async move {
                let event = match event {
                    Ok(event) => event,
                    Err(error) => return Some(Err(Status::from(error))),
                };
                let cause = decode::<TransactionRecorded>(&event.envelope)
                    .and_then(|recorded| recorded.transaction)
                    .map(|transaction| (transaction.owner_id, transaction.id))
                    .or_else(|| {
                        decode::<TransferRecorded>(&event.envelope)
                            .and_then(|recorded| recorded.transfer)
                            .map(|transfer| (transfer.owner_id, transfer.id))
                    });
                let (event_owner, cause_id) = cause?;
                if event_owner != owner {
                    return None;
                }
                // Computed afresh: the cache of this replica may not have heard of the write yet.
                Some(
                    compute(&database, &owner, &checked)
                        .await
                        .map(|report| WatchAnalyticsResponse {
                            report: Some(report),
                            cause_id,
                        })
                        .map_err(Status::from),
                )
            }
        });
        let first = stream::once(async move {
            Ok(WatchAnalyticsResponse {
                report: Some(first),
                cause_id: String::new(),
            })
        });
        Ok(Box::pin(first.chain(updates)))
    }
}
