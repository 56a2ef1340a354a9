//! The progress service's request checks, reachable by the fuzz targets (`fuzz/`) without a
//! handler or a database: built only with the `fuzzing` feature. Each function runs the
//! checks the handler runs on a decoded request and panics if what they accept breaks an
//! invariant of sessions, marks or lesson progress.

use std::collections::HashSet;

use campus_proto::progress::{
    BatchMarkAttendanceRequest, CreateAttendanceSessionRequest, RecordLessonProgressRequest,
};

use crate::{
    attendance::{check_marks, check_new_session},
    lessons::check_lesson_progress,
};

/// Checks a CreateAttendanceSession request's own fields as the handler does; whether they
/// passed.
pub fn check_create_session(body: &CreateAttendanceSessionRequest) -> bool {
    match check_new_session(body) {
        Ok((starts_at, ends_at)) => {
            assert!(
                ends_at.is_none_or(|end| end > starts_at),
                "accepted an end before the start"
            );
            true
        }
        Err(_) => false,
    }
}

/// Checks a BatchMarkAttendance request's marks as the handler does; whether they passed.
pub fn check_batch_marks(body: &BatchMarkAttendanceRequest) -> bool {
    match check_marks(&body.marks) {
        Ok(()) => {
            let students: HashSet<&str> = body
                .marks
                .iter()
                .map(|mark| mark.student_id.as_str())
                .collect();
            assert_eq!(
                students.len(),
                body.marks.len(),
                "accepted a student marked twice"
            );
            assert!(!students.contains(""), "accepted a mark without a student");
            true
        }
        Err(_) => false,
    }
}

/// Checks a RecordLessonProgress request's own fields as the handler does; whether they
/// passed.
pub fn check_record_lesson_progress(body: &RecordLessonProgressRequest) -> bool {
    check_lesson_progress(body).is_ok()
}
