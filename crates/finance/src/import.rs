//! Bulk import: each message's rows written in one transaction with a few multi-row
//! statements (not seven statements a row), each row still validated and idempotent on its
//! own under the key `CreateTransaction` uses, so a re-import adds nothing and an import
//! and single writes never book one key twice.
//!
//! A message runs in this order, which keeps balances exact under concurrent writes:
//! 1. recall the message's keys in one statement: answered rows are duplicates (or, with a
//!    different row under the key, rejected);
//! 2. validate the rest against the caller's accounts and categories;
//! 3. add each account's total to its balance with the guarded increment `CreateTransaction`
//!    uses (accounts in one order): a closed account or an int64 overflow rejects that
//!    account's rows;
//! 4. store the keys and answers (`ON CONFLICT DO NOTHING`): a key a concurrent write stored
//!    first is taken back out of the balance and reported as that write's duplicate;
//! 5. insert the transactions, their ledger entries and their events, many rows a statement.
//!
//! Balances are locked before keys, as `CreateTransaction` does, so the two never wait on
//! each other in a cycle.

use std::collections::{BTreeMap, HashSet};

use campus_proto::{
    events::{TransactionChange, TransactionRecorded},
    finance::{
        CreateTransactionRequest, CreateTransactionResponse, ImportTransactionRow,
        RejectedImportRow,
    },
};
use campus_runtime::auth::Caller;
use campus_store::{
    Tx,
    idempotency::{KeyReused, Request},
};
use futures::{Stream, StreamExt as _};
use tonic::Status;

use crate::{
    Finance,
    domain::signed,
    error::FinanceError,
    messages,
    store::{self, AccountRow, CategoryRow, NewEntry, TransactionRow, now_micros},
};

/// Most rows in one import message.
const MAX_IMPORT_CHUNK: usize = 1000;

/// The `CreateTransaction` a row stands for: its fingerprint is the row's, so import and
/// API share keys.
pub(crate) fn as_request(row: &ImportTransactionRow) -> CreateTransactionRequest {
    CreateTransactionRequest {
        idempotency_key: row.idempotency_key.clone(),
        account_id: row.account_id.clone(),
        category_id: row.category_id.clone(),
        kind: row.kind,
        amount: row.amount.clone(),
        description: row.description.clone(),
        occurred_at: row.occurred_at,
    }
}

/// What an import did: its messages' outcomes, each added when its transaction commits.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    pub(crate) accepted: i64,
    pub(crate) duplicates: i64,
    /// By line number once the import is over.
    pub(crate) rejected: Vec<RejectedImportRow>,
}

impl Outcome {
    fn reject(&mut self, row: &ImportTransactionRow, field: &str, reason: String) {
        self.rejected.push(RejectedImportRow {
            line_number: row.line_number,
            idempotency_key: row.idempotency_key.clone(),
            field: field.to_owned(),
            reason,
        });
    }

    /// A row whose key was answered before: the same row is a duplicate, another is refused.
    fn answered<R>(&mut self, row: &ImportTransactionRow, answer: &Result<R, KeyReused>) {
        match answer {
            Ok(_) => self.duplicates += 1,
            Err(KeyReused) => self.reject(
                row,
                "idempotency_key",
                "was already used with a different row".into(),
            ),
        }
    }
}

impl Finance {
    /// Imports `messages` of rows for `caller`, each in its own transaction, checked against
    /// the caller's accounts and categories as they were when the import began. The stream
    /// import and the batch import (one message) both come here.
    pub(crate) async fn import(
        &self,
        caller: &Caller,
        mut messages: impl Stream<Item = Result<Vec<ImportTransactionRow>, Status>> + Unpin,
    ) -> Result<Outcome, Status> {
        self.ensure_defaults(caller).await?;
        let accounts = store::all_accounts(&self.store.database, &caller.user_id)
            .await
            .map_err(FinanceError::from)?;
        let categories = store::all_categories(&self.store.database, &caller.user_id)
            .await
            .map_err(FinanceError::from)?;
        let mut outcome = Outcome::default();
        while let Some(rows) = messages.next().await.transpose()? {
            self.import_chunk(caller, rows, &accounts, &categories, &mut outcome)
                .await?;
        }
        if outcome.accepted > 0 {
            self.invalidate_reports(&caller.user_id).await;
        }
        outcome.rejected.sort_by_key(|row| row.line_number);
        Ok(outcome)
    }

