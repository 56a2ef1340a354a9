//! Browser access over grpc-web: CORS headers for the allowed origins, and HTTP 403 for a
//! request whose `Origin` is not allowed (browsers always send `Origin` across origins; other
//! clients send none and pass).

use std::{
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use http::{HeaderName, HeaderValue, Method, StatusCode, header};
use tower::{Layer, Service};
use tower_http::cors::{AllowOrigin, CorsLayer};

/// Which browser origins may call, and which request headers they may send.
#[derive(Debug, Clone)]
pub(crate) struct OriginPolicy {
    origins: Origins,
    /// Headers allowed beyond [`GRPC_WEB_HEADERS`] (`CAMPUS_CORS_ALLOWED_HEADERS`).
    extra_headers: Arc<[HeaderName]>,
}

/// The origins of an [`OriginPolicy`].
#[derive(Debug, Clone)]
enum Origins {
    /// Any origin (`CAMPUS_CORS_ORIGINS=*`).
    Any,
    /// Only these origins, compared exactly (`https://app.example.org`).
    List(Arc<[HeaderValue]>),
}

/// The request headers a grpc-web client sends, always allowed.
const GRPC_WEB_HEADERS: [HeaderName; 7] = [
    header::CONTENT_TYPE,
    header::AUTHORIZATION,
    HeaderName::from_static("x-grpc-web"),
    HeaderName::from_static("x-user-agent"),
    HeaderName::from_static("grpc-timeout"),
    HeaderName::from_static("traceparent"),
    HeaderName::from_static("tracestate"),
];

impl OriginPolicy {
    /// Builds the policy from `CAMPUS_CORS_ORIGINS` and `CAMPUS_CORS_ALLOWED_HEADERS`
    /// entries; blanks are ignored. An origin must be exactly what a browser sends,
    /// `scheme://host[:port]`: a path or a trailing slash would never match, so it is
    /// refused at start rather than silently refusing every browser.
    pub(crate) fn from_config(
        origins: &[String],
        allowed_headers: &[String],
    ) -> Result<Self, InvalidCors> {
        let origins: Vec<&str> = origins
            .iter()
            .map(|origin| origin.trim())
            .filter(|origin| !origin.is_empty())
            .collect();
        let origins = if origins.contains(&"*") {
            Origins::Any
        } else {
            Origins::List(
                origins
                    .into_iter()
                    .map(origin_value)
                    .collect::<Result<Vec<_>, _>>()?
                    .into(),
            )
        };
        let extra_headers = allowed_headers
            .iter()
            .map(|name| name.trim())
            .filter(|name| !name.is_empty())
            .map(|name| {
                HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes())
                    .map_err(|_| InvalidCors::Header(name.to_owned()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            origins,
            extra_headers: extra_headers.into(),
        })
    }

    fn allows(&self, origin: &HeaderValue) -> bool {
        match &self.origins {
            Origins::Any => true,
            Origins::List(origins) => origins.contains(origin),
        }
    }

    /// The CORS layer answering preflights and adding the headers grpc-web clients need.
    pub(crate) fn cors_layer(&self) -> CorsLayer {
        let allow_origin = match &self.origins {
            Origins::Any => AllowOrigin::any(),
            Origins::List(origins) => AllowOrigin::list(origins.iter().cloned()),
        };
        CorsLayer::new()
            .allow_origin(allow_origin)
            .allow_methods([Method::POST, Method::OPTIONS])
            .allow_headers(
                GRPC_WEB_HEADERS
                    .into_iter()
                    .chain(self.extra_headers.iter().cloned())
                    .collect::<Vec<_>>(),
            )
            .expose_headers([
                HeaderName::from_static("grpc-status"),
                HeaderName::from_static("grpc-message"),
                HeaderName::from_static("grpc-status-details-bin"),
            ])
            .max_age(Duration::from_secs(24 * 60 * 60))
    }
}

/// A browser origin as its `Origin` header value, if `origin` is one: `http` or `https`, a
/// host, an optional port, nothing after.
fn origin_value(origin: &str) -> Result<HeaderValue, InvalidCors> {
    let invalid = || InvalidCors::Origin(origin.to_owned());
    let uri: http::Uri = origin.parse().map_err(|_| invalid())?;
    let web = matches!(uri.scheme_str(), Some("http" | "https"));
    let bare = uri.authority().is_some_and(|authority| {
        origin.len()
            == uri.scheme_str().map_or(0, str::len) + "://".len() + authority.as_str().len()
            && !authority.as_str().contains('@')
    });
    if !(web && bare) {
        return Err(invalid());
    }
    HeaderValue::from_str(origin).map_err(|_| invalid())
}

/// A CORS setting that cannot work.
#[derive(Debug, thiserror::Error)]
pub enum InvalidCors {
    /// A `CAMPUS_CORS_ORIGINS` entry that is not an origin.
    #[error(
        "CAMPUS_CORS_ORIGINS: {0:?} is not an origin; write scheme://host[:port] with no path \
         or trailing slash, as browsers send it (https://app.example.org)"
    )]
    Origin(String),
    /// A `CAMPUS_CORS_ALLOWED_HEADERS` entry that is not a header name.
    #[error("CAMPUS_CORS_ALLOWED_HEADERS: {0:?} is not a header name")]
    Header(String),
}

