//! The cache every service reads through: L1 in process (moka), L2 in Redis when configured,
//! then the loader (the database).
//!
//! - **Cache-aside**: [`Cache::get_or_load`] returns the cached value or runs the loader once
//!   (single-flight: concurrent misses of one key wait for one load) and fills both levels.
//! - **Invalidation in O(1)**: a value may carry tags (`school:S`); its key includes each
//!   tag's version, so [`Cache::invalidate_tag`] bumps one counter and every value under the
//!   tag becomes unreachable at once (and expires by TTL). No `KEYS`/`SCAN`.
//! - **Across replicas**: invalidations are published on a Redis channel; every process
//!   applies them to its L1. When the channel is lost, each process drops its L1 and, until
//!   it is back, keeps L1 entries at most two seconds: a change made on another replica is
//!   seen within seconds while Redis is down, not after the TTL. When it is back, L1 is
//!   dropped again (messages may have been missed).
//! - **Redis trouble is not the caller's trouble**: every Redis call is bounded by
//!   `CAMPUS_REDIS_TIMEOUT`; a failure is logged and counted, the read falls through to the
//!   loader, and Redis is skipped for a second before being tried again. A Redis that refuses
//!   connections is answered at once, not after the timeout.

use std::{
    collections::HashMap,
    future::Future,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use campus_runtime::backoff::Backoff;
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};

use crate::Redis;

/// Counters and histogram of every cache of a process, labelled by cache name.
#[derive(Debug, Clone)]
struct CacheMetrics {
    requests: IntCounterVec,
    errors: IntCounterVec,
    load: HistogramVec,
}

impl CacheMetrics {
    fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let requests = IntCounterVec::new(
            Opts::new(
                "campus_cache_requests_total",
                "Cache lookups by cache, level (l1, l2) and result (hit, miss).",
            ),
            &["cache", "level", "result"],
        )?;
        let errors = IntCounterVec::new(
            Opts::new(
                "campus_cache_errors_total",
                "Redis errors the cache absorbed, by operation.",
            ),
            &["cache", "operation"],
        )?;
        let load = HistogramVec::new(
            HistogramOpts::new(
                "campus_cache_load_seconds",
                "Time the loader took on a miss.",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
            ]),
            &["cache"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(errors.clone()))?;
        registry.register(Box::new(load.clone()))?;
        Ok(Self {
            requests,
            errors,
            load,
        })
    }
}

/// A value in L1, with the TTL it was stored with.
struct L1Entry<T> {
    value: T,
    ttl: Duration,
}

type L1<T> = moka::future::Cache<String, Arc<L1Entry<T>>>;

/// Expires each L1 entry after its own TTL.
struct PerEntryTtl;

impl<T> moka::Expiry<String, Arc<L1Entry<T>>> for PerEntryTtl {
    fn expire_after_create(
        &self,
        _key: &String,
        value: &Arc<L1Entry<T>>,
        _created_at: std::time::Instant,
    ) -> Option<Duration> {
        Some(value.ttl)
    }
}

/// What an invalidation from another process does to an L1, whatever its value type.
#[async_trait::async_trait]
trait Invalidate: Send + Sync {
    async fn invalidate(&self, full_key: &str);
    fn invalidate_all(&self);
}

#[async_trait::async_trait]
impl<T: Clone + Send + Sync + 'static> Invalidate for L1<T> {
    async fn invalidate(&self, full_key: &str) {
        moka::future::Cache::invalidate(self, full_key).await;
    }

    fn invalidate_all(&self) {
        moka::future::Cache::invalidate_all(self);
    }
}

/// The caches of one process, sharing Redis, metrics and the invalidation channel.
#[derive(Debug, Clone)]
pub struct Caches {
    shared: Arc<Shared>,
}

