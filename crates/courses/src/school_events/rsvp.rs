//! Answers: GOING (WAITLISTED when the event is full) or NOT_GOING, each in one transaction
//! holding the event's write lock, so concurrent answers on any number of replicas never put
//! more people GOING than the capacity. When someone leaves or the capacity grows, the
//! waitlist moves up in the order people joined it, in the same transaction.

use campus_proto::courses::{
    AttendanceStatus, Attendee, ListAttendeesRequest, ListAttendeesResponse, MyResponse,
    RespondToEventRequest, RespondToEventResponse,
};
use campus_runtime::{
    api::{encode_cursor, next_page_token, page_after, page_size, timestamp},
    auth::Caller,
};
use campus_store::{Tx, idempotency::Request, now_micros};

use super::{
    SchoolEvents, event_message,
    store::{self, CANCELLED, EventRow, GOING, NOT_GOING, ResponseRow, WAITLISTED},
};
use crate::error::CoursesError;

/// A stored answer as the caller's view of it.
pub(crate) fn my_response(row: Option<&ResponseRow>) -> MyResponse {
    row.map_or_else(MyResponse::default, |row| MyResponse {
        status: i32::try_from(row.status).unwrap_or_default(),
        waitlist_position: i32::try_from(row.place).unwrap_or(i32::MAX),
    })
}

/// Whether the event has room for one more person GOING.
fn has_room(event: &EventRow) -> bool {
    event.capacity == 0 || event.going < event.capacity
}

impl SchoolEvents {
    /// When a reminder of an event starting at `starts_at` is due; `None` once it has begun.
    pub(crate) fn reminder_due(&self, starts_at: i64, now: i64) -> Option<i64> {
        let lead = i64::try_from(self.reminder_lead.as_micros()).unwrap_or(i64::MAX);
        (starts_at > now).then(|| starts_at.saturating_sub(lead))
    }

    /// Moves the waitlist up while the event has room, scheduling the reminders of those who
    /// move up, and stores the counts. `event` holds the counts so far and is updated.
    pub(crate) async fn fill(
        &self,
        tx: &mut Tx,
        event: &mut EventRow,
        now: i64,
    ) -> Result<(), CoursesError> {
        let room = if event.capacity == 0 {
            event.waitlisted
        } else {
            (event.capacity - event.going).min(event.waitlisted)
        };
        if room > 0 {
            for user_id in store::waitlist_head(tx, &event.id, room).await? {
                store::promote(tx, &event.id, &user_id).await?;
                if let Some(due) = self.reminder_due(event.starts_at, now) {
                    store::put_reminder(tx, &event.id, &user_id, due).await?;
                }
                event.going += 1;
                event.waitlisted -= 1;
            }
        }
        store::set_counts(tx, &event.id, event.going, event.waitlisted).await?;
        Ok(())
    }

    /// RespondToEvent: records the caller's answer; a repeated `request_id` returns the first.
    pub(crate) async fn respond(
        &self,
        caller: &Caller,
        body: RespondToEventRequest,
    ) -> Result<RespondToEventResponse, CoursesError> {
        let wanted = match AttendanceStatus::try_from(body.status) {
            Ok(AttendanceStatus::Going) => GOING,
            Ok(AttendanceStatus::NotGoing) => NOT_GOING,
            _ => {
                return Err(CoursesError::invalid(
                    "status",
                    "must be GOING or NOT_GOING",
                ));
            }
        };
        let (event, _) = self.visible_event(caller, &body.event_id).await?;
        let request = Request::new(
            format!("courses.RespondToEvent:{}", caller.user_id),
            &body.request_id,
            &body,
        );
        let user_id = caller.user_id.clone();
        let written = self
            .courses
            .store
            .idempotency
            .write(&request, |mut tx| async move {
                let answer = self.answer(&mut tx, &event.id, &user_id, wanted).await?;
                Ok::<_, CoursesError>((tx, answer))
            });
        Ok(written.await?.response)
    }