/// Refuses requests from origins the policy does not allow.
#[derive(Debug, Clone)]
pub(crate) struct OriginGuardLayer {
    policy: OriginPolicy,
}

impl OriginGuardLayer {
    pub(crate) fn new(policy: OriginPolicy) -> Self {
        Self { policy }
    }
}

impl<S> Layer<S> for OriginGuardLayer {
    type Service = OriginGuard<S>;

    fn layer(&self, inner: S) -> Self::Service {
        OriginGuard {
            inner,
            policy: self.policy.clone(),
        }
    }
}

/// See [`OriginGuardLayer`].
#[derive(Debug, Clone)]
pub(crate) struct OriginGuard<S> {
    inner: S,
    policy: OriginPolicy,
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for OriginGuard<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ResBody: Default + Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        if let Some(origin) = request.headers().get(header::ORIGIN)
            && !self.policy.allows(origin)
            && !same_origin(origin, requested_host(&request))
        {
            tracing::debug!(
                ?origin,
                "refused a request from an origin not in CAMPUS_CORS_ORIGINS"
            );
            let mut response = http::Response::new(ResBody::default());
            *response.status_mut() = StatusCode::FORBIDDEN;
            return Box::pin(std::future::ready(Ok(response)));
        }
        Box::pin(self.inner.call(request))
    }
}

/// The host the request was sent to: HTTP/1.1's `Host` header, or HTTP/2's `:authority`
/// (which browsers send instead of `Host`, and hyper keeps in the URI).
fn requested_host<B>(request: &http::Request<B>) -> Option<&str> {
    request
        .headers()
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .or_else(|| request.uri().authority().map(http::uri::Authority::as_str))
}

/// Whether the browser's `origin` is the host it is talking to (the dashboard served by
/// Campus calling its own API), whatever the scheme a proxy in front may have terminated.
fn same_origin(origin: &HeaderValue, host: Option<&str>) -> bool {
    let Some(host) = host else {
        return false;
    };
    origin.to_str().ok().is_some_and(|origin| {
        origin
            .strip_prefix("https://")
            .or_else(|| origin.strip_prefix("http://"))
            .is_some_and(|origin_host| origin_host.eq_ignore_ascii_case(host))
    })
}

#[cfg(test)]
mod tests {
    use super::{OriginPolicy, requested_host, same_origin};
    use http::HeaderValue;

    #[test]
    fn an_origin_is_the_same_when_its_host_is_the_requests() {
        let host = "campus.example:8443";
        let same =
            |origin: &'static str| same_origin(&HeaderValue::from_static(origin), Some(host));
        assert!(same("https://campus.example:8443"));
        assert!(same("http://campus.example:8443"));
        assert!(!same("https://campus.example"));
        assert!(!same("https://evil.example"));
        assert!(!same("null"));
        assert!(!same_origin(
            &HeaderValue::from_static("https://campus.example:8443"),
            None
        ));
    }

    #[test]
    fn the_requested_host_is_the_host_header_or_the_http2_authority() {
        let http1 = http::Request::builder()
            .uri("/campus.users.v1.UsersService/Login")
            .header("host", "campus.example:8443")
            .body(())
            .unwrap_or_default();
        assert_eq!(requested_host(&http1), Some("campus.example:8443"));
        let http2 = http::Request::builder()
            .uri("https://campus.example:8443/campus.users.v1.UsersService/Login")
            .body(())
            .unwrap_or_default();
        assert_eq!(requested_host(&http2), Some("campus.example:8443"));
    }

    #[test]
    fn origin_list_allows_only_its_entries() -> Result<(), super::InvalidCors> {
        let policy = OriginPolicy::from_config(
            &[
                "https://a.example".into(),
                " ".into(),
                "http://localhost:5173".into(),
            ],
            &[],
        )?;
        assert!(policy.allows(&http::HeaderValue::from_static("https://a.example")));
        assert!(policy.allows(&http::HeaderValue::from_static("http://localhost:5173")));
        assert!(!policy.allows(&http::HeaderValue::from_static("https://b.example")));
        let any = OriginPolicy::from_config(&["*".into()], &[])?;
        assert!(any.allows(&http::HeaderValue::from_static("https://b.example")));
        Ok(())
    }

    #[test]
    fn entries_that_could_never_match_are_refused_at_start() {
        for origin in [
            "https://a.example/",
            "https://a.example/app",
            "a.example",
            "ftp://a.example",
            "https://user@a.example",
        ] {
            let refused = OriginPolicy::from_config(&[origin.into()], &[]);
            assert!(
                matches!(&refused, Err(super::InvalidCors::Origin(entry)) if entry == origin),
                "{origin}: {refused:?}"
            );
        }
        assert!(matches!(
            OriginPolicy::from_config(&[], &["x request id".into()]),
            Err(super::InvalidCors::Header(_))
        ));
    }
}
