//! School events through real servers: concurrent answers at capacity from two server
//! processes on one PostgreSQL, the waitlist moving up in order, reminders published once with
//! two replicas (moved by a change of time, dropped by a cancellation or a leaver), and the
//! calendar feed read by an independent iCalendar parser (Python's `icalendar`).

mod common;

use std::{collections::HashMap, time::Duration};

use campus_proto::{
    courses::{
        AttendanceStatus, CancelEventRequest, CreateEventRequest, EnrollRequest, EventDetails,
        EventStatus, GetCalendarUrlRequest, GetEventRequest, ListAttendeesRequest,
        ListUpcomingEventsRequest, RespondToEventRequest, RespondToEventResponse, SchoolEvent,
        UnenrollRequest, UpdateEventRequest, events_service_client::EventsServiceClient,
    },
    events::{EventEnvelope, EventReminder},
    users::Role,
};
use campus_testkit::{AuthedChannel, CampusOptions, TestCampus, TestDatabase};
use common::{Error, Person, courses_as, person, published_course, school};
use prost::Message as _;
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;

type Events = EventsServiceClient<AuthedChannel>;

/// The Python with `icalendar` installed (`make ical-venv`).
const ICAL_PYTHON_ENV: &str = "CAMPUS_TEST_ICAL_PYTHON";

/// A server on `database_url`, or on a fresh database of its own.
async fn server(database_url: Option<&str>, args: &[&str]) -> Result<TestCampus, Error> {
    let campus = TestCampus::start(CampusOptions {
        database_url: database_url.map(str::to_owned),
        args: args.iter().map(|arg| (*arg).to_owned()).collect(),
        ..CampusOptions::default()
    })
    .await?;
    campus.wait_for_status("", ServingStatus::Serving).await?;
    Ok(campus)
}

async fn events_as(campus: &TestCampus, person: &Person) -> Result<Events, Error> {
    Ok(EventsServiceClient::new(
        campus.channel_as(&person.token).await?,
    ))
}

/// A time `seconds` from now, on a whole second.
fn from_now(seconds: i64) -> prost_types::Timestamp {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    prost_types::Timestamp {
        seconds: i64::try_from(now).unwrap_or(0) + seconds,
        nanos: 0,
    }
}

/// An hour-long event starting at `starts_at`, in Berlin.
fn details(title: &str, starts_at: prost_types::Timestamp, capacity: i32) -> EventDetails {
    EventDetails {
        title: title.to_owned(),
        description: format!("All about {title}."),
        ends_at: Some(prost_types::Timestamp {
            seconds: starts_at.seconds + 3_600,
            nanos: 0,
        }),
        starts_at: Some(starts_at),
        time_zone: "Europe/Berlin".to_owned(),
        place: "Hall A, ground floor".to_owned(),
        link: String::new(),
        capacity,
    }
}

async fn create(
    events: &mut Events,
    school_id: &str,
    course_id: &str,
    details: EventDetails,
) -> Result<SchoolEvent, Error> {
    Ok(events
        .create_event(CreateEventRequest {
            request_id: String::new(),
            school_id: school_id.to_owned(),
            course_id: course_id.to_owned(),
            details: Some(details),
        })
        .await?
        .into_inner()
        .event
        .ok_or("no event")?)
}

async fn respond(
    campus: &TestCampus,
    person: &Person,
    event_id: &str,
    status: AttendanceStatus,
) -> Result<RespondToEventResponse, Error> {
    Ok(events_as(campus, person)
        .await?
        .respond_to_event(RespondToEventRequest {
            request_id: uuid::Uuid::now_v7().to_string(),
            event_id: event_id.to_owned(),
            status: status as i32,
        })
        .await?
        .into_inner())
}

async fn event(campus: &TestCampus, person: &Person, event_id: &str) -> Result<SchoolEvent, Error> {
    Ok(events_as(campus, person)
        .await?
        .get_event(GetEventRequest {
            event_id: event_id.to_owned(),
        })
        .await?
        .into_inner()
        .event
        .ok_or("no event")?)
}

