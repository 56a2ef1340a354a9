//! The finance service's request checks, reachable by the fuzz targets (`fuzz/`) without a
//! handler or a database: built only with the `fuzzing` feature. Each function runs the same
//! checks the handler runs, against a fixed caller with one EUR and one USD account and an
//! income and an expense category, and panics if a request it accepts breaks an invariant
//! of the ledger.

use campus_proto::{
    finance::{
        AccountKind, AnalyticsQuery, CreateTransactionRequest, CreateTransferRequest,
        ImportTransactionRow, TransactionKind,
    },
    users::Role,
};
use campus_runtime::auth::Caller;

use crate::{
    Finance,
    analytics::check_query,
    import::as_request,
    ledger::check_transfer,
    store::{AccountRow, CategoryRow},
};

/// The ids the fixed context answers to, for seed corpora.
pub const EUR_ACCOUNT: &str = "acc-eur";
/// A second account, in another currency.
pub const USD_ACCOUNT: &str = "acc-usd";
/// The income category.
pub const INCOME_CATEGORY: &str = "cat-income";
/// The expense category.
pub const EXPENSE_CATEGORY: &str = "cat-expense";

fn caller() -> Caller {
    Caller {
        user_id: "fuzz-user".to_owned(),
        school_id: Some("fuzz-school".to_owned()),
        roles: vec![Role::Student],
    }
}

fn account(id: &str, currency: &str) -> AccountRow {
    AccountRow {
        id: id.to_owned(),
        owner_id: "fuzz-user".to_owned(),
        name: id.to_owned(),
        kind: AccountKind::Bank as i64,
        currency: currency.to_owned(),
        opening_balance_minor: 0,
        balance_minor: 0,
        status: 1,
        created_at: 0,
        updated_at: 0,
        closed_at: None,
    }
}

fn category(id: &str, kind: TransactionKind) -> CategoryRow {
    CategoryRow {
        id: id.to_owned(),
        owner_id: "fuzz-user".to_owned(),
        name: id.to_owned(),
        kind: kind as i64,
        is_default: false,
        created_at: 0,
    }
}

/// Checks a CreateTransaction request as the handler does; whether it was accepted.
pub fn check_create_transaction(body: &CreateTransactionRequest) -> bool {
    let accounts = [account(EUR_ACCOUNT, "EUR"), account(USD_ACCOUNT, "USD")];
    let categories = [
        category(INCOME_CATEGORY, TransactionKind::Income),
        category(EXPENSE_CATEGORY, TransactionKind::Expense),
    ];
    match Finance::validate_new(&caller(), &accounts, &categories, body) {
        Ok(row) => {
            assert!(row.amount_minor > 0, "accepted a non-positive amount");
            let account = accounts.iter().find(|account| account.id == row.account_id);
            assert_eq!(
                account.map(|account| account.currency.as_str()),
                Some(row.currency.as_str()),
                "accepted a currency other than the account's"
            );
            true
        }
        Err(errors) => {
            assert!(!errors.is_empty(), "refused without saying why");
            false
        }
    }
}

/// Checks an imported row as ImportTransactions does; whether it was accepted.
pub fn check_import_row(row: &ImportTransactionRow) -> bool {
    check_create_transaction(&as_request(row))
}

/// Checks a CreateTransfer request's own fields as the handler does; whether they passed.
pub fn check_create_transfer(body: &CreateTransferRequest) -> bool {
    match check_transfer(body) {
        Ok(transfer) => {
            assert!(transfer.amount > 0, "accepted a non-positive transfer");
            assert_ne!(body.from_account_id, body.to_account_id);
            true
        }
        Err(_) => false,
    }
}

/// Checks an analytics query as GetAnalytics and WatchAnalytics do; whether it passed.
pub fn check_analytics_query(query: Option<&AnalyticsQuery>) -> bool {
    check_query(query).is_ok()
}
