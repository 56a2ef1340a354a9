//! Conventions every Campus API shares, in one place: page sizes, opaque cursors, field
//! violations, timestamps.

use std::{collections::HashMap, time::Duration};

use base64::Engine as _;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt as _};

/// Page size when a list request gives 0.
pub const DEFAULT_PAGE_SIZE: u32 = 50;
/// Largest page size; more is INVALID_ARGUMENT.
pub const MAX_PAGE_SIZE: u32 = 200;

/// The page size a list request asked for: 0 is the default; negative or above the
/// maximum is INVALID_ARGUMENT.
pub fn page_size(requested: i32) -> Result<u32, Status> {
    match u32::try_from(requested) {
        Ok(0) => Ok(DEFAULT_PAGE_SIZE),
        Ok(size) if size <= MAX_PAGE_SIZE => Ok(size),
        Ok(_) | Err(_) => Err(invalid_argument(&[(
            "page_size",
            format!("must be between 0 and {MAX_PAGE_SIZE}"),
        )])),
    }
}

/// An opaque cursor holding the sort key of the last item of a page.
pub fn encode_cursor(parts: &[&str]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(parts.join("\u{1f}"))
}

/// The sort key in a cursor of `parts` fields; INVALID_ARGUMENT if it is not one of ours.
pub fn decode_cursor(token: &str, parts: usize) -> Result<Vec<String>, Status> {
    let invalid =
        || invalid_argument(&[("page_token", "is not a token this list returned".into())]);
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let fields: Vec<String> = text.split('\u{1f}').map(str::to_owned).collect();
    if fields.len() == parts {
        Ok(fields)
    } else {
        Err(invalid())
    }
}

/// Trims a page read with `limit + 1` rows to `limit` and returns the next page's token: the
/// cursor of its last row when a row was left over, else empty (this is the last page).
pub fn next_page_token<T>(rows: &mut Vec<T>, limit: u32, cursor: impl Fn(&T) -> String) -> String {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    if rows.len() <= limit {
        return String::new();
    }
    rows.truncate(limit);
    rows.last().map(cursor).unwrap_or_default()
}

/// The sort key a list request continues after: `parts` empty fields on the first page.
pub fn page_after(token: &str, parts: usize) -> Result<Vec<String>, Status> {
    if token.is_empty() {
        Ok(vec![String::new(); parts])
    } else {
        decode_cursor(token, parts)
    }
}

/// INVALID_ARGUMENT listing each `(field, why)` as a field violation (google.rpc.BadRequest)
/// and in the message.
pub fn invalid_argument(violations: &[(&str, String)]) -> Status {
    let mut details = ErrorDetails::new();
    for (field, why) in violations {
        details.add_bad_request_violation(*field, why.clone());
    }
    let summary = violations
        .iter()
        .map(|(field, why)| format!("{field}: {why}"))
        .collect::<Vec<_>>()
        .join("; ");
    Status::with_error_details(Code::InvalidArgument, summary, details)
}

pub use prost_types::Timestamp;