    /// Imports one message of rows in one transaction (see the module documentation). Adds
    /// to `report` once it has committed.
    async fn import_chunk(
        &self,
        caller: &Caller,
        rows: Vec<ImportTransactionRow>,
        accounts: &[AccountRow],
        categories: &[CategoryRow],
        report: &mut Outcome,
    ) -> Result<(), FinanceError> {
        if rows.len() > MAX_IMPORT_CHUNK {
            return Err(FinanceError::invalid(
                "rows",
                format!("at most {MAX_IMPORT_CHUNK} rows per message"),
            ));
        }
        let scope = format!("finance.CreateTransaction:{}", caller.user_id);
        let bodies: Vec<CreateTransactionRequest> = rows.iter().map(as_request).collect();
        let keys: Vec<Request<'_>> = rows
            .iter()
            .zip(&bodies)
            .map(|(row, body)| Request::new(scope.as_str(), &row.idempotency_key, body))
            .collect();
        let mut outcome = Outcome::default();
        let mut tx = self.store.database.begin().await?;

        // 1 and 2: answered keys, repeats within the message, invalid rows.
        let keyed: Vec<Request<'_>> = keys
            .iter()
            .filter(|key| !key.key().is_empty())
            .cloned()
            .collect();
        let earlier = self
            .store
            .idempotency
            .recall_many_in::<CreateTransactionResponse>(&mut tx, &keyed)
            .await?;
        let mut seen = HashSet::new();
        let mut fresh: Vec<(usize, TransactionRow)> = Vec::new();
        for (index, row) in rows.iter().enumerate() {
            if !row.idempotency_key.is_empty() {
                if !seen.insert(row.idempotency_key.as_str()) {
                    outcome.duplicates += 1;
                    continue;
                }
                if let Some(answer) = earlier.get(&row.idempotency_key) {
                    outcome.answered(row, answer);
                    continue;
                }
            }
            match Self::validate_new(caller, accounts, categories, &bodies[index]) {
                Ok(new) => fresh.push((index, new)),
                Err(errors) => {
                    let (field, reason) = errors
                        .into_iter()
                        .next()
                        .unwrap_or(("row", "is invalid".into()));
                    outcome.reject(row, field, reason);
                }
            }
        }

        // 3: each account's total, guarded like a single write.
        let refused = Self::apply_totals(&mut tx, &fresh).await?;
        fresh.retain(|(index, new)| match refused.get(new.account_id.as_str()) {
            Some((field, reason)) => {
                outcome.reject(&rows[*index], field, reason.clone());
                false
            }
            None => true,
        });

        // 4: the keys; a key a concurrent write stored first is that write's.
        let answers: Vec<(Request<'_>, CreateTransactionResponse)> = fresh
            .iter()
            .map(|(index, new)| {
                let answer = CreateTransactionResponse {
                    transaction: Some(messages::transaction(new)),
                    replayed: false,
                };
                (keys[*index].clone(), answer)
            })
            .collect();
        let stored = self
            .store
            .idempotency
            .remember_many(&mut tx, &answers)
            .await?;
        if stored.len() < fresh.len() {
            let (kept, lost): (Vec<_>, Vec<_>) = fresh
                .into_iter()
                .partition(|(index, _)| stored.contains(&rows[*index].idempotency_key));
            fresh = kept;
            Self::take_back(&mut tx, &lost).await?;
            let lost_keys: Vec<Request<'_>> =
                lost.iter().map(|(index, _)| keys[*index].clone()).collect();
            let winners = self
                .store
                .idempotency
                .recall_many_in::<CreateTransactionResponse>(&mut tx, &lost_keys)
                .await?;
            for (index, _) in &lost {
                let row = &rows[*index];
                match winners.get(&row.idempotency_key) {
                    Some(answer) => {
                        outcome.answered(row, answer);
                    }
                    None => outcome.duplicates += 1,
                }
            }
        }

        // 5: the rows, their entries and their events.
        let written: Vec<TransactionRow> = fresh.into_iter().map(|(_, new)| new).collect();
        store::insert_transactions(&mut tx, &written).await?;
        let entries: Vec<NewEntry<'_>> = written.iter().map(NewEntry::of).collect();
        store::insert_entries(&mut tx, &entries).await?;
        let events: Vec<(String, String, TransactionRecorded)> = written
            .iter()
            .map(|new| {
                let event = TransactionRecorded {
                    change: TransactionChange::Created as i32,
                    transaction: Some(messages::transaction(new)),
                };
                (new.id.clone(), String::new(), event)
            })
            .collect();
        tx.publish_many(&events).await?;
        tx.commit().await?;

        report.accepted += i64::try_from(written.len()).unwrap_or(i64::MAX);
        report.duplicates += outcome.duplicates;
        report.rejected.extend(outcome.rejected);
        Ok(())
    }

    /// Adds each account's total of `fresh` to its balance, accounts in one order; the
    /// accounts refused (closed, or the total leaves the int64 range) with (field, reason)
    /// for their rows.
    async fn apply_totals(
        tx: &mut Tx,
        fresh: &[(usize, TransactionRow)],
    ) -> Result<BTreeMap<String, (&'static str, String)>, FinanceError> {
        let mut refused = BTreeMap::new();
        let now = now_micros();
        for ((owner, account, currency), total) in totals(fresh) {
            let applied = match total {
                Some(total) => store::apply_delta(tx, owner, account, currency, total, now).await?,
                None => false,
            };
            if applied {
                continue;
            }
            let refusal = Self::refused_delta(tx, owner, account).await?;
            let why = if let FinanceError::FailedPrecondition(reason) = &refusal {
                ("account_id", reason.clone())
            } else if let FinanceError::OutOfRange(reason) = &refusal {
                ("amount", (*reason).to_owned())
            } else {
                return Err(refusal);
            };
            refused.insert(account.to_owned(), why);
        }
        Ok(refused)
    }

    /// Takes rows' amounts back out of their balances (rows whose key another write stored
    /// first, after [`Finance::apply_totals`] added them).
    async fn take_back(tx: &mut Tx, lost: &[(usize, TransactionRow)]) -> Result<(), FinanceError> {
        let now = now_micros();
        for ((owner, account, currency), total) in totals(lost) {
            let total = total.ok_or(FinanceError::OutOfRange(
                "the balance would leave the int64 range",
            ))?;
            if !store::apply_delta(tx, owner, account, currency, -total, now).await? {
                return Err(Self::refused_delta(tx, owner, account).await?);
            }
        }
        Ok(())
    }
}

/// Each (owner, account, currency)'s signed total of `rows`, in account order; `None` where
/// the total leaves the int64 range.
fn totals(rows: &[(usize, TransactionRow)]) -> BTreeMap<(&str, &str, &str), Option<i64>> {
    let mut totals: BTreeMap<(&str, &str, &str), Option<i64>> = BTreeMap::new();
    for (_, row) in rows {
        let total = totals
            .entry((&row.owner_id, &row.account_id, &row.currency))
            .or_insert(Some(0));
        *total = total.and_then(|sum| sum.checked_add(signed(row.kind, row.amount_minor)));
    }
    totals
}