struct Shared {
    redis: Option<Redis>,
    metrics: CacheMetrics,
    /// Each cache's L1 by name, so invalidations from other processes find it. A std mutex:
    /// only held to insert or look up, never across an await.
    l1s: Mutex<HashMap<&'static str, Arc<dyn Invalidate>>>,
    /// Tag versions: authoritative here without Redis; a local copy of Redis's with it.
    tag_versions: Mutex<HashMap<String, u64>>,
    /// When the local tag versions were last known to match Redis (see `tag_version`).
    tag_versions_fresh: Mutex<Option<Instant>>,
    /// Unix milliseconds until which Redis is skipped after a failure.
    redis_down_until: AtomicU64,
    /// Whether this process hears other processes' invalidations (subscribed to the
    /// channel). While it does not, L1 entries live at most [`UNHEARD_L1_TTL`].
    hearing: AtomicBool,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caches")
            .field("redis", &self.redis.is_some())
            .finish_non_exhaustive()
    }
}

/// How long local copies of tag versions are trusted before being read from Redis again, a
/// bound on staleness if an invalidation message is lost.
const TAG_VERSION_TTL: Duration = Duration::from_secs(30);
/// How long Redis is skipped after it failed.
const REDIS_PAUSE: Duration = Duration::from_secs(1);
/// The longest an L1 entry lives while the invalidation channel is down: how stale another
/// replica's change can be seen here until the channel is back (then L1 is dropped).
const UNHEARD_L1_TTL: Duration = Duration::from_secs(2);

impl Caches {
    /// The caches of a process; with Redis, also starts the invalidation listener.
    pub fn new(redis: Option<Redis>, registry: &Registry) -> Result<Self, prometheus::Error> {
        let shared = Arc::new(Shared {
            redis,
            metrics: CacheMetrics::register(registry)?,
            l1s: Mutex::default(),
            tag_versions: Mutex::default(),
            tag_versions_fresh: Mutex::new(Some(Instant::now())),
            redis_down_until: AtomicU64::new(0),
            hearing: AtomicBool::new(false),
        });
        if shared.redis.is_some() {
            tokio::spawn(listen_for_invalidations(Arc::downgrade(&shared)));
        }
        Ok(Self { shared })
    }

