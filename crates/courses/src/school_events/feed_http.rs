//! `GET /calendar/v1/<user>.ics?…`: a user's calendar feed over plain HTTP for calendar apps,
//! which subscribe to a URL and cannot send an `authorization` header. The URL is signed with
//! the content signing keys (`CAMPUS_CONTENT_SIGNING_KEY`, rotating the same way) over the user,
//! their feed generation and an expiry; GetCalendarUrl with `reset` moves the generation on, so
//! a leaked link stops working. Refusals are 403. An unchanged feed answers 304 to
//! `If-None-Match`, as calendar apps poll it.

use std::{convert::Infallible, time::Duration};

use campus_proto::courses::{GetCalendarUrlRequest, GetCalendarUrlResponse};
use campus_runtime::{api::timestamp, auth::Caller, http_routes::HttpHandler};
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::BodyExt as _;
use sha2::Digest as _;
use tonic::body::Body;
use tower::util::BoxCloneSyncService;

use super::{SchoolEvents, feed, store};
use crate::{
    error::CoursesError,
    materials::{
        http::{refuse_other_methods, refused, text},
        signing::{Refusal, UrlSigner, expiry_after, query_params, unix_now},
    },
};

/// Where feeds are served.
pub(super) const URL_PREFIX: &str = "/calendar/v1/";

/// How far back a feed reaches: events that ended within this stay in calendars.
const FEED_HISTORY: Duration = Duration::from_secs(90 * 24 * 3600);

/// Most events in one feed.
const FEED_LIMIT: i64 = 1_000;

/// The signed fields of a feed URL; the first keeps them apart from download URLs.
fn signed_fields(user_id: &str, generation: i64, expires_at: i64) -> [String; 4] {
    [
        "calendar".to_owned(),
        user_id.to_owned(),
        generation.to_string(),
        expires_at.to_string(),
    ]
}

/// The route's handler over `events`.
pub(super) fn handler(events: SchoolEvents) -> HttpHandler {
    BoxCloneSyncService::new(tower::service_fn(move |request: Request<()>| {
        let events = events.clone();
        async move { Ok::<_, Infallible>(events.serve_feed(&request).await) }
    }))
}

/// What a feed URL grants, if its signature holds and it has not expired.
#[derive(Debug, PartialEq, Eq)]
struct FeedGrant {
    user_id: String,
    generation: i64,
}

/// The path and query of a feed URL of `user_id` at `generation` until `expires_at` (unix
/// seconds), signed with `signer`'s first key.
fn sign_feed(signer: &UrlSigner, user_id: &str, generation: i64, expires_at: i64) -> String {
    let (key_id, signature) = signer.signature(&signed_fields(user_id, generation, expires_at));
    format!("{URL_PREFIX}{user_id}.ics?g={generation}&e={expires_at}&k={key_id}&s={signature}")
}

/// Checks a feed URL's path and query at `now` (unix seconds).
fn verify_feed(
    signer: &UrlSigner,
    path: &str,
    query: &str,
    now: i64,
) -> Result<FeedGrant, Refusal> {
    let user_id = path
        .strip_prefix(URL_PREFIX)
        .and_then(|rest| rest.strip_suffix(".ics"))
        .filter(|user| !user.is_empty() && !user.contains('/'))
        .ok_or(Refusal::Malformed)?;
    let [generation, expiry, key, signature] = query_params(query, ["g", "e", "k", "s"])?;
    let number = |value: Option<&str>| {
        value
            .and_then(|value| value.parse::<i64>().ok())
            .ok_or(Refusal::Malformed)
    };
    let (generation, expires_at) = (number(generation)?, number(expiry)?);
    signer.check(
        key.ok_or(Refusal::Malformed)?,
        &signed_fields(user_id, generation, expires_at),
        signature.ok_or(Refusal::Malformed)?,
    )?;
    if expires_at <= now {
        return Err(Refusal::Expired);
    }
    Ok(FeedGrant {
        user_id: user_id.to_owned(),
        generation,
    })
}

/// Whether an `If-None-Match` header names `etag` (compared weakly, as RFC 9110 says for
/// this header: a proxy that compresses may have weakened it).
fn matches_etag(header: &str, etag: &str) -> bool {
    header
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
}

impl SchoolEvents {
    /// GetCalendarUrl: a signed feed URL of the caller (after moving their generation on when
    /// `reset`).
    pub(crate) async fn calendar_url(
        &self,
        caller: &Caller,
        body: GetCalendarUrlRequest,
    ) -> Result<GetCalendarUrlResponse, CoursesError> {
        let database = &self.courses.store.database;
        let generation = if body.reset {
            store::next_feed_generation(database, &caller.user_id).await?
        } else {
            store::feed_generation(database, &caller.user_id).await?
        };
        let expires_at = expiry_after(self.feed_ttl);
        Ok(GetCalendarUrlResponse {
            url: sign_feed(&self.signer, &caller.user_id, generation, expires_at),
            expires_at: Some(timestamp(expires_at.saturating_mul(1_000_000))),
        })
    }

