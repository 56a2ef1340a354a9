//! The rules of courses: valid titles and texts, the status machine, and who may see or edit.

use campus_proto::{courses::CourseStatus, users::Role};
use campus_runtime::auth::Caller;

use crate::store::CourseRow;

/// Longest course or lesson title.
pub(crate) const MAX_TITLE: usize = 200;
/// Longest course description.
pub(crate) const MAX_DESCRIPTION: usize = 10_000;
/// Longest lesson content.
pub(crate) const MAX_CONTENT: usize = 100_000;
/// Longest title search text.
pub(crate) const MAX_QUERY: usize = 100;

/// A title: trimmed, 1 to 200 characters.
pub(crate) fn check_title(value: &str) -> Result<String, String> {
    let value = value.trim();
    if value.is_empty() {
        return Err("must not be empty".into());
    }
    if value.chars().count() > MAX_TITLE {
        return Err(format!("must be at most {MAX_TITLE} characters"));
    }
    Ok(value.to_owned())
}

/// Checks an optional field with `check`: its checked value, or `None` when it is unset or
/// invalid (then the violation is recorded under `field`).
pub(crate) fn check_optional(
    value: Option<&str>,
    field: &'static str,
    check: impl Fn(&str) -> Result<String, String>,
    violations: &mut Vec<(&'static str, String)>,
) -> Option<String> {
    match value.map(check)? {
        Ok(checked) => Some(checked),
        Err(why) => {
            violations.push((field, why));
            None
        }
    }
}

/// A free text of at most `max` characters.
pub(crate) fn check_text(value: &str, max: usize) -> Result<String, String> {
    if value.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    Ok(value.to_owned())
}

/// The stored number of a status.
pub(crate) fn status_code(status: CourseStatus) -> i64 {
    i64::from(status as i32)
}

/// The status a stored number stands for.
pub(crate) fn status_of(row: &CourseRow) -> CourseStatus {
    i32::try_from(row.status)
        .ok()
        .and_then(|value| CourseStatus::try_from(value).ok())
        .unwrap_or(CourseStatus::Unspecified)
}

/// Whether `caller` may see `course`: same school, and drafts only for its instructor and
/// admins.
pub(crate) fn can_see(caller: &Caller, course: &CourseRow) -> bool {
    caller.can_access_school(&course.school_id)
        && (status_of(course) != CourseStatus::Draft || can_edit(caller, course))
}

/// Whether `caller` may change `course`: its instructor, school admins, platform admins.
pub(crate) fn can_edit(caller: &Caller, course: &CourseRow) -> bool {
    caller.can_access_school(&course.school_id)
        && (caller.user_id == course.instructor_id
            || caller.has_role(Role::SchoolAdmin)
            || caller.is_platform_admin())
}

/// Whether `caller` administers or teaches (may act for other users in their school).
pub(crate) fn is_staff(caller: &Caller) -> bool {
    caller.has_role(Role::Instructor)
        || caller.has_role(Role::SchoolAdmin)
        || caller.is_platform_admin()
}

/// The school a caller's lists are limited to; `""` for platform admins (every school).
pub(crate) fn school_scope(caller: &Caller) -> String {
    if caller.is_platform_admin() {
        String::new()
    } else {
        caller.school_id.clone().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::{check_text, check_title};

    #[test]
    fn titles_are_trimmed_and_bounded() {
        assert_eq!(check_title("  Algebra "), Ok("Algebra".to_owned()));
        assert!(check_title("   ").is_err());
        assert!(check_title(&"x".repeat(201)).is_err());
        assert!(check_text(&"x".repeat(11), 10).is_err());
    }
}
