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

/// The Julian day of 1970-01-01: day numbers here count from it.
const UNIX_EPOCH_JULIAN_DAY: i64 = 2_440_588;

/// Days since 1970-01-01 of a `YYYY-MM-DD` date (the API's calendar dates), if it is a real
/// date of the proleptic Gregorian calendar.
pub fn parse_date(value: &str) -> Option<i64> {
    if value.len() != 10 {
        return None;
    }
    let date = time::Date::parse(
        value,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .ok()?;
    Some(i64::from(date.to_julian_day()) - UNIX_EPOCH_JULIAN_DAY)
}

/// The `YYYY-MM-DD` date of a day number (days since 1970-01-01), clamped to the years the
/// calendar supports (±9999).
pub fn format_date(days: i64) -> String {
    let julian = (days + UNIX_EPOCH_JULIAN_DAY).clamp(
        i64::from(time::Date::MIN.to_julian_day()),
        i64::from(time::Date::MAX.to_julian_day()),
    );
    let date = i32::try_from(julian)
        .ok()
        .and_then(|julian| time::Date::from_julian_day(julian).ok())
        .unwrap_or(time::Date::MIN);
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// The UTC `YYYY-MM-DD` date of Unix microseconds.
pub fn utc_date(micros: i64) -> String {
    format_date(micros.div_euclid(86_400_000_000))
}

/// Unix microseconds of the start (00:00 UTC) of a day number.
pub fn day_start_micros(days: i64) -> i64 {
    days.saturating_mul(86_400_000_000)
}

/// Unix microseconds of a protobuf timestamp Campus wrote itself (events, stored messages);
/// `None` if unset. Saturates rather than overflow; a caller's timestamps go through
/// [`request_micros`].
pub fn micros(timestamp: Option<&Timestamp>) -> Option<i64> {
    timestamp.map(|ts| {
        ts.seconds
            .saturating_mul(1_000_000)
            .saturating_add(i64::from(ts.nanos) / 1000)
    })
}

/// The first second a timestamp may name: 0001-01-01T00:00:00Z (protobuf's own range).
const MIN_TIMESTAMP_SECONDS: i64 = -62_135_596_800;
/// The last second a timestamp may name: 9999-12-31T23:59:59Z.
const MAX_TIMESTAMP_SECONDS: i64 = 253_402_300_799;

/// Unix microseconds of a timestamp in a request; `None` if unset, the violation's text if it
/// is outside protobuf's range (years 1 to 9999, nanos within a second).
pub fn request_micros(timestamp: Option<&Timestamp>) -> Result<Option<i64>, String> {
    let Some(ts) = timestamp else {
        return Ok(None);
    };
    if !(MIN_TIMESTAMP_SECONDS..=MAX_TIMESTAMP_SECONDS).contains(&ts.seconds)
        || !(0..1_000_000_000).contains(&ts.nanos)
    {
        return Err("must be a time between the years 1 and 9999".to_owned());
    }
    Ok(micros(Some(ts)))
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
    use super::{
        MAX_TIMESTAMP_SECONDS, MIN_TIMESTAMP_SECONDS, Timestamp, decode_cursor, encode_cursor,
        micros, page_size, request_micros, timestamp,
    };

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

    #[test]
    fn request_timestamps_stay_within_the_years_1_to_9999() {
        let at = |seconds, nanos| Timestamp { seconds, nanos };
        assert_eq!(request_micros(None), Ok(None));
        assert_eq!(
            request_micros(Some(&at(1, 500_000_000))),
            Ok(Some(1_500_000))
        );
        assert_eq!(
            request_micros(Some(&at(MAX_TIMESTAMP_SECONDS, 999_999_999))),
            Ok(Some(MAX_TIMESTAMP_SECONDS * 1_000_000 + 999_999))
        );
        assert!(request_micros(Some(&at(MIN_TIMESTAMP_SECONDS, 0))).is_ok());
        for bad in [
            at(MAX_TIMESTAMP_SECONDS + 1, 0),
            at(MIN_TIMESTAMP_SECONDS - 1, 0),
            at(i64::MAX, 0),
            at(i64::MIN, 0),
            at(0, -1),
            at(0, 1_000_000_000),
        ] {
            assert!(request_micros(Some(&bad)).is_err(), "{bad:?}");
        }
        assert_eq!(micros(Some(&at(i64::MAX, 0))), Some(i64::MAX));
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
    /// The caller (or the process) holds as many open streams as allowed: close one, or
    /// wait for the RetryInfo delay; reconnecting at once would be refused again.
    TooManyStreams,
    /// The request's headers (metadata) are over `CAMPUS_MAX_HEADER_LIST_SIZE`: the same
    /// call is refused again, so there is no RetryInfo.
    HeadersTooLarge,
}

impl ExhaustedReason {
    /// The reason as sent in ErrorInfo.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::StreamLagged => "STREAM_LAGGED",
            Self::Overloaded => "OVERLOADED",
            Self::LoginThrottled => "LOGIN_THROTTLED",
            Self::TooManyStreams => "TOO_MANY_STREAMS",
            Self::HeadersTooLarge => "HEADERS_TOO_LARGE",
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

/// RESOURCE_EXHAUSTED, reason HEADERS_TOO_LARGE, for a request whose headers take `size`
/// bytes where `limit` are accepted; no RetryInfo, since sending it again changes nothing.
pub fn headers_too_large(size: usize, limit: usize) -> Status {
    let mut details = ErrorDetails::new();
    details.set_error_info(
        ExhaustedReason::HeadersTooLarge.as_str(),
        ERROR_DOMAIN,
        HashMap::from([
            ("size".to_owned(), size.to_string()),
            ("limit".to_owned(), limit.to_string()),
        ]),
    );
    Status::with_error_details(
        Code::ResourceExhausted,
        format!(
            "the request's headers take {size} bytes; this server accepts at most {limit} \
             (send less metadata)"
        ),
        details,
    )
}
