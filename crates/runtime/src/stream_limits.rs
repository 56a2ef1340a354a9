//! Bounds on open response streams (`Watch*`), per process and per caller. A stream holds
//! its place from its first byte until its body ends or is dropped; the concurrency limit
//! cannot do this, since it is released once the response headers are sent.

use std::{
    collections::HashMap,
    future::Future,
    pin::Pin,
    sync::{Arc, Mutex, PoisonError},
    task::{Context, Poll},
    time::Duration,
};

use tonic::body::Body;
use tower::{Layer, Service};

use crate::{
    api::{ExhaustedReason, resource_exhausted},
    auth::Caller,
    methods::MethodTable,
};

/// How long a refused client is asked to wait before it tries to open a stream again.
const RETRY_AFTER: Duration = Duration::from_secs(5);

/// The open streams of a process, counted against its two limits.
#[derive(Debug)]
struct OpenStreams {
    max_total: usize,
    max_per_user: usize,
    counts: Mutex<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    per_user: HashMap<String, usize>,
}

/// A place taken by one open stream, given back when dropped.
#[derive(Debug)]
struct Place {
    streams: Arc<OpenStreams>,
    user: String,
}

impl OpenStreams {
    /// A place for a stream of `user`, or which limit refused it.
    fn take(self: &Arc<Self>, user: &str) -> Result<Place, &'static str> {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        if counts.total >= self.max_total {
            return Err("this replica holds as many open streams as it allows");
        }
        if counts.per_user.get(user).copied().unwrap_or(0) >= self.max_per_user {
            return Err("you hold as many open streams as one caller may; close one first");
        }
        *counts.per_user.entry(user.to_owned()).or_default() += 1;
        counts.total += 1;
        Ok(Place {
            streams: Arc::clone(self),
            user: user.to_owned(),
        })
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        let mut counts = self
            .streams
            .counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        counts.total = counts.total.saturating_sub(1);
        if let Some(held) = counts.per_user.get_mut(&self.user) {
            *held = held.saturating_sub(1);
            if *held == 0 {
                counts.per_user.remove(&self.user);
            }
        }
    }
}

/// Refuses a response stream beyond `CAMPUS_MAX_OPEN_STREAMS` (process) or
/// `CAMPUS_MAX_OPEN_STREAMS_PER_USER` (caller) with RESOURCE_EXHAUSTED, reason
/// TOO_MANY_STREAMS and a RetryInfo pause. Runs after the token check, which names the caller.
#[derive(Debug, Clone)]
pub struct StreamLimitLayer {
    streams: Arc<OpenStreams>,
    methods: MethodTable,
}

impl StreamLimitLayer {
    /// Limits of `max_total` streams in the process and `max_per_user` per caller, for the
    /// server-streaming methods of `methods`.
    pub fn new(max_total: usize, max_per_user: usize, methods: MethodTable) -> Self {
        Self {
            streams: Arc::new(OpenStreams {
                max_total,
                max_per_user,
                counts: Mutex::default(),
            }),
            methods,
        }
    }
}

impl<S> Layer<S> for StreamLimitLayer {
    type Service = StreamLimit<S>;

    fn layer(&self, inner: S) -> Self::Service {
        StreamLimit {
            inner,
            layer: self.clone(),
        }
    }
}

/// See [`StreamLimitLayer`].
#[derive(Debug, Clone)]
pub struct StreamLimit<S> {
    inner: S,
    layer: StreamLimitLayer,
}

impl<S, B> Service<http::Request<B>> for StreamLimit<S>
where
    S: Service<http::Request<B>, Response = http::Response<Body>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        if !self.layer.methods.is_server_streaming(request.uri().path()) {
            return Box::pin(self.inner.call(request));
        }
        // Streams of public methods (health, reflection) have no caller and are not counted:
        // anonymous clients must not be able to use up the places of signed-in ones.
        let Some(user) = request
            .extensions()
            .get::<Caller>()
            .map(|caller| caller.user_id.clone())
        else {
            return Box::pin(self.inner.call(request));
        };
        let place = match self.layer.streams.take(&user) {
            Ok(place) => place,
            Err(why) => {
                tracing::debug!(?user, why, "refused a stream over the open-stream limit");
                let status = resource_exhausted(ExhaustedReason::TooManyStreams, why, RETRY_AFTER);
                return Box::pin(std::future::ready(Ok(status.into_http())));
            }
        };
        let answer = self.inner.call(request);
        Box::pin(async move {
            let response = answer.await?;
            Ok(response.map(|body| {
                Body::new(Holding {
                    body,
                    _place: place,
                })
            }))
        })
    }
}

pin_project_lite::pin_project! {
    /// A response body that holds its stream's place until it ends or is dropped.
    struct Holding {
        #[pin]
        body: Body,
        _place: Place,
    }
}

impl http_body::Body for Holding {
    type Data = <Body as http_body::Body>::Data;
    type Error = tonic::Status;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        self.project().body.poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}
