//! A message that does not decode is INVALID_ARGUMENT with a generic message on every method
//! of every Campus service, public or not, unary or streaming: never INTERNAL, never the
//! decoder's field names or wire types.

use campus_testkit::{Error, spawn_campus};
use prost::Message as _;
use tonic::{
    Code, Status,
    codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder},
};

/// Bytes no protobuf message decodes from: a varint whose continuation bits never end.
const GARBAGE: [u8; 4] = [0xff; 4];

/// Sends raw bytes and reads raw bytes, so any method can be given anything.
#[derive(Debug, Clone, Copy, Default)]
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> Self::Encoder {
        Self
    }

    fn decoder(&mut self) -> Self::Decoder {
        Self
    }
}

impl Encoder for RawCodec {
    type Item = Vec<u8>;
    type Error = Status;

    fn encode(&mut self, item: Vec<u8>, buf: &mut EncodeBuf<'_>) -> Result<(), Status> {
        bytes::BufMut::put_slice(buf, &item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Vec<u8>;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, Status> {
        let mut bytes = vec![0; bytes::Buf::remaining(buf)];
        bytes::Buf::copy_to_slice(buf, &mut bytes);
        Ok(Some(bytes))
    }
}

/// `/package.Service/Method` of every method of the Campus services.
fn campus_methods() -> Result<Vec<String>, Error> {
    let set = prost_types::FileDescriptorSet::decode(campus_proto::FILE_DESCRIPTOR_SET)?;
    Ok(set
        .file
        .iter()
        .filter(|file| file.package().starts_with("campus."))
        .flat_map(|file| {
            file.service.iter().flat_map(move |service| {
                service.method.iter().map(move |method| {
                    format!("/{}.{}/{}", file.package(), service.name(), method.name())
                })
            })
        })
        .collect())
}

#[tokio::test]
async fn garbage_on_every_method_is_invalid_argument() -> Result<(), Error> {
    let campus = spawn_campus().await?;
    let token = campus.platform_admin_token().await?;
    let channel = campus.channel_as(&token).await?;
    let methods = campus_methods()?;
    assert!(methods.len() > 40, "every service's methods: {methods:?}");
    for path in methods {
        let mut grpc = tonic::client::Grpc::new(channel.clone());
        grpc.ready().await?;
        // Streaming framing fits every method type on the wire: one message, then the end.
        let answer = grpc
            .streaming(
                tonic::Request::new(tokio_stream::once(GARBAGE.to_vec())),
                path.parse::<http::uri::PathAndQuery>()?,
                RawCodec,
            )
            .await;
        let status = match answer {
            Err(status) => status,
            Ok(response) => match response.into_inner().message().await {
                Err(status) => status,
                Ok(message) => return Err(format!("{path} answered {message:?}").into()),
            },
        };
        assert_eq!(status.code(), Code::InvalidArgument, "{path}: {status:?}");
        assert!(
            !status.message().contains("decode Protobuf") && !status.message().contains("wire"),
            "{path} names decoder internals: {}",
            status.message()
        );
    }
    campus.shutdown().await
}
