//! The one idempotency path: a retry gets the first answer, a different request under the
//! same id is refused, two identical requests racing write once and answer alike, an
//! answer past the retention period is neither recalled nor kept, and a batch stores its new
//! keys, leaves live ones to their writer and replaces expired ones.

mod common;

use std::{sync::Arc, time::Duration};

use campus_proto::events::UserCreated;
use campus_store::{
    Database, Tx,
    idempotency::{Answer, Idempotency, KeyReused, Request},
    on_pool, on_tx,
};
use campus_testkit::TestDatabase;
use common::{Error, database};

/// What the test writes return: a storage error or a reused key.
#[derive(Debug, thiserror::Error)]
enum WriteError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Reused(#[from] KeyReused),
}

/// A request body: who is created.
fn body(name: &str) -> UserCreated {
    UserCreated {
        user_id: name.to_owned(),
        ..UserCreated::default()
    }
}

/// Writes one row for `name` (its primary key makes a second write of it fail) and answers
/// with a fresh id, so a replay is told from a new write by the answer.
async fn write_row(mut tx: Tx, name: String) -> Result<(Tx, UserCreated), WriteError> {
    on_tx!(&mut tx, conn => {
        sqlx::query("INSERT INTO processed_events (consumer, event_id, processed_at) VALUES ('test', $1, 0)")
            .bind(&name)
            .execute(conn)
            .await
            .map(|_| ())
    })?;
    Ok((
        tx,
        UserCreated {
            user_id: name,
            display_name: uuid::Uuid::now_v7().to_string(),
            ..UserCreated::default()
        },
    ))
}

async fn create(
    keys: &Idempotency,
    key: &str,
    name: &str,
) -> Result<Answer<UserCreated>, WriteError> {
    let request = Request::new("test.Create", key, &body(name));
    let name = name.to_owned();
    keys.write(&request, |tx| write_row(tx, name)).await
}

async fn rows(database: &Database) -> Result<i64, Error> {
    Ok(on_pool!(database, pool => {
        sqlx::query_scalar("SELECT COUNT(*) FROM processed_events WHERE consumer = 'test'")
            .fetch_one(pool)
            .await
    })?)
}

#[tokio::test]
async fn a_retry_replays_and_a_different_request_is_refused() -> Result<(), Error> {
    for test_database in TestDatabase::all().await? {
        let database = database(test_database.url()).await?;
        let keys = Idempotency::new(database.clone(), Duration::from_secs(60));
        let first = create(&keys, "k1", "ada").await?;
        assert!(!first.replayed);
        let again = create(&keys, "k1", "ada").await?;
        assert!(again.replayed, "on {}", test_database.url());
        assert_eq!(
            again.response, first.response,
            "the first answer, not a new one"
        );
        assert!(matches!(
            create(&keys, "k1", "bob").await,
            Err(WriteError::Reused(KeyReused))
        ));
        // Without a key nothing is stored: the write runs as asked.
        assert!(!create(&keys, "", "cyd").await?.replayed);
        assert_eq!(rows(&database).await?, 2);
    }
    Ok(())
}

#[tokio::test]
async fn two_identical_requests_racing_write_once_and_answer_alike() -> Result<(), Error> {
    for test_database in TestDatabase::all().await? {
        let database = database(test_database.url()).await?;
        let keys = Idempotency::new(database.clone(), Duration::from_secs(60));
        // Both pass the first recall before either writes: the race the unique key settles.
        let both_recalled = Arc::new(tokio::sync::Barrier::new(2));
        let race = |keys: Idempotency, both_recalled: Arc<tokio::sync::Barrier>| async move {
            let request = Request::new("test.Create", "k2", &body("eve"));
            keys.write(&request, |tx| async move {
                both_recalled.wait().await;
                write_row(tx, "eve".to_owned()).await
            })
            .await
        };
        let (a, b) = if matches!(database, Database::Sqlite(_)) {
            // SQLite has one writer: the second waits for the first to finish instead of
            // racing it, and its recall finds the answer.
            let a = race(keys.clone(), Arc::new(tokio::sync::Barrier::new(1))).await;
            let b = race(keys.clone(), Arc::new(tokio::sync::Barrier::new(1))).await;
            (a, b)
        } else {
            tokio::join!(
                race(keys.clone(), Arc::clone(&both_recalled)),
                race(keys.clone(), Arc::clone(&both_recalled))
            )
        };
        let (a, b) = (a?, b?);
        assert_eq!(a.response, b.response, "on {}", test_database.url());
        assert!(a.replayed != b.replayed, "one wrote, the other replayed");
        assert_eq!(rows(&database).await?, 1, "written once");
    }
    Ok(())
}

#[tokio::test]
async fn an_answer_past_the_retention_is_forgotten_and_pruned() -> Result<(), Error> {
    for test_database in TestDatabase::all().await? {
        let database = database(test_database.url()).await?;
        let keys = Idempotency::new(database.clone(), Duration::from_millis(1));
        let first = create(&keys, "k3", "fay").await?;
        // Past the retention (1 ms) the key is free again: the clock only has to move on.
        tokio::time::sleep(Duration::from_millis(5)).await;
        let request = Request::new("test.Create", "k3", &body("gus"));
        let later = keys
            .write(&request, |tx| write_row(tx, "gus".to_owned()))
            .await?;
        assert!(!later.replayed, "an expired key is not recalled");
        assert_ne!(later.response, first.response);
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert_eq!(keys.prune().await?, 1, "the expired answer is deleted");
        assert_eq!(keys.prune().await?, 0);
    }
    Ok(())
}

#[tokio::test]
async fn a_batch_stores_new_keys_skips_live_ones_and_replaces_expired_ones() -> Result<(), Error> {
    for test_database in TestDatabase::all().await? {
        let database = database(test_database.url()).await?;
        let keys = Idempotency::new(database.clone(), Duration::from_millis(200));
        create(&keys, "old", "old").await?;
        tokio::time::sleep(Duration::from_millis(250)).await;
        create(&keys, "live", "live").await?;

        let names: Vec<String> = (0..1_500).map(|n| format!("new-{n}")).collect();
        let mut all: Vec<&str> = names.iter().map(String::as_str).collect();
        all.extend(["old", "live"]);
        let bodies: Vec<UserCreated> = all.iter().map(|name| body(name)).collect();
        let requests: Vec<Request<'_>> = all
            .iter()
            .zip(&bodies)
            .map(|(key, body)| Request::new("test.Create", key, body))
            .collect();

        let mut tx = database.begin().await?;
        let recalled = keys
            .recall_many_in::<UserCreated>(&mut tx, &requests)
            .await?;
        assert_eq!(
            recalled.keys().map(String::as_str).collect::<Vec<_>>(),
            ["live"],
            "only the live key is recalled"
        );
        let answers: Vec<(Request<'_>, UserCreated)> = requests
            .iter()
            .map(|request| (request.clone(), body(request.key())))
            .collect();
        let stored = keys.remember_many(&mut tx, &answers).await?;
        tx.commit().await?;
        assert_eq!(stored.len(), 1_501, "every new key and the expired one");
        assert!(stored.contains("old") && !stored.contains("live"));

        let old = Request::new("test.Create", "old", &body("old"));
        let replaced = keys.recall::<UserCreated>(&old).await?;
        assert_eq!(
            replaced.and_then(Result::ok),
            Some(body("old")),
            "the expired answer was replaced by the batch's"
        );
    }
    Ok(())
}
