//! Plain HTTP routes a service serves beside its gRPC methods on the same port, such as
//! signed downloads that a browser's `<video src>` fetches without an `authorization` header.
//! A route owns every request whose path starts with its prefix; it authorizes its requests
//! itself (the token check is for gRPC calls), and is tried before the dashboard, whose
//! fallback to `index.html` would otherwise answer for it.

use std::{
    convert::Infallible,
    pin::Pin,
    task::{Context, Poll},
};

use http::{Request, Response};
use tonic::body::Body;
use tower::{Layer, Service, ServiceExt as _, util::BoxCloneSyncService};

/// A route's handler: the request without its body (routes answer GET and HEAD).
pub type HttpHandler = BoxCloneSyncService<Request<()>, Response<Body>, Infallible>;

/// The routes of a server, by path prefix.
#[derive(Debug, Clone, Default)]
pub(crate) struct HttpRoutes {
    routes: Vec<(&'static str, HttpHandler)>,
}

impl HttpRoutes {
    /// Adds a handler for every path starting with `prefix`.
    pub(crate) fn add(&mut self, prefix: &'static str, handler: HttpHandler) {
        self.routes.push((prefix, handler));
    }

    fn find(&self, path: &str) -> Option<&HttpHandler> {
        self.routes
            .iter()
            .find(|(prefix, _)| path.starts_with(prefix))
            .map(|(_, handler)| handler)
    }
}

impl<S> Layer<S> for HttpRoutes {
    type Service = WithHttpRoutes<S>;

    fn layer(&self, inner: S) -> Self::Service {
        WithHttpRoutes {
            inner,
            routes: self.clone(),
        }
    }
}

/// See [`HttpRoutes`].
#[derive(Debug, Clone)]
pub(crate) struct WithHttpRoutes<S> {
    inner: S,
    routes: HttpRoutes,
}

impl<S, ReqBody> Service<Request<ReqBody>> for WithHttpRoutes<S>
where
    S: Service<Request<ReqBody>, Response = Response<Body>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        match self.routes.find(request.uri().path()) {
            Some(handler) => {
                let handler = handler.clone();
                let (parts, _) = request.into_parts();
                let request = Request::from_parts(parts, ());
                Box::pin(async move {
                    let Ok(response) = handler.oneshot(request).await;
                    Ok(response)
                })
            }
            None => Box::pin(self.inner.call(request)),
        }
    }
}
