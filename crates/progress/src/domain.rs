//! The rules of progress and attendance: dates and ranges, statuses, percentages and rates.

use campus_proto::progress::{AttendanceStatus, DateRange, LessonProgressState};

use crate::error::ProgressError;

/// Longest date range a list or summary may cover.
pub(crate) const MAX_RANGE_DAYS: i64 = 366;
/// Most marks in one BatchMarkAttendance.
pub(crate) const MAX_BATCH_MARKS: usize = 500;
/// Most courses in one BatchGetProgress.
pub(crate) const MAX_BATCH_COURSES: usize = 100;
/// Longest mark note.
pub(crate) const MAX_NOTE: usize = 500;

pub(crate) use campus_runtime::api::parse_date;

/// A valid inclusive range: both dates real, in order, at most 366 days apart.
pub(crate) fn check_range(
    field: &'static str,
    range: Option<&DateRange>,
) -> Result<(String, String), ProgressError> {
    let range = range.ok_or_else(|| ProgressError::invalid(field, "is required"))?;
    let start = parse_date(&range.start_date)
        .ok_or_else(|| ProgressError::invalid(field, "start_date must be a date YYYY-MM-DD"))?;
    let end = parse_date(&range.end_date)
        .ok_or_else(|| ProgressError::invalid(field, "end_date must be a date YYYY-MM-DD"))?;
    if end < start {
        return Err(ProgressError::invalid(
            field,
            "end_date is before start_date",
        ));
    }
    if end - start > MAX_RANGE_DAYS {
        return Err(ProgressError::invalid(
            field,
            format!("covers more than {MAX_RANGE_DAYS} days"),
        ));
    }
    Ok((range.start_date.clone(), range.end_date.clone()))
}

/// A mark status from a request; UNSPECIFIED and unknown values are invalid.
pub(crate) fn mark_status(value: i32) -> Result<AttendanceStatus, String> {
    match AttendanceStatus::try_from(value) {
        Ok(AttendanceStatus::Unspecified) | Err(_) => {
            Err(format!("{value} is not an attendance status"))
        }
        Ok(status) => Ok(status),
    }
}

/// A lesson state from a request; UNSPECIFIED and unknown values are invalid.
pub(crate) fn lesson_state(value: i32) -> Result<LessonProgressState, String> {
    match LessonProgressState::try_from(value) {
        Ok(LessonProgressState::Unspecified) | Err(_) => {
            Err(format!("{value} is not a lesson progress state"))
        }
        Ok(state) => Ok(state),
    }
}

/// floor(100 · completed / total), 0 for a course without lessons, at most 100.
pub(crate) fn percent(completed: i64, total: i64) -> i32 {
    if total <= 0 {
        return 0;
    }
    i32::try_from((completed.min(total) * 100) / total).unwrap_or(100)
}

/// floor(10000 · (present + late) / (total − excused)); 0 when the divisor is 0.
pub(crate) fn rate_bp(total: i64, present: i64, late: i64, excused: i64) -> i32 {
    let divisor = total - excused;
    if divisor <= 0 {
        return 0;
    }
    i32::try_from(((present + late) * 10_000) / divisor).unwrap_or(10_000)
}

#[cfg(test)]
mod tests {
    use super::{percent, rate_bp};

    #[test]
    fn percent_and_rates_floor() {
        assert_eq!(percent(1, 3), 33);
        assert_eq!(percent(5, 3), 100);
        assert_eq!(percent(0, 0), 0);
        assert_eq!(rate_bp(4, 2, 1, 1), 10_000);
        assert_eq!(rate_bp(3, 1, 0, 0), 3333);
        assert_eq!(rate_bp(1, 0, 0, 1), 0);
    }
}
