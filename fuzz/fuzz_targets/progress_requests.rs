//! The progress service's request checks on arbitrary decoded messages:
//! CreateAttendanceSession, BatchMarkAttendance and RecordLessonProgress. The first byte
//! picks the message, the rest is its protobuf encoding; what the checks accept must keep the
//! invariants asserted in `campus_progress::fuzzing`.

#![no_main]

use campus_progress::fuzzing;
use campus_proto::progress::{
    BatchMarkAttendanceRequest, CreateAttendanceSessionRequest, RecordLessonProgressRequest,
};
use prost::Message as _;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&which, bytes)) = data.split_first() else {
        return;
    };
    match which % 3 {
        0 => {
            if let Ok(body) = CreateAttendanceSessionRequest::decode(bytes) {
                fuzzing::check_create_session(&body);
            }
        }
        1 => {
            if let Ok(body) = BatchMarkAttendanceRequest::decode(bytes) {
                fuzzing::check_batch_marks(&body);
            }
        }
        _ => {
            if let Ok(body) = RecordLessonProgressRequest::decode(bytes) {
                fuzzing::check_record_lesson_progress(&body);
            }
        }
    }
});
