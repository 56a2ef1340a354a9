//! Stored rows as API messages.

use campus_proto::progress::{AttendanceMark, AttendanceSession, CourseProgress, LessonProgress};
use campus_runtime::api::timestamp;

use crate::{
    domain::percent,
    store::{LessonRow, MarkRow, ProgressRow, SessionRow},
};

pub(crate) fn mark_message(row: &MarkRow) -> AttendanceMark {
    AttendanceMark {
        session_id: row.session_id.clone(),
        course_id: row.course_id.clone(),
        school_id: row.school_id.clone(),
        session_date: row.session_date.clone(),
        student_id: row.student_id.clone(),
        status: i32::try_from(row.status).unwrap_or_default(),
        note: row.note.clone(),
        marked_by: row.marked_by.clone(),
        marked_at: Some(timestamp(row.marked_at)),
    }
}

pub(crate) fn session_message(row: &SessionRow) -> AttendanceSession {
    AttendanceSession {
        id: row.id.clone(),
        school_id: row.school_id.clone(),
        course_id: row.course_id.clone(),
        title: row.title.clone(),
        session_date: row.session_date.clone(),
        starts_at: Some(timestamp(row.starts_at)),
        ends_at: row.ends_at.map(timestamp),
        created_by: row.created_by.clone(),
        created_at: Some(timestamp(row.created_at)),
    }
}

pub(crate) fn course_progress(row: &ProgressRow) -> CourseProgress {
    let total = row.lesson_count.unwrap_or(0);
    CourseProgress {
        user_id: row.user_id.clone(),
        course_id: row.course_id.clone(),
        completed_lessons: i32::try_from(row.completed_lessons.min(total.max(0))).unwrap_or(0),
        total_lessons: i32::try_from(total).unwrap_or(0),
        percent_complete: percent(row.completed_lessons, total),
        last_activity_at: row.last_activity_at.map(timestamp),
    }
}

pub(crate) fn lesson_progress(row: &LessonRow) -> LessonProgress {
    LessonProgress {
        user_id: row.user_id.clone(),
        course_id: row.course_id.clone(),
        lesson_id: row.lesson_id.clone(),
        state: i32::try_from(row.state).unwrap_or_default(),
        started_at: Some(timestamp(row.started_at)),
        completed_at: row.completed_at.map(timestamp),
    }
}
