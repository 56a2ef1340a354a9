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

/// Days since 1970-01-01 of a `YYYY-MM-DD` date, if it is a real date.
pub(crate) fn parse_date(value: &str) -> Option<i64> {
    let bytes = value.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let year: i64 = value[0..4].parse().ok()?;
    let month: i64 = value[5..7].parse().ok()?;
    let day: i64 = value[8..10].parse().ok()?;
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if !(1..=days_in_month).contains(&day) {
        return None;
    }
    // Days from civil (H. Hinnant): exact for the proleptic Gregorian calendar.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

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
    use super::{parse_date, percent, rate_bp};

    #[test]
    fn dates_parse_only_when_real() {
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(
            parse_date("2024-03-01")
                .zip(parse_date("2024-02-28"))
                .map(|(a, b)| a - b),
            Some(2)
        );
        assert_eq!(
            parse_date("2023-03-01")
                .zip(parse_date("2023-02-28"))
                .map(|(a, b)| a - b),
            Some(1)
        );
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "2024-1-01",
            "20240101",
            "2024-04-31",
            "",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }

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
