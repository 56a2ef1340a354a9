//! `authorization: Bearer <token>` on every call of a client: how command-line tools, the load
//! generator and tests call Campus as a signed-in user.

use tonic::{
    Request, Status,
    metadata::{Ascii, MetadataValue, errors::InvalidMetadataValue},
    service::{Interceptor, interceptor::InterceptedService},
    transport::Channel,
};

/// A channel whose calls carry a bearer token.
pub type BearerChannel = InterceptedService<Channel, Bearer>;

/// Adds `authorization: Bearer <token>` to every call.
#[derive(Debug, Clone)]
pub struct Bearer(MetadataValue<Ascii>);

impl Bearer {
    /// The header for `token`; a token that is not a valid header value is refused.
    pub fn new(token: &str) -> Result<Self, InvalidMetadataValue> {
        Ok(Self(format!("Bearer {token}").parse()?))
    }

    /// `channel` with this token on every call.
    pub fn on(self, channel: Channel) -> BearerChannel {
        InterceptedService::new(channel, self)
    }
}

impl Interceptor for Bearer {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        request
            .metadata_mut()
            .insert("authorization", self.0.clone());
        Ok(request)
    }
}
