//! The courses service's request checks on arbitrary decoded messages: CreateCourse,
//! AddLesson, UpdateCourse and UpdateLesson. The first byte picks the message, the rest is its protobuf encoding; what the
//! checks accept must keep the catalogue's limits (asserted in `campus_courses::fuzzing`).

#![no_main]

use campus_courses::fuzzing;
use campus_proto::courses::{
    AddLessonRequest, CreateCourseRequest, UpdateCourseRequest, UpdateLessonRequest,
};
use prost::Message as _;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&which, bytes)) = data.split_first() else {
        return;
    };
    match which % 4 {
        0 => {
            if let Ok(body) = CreateCourseRequest::decode(bytes) {
                fuzzing::check_create_course(&body);
            }
        }
        1 => {
            if let Ok(body) = AddLessonRequest::decode(bytes) {
                fuzzing::check_add_lesson(&body);
            }
        }
        2 => {
            if let Ok(body) = UpdateCourseRequest::decode(bytes) {
                fuzzing::check_update_course(&body);
            }
        }
        _ => {
            if let Ok(body) = UpdateLessonRequest::decode(bytes) {
                fuzzing::check_update_lesson(&body);
            }
        }
    }
});
