//! The codec of every generated client and server: prost's, except that a message that does
//! not decode is INVALID_ARGUMENT with a generic message (prost answers INTERNAL and names
//! fields, wire types and the decoder's internals).

use std::marker::PhantomData;

use tonic::{
    Status,
    codec::{BufferSettings, Codec, DecodeBuf, Decoder},
};
use tonic_prost::{ProstCodec, ProstDecoder, ProstEncoder};

/// What a client that sent an undecodable message is told.
const UNDECODABLE: &str = "the message is not a valid protobuf encoding of this method's type";

/// [`ProstCodec`] with [`CampusDecoder`]; named by `build.rs` as the generated code's codec.
#[derive(Debug, Clone)]
pub struct CampusCodec<T, U> {
    _types: PhantomData<(T, U)>,
}

impl<T, U> Default for CampusCodec<T, U> {
    fn default() -> Self {
        Self {
            _types: PhantomData,
        }
    }
}

impl<T, U> Codec for CampusCodec<T, U>
where
    T: prost::Message + Send + 'static,
    U: prost::Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = CampusDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        ProstCodec::<T, U>::default().encoder()
    }

    fn decoder(&mut self) -> Self::Decoder {
        CampusDecoder(ProstCodec::<T, U>::default().decoder())
    }
}

/// Prost's decoder, answering INVALID_ARGUMENT for a message that does not decode.
#[derive(Debug, Clone)]
pub struct CampusDecoder<U>(ProstDecoder<U>);

impl<U: prost::Message + Default> Decoder for CampusDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        self.0
            .decode(buf)
            .map_err(|_undecodable| Status::invalid_argument(UNDECODABLE))
    }

    fn buffer_settings(&self) -> BufferSettings {
        self.0.buffer_settings()
    }
}
