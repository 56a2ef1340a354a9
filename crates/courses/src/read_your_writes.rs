//! Read-your-writes after Enroll: progress learns of an enrolment from the
//! `enrollment.created` event, so right after Enroll it may not know it yet, and a learner
//! who records lesson 1 at once would be told they are not enrolled. Enroll therefore waits,
//! briefly, until progress knows the enrolment (its record is open and the course's lessons
//! are known), asking it with the caller's own credentials.
//!
//! This keeps the call graph as it is (courses already calls progress; progress never calls
//! courses) and progress the only writer of its records: no new RPC lets a client open a
//! record or set course facts. The wait is bounded by `CAMPUS_COURSES_ENROLL_WAIT` and the
//! call's deadline; if progress is down or slower, the enrolment stands and progress
//! catches up from the event.

use std::time::Duration;

use campus_proto::progress::{
    BatchGetProgressRequest, progress_service_client::ProgressServiceClient,
};
use campus_runtime::{backoff::Backoff, call_context::current_deadline};
use tokio::time::Instant;

use crate::Courses;

/// Time kept back from the caller's deadline for answering after waiting on progress.
const ANSWER_MARGIN: Duration = Duration::from_millis(50);

/// At most `limit`, and never past the call's deadline less the time to answer.
pub(crate) fn within_deadline(limit: Duration) -> Duration {
    current_deadline().map_or(limit, |deadline| {
        deadline
            .saturating_duration_since(Instant::now())
            .saturating_sub(ANSWER_MARGIN)
            .min(limit)
    })
}

impl Courses {
    /// Waits until progress knows `user_id`'s enrolment in `course_id`; see the module.
    pub(crate) async fn until_progress_knows(&self, user_id: &str, course_id: &str) {
        let ends = Instant::now() + within_deadline(self.config.enroll_wait);
        let mut backoff = Backoff::new(Duration::from_millis(10), Duration::from_millis(200));
        loop {
            let answer = self
                .progress
                .idempotent("BatchGetProgress", |channel| {
                    let mut request = tonic::Request::new(BatchGetProgressRequest {
                        user_id: user_id.to_owned(),
                        course_ids: vec![course_id.to_owned()],
                    });
                    request.set_timeout(ends.saturating_duration_since(Instant::now()));
                    async move {
                        ProgressServiceClient::new(channel)
                            .batch_get_progress(request)
                            .await
                    }
                })
                .await;
            match answer {
                Ok(answer) if !answer.get_ref().progress.is_empty() => return,
                Ok(_) => {}
                Err(failure) => {
                    tracing::warn!(error = %failure, "progress not asked about the new enrolment; it catches up from the event");
                    return;
                }
            }
            let pause = backoff.next_pause();
            if Instant::now() + pause >= ends {
                tracing::warn!(
                    user_id,
                    course_id,
                    "progress has not heard of the enrolment within the wait; it catches up from the event"
                );
                return;
            }
            tokio::time::sleep(pause).await;
        }
    }
}
