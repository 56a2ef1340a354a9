//! The web dashboard, served on the gRPC port from `CAMPUS_WEB_DIR`, so a browser loads the
//! app and calls the API over grpc-web from one origin, without CORS.
//!
//! Only `GET` and `HEAD` requests that are not gRPC reach the files, and never a path under
//! a gRPC service (`/package.Service/…`): the dashboard cannot shadow an API route. Files come
//! pre-compressed from the web build (`.br`, `.gz` beside each file) and are sent compressed
//! when the browser accepts it. Hashed files under `/assets/` are cached for a year as
//! immutable; everything else (`index.html` above all) is revalidated on every load. A path
//! without a file extension that names no file is a route of the app: it gets `index.html`.

use std::{
    path::{Path, PathBuf},
    pin::Pin,
    task::{Context, Poll},
};

use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use tonic::body::Body;
use tower::{Layer, Service, ServiceExt as _};
use tower_http::services::ServeDir;

use crate::methods::MethodTable;

/// `CAMPUS_WEB_DIR` does not hold a built dashboard.
#[derive(Debug, thiserror::Error)]
#[error("CAMPUS_WEB_DIR: {dir} has no index.html (build the dashboard with `make web`)")]
pub struct MissingDashboard {
    dir: PathBuf,
}

/// Cache lifetime of hashed assets: their name changes whenever their content does.
const IMMUTABLE: HeaderValue = HeaderValue::from_static("public, max-age=31536000, immutable");
/// Everything else is checked with the server on every use.
const REVALIDATE: HeaderValue = HeaderValue::from_static("no-cache");

/// The dashboard's files and the gRPC paths they must not shadow.
#[derive(Debug, Clone)]
pub(crate) struct Dashboard {
    files: ServeDir,
    methods: MethodTable,
}

impl Dashboard {
    /// The dashboard in `dir`, which must hold `index.html`.
    pub(crate) fn new(dir: &Path, methods: MethodTable) -> Result<Self, MissingDashboard> {
        if !dir.join("index.html").is_file() {
            return Err(MissingDashboard {
                dir: dir.to_owned(),
            });
        }
        Ok(Self {
            files: ServeDir::new(dir).precompressed_br().precompressed_gzip(),
            methods,
        })
    }

    /// Whether `request` is for the dashboard rather than the API.
    fn answers<B>(&self, request: &Request<B>) -> bool {
        let page_method = request.method() == Method::GET || request.method() == Method::HEAD;
        let grpc = request
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|value| value.as_bytes().starts_with(b"application/grpc"));
        page_method && !grpc && !self.methods.is_service_path(request.uri().path())
    }

    /// The file `request` names, or `index.html` for a route of the app.
    async fn serve<B>(self, request: Request<B>) -> Response<Body> {
        let (parts, _) = request.into_parts();
        let path = parts.uri.path().to_owned();
        let mut file = Request::new(());
        *file.method_mut() = parts.method.clone();
        *file.uri_mut() = parts.uri.clone();
        *file.headers_mut() = parts.headers.clone();
        let Ok(mut response) = self.files.clone().oneshot(file).await;
        let app_route = !path.rsplit('/').next().unwrap_or_default().contains('.');
        if response.status() == StatusCode::NOT_FOUND && app_route {
            let mut index = Request::new(());
            *index.method_mut() = parts.method;
            *index.uri_mut() = http::Uri::from_static("/");
            *index.headers_mut() = parts.headers;
            let Ok(index) = self.files.oneshot(index).await;
            response = index;
        }
        let cache = if path.starts_with("/assets/") && response.status() == StatusCode::OK {
            IMMUTABLE
        } else {
            REVALIDATE
        };
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, cache);
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        response.map(Body::new)
    }
}

/// Puts the dashboard in front of the API stack, when `CAMPUS_WEB_DIR` is set.
#[derive(Debug, Clone)]
pub(crate) struct DashboardLayer {
    dashboard: Option<Dashboard>,
}

impl DashboardLayer {
    pub(crate) fn new(dashboard: Option<Dashboard>) -> Self {
        Self { dashboard }
    }
}

impl<S> Layer<S> for DashboardLayer {
    type Service = WithDashboard<S>;

    fn layer(&self, inner: S) -> Self::Service {
        WithDashboard {
            inner,
            dashboard: self.dashboard.clone(),
        }
    }
}

/// See [`DashboardLayer`].
#[derive(Debug, Clone)]
pub(crate) struct WithDashboard<S> {
    inner: S,
    dashboard: Option<Dashboard>,
}

impl<S, ReqBody> Service<Request<ReqBody>> for WithDashboard<S>
where
    S: Service<Request<ReqBody>, Response = Response<Body>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ReqBody: Send + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        match &self.dashboard {
            Some(dashboard) if dashboard.answers(&request) => {
                let dashboard = dashboard.clone();
                Box::pin(async move { Ok::<_, S::Error>(dashboard.serve(request).await) })
            }
            _ => Box::pin(self.inner.call(request)),
        }
    }
}
