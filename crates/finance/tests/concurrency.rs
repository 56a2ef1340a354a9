//! 8 tasks × 500 random transactions and transfers at once, 10 % of them sent twice with the
//! same idempotency key: balances equal the model, the ledger reconciles, no row is doubled.

mod common;

use std::collections::HashMap;

use campus_proto::finance::{
    CreateTransactionRequest, CreateTransferRequest, GetBalanceRequest, TransactionKind,
};
use campus_store::on_pool;
use campus_testkit::spawn_campus;
use common::{Error, account, category, database, eur, finance_as, user};

/// One operation of the model.
#[derive(Debug, Clone)]
enum Op {
    Income { account: usize, amount: i64 },
    Expense { account: usize, amount: i64 },
    Transfer { from: usize, to: usize, amount: i64 },
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_with_retries_match_the_model_and_reconcile() -> Result<(), Error> {
    let campus = spawn_campus().await?;
    let token = user(&campus, "ada").await?;
    let mut client = finance_as(&campus, &token).await?;
    let mut accounts = Vec::new();
    for (name, opening) in [("Checking", 100_000), ("Savings", 50_000), ("Cash", 0)] {
        accounts.push(account(&mut client, name, opening).await?.id);
    }
    let salary = category(&mut client, "Salary", TransactionKind::Income).await?;
    let food = category(&mut client, "Food", TransactionKind::Expense).await?;
    let mut expected: Vec<i64> = vec![100_000, 50_000, 0];

    let mut rng = fastrand::Rng::with_seed(7);
    let mut plans: Vec<Vec<(String, Op, bool)>> = Vec::new();
    let (mut transactions, mut transfers) = (0, 0);
    for task in 0..8 {
        let mut plan = Vec::new();
        for n in 0..500 {
            let amount = rng.i64(1..10_000);
            let op = match rng.u8(0..3) {
                0 => Op::Income {
                    account: rng.usize(0..3),
                    amount,
                },
                1 => Op::Expense {
                    account: rng.usize(0..3),
                    amount,
                },
                _ => {
                    let from = rng.usize(0..3);
                    Op::Transfer {
                        from,
                        to: (from + 1 + rng.usize(0..2)) % 3,
                        amount,
                    }
                }
            };
            match &op {
                Op::Income { account, amount } => {
                    expected[*account] += amount;
                    transactions += 1;
                }
                Op::Expense { account, amount } => {
                    expected[*account] -= amount;
                    transactions += 1;
                }
                Op::Transfer { from, to, amount } => {
                    expected[*from] -= amount;
                    expected[*to] += amount;
                    transfers += 1;
                }
            }
            plan.push((format!("op-{task}-{n}"), op, rng.u8(0..10) == 0));
        }
        plans.push(plan);
    }

    let mut tasks = Vec::new();
    for plan in plans {
        let (channel, accounts, salary, food) = (
            campus.channel_as(&token).await?,
            accounts.clone(),
            salary.clone(),
            food.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let client =
                campus_proto::finance::finance_service_client::FinanceServiceClient::new(channel);
            for (key, op, twice) in plan {
                let send = || {
                    let mut client = client.clone();
                    let (key, op, accounts, salary, food) = (
                        key.clone(),
                        op.clone(),
                        accounts.clone(),
                        salary.clone(),
                        food.clone(),
                    );
                    async move {
                        match op {
                            Op::Income { account, amount } | Op::Expense { account, amount } => {
                                let income = matches!(op, Op::Income { .. });
                                client
                                    .create_transaction(CreateTransactionRequest {
                                        idempotency_key: key,
                                        account_id: accounts[account].clone(),
                                        category_id: if income { salary } else { food },
                                        kind: if income {
                                            TransactionKind::Income
                                        } else {
                                            TransactionKind::Expense
                                        } as i32,
                                        amount: eur(amount),
                                        ..CreateTransactionRequest::default()
                                    })
                                    .await
                                    .map(|_| ())
                            }
                            Op::Transfer { from, to, amount } => client
                                .create_transfer(CreateTransferRequest {
                                    idempotency_key: key,
                                    from_account_id: accounts[from].clone(),
                                    to_account_id: accounts[to].clone(),
                                    amount: eur(amount),
                                    ..CreateTransferRequest::default()
                                })
                                .await
                                .map(|_| ()),
                        }
                    }
                };
                if twice {
                    let (first, second) = tokio::join!(send(), send());
                    first?;
                    second?;
                } else {
                    send().await?;
                }
            }
            Ok::<_, tonic::Status>(())
        }));
    }
    for task in tasks {
        task.await??;
    }

    let balances = client
        .get_balance(GetBalanceRequest {
            account_id: String::new(),
        })
        .await?
        .into_inner();
    let by_account: HashMap<String, i64> = balances
        .accounts
        .into_iter()
        .map(|b| (b.account_id, b.balance.map_or(0, |m| m.amount_minor)))
        .collect();
    for (index, id) in accounts.iter().enumerate() {
        assert_eq!(
            by_account.get(id),
            Some(&expected[index]),
            "account {index}"
        );
    }
    assert_eq!(
        balances.totals[0].amount_minor,
        expected.iter().sum::<i64>()
    );

    let database = database(&campus).await?;
    let found = campus_finance::reconcile(&database).await?;
    assert!(found.is_clean(), "{found:?}");
    let (rows, transfer_rows): (i64, i64) = on_pool!(&database, pool => {
        sqlx::query_as("SELECT (SELECT COUNT(*) FROM transactions), (SELECT COUNT(*) FROM transfers)").fetch_one(pool).await
    })?;
    assert_eq!(
        (rows, transfer_rows),
        (transactions, transfers),
        "no duplicate rows"
    );
    database.close().await;
    campus.shutdown().await
}
