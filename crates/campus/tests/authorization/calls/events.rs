//! Requests of `EventsService`. Events are announced in the cell's course by the platform
//! admin, and the course's learner answers GOING, so each row acts on an event of that course
//! with an attendee.

use campus_proto::courses::{
    AttendanceStatus, CancelEventRequest, CreateEventRequest, EventDetails, GetCalendarUrlRequest,
    GetEventRequest, ListAttendeesRequest, ListUpcomingEventsRequest, RespondToEventRequest,
    UpdateEventRequest, events_service_client::EventsServiceClient,
};
use campus_testkit::Error;

use super::Cell;
use crate::probe::Observed;

/// Details of an hour-long event starting `seconds` from now.
fn details(cell: &Cell<'_>, seconds: i64) -> EventDetails {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    let starts = i64::try_from(now).unwrap_or(0) + seconds;
    EventDetails {
        title: format!("Event {}", cell.unique()),
        description: String::new(),
        starts_at: Some(prost_types::Timestamp {
            seconds: starts,
            nanos: 0,
        }),
        ends_at: Some(prost_types::Timestamp {
            seconds: starts + 3_600,
            nanos: 0,
        }),
        time_zone: "Europe/London".to_owned(),
        place: "Hall".to_owned(),
        link: String::new(),
        capacity: 0,
    }
}

/// A new event of the cell's course starting `seconds` from now, announced by the platform
/// admin and answered GOING by the course's learner; returns its id and version.
async fn event(cell: &Cell<'_>, seconds: i64) -> Result<(String, i64), Error> {
    let bundle = cell.subject.bundle;
    let mut setup = EventsServiceClient::new(cell.setup()?);
    let event = setup
        .create_event(CreateEventRequest {
            request_id: String::new(),
            school_id: bundle.school_id.clone(),
            course_id: bundle.course_id.clone(),
            details: Some(details(cell, seconds)),
        })
        .await?
        .into_inner()
        .event
        .ok_or("no event")?;
    EventsServiceClient::new(cell.world.setup.wire(Some(&bundle.learner.token))?)
        .respond_to_event(RespondToEventRequest {
            request_id: String::new(),
            event_id: event.id.clone(),
            status: AttendanceStatus::Going as i32,
        })
        .await?;
    Ok((event.id, event.version))
}

/// Calls `method` of the events service for `cell`.
pub(crate) async fn call(method: &str, cell: &Cell<'_>) -> Result<Option<Observed>, Error> {
    let mut events = EventsServiceClient::new(cell.wire()?);
    let bundle = cell.subject.bundle;
    let probe = cell.probe;
    let observed = match method {
        "CreateEvent" => {
            let request = CreateEventRequest {
                request_id: String::new(),
                school_id: bundle.school_id.clone(),
                course_id: bundle.course_id.clone(),
                details: Some(details(cell, 86_400)),
            };
            probe
                .run(bundle.course_id.clone(), events.create_event(request))
                .await?
        }
        "UpdateEvent" => {
            let (event_id, version) = event(cell, 86_400).await?;
            let request = UpdateEventRequest {
                event_id: event_id.clone(),
                version,
                details: Some(details(cell, 2 * 86_400)),
            };
            probe.run(event_id, events.update_event(request)).await?
        }
        "CancelEvent" => {
            let (event_id, _) = event(cell, 86_400).await?;
            let request = CancelEventRequest {
                event_id: event_id.clone(),
            };
            probe.run(event_id, events.cancel_event(request)).await?
        }
        "GetEvent" => {
            let (event_id, _) = event(cell, 86_400).await?;
            let request = GetEventRequest {
                event_id: event_id.clone(),
            };
            probe.run(event_id, events.get_event(request)).await?
        }
        "ListUpcomingEvents" => {
            // Sooner than any other row's event, so it leads the first page.
            let (event_id, _) = event(cell, 600).await?;
            let request = ListUpcomingEventsRequest {
                page_size: 200,
                page_token: String::new(),
            };
            probe
                .run(event_id, events.list_upcoming_events(request))
                .await?
        }
        "RespondToEvent" => {
            let (event_id, _) = event(cell, 86_400).await?;
            let request = RespondToEventRequest {
                request_id: String::new(),
                event_id: event_id.clone(),
                status: AttendanceStatus::Going as i32,
            };
            probe
                .run(event_id, events.respond_to_event(request))
                .await?
        }
        "ListAttendees" => {
            let (event_id, _) = event(cell, 86_400).await?;
            let request = ListAttendeesRequest {
                event_id,
                page_size: 200,
                page_token: String::new(),
            };
            probe
                .run(bundle.learner.id.clone(), events.list_attendees(request))
                .await?
        }
        "GetCalendarUrl" => {
            let request = GetCalendarUrlRequest { reset: false };
            probe
                .run(cell.caller_id(), events.get_calendar_url(request))
                .await?
        }
        _ => return Ok(None),
    };
    Ok(Some(observed))
}
