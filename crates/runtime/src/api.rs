//! Conventions every Campus API shares, in one place: page sizes, opaque cursors, field
//! violations, timestamps.

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
    fn page_sizes_default_and_cap() {
        assert_eq!(page_size(0).ok(), Some(50));
        assert_eq!(page_size(200).ok(), Some(200));
        assert!(page_size(201).is_err());
        assert!(page_size(-1).is_err());
    }

    #[test]
    fn timestamps_split_micros() {
        let ts = timestamp(1_500_000);
        assert_eq!((ts.seconds, ts.nanos), (1, 500_000_000));
    }
}