    /// Applies one answer under the event's lock.
    pub(crate) async fn answer(
        &self,
        tx: &mut Tx,
        event_id: &str,
        user_id: &str,
        wanted: i64,
    ) -> Result<RespondToEventResponse, CoursesError> {
        let now = now_micros();
        let (mut event, sequence) = store::lock_event(tx, event_id)
            .await?
            .ok_or(CoursesError::NotFound("event"))?;
        if event.status == CANCELLED {
            return Err(CoursesError::FailedPrecondition(
                "the event is cancelled and takes no more answers",
            ));
        }
        if event.ends_at <= now {
            return Err(CoursesError::FailedPrecondition("the event is over"));
        }
        let before = store::response_in(tx, event_id, user_id).await?;
        let was = before.as_ref().map_or(0, |row| row.status);
        let already = (wanted == GOING && (was == GOING || was == WAITLISTED))
            || (wanted == NOT_GOING && was == NOT_GOING);
        let mut mine = my_response(before.as_ref());
        if !already {
            let status = if wanted == NOT_GOING {
                NOT_GOING
            } else if has_room(&event) && event.waitlisted == 0 {
                GOING
            } else {
                WAITLISTED
            };
            match was {
                GOING => {
                    event.going -= 1;
                    store::drop_reminder(tx, event_id, user_id).await?;
                }
                WAITLISTED => event.waitlisted -= 1,
                _ => {}
            }
            match status {
                GOING => {
                    event.going += 1;
                    if let Some(due) = self.reminder_due(event.starts_at, now) {
                        store::put_reminder(tx, event_id, user_id, due).await?;
                    }
                }
                WAITLISTED => event.waitlisted += 1,
                _ => {}
            }
            let response = ResponseRow {
                event_id: event_id.to_owned(),
                user_id: user_id.to_owned(),
                status,
                position: if status == WAITLISTED { sequence } else { 0 },
                responded_at: now,
                place: 0,
            };
            store::put_response(tx, &response).await?;
            self.fill(tx, &mut event, now).await?;
            // Whoever joins the waitlist joins its end, and the waitlist only moves when the
            // event has room, which it has not (or they would be going).
            mine = MyResponse {
                status: i32::try_from(status).unwrap_or_default(),
                waitlist_position: if status == WAITLISTED {
                    i32::try_from(event.waitlisted).unwrap_or(i32::MAX)
                } else {
                    0
                },
            };
        }
        Ok(RespondToEventResponse {
            mine: Some(mine),
            event: Some(event_message(&event)),
        })
    }

    /// ListAttendees: GOING, then the waitlist in order.
    pub(crate) async fn attendees(
        &self,
        caller: &Caller,
        body: ListAttendeesRequest,
    ) -> Result<ListAttendeesResponse, CoursesError> {
        let limit = page_size(body.page_size)?;
        let event = self.managed_event(caller, &body.event_id).await?;
        let after = page_after(&body.page_token, 3)?;
        let number = |text: &str| {
            if text.is_empty() {
                Ok(0)
            } else {
                text.parse::<i64>().map_err(|_| {
                    CoursesError::invalid("page_token", "is not a token this list returned")
                })
            }
        };
        let (status, position) = (number(&after[0])?, number(&after[1])?);
        let mut rows = store::attendees(
            &self.courses.store.database,
            &event.id,
            (status, position, &after[2]),
            limit + 1,
        )
        .await?;
        let next_page_token = next_page_token(&mut rows, limit, |last| {
            encode_cursor(&[
                &last.status.to_string(),
                &last.position.to_string(),
                &last.user_id,
            ])
        });
        Ok(ListAttendeesResponse {
            attendees: rows
                .iter()
                .map(|row| Attendee {
                    user_id: row.user_id.clone(),
                    status: i32::try_from(row.status).unwrap_or_default(),
                    waitlist_position: i32::try_from(row.place).unwrap_or(i32::MAX),
                    responded_at: Some(timestamp(row.responded_at)),
                })
                .collect(),
            next_page_token,
        })
    }
}
