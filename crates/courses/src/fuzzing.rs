//! The courses service's request checks, reachable by the fuzz targets (`fuzz/`) without a
//! handler or a database: built only with the `fuzzing` feature. Each function runs the
//! checks the handler runs on a decoded request and panics if what they accept breaks a
//! limit of the catalogue.

use campus_proto::courses::{
    AddLessonRequest, CreateCourseRequest, UpdateCourseRequest, UpdateLessonRequest, UploadStart,
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

/// Checks an upload's announcement as StartUpload and UploadResource do; whether it passed.
/// What passes names a course, a media type of `type/subtype`, a size within `max_size` and a
/// SHA-256 of 64 lower-case hex digits.
pub fn check_upload_start(start: &UploadStart, max_size: u64) -> bool {
    match crate::materials::checks::check_start(start, max_size) {
        Ok(announced) => {
            assert!(!announced.course_id.is_empty(), "accepted no course");
            assert_accepted(&announced.title, "", 0);
            assert!(
                announced.size >= 1 && announced.size <= max_size,
                "accepted size {}",
                announced.size
            );
            assert!(
                announced.sha256.len() == 64
                    && announced
                        .sha256
                        .bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
                "accepted sha256 {:?}",
                announced.sha256
            );
            assert!(
                announced.media_type.contains('/'),
                "accepted media type {:?}",
                announced.media_type
            );
            assert!(
                http::HeaderValue::from_str(&announced.media_type).is_ok(),
                "accepted a media type that is no header value: {:?}",
                announced.media_type
            );
            true
        }
        Err(_) => false,
    }
}

/// Verifies a download URL's path and query as the HTTP route does (against a fixed key);
/// whether it was accepted. Nothing but a URL signed with that key may pass.
pub fn check_download_url(path: &str, query: &str) -> bool {
    let signer =
        crate::materials::signing::UrlSigner::parse("fuzz=0123456789abcdef0123456789abcdef")
            .expect("a valid key list");
    signer.verify(path, query, 0).is_ok()
}
