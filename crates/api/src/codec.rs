//! The services' codec: prost's, except that bytes which are not a valid protobuf message
//! are the caller's fault (`INVALID_ARGUMENT`), not a server bug (`INTERNAL`, prost's
//! answer, which invites retries of a request that can never succeed).
//!
//! The generated servers and clients use it through `codec_path` (build.rs). A client
//! decoding a response that is not valid protobuf gets `INVALID_ARGUMENT` as well; that can
//! only come from something that is not leadledger answering.

use std::marker::PhantomData;

use tonic::codec::{BufferSettings, Codec, DecodeBuf, Decoder};
use tonic::{Code, Status};
use tonic_prost::{ProstCodec, ProstDecoder, ProstEncoder};

/// [`ProstCodec`] with decode errors answered as `INVALID_ARGUMENT`.
#[derive(Debug, Clone)]
pub struct ValidatingCodec<T, U>(PhantomData<(T, U)>);

impl<T, U> Default for ValidatingCodec<T, U> {
    fn default() -> Self {
        Self(PhantomData)
    }
}

impl<T, U> Codec for ValidatingCodec<T, U>
where
    T: prost::Message + Send + 'static,
    U: prost::Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = RequestDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        ProstCodec::<T, U>::default().encoder()
    }

    fn decoder(&mut self) -> Self::Decoder {
        RequestDecoder(ProstCodec::<T, U>::default().decoder())
    }
}

/// [`ProstDecoder`] with its decode errors turned into `INVALID_ARGUMENT`.
#[derive(Debug, Clone)]
pub struct RequestDecoder<U>(ProstDecoder<U>);

impl<U: prost::Message + Default> Decoder for RequestDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        self.0.decode(buf).map_err(invalid)
    }

    fn buffer_settings(&self) -> BufferSettings {
        self.0.buffer_settings()
    }
}

fn invalid(status: Status) -> Status {
    if status.code() == Code::Internal {
        Status::invalid_argument(format!(
            "the message is not valid protobuf for this RPC: {}",
            status.message()
        ))
    } else {
        status
    }
}
