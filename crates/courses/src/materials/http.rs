//! `GET /content/v1/<resource>?…`: a signed URL's download over plain HTTP, for browsers.
//! Answers Range requests (206; a seek while scrubbing a video is one more ranged request;
//! 416 beyond the end), `If-None-Match` against the content's ETag (its SHA-256), HEAD, and
//! streams the bytes in bounded chunks. Refusals are 403 (a URL that is forged, expired, for
//! another version, or signed with a key no longer held) and 404 (the resource is gone).
//! Uploaded files are served sandboxed (`Content-Security-Policy: sandbox`, `nosniff`), so an
//! uploaded HTML page cannot run as the dashboard's origin.

use std::{convert::Infallible, ops::Range};

use futures::TryStreamExt as _;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt as _, StreamBody};
use tonic::body::Body;
use tower::util::BoxCloneSyncService;

use super::{
    Materials,
    download::Transport,
    signing::{Refusal, unix_now},
    store::{self, ResourceRow},
};
use campus_runtime::http_routes::HttpHandler;

/// The route's handler over `materials`.
pub(super) fn handler(materials: Materials) -> HttpHandler {
    BoxCloneSyncService::new(tower::service_fn(move |request: Request<()>| {
        let materials = materials.clone();
        async move { Ok::<_, Infallible>(materials.serve_http(&request).await) }
    }))
}

