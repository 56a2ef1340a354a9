//! The courses service's request checks, reachable by the fuzz targets (`fuzz/`) without a
//! handler or a database: built only with the `fuzzing` feature. Each function runs the
//! checks the handler runs on a decoded request and panics if what they accept breaks a
//! limit of the catalogue.

use campus_proto::courses::{
    AddLessonRequest, CreateCourseRequest, UpdateCourseRequest, UpdateLessonRequest,
};

use crate::{
    catalogue::{check_changes, check_lesson_changes, check_title_and_text},
    domain::{MAX_CONTENT, MAX_DESCRIPTION, MAX_TITLE},
};

/// Asserts an accepted title and text: a trimmed title of 1 to `MAX_TITLE` characters, a
/// text within `max`.
fn assert_accepted(title: &str, text: &str, max: usize) {
    assert!(
        !title.is_empty() && title.trim() == title,
        "accepted title {title:?}"
    );
    assert!(title.chars().count() <= MAX_TITLE, "accepted a long title");
    assert!(text.chars().count() <= max, "accepted a long text");
}

/// Checks a CreateCourse request's title and description as the handler does; whether they
/// passed.
pub fn check_create_course(body: &CreateCourseRequest) -> bool {
    match check_title_and_text(
        &body.title,
        "description",
        &body.description,
        MAX_DESCRIPTION,
    ) {
        Ok((title, description)) => {
            assert_accepted(&title, &description, MAX_DESCRIPTION);
            true
        }
        Err(_) => false,
    }
}

/// Checks an AddLesson request's title and content as the handler does; whether they passed.
pub fn check_add_lesson(body: &AddLessonRequest) -> bool {
    match check_title_and_text(&body.title, "content", &body.content, MAX_CONTENT) {
        Ok((title, content)) => {
            assert_accepted(&title, &content, MAX_CONTENT);
            true
        }
        Err(_) => false,
    }
}

/// Asserts accepted changes: each present one as [`assert_accepted`] would take it.
fn assert_changes(title: Option<&str>, text: Option<&str>, max: usize) {
    if let Some(title) = title {
        assert_accepted(title, "", max);
    }
    if let Some(text) = text {
        assert!(text.chars().count() <= max, "accepted a long text");
    }
}

/// Checks an UpdateCourse request's changed title and description as the handler does;
/// whether they passed.
pub fn check_update_course(body: &UpdateCourseRequest) -> bool {
    match check_changes(
        Vec::new(),
        body.title.as_deref(),
        "description",
        body.description.as_deref(),
        MAX_DESCRIPTION,
    ) {
        Ok((title, description)) => {
            assert_changes(title.as_deref(), description.as_deref(), MAX_DESCRIPTION);
            true
        }
        Err(_) => false,
    }
}

/// Checks an UpdateLesson request as the handler does; whether it passed.
pub fn check_update_lesson(body: &UpdateLessonRequest) -> bool {
    match check_lesson_changes(body) {
        Ok((title, content)) => {
            assert!(!body.lesson_id.is_empty(), "accepted no lesson id");
            assert_changes(title.as_deref(), content.as_deref(), MAX_CONTENT);
            true
        }
        Err(_) => false,
    }
}
