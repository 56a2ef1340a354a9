//! Reminders: every replica looks for due reminders each `CAMPUS_EVENT_REMINDER_INTERVAL`.
//! A reminder is taken by marking its row sent in the transaction that writes `event.reminder`
//! to the outbox, so of two replicas reaching for the same row one publishes it and the other
//! finds it sent: exactly one event per attendee, once (the relay then delivers it at least
//! once, consumers deduplicating by event id). A reminder moved later or dropped meanwhile is
//! not due any more and is not taken.

use campus_proto::events::EventReminder;
use campus_store::now_micros;

use super::{
    SchoolEvents, event_message,
    store::{self, SCHEDULED},
};
use crate::error::CoursesError;

/// Reminders taken per round, so one round stays short.
const BATCH: i64 = 200;

/// Publishes due reminders every `events.reminder_interval` until `stop`.
pub(super) async fn run(events: SchoolEvents, stop: impl Future<Output = ()> + Send) {
    let events = &events;
    campus_runtime::periodic::every(events.reminder_interval, stop, move || async move {
        match events.remind_once().await {
            Ok(0) => {}
            Ok(sent) => tracing::info!(sent, "published event reminders"),
            Err(error) => tracing::warn!(%error, "event reminders failed; they are tried again"),
        }
    })
    .await;
}

impl SchoolEvents {
    /// One round: takes and publishes each due reminder; returns how many this replica sent.
    pub(crate) async fn remind_once(&self) -> Result<usize, CoursesError> {
        let database = &self.courses.store.database;
        let now = now_micros();
        let mut sent = 0;
        for (event_id, user_id) in store::due_reminders(database, now, BATCH).await? {
            let mut tx = database.begin().await?;
            if !store::claim_reminder(&mut tx, &event_id, &user_id, now).await? {
                continue;
            }
            // Late (replicas were down) for an event that has begun: marked, not sent.
            let event = store::event_in(&mut tx, &event_id).await?;
            if let Some(event) =
                event.filter(|event| event.status == SCHEDULED && event.starts_at > now)
            {
                tx.publish(
                    &event.id,
                    &event.school_id,
                    &EventReminder {
                        event: Some(event_message(&event)),
                        user_id: user_id.clone(),
                    },
                )
                .await?;
                sent += 1;
            }
            tx.commit().await?;
        }
        Ok(sent)
    }
}