    /// Answers one feed request.
    async fn serve_feed(&self, request: &Request<()>) -> Response<Body> {
        if let Some(refusal) = refuse_other_methods(request) {
            return refusal;
        }
        let uri = request.uri();
        let grant = match verify_feed(
            &self.signer,
            uri.path(),
            uri.query().unwrap_or_default(),
            unix_now(),
        ) {
            Ok(grant) => grant,
            Err(refusal) => return refused(refusal),
        };
        let database = &self.courses.store.database;
        let since = campus_store::events::outbox::micros_ago(FEED_HISTORY);
        let read = async {
            let generation = store::feed_generation(database, &grant.user_id).await?;
            if generation != grant.generation {
                return Ok(None);
            }
            store::answered_events(database, &grant.user_id, since, FEED_LIMIT)
                .await
                .map(Some)
        };
        let events = match read.await {
            Ok(Some(events)) => events,
            Ok(None) => {
                return text(
                    StatusCode::FORBIDDEN,
                    "this calendar link was replaced: ask for a new one\n",
                );
            }
            Err(error) => {
                tracing::error!(%error, "a calendar feed could not read its events");
                return text(StatusCode::SERVICE_UNAVAILABLE, "try again shortly\n");
            }
        };
        let body = feed::calendar(&events);
        let etag = format!(
            "\"{}\"",
            hex::encode(&sha2::Sha256::digest(body.as_bytes())[..16])
        );
        let not_modified = request
            .headers()
            .get(header::IF_NONE_MATCH)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| matches_etag(value, &etag));
        let length = body.len();
        let mut response = if not_modified {
            let mut response = Response::new(Body::default());
            *response.status_mut() = StatusCode::NOT_MODIFIED;
            response
        } else if request.method() == Method::HEAD {
            Response::new(Body::default())
        } else {
            Response::new(Body::new(
                http_body_util::Full::new(bytes::Bytes::from(body)).map_err(|never| match never {}),
            ))
        };
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/calendar; charset=utf-8"),
        );
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-cache"),
        );
        if let Ok(etag) = HeaderValue::from_str(&etag) {
            headers.insert(header::ETAG, etag);
        }
        if !not_modified {
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::{FeedGrant, matches_etag, sign_feed, verify_feed};
    use crate::materials::signing::{Grant, Refusal, UrlSigner};

    const KEY: &str = "k1=0123456789abcdef0123456789abcdef";

    fn split(url: &str) -> (&str, &str) {
        url.split_once('?').unwrap()
    }

    #[test]
    fn a_feed_url_verifies_until_it_expires_and_any_change_breaks_it() {
        let signer = UrlSigner::parse(KEY).unwrap();
        let url = sign_feed(&signer, "u1", 3, 1_000);
        let (path, query) = split(&url);
        let grant = FeedGrant {
            user_id: "u1".into(),
            generation: 3,
        };
        assert_eq!(verify_feed(&signer, path, query, 999), Ok(grant));
        assert_eq!(
            verify_feed(&signer, path, query, 1_000),
            Err(Refusal::Expired)
        );
        for (from, to) in [("/u1.ics", "/u2.ics"), ("g=3", "g=4"), ("e=1000", "e=2000")] {
            let forged = url.replace(from, to);
            let (path, query) = split(&forged);
            assert_eq!(
                verify_feed(&signer, path, query, 0),
                Err(Refusal::BadSignature),
                "{from}"
            );
        }
    }

    #[test]
    fn download_and_feed_signatures_do_not_stand_for_each_other() {
        let signer = UrlSigner::parse(KEY).unwrap();
        let download = signer.sign(&Grant {
            resource_id: "calendar".into(),
            version: 3,
            user_id: "u1".into(),
            attachment: false,
            expires_at: 1_000,
        });
        let signature = download.rsplit_once("&s=").unwrap().1;
        let forged = format!("/calendar/v1/u1.ics?g=3&e=1000&k=k1&s={signature}");
        let (path, query) = split(&forged);
        assert_eq!(
            verify_feed(&signer, path, query, 0),
            Err(Refusal::BadSignature)
        );
        let feed = sign_feed(&signer, "u1", 3, 1_000);
        let signature = feed.rsplit_once("&s=").unwrap().1;
        let forged = format!("/content/v1/calendar?v=3&u=u1&d=inline&e=1000&k=k1&s={signature}");
        let (path, query) = split(&forged);
        assert_eq!(signer.verify(path, query, 0), Err(Refusal::BadSignature));
    }

    #[test]
    fn if_none_match_is_compared_weakly() {
        assert!(matches_etag("\"abc\"", "\"abc\""));
        assert!(matches_etag("W/\"abc\", \"x\"", "\"abc\""));
        assert!(matches_etag("*", "\"abc\""));
        assert!(!matches_etag("\"abd\"", "\"abc\""));
    }
}
