//! A learner removed from a course leaves its events: on `enrollment.removed`, each upcoming
//! event of the course they are going to or waiting for records them NOT_GOING through the
//! answer path, so their place goes to the waitlist, their reminder is dropped and the event
//! leaves their calendar feed. Runs in the consumer's transaction: done once per removal.

use async_trait::async_trait;
use campus_proto::events::EnrollmentRemoved;
use campus_store::{
    Store, Tx,
    events::{Consumer, EventEnvelope, EventHandler, HandlerError, catalog::decode},
    now_micros,
};

use super::{
    SchoolEvents,
    store::{self, NOT_GOING},
};

/// See the module.
#[derive(Debug, Clone)]
struct LeaveOnUnenrol {
    events: SchoolEvents,
}

#[async_trait]
impl EventHandler for LeaveOnUnenrol {
    async fn handle(&self, tx: &mut Tx, event: &EventEnvelope) -> Result<(), HandlerError> {
        let Some(removed) = decode::<EnrollmentRemoved>(event) else {
            return Ok(());
        };
        let answered =
            store::answered_course_events(tx, &removed.course_id, &removed.user_id, now_micros())
                .await?;
        for event_id in answered {
            self.events
                .answer(tx, &event_id, &removed.user_id, NOT_GOING)
                .await
                .map_err(|error| HandlerError::Other(error.to_string()))?;
        }
        Ok(())
    }
}

/// The `courses-events` consumer of enrolment events, for the binary to start.
pub fn consumer(store: &Store, events: &SchoolEvents) -> Consumer {
    store.consumer(
        "courses-events",
        &["enrollment"],
        LeaveOnUnenrol {
            events: events.clone(),
        },
    )
}
