//! School events (`campus.courses.v1.EventsService`): announcements of a school or of one
//! course, the answers of their audience with a waitlist when full, reminders on the bus, and
//! each user's calendar feed in iCalendar over a signed URL.
//!
//! - `checks`: what an event's details may be (times, IANA zone, link, capacity).
//! - `access`: who is an event's audience and who may change it.
//! - `store`: the SQL of events, answers, reminders and feed generations.
//! - `manage`: creating, changing, cancelling, reading and listing events.
//! - `rsvp`: answers under the event's write lock, the waitlist and its moving up.
//! - `reminders`: the tick that publishes due reminders, once across replicas.
//! - `feed`: the iCalendar text of a user's events, with their time zones;
//!   `feed_http`: its signed URLs and route.
//! - `unenrolled`: a learner removed from a course leaves its events.
//! - `service`: the gRPC trait, delegating to the above.

mod access;
pub(crate) mod checks;
mod feed;
mod feed_http;
mod manage;
mod reminders;
mod rsvp;
mod service;
mod store;
mod unenrolled;

use std::time::Duration;

use campus_proto::courses::{SchoolEvent, events_service_server::EventsServiceServer};
use campus_runtime::{api::timestamp, http_routes::HttpHandler};

use crate::{Courses, config::EventsConfig, materials::Materials, materials::signing::UrlSigner};

pub use unenrolled::consumer;

/// The events service: the courses service's data plus the URL signing keys of materials.
#[derive(Debug, Clone)]
pub struct SchoolEvents {
    courses: Courses,
    signer: UrlSigner,
    reminder_lead: Duration,
    reminder_interval: Duration,
    feed_ttl: Duration,
}

impl SchoolEvents {
    /// The service over `courses`' data, signing feed URLs with `materials`' keys.
    pub fn new(courses: &Courses, materials: &Materials, config: &EventsConfig) -> Self {
        Self {
            courses: courses.clone(),
            signer: materials.signer().clone(),
            reminder_lead: config.reminder_lead,
            reminder_interval: config.reminder_interval,
            feed_ttl: config.feed_ttl,
        }
    }

    /// The calendar feed route, for the server's HTTP routes.
    pub fn http_route(&self) -> (&'static str, HttpHandler) {
        (feed_http::URL_PREFIX, feed_http::handler(self.clone()))
    }

    /// Publishes due reminders every `CAMPUS_EVENT_REMINDER_INTERVAL` until `stop` completes.
    /// Every replica may run it: each reminder is claimed in the transaction that publishes it.
    pub async fn remind_until(&self, stop: impl Future<Output = ()> + Send) {
        reminders::run(self.clone(), stop).await;
    }
}

/// The tonic service for the server builder, with the process's message size limit applied
/// both ways.
pub fn service(events: SchoolEvents, max_message_size: usize) -> EventsServiceServer<SchoolEvents> {
    EventsServiceServer::new(events)
        .max_decoding_message_size(max_message_size)
        .max_encoding_message_size(max_message_size)
}

/// A stored event as the API's message.
fn event_message(row: &store::EventRow) -> SchoolEvent {
    SchoolEvent {
        id: row.id.clone(),
        school_id: row.school_id.clone(),
        course_id: row.course_id.clone(),
        title: row.title.clone(),
        description: row.description.clone(),
        starts_at: Some(timestamp(row.starts_at)),
        ends_at: Some(timestamp(row.ends_at)),
        time_zone: row.time_zone.clone(),
        place: row.place.clone(),
        link: row.link.clone(),
        capacity: i32::try_from(row.capacity).unwrap_or(i32::MAX),
        status: i32::try_from(row.status).unwrap_or_default(),
        version: row.version,
        going: i32::try_from(row.going).unwrap_or(i32::MAX),
        waitlisted: i32::try_from(row.waitlisted).unwrap_or(i32::MAX),
        created_by: row.created_by.clone(),
        created_at: Some(timestamp(row.created_at)),
        updated_at: Some(timestamp(row.updated_at)),
    }
}
