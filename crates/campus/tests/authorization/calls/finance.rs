//! Requests of `FinanceService`: everything names the subject's own money.

use campus_proto::finance::{
    AccountKind, AnalyticsQuery, AnalyticsSection, BatchImportTransactionsRequest,
    CloseAccountRequest, CreateAccountRequest, CreateCategoryRequest, CreateTransactionRequest,
    CreateTransferRequest, DateRange, DeleteTransactionRequest, GetAccountRequest,
    GetAnalyticsRequest, GetBalanceRequest, GetTransactionRequest, ImportTransactionRow,
    ImportTransactionsRequest, ListAccountsRequest, ListBudgetsRequest, ListCategoriesRequest,
    ListTransactionsRequest, ListTransfersRequest, RenameAccountRequest, SetBudgetRequest,
    TransactionKind, UpdateTransactionRequest, WatchAnalyticsRequest,
    finance_service_client::FinanceServiceClient,
};
use campus_testkit::Error;
use tonic::{Response, Status};

use super::Cell;
use crate::{
    probe::Observed,
    world::{RANGE_END, RANGE_START, euros},
};

/// When the rows' money moved: inside the range the world's lists ask for.
const OCCURRED_AT: prost_types::Timestamp = prost_types::Timestamp {
    seconds: 1_793_000_000,
    nanos: 0,
};