/// A short plain-text answer.
pub(crate) fn text(status: StatusCode, message: &'static str) -> Response<Body> {
    let mut response = Response::new(Body::new(
        http_body_util::Full::new(bytes::Bytes::from_static(message.as_bytes()))
            .map_err(|never| match never {}),
    ));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// 405 unless the request is a GET or HEAD, the only methods signed URLs answer.
pub(crate) fn refuse_other_methods(request: &Request<()>) -> Option<Response<Body>> {
    if request.method() == Method::GET || request.method() == Method::HEAD {
        return None;
    }
    let mut response = text(StatusCode::METHOD_NOT_ALLOWED, "GET or HEAD only\n");
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
    Some(response)
}

/// The 403 of a signed URL that is refused, saying whether a new one would help.
pub(crate) fn refused(refusal: Refusal) -> Response<Body> {
    match refusal {
        Refusal::Expired => text(
            StatusCode::FORBIDDEN,
            "this link has expired: ask for a new one\n",
        ),
        Refusal::Malformed | Refusal::UnknownKey | Refusal::BadSignature => {
            text(StatusCode::FORBIDDEN, "this link is not valid\n")
        }
    }
}

/// What the request asks for of a file of `size` bytes with `etag`.
#[derive(Debug, PartialEq, Eq)]
enum Wanted {
    /// The whole file (200).
    Whole,
    /// One range (206).
    Part(Range<u64>),
    /// Nothing changed since the client's copy (304).
    NotModified,
    /// A range outside the file (416).
    Unsatisfiable,
}

/// Reads `If-None-Match`, `Range` and `If-Range`. Several ranges at once are answered with the
/// whole file, which HTTP allows; so is a `Range` whose `If-Range` names another version.
fn wanted(headers: &HeaderMap, size: u64, etag: &str) -> Wanted {
    let matches = |value: &HeaderValue| {
        value.to_str().is_ok_and(|value| {
            value
                .split(',')
                .any(|tag| tag.trim() == etag || tag.trim() == "*")
        })
    };
    if headers.get(header::IF_NONE_MATCH).is_some_and(matches) {
        return Wanted::NotModified;
    }
    let Some(range) = headers
        .get(header::RANGE)
        .and_then(|value| value.to_str().ok())
    else {
        return Wanted::Whole;
    };
    if headers
        .get(header::IF_RANGE)
        .is_some_and(|value| value.as_bytes() != etag.as_bytes())
    {
        return Wanted::Whole;
    }
    match http_range_header::parse_range_header(range).map(|parsed| parsed.validate(size)) {
        Ok(Ok(ranges)) => match ranges.as_slice() {
            [one] => Wanted::Part(*one.start()..one.end().saturating_add(1)),
            _ => Wanted::Whole,
        },
        Ok(Err(_)) => Wanted::Unsatisfiable,
        // A Range header that does not parse is ignored, as HTTP says.
        Err(_) => Wanted::Whole,
    }
}

/// `Content-Disposition` with the title as file name (ASCII fallback and UTF-8 form).
fn disposition(resource: &ResourceRow, attachment: bool) -> HeaderValue {
    let kind = if attachment { "attachment" } else { "inline" };
    let ascii: String = resource
        .title
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || " .-_()".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = resource
        .title
        .bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() || b".-_".contains(&byte) {
                char::from(byte).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect();
    HeaderValue::from_str(&format!(
        "{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

impl Materials {
    /// Answers one download request.
    async fn serve_http(&self, request: &Request<()>) -> Response<Body> {
        if let Some(refusal) = refuse_other_methods(request) {
            return refusal;
        }
        let uri = request.uri();
        let grant =
            match self
                .signer
                .verify(uri.path(), uri.query().unwrap_or_default(), unix_now())
            {
                Ok(grant) => grant,
                Err(refusal) => return refused(refusal),
            };
        let resource = match store::resource(&self.courses.store.database, &grant.resource_id).await
        {
            Ok(Some(resource)) => resource,
            Ok(None) => return text(StatusCode::NOT_FOUND, "this file was deleted\n"),
            Err(error) => {
                tracing::error!(%error, "a download could not read its resource");
                return text(StatusCode::SERVICE_UNAVAILABLE, "try again shortly\n");
            }
        };
        if resource.version != grant.version {
            return text(
                StatusCode::FORBIDDEN,
                "this link is for an older version of the file: ask for a new one\n",
            );
        }
        self.serve_resource(request, &resource, grant.attachment)
            .await
    }

    /// The resource's bytes (or the part asked for) with their headers.
    async fn serve_resource(
        &self,
        request: &Request<()>,
        resource: &ResourceRow,
        attachment: bool,
    ) -> Response<Body> {
        let size = u64::try_from(resource.size).unwrap_or(0);
        let etag = format!("\"{}\"", resource.sha256);
        let mut headers = HeaderMap::new();
        if let Ok(etag) = HeaderValue::from_str(&etag) {
            headers.insert(header::ETAG, etag);
        }
        headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, max-age=300"),
        );
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("sandbox; default-src 'none'"),
        );
        let (status, range) = match wanted(request.headers(), size, &etag) {
            Wanted::NotModified => {
                let mut response = Response::new(Body::empty());
                *response.status_mut() = StatusCode::NOT_MODIFIED;
                response.headers_mut().extend(headers);
                return response;
            }
            Wanted::Unsatisfiable => {
                let mut response = text(
                    StatusCode::RANGE_NOT_SATISFIABLE,
                    "the range is beyond the file\n",
                );
                if let Ok(value) = HeaderValue::from_str(&format!("bytes */{size}")) {
                    response.headers_mut().insert(header::CONTENT_RANGE, value);
                }
                return response;
            }
            Wanted::Whole => (StatusCode::OK, 0..size),
            Wanted::Part(range) => {
                let value = format!("bytes {}-{}/{size}", range.start, range.end - 1);
                if let Ok(value) = HeaderValue::from_str(&value) {
                    headers.insert(header::CONTENT_RANGE, value);
                }
                (StatusCode::PARTIAL_CONTENT, range)
            }
        };
        headers.insert(
            header::CONTENT_LENGTH,
            HeaderValue::from(range.end - range.start),
        );
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_str(&resource.media_type)
                .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream")),
        );
        headers.insert(
            header::CONTENT_DISPOSITION,
            disposition(resource, attachment),
        );
        let body = if request.method() == Method::HEAD {
            Body::empty()
        } else {
            match self.read_counted(resource, range, Transport::Http).await {
                Ok(chunks) => Body::new(StreamBody::new(
                    chunks
                        .map_ok(http_body::Frame::data)
                        .map_err(tonic::Status::from),
                )),
                Err(error) => {
                    tracing::error!(%error, resource_id = resource.id, "a download could not be read");
                    return text(StatusCode::SERVICE_UNAVAILABLE, "try again shortly\n");
                }
            }
        };
        let mut response = Response::new(body);
        *response.status_mut() = status;
        response.headers_mut().extend(headers);
        response
    }
}

#[cfg(test)]
mod tests {
    use http::{HeaderMap, HeaderValue, header};

    use super::{Wanted, wanted};

    fn with(pairs: &[(header::HeaderName, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(name, value)| (name.clone(), HeaderValue::from_static(value)))
            .collect()
    }

    #[test]
    fn ranges_are_read_as_http_says() {
        let tag = "\"abc\"";
        assert_eq!(wanted(&with(&[]), 100, tag), Wanted::Whole);
        assert_eq!(
            wanted(&with(&[(header::RANGE, "bytes=0-9")]), 100, tag),
            Wanted::Part(0..10)
        );
        assert_eq!(
            wanted(&with(&[(header::RANGE, "bytes=90-")]), 100, tag),
            Wanted::Part(90..100)
        );
        assert_eq!(
            wanted(&with(&[(header::RANGE, "bytes=-10")]), 100, tag),
            Wanted::Part(90..100)
        );
        assert_eq!(
            wanted(&with(&[(header::RANGE, "bytes=95-200")]), 100, tag),
            Wanted::Part(95..100)
        );
        assert_eq!(
            wanted(&with(&[(header::RANGE, "bytes=100-")]), 100, tag),
            Wanted::Unsatisfiable
        );
        assert_eq!(
            wanted(&with(&[(header::RANGE, "bytes=0-1,5-6")]), 100, tag),
            Wanted::Whole
        );
        assert_eq!(
            wanted(&with(&[(header::RANGE, "pages=1")]), 100, tag),
            Wanted::Whole
        );
        assert_eq!(
            wanted(&with(&[(header::IF_NONE_MATCH, "\"abc\"")]), 100, tag),
            Wanted::NotModified
        );
        assert_eq!(
            wanted(
                &with(&[(header::RANGE, "bytes=0-9"), (header::IF_RANGE, "\"old\"")]),
                100,
                tag
            ),
            Wanted::Whole
        );
    }
}