/// (user, status, waitlist position) of everyone going, then the waitlist.
async fn attendees(
    campus: &TestCampus,
    staff: &Person,
    event_id: &str,
) -> Result<Vec<(String, i32, i32)>, Error> {
    let mut events = events_as(campus, staff).await?;
    let mut all = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = events
            .list_attendees(ListAttendeesRequest {
                event_id: event_id.to_owned(),
                page_size: 3,
                page_token,
            })
            .await?
            .into_inner();
        all.extend(
            page.attendees
                .into_iter()
                .map(|a| (a.user_id, a.status, a.waitlist_position)),
        );
        if page.next_page_token.is_empty() {
            return Ok(all);
        }
        page_token = page.next_page_token;
    }
}

/// The users of the waitlist, in order.
fn waitlist(attendees: &[(String, i32, i32)]) -> Vec<String> {
    attendees
        .iter()
        .filter(|(_, status, _)| *status == AttendanceStatus::Waitlisted as i32)
        .map(|(user, _, _)| user.clone())
        .collect()
}

fn going(attendees: &[(String, i32, i32)]) -> Vec<String> {
    let mut users: Vec<String> = attendees
        .iter()
        .filter(|(_, status, _)| *status == AttendanceStatus::Going as i32)
        .map(|(user, _, _)| user.clone())
        .collect();
    users.sort();
    users
}

