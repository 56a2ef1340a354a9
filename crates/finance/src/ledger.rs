//! Money movements: income and expense transactions (idempotent by key, audited on update
//! and delete), transfers (both legs or neither), and lists.

use campus_proto::{
    events::{TransactionChange, TransactionRecorded, TransferRecorded},
    finance::{
        CreateTransactionRequest, CreateTransactionResponse, CreateTransferRequest,
        CreateTransferResponse, DateRange, DeleteTransactionRequest, ListTransactionsRequest,
        ListTransactionsResponse, ListTransfersRequest, ListTransfersResponse, Transaction,
        TransactionKind, UpdateTransactionRequest,
    },
};
use campus_runtime::{
    api::{decode_cursor, encode_cursor, next_page_token, page_size, request_micros},
    auth::Caller,
};
use campus_store::{Tx, idempotency::Request};
use prost::Message as _;

use crate::{
    Finance,
    domain::{check_description, check_kind, check_money, check_range, day_and_month, signed},
    error::FinanceError,
    messages,
    store::{self, AccountRow, CategoryRow, OPEN, TransactionRow, TransferRow, now_micros},
};

/// The `[start, end)` microseconds of an optional date range; any time when unset.
fn window(range: Option<&DateRange>) -> Result<(i64, i64), FinanceError> {
    match range {
        Some(range) => {
            let bounds = check_range("date_range", Some(range), i64::MAX / 2)?;
            Ok((bounds.start_micros, bounds.end_micros))
        }
        None => Ok((i64::MIN, i64::MAX)),
    }
}

/// The `(occurred_at, id)` a newest-first list continues before; `None` on the first page.
fn time_cursor(token: &str) -> Result<Option<(i64, String)>, FinanceError> {
    if token.is_empty() {
        return Ok(None);
    }
    let mut parts = decode_cursor(token, 2)?.into_iter();
    let at = parts
        .next()
        .and_then(|at| at.parse::<i64>().ok())
        .ok_or_else(|| FinanceError::invalid("page_token", "is not a token this list returned"))?;
    Ok(Some((at, parts.next().unwrap_or_default())))
}

