//! Peer calls to a service this process serves itself (all-in-one mode), handed to this
//! process's own service stack instead of a loopback socket. The call still passes through
//! every server layer (metrics, trace context, deadline, concurrency limit, token check),
//! as in the mesh; what it skips is HTTP/2 framing, header compression and four socket
//! writes and reads a call, which cost more CPU than the handler of a small read.

use std::{
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use tonic::{body::Body, transport::Channel};
use tower::{BoxError, Service, ServiceExt as _, util::BoxCloneSyncService};

/// The server's stack as a peer transport: requests in, responses out.
type Stack = BoxCloneSyncService<http::Request<Body>, http::Response<Body>, BoxError>;

/// This process's service stack, set once the server has assembled it ([`InProcess::set`]);
/// calls made before then wait for it, as calls to a bound listener wait to be accepted.
#[derive(Clone, Default)]
pub struct InProcess {
    stack: Arc<tokio::sync::SetOnce<Stack>>,
}

impl std::fmt::Debug for InProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InProcess")
            .field("ready", &self.stack.initialized())
            .finish()
    }
}

impl InProcess {
    /// Installs the server's stack; later calls of this are ignored (a server serves once).
    pub fn set<S, B>(&self, stack: S)
    where
        S: Service<http::Request<Body>, Response = http::Response<B>>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Error: Into<BoxError>,
        S::Future: Send + 'static,
        B: http_body::Body<Data = tonic::codegen::Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let stack = stack
            .map_response(|response| response.map(Body::new))
            .map_err(Into::into);
        let _ = self.stack.set(BoxCloneSyncService::new(stack));
    }
}

/// How a peer is reached: over the network, or through this process's own stack.
#[derive(Debug, Clone)]
pub enum PeerTransport {
    /// A channel to the peer's address (a replica elsewhere, or a configured one).
    Network(Channel),
    /// This process, which serves the peer itself.
    InProcess(InProcess),
}

impl Service<http::Request<Body>> for PeerTransport {
    type Response = http::Response<Body>;
    type Error = BoxError;
    type Future =
        Pin<Box<dyn Future<Output = Result<http::Response<Body>, BoxError>> + Send + 'static>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        match self {
            Self::Network(channel) => channel.poll_ready(cx).map_err(BoxError::from),
            Self::InProcess(_) => Poll::Ready(Ok(())),
        }
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        match self {
            Self::Network(channel) => {
                let call = channel.call(request);
                Box::pin(async move { call.await.map_err(BoxError::from) })
            }
            Self::InProcess(own) => {
                let own = own.clone();
                Box::pin(async move {
                    let stack = own.stack.wait().await.clone();
                    stack.oneshot(request).await
                })
            }
        }
    }
}
