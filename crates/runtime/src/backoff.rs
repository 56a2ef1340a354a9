//! One jittered exponential backoff for every loop that waits before trying again: peer call
//! retries, readiness, event handler retries, and the loops that reconnect to Redis or retry
//! the database.
//!
//! Jitter keeps replicas that lost a backend at the same moment from returning to it at the
//! same moment. Each pause is drawn uniformly between half the current base and the base
//! ("equal jitter"), and the base doubles up to its maximum, so pauses stay jittered at the
//! maximum too (tower's `ExponentialBackoff` stops jittering once it reaches its maximum).
//! The random source is tower's, as the peer retry budget's.

use std::time::Duration;

use tower::util::rng::{HasherRng, Rng as _};

/// A jittered exponential backoff whose base starts at `first` and doubles up to `max`.
#[derive(Debug)]
pub struct Backoff {
    first: Duration,
    max: Duration,
    base: Duration,
    rng: HasherRng,
}

impl Backoff {
    /// Pauses of `first`/2..`first`, then `first`..2×`first`, and so on up to `max`/2..`max`.
    pub fn new(first: Duration, max: Duration) -> Self {
        Self {
            first,
            max: max.max(first),
            base: first,
            rng: HasherRng::default(),
        }
    }

    /// The backoff of loops that reconnect to a backend: 100–200 ms, doubling up to 2.5–5 s.
    pub fn reconnect() -> Self {
        Self::new(Duration::from_millis(200), Duration::from_secs(5))
    }

    /// The next pause, for a caller that waits on other things too.
    pub fn next_pause(&mut self) -> Duration {
        let base = self.base;
        self.base = base.saturating_mul(2).min(self.max);
        base.mul_f64(0.5 + 0.5 * self.rng.next_f64())
    }

    /// Waits the next pause.
    pub async fn wait(&mut self) {
        tokio::time::sleep(self.next_pause()).await;
    }

    /// Starts again from the first pause, after a success.
    pub fn reset(&mut self) {
        self.base = self.first;
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::Backoff;

    fn ms(millis: u64) -> Duration {
        Duration::from_millis(millis)
    }

    #[test]
    fn pauses_are_jittered_doubling_bounded_and_reset() {
        let mut backoff = Backoff::new(ms(100), ms(400));
        let pauses: Vec<Duration> = (0..8).map(|_| backoff.next_pause()).collect();
        let within = |pause: Duration, base: u64| (ms(base / 2)..=ms(base)).contains(&pause);
        assert!(within(pauses[0], 100), "{pauses:?}");
        assert!(within(pauses[1], 200), "{pauses:?}");
        assert!(
            pauses[2..].iter().all(|pause| within(*pause, 400)),
            "bounded by the maximum: {pauses:?}"
        );
        assert!(
            pauses[2..].windows(2).any(|pair| pair[0] != pair[1]),
            "still jittered at the maximum: {pauses:?}"
        );
        backoff.reset();
        assert!(within(backoff.next_pause(), 100));
    }
}
