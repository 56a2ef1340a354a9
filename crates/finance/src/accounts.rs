//! Accounts, categories, budgets and balances: the caller's own, always.

use campus_proto::finance::{
    AccountBalance, CloseAccountRequest, CreateAccountRequest, CreateAccountResponse,
    CreateCategoryRequest, CreateCategoryResponse, GetBalanceResponse, ListAccountsRequest,
    ListAccountsResponse, ListBudgetsRequest, ListBudgetsResponse, ListCategoriesRequest,
    ListCategoriesResponse, Money, SetBudgetRequest, TransactionKind,
};
use campus_runtime::{
    api::{encode_cursor, next_page_token, page_after, page_size, timestamp},
    auth::Caller,
};
use campus_store::{idempotency::Request, is_unique_violation};

use crate::{
    Finance,
    domain::{check_account_kind, check_currency, check_kind, check_money, check_name},
    error::FinanceError,
    messages,
    store::{self, AccountRow, BudgetRow, CategoryRow, OPEN, now_micros},
};

impl Finance {
    /// The caller's account, NOT_FOUND for anyone else's.
    pub(crate) async fn own_account(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<AccountRow, FinanceError> {
        if id.is_empty() {
            return Err(FinanceError::invalid("account_id", "is required"));
        }
        store::account(&self.store.database, &caller.user_id, id)
            .await?
            .ok_or(FinanceError::NotFound("account"))
    }

    /// Creates the caller's default categories once per process.
    pub(crate) async fn ensure_defaults(&self, caller: &Caller) -> Result<(), FinanceError> {
        if self.initialized.get(&caller.user_id).await.is_some() {
            return Ok(());
        }
        store::ensure_default_categories(&self.store.database, &caller.user_id, now_micros())
            .await?;
        self.initialized.insert(caller.user_id.clone(), ()).await;
        Ok(())
    }

    pub(crate) async fn create_account(
        &self,
        caller: &Caller,
        body: CreateAccountRequest,
    ) -> Result<CreateAccountResponse, FinanceError> {
        let mut violations = Vec::new();
        let name = check_name(&body.name)
            .map_err(|why| violations.push(("name", why)))
            .ok();
        let kind = check_account_kind(body.kind)
            .map_err(|why| violations.push(("kind", why)))
            .ok();
        let currency = check_currency(&body.currency)
            .map_err(|why| violations.push(("currency", why)))
            .ok();
        let (Some(name), Some(kind), Some(currency)) = (name, kind, currency) else {
            return Err(FinanceError::Invalid(violations));
        };
        let request = Request::new(
            format!("finance.CreateAccount:{}", caller.user_id),
            &body.request_id,
            &body,
        );
        let now = now_micros();
        let row = AccountRow {
            id: uuid::Uuid::now_v7().to_string(),
            owner_id: caller.user_id.clone(),
            name,
            kind: kind as i64,
            currency,
            opening_balance_minor: body.opening_balance_minor,
            balance_minor: body.opening_balance_minor,
            status: OPEN,
            created_at: now,
            updated_at: now,
            closed_at: None,
        };
        let answer = CreateAccountResponse {
            account: Some(messages::account(&row)),
        };
        let written = self.store.idempotency.write(&request, |mut tx| async move {
            store::insert_account(&mut tx, &row).await?;
            Ok::<_, FinanceError>((tx, answer))
        });
        Ok(written.await?.response)
    }

    pub(crate) async fn list_accounts(
        &self,
        caller: &Caller,
        body: ListAccountsRequest,
    ) -> Result<ListAccountsResponse, FinanceError> {
        let limit = page_size(body.page_size)?;
        let after = page_after(&body.page_token, 2)?;
        let mut rows = store::list_accounts(
            &self.store.database,
            &caller.user_id,
            body.include_closed,
            (&after[0], &after[1]),
            limit + 1,
        )
        .await?;
        let next_page_token = next_page_token(&mut rows, limit, |last| {
            encode_cursor(&[&last.name, &last.id])
        });
        Ok(ListAccountsResponse {
            accounts: rows.iter().map(messages::account).collect(),
            next_page_token,
        })
    }

    pub(crate) async fn rename_account(
        &self,
        caller: &Caller,
        account_id: &str,
        name: &str,
    ) -> Result<AccountRow, FinanceError> {
        let name = check_name(name).map_err(|why| FinanceError::invalid("name", why))?;
        self.own_account(caller, account_id).await?;
        let mut tx = self.store.database.begin().await?;
        store::rename_account(&mut tx, &caller.user_id, account_id, &name, now_micros()).await?;
        tx.commit().await?;
        self.own_account(caller, account_id).await
    }

    pub(crate) async fn close_account(
        &self,
        caller: &Caller,
        body: CloseAccountRequest,
    ) -> Result<AccountRow, FinanceError> {
        let account = self.own_account(caller, &body.account_id).await?;
        if account.status != OPEN {
            return Ok(account);
        }
        let mut tx = self.store.database.begin().await?;
        if !store::close_account(&mut tx, &caller.user_id, &account.id, now_micros()).await? {
            return Err(FinanceError::FailedPrecondition(
                "only an account at a zero balance can be closed".into(),
            ));
        }
        tx.commit().await?;
        self.invalidate_reports(&caller.user_id).await;
        self.own_account(caller, &account.id).await
    }

    pub(crate) async fn create_category(
        &self,
        caller: &Caller,
        body: CreateCategoryRequest,
    ) -> Result<CreateCategoryResponse, FinanceError> {
        let mut violations = Vec::new();
        let name = check_name(&body.name)
            .map_err(|why| violations.push(("name", why)))
            .ok();
        let kind = check_kind(body.kind)
            .map_err(|why| violations.push(("kind", why)))
            .ok();
        let (Some(name), Some(kind)) = (name, kind) else {
            return Err(FinanceError::Invalid(violations));
        };
        self.ensure_defaults(caller).await?;
        let row = CategoryRow {
            id: uuid::Uuid::now_v7().to_string(),
            owner_id: caller.user_id.clone(),
            name,
            kind: kind as i64,
            is_default: false,
            created_at: now_micros(),
        };
        let mut tx = self.store.database.begin().await?;
        match store::insert_category(&mut tx, &row).await {
            Err(error) if is_unique_violation(&error) => {
                return Err(FinanceError::AlreadyExists(
                    "a category of this kind with this name exists",
                ));
            }
            other => other?,
        }
        tx.commit().await?;
        Ok(CreateCategoryResponse {
            category: Some(messages::category(&row)),
        })
    }

    pub(crate) async fn list_categories(
        &self,
        caller: &Caller,
        body: ListCategoriesRequest,
    ) -> Result<ListCategoriesResponse, FinanceError> {
        let limit = page_size(body.page_size)?;
        let kind = match TransactionKind::try_from(body.kind) {
            Ok(kind) => kind as i64,
            Err(_) => return Err(FinanceError::invalid("kind", "is not a transaction kind")),
        };
        self.ensure_defaults(caller).await?;
        let after = page_after(&body.page_token, 2)?;
        let mut rows = store::list_categories(
            &self.store.database,
            &caller.user_id,
            kind,
            (&after[0], &after[1]),
            limit + 1,
        )
        .await?;
        let next_page_token = next_page_token(&mut rows, limit, |last| {
            encode_cursor(&[&last.name, &last.id])
        });
        Ok(ListCategoriesResponse {
            categories: rows.iter().map(messages::category).collect(),
            next_page_token,
        })
    }

    pub(crate) async fn set_budget(
        &self,
        caller: &Caller,
        body: SetBudgetRequest,
    ) -> Result<BudgetRow, FinanceError> {
        let (limit, currency) = check_money(body.monthly_limit.as_ref())
            .map_err(|why| FinanceError::invalid("monthly_limit", why))?;
        if body.category_id.is_empty() {
            return Err(FinanceError::invalid("category_id", "is required"));
        }
        let category = store::category(&self.store.database, &caller.user_id, &body.category_id)
            .await?
            .ok_or(FinanceError::NotFound("category"))?;
        if category.kind != TransactionKind::Expense as i64 {
            return Err(FinanceError::invalid(
                "category_id",
                "budgets are for expense categories",
            ));
        }
        let now = now_micros();
        let mut tx = self.store.database.begin().await?;
        let budget = store::upsert_budget(
            &mut tx,
            &BudgetRow {
                id: uuid::Uuid::now_v7().to_string(),
                owner_id: caller.user_id.clone(),
                category_id: category.id,
                limit_minor: limit,
                currency,
                created_at: now,
                updated_at: now,
            },
        )
        .await?;
        tx.commit().await?;
        self.invalidate_reports(&caller.user_id).await;
        Ok(budget)
    }

    pub(crate) async fn list_budgets(
        &self,
        caller: &Caller,
        body: ListBudgetsRequest,
    ) -> Result<ListBudgetsResponse, FinanceError> {
        let limit = page_size(body.page_size)?;
        let after = page_after(&body.page_token, 1)?.remove(0);
        let mut rows =
            store::list_budgets(&self.store.database, &caller.user_id, &after, limit + 1).await?;
        let next_page_token = next_page_token(&mut rows, limit, |last| encode_cursor(&[&last.id]));
        Ok(ListBudgetsResponse {
            budgets: rows.iter().map(messages::budget).collect(),
            next_page_token,
        })
    }

    pub(crate) async fn balance(
        &self,
        caller: &Caller,
        account_id: &str,
    ) -> Result<GetBalanceResponse, FinanceError> {
        let now = now_micros();
        let accounts = if account_id.is_empty() {
            store::all_accounts(&self.store.database, &caller.user_id).await?
        } else {
            vec![self.own_account(caller, account_id).await?]
        };
        let mut totals: Vec<Money> = Vec::new();
        for account in &accounts {
            match totals
                .iter_mut()
                .find(|total| total.currency == account.currency)
            {
                Some(total) => {
                    total.amount_minor = total
                        .amount_minor
                        .checked_add(account.balance_minor)
                        .ok_or(FinanceError::OutOfRange(
                            "the total of these balances exceeds the int64 range",
                        ))?;
                }
                None => totals.push(messages::money(account.balance_minor, &account.currency)),
            }
        }
        totals.sort_by(|a, b| a.currency.cmp(&b.currency));
        Ok(GetBalanceResponse {
            accounts: accounts
                .iter()
                .map(|account| AccountBalance {
                    account_id: account.id.clone(),
                    balance: Some(messages::money(account.balance_minor, &account.currency)),
                })
                .collect(),
            totals,
            as_of: Some(timestamp(now)),
        })
    }
}
