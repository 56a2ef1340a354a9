//! Domain events: written to the outbox in the transaction of the change they describe,
//! moved to the bus by the relay, handled by idempotent consumers, and watched live.
//!
//! # Layout
//! - [`catalog`]: which payload message each event type carries.
//! - [`outbox`]: `Tx::publish`, the write side.
//! - [`relay`]: the task that moves outbox rows to the bus.
//! - [`bus`]: the in-process and Redis Streams backends.
//! - [`consumer`]: consumer groups with retries, dead letters and deduplication.
//! - [`live`]: the non-group feed every replica reads, with resume tokens.

pub mod bus;
pub mod catalog;
pub mod consumer;
pub mod live;
pub mod outbox;
pub mod relay;

pub use bus::{Bus, BusError};
pub use campus_proto::events::EventEnvelope;
pub use catalog::EventPayload;
pub use consumer::{Consumer, EventHandler, HandlerError};
pub use live::{LiveError, LiveEvent};
pub use relay::Relay;

/// The stream family of an event type: the part before the dot (`enrollment.created` →
/// `enrollment`).
pub fn family(event_type: &str) -> &str {
    event_type
        .split_once('.')
        .map_or(event_type, |(family, _)| family)
}
