//! Events end to end: the outbox commits with the change, the relay survives a crash
//! (at least once) while consumers handle each event once, Redis Streams consumer groups
//! share work without losing or repeating events, dead letters, and live resume.

mod common;

use std::time::Duration;

use campus_proto::events::EnrollmentCreated;
use campus_store::{
    Store, Tx,
    events::{EventEnvelope, EventHandler, HandlerError, Relay, outbox::envelope},
    on_pool, on_tx,
};
use campus_testkit::{TestDatabase, TestRedis};
use common::{Error, sample, store};
use futures::StreamExt as _;
use prost::Message as _;

/// Records each handled event in `test_handled` (no unique key: a repeat would show).
#[derive(Debug, Clone, Copy)]
struct RecordHandled;

#[async_trait::async_trait]
impl EventHandler for RecordHandled {
    async fn handle(&self, tx: &mut Tx, event: &EventEnvelope) -> Result<(), HandlerError> {
        on_tx!(tx, conn => {
            sqlx::query("INSERT INTO test_handled (event_id) VALUES ($1)")
                .bind(&event.event_id)
                .execute(conn)
                .await
                .map(|_| ())
        })?;
        Ok(())
    }
}

/// Fails every time.
#[derive(Debug, Clone, Copy)]
struct AlwaysFails;

#[async_trait::async_trait]
impl EventHandler for AlwaysFails {
    async fn handle(&self, _tx: &mut Tx, _event: &EventEnvelope) -> Result<(), HandlerError> {
        Err(HandlerError::Other("refused".into()))
    }
}

fn enrollment(n: usize) -> EnrollmentCreated {
    EnrollmentCreated {
        enrollment_id: format!("enrollment-{n}"),
        course_id: "course-1".into(),
        user_id: format!("user-{n}"),
        school_id: "school-1".into(),
        ..EnrollmentCreated::default()
    }
}

async fn create_handled_table(store: &Store) -> Result<(), Error> {
    on_pool!(&store.database, pool => {
        sqlx::query("CREATE TABLE test_handled (event_id TEXT NOT NULL)")
            .execute(pool)
            .await
            .map(|_| ())
    })?;
    Ok(())
}

async fn handled(store: &Store) -> Result<(i64, i64), Error> {
    let counts: (i64, i64) = on_pool!(&store.database, pool => {
        sqlx::query_as("SELECT COUNT(*), COUNT(DISTINCT event_id) FROM test_handled")
            .fetch_one(pool)
            .await
    })?;
    Ok(counts)
}

async fn unsent(store: &Store) -> Result<i64, Error> {
    let count: i64 = on_pool!(&store.database, pool => {
        sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL")
            .fetch_one(pool)
            .await
    })?;
    Ok(count)
}

