//! The request header limit, answered per call.
//!
//! HTTP/2 refuses a header list over its `SETTINGS_MAX_HEADER_LIST_SIZE` with a bare HTTP 431
//! (gRPC clients report it as UNKNOWN), and one over four times that with a GOAWAY that fails
//! every call on the connection. So the server tells HTTP/2 [`HTTP2_HEADROOM`] times
//! `CAMPUS_MAX_HEADER_LIST_SIZE`, and this layer answers a call between the two with a gRPC
//! status of its own: RESOURCE_EXHAUSTED, reason HEADERS_TOO_LARGE, on a connection that keeps
//! serving every other call.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use tower::{Layer, Service};

use crate::api::headers_too_large;

/// How many times `CAMPUS_MAX_HEADER_LIST_SIZE` HTTP/2 is told to accept, so that headers up
/// to that size reach this layer and get a gRPC answer.
pub const HTTP2_HEADROOM: u32 = 8;

/// Bytes HTTP/2 counts for each header besides its name and value (RFC 9113, 6.5.2).
const PER_HEADER_OVERHEAD: usize = 32;

/// Refuses calls whose request headers are over `max` bytes, counted as HTTP/2 counts them.
#[derive(Debug, Clone, Copy)]
pub struct HeaderLimitLayer {
    max: usize,
}

impl HeaderLimitLayer {
    /// A layer accepting header lists of up to `max` bytes.
    pub fn new(max: u32) -> Self {
        Self {
            max: usize::try_from(max).unwrap_or(usize::MAX),
        }
    }
}

impl<S> Layer<S> for HeaderLimitLayer {
    type Service = HeaderLimit<S>;

    fn layer(&self, inner: S) -> Self::Service {
        HeaderLimit {
            inner,
            max: self.max,
        }
    }
}

/// The service of [`HeaderLimitLayer`].
#[derive(Debug, Clone)]
pub struct HeaderLimit<S> {
    inner: S,
    max: usize,
}

/// The size of a request's header list as HTTP/2 counts it: each header's name and value plus
/// 32 bytes, with the path and method (pseudo-headers) included.
fn header_list_size<B>(request: &http::Request<B>) -> usize {
    let pseudo = [
        ":path".len() + request.uri().path().len(),
        ":method".len() + request.method().as_str().len(),
    ];
    let regular = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len());
    pseudo
        .into_iter()
        .chain(regular)
        .map(|size| size + PER_HEADER_OVERHEAD)
        .sum()
}

impl<S, B, R> Service<http::Request<B>> for HeaderLimit<S>
where
    S: Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    R: Default + Send + 'static,
{
    type Response = http::Response<R>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let size = header_list_size(&request);
        if size > self.max {
            tracing::debug!(
                size,
                limit = self.max,
                "refused a call over the header limit"
            );
            let answer = headers_too_large(size, self.max).into_http();
            return Box::pin(std::future::ready(Ok(answer)));
        }
        Box::pin(self.inner.call(request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_size_counts_names_values_and_32_bytes_a_header() {
        let request = http::Request::post("/campus.users.v1.UsersService/GetUser")
            .header("authorization", "Bearer x")
            .body(())
            .unwrap_or_default();
        let path = ":path".len() + "/campus.users.v1.UsersService/GetUser".len() + 32;
        let method = ":method".len() + "POST".len() + 32;
        let authorization = "authorization".len() + "Bearer x".len() + 32;
        assert_eq!(header_list_size(&request), path + method + authorization);
    }
}
