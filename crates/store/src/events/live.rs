//! The live feed: every event of a family, in order, to every subscriber of every replica
//! (not a consumer group), with a resume token so a client that reconnects misses nothing
//! still retained.
//!
//! A subscription first replays what it missed from the retained log, then follows the
//! broadcast, skipping anything it already replayed. Each subscriber has a bounded buffer:
//! a subscriber that falls behind gets [`LiveError::Lagged`] and resumes with its last token,
//! so a slow client never slows writers.

use std::{
    any::Any,
    collections::VecDeque,
    fmt,
    pin::Pin,
    sync::{Arc, OnceLock},
    task::{Context, Poll},
};

use futures::Stream;
use tokio_stream::wrappers::{BroadcastStream, errors::BroadcastStreamRecvError};

use campus_runtime::{api::ExhaustedReason, failure::Failure};
use tonic::Status;

use super::EventEnvelope;

/// One event on the live feed and the token that resumes right after it. Every subscriber
/// of this process receives a clone of the same event, so what they derive from it (the
/// decoded payload, the encoded answer) is made once: see [`LiveEvent::shared`].
#[derive(Debug, Clone)]
pub struct LiveEvent {
    /// Resume token: position of this event in its family's log.
    pub position: Position,
    /// The event.
    pub envelope: Arc<EventEnvelope>,
    /// What the first subscriber derived from the event, for the others.
    derived: Arc<OnceLock<Arc<dyn Any + Send + Sync>>>,
}

impl LiveEvent {
    /// The event at `position`.
    pub fn new(position: Position, envelope: EventEnvelope) -> Self {
        Self {
            position,
            envelope: Arc::new(envelope),
            derived: Arc::default(),
        }
    }

    /// What `derive` makes of this event, made by the first subscriber that asks and shared
    /// by the others: 10,000 watchers of a school cost one decoding and one encoding of each
    /// mark, not 10,000. One family's subscribers derive one type; a subscriber asking for
    /// another gets a value made for it alone. Two subscribers asking at the same moment may
    /// both derive it; one result is kept.
    pub fn shared<T, F>(&self, derive: F) -> Arc<T>
    where
        T: Send + Sync + 'static,
        F: FnOnce(&Self) -> T,
    {
        if let Some(stored) = self.derived.get() {
            return Arc::clone(stored)
                .downcast::<T>()
                .unwrap_or_else(|_| Arc::new(derive(self)));
        }
        let made = Arc::new(derive(self));
        let _ = self
            .derived
            .set(Arc::clone(&made) as Arc<dyn Any + Send + Sync>);
        made
    }
}

/// A position in a family's log, ordered; shown as `<high>-<low>` (a Redis stream id, or
/// `0-<sequence>` in process).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position(pub u64, pub u64);

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.0, self.1)
    }
}

impl std::str::FromStr for Position {
    type Err = LiveError;

    fn from_str(token: &str) -> Result<Self, Self::Err> {
        let (high, low) = token
            .split_once('-')
            .ok_or_else(|| LiveError::InvalidToken(token.to_owned()))?;
        match (high.parse(), low.parse()) {
            (Ok(high), Ok(low)) => Ok(Self(high, low)),
            (Ok(_) | Err(_), _) => Err(LiveError::InvalidToken(token.to_owned())),
        }
    }
}

/// Why a live subscription cannot start or has to stop.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LiveError {
    /// The resume token is not one this feed issued.
    #[error("resume token {0:?} is not valid")]
    InvalidToken(String),
    /// The events after the resume token are no longer retained; the client must reload
    /// its state and subscribe without a token.
    #[error("resume token {0} is older than the retained events; reload and subscribe again")]
    Expired(Position),
    /// The subscriber fell behind its buffer; it must resume from its last token.
    #[error("subscriber fell behind by {0} events; resume from the last token received")]
    Lagged(u64),
    /// The bus could not be read.
    #[error("event bus unavailable: {0}")]
    Unavailable(Failure),
}

/// The one mapping of live-feed errors to what a watching client is told.
impl From<LiveError> for Status {
    fn from(error: LiveError) -> Self {
        match error {
            LiveError::Lagged(_) => campus_runtime::api::resource_exhausted(
                ExhaustedReason::StreamLagged,
                error.to_string(),
                std::time::Duration::ZERO,
            ),
            LiveError::Expired(_) => Status::failed_precondition(error.to_string()),
            LiveError::InvalidToken(_) => {
                campus_runtime::api::invalid_argument(&[("resume_token", error.to_string())])
            }
            LiveError::Unavailable(failure) => failure.into(),
        }
    }
}

/// A stream of live events: the replay after the resume token, then new events.
pub struct LiveSubscription {
    replay: VecDeque<LiveEvent>,
    live: BroadcastStream<LiveEvent>,
    last: Option<Position>,
    ended: bool,
}

impl fmt::Debug for LiveSubscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LiveSubscription")
            .field("replay", &self.replay.len())
            .field("last", &self.last)
            .finish_non_exhaustive()
    }
}

impl LiveSubscription {
    /// Whether events replayed from the log are still to come: false once the subscriber
    /// has read everything published before it subscribed.
    pub fn replaying(&self) -> bool {
        !self.replay.is_empty()
    }

    /// A subscription that yields `replay`, then everything from `live` after the last
    /// replayed position (or after `from`).
    pub(crate) fn new(
        replay: Vec<LiveEvent>,
        live: tokio::sync::broadcast::Receiver<LiveEvent>,
        from: Option<Position>,
    ) -> Self {
        Self {
            replay: replay.into(),
            live: BroadcastStream::new(live),
            last: from,
            ended: false,
        }
    }
}

impl Stream for LiveSubscription {
    type Item = Result<LiveEvent, LiveError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.ended {
            return Poll::Ready(None);
        }
        if let Some(event) = self.replay.pop_front() {
            self.last = Some(event.position);
            return Poll::Ready(Some(Ok(event)));
        }
        loop {
            match Pin::new(&mut self.live).poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => {
                    self.ended = true;
                    return Poll::Ready(None);
                }
                Poll::Ready(Some(Err(BroadcastStreamRecvError::Lagged(missed)))) => {
                    self.ended = true;
                    return Poll::Ready(Some(Err(LiveError::Lagged(missed))));
                }
                Poll::Ready(Some(Ok(event))) => {
                    if self.last.is_some_and(|last| event.position <= last) {
                        continue;
                    }
                    self.last = Some(event.position);
                    return Poll::Ready(Some(Ok(event)));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Position;

    #[test]
    fn positions_order_numerically_and_round_trip() {
        let a: Position = "1700000000000-2".parse().unwrap_or(Position(0, 0));
        let b: Position = "1700000000000-10".parse().unwrap_or(Position(0, 0));
        assert!(a < b);
        assert_eq!(b.to_string(), "1700000000000-10");
        assert!("abc".parse::<Position>().is_err());
    }
}
