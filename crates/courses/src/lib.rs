//! The courses service: course catalogue, lessons and enrolment.
//!
//! Its contract is `campus.courses.v1.CoursesService`. The service's own issue has not landed yet,
//! so every RPC answers UNIMPLEMENTED (the generated defaults); health, reflection, metrics
//! and shutdown already behave as they will.

use campus_proto::courses::courses_service_server::{CoursesService, CoursesServiceServer};

/// The courses service; its RPCs take the generated UNIMPLEMENTED defaults for now.
#[derive(Debug, Clone, Default)]
pub struct Courses;

impl CoursesService for Courses {}

/// The tonic service for the server builder, with the process's message size limit applied
/// both ways (tonic leaves outgoing messages unlimited).
pub fn service(max_message_size: usize) -> CoursesServiceServer<Courses> {
    CoursesServiceServer::new(Courses)
        .max_decoding_message_size(max_message_size)
        .max_encoding_message_size(max_message_size)
}
