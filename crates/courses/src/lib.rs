//! The courses service: each school's catalogue, ordered lessons, enrolments, and a learner's
//! "my courses" with the instructor's name and their progress.
//!
//! # Layout
//! - [`config`]: cache TTL and the progress budget (`CAMPUS_COURSES_*`).
//! - `domain`: valid titles and texts, the status machine, who may see or edit.
//! - `error`: [`CoursesError`] and its one mapping to `tonic::Status`.
//! - `messages`: stored rows as API messages.
//! - `store`: SQL (one statement per list, indexed).
//! - `catalogue`: courses and lessons; `enrolment`: enrol, unenrol, list;
//!   `my_courses`: ListCoursesForUser, fanning out to users and progress concurrently;
//!   `read_your_writes`: Enroll waits until progress knows the enrolment.
//! - `invalidation`: the consumer that drops cached lists when progress changes.
//! - `service`: the gRPC trait, delegating to the above.
//! - [`materials`]: files of courses and lessons (`MaterialsService`) and their signed
//!   HTTP downloads.
//! - [`school_events`]: events of schools and courses (`EventsService`), RSVPs with a
//!   waitlist, reminders and the calendar feed.
//! - `fuzzing` (feature `fuzzing`): the request checks, for the fuzz targets.

mod catalogue;
pub mod config;
mod domain;
mod enrolment;
mod error;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod invalidation;
pub mod materials;
mod messages;
mod my_courses;
mod read_your_writes;
pub mod school_events;
mod service;
mod store;

use campus_proto::courses::{
    Course, ListCoursesForUserResponse, courses_service_server::CoursesServiceServer,
};
use campus_runtime::client::{Peer, Peers};
use campus_store::{Cache, Migrations, Store};

pub use config::{CoursesConfig, EventsConfig, MaterialsConfig};
pub use error::CoursesError;
pub use invalidation::consumer;

/// The courses service's tables.
pub const MIGRATIONS: Migrations = Migrations {
    name: "courses",
    sqlite: || sqlx::migrate!("migrations/sqlite"),
    postgres: || sqlx::migrate!("migrations/postgres"),
};

/// The courses service.
#[derive(Debug, Clone)]
pub struct Courses {
    store: Store,
    users: Peer,
    progress: Peer,
    /// GetCourse answers, by course.
    course_cache: Cache<Course>,
    /// ListCoursesForUser pages, tagged by user and by school.
    my_courses_cache: Cache<ListCoursesForUserResponse>,
    config: CoursesConfig,
}

impl Courses {
    /// The service on `store`, calling users and progress through `peers`.
    pub fn new(store: &Store, peers: &Peers, config: &CoursesConfig) -> Self {
        Self {
            course_cache: store.caches.cache("courses", 100_000),
            my_courses_cache: store.caches.cache("my-courses", 100_000),
            store: store.clone(),
            users: peers.users(),
            progress: peers.progress(),
            config: config.clone(),
        }
    }
}

/// The tonic service for the server builder, with the process's message size limit applied
/// both ways (tonic leaves outgoing messages unlimited).
pub fn service(courses: Courses, max_message_size: usize) -> CoursesServiceServer<Courses> {
    CoursesServiceServer::new(courses)
        .max_decoding_message_size(max_message_size)
        .max_encoding_message_size(max_message_size)
}

/// Cache keys and tags, in one place so writers invalidate exactly what readers cache.
mod keys {
    /// GetCourse's key.
    pub(crate) fn course(course_id: &str) -> String {
        format!("course:{course_id}")
    }

    /// Tag of every "my courses" page of a user.
    pub(crate) fn user_lists(user_id: &str) -> String {
        format!("user:{user_id}")
    }

    /// Tag of every "my courses" page showing a course of a school.
    pub(crate) fn school_lists(school_id: &str) -> String {
        format!("school:{school_id}")
    }
}
