//! What an event's details may be: a title, times in order and at most 31 days apart, an IANA
//! time zone the bundled database knows, an http(s) link, a capacity of zero (no limit) or more.

use campus_proto::courses::EventDetails;
use campus_runtime::api::request_micros;

use crate::{
    domain::{MAX_DESCRIPTION, check_text, check_title},
    error::CoursesError,
};

/// Longest place text.
const MAX_PLACE: usize = 500;
/// Longest link.
const MAX_LINK: usize = 2_000;
/// Longest event, in microseconds (31 days).
pub(crate) const MAX_LENGTH: i64 = 31 * 24 * 3_600 * 1_000_000;
/// Largest capacity.
const MAX_CAPACITY: i32 = 100_000;

/// Checked details, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Details {
    pub(crate) title: String,
    pub(crate) description: String,
    pub(crate) starts_at: i64,
    pub(crate) ends_at: i64,
    pub(crate) time_zone: String,
    pub(crate) place: String,
    pub(crate) link: String,
    pub(crate) capacity: i64,
}

/// The canonical IANA name of time zone `name` in the bundled database (the same on every
/// replica, whatever the machine has installed): `europe/berlin` is `Europe/Berlin`.
fn canonical_zone(name: &str) -> Option<String> {
    let zone = jiff::tz::db().get(name).ok()?;
    zone.iana_name().map(str::to_owned)
}

/// Text with line breaks as `\n` and no other control characters (`\t` allowed where
/// `multiline`): what an iCalendar TEXT value may carry.
fn check_plain(value: &str, multiline: bool) -> Result<String, String> {
    let value = value.replace("\r\n", "\n").replace('\r', "\n");
    let allowed = |c: char| !c.is_control() || (multiline && (c == '\n' || c == '\t'));
    if value.chars().all(allowed) {
        Ok(value)
    } else if multiline {
        Err("must not contain control characters other than line breaks and tabs".to_owned())
    } else {
        Err("must be one line without control characters".to_owned())
    }
}

/// The details of a create or update request, every violation listed.
pub(crate) fn check_details(details: Option<&EventDetails>) -> Result<Details, CoursesError> {
    let Some(details) = details else {
        return Err(CoursesError::invalid("details", "are required"));
    };
    let mut violations = Vec::new();
    let mut field = |name: &'static str, checked: Result<String, String>| {
        checked.unwrap_or_else(|why| {
            violations.push((name, why));
            String::new()
        })
    };
    let title = field(
        "details.title",
        check_plain(&details.title, false).and_then(|title| check_title(&title)),
    );
    let description = field(
        "details.description",
        check_plain(&details.description, true).and_then(|text| check_text(&text, MAX_DESCRIPTION)),
    );
    let place = field(
        "details.place",
        check_plain(details.place.trim(), false).and_then(|place| check_text(&place, MAX_PLACE)),
    );
    let link = field("details.link", check_link(details.link.trim()));
    let time_zone = field("details.time_zone", check_zone(&details.time_zone));
    let mut time = |name: &'static str, value| match request_micros(value) {
        Ok(Some(micros)) => Some(micros),
        Ok(None) => {
            violations.push((name, "is required".to_owned()));
            None
        }
        Err(why) => {
            violations.push((name, why));
            None
        }
    };
    let starts_at = time("details.starts_at", details.starts_at.as_ref());
    let ends_at = time("details.ends_at", details.ends_at.as_ref());
    if let (Some(start), Some(end)) = (starts_at, ends_at) {
        if end <= start {
            violations.push(("details.ends_at", "must be after starts_at".to_owned()));
        } else if end - start > MAX_LENGTH {
            violations.push((
                "details.ends_at",
                "must be at most 31 days after starts_at".to_owned(),
            ));
        }
    }
    if !(0..=MAX_CAPACITY).contains(&details.capacity) {
        violations.push((
            "details.capacity",
            format!("must be between 0 (no limit) and {MAX_CAPACITY}"),
        ));
    }
    match (starts_at, ends_at) {
        (Some(starts_at), Some(ends_at)) if violations.is_empty() => Ok(Details {
            title,
            description,
            starts_at,
            ends_at,
            time_zone,
            place,
            link,
            capacity: i64::from(details.capacity),
        }),
        _ => Err(CoursesError::Invalid(violations)),
    }
}

fn check_zone(name: &str) -> Result<String, String> {
    canonical_zone(name).ok_or_else(|| "must be an IANA time zone such as Europe/Berlin".to_owned())
}

fn check_link(link: &str) -> Result<String, String> {
    if link.is_empty() {
        return Ok(String::new());
    }
    if link.len() > MAX_LINK {
        return Err(format!("must be at most {MAX_LINK} characters"));
    }
    let scheme_ok = link.starts_with("https://") || link.starts_with("http://");
    if !scheme_ok || link.chars().any(char::is_whitespace) {
        return Err("must be an http or https URL".to_owned());
    }
    Ok(link.to_owned())
}

#[cfg(test)]
mod tests {
    use campus_proto::courses::EventDetails;
    use prost_types::Timestamp;

    use super::check_details;
    use crate::error::CoursesError;

    fn details() -> EventDetails {
        EventDetails {
            title: " Open day ".into(),
            description: String::new(),
            starts_at: Some(Timestamp {
                seconds: 1_800_000_000,
                nanos: 0,
            }),
            ends_at: Some(Timestamp {
                seconds: 1_800_003_600,
                nanos: 0,
            }),
            time_zone: "Europe/Berlin".into(),
            place: "Hall".into(),
            link: String::new(),
            capacity: 10,
        }
    }

    fn fields(details: &EventDetails) -> Vec<&'static str> {
        match check_details(Some(details)) {
            Err(CoursesError::Invalid(violations)) => {
                violations.into_iter().map(|(field, _)| field).collect()
            }
            other => panic!("expected violations, got {other:?}"),
        }
    }

    #[test]
    fn good_details_are_trimmed() {
        let mut good = details();
        good.time_zone = "europe/berlin".into();
        good.description = "First line\r\nsecond\tline".into();
        let checked = check_details(Some(&good)).unwrap();
        assert_eq!(checked.title, "Open day");
        assert_eq!(checked.time_zone, "Europe/Berlin");
        assert_eq!(checked.description, "First line\nsecond\tline");
        assert_eq!(checked.ends_at - checked.starts_at, 3_600_000_000);
    }

    #[test]
    fn every_bad_field_is_named() {
        let mut bad = details();
        bad.time_zone = "Mars/Olympus".into();
        bad.link = "javascript:alert(1)".into();
        bad.capacity = -1;
        bad.ends_at = bad.starts_at;
        bad.title = "Open\rday".into();
        assert_eq!(
            fields(&bad),
            [
                "details.title",
                "details.link",
                "details.time_zone",
                "details.ends_at",
                "details.capacity"
            ]
        );
    }
}
