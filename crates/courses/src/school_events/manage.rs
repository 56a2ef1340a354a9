//! Creating, changing, cancelling, reading and listing events. Every change publishes
//! `event.updated` or `event.cancelled` in its transaction; a change of time moves the
//! reminders, a cancellation drops them.

use std::collections::HashMap;

use campus_proto::{
    courses::{
        CancelEventRequest, CancelEventResponse, CreateEventRequest, CreateEventResponse,
        GetEventResponse, ListUpcomingEventsRequest, ListUpcomingEventsResponse, UpcomingEvent,
        UpdateEventRequest, UpdateEventResponse,
    },
    events::{SchoolEventCancelled, SchoolEventUpdated},
    users::Role,
};
use campus_runtime::{
    api::{encode_cursor, next_page_token, page_after, page_size},
    auth::Caller,
};
use campus_store::{idempotency::Request, now_micros};

use super::{
    SchoolEvents,
    checks::check_details,
    event_message,
    rsvp::my_response,
    store::{self, Audience, CANCELLED, EventRow, SCHEDULED},
};
use crate::error::CoursesError;

impl SchoolEvents {
    /// CreateEvent: a school event (school admins) or a course event (its instructor too).
    pub(crate) async fn create(
        &self,
        caller: &Caller,
        body: CreateEventRequest,
    ) -> Result<CreateEventResponse, CoursesError> {
        let details = check_details(body.details.as_ref())?;
        if body.school_id.is_empty() {
            return Err(CoursesError::invalid("school_id", "is required"));
        }
        caller.require_school(&body.school_id)?;
        let course = if body.course_id.is_empty() {
            None
        } else {
            match self.courses.member_course(caller, &body.course_id).await? {
                course if course.school_id == body.school_id => Some(course),
                _ => return Err(CoursesError::NotFound("course")),
            }
        };
        Self::check_may_change(caller, &body.school_id, course.as_ref())?;
        let now = now_micros();
        let row = EventRow {
            id: uuid::Uuid::now_v7().to_string(),
            school_id: body.school_id.clone(),
            course_id: body.course_id.clone(),
            title: details.title,
            description: details.description,
            starts_at: details.starts_at,
            ends_at: details.ends_at,
            time_zone: details.time_zone,
            place: details.place,
            link: details.link,
            capacity: details.capacity,
            status: SCHEDULED,
            version: 1,
            going: 0,
            waitlisted: 0,
            created_by: caller.user_id.clone(),
            created_at: now,
            updated_at: now,
        };
        let request = Request::new(
            format!("courses.CreateEvent:{}", caller.user_id),
            &body.request_id,
            &body,
        );
        let written = self
            .courses
            .store
            .idempotency
            .write(&request, |mut tx| async move {
                store::insert_event(&mut tx, &row).await?;
                let event = event_message(&row);
                tx.publish(
                    &row.id,
                    &row.school_id,
                    &SchoolEventUpdated {
                        event: Some(event.clone()),
                    },
                )
                .await?;
                Ok::<_, CoursesError>((tx, CreateEventResponse { event: Some(event) }))
            });
        Ok(written.await?.response)
    }

