//! The two-level cache: single-flight loads, O(1) tag invalidation seen by other processes,
//! and reads that survive Redis being down.

mod common;

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use campus_proto::users::School;
use campus_store::Caches;
use campus_testkit::TestRedis;
use common::{Error, redis, sample};

fn school(name: &str) -> School {
    School {
        id: "s1".into(),
        name: name.into(),
        ..School::default()
    }
}

/// Runs `test` with no Redis, and again on the test Redis when one is configured.
async fn on_every_backend<F, Fut>(test: F) -> Result<(), Error>
where
    F: Fn(Caches, prometheus::Registry) -> Fut,
    Fut: std::future::Future<Output = Result<(), Error>>,
{
    let registry = prometheus::Registry::new();
    test(Caches::new(None, &registry)?, registry).await?;
    let test_redis = TestRedis::start().await?;
    let registry = prometheus::Registry::new();
    let shared = redis(test_redis.url(), test_redis.prefix())?;
    test(Caches::new(Some(shared), &registry)?, registry).await?;
    test_redis.clean().await
}

#[tokio::test]
async fn a_hundred_concurrent_misses_load_once() -> Result<(), Error> {
    on_every_backend(|caches, registry| async move {
        let cache = caches.cache::<School>("schools", 1000);
        let loads = Arc::new(AtomicUsize::new(0));
        let mut calls = Vec::new();
        for _ in 0..100 {
            let (cache, loads) = (cache.clone(), Arc::clone(&loads));
            calls.push(tokio::spawn(async move {
                cache
                    .get_or_load("school:s1", &[], Duration::from_secs(60), || async {
                        loads.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Ok::<_, std::io::Error>(school("Hill"))
                    })
                    .await
            }));
        }
        for call in calls {
            assert_eq!(call.await?.map_err(|e| e.to_string())?.name, "Hill");
        }
        assert_eq!(loads.load(Ordering::SeqCst), 1);
        let misses = sample(
            &registry,
            "campus_cache_requests_total",
            &[r#"level="l1""#, r#"result="miss""#],
        );
        assert_eq!(misses, 1.0);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn loader_errors_reach_the_caller_and_are_not_cached() -> Result<(), Error> {
    on_every_backend(|caches, _| async move {
        let cache = caches.cache::<School>("schools", 1000);
        let failed = cache
            .get_or_load("school:s1", &[], Duration::from_secs(60), || async {
                Err::<School, _>("database down")
            })
            .await;
        assert_eq!(failed.err().map(|e| *e), Some("database down"));
        let loaded = cache
            .get_or_load("school:s1", &[], Duration::from_secs(60), || async {
                Ok::<_, &str>(school("Hill"))
            })
            .await;
        assert_eq!(loaded.map(|s| s.name).ok().as_deref(), Some("Hill"));
        Ok(())
    })
    .await
}

#[tokio::test]
async fn tag_invalidation_reaches_every_value_under_the_tag() -> Result<(), Error> {
    on_every_backend(|caches, _| async move {
        let cache = caches.cache::<School>("school-lists", 1000);
        for page in ["page:1", "page:2"] {
            let value = cache
                .get_or_load(page, &["school:s1"], Duration::from_secs(60), || async {
                    Ok::<_, std::io::Error>(school("old"))
                })
                .await
                .map_err(|e| e.to_string())?;
            assert_eq!(value.name, "old");
        }
        cache.invalidate_tag("school:s1").await;
        for page in ["page:1", "page:2"] {
            let value = cache
                .get_or_load(page, &["school:s1"], Duration::from_secs(60), || async {
                    Ok::<_, std::io::Error>(school("new"))
                })
                .await
                .map_err(|e| e.to_string())?;
            assert_eq!(value.name, "new", "{page} after invalidating its tag");
        }
        Ok(())
    })
    .await
}

#[tokio::test]
async fn invalidation_in_one_process_is_seen_by_another_sharing_redis() -> Result<(), Error> {
    let test_redis = TestRedis::start().await?;
    let (registry_a, registry_b) = (prometheus::Registry::new(), prometheus::Registry::new());
    let a = Caches::new(
        Some(redis(test_redis.url(), test_redis.prefix())?),
        &registry_a,
    )?
    .cache::<School>("schools", 100);
    let b = Caches::new(
        Some(redis(test_redis.url(), test_redis.prefix())?),
        &registry_b,
    )?
    .cache::<School>("schools", 100);
    // No wait for the invalidation listeners to subscribe: until a process hears the channel
    // it keeps L1 entries seconds only, and it drops them when it starts hearing, so a missed
    // message costs at most that long, within the bounded polls below.

    let read = |cache: campus_store::Cache<School>, name: &'static str| async move {
        cache
            .get_or_load(
                "school:s1",
                &["school:s1"],
                Duration::from_secs(300),
                || async move { Ok::<_, std::io::Error>(school(name)) },
            )
            .await
            .map(|school| school.name)
            .map_err(|e| e.to_string())
    };
    assert_eq!(read(a.clone(), "v1").await?, "v1");
    // B's first read is an L2 hit: A's value, not B's loader.
    assert_eq!(read(b.clone(), "unused").await?, "v1");
    assert_eq!(
        sample(
            &registry_b,
            "campus_cache_requests_total",
            &[r#"level="l2""#, r#"result="hit""#]
        ),
        1.0
    );

    // The key: A invalidates, B's next reads load the new value.
    a.invalidate("school:s1", &["school:s1"]).await;
    let mut seen = String::new();
    for _ in 0..1000 {
        seen = read(b.clone(), "v2").await?;
        if seen == "v2" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(seen, "v2", "B still serves the invalidated value");

    // The tag: same, through one INCR.
    a.invalidate_tag("school:s1").await;
    for _ in 0..1000 {
        seen = read(b.clone(), "v3").await?;
        if seen == "v3" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        seen, "v3",
        "B still serves a value under the invalidated tag"
    );
    test_redis.clean().await
}

#[tokio::test]
async fn reads_succeed_from_the_loader_when_redis_is_unreachable() -> Result<(), Error> {
    let registry = prometheus::Registry::new();
    let closed = redis("redis://127.0.0.1:1", "campus-test:")?;
    let cache = Caches::new(Some(closed), &registry)?.cache::<School>("schools", 100);
    for round in 0..3 {
        let started = std::time::Instant::now();
        let value = cache
            .get_or_load(
                &format!("school:{round}"),
                &["school:s1"],
                Duration::from_secs(60),
                || async { Ok::<_, std::io::Error>(school("from the database")) },
            )
            .await
            .map_err(|e| e.to_string())?;
        assert_eq!(value.name, "from the database");
        // Redis's own timeout is 250 ms; a read waiting on a dead Redis (bb8's default wait
        // is 30 s) would take far longer than this bound.
        assert!(started.elapsed() < Duration::from_secs(10));
    }
    cache.invalidate_tag("school:s1").await;
    let errors = sample(
        &registry,
        "campus_cache_errors_total",
        &[r#"cache="schools""#],
    );
    assert!(errors >= 1.0, "Redis errors are counted");
    Ok(())
}

#[tokio::test]
async fn a_ttl_of_zero_reads_the_loader_every_time_and_keeps_nothing() -> Result<(), Error> {
    let test_redis = TestRedis::start().await?;
    let registry = prometheus::Registry::new();
    let shared = redis(test_redis.url(), test_redis.prefix())?;
    for caches in [
        Caches::new(None, &registry)?,
        Caches::new(Some(shared), &prometheus::Registry::new())?,
    ] {
        let cache = caches.cache::<School>("schools", 1000);
        let loads = AtomicUsize::new(0);
        for round in 1..=3 {
            let name = format!("Hill {round}");
            let value = cache
                .get_or_load("school:s1", &["school:s1"], Duration::ZERO, || async {
                    loads.fetch_add(1, Ordering::SeqCst);
                    Ok::<_, std::io::Error>(school(&name))
                })
                .await
                .map_err(|e| e.to_string())?;
            assert_eq!(value.name, name, "round {round} served a kept value");
        }
        assert_eq!(loads.load(Ordering::SeqCst), 3);
    }
    assert_eq!(test_redis.keys().await?, Vec::<String>::new());
    test_redis.clean().await
}