    /// The cache named `name` (`courses`, `course-lists`, …) of `T` values, holding up to
    /// `capacity` of them in L1. Call once per name.
    pub fn cache<T>(&self, name: &'static str, capacity: u64) -> Cache<T>
    where
        T: prost::Message + Default + Clone + Send + Sync + 'static,
    {
        let l1: L1<T> = moka::future::Cache::builder()
            .max_capacity(capacity)
            .expire_after(PerEntryTtl)
            .build();
        if let Ok(mut l1s) = self.shared.l1s.lock() {
            l1s.insert(name, Arc::new(l1.clone()));
        }
        Cache {
            name,
            l1,
            shared: Arc::clone(&self.shared),
        }
    }
}

/// One named cache of `T` values (prost messages, so L2 can store them).
#[derive(Clone)]
pub struct Cache<T> {
    name: &'static str,
    l1: L1<T>,
    shared: Arc<Shared>,
}

impl<T> std::fmt::Debug for Cache<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl<T> Cache<T>
where
    T: prost::Message + Default + Clone + Send + Sync + 'static,
{
    /// The value under `key` (tagged with `tags`), from L1, else L2, else `load` — run once
    /// however many callers miss at the same time. Loaded values are kept for `ttl` (±10 %,
    /// so keys filled together do not expire together). The loader's error is shared by
    /// every caller that waited on it. A `ttl` of zero turns caching off: every call runs
    /// `load`, and nothing is kept in memory or in Redis.
    pub async fn get_or_load<E, F, Fut>(
        &self,
        key: &str,
        tags: &[&str],
        ttl: Duration,
        load: F,
    ) -> Result<T, Arc<E>>
    where
        E: Send + Sync + 'static,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        if ttl.is_zero() {
            self.count("l1", "bypass");
            return load().await.map_err(Arc::new);
        }
        let full_key = self.versioned_key(key, tags).await;
        let ttl = jitter(ttl);
        // Without the invalidation channel, another replica's change is only seen when the
        // entry expires: keep it seconds, not the TTL.
        let l1_ttl = if self.redis().is_some() && !self.shared.hearing.load(Ordering::Relaxed) {
            ttl.min(UNHEARD_L1_TTL)
        } else {
            ttl
        };
        let entry = self
            .l1
            .entry(full_key.clone())
            .or_try_insert_with(async {
                self.count("l1", "miss");
                if let Some(value) = self.l2_get(&full_key).await {
                    self.count("l2", "hit");
                    return Ok(Arc::new(L1Entry { value, ttl: l1_ttl }));
                }
                if self.redis().is_some() {
                    self.count("l2", "miss");
                }
                let started = Instant::now();
                let value = load().await?;
                self.shared
                    .metrics
                    .load
                    .with_label_values(&[self.name])
                    .observe(started.elapsed().as_secs_f64());
                self.l2_set(&full_key, &value, ttl).await;
                Ok(Arc::new(L1Entry { value, ttl: l1_ttl }))
            })
            .await?;
        if !entry.is_fresh() {
            self.count("l1", "hit");
        }
        Ok(entry.into_value().value.clone())
    }

    /// Drops the value under `key` (with `tags`) here, in Redis and in every other process.
    pub async fn invalidate(&self, key: &str, tags: &[&str]) {
        let full_key = self.versioned_key(key, tags).await;
        self.l1.invalidate(&full_key).await;
        if let Some(redis) = self.redis() {
            let result = self
                .redis_call("invalidate", async {
                    let mut connection = redis.pooled().await?;
                    redis::pipe()
                        .cmd("DEL")
                        .arg(self.l2_key(&full_key))
                        .ignore()
                        .cmd("PUBLISH")
                        .arg(redis.key(INVALIDATION_CHANNEL))
                        .arg(format!("k{SEP}{}{SEP}{full_key}", self.name))
                        .ignore()
                        .query_async::<()>(&mut *connection)
                        .await?;
                    Ok(())
                })
                .await;
            if result.is_none() {
                tracing::warn!(
                    cache = self.name,
                    key,
                    "could not reach Redis to invalidate; other replicas may serve the old value until its TTL"
                );
            }
        }
    }

    /// Makes every value tagged `tag` unreachable, here and in every other process: one
    /// counter increment, whatever the number of values.
    pub async fn invalidate_tag(&self, tag: &str) {
        let version_key = self.tag_key(tag);
        let Some(redis) = self.redis() else {
            if let Ok(mut versions) = self.shared.tag_versions.lock() {
                *versions.entry(version_key).or_insert(0) += 1;
            }
            return;
        };
        let redis_version_key = redis.key(&format!("cache-tag:{version_key}"));
        let bumped = self
            .redis_call("invalidate_tag", async {
                let mut connection = redis.pooled().await?;
                let (version,): (u64,) = redis::pipe()
                    .cmd("INCR")
                    .arg(&redis_version_key)
                    .cmd("PUBLISH")
                    .arg(redis.key(INVALIDATION_CHANNEL))
                    .arg(format!("t{SEP}{version_key}"))
                    .ignore()
                    .query_async(&mut *connection)
                    .await?;
                Ok(version)
            })
            .await;
        match bumped {
            Some(version) => set_tag_version(&self.shared, &version_key, version),
            None => {
                // Redis is unreachable: at least this process stops serving the old values.
                if let Ok(mut versions) = self.shared.tag_versions.lock() {
                    *versions.entry(version_key).or_insert(0) += 1_000_000;
                }
                tracing::warn!(
                    cache = self.name,
                    tag,
                    "could not reach Redis to invalidate a tag; other replicas may serve old values until their TTL"
                );
            }
        }
    }

    fn redis(&self) -> Option<&Redis> {
        self.shared.redis.as_ref()
    }

    fn count(&self, level: &str, result: &str) {
        self.shared
            .metrics
            .requests
            .with_label_values(&[self.name, level, result])
            .inc();
    }

    fn tag_key(&self, tag: &str) -> String {
        format!("{}:{tag}", self.name)
    }

    fn l2_key(&self, full_key: &str) -> String {
        self.redis().map_or_else(String::new, |redis| {
            redis.key(&format!("cache:{}:{full_key}", self.name))
        })
    }

    /// `key` followed by the current version of each tag.
    async fn versioned_key(&self, key: &str, tags: &[&str]) -> String {
        let mut full_key = key.to_owned();
        for tag in tags {
            let version = self.tag_version(tag).await;
            full_key.push_str(&format!("|{tag}@{version}"));
        }
        full_key
    }

    async fn tag_version(&self, tag: &str) -> u64 {
        let version_key = self.tag_key(tag);
        let Some(redis) = self.redis() else {
            return self.shared.tag_versions.lock().map_or(0, |versions| {
                versions.get(&version_key).copied().unwrap_or(0)
            });
        };
        let fresh = self
            .shared
            .tag_versions_fresh
            .lock()
            .is_ok_and(|fresh| fresh.is_some_and(|at| at.elapsed() < TAG_VERSION_TTL));
        if !fresh && let Ok(mut versions) = self.shared.tag_versions.lock() {
            versions.clear();
        }
        if let Some(version) = self
            .shared
            .tag_versions
            .lock()
            .ok()
            .and_then(|versions| versions.get(&version_key).copied())
        {
            return version;
        }
        let redis_version_key = redis.key(&format!("cache-tag:{version_key}"));
        let read = self
            .redis_call("tag_version", async {
                let mut connection = redis.pooled().await?;
                let version: Option<u64> = redis::cmd("GET")
                    .arg(&redis_version_key)
                    .query_async(&mut *connection)
                    .await?;
                Ok(version.unwrap_or(0))
            })
            .await;
        match read {
            Some(version) => {
                set_tag_version(&self.shared, &version_key, version);
                if let Ok(mut at) = self.shared.tag_versions_fresh.lock()
                    && at.is_none_or(|at| at.elapsed() >= TAG_VERSION_TTL)
                {
                    *at = Some(Instant::now());
                }
                version
            }
            // Unknown while Redis is down: not cached, so it is read again next time.
            None => 0,
        }
    }

    async fn l2_get(&self, full_key: &str) -> Option<T> {
        let redis = self.redis()?;
        let bytes = self
            .redis_call("get", async {
                let mut connection = redis.pooled().await?;
                let bytes: Option<Vec<u8>> = redis::cmd("GET")
                    .arg(self.l2_key(full_key))
                    .query_async(&mut *connection)
                    .await?;
                Ok(bytes)
            })
            .await??;
        T::decode(bytes.as_slice()).ok()
    }

    async fn l2_set(&self, full_key: &str, value: &T, ttl: Duration) {
        let Some(redis) = self.redis() else {
            return;
        };
        let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
        if millis == 0 {
            return;
        }
        self.redis_call("set", async {
            let mut connection = redis.pooled().await?;
            redis::cmd("SET")
                .arg(self.l2_key(full_key))
                .arg(value.encode_to_vec())
                .arg("PX")
                .arg(millis)
                .query_async::<()>(&mut *connection)
                .await?;
            Ok(())
        })
        .await;
    }

    /// Runs a Redis operation within the timeout, unless Redis failed less than a second
    /// ago; a failure is logged, counted, and becomes `None`.
    async fn redis_call<R>(
        &self,
        operation: &str,
        call: impl Future<Output = Result<R, crate::RedisError>>,
    ) -> Option<R> {
        let redis = self.redis()?;
        let now = unix_millis();
        if now < self.shared.redis_down_until.load(Ordering::Relaxed) {
            return None;
        }
        let error = match tokio::time::timeout(redis.timeout(), call).await {
            Ok(Ok(result)) => return Some(result),
            Ok(Err(error)) => error.to_string(),
            Err(_) => format!("no answer within {:?}", redis.timeout()),
        };
        self.shared
            .metrics
            .errors
            .with_label_values(&[self.name, operation])
            .inc();
        self.shared.redis_down_until.store(
            now + u64::try_from(REDIS_PAUSE.as_millis()).unwrap_or(1000),
            Ordering::Relaxed,
        );
        tracing::warn!(
            cache = self.name,
            operation,
            error,
            "Redis cache call failed; reading through to the database"
        );
        None
    }
}