/// Calls `method` of the finance service for `cell`.
pub(crate) async fn call(method: &str, cell: &Cell<'_>) -> Result<Option<Observed>, Error> {
    let mut finance = FinanceServiceClient::new(cell.wire()?);
    let owner = cell.subject.user;
    let wallet = &owner.wallet;
    let account_id = wallet.account_id.clone();
    let category_id = wallet.category_id.clone();
    let transaction_id = wallet.transaction_id.clone();
    let probe = cell.probe;
    let observed = match method {
        "CreateAccount" => {
            let request = CreateAccountRequest {
                request_id: format!("row-{}", cell.unique()),
                name: format!("Account {}", cell.unique()),
                kind: AccountKind::Bank as i32,
                currency: "EUR".to_owned(),
                opening_balance_minor: 0,
            };
            probe
                .run(cell.caller_id(), finance.create_account(request))
                .await?
        }
        "GetAccount" => {
            let request = GetAccountRequest {
                account_id: account_id.clone(),
            };
            probe.run(account_id, finance.get_account(request)).await?
        }
        "ListAccounts" => {
            let request = ListAccountsRequest {
                include_closed: true,
                page_size: 200,
                page_token: String::new(),
            };
            probe
                .run(account_id, finance.list_accounts(request))
                .await?
        }
        "RenameAccount" => {
            let request = RenameAccountRequest {
                account_id: account_id.clone(),
                name: format!("Renamed {}", cell.unique()),
            };
            probe
                .run(account_id, finance.rename_account(request))
                .await?
        }
        "CloseAccount" => {
            let fresh = cell.world.setup.account(&owner.token, 0).await?;
            let request = CloseAccountRequest {
                account_id: fresh.clone(),
            };
            probe.run(fresh, finance.close_account(request)).await?
        }
        "CreateCategory" => {
            let request = CreateCategoryRequest {
                request_id: format!("row-{}", cell.unique()),
                name: format!("Category {}", cell.unique()),
                kind: TransactionKind::Expense as i32,
            };
            let caller_id = cell.caller_id();
            probe
                .run(caller_id, finance.create_category(request))
                .await?
        }
        "ListCategories" => {
            let request = ListCategoriesRequest {
                page_size: 200,
                ..ListCategoriesRequest::default()
            };
            probe
                .run(category_id, finance.list_categories(request))
                .await?
        }
        "CreateTransaction" => {
            let request = CreateTransactionRequest {
                idempotency_key: format!("row-{}", cell.unique()),
                account_id: account_id.clone(),
                category_id,
                kind: TransactionKind::Expense as i32,
                amount: Some(euros(300)),
                description: "Lunch".to_owned(),
                occurred_at: Some(OCCURRED_AT),
            };
            probe
                .run(account_id, finance.create_transaction(request))
                .await?
        }
        "UpdateTransaction" => {
            let mut own = FinanceServiceClient::new(cell.world.setup.wire(Some(&owner.token))?);
            let version = own
                .get_transaction(GetTransactionRequest {
                    transaction_id: transaction_id.clone(),
                })
                .await?
                .into_inner()
                .transaction
                .ok_or("no transaction")?
                .version;
            let request = UpdateTransactionRequest {
                transaction_id: transaction_id.clone(),
                version,
                description: Some(format!("Books {}", cell.unique())),
                ..UpdateTransactionRequest::default()
            };
            probe
                .run(transaction_id, finance.update_transaction(request))
                .await?
        }
        "DeleteTransaction" => {
            let fresh = cell
                .world
                .setup
                .transaction(&owner.token, &account_id, &category_id)
                .await?;
            let mut own = FinanceServiceClient::new(cell.world.setup.wire(Some(&owner.token))?);
            let call = async move {
                finance
                    .delete_transaction(DeleteTransactionRequest {
                        transaction_id: fresh.clone(),
                        version: 1,
                    })
                    .await?;
                let after = own
                    .get_transaction(GetTransactionRequest {
                        transaction_id: fresh,
                    })
                    .await;
                Ok::<_, Status>(Response::new(match after {
                    Err(status) if status.code() == tonic::Code::NotFound => "deleted",
                    _ => "still there",
                }))
            };
            probe.run("deleted", call).await?
        }
        "GetTransaction" => {
            let request = GetTransactionRequest {
                transaction_id: transaction_id.clone(),
            };
            probe
                .run(transaction_id, finance.get_transaction(request))
                .await?
        }
        "ListTransactions" => {
            let request = ListTransactionsRequest {
                account_id,
                date_range: Some(range()),
                page_size: 200,
                ..ListTransactionsRequest::default()
            };
            probe
                .run(transaction_id, finance.list_transactions(request))
                .await?
        }
        "CreateTransfer" => {
            let request = CreateTransferRequest {
                idempotency_key: format!("row-{}", cell.unique()),
                from_account_id: account_id.clone(),
                to_account_id: wallet.second_account_id.clone(),
                amount: Some(euros(100)),
                description: "Savings".to_owned(),
                occurred_at: Some(OCCURRED_AT),
            };
            probe
                .run(account_id, finance.create_transfer(request))
                .await?
        }
        "ListTransfers" => {
            let request = ListTransfersRequest {
                account_id,
                date_range: Some(range()),
                page_size: 200,
                page_token: String::new(),
            };
            let transfer_id = wallet.transfer_id.clone();
            probe
                .run(transfer_id, finance.list_transfers(request))
                .await?
        }
        "GetBalance" => {
            let request = GetBalanceRequest {
                account_id: account_id.clone(),
            };
            probe.run(account_id, finance.get_balance(request)).await?
        }
        "ImportTransactions" => {
            let request = ImportTransactionsRequest {
                rows: vec![import_row(cell, &account_id, &category_id)],
            };
            let call = finance.import_transactions(tokio_stream::iter([request]));
            probe
                .run_shown("accepted 1", call, |answer| {
                    format!("accepted {}", answer.accepted_count)
                })
                .await?
        }
        "BatchImportTransactions" => {
            let request = BatchImportTransactionsRequest {
                rows: vec![import_row(cell, &account_id, &category_id)],
            };
            let call = finance.batch_import_transactions(request);
            probe
                .run_shown("accepted 1", call, |answer| {
                    format!("accepted {}", answer.accepted_count)
                })
                .await?
        }
        "SetBudget" => {
            let request = SetBudgetRequest {
                category_id: category_id.clone(),
                monthly_limit: Some(euros(30_000)),
            };
            probe.run(category_id, finance.set_budget(request)).await?
        }
        "ListBudgets" => {
            let request = ListBudgetsRequest {
                page_size: 200,
                page_token: String::new(),
            };
            probe
                .run(category_id, finance.list_budgets(request))
                .await?
        }
        "GetAnalytics" => {
            let request = GetAnalyticsRequest {
                query: Some(query(&account_id)),
            };
            probe
                .run(category_id, finance.get_analytics(request))
                .await?
        }
        "WatchAnalytics" => {
            let request = WatchAnalyticsRequest {
                query: Some(query(&account_id)),
            };
            let call = async move {
                let mut reports = finance.watch_analytics(request).await?.into_inner();
                let first = reports
                    .message()
                    .await?
                    .ok_or_else(|| Status::aborted("watch ended"))?;
                Ok::<_, Status>(Response::new(format!("{first:?}")))
            };
            probe.run(category_id, call).await?
        }
        _ => return Ok(None),
    };
    Ok(Some(observed))
}

/// One import row of an expense on `account_id`.
fn import_row(cell: &Cell<'_>, account_id: &str, category_id: &str) -> ImportTransactionRow {
    ImportTransactionRow {
        line_number: 1,
        idempotency_key: format!("row-{}", cell.unique()),
        account_id: account_id.to_owned(),
        category_id: category_id.to_owned(),
        kind: TransactionKind::Expense as i32,
        amount: Some(euros(250)),
        description: "Imported".to_owned(),
        occurred_at: Some(OCCURRED_AT),
    }
}

/// Top categories of `account_id` over the world's range.
fn query(account_id: &str) -> AnalyticsQuery {
    AnalyticsQuery {
        date_range: Some(range()),
        sections: vec![AnalyticsSection::TopCategories as i32],
        currency: "EUR".to_owned(),
        account_ids: vec![account_id.to_owned()],
        top_categories_limit: 10,
        ..AnalyticsQuery::default()
    }
}

fn range() -> DateRange {
    DateRange {
        start_date: RANGE_START.to_owned(),
        end_date: RANGE_END.to_owned(),
    }
}
