//! Where published events go: an in-process bus (all-in-one mode) or Redis Streams (mesh
//! mode, one stream per event family).

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex, RwLock as StdRwLock},
    time::{Duration, SystemTime},
};

use campus_runtime::backoff::Backoff;
use prometheus::{IntCounterVec, Opts, Registry};
use prost::Message as _;
use redis::{Value, streams::StreamRangeReply};
use tokio::sync::{RwLock, broadcast};

use super::{
    EventEnvelope,
    consumer::Consumer,
    family,
    live::{LiveError, LiveEvent, LiveSubscription, Position},
};
use campus_runtime::failure::Failure;

use crate::{Redis, RedisError};

/// Events each live subscriber may have waiting before it is told to resume.
const LIVE_BUFFER: usize = 1024;

/// Why events could not be published.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// Redis did not take the events.
    #[error("publishing to Redis Streams: {0}")]
    Redis(#[from] RedisError),
}

impl From<redis::RedisError> for BusError {
    fn from(error: redis::RedisError) -> Self {
        Self::Redis(RedisError::Command(error))
    }
}

/// Where a subscription starts.
#[derive(Debug, Clone, Copy)]
enum Start {
    /// With the next event published.
    Now,
    /// Right after this position (a resume token).
    After(Position),
    /// With the oldest event still retained.
    Oldest,
}

/// How much of each family's log a bus keeps: `count` events, or, for the families given
/// an age, every event younger than it (however many that is).
#[derive(Debug)]
struct Retention {
    count: usize,
    by_age: StdRwLock<HashMap<String, Duration>>,
}

impl Retention {
    fn new(count: usize) -> Self {
        Self {
            count,
            by_age: StdRwLock::default(),
        }
    }

    /// The age `family` is kept for, if it is kept by age.
    fn age_of(&self, family: &str) -> Option<Duration> {
        self.by_age.read().ok()?.get(family).copied()
    }
}

/// Outages of the live feed's reads: a process keeps serving through them with what it
/// had read, and says so here and in its log.
#[derive(Debug, Clone)]
pub(crate) struct FeedMetrics {
    outages: IntCounterVec,
}

impl FeedMetrics {
    /// `campus_live_feed_outages_total{family}`, registered in `registry`.
    pub(crate) fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let outages = IntCounterVec::new(
            Opts::new(
                "campus_live_feed_outages_total",
                "Times this process lost the live feed of an event family (Redis unreachable)",
            ),
            &["family"],
        )?;
        registry.register(Box::new(outages.clone()))?;
        Ok(Self { outages })
    }

    fn record_outage(&self, family: &str) {
        self.outages.with_label_values(&[family]).inc();
    }
}

/// The event bus of a process.
#[derive(Debug, Clone)]
pub enum Bus {
    /// Events stay in this process: consumers run as the relay publishes.
    Local(Arc<LocalBus>),
    /// Events go through Redis Streams, shared by every replica.
    Redis(Arc<RedisBus>),
}

impl Bus {
    /// An in-process bus that keeps the last `retention` events of each family for resuming
    /// live subscribers.
    pub fn in_process(retention: usize) -> Self {
        Self::Local(Arc::new(LocalBus {
            families: Mutex::default(),
            consumers: RwLock::default(),
            retention: Retention::new(retention),
        }))
    }

    /// A Redis Streams bus; each family's stream keeps about `max_len` events. Outages of
    /// the live feed are counted in `metrics`.
    pub(crate) fn redis(redis: Redis, max_len: usize, metrics: FeedMetrics) -> Self {
        Self::Redis(Arc::new(RedisBus {
            redis,
            retention: Retention::new(max_len),
            live: tokio::sync::Mutex::default(),
            metrics,
        }))
    }

    /// Keeps `family` by age rather than by count: every event younger than `age` stays
    /// retained (trimming in Redis by `MINID`), so a subscriber from the oldest event sees
    /// all of them however many were published. Set it in every process that publishes.
    pub fn keep_for(&self, family: &str, age: Duration) {
        let retention = match self {
            Self::Local(bus) => &bus.retention,
            Self::Redis(bus) => &bus.retention,
        };
        if let Ok(mut by_age) = retention.by_age.write() {
            by_age.insert(family.to_owned(), age);
        }
    }

    /// Publishes events in order. In process, attached consumers have handled them when this
    /// returns; on Redis, they are stored in their streams.
    pub async fn publish(&self, envelopes: &[EventEnvelope]) -> Result<(), BusError> {
        match self {
            Self::Local(bus) => {
                bus.publish(envelopes).await;
                Ok(())
            }
            Self::Redis(bus) => bus.publish(envelopes).await,
        }
    }

