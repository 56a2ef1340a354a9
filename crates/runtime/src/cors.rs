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

/// Which browser origins may call.
#[derive(Debug, Clone)]
pub(crate) enum OriginPolicy {
    /// Any origin (`CAMPUS_CORS_ORIGINS=*`).
    Any,
    /// Only these origins, compared exactly (`https://app.example.org`).
    List(Arc<[HeaderValue]>),
}

impl OriginPolicy {
    /// Builds the policy from `CAMPUS_CORS_ORIGINS` entries; blanks are ignored.
    pub(crate) fn from_config(origins: &[String]) -> Result<Self, InvalidOrigin> {
        let origins: Vec<&str> = origins
            .iter()
            .map(|origin| origin.trim())
            .filter(|origin| !origin.is_empty())
            .collect();
        if origins.contains(&"*") {
            return Ok(Self::Any);
        }
        let values = origins
            .into_iter()
            .map(|origin| {
                HeaderValue::from_str(origin).map_err(|_| InvalidOrigin(origin.to_owned()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self::List(values.into()))
    }

    fn allows(&self, origin: &HeaderValue) -> bool {
        match self {
            Self::Any => true,
            Self::List(origins) => origins.contains(origin),
        }
    }

    /// The CORS layer answering preflights and adding the headers grpc-web clients need.
    pub(crate) fn cors_layer(&self) -> CorsLayer {
        let allow_origin = match self {
            Self::Any => AllowOrigin::any(),
            Self::List(origins) => AllowOrigin::list(origins.iter().cloned()),
        };
        CorsLayer::new()
            .allow_origin(allow_origin)
            .allow_methods([Method::POST, Method::OPTIONS])
            .allow_headers([
                header::CONTENT_TYPE,
                header::AUTHORIZATION,
                HeaderName::from_static("x-grpc-web"),
                HeaderName::from_static("x-user-agent"),
                HeaderName::from_static("grpc-timeout"),
                HeaderName::from_static("traceparent"),
                HeaderName::from_static("tracestate"),
            ])
            .expose_headers([
                HeaderName::from_static("grpc-status"),
                HeaderName::from_static("grpc-message"),
                HeaderName::from_static("grpc-status-details-bin"),
            ])
            .max_age(Duration::from_secs(24 * 60 * 60))
    }
}

/// A `CAMPUS_CORS_ORIGINS` entry that is not a valid header value.
#[derive(Debug, thiserror::Error)]
#[error("CAMPUS_CORS_ORIGINS: {0:?} is not a valid origin")]
pub struct InvalidOrigin(String);

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

#[cfg(test)]
mod tests {
    use super::OriginPolicy;

    #[test]
    fn origin_list_allows_only_its_entries() -> Result<(), super::InvalidOrigin> {
        let policy = OriginPolicy::from_config(&["https://a.example".into(), " ".into()])?;
        assert!(policy.allows(&http::HeaderValue::from_static("https://a.example")));
        assert!(!policy.allows(&http::HeaderValue::from_static("https://b.example")));
        let any = OriginPolicy::from_config(&["*".into()])?;
        assert!(any.allows(&http::HeaderValue::from_static("https://b.example")));
        Ok(())
    }
}
