//! The courses service's request checks on arbitrary decoded messages: CreateCourse,
//! AddLesson, UpdateCourse, UpdateLesson and an upload's announcement; and download URLs
//! (arbitrary text split at the first `?`), which nothing unsigned may pass. The first byte picks the message, the rest is its protobuf encoding; what the
//! checks accept must keep the catalogue's limits (asserted in `campus_courses::fuzzing`).

#![no_main]

use campus_courses::fuzzing;
use campus_proto::courses::{
    AddLessonRequest, CreateCourseRequest, UpdateCourseRequest, UpdateLessonRequest, UploadStart,
};
use prost::Message as _;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&which, bytes)) = data.split_first() else {
        return;
    };
    match which % 6 {
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
        3 => {
            if let Ok(body) = UpdateLessonRequest::decode(bytes) {
                fuzzing::check_update_lesson(&body);
            }
        }
        4 => {
            if let Ok(body) = UploadStart::decode(bytes) {
                fuzzing::check_upload_start(&body, 1 << 31);
            }
        }
        _ => {
            if let Ok(text) = std::str::from_utf8(bytes) {
                let (path, query) = text.split_once('?').unwrap_or((text, ""));
                assert!(
                    !fuzzing::check_download_url(path, query),
                    "accepted {text:?}"
                );
            }
        }
    }
});