    /// Follows one family's events live, replaying those after `resume` first.
    pub async fn subscribe_live(
        &self,
        family: &str,
        resume: Option<&str>,
    ) -> Result<LiveSubscription, LiveError> {
        let start = match resume {
            Some(token) => Start::After(token.parse()?),
            None => Start::Now,
        };
        self.subscribe(family, start).await
    }

    /// Follows one family's events live, replaying every event still retained first: how a
    /// process that starts late learns what happened before it.
    pub async fn subscribe_retained(&self, family: &str) -> Result<LiveSubscription, LiveError> {
        self.subscribe(family, Start::Oldest).await
    }

    async fn subscribe(&self, family: &str, start: Start) -> Result<LiveSubscription, LiveError> {
        match self {
            Self::Local(bus) => bus.subscribe_live(family, start),
            Self::Redis(bus) => bus.subscribe_live(family, start).await,
        }
    }
}

/// The in-process bus.
#[derive(Debug)]
pub struct LocalBus {
    /// A std mutex: held only to append or copy, never across an await.
    families: Mutex<HashMap<String, LocalFamily>>,
    consumers: RwLock<Vec<Arc<Consumer>>>,
    retention: Retention,
}

#[derive(Debug)]
struct LocalFamily {
    next: u64,
    log: VecDeque<LiveEvent>,
    sender: broadcast::Sender<LiveEvent>,
}

impl LocalFamily {
    fn new() -> Self {
        Self {
            next: 1,
            log: VecDeque::new(),
            sender: broadcast::channel(LIVE_BUFFER).0,
        }
    }
}

impl LocalBus {
    /// Runs `consumer` for every event of its families published from now on.
    pub async fn attach(&self, consumer: Arc<Consumer>) {
        self.consumers.write().await.push(consumer);
    }

    async fn publish(&self, envelopes: &[EventEnvelope]) {
        let consumers = self.consumers.read().await.clone();
        for envelope in envelopes {
            for consumer in &consumers {
                if consumer.wants(&envelope.event_type) {
                    consumer.process(envelope).await;
                }
            }
            self.append(envelope.clone());
        }
    }

    /// Adds events to the live feed without running consumers: what a restarted process
    /// restores from its outbox, whose consumers handled them before.
    pub(crate) fn restore(&self, envelopes: Vec<EventEnvelope>) {
        for envelope in envelopes {
            self.append(envelope);
        }
    }

    fn append(&self, envelope: EventEnvelope) {
        let Ok(mut families) = self.families.lock() else {
            return;
        };
        let name = family(&envelope.event_type);
        let age = self.retention.age_of(name);
        let family = families
            .entry(name.to_owned())
            .or_insert_with(LocalFamily::new);
        let event = LiveEvent::new(Position(0, family.next), envelope);
        family.next += 1;
        family.log.push_back(event.clone());
        match age {
            Some(age) => {
                let cutoff = SystemTime::now() - age;
                while family.log.front().is_some_and(|oldest| {
                    oldest
                        .envelope
                        .occurred_at
                        .and_then(|at| SystemTime::try_from(at).ok())
                        .is_none_or(|at| at < cutoff)
                }) {
                    family.log.pop_front();
                }
            }
            None => {
                while family.log.len() > self.retention.count {
                    family.log.pop_front();
                }
            }
        }
        // No receiver is not an error: nobody is watching.
        let _ = family.sender.send(event);
    }

    fn subscribe_live(
        &self,
        family_name: &str,
        start: Start,
    ) -> Result<LiveSubscription, LiveError> {
        let mut families = self.families.lock().map_err(|_| {
            LiveError::Unavailable(Failure::internal("the event bus", "its lock is poisoned"))
        })?;
        let family = families
            .entry(family_name.to_owned())
            .or_insert_with(LocalFamily::new);
        let receiver = family.sender.subscribe();
        let (replay, from) = match start {
            Start::Now => (Vec::new(), None),
            Start::Oldest => (family.log.iter().cloned().collect(), None),
            Start::After(from) => {
                let oldest = family
                    .log
                    .front()
                    .map_or(family.next, |event| event.position.1);
                if from.0 != 0 || from.1 >= family.next {
                    return Err(LiveError::InvalidToken(from.to_string()));
                }
                if from.1 + 1 < oldest {
                    return Err(LiveError::Expired(from));
                }
                let replay = family
                    .log
                    .iter()
                    .filter(|event| event.position > from)
                    .cloned()
                    .collect();
                (replay, Some(from))
            }
        };
        Ok(LiveSubscription::new(replay, receiver, from))
    }
}

