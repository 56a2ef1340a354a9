//! The school-events scenarios: answers to one event at its capacity (every answer takes the
//! same row lock, the worst case for contention), answers spread over many events, and a
//! learner's upcoming list.

use std::sync::Arc;

use campus_proto::courses::{
    AttendanceStatus, CreateEventRequest, EnrollRequest, EventDetails, GetEventRequest,
    ListUpcomingEventsRequest, RespondToEventRequest, courses_service_client::CoursesServiceClient,
    events_service_client::EventsServiceClient,
};

use campus_runtime::api::timestamp;

use crate::{
    Error,
    load::{LoadSettings, run},
    scenarios::{
        Authed, Outcome, Seeded, Target, authed, code, cold_pick, seed_courses, seed_school,
    },
};

/// Learners answering, each with a token and a connection of their own.
const LEARNERS: usize = 100;
/// Places of every event: fewer than the learners, so answers fill it, wait and move up.
const CAPACITY: i32 = 40;
/// Events of `rsvp-spread`.
const SPREAD_EVENTS: usize = 200;
/// Events in the learner's list in `upcoming-events`.
const LISTED_EVENTS: usize = 50;

/// Runs the events scenario `name` (`rsvp-hot`, `rsvp-spread` or `upcoming-events`).
pub(crate) async fn run_scenario(
    name: &str,
    target: &Target,
    settings: &LoadSettings,
    progress: impl Fn(f64) + Send + Sync + 'static,
) -> Result<Outcome, Error> {
    match name {
        "rsvp-hot" => answers(target, settings, 1, progress).await,
        "rsvp-spread" => answers(target, settings, SPREAD_EVENTS, progress).await,
        _ => upcoming(target, settings, progress).await,
    }
}

/// A course of the seeded school with its `learners` enrolled, and `count` events of it (a
/// day apart from tomorrow, `CAPACITY` places) announced by its instructor.
async fn seed_events(
    target: &Target,
    seeded: &Seeded,
    count: usize,
) -> Result<(Vec<String>, Authed), Error> {
    let course_id = seed_courses(target, seeded, 1).await?.remove(0);
    let instructor = authed(&target.campus, &seeded.instructor.1).await?;
    let mut courses = CoursesServiceClient::new(instructor.clone());
    for (student, _) in &seeded.students {
        courses
            .enroll(EnrollRequest {
                course_id: course_id.clone(),
                user_id: student.clone(),
            })
            .await?;
    }
    let mut events = EventsServiceClient::new(instructor.clone());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    let tomorrow = i64::try_from(now).unwrap_or(0) + 86_400;
    let mut ids = Vec::with_capacity(count);
    for n in 0..count {
        let starts = tomorrow + i64::try_from(n).unwrap_or(0) * 86_400;
        let event = events
            .create_event(CreateEventRequest {
                request_id: String::new(),
                school_id: seeded.school_id.clone(),
                course_id: course_id.clone(),
                details: Some(EventDetails {
                    title: format!("Workshop {n}"),
                    starts_at: Some(timestamp(starts * 1_000_000)),
                    ends_at: Some(timestamp((starts + 3_600) * 1_000_000)),
                    time_zone: "Europe/Berlin".into(),
                    capacity: CAPACITY,
                    ..EventDetails::default()
                }),
            })
            .await?
            .into_inner()
            .event
            .ok_or("no event")?;
        ids.push(event.id);
    }
    Ok((ids, instructor))
}

/// `RespondToEvent` by [`LEARNERS`] learners over `count` events, each call GOING or
/// NOT_GOING in turn (so events fill, waitlists grow and move up), with a request id as a
/// client sends; afterwards the events are read back to check none is overbooked.
async fn answers(
    target: &Target,
    settings: &LoadSettings,
    count: usize,
    progress: impl Fn(f64) + Send + Sync + 'static,
) -> Result<Outcome, Error> {
    let name = if count == 1 {
        "rsvp-hot"
    } else {
        "rsvp-spread"
    };
    let seeded = seed_school(target, name, LEARNERS).await?;
    let (events, instructor) = seed_events(target, &seeded, count).await?;
    let mut learners = Vec::with_capacity(LEARNERS);
    for (_, token) in &seeded.students {
        learners.push(authed(&target.campus, token).await?);
    }
    let learners = Arc::new(learners);
    let events = Arc::new(events);
    let run_id = target.run_id.clone();
    let calls = Arc::clone(&events);
    let measurement = run(
        settings,
        move |worker, n| {
            let learner = cold_pick(worker, n, learners.len());
            let mut client = EventsServiceClient::new(learners[learner].clone());
            let status = if (n + worker as u64).is_multiple_of(2) {
                AttendanceStatus::Going
            } else {
                AttendanceStatus::NotGoing
            };
            let request = RespondToEventRequest {
                request_id: format!("{run_id}-{worker}-{n}"),
                event_id: calls[cold_pick(worker + learner, n, calls.len())].clone(),
                status: status as i32,
            };
            async move {
                client
                    .respond_to_event(request)
                    .await
                    .map(drop)
                    .map_err(code)
            }
        },
        progress,
    )
    .await;
    let mut staff = EventsServiceClient::new(instructor);
    let mut overbooked = 0;
    let mut going = 0;
    for event_id in events.iter() {
        let event = staff
            .get_event(GetEventRequest {
                event_id: event_id.clone(),
            })
            .await?
            .into_inner()
            .event
            .ok_or("no event")?;
        going += i64::from(event.going);
        if event.going > event.capacity {
            overbooked += 1;
        }
    }
    Ok(Outcome {
        measurement,
        per_call: 1.0,
        unit: "answers/s",
        measured_units: None,
        extra: vec![
            (
                "events".into(),
                format!("{count}, {CAPACITY} places, {LEARNERS} learners"),
            ),
            ("going at the end".into(), going.to_string()),
            ("events overbooked".into(), overbooked.to_string()),
        ],
    })
}

/// `ListUpcomingEvents` of a learner whose course has [`LISTED_EVENTS`] events: one page
/// of them, with the learner's answers, from the database (events are not cached).
async fn upcoming(
    target: &Target,
    settings: &LoadSettings,
    progress: impl Fn(f64) + Send + Sync + 'static,
) -> Result<Outcome, Error> {
    let seeded = seed_school(target, "upcoming", 1).await?;
    seed_events(target, &seeded, LISTED_EVENTS).await?;
    let learner = authed(&target.campus, &seeded.students[0].1).await?;
    let measurement = run(
        settings,
        move |_, _| {
            let mut client = EventsServiceClient::new(learner.clone());
            async move {
                client
                    .list_upcoming_events(ListUpcomingEventsRequest {
                        page_size: i32::try_from(LISTED_EVENTS).unwrap_or(50),
                        page_token: String::new(),
                    })
                    .await
                    .map(drop)
                    .map_err(code)
            }
        },
        progress,
    )
    .await;
    Ok(Outcome {
        measurement,
        per_call: 1.0,
        unit: "calls/s",
        measured_units: None,
        extra: vec![("events per page".into(), LISTED_EVENTS.to_string())],
    })
}
