//! The gRPC codec of every generated service: prost messages, as `tonic_prost::ProstCodec`,
//! except that each message's buffer space is reserved before it is encoded, in buffers that
//! start at 64 KiB. tonic's default (8 KiB, grown while encoding) reallocates and copies the
//! buffer several times per yielded 32 KiB of a streamed `Series` answer; the bytes on the wire
//! are the same.

use std::marker::PhantomData;

use prost::Message;
use tonic::Status;
use tonic::codec::{BufferSettings, Codec, EncodeBuf, Encoder};
use tonic_prost::{ProstCodec, ProstDecoder};

/// Encode buffer allocated per call, and again after each yield (bytes' `BytesMut` keeps it).
const ENCODE_BUFFER_SIZE: usize = 64 * 1024;
/// Encoded bytes handed to the transport at once: tonic's default.
const YIELD_THRESHOLD: usize = 32 * 1024;

/// prost messages with presized encode buffers (see the module docs).
#[derive(Debug, Clone, Copy)]
pub struct PresizedCodec<T, U>(PhantomData<(T, U)>);

impl<T, U> Default for PresizedCodec<T, U> {
    fn default() -> Self {
        Self(PhantomData)
    }
}

impl<T, U> Codec for PresizedCodec<T, U>
where
    T: Message + Send + 'static,
    U: Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = PresizedEncoder<T>;
    type Decoder = ProstDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        PresizedEncoder(PhantomData)
    }

    fn decoder(&mut self) -> Self::Decoder {
        ProstCodec::<T, U>::raw_decoder(BufferSettings::default())
    }
}

/// Encodes `T` into space reserved for its whole encoding.
#[derive(Debug, Clone, Copy)]
pub struct PresizedEncoder<T>(PhantomData<T>);

impl<T: Message> Encoder for PresizedEncoder<T> {
    type Item = T;
    type Error = Status;

    fn encode(&mut self, item: T, buf: &mut EncodeBuf<'_>) -> Result<(), Status> {
        buf.reserve(item.encoded_len());
        item.encode(buf).map_err(|e| Status::internal(format!("encode message: {e}")))
    }

    fn buffer_settings(&self) -> BufferSettings {
        BufferSettings::new(ENCODE_BUFFER_SIZE, YIELD_THRESHOLD)
    }
}