/// The Redis Streams bus.
#[derive(Debug)]
pub struct RedisBus {
    redis: Redis,
    retention: Retention,
    /// One reader per family feeds every live subscriber of this process.
    live: tokio::sync::Mutex<HashMap<String, broadcast::Sender<LiveEvent>>>,
    metrics: FeedMetrics,
}

/// The field of a stream entry that holds the encoded envelope.
pub(crate) const ENVELOPE_FIELD: &str = "e";

impl RedisBus {
    /// The stream of an event family.
    pub(crate) fn stream_key(&self, family: &str) -> String {
        self.redis.key(&format!("events:{family}"))
    }

    /// The Redis this bus runs on.
    pub(crate) fn redis(&self) -> &Redis {
        &self.redis
    }

    async fn publish(&self, envelopes: &[EventEnvelope]) -> Result<(), BusError> {
        if envelopes.is_empty() {
            return Ok(());
        }
        let mut pipeline = redis::pipe();
        for envelope in envelopes {
            let name = family(&envelope.event_type);
            let command = pipeline.cmd("XADD").arg(self.stream_key(name));
            match self.retention.age_of(name) {
                Some(age) => {
                    let cutoff = SystemTime::now()
                        .checked_sub(age)
                        .and_then(|at| at.duration_since(SystemTime::UNIX_EPOCH).ok())
                        .map_or(0, |since| since.as_millis());
                    command.arg("MINID").arg("~").arg(cutoff)
                }
                None => command.arg("MAXLEN").arg("~").arg(self.retention.count),
            }
            .arg("*")
            .arg(ENVELOPE_FIELD)
            .arg(envelope.encode_to_vec())
            .ignore();
        }
        let mut connection = self.redis.pooled().await?;
        pipeline.query_async::<()>(&mut *connection).await?;
        Ok(())
    }

    async fn subscribe_live(
        &self,
        family: &str,
        start: Start,
    ) -> Result<LiveSubscription, LiveError> {
        let subscription = self.try_subscribe_live(family, start).await;
        if let Err(LiveError::Unavailable(failure)) = &subscription {
            self.metrics.record_outage(family);
            tracing::warn!(%failure, family, "live feed cannot start; Redis unreachable");
        }
        subscription
    }

    async fn try_subscribe_live(
        &self,
        family: &str,
        start: Start,
    ) -> Result<LiveSubscription, LiveError> {
        let receiver = self.live_sender(family).await?.subscribe();
        let key = self.stream_key(family);
        let mut replay = Vec::new();
        let from = match start {
            Start::Now => None,
            Start::After(from) => Some(from),
            Start::Oldest => Some(Position(0, 0)),
        };
        if let Some(from) = from {
            let mut connection = self.redis.pooled().await.map_err(unavailable)?;
            if let Start::After(from) = start {
                let trimmed = max_deleted_id(&mut connection, &key)
                    .await
                    .map_err(|e| unavailable(e.into()))?;
                if trimmed.is_some_and(|trimmed| from < trimmed) {
                    return Err(LiveError::Expired(from));
                }
            }
            let mut after = from;
            loop {
                let page: StreamRangeReply = redis::cmd("XRANGE")
                    .arg(&key)
                    .arg(format!("({after}"))
                    .arg("+")
                    .arg("COUNT")
                    .arg(1000)
                    .query_async(&mut *connection)
                    .await
                    .map_err(|e| unavailable(e.into()))?;
                let done = page.ids.len() < 1000;
                for entry in page.ids {
                    if let Some(event) = live_event(&entry.id, &entry.map) {
                        after = event.position;
                        replay.push(event);
                    }
                }
                if done {
                    break;
                }
            }
        }
        Ok(LiveSubscription::new(replay, receiver, from))
    }

    /// The broadcast fed by this family's reader, starting the reader on first use.
    async fn live_sender(&self, family: &str) -> Result<broadcast::Sender<LiveEvent>, LiveError> {
        let mut live = self.live.lock().await;
        if let Some(sender) = live.get(family) {
            return Ok(sender.clone());
        }
        let key = self.stream_key(family);
        let mut connection = self.redis.pooled().await.map_err(unavailable)?;
        // Start after the newest entry now, so nothing appended later is missed.
        let newest: StreamRangeReply = redis::cmd("XREVRANGE")
            .arg(&key)
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(1)
            .query_async(&mut *connection)
            .await
            .map_err(|e| unavailable(e.into()))?;
        let start = newest
            .ids
            .first()
            .map_or_else(|| "0-0".to_owned(), |entry| entry.id.clone());
        let sender = broadcast::channel(LIVE_BUFFER).0;
        tokio::spawn(read_live(
            self.redis.clone(),
            LiveReader {
                family: family.to_owned(),
                key,
                metrics: self.metrics.clone(),
            },
            start,
            sender.clone(),
        ));
        live.insert(family.to_owned(), sender.clone());
        Ok(sender)
    }
}

