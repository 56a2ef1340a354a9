//! Progress's view of other services' data, kept from their events: course facts (school,
//! instructor, lesson count) from course events, and a progress record opened on
//! `enrollment.created` and archived on `enrollment.removed`. Handled once per event, in the
//! transaction that marks it processed. Replicas consume at once, so events of one course may
//! be applied out of order: each write keeps the newest event's state (by its time).

use async_trait::async_trait;
use campus_proto::events::{CourseCreated, CourseUpdated, EnrollmentCreated, EnrollmentRemoved};
use campus_store::{
    Store, Tx,
    events::{Consumer, EventEnvelope, EventHandler, HandlerError, catalog::decode},
};

use crate::store::{self, CourseFacts, now_micros};

/// Applies course and enrolment events.
#[derive(Debug, Clone, Copy)]
struct Projections;

#[async_trait]
impl EventHandler for Projections {
    async fn handle(&self, tx: &mut Tx, event: &EventEnvelope) -> Result<(), HandlerError> {
        let changed_at =
            campus_runtime::api::micros(event.occurred_at.as_ref()).unwrap_or_else(now_micros);
        if let Some(created) = decode::<CourseCreated>(event) {
            let facts = CourseFacts {
                course_id: created.course_id,
                school_id: created.school_id,
                instructor_id: created.instructor_id,
                lesson_count: i64::from(created.lesson_count),
            };
            store::upsert_course_facts(tx, &facts, changed_at).await?;
        } else if let Some(updated) = decode::<CourseUpdated>(event) {
            let facts = CourseFacts {
                course_id: updated.course_id,
                school_id: updated.school_id,
                instructor_id: updated.instructor_id,
                lesson_count: i64::from(updated.lesson_count),
            };
            store::upsert_course_facts(tx, &facts, changed_at).await?;
        } else if let Some(enrolled) = decode::<EnrollmentCreated>(event) {
            store::set_enrolled(
                tx,
                &enrolled.user_id,
                &enrolled.course_id,
                &enrolled.school_id,
                true,
                changed_at,
            )
            .await?;
        } else if let Some(removed) = decode::<EnrollmentRemoved>(event) {
            store::set_enrolled(
                tx,
                &removed.user_id,
                &removed.course_id,
                &removed.school_id,
                false,
                changed_at,
            )
            .await?;
        }
        Ok(())
    }
}

/// The `progress` consumer of course and enrolment events, for the binary to start.
pub fn consumer(store: &Store) -> Consumer {
    store.consumer("progress", &["course", "enrollment"], Projections)
}