/// Waits up to `limit` for `condition` to hold.
async fn eventually<F, Fut>(limit: Duration, mut condition: F) -> Result<bool, Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<bool, Error>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if condition().await? {
            return Ok(true);
        }
        if tokio::time::Instant::now() > deadline {
            return Ok(false);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Every combination this run can test: (database, Redis or not).
async fn setups() -> Result<Vec<(TestDatabase, Option<TestRedis>)>, Error> {
    let mut setups = vec![(TestDatabase::sqlite()?, None)];
    if let Some(database) = TestDatabase::postgres().await? {
        setups.push((database, None));
    }
    setups.push((
        TestDatabase::preferred().await?,
        Some(TestRedis::start().await?),
    ));
    Ok(setups)
}

#[tokio::test]
async fn events_exist_exactly_when_their_transaction_commits() -> Result<(), Error> {
    for (database, _) in setups().await? {
        let store = store(&database, None, &prometheus::Registry::new()).await?;
        let mut rolled_back = store.database.begin().await?;
        rolled_back
            .publish("enrollment-1", "school-1", &enrollment(1))
            .await?;
        drop(rolled_back);
        assert_eq!(
            unsent(&store).await?,
            0,
            "a rolled-back event must not exist"
        );

        let mut tx = store.database.begin().await?;
        tx.publish("enrollment-2", "school-1", &enrollment(2))
            .await?;
        tx.commit().await?;
        assert_eq!(unsent(&store).await?, 1);
        assert_eq!(store.relay().relay_once().await?, 1);
        assert_eq!(unsent(&store).await?, 0);
        assert_eq!(store.relay().relay_once().await?, 0);
    }
    Ok(())
}

#[tokio::test]
async fn a_relay_crash_before_mark_sent_redelivers_and_the_consumer_handles_once()
-> Result<(), Error> {
    for (database, redis) in setups().await? {
        let registry = prometheus::Registry::new();
        let store = store(&database, redis.as_ref(), &registry).await?;
        create_handled_table(&store).await?;
        store
            .consumer("progress", &["enrollment"], RecordHandled)
            .start(&store.bus, std::future::pending())
            .await;
        let mut tx = store.database.begin().await?;
        tx.publish("enrollment-1", "school-1", &enrollment(1))
            .await?;
        tx.commit().await?;

        // The crashed relay: it published the row, then died before marking it sent.
        let rows: Vec<Vec<u8>> = on_pool!(&store.database, pool => {
            sqlx::query_scalar("SELECT envelope FROM outbox WHERE sent_at IS NULL")
                .fetch_all(pool)
                .await
        })?;
        let envelopes = rows
            .iter()
            .map(|row| EventEnvelope::decode(row.as_slice()))
            .collect::<Result<Vec<_>, _>>()?;
        store.bus.publish(&envelopes).await?;
        assert_eq!(unsent(&store).await?, 1);

        // After restart, a new relay publishes it again.
        assert_eq!(
            Relay::new(store.database.clone(), store.bus.clone())
                .relay_once()
                .await?,
            1
        );
        let duplicates = || {
            sample(
                &registry,
                "campus_events_consumed_total",
                &[r#"outcome="duplicate""#],
            )
        };
        assert!(
            eventually(Duration::from_secs(10), || async {
                Ok(duplicates() >= 1.0)
            })
            .await?,
            "the redelivery never reached the consumer"
        );
        assert_eq!(
            handled(&store).await?,
            (1, 1),
            "handled once despite two deliveries"
        );
        if let Some(redis) = redis {
            redis.clean().await?;
        }
    }
    Ok(())
}

#[tokio::test]
async fn ten_thousand_events_through_redis_streams_are_each_handled_once_by_a_group_of_two()
-> Result<(), Error> {
    let redis = TestRedis::start().await?;
    let database = TestDatabase::preferred().await?;
    let registry = prometheus::Registry::new();
    let store = store(&database, Some(&redis), &registry).await?;
    create_handled_table(&store).await?;
    // Two members of one group, each with its own connection, as two replicas would be.
    for _ in 0..2 {
        store
            .consumer("progress", &["enrollment"], RecordHandled)
            .start(&store.bus, std::future::pending())
            .await;
    }
    for batch in 0..10 {
        let mut tx = store.database.begin().await?;
        for n in 0..1000 {
            let event = enrollment(batch * 1000 + n);
            tx.publish(&event.enrollment_id, "school-1", &event).await?;
        }
        tx.commit().await?;
    }
    let relay = store.relay();
    while relay.relay_once().await? > 0 {}
    assert_eq!(unsent(&store).await?, 0);

    let all_handled = eventually(Duration::from_secs(180), || async {
        Ok(handled(&store).await?.0 >= 10_000)
    })
    .await?;
    assert!(
        all_handled,
        "handled only {:?} of 10000",
        handled(&store).await?
    );
    // Nothing more arrives later.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(handled(&store).await?, (10_000, 10_000));
    redis.clean().await
}

#[tokio::test]
async fn a_failing_handler_dead_letters_the_event_after_its_attempts() -> Result<(), Error> {
    for (database, redis) in setups().await? {
        let registry = prometheus::Registry::new();
        let store = store(&database, redis.as_ref(), &registry).await?;
        store
            .consumer("finance", &["enrollment"], AlwaysFails)
            .with_retries(3, Duration::from_millis(5))
            .start(&store.bus, std::future::pending())
            .await;
        let mut tx = store.database.begin().await?;
        tx.publish("enrollment-1", "school-1", &enrollment(1))
            .await?;
        tx.commit().await?;
        store.relay().relay_once().await?;
        let dead = || {
            sample(
                &registry,
                "campus_events_consumed_total",
                &[r#"outcome="dead_lettered""#],
            )
        };
        assert!(eventually(Duration::from_secs(10), || async { Ok(dead() == 1.0) }).await?);
        assert_eq!(
            sample(
                &registry,
                "campus_events_consumed_total",
                &[r#"outcome="retried""#]
            ),
            2.0
        );
        if let (Some(test_redis), Some(shared)) = (&redis, &store.redis) {
            let client = redis::Client::open(test_redis.url())?;
            let mut connection = client.get_multiplexed_async_connection().await?;
            let length: u64 = redis::cmd("XLEN")
                .arg(shared.key("events-dead:finance"))
                .query_async(&mut connection)
                .await?;
            assert_eq!(length, 1, "the event is in the dead-letter stream");
            test_redis.clean().await?;
        }
    }
    Ok(())
}

#[tokio::test]
async fn a_live_subscriber_resuming_from_an_event_gets_every_later_event_in_order()
-> Result<(), Error> {
    for (database, redis) in setups().await? {
        let store = store(&database, redis.as_ref(), &prometheus::Registry::new()).await?;
        let mut first = store.bus.subscribe_live("enrollment", None).await?;
        let published: Vec<EventEnvelope> = (0..10)
            .map(|n| envelope(&format!("enrollment-{n}"), "school-1", &enrollment(n)))
            .collect();
        store.bus.publish(&published).await?;
        let mut seen = Vec::new();
        for _ in 0..10 {
            let event = tokio::time::timeout(Duration::from_secs(5), first.next())
                .await?
                .ok_or("live feed ended")??;
            seen.push(event);
        }
        let ids: Vec<&str> = seen
            .iter()
            .map(|event| event.envelope.event_id.as_str())
            .collect();
        let expected: Vec<&str> = published
            .iter()
            .map(|event| event.event_id.as_str())
            .collect();
        assert_eq!(ids, expected, "live events arrive in publish order");

        // A client that disconnected after the third event resumes from its token.
        let token = seen[2].position.to_string();
        let mut resumed = store.bus.subscribe_live("enrollment", Some(&token)).await?;
        let more: Vec<EventEnvelope> = (10..12)
            .map(|n| envelope(&format!("enrollment-{n}"), "school-1", &enrollment(n)))
            .collect();
        store.bus.publish(&more).await?;
        let mut after = Vec::new();
        for _ in 0..9 {
            let event = tokio::time::timeout(Duration::from_secs(5), resumed.next())
                .await?
                .ok_or("live feed ended")??;
            after.push(event.envelope.event_id.clone());
        }
        let expected_after: Vec<String> = published[3..]
            .iter()
            .chain(&more)
            .map(|event| event.event_id.clone())
            .collect();
        assert_eq!(
            after, expected_after,
            "every event after the token, once, in order"
        );
        if let Some(redis) = redis {
            redis.clean().await?;
        }
    }
    Ok(())
}

#[tokio::test]
async fn an_invalid_resume_token_is_refused() -> Result<(), Error> {
    let database = TestDatabase::sqlite()?;
    let store = store(&database, None, &prometheus::Registry::new()).await?;
    assert!(
        store
            .bus
            .subscribe_live("enrollment", Some("not-a-token"))
            .await
            .is_err()
    );
    assert!(
        store
            .bus
            .subscribe_live("enrollment", Some("0-99"))
            .await
            .is_err()
    );
    Ok(())
}

#[tokio::test]
async fn entries_left_pending_by_a_dead_member_are_claimed_and_handled() -> Result<(), Error> {
    let redis = TestRedis::start().await?;
    let database = TestDatabase::preferred().await?;
    let store = store(&database, Some(&redis), &prometheus::Registry::new()).await?;
    create_handled_table(&store).await?;
    let shared = store.redis.clone().ok_or("no Redis in the store")?;
    let stream = shared.key("events:enrollment");
    let client = redis::Client::open(redis.url())?;
    let mut connection = client.get_multiplexed_async_connection().await?;
    redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(&stream)
        .arg("progress")
        .arg("0")
        .arg("MKSTREAM")
        .query_async::<()>(&mut connection)
        .await?;
    store
        .bus
        .publish(&[envelope("enrollment-1", "school-1", &enrollment(1))])
        .await?;
    // A member reads the entry, then dies without acknowledging it.
    let _: redis::Value = redis::cmd("XREADGROUP")
        .arg("GROUP")
        .arg("progress")
        .arg("dead-member")
        .arg("COUNT")
        .arg(10)
        .arg("STREAMS")
        .arg(&stream)
        .arg(">")
        .query_async(&mut connection)
        .await?;

    store
        .consumer("progress", &["enrollment"], RecordHandled)
        .with_claim_idle(Duration::from_millis(200))
        .start(&store.bus, std::future::pending())
        .await;
    let claimed = eventually(Duration::from_secs(10), || async {
        Ok(handled(&store).await?.0 == 1)
    })
    .await?;
    assert!(claimed, "the pending entry was never claimed");
    // The acknowledgement follows the handler's commit: wait for it, do not race it.
    let acknowledged = eventually(Duration::from_secs(10), || {
        let (stream, mut connection) = (stream.clone(), connection.clone());
        async move {
            let pending: (u64, redis::Value, redis::Value, redis::Value) = redis::cmd("XPENDING")
                .arg(&stream)
                .arg("progress")
                .query_async(&mut connection)
                .await?;
            Ok(pending.0 == 0)
        }
    })
    .await?;
    assert!(acknowledged, "the claimed entry was never acknowledged");
    redis.clean().await
}

#[tokio::test]
async fn sent_outbox_rows_are_pruned_after_the_retention() -> Result<(), Error> {
    let database = TestDatabase::sqlite()?;
    let store = store(&database, None, &prometheus::Registry::new()).await?;
    let mut tx = store.database.begin().await?;
    tx.publish("enrollment-1", "school-1", &enrollment(1))
        .await?;
    tx.publish("enrollment-2", "school-1", &enrollment(2))
        .await?;
    tx.commit().await?;
    let mut relay = store.relay();
    assert_eq!(relay.prune().await?, 0, "unsent rows are never pruned");
    relay.relay_once().await?;
    assert_eq!(
        relay.prune().await?,
        0,
        "sent rows are kept for the retention period"
    );
    relay.retention = Duration::ZERO;
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert_eq!(relay.prune().await?, 2);
    Ok(())
}

#[tokio::test]
async fn a_live_subscriber_that_falls_behind_is_told_to_resume() -> Result<(), Error> {
    let database = TestDatabase::sqlite()?;
    let store = store(&database, None, &prometheus::Registry::new()).await?;
    let mut slow = store.bus.subscribe_live("enrollment", None).await?;
    // More events than a subscriber's buffer, while it reads nothing; the writer is not held up.
    let events: Vec<EventEnvelope> = (0..1100)
        .map(|n| envelope(&format!("enrollment-{n}"), "school-1", &enrollment(n)))
        .collect();
    tokio::time::timeout(Duration::from_secs(5), store.bus.publish(&events)).await??;
    let mut outcome = None;
    while let Some(item) = slow.next().await {
        if let Err(error) = item {
            outcome = Some(error);
            break;
        }
    }
    let lagged = outcome.ok_or("the slow subscriber was never told")?;
    assert!(
        matches!(lagged, campus_store::events::LiveError::Lagged(_)),
        "the slow subscriber is told it fell behind: {lagged:?}"
    );
    // What a watching client gets: RESOURCE_EXHAUSTED, reason STREAM_LAGGED, resume at once.
    let status = tonic::Status::from(lagged);
    assert_eq!(status.code(), tonic::Code::ResourceExhausted);
    let details = tonic_types::StatusExt::get_error_details(&status);
    assert_eq!(
        details.error_info().map(|info| info.reason.as_str()),
        Some("STREAM_LAGGED")
    );
    assert_eq!(
        details.retry_info().and_then(|retry| retry.retry_delay),
        Some(Duration::ZERO)
    );
    Ok(())
}