#[tokio::test]
async fn concurrent_answers_on_two_servers_never_overbook_and_the_waitlist_moves_up_in_order()
-> Result<(), Error> {
    let database = TestDatabase::postgres_always().await?;
    let a = server(Some(database.url()), &[]).await?;
    let b = server(Some(database.url()), &[]).await?;
    let hill = school(&a, "hill").await?;
    let admin = person(&a, &hill, "admin@hill.example", Role::SchoolAdmin).await?;
    let mut pupils = Vec::new();
    for n in 0..12 {
        pupils.push(person(&a, &hill, &format!("p{n}@hill.example"), Role::Student).await?);
    }
    let open_day = create(
        &mut events_as(&a, &admin).await?,
        &hill.id,
        "",
        details("Open day", from_now(3 * 86_400), 4),
    )
    .await?;

    // Everyone at once, alternating between the two servers.
    let answers = futures::future::join_all(pupils.iter().enumerate().map(|(n, pupil)| {
        let campus = if n % 2 == 0 { &a } else { &b };
        respond(campus, pupil, &open_day.id, AttendanceStatus::Going)
    }))
    .await
    .into_iter()
    .collect::<Result<Vec<_>, _>>()?;
    let mine: Vec<_> = answers
        .iter()
        .map(|answer| answer.mine.unwrap_or_default())
        .collect();
    let going_now = mine
        .iter()
        .filter(|m| m.status == AttendanceStatus::Going as i32)
        .count();
    assert_eq!(going_now, 4, "{mine:?}");
    let mut places: Vec<i32> = mine
        .iter()
        .filter(|m| m.status == AttendanceStatus::Waitlisted as i32)
        .map(|m| m.waitlist_position)
        .collect();
    places.sort_unstable();
    assert_eq!(places, (1..=8).collect::<Vec<_>>());
    let stored = event(&b, &admin, &open_day.id).await?;
    assert_eq!((stored.going, stored.waitlisted), (4, 8));

    // The attendee list agrees with what each answer said.
    let listed = attendees(&a, &admin, &open_day.id).await?;
    let queue = waitlist(&listed);
    let by_user: HashMap<&str, i32> = pupils
        .iter()
        .zip(&mine)
        .map(|(pupil, m)| (pupil.user.id.as_str(), m.waitlist_position))
        .collect();
    for (index, user) in queue.iter().enumerate() {
        assert_eq!(
            by_user[user.as_str()],
            i32::try_from(index + 1)?,
            "waitlist order"
        );
    }
    let places: Vec<i32> = listed
        .iter()
        .filter(|(_, status, _)| *status == AttendanceStatus::Waitlisted as i32)
        .map(|(_, _, place)| *place)
        .collect();
    assert_eq!(places, (1..=8).collect::<Vec<_>>());

    // Two leave at once, on both servers: the first two of the waitlist move up.
    let leaving: Vec<&Person> = pupils
        .iter()
        .filter(|pupil| going(&listed).contains(&pupil.user.id))
        .take(2)
        .collect();
    futures::future::try_join(
        respond(&a, leaving[0], &open_day.id, AttendanceStatus::NotGoing),
        respond(&b, leaving[1], &open_day.id, AttendanceStatus::NotGoing),
    )
    .await?;
    let after_leaving = attendees(&b, &admin, &open_day.id).await?;
    let mut expected: Vec<String> = going(&listed)
        .into_iter()
        .filter(|user| *user != leaving[0].user.id && *user != leaving[1].user.id)
        .chain(queue[..2].iter().cloned())
        .collect();
    expected.sort();
    assert_eq!(going(&after_leaving), expected);
    assert_eq!(waitlist(&after_leaving), queue[2..]);

    // More room: the next three move up, in order.
    let mut as_admin = events_as(&a, &admin).await?;
    let current = event(&a, &admin, &open_day.id).await?;
    let mut bigger = details("Open day", current.starts_at.ok_or("no start")?, 7);
    bigger.description = current.description.clone();
    let updated = as_admin
        .update_event(UpdateEventRequest {
            event_id: open_day.id.clone(),
            version: current.version,
            details: Some(bigger.clone()),
        })
        .await?
        .into_inner()
        .event
        .ok_or("no event")?;
    assert_eq!((updated.going, updated.waitlisted), (7, 3));
    let after_growing = attendees(&a, &admin, &open_day.id).await?;
    assert_eq!(waitlist(&after_growing), queue[5..]);

    // A stale version is refused; a learner may not change the event.
    let stale = as_admin
        .update_event(UpdateEventRequest {
            event_id: open_day.id.clone(),
            version: current.version,
            details: Some(bigger.clone()),
        })
        .await;
    assert_eq!(common::code(stale), Code::FailedPrecondition);
    let by_pupil = events_as(&a, &pupils[0])
        .await?
        .update_event(UpdateEventRequest {
            event_id: open_day.id.clone(),
            version: updated.version,
            details: Some(bigger),
        })
        .await;
    assert_eq!(common::code(by_pupil), Code::PermissionDenied);

    // A capacity below the number going is refused rather than overbooking.
    let mut smaller = details("Open day", current.starts_at.ok_or("no start")?, 3);
    smaller.description = current.description.clone();
    let shrink = as_admin
        .update_event(UpdateEventRequest {
            event_id: open_day.id.clone(),
            version: updated.version,
            details: Some(smaller),
        })
        .await;
    assert_eq!(common::code(shrink), Code::FailedPrecondition);

    // A retried answer gets the first answer back, even after a later answer changed it, and
    // is not applied again.
    let last = pupils.last().ok_or("no pupil")?;
    let going = RespondToEventRequest {
        request_id: uuid::Uuid::now_v7().to_string(),
        event_id: open_day.id.clone(),
        status: AttendanceStatus::Going as i32,
    };
    let first = events_as(&b, last)
        .await?
        .respond_to_event(going.clone())
        .await?
        .into_inner();
    respond(&a, last, &open_day.id, AttendanceStatus::NotGoing).await?;
    let replayed = events_as(&a, last)
        .await?
        .respond_to_event(going)
        .await?
        .into_inner();
    assert_eq!(first, replayed);
    let now_listed = attendees(&b, &admin, &open_day.id).await?;
    assert!(
        now_listed.iter().all(|(user, _, _)| *user != last.user.id),
        "the replay answered again"
    );
    a.shutdown().await?;
    b.shutdown().await
}

/// The users reminded of `event_id` so far, from the outbox.
async fn reminded(pool: &sqlx::PgPool, event_id: &str) -> Result<Vec<String>, Error> {
    let envelopes: Vec<Vec<u8>> = sqlx::query_scalar(
        "SELECT envelope FROM outbox WHERE event_type = 'event.reminder' AND aggregate_id = $1",
    )
    .bind(event_id)
    .fetch_all(pool)
    .await?;
    let mut users = Vec::new();
    for envelope in envelopes {
        let envelope = EventEnvelope::decode(envelope.as_slice())?;
        users.push(EventReminder::decode(envelope.payload.as_slice())?.user_id);
    }
    users.sort();
    Ok(users)
}