/// What a live reader follows and where it reports outages.
struct LiveReader {
    family: String,
    key: String,
    metrics: FeedMetrics,
}

impl LiveReader {
    /// Counts and logs the start of an outage (once, however many retries it takes).
    fn lost(&self, down_since: &mut Option<std::time::Instant>, error: &dyn std::fmt::Display) {
        if down_since.is_none() {
            *down_since = Some(std::time::Instant::now());
            self.metrics.record_outage(&self.family);
            tracing::warn!(
                error = %error,
                family = %self.family,
                stream = %self.key,
                "live feed lost; serving with what was read, and resuming after the last entry \
                 read once Redis answers"
            );
        }
    }
}

/// Follows a stream with `XREAD BLOCK` and broadcasts each entry, reconnecting after errors
/// from where it left off: once Redis answers again, what was published meanwhile arrives.
async fn read_live(
    redis: Redis,
    reader: LiveReader,
    mut last: String,
    sender: broadcast::Sender<LiveEvent>,
) {
    let mut backoff = Backoff::reconnect();
    let mut down_since = None;
    loop {
        let mut connection = match redis.dedicated().await {
            Ok(connection) => connection,
            Err(error) => {
                reader.lost(&mut down_since, &error);
                backoff.wait().await;
                continue;
            }
        };
        loop {
            let reply: Result<redis::streams::StreamReadReply, _> = redis::cmd("XREAD")
                .arg("COUNT")
                .arg(1000)
                .arg("BLOCK")
                .arg(2000)
                .arg("STREAMS")
                .arg(&reader.key)
                .arg(&last)
                .query_async(&mut connection)
                .await;
            match reply {
                Ok(reply) => {
                    backoff.reset();
                    if let Some(since) = down_since.take() {
                        tracing::info!(
                            family = %reader.family,
                            down_for = ?since.elapsed(),
                            "live feed back; catching up from the last entry read"
                        );
                    }
                    for entry in reply.keys.into_iter().flat_map(|stream| stream.ids) {
                        last.clone_from(&entry.id);
                        if let Some(event) = live_event(&entry.id, &entry.map) {
                            let _ = sender.send(event);
                        }
                    }
                }
                Err(error) => {
                    reader.lost(&mut down_since, &error);
                    backoff.wait().await;
                    break;
                }
            }
        }
    }
}

/// The envelope in a stream entry's fields, if it decodes.
pub(crate) fn decode_entry(fields: &HashMap<String, Value>) -> Option<EventEnvelope> {
    let Value::BulkString(bytes) = fields.get(ENVELOPE_FIELD)? else {
        return None;
    };
    EventEnvelope::decode(bytes.as_slice()).ok()
}

fn live_event(id: &str, fields: &HashMap<String, Value>) -> Option<LiveEvent> {
    let position = id.parse().ok()?;
    let envelope = decode_entry(fields)?;
    Some(LiveEvent::new(position, envelope))
}

/// A live feed that cannot start because Redis failed.
fn unavailable(error: RedisError) -> LiveError {
    LiveError::Unavailable(error.into())
}

/// The id of the newest entry trimmed from the stream, if any was (Redis 7's
/// `max-deleted-entry-id`); a resume token older than it may have missed events.
async fn max_deleted_id(
    connection: &mut redis::aio::MultiplexedConnection,
    key: &str,
) -> Result<Option<Position>, redis::RedisError> {
    let exists: bool = redis::cmd("EXISTS")
        .arg(key)
        .query_async(connection)
        .await?;
    if !exists {
        return Ok(None);
    }
    let info: HashMap<String, Value> = redis::cmd("XINFO")
        .arg("STREAM")
        .arg(key)
        .query_async(connection)
        .await?;
    let deleted = if let Some(Value::BulkString(bytes)) = info.get("max-deleted-entry-id") {
        String::from_utf8_lossy(bytes).into_owned()
    } else if let Some(Value::SimpleString(text)) = info.get("max-deleted-entry-id") {
        text.clone()
    } else {
        return Ok(None);
    };
    Ok(deleted
        .parse()
        .ok()
        .filter(|position| *position != Position(0, 0)))
}
