//! Exactness rules: a transfer whose second leg fails leaves no first leg; bad amounts,
//! currency mismatches, int64 overflow, unknown or foreign accounts are refused and write
//! nothing; retried keys return the first result; closing needs a zero balance.

mod common;

use campus_proto::finance::{
    CloseAccountRequest, CreateTransactionRequest, CreateTransferRequest, DeleteTransactionRequest,
    GetBalanceRequest, ListTransactionsRequest, Money, TransactionKind, UpdateTransactionRequest,
};
use campus_store::on_pool;
use campus_testkit::spawn_campus;
use common::{Error, account, category, code, database, eur, finance_as, user};
use tonic::Code;

#[tokio::test]
async fn a_transfer_whose_second_leg_fails_leaves_no_first_leg() -> Result<(), Error> {
    let campus = spawn_campus().await?;
    let token = user(&campus, "ada").await?;
    let mut client = finance_as(&campus, &token).await?;
    let from = account(&mut client, "Checking", 10_000).await?;
    let closed = account(&mut client, "Old", 0).await?;
    client
        .close_account(CloseAccountRequest {
            account_id: closed.id.clone(),
        })
        .await?;
    let refused = client
        .create_transfer(CreateTransferRequest {
            idempotency_key: "t1".into(),
            from_account_id: from.id.clone(),
            to_account_id: closed.id.clone(),
            amount: eur(2_500),
            ..CreateTransferRequest::default()
        })
        .await;
    assert_eq!(code(refused), Code::FailedPrecondition);
    let balance = client
        .get_balance(GetBalanceRequest {
            account_id: from.id.clone(),
        })
        .await?
        .into_inner();
    assert_eq!(
        balance.accounts[0].balance.as_ref().map(|m| m.amount_minor),
        Some(10_000)
    );
    let database = database(&campus).await?;
    let (transfers, entries): (i64, i64) = on_pool!(&database, pool => {
        sqlx::query_as("SELECT (SELECT COUNT(*) FROM transfers), (SELECT COUNT(*) FROM entries)").fetch_one(pool).await
    })?;
    assert_eq!((transfers, entries), (0, 0));
    database.close().await;
    campus.shutdown().await
}

#[tokio::test]
async fn bad_money_is_refused_and_nothing_is_written() -> Result<(), Error> {
    let campus = spawn_campus().await?;
    let ada = user(&campus, "ada").await?;
    let bob = user(&campus, "bob").await?;
    let mut client = finance_as(&campus, &ada).await?;
    let checking = account(&mut client, "Checking", 100).await?;
    let food = category(&mut client, "Food", TransactionKind::Expense).await?;
    let salary = category(&mut client, "Salary", TransactionKind::Income).await?;
    let mut bobs = finance_as(&campus, &bob).await?;
    let bobs_account = account(&mut bobs, "Bob's", 0).await?;
    let request = |account_id: &str,
                   kind: TransactionKind,
                   category: &str,
                   amount: Option<Money>| CreateTransactionRequest {
        idempotency_key: format!("k-{account_id}-{kind:?}-{amount:?}"),
        account_id: account_id.to_owned(),
        category_id: category.to_owned(),
        kind: kind as i32,
        amount,
        ..CreateTransactionRequest::default()
    };
    let cases = [
        (
            "zero amount",
            request(&checking.id, TransactionKind::Expense, &food, eur(0)),
            Code::InvalidArgument,
        ),
        (
            "negative amount",
            request(&checking.id, TransactionKind::Expense, &food, eur(-5)),
            Code::InvalidArgument,
        ),
        (
            "currency mismatch",
            request(
                &checking.id,
                TransactionKind::Expense,
                &food,
                Some(Money {
                    amount_minor: 5,
                    currency: "USD".into(),
                }),
            ),
            Code::InvalidArgument,
        ),
        (
            "category of the other kind",
            request(&checking.id, TransactionKind::Expense, &salary, eur(5)),
            Code::InvalidArgument,
        ),
        (
            "unknown account",
            request("no-such-account", TransactionKind::Expense, &food, eur(5)),
            Code::NotFound,
        ),
        (
            "another user's account",
            request(&bobs_account.id, TransactionKind::Income, &salary, eur(5)),
            Code::NotFound,
        ),
        (
            "overflow beyond int64",
            request(
                &checking.id,
                TransactionKind::Income,
                &salary,
                eur(i64::MAX),
            ),
            Code::OutOfRange,
        ),
        (
            "a time past the year 9999",
            CreateTransactionRequest {
                occurred_at: Some(campus_runtime::api::Timestamp {
                    seconds: i64::MAX,
                    nanos: 0,
                }),
                ..request(&checking.id, TransactionKind::Expense, &food, eur(5))
            },
            Code::InvalidArgument,
        ),
        (
            "nanos beyond a second",
            CreateTransactionRequest {
                occurred_at: Some(campus_runtime::api::Timestamp {
                    seconds: 1_767_225_600,
                    nanos: -1,
                }),
                ..request(&checking.id, TransactionKind::Expense, &food, eur(6))
            },
            Code::InvalidArgument,
        ),
    ];
    for (what, body, expected) in cases {
        assert_eq!(
            code(client.create_transaction(body).await),
            expected,
            "{what}"
        );
    }
    let balance = client
        .get_balance(GetBalanceRequest {
            account_id: checking.id.clone(),
        })
        .await?
        .into_inner();
    assert_eq!(
        balance.accounts[0].balance.as_ref().map(|m| m.amount_minor),
        Some(100),
        "nothing was written"
    );
    let listed = client
        .list_transactions(ListTransactionsRequest::default())
        .await?
        .into_inner()
        .transactions;
    assert!(listed.is_empty());
    // Bob cannot see Ada's account either.
    assert_eq!(
        code(
            bobs.get_balance(GetBalanceRequest {
                account_id: checking.id.clone()
            })
            .await
        ),
        Code::NotFound
    );
    campus.shutdown().await
}