/// The channel (under the Redis prefix) carrying invalidations between processes.
const INVALIDATION_CHANNEL: &str = "cache-invalidations";
/// Separates the fields of an invalidation message.
const SEP: char = '\u{1f}';

fn set_tag_version(shared: &Shared, version_key: &str, version: u64) {
    if let Ok(mut versions) = shared.tag_versions.lock() {
        let current = versions.entry(version_key.to_owned()).or_insert(0);
        *current = (*current).max(version);
    }
}

/// Applies invalidations published by any process to this process's L1s, resubscribing
/// after errors. Ends when the caches are dropped.
async fn listen_for_invalidations(shared: std::sync::Weak<Shared>) {
    use futures::StreamExt as _;
    let mut backoff = Backoff::reconnect();
    loop {
        let Some(strong) = shared.upgrade() else {
            return;
        };
        let Some(redis) = strong.redis.clone() else {
            return;
        };
        drop(strong);
        let channel = redis.key(INVALIDATION_CHANNEL);
        let subscribed = async {
            let mut pubsub = redis.pubsub().await?;
            pubsub.subscribe(&channel).await?;
            Ok::<_, crate::RedisError>(pubsub)
        }
        .await;
        let mut pubsub = match subscribed {
            Ok(pubsub) => pubsub,
            Err(error) => {
                tracing::warn!(%error, "cache invalidation channel unavailable; retrying");
                backoff.wait().await;
                continue;
            }
        };
        backoff.reset();
        // Messages may have been missed while unsubscribed: start from nothing.
        let Some(strong) = shared.upgrade() else {
            return;
        };
        forget_local_state(&strong).await;
        strong.hearing.store(true, Ordering::Relaxed);
        drop(strong);
        let mut messages = pubsub.on_message();
        while let Some(message) = messages.next().await {
            let Some(strong) = shared.upgrade() else {
                return;
            };
            let Ok(payload) = message.get_payload::<String>() else {
                continue;
            };
            apply_invalidation(&strong, &payload).await;
        }
        tracing::warn!("cache invalidation channel closed; resubscribing");
        // Entries cached while the channel was up would outlive changes made elsewhere from
        // now on: drop them, and keep new ones briefly until the channel is back.
        if let Some(strong) = shared.upgrade() {
            strong.hearing.store(false, Ordering::Relaxed);
            forget_local_state(&strong).await;
        }
    }
}

