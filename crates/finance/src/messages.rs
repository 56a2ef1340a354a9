//! Stored rows as API messages.

use campus_proto::finance::{Account, Budget, Category, Money, Transaction, Transfer};
use campus_runtime::api::timestamp;

use crate::store::{AccountRow, BudgetRow, CategoryRow, TransactionRow, TransferRow};

pub(crate) fn money(amount_minor: i64, currency: &str) -> Money {
    Money {
        amount_minor,
        currency: currency.to_owned(),
    }
}

pub(crate) fn account(row: &AccountRow) -> Account {
    Account {
        id: row.id.clone(),
        owner_id: row.owner_id.clone(),
        name: row.name.clone(),
        kind: i32::try_from(row.kind).unwrap_or_default(),
        currency: row.currency.clone(),
        opening_balance_minor: row.opening_balance_minor,
        status: i32::try_from(row.status).unwrap_or_default(),
        created_at: Some(timestamp(row.created_at)),
        updated_at: Some(timestamp(row.updated_at)),
        closed_at: row.closed_at.map(timestamp),
    }
}

pub(crate) fn category(row: &CategoryRow) -> Category {
    Category {
        id: row.id.clone(),
        owner_id: row.owner_id.clone(),
        name: row.name.clone(),
        kind: i32::try_from(row.kind).unwrap_or_default(),
        is_default: row.is_default,
        created_at: Some(timestamp(row.created_at)),
    }
}

pub(crate) fn transaction(row: &TransactionRow) -> Transaction {
    Transaction {
        id: row.id.clone(),
        owner_id: row.owner_id.clone(),
        account_id: row.account_id.clone(),
        category_id: row.category_id.clone(),
        kind: i32::try_from(row.kind).unwrap_or_default(),
        amount: Some(money(row.amount_minor, &row.currency)),
        description: row.description.clone(),
        occurred_at: Some(timestamp(row.occurred_at)),
        created_at: Some(timestamp(row.created_at)),
        updated_at: Some(timestamp(row.updated_at)),
        version: row.version,
    }
}

pub(crate) fn transfer(row: &TransferRow) -> Transfer {
    Transfer {
        id: row.id.clone(),
        owner_id: row.owner_id.clone(),
        from_account_id: row.from_account_id.clone(),
        to_account_id: row.to_account_id.clone(),
        amount: Some(money(row.amount_minor, &row.currency)),
        description: row.description.clone(),
        occurred_at: Some(timestamp(row.occurred_at)),
        created_at: Some(timestamp(row.created_at)),
    }
}

pub(crate) fn budget(row: &BudgetRow) -> Budget {
    Budget {
        id: row.id.clone(),
        owner_id: row.owner_id.clone(),
        category_id: row.category_id.clone(),
        monthly_limit: Some(money(row.limit_minor, &row.currency)),
        created_at: Some(timestamp(row.created_at)),
        updated_at: Some(timestamp(row.updated_at)),
    }
}