    /// UpdateEvent: replaces the details at `version`; a new time moves the reminders not sent
    /// yet, a larger capacity moves the waitlist up. A capacity below the number going is
    /// refused, so no change overbooks an event either.
    pub(crate) async fn update(
        &self,
        caller: &Caller,
        body: UpdateEventRequest,
    ) -> Result<UpdateEventResponse, CoursesError> {
        let details = check_details(body.details.as_ref())?;
        let event = self.managed_event(caller, &body.event_id).await?;
        let now = now_micros();
        let mut tx = self.courses.store.database.begin().await?;
        let (mut locked, _) = store::lock_event(&mut tx, &event.id)
            .await?
            .ok_or(CoursesError::NotFound("event"))?;
        if locked.status == CANCELLED {
            return Err(CoursesError::FailedPrecondition(
                "the event is cancelled and cannot change",
            ));
        }
        if locked.version != body.version {
            return Err(CoursesError::FailedPrecondition(
                "version is not the event's current version: reload and retry",
            ));
        }
        if details.capacity != 0 && details.capacity < locked.going {
            return Err(CoursesError::FailedPrecondition(
                "capacity is below the number of people going: raise it, or ask some to leave",
            ));
        }
        store::update_details(&mut tx, &locked.id, &details, now).await?;
        if details.starts_at != locked.starts_at {
            match self.reminder_due(details.starts_at, now) {
                Some(due) => store::move_reminders(&mut tx, &locked.id, due).await?,
                None => store::drop_reminders(&mut tx, &locked.id).await?,
            }
        }
        locked.capacity = details.capacity;
        locked.starts_at = details.starts_at;
        self.fill(&mut tx, &mut locked, now).await?;
        let updated = store::event_in(&mut tx, &locked.id)
            .await?
            .ok_or(CoursesError::NotFound("event"))?;
        let message = event_message(&updated);
        tx.publish(
            &updated.id,
            &updated.school_id,
            &SchoolEventUpdated {
                event: Some(message.clone()),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(UpdateEventResponse {
            event: Some(message),
        })
    }

    /// CancelEvent: the event stays, cancelled; its unsent reminders go.
    pub(crate) async fn cancel(
        &self,
        caller: &Caller,
        body: CancelEventRequest,
    ) -> Result<CancelEventResponse, CoursesError> {
        let event = self.managed_event(caller, &body.event_id).await?;
        if event.status == CANCELLED {
            return Ok(CancelEventResponse {
                event: Some(event_message(&event)),
            });
        }
        let mut tx = self.courses.store.database.begin().await?;
        let (locked, _) = store::lock_event(&mut tx, &event.id)
            .await?
            .ok_or(CoursesError::NotFound("event"))?;
        if locked.status != CANCELLED {
            store::cancel(&mut tx, &locked.id, now_micros()).await?;
            store::drop_reminders(&mut tx, &locked.id).await?;
        }
        let cancelled = store::event_in(&mut tx, &locked.id)
            .await?
            .ok_or(CoursesError::NotFound("event"))?;
        let message = event_message(&cancelled);
        if locked.status != CANCELLED {
            tx.publish(
                &cancelled.id,
                &cancelled.school_id,
                &SchoolEventCancelled {
                    event: Some(message.clone()),
                },
            )
            .await?;
        }
        tx.commit().await?;
        Ok(CancelEventResponse {
            event: Some(message),
        })
    }

    /// GetEvent: the event and the caller's answer.
    pub(crate) async fn get(
        &self,
        caller: &Caller,
        event_id: &str,
    ) -> Result<GetEventResponse, CoursesError> {
        let (event, _) = self.visible_event(caller, event_id).await?;
        let mine = store::responses_of(
            &self.courses.store.database,
            &caller.user_id,
            &[event.id.as_str()],
        )
        .await?;
        Ok(GetEventResponse {
            event: Some(event_message(&event)),
            mine: Some(my_response(mine.first())),
        })
    }

    /// ListUpcomingEvents: events of the caller's school and courses that have not ended, by
    /// start, each with the caller's answer (one statement for the page's answers).
    pub(crate) async fn upcoming(
        &self,
        caller: &Caller,
        body: ListUpcomingEventsRequest,
    ) -> Result<ListUpcomingEventsResponse, CoursesError> {
        let limit = page_size(body.page_size)?;
        let after = page_after(&body.page_token, 2)?;
        let Some(school_id) = caller.school_id.as_deref() else {
            return Ok(ListUpcomingEventsResponse::default());
        };
        let starts_after = if after[0].is_empty() {
            i64::MIN
        } else {
            after[0].parse().map_err(|_| {
                CoursesError::invalid("page_token", "is not a token this list returned")
            })?
        };
        let database = &self.courses.store.database;
        let audience = Audience {
            school_id,
            user_id: &caller.user_id,
            every_course: caller.has_role(Role::SchoolAdmin),
        };
        let mut rows = store::upcoming(
            database,
            &audience,
            now_micros(),
            (starts_after, &after[1]),
            limit + 1,
        )
        .await?;
        let next_page_token = next_page_token(&mut rows, limit, |last| {
            encode_cursor(&[&last.starts_at.to_string(), &last.id])
        });
        let ids: Vec<&str> = rows.iter().map(|row| row.id.as_str()).collect();
        let answers: HashMap<String, store::ResponseRow> =
            store::responses_of(database, &caller.user_id, &ids)
                .await?
                .into_iter()
                .map(|row| (row.event_id.clone(), row))
                .collect();
        Ok(ListUpcomingEventsResponse {
            events: rows
                .iter()
                .map(|row| UpcomingEvent {
                    event: Some(event_message(row)),
                    mine: Some(my_response(answers.get(&row.id))),
                })
                .collect(),
            next_page_token,
        })
    }
}