async fn forget_local_state(shared: &Shared) {
    if let Ok(mut versions) = shared.tag_versions.lock() {
        versions.clear();
    }
    let l1s: Vec<Arc<dyn Invalidate>> = shared
        .l1s
        .lock()
        .map(|l1s| l1s.values().cloned().collect())
        .unwrap_or_default();
    for l1 in l1s {
        l1.invalidate_all();
    }
}

async fn apply_invalidation(shared: &Shared, payload: &str) {
    let mut fields = payload.split(SEP);
    match (fields.next(), fields.next(), fields.next()) {
        (Some("k"), Some(cache), Some(full_key)) => {
            let l1 = shared
                .l1s
                .lock()
                .ok()
                .and_then(|l1s| l1s.get(cache).cloned());
            if let Some(l1) = l1 {
                l1.invalidate(full_key).await;
            }
        }
        (Some("t"), Some(version_key), None) => {
            // The new version is read from Redis on next use.
            if let Ok(mut versions) = shared.tag_versions.lock() {
                versions.remove(version_key);
            }
        }
        _ => tracing::warn!(payload, "unrecognised cache invalidation message"),
    }
}

/// `ttl` scaled by a random factor in [0.9, 1.1).
fn jitter(ttl: Duration) -> Duration {
    ttl.mul_f64(0.9 + fastrand::f64() * 0.2)
}

fn unix_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
        })
}
