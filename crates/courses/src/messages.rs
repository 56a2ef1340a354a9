//! Stored rows as API messages, and back where the cache needs it.

use campus_proto::courses::{Course, Enrollment, Lesson};
use campus_runtime::api::timestamp;

use crate::{
    domain::status_of,
    store::{CourseRow, EnrollmentRow, LessonRow},
};

/// A stored course as the API's `Course`.
pub(crate) fn course_message(row: &CourseRow) -> Course {
    Course {
        id: row.id.clone(),
        school_id: row.school_id.clone(),
        title: row.title.clone(),
        description: row.description.clone(),
        instructor_id: row.instructor_id.clone(),
        status: status_of(row) as i32,
        lesson_count: i32::try_from(row.lesson_count).unwrap_or(i32::MAX),
        version: row.version,
        created_at: Some(timestamp(row.created_at)),
        updated_at: Some(timestamp(row.updated_at)),
        published_at: row.published_at.map(timestamp),
        archived_at: row.archived_at.map(timestamp),
    }
}

/// The stored form of a course message (for courses read back from the cache).
pub(crate) fn course_row(course: &Course) -> CourseRow {
    let micros =
        |ts: &Option<campus_runtime::api::Timestamp>| campus_runtime::api::micros(ts.as_ref());
    CourseRow {
        id: course.id.clone(),
        school_id: course.school_id.clone(),
        title: course.title.clone(),
        description: course.description.clone(),
        instructor_id: course.instructor_id.clone(),
        status: i64::from(course.status),
        lesson_count: i64::from(course.lesson_count),
        version: course.version,
        created_at: micros(&course.created_at).unwrap_or_default(),
        updated_at: micros(&course.updated_at).unwrap_or_default(),
        published_at: micros(&course.published_at),
        archived_at: micros(&course.archived_at),
    }
}

pub(crate) fn lesson_message(row: &LessonRow) -> Lesson {
    Lesson {
        id: row.id.clone(),
        course_id: row.course_id.clone(),
        title: row.title.clone(),
        content: row.content.clone(),
        position: i32::try_from(row.position).unwrap_or(i32::MAX),
        created_at: Some(timestamp(row.created_at)),
        updated_at: Some(timestamp(row.updated_at)),
    }
}

pub(crate) fn enrollment_message(row: &EnrollmentRow) -> Enrollment {
    Enrollment {
        id: row.id.clone(),
        course_id: row.course_id.clone(),
        user_id: row.user_id.clone(),
        school_id: row.school_id.clone(),
        enrolled_by: row.enrolled_by.clone(),
        enrolled_at: Some(timestamp(row.enrolled_at)),
    }
}
