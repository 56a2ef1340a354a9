//! Keeps cached "my courses" pages true to events from other services: when a learner's
//! progress is recorded, their pages are dropped (in every replica, through the cache's
//! invalidation channel).

use async_trait::async_trait;
use campus_proto::courses::ListCoursesForUserResponse;
use campus_proto::events::ProgressRecorded;
use campus_store::{
    Cache, Store, Tx,
    events::{Consumer, EventEnvelope, EventHandler, HandlerError, catalog::decode},
};

use crate::keys;

/// Drops a learner's cached pages when their progress changes.
#[derive(Debug, Clone)]
struct ProgressInvalidation {
    my_courses: Cache<ListCoursesForUserResponse>,
}

#[async_trait]
impl EventHandler for ProgressInvalidation {
    async fn handle(&self, _tx: &mut Tx, event: &EventEnvelope) -> Result<(), HandlerError> {
        if let Some(recorded) = decode::<ProgressRecorded>(event) {
            self.my_courses
                .invalidate_tag(&keys::user_lists(&recorded.user_id))
                .await;
        }
        Ok(())
    }
}

/// The `courses` consumer of `progress` events, for the binary to start.
pub fn consumer(store: &Store, courses: &crate::Courses) -> Consumer {
    store.consumer(
        "courses",
        &["progress"],
        ProgressInvalidation {
            my_courses: courses.my_courses_cache.clone(),
        },
    )
}