/// Why one request or import row cannot be recorded: (field, reason).
pub(crate) type RowError = (&'static str, String);

impl Finance {
    /// Checks a create request against the caller's own `accounts` and `categories`.
    pub(crate) fn validate_new(
        caller: &Caller,
        accounts: &[AccountRow],
        categories: &[CategoryRow],
        body: &CreateTransactionRequest,
    ) -> Result<TransactionRow, Vec<RowError>> {
        let CreateTransactionRequest {
            idempotency_key: key,
            account_id,
            category_id,
            kind,
            amount,
            description,
            occurred_at,
        } = body;
        let (kind, amount, occurred_at) = (*kind, amount.as_ref(), occurred_at.as_ref());
        let mut errors: Vec<RowError> = Vec::new();
        if key.is_empty() {
            errors.push(("idempotency_key", "is required".into()));
        }
        let kind = check_kind(kind)
            .map_err(|why| errors.push(("kind", why)))
            .ok();
        let money = check_money(amount)
            .map_err(|why| errors.push(("amount", why)))
            .ok();
        let description = check_description(description)
            .map_err(|why| errors.push(("description", why)))
            .ok();
        let occurred = request_micros(occurred_at)
            .map_err(|why| errors.push(("occurred_at", why)))
            .ok();
        let account = accounts.iter().find(|account| account.id == *account_id);
        if account.is_none() {
            errors.push(("account_id", "is not one of your accounts".into()));
        }
        let category = categories
            .iter()
            .find(|category| category.id == *category_id);
        match (category, kind) {
            (None, _) => errors.push(("category_id", "is not one of your categories".into())),
            (Some(category), Some(kind)) if category.kind != kind as i64 => {
                errors.push(("category_id", "is a category of the other kind".into()));
            }
            (Some(_), _) => {}
        }
        if let (Some(account), Some((_, currency))) = (account, &money)
            && &account.currency != currency
        {
            errors.push((
                "amount.currency",
                format!("does not match the account's currency {}", account.currency),
            ));
        }
        let (
            Some(kind),
            Some((amount, currency)),
            Some(description),
            Some(account),
            Some(occurred),
            true,
        ) = (
            kind,
            money,
            description,
            account,
            occurred,
            errors.is_empty(),
        )
        else {
            return Err(errors);
        };
        let now = now_micros();
        let occurred = occurred.unwrap_or(now);
        let (date, month) = day_and_month(occurred);
        Ok(TransactionRow {
            id: uuid::Uuid::now_v7().to_string(),
            owner_id: caller.user_id.clone(),
            account_id: account.id.clone(),
            category_id: category_id.to_owned(),
            kind: kind as i64,
            amount_minor: amount,
            currency,
            description,
            occurred_at: occurred,
            occurred_date: date,
            occurred_month: month,
            created_at: now,
            updated_at: now,
            version: 1,
        })
    }

    /// Writes a validated transaction in `tx`: balance first (the guarded increment refuses a
    /// closed account or an int64 overflow), then the row, its entry and its event.
    async fn write_new(tx: &mut Tx, row: &TransactionRow) -> Result<Transaction, FinanceError> {
        let delta = signed(row.kind, row.amount_minor);
        if !store::apply_delta(
            tx,
            &row.owner_id,
            &row.account_id,
            &row.currency,
            delta,
            row.created_at,
        )
        .await?
        {
            return Err(Self::refused_delta(tx, &row.owner_id, &row.account_id).await?);
        }
        store::insert_transactions(tx, std::slice::from_ref(row)).await?;
        store::insert_entries(tx, &[store::NewEntry::of(row)]).await?;
        let transaction = messages::transaction(row);
        tx.publish(
            &row.id,
            "",
            &TransactionRecorded {
                change: TransactionChange::Created as i32,
                transaction: Some(transaction.clone()),
            },
        )
        .await?;
        Ok(transaction)
    }

    /// Why a guarded balance change was refused: a closed account, or int64 overflow.
    pub(crate) async fn refused_delta(
        tx: &mut Tx,
        owner: &str,
        account_id: &str,
    ) -> Result<FinanceError, FinanceError> {
        Ok(match store::account_in(tx, owner, account_id).await? {
            None => FinanceError::NotFound("account"),
            Some(account) if account.status != OPEN => {
                FinanceError::FailedPrecondition(format!("account {account_id} is closed"))
            }
            Some(_) => FinanceError::OutOfRange("the balance would leave the int64 range"),
        })
    }

    pub(crate) async fn create_transaction(
        &self,
        caller: &Caller,
        body: CreateTransactionRequest,
    ) -> Result<CreateTransactionResponse, FinanceError> {
        self.ensure_defaults(caller).await?;
        let request = Request::new(
            format!("finance.CreateTransaction:{}", caller.user_id),
            &body.idempotency_key,
            &body,
        );
        // Recalled before checking: a retry gets its first answer whatever changed since.
        if let Some(earlier) = self
            .store
            .idempotency
            .recall::<CreateTransactionResponse>(&request)
            .await?
        {
            return Ok(CreateTransactionResponse {
                replayed: true,
                ..earlier?
            });
        }
        let accounts = store::account(&self.store.database, &caller.user_id, &body.account_id)
            .await?
            .into_iter()
            .collect::<Vec<_>>();
        let categories = store::category(&self.store.database, &caller.user_id, &body.category_id)
            .await?
            .into_iter()
            .collect::<Vec<_>>();
        if !body.account_id.is_empty() && accounts.is_empty() {
            return Err(FinanceError::NotFound("account"));
        }
        let row = Self::validate_new(caller, &accounts, &categories, &body)
            .map_err(FinanceError::Invalid)?;
        let written = self
            .store
            .idempotency
            .write_after_recall(&request, |mut tx| async move {
                let transaction = Self::write_new(&mut tx, &row).await?;
                let answer = CreateTransactionResponse {
                    transaction: Some(transaction),
                    replayed: false,
                };
                Ok::<_, FinanceError>((tx, answer))
            })
            .await?;
        self.invalidate_reports(&caller.user_id).await;
        Ok(CreateTransactionResponse {
            replayed: written.replayed,
            ..written.response
        })
    }

    pub(crate) async fn get_transaction(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<Transaction, FinanceError> {
        if id.is_empty() {
            return Err(FinanceError::invalid("transaction_id", "is required"));
        }
        store::transaction(&self.store.database, &caller.user_id, id)
            .await?
            .map(|row| messages::transaction(&row))
            .ok_or(FinanceError::NotFound("transaction"))
    }

    pub(crate) async fn update_transaction(
        &self,
        caller: &Caller,
        body: UpdateTransactionRequest,
    ) -> Result<Transaction, FinanceError> {
        let old = store::transaction(&self.store.database, &caller.user_id, &body.transaction_id)
            .await?
            .ok_or(FinanceError::NotFound("transaction"))?;
        let mut new = old.clone();
        let mut violations = Vec::new();
        if let Some(category_id) = &body.category_id {
            match store::category(&self.store.database, &caller.user_id, category_id).await? {
                Some(category) if category.kind == old.kind => new.category_id = category.id,
                Some(_) => {
                    violations.push(("category_id", "is a category of the other kind".to_owned()))
                }
                None => {
                    violations.push(("category_id", "is not one of your categories".to_owned()))
                }
            }
        }
        if let Some(amount) = body.amount.as_ref() {
            match check_money(Some(amount)) {
                Ok((value, currency)) if currency == old.currency => new.amount_minor = value,
                Ok(_) => violations.push((
                    "amount.currency",
                    format!("does not match the account's currency {}", old.currency),
                )),
                Err(why) => violations.push(("amount", why)),
            }
        }
        if let Some(description) = &body.description {
            match check_description(description) {
                Ok(description) => new.description = description,
                Err(why) => violations.push(("description", why)),
            }
        }
        match request_micros(body.occurred_at.as_ref()) {
            Ok(Some(occurred)) => {
                new.occurred_at = occurred;
                (new.occurred_date, new.occurred_month) = day_and_month(occurred);
            }
            Ok(None) => {}
            Err(why) => violations.push(("occurred_at", why)),
        }
        if !violations.is_empty() {
            return Err(FinanceError::Invalid(violations));
        }
        if body.version != old.version {
            return Err(FinanceError::FailedPrecondition(
                "the transaction changed since you read it (stale version); reload and retry"
                    .into(),
            ));
        }
        let now = now_micros();
        new.updated_at = now;
        let delta = signed(new.kind, new.amount_minor) - signed(old.kind, old.amount_minor);
        let mut tx = self.store.database.begin().await?;
        store::insert_audit(
            &mut tx,
            &caller.user_id,
            &old.id,
            "update",
            &messages::transaction(&old).encode_to_vec(),
            now,
        )
        .await?;
        if !store::update_transaction(&mut tx, &new, old.version).await? {
            return Err(FinanceError::FailedPrecondition(
                "the transaction changed since you read it (stale version); reload and retry"
                    .into(),
            ));
        }
        if delta != 0
            && !store::apply_delta(
                &mut tx,
                &caller.user_id,
                &old.account_id,
                &old.currency,
                delta,
                now,
            )
            .await?
        {
            return Err(Self::refused_delta(&mut tx, &caller.user_id, &old.account_id).await?);
        }
        store::replace_entry(
            &mut tx,
            &caller.user_id,
            &old.account_id,
            signed(new.kind, new.amount_minor),
            &old.id,
            new.occurred_at,
        )
        .await?;
        new.version = old.version + 1;
        let transaction = messages::transaction(&new);
        tx.publish(
            &new.id,
            "",
            &TransactionRecorded {
                change: TransactionChange::Updated as i32,
                transaction: Some(transaction.clone()),
            },
        )
        .await?;
        tx.commit().await?;
        self.invalidate_reports(&caller.user_id).await;
        Ok(transaction)
    }

    pub(crate) async fn delete_transaction(
        &self,
        caller: &Caller,
        body: DeleteTransactionRequest,
    ) -> Result<(), FinanceError> {
        let old = store::transaction(&self.store.database, &caller.user_id, &body.transaction_id)
            .await?
            .ok_or(FinanceError::NotFound("transaction"))?;
        if body.version != old.version {
            return Err(FinanceError::FailedPrecondition(
                "the transaction changed since you read it (stale version); reload and retry"
                    .into(),
            ));
        }
        let now = now_micros();
        let mut tx = self.store.database.begin().await?;
        store::insert_audit(
            &mut tx,
            &caller.user_id,
            &old.id,
            "delete",
            &messages::transaction(&old).encode_to_vec(),
            now,
        )
        .await?;
        if !store::delete_transaction(&mut tx, &caller.user_id, &old.id, old.version, now).await? {
            return Err(FinanceError::FailedPrecondition(
                "the transaction changed since you read it (stale version); reload and retry"
                    .into(),
            ));
        }
        let delta = -signed(old.kind, old.amount_minor);
        if !store::apply_delta(
            &mut tx,
            &caller.user_id,
            &old.account_id,
            &old.currency,
            delta,
            now,
        )
        .await?
        {
            return Err(Self::refused_delta(&mut tx, &caller.user_id, &old.account_id).await?);
        }
        store::delete_entries(&mut tx, &old.id).await?;
        tx.publish(
            &old.id,
            "",
            &TransactionRecorded {
                change: TransactionChange::Deleted as i32,
                transaction: Some(messages::transaction(&old)),
            },
        )
        .await?;
        tx.commit().await?;
        self.invalidate_reports(&caller.user_id).await;
        Ok(())
    }

    pub(crate) async fn list_transactions(
        &self,
        caller: &Caller,
        body: ListTransactionsRequest,
    ) -> Result<ListTransactionsResponse, FinanceError> {
        let limit = page_size(body.page_size)?;
        let kind = match TransactionKind::try_from(body.kind) {
            Ok(kind) => kind as i64,
            Err(_) => return Err(FinanceError::invalid("kind", "is not a transaction kind")),
        };
        let window = window(body.date_range.as_ref())?;
        let cursor = time_cursor(&body.page_token)?;
        let before = cursor.as_ref().map(|(at, id)| (*at, id.as_str()));
        let filter = store::TransactionFilter {
            owner_id: &caller.user_id,
            account_id: &body.account_id,
            category_id: &body.category_id,
            kind,
            window,
            before,
        };
        let mut rows = store::list_transactions(&self.store.database, &filter, limit + 1).await?;
        let next_page_token = next_page_token(&mut rows, limit, |last| {
            encode_cursor(&[&last.occurred_at.to_string(), &last.id])
        });
        Ok(ListTransactionsResponse {
            transactions: rows.iter().map(messages::transaction).collect(),
            next_page_token,
        })
    }

    pub(crate) async fn create_transfer(
        &self,
        caller: &Caller,
        body: CreateTransferRequest,
    ) -> Result<CreateTransferResponse, FinanceError> {
        let CheckedTransfer {
            amount,
            currency,
            description,
            occurred,
        } = check_transfer(&body)?;
        let request = Request::new(
            format!("finance.CreateTransfer:{}", caller.user_id),
            &body.idempotency_key,
            &body,
        );
        // Recalled before checking: a retry gets its first answer whatever changed since.
        if let Some(earlier) = self
            .store
            .idempotency
            .recall::<CreateTransferResponse>(&request)
            .await?
        {
            return Ok(CreateTransferResponse {
                replayed: true,
                ..earlier?
            });
        }
        let from = self.own_account(caller, &body.from_account_id).await?;
        let to = self.own_account(caller, &body.to_account_id).await?;
        if from.currency != currency || to.currency != currency {
            return Err(FinanceError::invalid(
                "amount.currency",
                "both accounts must be in the transfer's currency",
            ));
        }
        let now = now_micros();
        let occurred = occurred.unwrap_or(now);
        let row = TransferRow {
            id: uuid::Uuid::now_v7().to_string(),
            owner_id: caller.user_id.clone(),
            from_account_id: from.id.clone(),
            to_account_id: to.id.clone(),
            amount_minor: amount,
            currency,
            description,
            occurred_at: occurred,
            occurred_date: day_and_month(occurred).0,
            created_at: now,
        };
        let answer = CreateTransferResponse {
            transfer: Some(messages::transfer(&row)),
            replayed: false,
        };
        let owner = &caller.user_id;
        let (from_id, to_id) = (&from.id, &to.id);
        let written = self
            .store
            .idempotency
            .write_after_recall(&request, |mut tx| async move {
                // Both legs in this transaction; if either is refused, dropping it undoes the
                // other. Legs are written in account-id order, so two opposite transfers at once
                // lock the accounts in the same order and cannot deadlock.
                let mut legs = [(from_id, -amount), (to_id, amount)];
                legs.sort_by(|a, b| a.0.cmp(b.0));
                for (account, delta) in legs {
                    if !store::apply_delta(&mut tx, owner, account, &row.currency, delta, now)
                        .await?
                    {
                        return Err(Self::refused_delta(&mut tx, owner, account).await?);
                    }
                    let entry = store::NewEntry {
                        owner,
                        account_id: account,
                        amount: delta,
                        source_id: &row.id,
                        micros: occurred,
                    };
                    store::insert_entries(&mut tx, &[entry]).await?;
                }
                store::insert_transfer(&mut tx, &row).await?;
                tx.publish(
                    &row.id,
                    "",
                    &TransferRecorded {
                        transfer: answer.transfer.clone(),
                    },
                )
                .await?;
                Ok::<_, FinanceError>((tx, answer))
            })
            .await?;
        self.invalidate_reports(&caller.user_id).await;
        Ok(CreateTransferResponse {
            replayed: written.replayed,
            ..written.response
        })
    }

    pub(crate) async fn list_transfers(
        &self,
        caller: &Caller,
        body: ListTransfersRequest,
    ) -> Result<ListTransfersResponse, FinanceError> {
        let limit = page_size(body.page_size)?;
        let window = window(body.date_range.as_ref())?;
        let cursor = time_cursor(&body.page_token)?;
        let before = cursor.as_ref().map(|(at, id)| (*at, id.as_str()));
        let mut rows = store::list_transfers(
            &self.store.database,
            &caller.user_id,
            &body.account_id,
            window,
            before,
            limit + 1,
        )
        .await?;
        let next_page_token = next_page_token(&mut rows, limit, |last| {
            encode_cursor(&[&last.occurred_at.to_string(), &last.id])
        });
        Ok(ListTransfersResponse {
            transfers: rows.iter().map(messages::transfer).collect(),
            next_page_token,
        })
    }
}

/// A transfer request's own fields, checked; the accounts are checked against the store.
#[derive(Debug)]
pub(crate) struct CheckedTransfer {
    pub(crate) amount: i64,
    pub(crate) currency: String,
    pub(crate) description: String,
    pub(crate) occurred: Option<i64>,
}

/// Checks what a transfer request says by itself: key, two different accounts, money,
/// description and time.
pub(crate) fn check_transfer(
    body: &CreateTransferRequest,
) -> Result<CheckedTransfer, FinanceError> {
    let mut violations = Vec::new();
    if body.idempotency_key.is_empty() {
        violations.push(("idempotency_key", "is required".to_owned()));
    }
    if body.from_account_id.is_empty() || body.to_account_id.is_empty() {
        violations.push(("to_account_id", "both accounts are required".to_owned()));
    } else if body.from_account_id == body.to_account_id {
        violations.push((
            "to_account_id",
            "must differ from from_account_id".to_owned(),
        ));
    }
    let money = check_money(body.amount.as_ref())
        .map_err(|why| violations.push(("amount", why)))
        .ok();
    let description = check_description(&body.description)
        .map_err(|why| violations.push(("description", why)))
        .ok();
    let occurred = request_micros(body.occurred_at.as_ref())
        .map_err(|why| violations.push(("occurred_at", why)))
        .ok();
    let (Some((amount, currency)), Some(description), Some(occurred), true) =
        (money, description, occurred, violations.is_empty())
    else {
        return Err(FinanceError::Invalid(violations));
    };
    Ok(CheckedTransfer {
        amount,
        currency,
        description,
        occurred,
    })
}
