//! Background work repeated on a timer until something stops it: the content sweep, event
//! reminders, the listener's certificate reloads. One loop, so each of them waits out a slow round instead of
//! bunching missed ticks, and stops between rounds, never in the middle of one.

use std::time::Duration;

/// Runs `round` every `interval` (the first at once) until `stop` completes. A round that
/// outlasts the interval delays the next one rather than letting rounds pile up.
pub async fn every<F, Round>(interval: Duration, stop: impl Future<Output = ()>, mut round: F)
where
    F: FnMut() -> Round,
    Round: Future<Output = ()>,
{
    tokio::pin!(stop);
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = &mut stop => return,
            _ = ticks.tick() => {}
        }
        round().await;
    }
}
