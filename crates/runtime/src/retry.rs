//! Retries of idempotent peer calls.
//!
//! Only UNAVAILABLE is retried: the call did not reach a handler, or its replica went away (a
//! rolling update, a reset connection), so trying again, likely on another replica, is safe
//! for a call that changes nothing. At most two retries, after a jittered exponential backoff
//! (10–20 ms, then 20–40 ms), only while at least 20 ms of the served call's deadline remain
//! after the pause, and only while the peer's retry budget allows: retries add at most a tenth
//! to the calls made to that peer in the last 10 s, beyond a reserve of 5 a second, so a peer
//! that is down is not hit by a retry storm from every caller.

use std::{future::Future, sync::Arc, time::Duration};

use tonic::{Code, Status};
use tower::retry::budget::{Budget as _, TpsBudget};

use crate::{backoff::Backoff, call_context::current_deadline};

/// Retries after the first attempt, at most.
const MAX_RETRIES: usize = 2;

/// Less time than this left after the pause is not worth a retry.
const MIN_TIME_FOR_A_RETRY: Duration = Duration::from_millis(20);

/// The retry budget of the calls to one peer, shared by every clone.
#[derive(Debug, Clone)]
pub struct Retries {
    budget: Arc<TpsBudget>,
}

impl Default for Retries {
    fn default() -> Self {
        Self::new(TpsBudget::new(Duration::from_secs(10), 5, 0.1))
    }
}

impl Retries {
    /// Retries within `budget` (the default: 10 % of the calls of the last 10 s beyond a
    /// reserve of 5 a second).
    pub fn new(budget: TpsBudget) -> Self {
        Self {
            budget: Arc::new(budget),
        }
    }

    /// Runs `call` (an idempotent peer call), again on UNAVAILABLE while retries, budget and
    /// deadline allow; its last answer.
    pub async fn idempotent<T, F, Fut>(&self, mut call: F) -> Result<T, Status>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Status>>,
    {
        self.budget.deposit();
        // A fresh random source per call, so concurrent retries spread out.
        let mut backoff = Backoff::new(Duration::from_millis(20), Duration::from_millis(200));
        let mut retries = 0;
        loop {
            let status = match call().await {
                Err(status) if status.code() == Code::Unavailable => status,
                answer => return answer,
            };
            if retries == MAX_RETRIES || !self.budget.withdraw() {
                return Err(status);
            }
            let pause = backoff.next_pause();
            if current_deadline().is_some_and(|deadline| {
                deadline.saturating_duration_since(tokio::time::Instant::now() + pause)
                    < MIN_TIME_FOR_A_RETRY
            }) {
                return Err(status);
            }
            tracing::debug!(
                message = status.message(),
                retries,
                "retrying an idempotent peer call"
            );
            tokio::time::sleep(pause).await;
            retries += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::{
        sync::atomic::{AtomicUsize, Ordering},
        time::Duration,
    };

    use tonic::{Code, Status};
    use tower::retry::budget::TpsBudget;

    use super::Retries;

    /// Calls `retries.idempotent` with a call that answers `answers` in turn (the last one
    /// from then on); the final code and how many attempts were made.
    async fn attempts(retries: &Retries, answers: &[Code]) -> (Code, usize) {
        let made = AtomicUsize::new(0);
        let result = retries
            .idempotent(|| {
                let attempt = made.fetch_add(1, Ordering::SeqCst);
                let code = answers[attempt.min(answers.len() - 1)];
                async move {
                    if code == Code::Ok {
                        Ok(())
                    } else {
                        Err(Status::new(code, "answer"))
                    }
                }
            })
            .await;
        (
            result.err().map_or(Code::Ok, |status| status.code()),
            made.into_inner(),
        )
    }

    #[tokio::test]
    async fn unavailable_is_retried_until_an_answer() {
        let retries = Retries::default();
        let answered = attempts(&retries, &[Code::Unavailable, Code::Unavailable, Code::Ok]).await;
        assert_eq!(answered, (Code::Ok, 3));
    }

    #[tokio::test]
    async fn retries_stop_after_two() {
        let retries = Retries::default();
        assert_eq!(
            attempts(&retries, &[Code::Unavailable]).await,
            (Code::Unavailable, 3)
        );
    }

    #[tokio::test]
    async fn other_failures_are_not_retried() {
        let retries = Retries::default();
        for code in [
            Code::NotFound,
            Code::Internal,
            Code::DeadlineExceeded,
            Code::PermissionDenied,
        ] {
            assert_eq!(attempts(&retries, &[code, Code::Ok]).await, (code, 1));
        }
    }

    #[tokio::test]
    async fn an_empty_budget_stops_retries() {
        // No reserve and 10 %: ten calls pay for one retry.
        let retries = Retries::new(TpsBudget::new(Duration::from_secs(10), 0, 0.1));
        for _ in 0..9 {
            assert_eq!(attempts(&retries, &[Code::Ok]).await, (Code::Ok, 1));
        }
        assert_eq!(
            attempts(&retries, &[Code::Unavailable]).await,
            (Code::Unavailable, 2)
        );
        assert_eq!(
            attempts(&retries, &[Code::Unavailable]).await,
            (Code::Unavailable, 1)
        );
    }
}