/// Days since 1970-01-01 of a `YYYY-MM-DD` date (the API's calendar dates), if it is a real
/// date of the proleptic Gregorian calendar.
pub fn parse_date(value: &str) -> Option<i64> {
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
    // Days from civil (H. Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// The `YYYY-MM-DD` date of a day number (days since 1970-01-01).
pub fn format_date(days: i64) -> String {
    // Civil from days (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// The UTC `YYYY-MM-DD` date of Unix microseconds.
pub fn utc_date(micros: i64) -> String {
    format_date(micros.div_euclid(86_400_000_000))
}

/// Unix microseconds of the start (00:00 UTC) of a day number.
pub fn day_start_micros(days: i64) -> i64 {
    days.saturating_mul(86_400_000_000)
}

/// Unix microseconds of a protobuf timestamp; `None` if unset.
pub fn micros(timestamp: Option<&Timestamp>) -> Option<i64> {
    timestamp.map(|ts| ts.seconds * 1_000_000 + i64::from(ts.nanos) / 1000)
}

/// A protobuf timestamp from Unix microseconds (the time unit of Campus tables).
pub fn timestamp(micros: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: micros.div_euclid(1_000_000),
        nanos: i32::try_from(micros.rem_euclid(1_000_000) * 1000).unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::{decode_cursor, encode_cursor, page_size, timestamp};

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let token = encode_cursor(&["Hill School", "id-1"]);
        assert_eq!(
            decode_cursor(&token, 2).ok(),
            Some(vec!["Hill School".to_owned(), "id-1".to_owned()])
        );
        assert!(decode_cursor("%%%", 2).is_err());
        assert!(decode_cursor(&token, 1).is_err());
    }

    #[test]
    fn pages_are_trimmed_and_tokened_only_when_rows_are_left() {
        use super::{next_page_token, page_after};
        let mut rows = vec![1, 2, 3];
        assert_eq!(next_page_token(&mut rows, 2, |last| last.to_string()), "2");
        assert_eq!(rows, [1, 2]);
        let mut last_page = vec![1, 2];
        assert_eq!(
            next_page_token(&mut last_page, 2, |last| last.to_string()),
            ""
        );
        assert_eq!(
            page_after("", 2).ok(),
            Some(vec![String::new(), String::new()])
        );
    }

    #[test]
    fn page_sizes_default_and_cap() {
        assert_eq!(page_size(0).ok(), Some(50));
        assert_eq!(page_size(200).ok(), Some(200));
        assert!(page_size(201).is_err());
        assert!(page_size(-1).is_err());
    }

    #[test]
    fn dates_round_trip_and_reject_unreal_ones() {
        use super::{format_date, parse_date, utc_date};
        assert_eq!(parse_date("1970-01-01"), Some(0));
        for date in ["2024-02-29", "2000-03-01", "1999-12-31", "2026-11-26"] {
            assert_eq!(parse_date(date).map(format_date).as_deref(), Some(date));
        }
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
        assert_eq!(utc_date(86_400_000_000 - 1), "1970-01-01");
        assert_eq!(utc_date(-1), "1969-12-31");
    }

    #[test]
    fn timestamps_split_micros() {
        let ts = timestamp(1_500_000);
        assert_eq!((ts.seconds, ts.nanos), (1, 500_000_000));
    }
}

/// The `domain` of every `google.rpc.ErrorInfo` Campus sends.
pub const ERROR_DOMAIN: &str = "campus";

/// Why a call was answered RESOURCE_EXHAUSTED, sent as the `reason` of a
/// `google.rpc.ErrorInfo` so a client can tell "resume now" from "back off".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExhaustedReason {
    /// A live stream fell behind its buffer: resume at once with the last token received.
    StreamLagged,
    /// The process is at its concurrency limit: back off and retry (on another replica).
    Overloaded,
    /// Too many failed logins for the account: wait for the RetryInfo delay.
    LoginThrottled,
}

impl ExhaustedReason {
    /// The reason as sent in ErrorInfo.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::StreamLagged => "STREAM_LAGGED",
            Self::Overloaded => "OVERLOADED",
            Self::LoginThrottled => "LOGIN_THROTTLED",
        }
    }
}

/// RESOURCE_EXHAUSTED with its reason (ErrorInfo) and, when waiting is the answer, how long
/// to wait (RetryInfo; zero means "at once").
pub fn resource_exhausted(
    reason: ExhaustedReason,
    message: impl Into<String>,
    retry_after: Duration,
) -> Status {
    let mut details = ErrorDetails::with_retry_info(Some(retry_after));
    details.set_error_info(reason.as_str(), ERROR_DOMAIN, HashMap::new());
    Status::with_error_details(Code::ResourceExhausted, message, details)
}
