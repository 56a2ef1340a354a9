//! Follows `session.revoked` on the live feed into the process's deny list
//! ([`Revocations`]), so a revoked session is refused by every service of every replica.
//!
//! The follower starts from the oldest revocation retained, which is why the `session`
//! family is kept by age (at least the longest token lifetime: see [`Bus::keep_for`]): a
//! process that starts after a revocation refuses the session all the same. While the feed
//! cannot be read the process keeps serving with the list it holds (fail-open for the
//! length of the outage, by design); the outage is counted
//! (`campus_live_feed_outages_total{family="session"}`) and logged, and the revocations
//! published meanwhile are read when the feed returns.

use std::{future::Future, sync::Arc};

use campus_proto::events::SessionsRevoked;
use campus_runtime::{auth::revocation::Revocations, backoff::Backoff};
use futures::StreamExt as _;

use crate::events::{Bus, LiveError, catalog::decode, live::Position};

/// The event family revocations travel in.
pub const FAMILY: &str = "session";

/// Adds the sessions of every `session.revoked` event on `bus` to `revocations`, from the
/// oldest retained, until `stop` completes. `caught_up` turns true once every revocation
/// retained when the follower started has been read: until then the process is not ready.
pub async fn follow(
    bus: Bus,
    revocations: Arc<Revocations>,
    caught_up: tokio::sync::watch::Sender<bool>,
    stop: impl Future<Output = ()>,
) {
    tokio::pin!(stop);
    let mut backoff = Backoff::reconnect();
    let mut last: Option<Position> = None;
    loop {
        let subscription = match last {
            None => bus.subscribe_retained(FAMILY).await,
            Some(position) => {
                bus.subscribe_live(FAMILY, Some(&position.to_string()))
                    .await
            }
        };
        let mut subscription = match subscription {
            Ok(subscription) => subscription,
            Err(LiveError::Expired(_) | LiveError::InvalidToken(_)) => {
                // What was trimmed is older than any token still valid: start over.
                last = None;
                continue;
            }
            Err(error) => {
                tracing::warn!(
                    %error,
                    held = revocations.len(),
                    "revocation feed unreachable; refusing only the sessions already known \
                     until it returns"
                );
                tokio::select! {
                    () = &mut stop => return,
                    () = backoff.wait() => continue,
                }
            }
        };
        backoff.reset();
        loop {
            if !subscription.replaying() {
                caught_up.send_if_modified(|caught_up| !std::mem::replace(caught_up, true));
            }
            let next = tokio::select! {
                () = &mut stop => return,
                next = subscription.next() => next,
            };
            match next {
                Some(Ok(event)) => {
                    if let Some(revoked) = decode::<SessionsRevoked>(&event.envelope) {
                        let until = revoked.expires_at.map_or(i64::MAX, |at| at.seconds);
                        revocations.revoke(revoked.session_ids.iter().map(String::as_str), until);
                        tracing::debug!(
                            user = %revoked.user_id,
                            sessions = revoked.session_ids.len(),
                            "sessions revoked"
                        );
                    }
                    last = Some(event.position);
                }
                // Lagged, or the feed ended: resume after the last event read.
                Some(Err(error)) => {
                    tracing::debug!(%error, "revocation feed interrupted; resuming");
                    break;
                }
                None => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use campus_proto::events::SessionsRevoked;

    use crate::events::{EventPayload as _, family};

    #[test]
    fn revocations_travel_in_their_own_family() {
        assert_eq!(family(SessionsRevoked::EVENT_TYPE), super::FAMILY);
    }
}