#[tokio::test]
async fn keys_replay_updates_audit_and_closing_needs_zero() -> Result<(), Error> {
    let campus = spawn_campus().await?;
    let token = user(&campus, "ada").await?;
    let mut client = finance_as(&campus, &token).await?;
    let checking = account(&mut client, "Checking", 0).await?;
    let food = category(&mut client, "Food", TransactionKind::Expense).await?;
    let body = CreateTransactionRequest {
        idempotency_key: "lunch".into(),
        account_id: checking.id.clone(),
        category_id: food.clone(),
        kind: TransactionKind::Expense as i32,
        amount: eur(1_250),
        description: "Lunch".into(),
        ..CreateTransactionRequest::default()
    };
    let first = client.create_transaction(body.clone()).await?.into_inner();
    let again = client.create_transaction(body.clone()).await?.into_inner();
    assert!(!first.replayed && again.replayed);
    assert_eq!(first.transaction, again.transaction);
    let different = client
        .create_transaction(CreateTransactionRequest {
            amount: eur(999),
            ..body.clone()
        })
        .await;
    assert_eq!(code(different), Code::AlreadyExists);

    let closing = client
        .close_account(CloseAccountRequest {
            account_id: checking.id.clone(),
        })
        .await;
    assert_eq!(code(closing), Code::FailedPrecondition, "balance is -1250");

    let transaction = first.transaction.ok_or("no transaction")?;
    let updated = client
        .update_transaction(UpdateTransactionRequest {
            transaction_id: transaction.id.clone(),
            version: transaction.version,
            amount: eur(2_000),
            ..UpdateTransactionRequest::default()
        })
        .await?
        .into_inner()
        .transaction
        .ok_or("no transaction")?;
    assert_eq!(updated.version, transaction.version + 1);
    let stale = client
        .update_transaction(UpdateTransactionRequest {
            transaction_id: transaction.id.clone(),
            version: transaction.version,
            ..UpdateTransactionRequest::default()
        })
        .await;
    assert_eq!(code(stale), Code::FailedPrecondition);
    let balance = client
        .get_balance(GetBalanceRequest {
            account_id: checking.id.clone(),
        })
        .await?
        .into_inner();
    assert_eq!(
        balance.accounts[0].balance.as_ref().map(|m| m.amount_minor),
        Some(-2_000)
    );

    client
        .delete_transaction(DeleteTransactionRequest {
            transaction_id: transaction.id.clone(),
            version: updated.version,
        })
        .await?;
    let balance = client
        .get_balance(GetBalanceRequest {
            account_id: checking.id.clone(),
        })
        .await?
        .into_inner();
    assert_eq!(
        balance.accounts[0].balance.as_ref().map(|m| m.amount_minor),
        Some(0)
    );
    client
        .close_account(CloseAccountRequest {
            account_id: checking.id.clone(),
        })
        .await?;

    let database = database(&campus).await?;
    let audit: Vec<String> = on_pool!(&database, pool => {
        sqlx::query_scalar("SELECT action FROM transaction_audit ORDER BY at").fetch_all(pool).await
    })?;
    assert_eq!(
        audit,
        ["update", "delete"],
        "update and delete keep the previous values"
    );
    assert!(campus_finance::reconcile(&database).await?.is_clean());
    database.close().await;
    campus.shutdown().await
}