/// Waits (up to a minute) until `count` reminders of `event_id` were published.
async fn wait_for_reminders(
    pool: &sqlx::PgPool,
    event_id: &str,
    count: usize,
) -> Result<Vec<String>, Error> {
    for _ in 0..600 {
        let users = reminded(pool, event_id).await?;
        if users.len() >= count {
            return Ok(users);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("fewer than {count} reminders of {event_id} within a minute").into())
}

fn sorted_ids(people: &[&Person]) -> Vec<String> {
    let mut ids: Vec<String> = people.iter().map(|p| p.user.id.clone()).collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn reminders_are_published_once_per_attendee_with_two_replicas() -> Result<(), Error> {
    let database = TestDatabase::postgres_always().await?;
    let flags = [
        "--event-reminder-interval",
        "100ms",
        "--event-reminder-lead",
        "1h",
    ];
    let a = server(Some(database.url()), &flags).await?;
    let b = server(Some(database.url()), &flags).await?;
    let pool = sqlx::PgPool::connect(database.url()).await?;
    let hill = school(&a, "hill").await?;
    let admin = person(&a, &hill, "admin@hill.example", Role::SchoolAdmin).await?;
    let mut pupils = Vec::new();
    for n in 0..3 {
        pupils.push(person(&a, &hill, &format!("r{n}@hill.example"), Role::Student).await?);
    }
    let mut as_admin = events_as(&a, &admin).await?;

    // In three hours: reminders due in two; one attendee leaves again.
    let later = create(
        &mut as_admin,
        &hill.id,
        "",
        details("Workshop", from_now(3 * 3_600), 0),
    )
    .await?;
    // Soon: answered after its reminder time, so reminded at once.
    let soon = create(
        &mut as_admin,
        &hill.id,
        "",
        details("Assembly", from_now(30 * 60), 0),
    )
    .await?;
    // In three hours, then cancelled.
    let called_off = create(
        &mut as_admin,
        &hill.id,
        "",
        details("Concert", from_now(3 * 3_600), 0),
    )
    .await?;
    for (n, pupil) in pupils.iter().enumerate() {
        let campus = if n % 2 == 0 { &a } else { &b };
        for event in [&later, &soon, &called_off] {
            respond(campus, pupil, &event.id, AttendanceStatus::Going).await?;
        }
    }
    respond(&b, &pupils[2], &later.id, AttendanceStatus::NotGoing).await?;
    as_admin
        .cancel_event(CancelEventRequest {
            event_id: called_off.id.clone(),
        })
        .await?;
    let everyone: Vec<&Person> = pupils.iter().collect();
    assert_eq!(
        wait_for_reminders(&pool, &soon.id, 3).await?,
        sorted_ids(&everyone)
    );

    // The workshop moves to 20 minutes from now: its reminders are due at once, except for
    // the one who left before.
    let current = event(&a, &admin, &later.id).await?;
    as_admin
        .update_event(UpdateEventRequest {
            event_id: later.id.clone(),
            version: current.version,
            details: Some(details("Workshop", from_now(20 * 60), 0)),
        })
        .await?;
    let staying = [&pupils[0], &pupils[1]];
    assert_eq!(
        wait_for_reminders(&pool, &later.id, 2).await?,
        sorted_ids(&staying)
    );

    // The assembly, already reminded, moves five minutes: nobody is reminded twice, nor when
    // leaving and coming back.
    let current = event(&a, &admin, &soon.id).await?;
    as_admin
        .update_event(UpdateEventRequest {
            event_id: soon.id.clone(),
            version: current.version,
            details: Some(details("Assembly", from_now(35 * 60), 0)),
        })
        .await?;
    respond(&b, &pupils[0], &soon.id, AttendanceStatus::NotGoing).await?;
    respond(&a, &pupils[0], &soon.id, AttendanceStatus::Going).await?;

    // Both replicas keep ticking every 100 ms: a second look finds exactly one reminder per
    // attendee, none for the one who left, none for the cancelled event.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(reminded(&pool, &soon.id).await?, sorted_ids(&everyone));
    assert_eq!(reminded(&pool, &later.id).await?, sorted_ids(&staying));
    assert_eq!(reminded(&pool, &called_off.id).await?, Vec::<String>::new());
    let pending: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM event_reminders WHERE sent_at IS NULL")
            .fetch_one(&pool)
            .await?;
    assert_eq!(pending, 0, "the cancelled event's reminders were dropped");
    pool.close().await;
    a.shutdown().await?;
    b.shutdown().await
}

#[tokio::test]
async fn the_audience_sees_events_and_others_find_nothing() -> Result<(), Error> {
    let campus = server(None, &[]).await?;
    let hill = school(&campus, "hill").await?;
    let dale = school(&campus, "dale").await?;
    let admin = person(&campus, &hill, "admin@hill.example", Role::SchoolAdmin).await?;
    let teacher = person(&campus, &hill, "teacher@hill.example", Role::Instructor).await?;
    let pupil = person(&campus, &hill, "pupil@hill.example", Role::Student).await?;
    let other_pupil = person(&campus, &hill, "other@hill.example", Role::Student).await?;
    let stranger = person(&campus, &dale, "pupil@dale.example", Role::Student).await?;
    let course = published_course(&campus, &teacher, "Chemistry").await?;
    courses_as(&campus, &pupil.token)
        .await?
        .enroll(EnrollRequest {
            course_id: course.id.clone(),
            user_id: pupil.user.id.clone(),
        })
        .await?;
    let lab = create(
        &mut events_as(&campus, &teacher).await?,
        &hill.id,
        &course.id,
        details("Lab day", from_now(86_400), 0),
    )
    .await?;
    let fair = create(
        &mut events_as(&campus, &admin).await?,
        &hill.id,
        "",
        details("Science fair", from_now(2 * 86_400), 0),
    )
    .await?;
    // A teacher may not announce a school event; a learner no event at all.
    let school_wide = events_as(&campus, &teacher)
        .await?
        .create_event(CreateEventRequest {
            request_id: String::new(),
            school_id: hill.id.clone(),
            course_id: String::new(),
            details: Some(details("Party", from_now(86_400), 0)),
        })
        .await;
    assert_eq!(common::code(school_wide), Code::PermissionDenied);
    let by_pupil = events_as(&campus, &pupil)
        .await?
        .create_event(CreateEventRequest {
            request_id: String::new(),
            school_id: hill.id.clone(),
            course_id: course.id.clone(),
            details: Some(details("Party", from_now(86_400), 0)),
        })
        .await;
    assert_eq!(common::code(by_pupil), Code::PermissionDenied);
    // A bad zone is named.
    let mut bad = details("Party", from_now(86_400), 0);
    bad.time_zone = "Europe/Atlantis".into();
    let status = events_as(&campus, &admin)
        .await?
        .create_event(CreateEventRequest {
            request_id: String::new(),
            school_id: hill.id.clone(),
            course_id: String::new(),
            details: Some(bad),
        })
        .await
        .err()
        .ok_or("accepted a bad zone")?;
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("details.time_zone"), "{status:?}");

    let upcoming = |person: Person| {
        let campus = &campus;
        async move {
            let list = events_as(campus, &person)
                .await?
                .list_upcoming_events(ListUpcomingEventsRequest {
                    page_size: 1,
                    page_token: String::new(),
                })
                .await?
                .into_inner();
            let mut titles: Vec<String> = list
                .events
                .iter()
                .filter_map(|e| e.event.as_ref().map(|e| e.title.clone()))
                .collect();
            let mut token = list.next_page_token;
            while !token.is_empty() {
                let page = events_as(campus, &person)
                    .await?
                    .list_upcoming_events(ListUpcomingEventsRequest {
                        page_size: 1,
                        page_token: token,
                    })
                    .await?
                    .into_inner();
                titles.extend(
                    page.events
                        .iter()
                        .filter_map(|e| e.event.as_ref().map(|e| e.title.clone())),
                );
                token = page.next_page_token;
            }
            Ok::<_, Error>(titles)
        }
    };
    assert_eq!(upcoming(pupil.clone()).await?, ["Lab day", "Science fair"]);
    assert_eq!(
        upcoming(teacher.clone()).await?,
        ["Lab day", "Science fair"]
    );
    assert_eq!(upcoming(admin.clone()).await?, ["Lab day", "Science fair"]);
    assert_eq!(upcoming(other_pupil.clone()).await?, ["Science fair"]);
    assert_eq!(upcoming(stranger.clone()).await?, Vec::<String>::new());

    for (who, event_id) in [
        (&other_pupil, &lab.id),
        (&stranger, &lab.id),
        (&stranger, &fair.id),
    ] {
        let seen = events_as(&campus, who)
            .await?
            .get_event(GetEventRequest {
                event_id: event_id.clone(),
            })
            .await;
        assert_eq!(common::code(seen), Code::NotFound);
        let answered = events_as(&campus, who)
            .await?
            .respond_to_event(RespondToEventRequest {
                request_id: String::new(),
                event_id: event_id.clone(),
                status: AttendanceStatus::Going as i32,
            })
            .await;
        assert_eq!(common::code(answered), Code::NotFound);
    }
    let listed = events_as(&campus, &pupil)
        .await?
        .list_attendees(ListAttendeesRequest {
            event_id: lab.id.clone(),
            page_size: 0,
            page_token: String::new(),
        })
        .await;
    assert_eq!(common::code(listed), Code::PermissionDenied);

    // An instructor may not change a school event.
    let mut as_teacher = events_as(&campus, &teacher).await?;
    let changed = as_teacher
        .update_event(UpdateEventRequest {
            event_id: fair.id.clone(),
            version: fair.version,
            details: Some(details("Science fair", from_now(2 * 86_400), 0)),
        })
        .await;
    assert_eq!(common::code(changed), Code::PermissionDenied);
    let cancelled = as_teacher
        .cancel_event(CancelEventRequest {
            event_id: fair.id.clone(),
        })
        .await;
    assert_eq!(common::code(cancelled), Code::PermissionDenied);

    // A learner removed from the course leaves its events: the place is free again.
    respond(&campus, &pupil, &lab.id, AttendanceStatus::Going).await?;
    assert_eq!(event(&campus, &teacher, &lab.id).await?.going, 1);
    courses_as(&campus, &teacher.token)
        .await?
        .unenroll(UnenrollRequest {
            course_id: course.id.clone(),
            user_id: pupil.user.id.clone(),
        })
        .await?;
    let mut freed = false;
    for _ in 0..300 {
        if event(&campus, &teacher, &lab.id).await?.going == 0 {
            freed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(freed, "the unenrolled learner still holds a place");
    let seen = events_as(&campus, &pupil)
        .await?
        .get_event(GetEventRequest {
            event_id: lab.id.clone(),
        })
        .await;
    assert_eq!(common::code(seen), Code::NotFound);
    campus.shutdown().await
}

/// Parses a feed with Python's `icalendar` and prints, per event, its UID, SEQUENCE, STATUS,
/// TZID, start and end in UTC, and whether the feed's own VTIMEZONE (read under another name,
/// as the parser would otherwise use its own zone) gives the start the offset Python's
/// zoneinfo does.
const PARSE_FEED: &str = r#"
import json, sys, zoneinfo
from datetime import timezone
import icalendar
raw = sys.stdin.buffer.read()
cal = icalendar.Calendar.from_ical(raw)
# A known TZID resolves to Python's own zone; renamed, it is read from the feed's VTIMEZONE.
renamed = icalendar.Calendar.from_ical(raw.replace(b"TZID:", b"TZID:X-Own-"))
own = {tz.tz_name.removeprefix("X-Own-"): tz.to_tz() for tz in renamed.timezones}
out = []
for ev in cal.walk("VEVENT"):
    start, end = ev.decoded("DTSTART"), ev.decoded("DTEND")
    tzid = ev["DTSTART"].params.get("TZID")
    naive = start.replace(tzinfo=None)
    feed_offset = naive.replace(tzinfo=own[tzid]).utcoffset() if tzid in own else None
    real_offset = naive.replace(tzinfo=zoneinfo.ZoneInfo(tzid)).utcoffset()
    out.append({
        "uid": str(ev["UID"]),
        "sequence": int(ev.get("SEQUENCE", 0)),
        "status": str(ev.get("STATUS", "")),
        "summary": str(ev["SUMMARY"]),
        "tzid": tzid,
        "local": naive.isoformat(),
        "start": start.astimezone(timezone.utc).isoformat(),
        "end": end.astimezone(timezone.utc).isoformat(),
        "vtimezone_agrees": feed_offset == real_offset,
    })
print(json.dumps(out))
"#;

/// `python` parsing `feed` with [`PARSE_FEED`].
async fn parse_feed(python: &str, feed: &str) -> Result<serde_json::Value, Error> {
    use tokio::io::AsyncWriteExt as _;
    let mut child = tokio::process::Command::new(python)
        .args(["-c", PARSE_FEED])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    let mut stdin = child.stdin.take().ok_or("no stdin")?;
    stdin.write_all(feed.as_bytes()).await?;
    drop(stdin);
    let output = child.wait_with_output().await?;
    if !output.status.success() {
        return Err(format!(
            "icalendar could not parse the feed: {}\n{feed}",
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    Ok(serde_json::from_slice(&output.stdout)?)
}

/// A time of 2026-2027 in the future of any run of this test: the same calendar dates next
/// year, so the feed crosses a daylight-saving change on known local dates.
fn next_year_utc(month: u32, day: u32, hour: u32) -> Result<prost_types::Timestamp, Error> {
    use chrono::{Datelike as _, TimeZone as _};
    let year = chrono::Utc::now().year() + 1;
    let at = chrono::Utc
        .with_ymd_and_hms(year, month, day, hour, 0, 0)
        .single()
        .ok_or("no such time")?;
    Ok(prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: 0,
    })
}

#[tokio::test]
async fn the_calendar_feed_parses_with_an_independent_parser_across_a_daylight_saving_change()
-> Result<(), Error> {
    let Ok(python) = std::env::var(ICAL_PYTHON_ENV) else {
        if std::env::var_os("CI").is_some() {
            return Err(format!("{ICAL_PYTHON_ENV} is not set (make ical-venv)").into());
        }
        eprintln!("skipped: {ICAL_PYTHON_ENV} is not set (make ical-venv)");
        return Ok(());
    };
    let campus = server(None, &[]).await?;
    let hill = school(&campus, "hill").await?;
    let admin = person(&campus, &hill, "admin@hill.example", Role::SchoolAdmin).await?;
    let pupil = person(&campus, &hill, "pupil@hill.example", Role::Student).await?;
    let mut as_admin = events_as(&campus, &admin).await?;
    // 10:00 in Berlin the Saturday before summer time (09:00Z) and the Monday after (08:00Z),
    // on the last weekend of March next year.
    let (saturday, monday) = {
        use chrono::{Datelike as _, Weekday};
        let year = chrono::Utc::now().year() + 1;
        let last_sunday = (25..=31)
            .rev()
            .find(|day| {
                chrono::NaiveDate::from_ymd_opt(year, 3, *day)
                    .is_some_and(|date| date.weekday() == Weekday::Sun)
            })
            .ok_or("no Sunday")?;
        (
            next_year_utc(3, last_sunday - 1, 9)?,
            next_year_utc(3, last_sunday + 1, 8)?,
        )
    };
    let before = create(
        &mut as_admin,
        &hill.id,
        "",
        details("Open day, part 1", saturday, 0),
    )
    .await?;
    let after = create(
        &mut as_admin,
        &hill.id,
        "",
        details("Open day, part 2", monday, 0),
    )
    .await?;
    for event in [&before, &after] {
        respond(&campus, &pupil, &event.id, AttendanceStatus::Going).await?;
    }
    as_admin
        .cancel_event(CancelEventRequest {
            event_id: after.id.clone(),
        })
        .await?;

    let mut as_pupil = events_as(&campus, &pupil).await?;
    let url = as_pupil
        .get_calendar_url(GetCalendarUrlRequest { reset: false })
        .await?
        .into_inner()
        .url;
    let feed_url = format!("http://{}{url}", campus.addr);
    let response = reqwest::get(&feed_url).await?;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/calendar; charset=utf-8"
    );
    let etag = response.headers()["etag"].to_str()?.to_owned();
    let feed = response.text().await?;
    let parsed = parse_feed(&python, &feed).await?;
    let parsed = parsed.as_array().ok_or("not a list")?;
    assert_eq!(parsed.len(), 2, "{feed}");
    let (first, second) = (&parsed[0], &parsed[1]);
    assert_eq!(first["uid"], format!("{}@campus", before.id));
    assert_eq!(first["summary"], "Open day, part 1");
    assert_eq!(first["tzid"], "Europe/Berlin");
    assert!(
        first["local"]
            .as_str()
            .ok_or("local")?
            .ends_with("T10:00:00")
    );
    assert!(
        second["local"]
            .as_str()
            .ok_or("local")?
            .ends_with("T10:00:00")
    );
    assert!(
        first["start"]
            .as_str()
            .ok_or("start")?
            .ends_with("T09:00:00+00:00")
    );
    assert!(
        second["start"]
            .as_str()
            .ok_or("start")?
            .ends_with("T08:00:00+00:00")
    );
    assert_eq!(first["vtimezone_agrees"], true, "{feed}");
    assert_eq!(second["vtimezone_agrees"], true, "{feed}");
    assert_eq!(first["status"], "CONFIRMED");
    assert_eq!(second["status"], "CANCELLED");
    assert_eq!(second["sequence"], 1, "cancelling is a new version");

    // Unchanged: 304 to the app's If-None-Match.
    let unchanged = reqwest::Client::new()
        .get(&feed_url)
        .header("if-none-match", &etag)
        .send()
        .await?;
    assert_eq!(unchanged.status(), 304);
    // A forged or reset link is refused.
    let forged = reqwest::get(feed_url.replace("&s=", "&s=A")).await?;
    assert_eq!(forged.status(), 403);
    as_pupil
        .get_calendar_url(GetCalendarUrlRequest { reset: true })
        .await?;
    assert_eq!(reqwest::get(&feed_url).await?.status(), 403);
    let cancelled = event(&campus, &pupil, &after.id).await?;
    assert_eq!(cancelled.status, EventStatus::Cancelled as i32);
    campus.shutdown().await
}

#[tokio::test]
async fn an_answer_and_the_upcoming_list_take_a_fixed_number_of_statements() -> Result<(), Error> {
    let campus = TestCampus::start(CampusOptions {
        log_filter: "info,sqlx::query=debug",
        ..CampusOptions::default()
    })
    .await?;
    campus.wait_for_status("", ServingStatus::Serving).await?;
    let hill = school(&campus, "hill").await?;
    let admin = person(&campus, &hill, "admin@hill.example", Role::SchoolAdmin).await?;
    let pupil = person(&campus, &hill, "pupil@hill.example", Role::Student).await?;
    let mut as_admin = events_as(&campus, &admin).await?;
    let first = create(
        &mut as_admin,
        &hill.id,
        "",
        details("Fair 0", from_now(86_400), 1),
    )
    .await?;
    let (_, answer) = campus
        .statements_of(
            "RespondToEvent",
            respond(&campus, &pupil, &first.id, AttendanceStatus::Going),
        )
        .await?;
    // Recall the request id, lock and read the event, read the answer, write it (and its
    // reminder), store the counts, remember the answer, commit.
    assert!(
        answer.len() <= 10,
        "{} statements: {answer:#?}",
        answer.len()
    );

    let upcoming = async || {
        let (_, statements) = campus
            .statements_of("ListUpcomingEvents", async {
                Ok(events_as(&campus, &pupil)
                    .await?
                    .list_upcoming_events(ListUpcomingEventsRequest {
                        page_size: 100,
                        page_token: String::new(),
                    })
                    .await?)
            })
            .await?;
        Ok::<_, Error>(statements.len())
    };
    let with_one = upcoming().await?;
    for n in 1..50 {
        let fair = create(
            &mut as_admin,
            &hill.id,
            "",
            details(&format!("Fair {n}"), from_now(86_400 + n), 1),
        )
        .await?;
        respond(&campus, &pupil, &fair.id, AttendanceStatus::Going).await?;
    }
    assert_eq!(
        upcoming().await?,
        with_one,
        "statements for 1 and for 50 events"
    );
    campus.shutdown().await
}
