//! What an upload may announce: checked before a byte is accepted.

use campus_proto::courses::UploadStart;

use crate::{domain::check_title, error::CoursesError};

/// Media type of an upload that names none.
const DEFAULT_MEDIA_TYPE: &str = "application/octet-stream";

/// Longest media type.
const MAX_MEDIA_TYPE: usize = 127;

/// An upload's announcement, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Announced {
    pub(crate) course_id: String,
    pub(crate) lesson_id: String,
    pub(crate) resource_id: String,
    pub(crate) title: String,
    pub(crate) media_type: String,
    pub(crate) size: u64,
    /// Lower-case hex.
    pub(crate) sha256: String,
}

/// A media type: `type/subtype` of token characters, lower-cased, parameters allowed
/// (`text/plain; charset=utf-8`).
fn check_media_type(value: &str) -> Result<String, String> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(DEFAULT_MEDIA_TYPE.to_owned());
    }
    if value.len() > MAX_MEDIA_TYPE {
        return Err(format!("must be at most {MAX_MEDIA_TYPE} characters"));
    }
    let essence = value.split(';').next().unwrap_or_default().trim();
    let token = |part: &str| {
        !part.is_empty()
            && part
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&byte))
    };
    match essence.split_once('/') {
        Some((kind, subtype)) if token(kind) && token(subtype) => {}
        _ => return Err("must be a media type such as video/mp4".into()),
    }
    if !value
        .bytes()
        .all(|byte| byte == b' ' || byte.is_ascii_graphic())
    {
        return Err("must be printable ASCII".into());
    }
    Ok(value.to_ascii_lowercase())
}

/// A SHA-256: 64 hex digits, lower-cased.
fn check_sha256(value: &str) -> Result<String, String> {
    if value.len() == 64 && value.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        Ok(value.to_ascii_lowercase())
    } else {
        Err("must be 64 hex digits".into())
    }
}

/// Checks every field of `start`, reporting every violation at once.
pub(crate) fn check_start(start: &UploadStart, max_size: u64) -> Result<Announced, CoursesError> {
    let mut violations = Vec::new();
    if start.course_id.is_empty() {
        violations.push(("start.course_id", "is required".to_owned()));
    }
    let title = check_title(&start.title)
        .map_err(|why| violations.push(("start.title", why)))
        .unwrap_or_default();
    let media_type = check_media_type(&start.media_type)
        .map_err(|why| violations.push(("start.media_type", why)))
        .unwrap_or_default();
    let sha256 = check_sha256(&start.sha256)
        .map_err(|why| violations.push(("start.sha256", why)))
        .unwrap_or_default();
    let size = u64::try_from(start.size).unwrap_or(0);
    if size == 0 || size > max_size {
        violations.push((
            "start.size",
            format!("must be 1 to {max_size} bytes (CAMPUS_CONTENT_MAX_SIZE)"),
        ));
    }
    if !violations.is_empty() {
        return Err(CoursesError::Invalid(violations));
    }
    Ok(Announced {
        course_id: start.course_id.clone(),
        lesson_id: start.lesson_id.clone(),
        resource_id: start.resource_id.clone(),
        title,
        media_type,
        size,
        sha256,
    })
}

#[cfg(test)]
mod tests {
    use campus_proto::courses::UploadStart;

    use super::check_start;

    fn start() -> UploadStart {
        UploadStart {
            course_id: "c".into(),
            title: " Week 1 ".into(),
            media_type: "Video/MP4".into(),
            size: 10,
            sha256: "AB".repeat(32),
            ..UploadStart::default()
        }
    }

    #[test]
    fn a_valid_start_is_normalised() {
        let checked = check_start(&start(), 10).unwrap();
        assert_eq!(checked.title, "Week 1");
        assert_eq!(checked.media_type, "video/mp4");
        assert_eq!(checked.sha256, "ab".repeat(32));
    }

    #[test]
    fn every_bad_field_is_named() {
        let bad = UploadStart {
            course_id: String::new(),
            title: String::new(),
            media_type: "video".into(),
            size: 11,
            sha256: "xyz".into(),
            ..start()
        };
        let Err(crate::error::CoursesError::Invalid(violations)) = check_start(&bad, 10) else {
            panic!("accepted");
        };
        let fields: Vec<_> = violations.iter().map(|(field, _)| *field).collect();
        assert_eq!(
            fields,
            [
                "start.course_id",
                "start.title",
                "start.media_type",
                "start.sha256",
                "start.size"
            ]
        );
        assert!(check_start(&UploadStart { size: 0, ..start() }, 10).is_err());
        assert!(
            check_start(
                &UploadStart {
                    media_type: String::new(),
                    ..start()
                },
                10
            )
            .is_ok()
        );
        let accented = UploadStart {
            media_type: "text/plain; name=\u{e9}".into(),
            ..start()
        };
        assert!(check_start(&accented, 10).is_err());
    }
}
