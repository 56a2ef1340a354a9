//! Server streams whose messages are encoded once and sent as they are: a live feed fans one
//! event out to thousands of watchers, and encoding it once instead of once a watcher is
//! most of what fanning out costs beyond the HTTP/2 framing.
//!
//! A generated tonic server encodes every message it sends. [`EncodedRoute`] wraps one and
//! answers one of its server-streaming methods itself, with [`EncodedCodec`], which copies
//! [`Encoded`] bytes into the response; every other method goes to the generated server.

use std::{
    convert::Infallible,
    marker::PhantomData,
    pin::Pin,
    task::{Context, Poll},
};

use campus_proto::codec::{CampusCodec, CampusDecoder};
use prost::bytes::{BufMut as _, Bytes};
use tokio_stream::Stream;
use tonic::{
    Status,
    body::Body,
    codec::{Codec, EncodeBuf, Encoder},
    server::{Grpc, NamedService, ServerStreamingService},
};
use tower::{Service, ServiceExt as _};

/// A message already encoded (its protobuf bytes), cheap to clone and sent as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded(pub Bytes);

impl Encoded {
    /// `message`, encoded.
    pub fn of(message: &impl prost::Message) -> Self {
        Self(message.encode_to_vec().into())
    }
}

/// The stream a method served by [`EncodedRoute`] answers with.
pub type EncodedStream = Pin<Box<dyn Stream<Item = Result<Encoded, Status>> + Send>>;

/// Decodes requests of type `U` as every Campus service does; sends [`Encoded`] as it is.
#[derive(Debug)]
pub struct EncodedCodec<U>(PhantomData<fn() -> U>);

impl<U> Default for EncodedCodec<U> {
    fn default() -> Self {
        Self(PhantomData)
    }
}

impl<U> Codec for EncodedCodec<U>
where
    U: prost::Message + Default + Send + 'static,
{
    type Encode = Encoded;
    type Decode = U;
    type Encoder = EncodedEncoder;
    type Decoder = CampusDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        EncodedEncoder
    }

    fn decoder(&mut self) -> Self::Decoder {
        CampusCodec::<U, U>::default().decoder()
    }
}

/// Copies [`Encoded`] bytes into the response.
#[derive(Debug, Clone, Copy)]
pub struct EncodedEncoder;

impl Encoder for EncodedEncoder {
    type Item = Encoded;
    type Error = Status;

    fn encode(&mut self, item: Encoded, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item.0);
        Ok(())
    }
}

/// A generated server `S` with the server-streaming method at `path` answered by `handler`
/// with [`Encoded`] messages; the server's name, its other methods and the message size
/// limits stay as they are.
#[derive(Debug)]
pub struct EncodedRoute<S, H, U> {
    service: S,
    path: &'static str,
    handler: H,
    max_message_size: usize,
    request: PhantomData<fn() -> U>,
}

impl<S: Clone, H: Clone, U> Clone for EncodedRoute<S, H, U> {
    fn clone(&self) -> Self {
        Self {
            service: self.service.clone(),
            path: self.path,
            handler: self.handler.clone(),
            max_message_size: self.max_message_size,
            request: PhantomData,
        }
    }
}

impl<S, H, U> EncodedRoute<S, H, U> {
    /// `service` with the method at `path` (`/package.Service/Method`) answered by `handler`,
    /// its messages limited to `max_message_size` both ways.
    pub fn new(service: S, path: &'static str, handler: H, max_message_size: usize) -> Self {
        Self {
            service,
            path,
            handler,
            max_message_size,
            request: PhantomData,
        }
    }
}

impl<S: NamedService, H, U> NamedService for EncodedRoute<S, H, U> {
    const NAME: &'static str = S::NAME;
}

impl<S, H, U> Service<http::Request<Body>> for EncodedRoute<S, H, U>
where
    S: Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    H: ServerStreamingService<U, Response = Encoded> + Clone + Send + 'static,
    H::Future: Send + 'static,
    H::ResponseStream: Send + 'static,
    U: prost::Message + Default + Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<http::Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // Each call readies its own clone of the server below.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        if request.uri().path() != self.path {
            return Box::pin(self.service.clone().oneshot(request));
        }
        let (handler, limit) = (self.handler.clone(), self.max_message_size);
        Box::pin(async move {
            let mut grpc = Grpc::new(EncodedCodec::<U>::default())
                .apply_max_message_size_config(Some(limit), Some(limit));
            Ok(grpc.server_streaming(handler, request).await)
        })
    }
}
