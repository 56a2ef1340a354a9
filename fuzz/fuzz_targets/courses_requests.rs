//! The courses service's request checks on arbitrary decoded messages: CreateCourse and
//! AddLesson. The first byte picks the message, the rest is its protobuf encoding; what the
//! checks accept must keep the catalogue's limits (asserted in `campus_courses::fuzzing`).

#![no_main]

use campus_courses::fuzzing;
use campus_proto::courses::{AddLessonRequest, CreateCourseRequest};
use prost::Message as _;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&which, bytes)) = data.split_first() else {
        return;
    };
    if which % 2 == 0 {
        if let Ok(body) = CreateCourseRequest::decode(bytes) {
            fuzzing::check_create_course(&body);
        }
    } else if let Ok(body) = AddLessonRequest::decode(bytes) {
        fuzzing::check_add_lesson(&body);
    }
});
