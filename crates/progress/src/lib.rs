//! The progress service: learners' lesson progress, and attendance (sessions, marks,
//! summaries and a live feed of marks across replicas).
//!
//! # Layout
//! - `domain`: dates and ranges, statuses, percentages and rates.
//! - `error`: [`ProgressError`] and its one mapping to `tonic::Status`.
//! - `messages`: stored rows as API messages.
//! - `store`: SQL (batch reads and writes in one statement; summaries aggregated in SQL).
//! - `projections`: the consumer that keeps course facts and progress records from course
//!   and enrolment events.
//! - `lessons`: lesson progress and course percentages; `attendance`: sessions, marks,
//!   lists and summaries; `watch`: the live feed of marks.
//! - `service`: the gRPC trait, delegating to the above.
//! - `fuzzing` (feature `fuzzing`): the request checks, for the fuzz targets.

mod attendance;
mod domain;
mod error;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod lessons;
mod messages;
mod projections;
mod service;
mod store;
mod watch;

use campus_proto::progress::{
    WatchAttendanceRequest, progress_service_server::ProgressServiceServer,
};
use campus_runtime::{auth::Caller, encoded::EncodedRoute};
use campus_store::{Migrations, Store};

pub use error::ProgressError;
pub use projections::consumer;
pub use watch::WatchAttendanceRoute;

use crate::store::CourseFacts;

/// The progress service's tables.
pub const MIGRATIONS: Migrations = Migrations {
    name: "progress",
    sqlite: || sqlx::migrate!("migrations/sqlite"),
    postgres: || sqlx::migrate!("migrations/postgres"),
};

/// The progress service.
#[derive(Debug, Clone)]
pub struct Progress {
    store: Store,
}

impl Progress {
    /// The service on `store`.
    pub fn new(store: &Store) -> Self {
        Self {
            store: store.clone(),
        }
    }

    /// What progress knows of a course, if `caller` is in its school.
    async fn course(&self, caller: &Caller, course_id: &str) -> Result<CourseFacts, ProgressError> {
        if course_id.is_empty() {
            return Err(ProgressError::invalid("course_id", "is required"));
        }
        match store::course_facts(&self.store.database, course_id).await? {
            Some(course) if caller.can_access_school(&course.school_id) => Ok(course),
            Some(_) | None => Err(ProgressError::NotFound("course")),
        }
    }
}

/// Whether `caller` teaches `course` or administers its school.
fn is_course_staff(caller: &Caller, course: &CourseFacts) -> bool {
    caller.can_access_school(&course.school_id)
        && (caller.user_id == course.instructor_id
            || caller.has_role(campus_proto::users::Role::SchoolAdmin)
            || caller.is_platform_admin())
}

/// The tonic service for the server builder, with the process's message size limit applied
/// both ways (tonic leaves outgoing messages unlimited).
pub fn service(
    progress: Progress,
    max_message_size: usize,
) -> EncodedRoute<ProgressServiceServer<Progress>, WatchAttendanceRoute, WatchAttendanceRequest> {
    let route = WatchAttendanceRoute(progress.clone());
    let generated = ProgressServiceServer::new(progress)
        .max_decoding_message_size(max_message_size)
        .max_encoding_message_size(max_message_size);
    EncodedRoute::new(generated, watch::WATCH_ATTENDANCE, route, max_message_size)
}
