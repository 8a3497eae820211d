//! Prometheus remote read (`POST /api/v1/read`) as the sidecar speaks it, turned into StoreAPI
//! series.
//!
//! ```text
//! request:   snappy-block( ReadRequest{queries, accepted_response_types} )
//!            Content-Encoding: snappy, X-Prometheus-Remote-Read-Version: 0.1.0
//!
//! response, by Content-Type:
//!   application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse   (no compression)
//!     frame* where frame = uvarint(len) · u32 BE CRC-32C(message) · message (ChunkedReadResponse)
//!     one series per frame; a large series continues in the next frames with the same labels
//!   application/x-protobuf                                                   (snappy block)
//!     ReadResponse{results: [QueryResult{timeseries: [TimeSeries{labels, samples}]}]}
//! ```
//!
//! Streamed chunks pass through undecoded (`StoreAPI type = Prometheus type − 1`, hash added);
//! samples are re-encoded into XOR chunks of at most [`MAX_SAMPLES_PER_CHUNK`] samples, as
//! Thanos' `PrometheusStore` does. The labels are Prometheus' own (they include its external
//! labels, local labels winning); applying Thanos' external-label rules is the caller's policy.

use std::collections::VecDeque;

use bytes::{Buf, Bytes, BytesMut};
use prost::Message;
use prost::encoding::{self as pbenc, DecodeContext, decode_key, skip_field};
use tsdb_format::chunkenc::XorEncoder;

use crate::chunk;
use crate::pb::prometheus as prom;
use crate::pb::thanos as pb;

/// `Content-Type` of a STREAMED_XOR_CHUNKS response (a prefix: parameters may follow).
pub const STREAMED_CONTENT_TYPE: &str =
    "application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse";
/// `Content-Type` of a SAMPLES response.
pub const SAMPLES_CONTENT_TYPE: &str = "application/x-protobuf";
/// `Content-Type` of the request, as the Thanos sidecar sends it.
pub const REQUEST_CONTENT_TYPE: &str = "application/x-stream-protobuf";
/// `X-Prometheus-Remote-Read-Version` of the request.
pub const REMOTE_READ_VERSION: &str = "0.1.0";
/// Largest frame accepted: Prometheus' `config.DefaultChunkedReadLimit` (5e7 bytes).
pub const DEFAULT_CHUNKED_READ_LIMIT: u64 = 50_000_000;
/// Samples per re-encoded chunk: Thanos' `MaxSamplesPerChunk`.
pub const MAX_SAMPLES_PER_CHUNK: usize = 120;

/// What can go wrong talking remote read.
#[derive(Debug, thiserror::Error)]
pub enum RemoteReadError {
    /// The HTTP exchange failed (connection refused, reset, timeout).
    #[error("remote read request to {url}: {source}")]
    Http {
        /// The URL asked.
        url: String,
        /// The client's error.
        source: reqwest::Error,
    },
    /// Prometheus answered with a non-2xx status.
    #[error("remote read request failed with code {status}; msg {body}")]
    Status {
        /// The HTTP status code.
        status: u16,
        /// The body, as text.
        body: String,
    },
    /// A response type we did not ask for or do not know.
    #[error("not supported remote read content type: {0:?}")]
    UnsupportedContentType(String),
    /// A snappy block that does not decompress.
    #[error("decompress remote read response: {0}")]
    Snappy(#[from] snap::Error),
    /// A protobuf message that does not decode.
    #[error("decode remote read {what}: {source}")]
    Decode {
        /// Which message.
        what: &'static str,
        /// prost's error.
        source: prost::DecodeError,
    },
    /// A frame larger than the read limit.
    #[error("chunked remote read frame of {size} bytes exceeds the limit of {limit} bytes")]
    FrameTooLarge {
        /// The announced frame size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// A frame whose CRC-32C does not match its bytes.
    #[error("chunked remote read frame checksum mismatch: header {expected:#010x}, computed {actual:#010x}")]
    Checksum {
        /// The checksum in the frame header.
        expected: u32,
        /// The checksum of the bytes received.
        actual: u32,
    },
    /// A frame length varint longer than 10 bytes.
    #[error("chunked remote read frame length is not a valid uvarint")]
    BadLength,
    /// The stream ended inside a frame.
    #[error("chunked remote read stream ended inside a frame ({0} bytes left over)")]
    Truncated(usize),
    /// A SAMPLES response with other than one result for our one query.
    #[error("unexpected result size {0}")]
    UnexpectedResults(usize),
    /// A chunk with no StoreAPI encoding, or other StoreAPI errors.
    #[error(transparent)]
    Chunk(#[from] crate::Error),
}

/// `Result` with [`RemoteReadError`].
pub type Result<T, E = RemoteReadError> = std::result::Result<T, E>;

/// The request body: a snappy-block-compressed `ReadRequest` of one query.
pub fn encode_request(query: prom::Query, accepted: &[prom::read_request::ResponseType]) -> Vec<u8> {
    let request = prom::ReadRequest {
        queries: vec![query],
        accepted_response_types: accepted.iter().map(|t| *t as i32).collect(),
    };
    // Compressing a byte slice in memory cannot fail except for inputs over ~4 GiB.
    snap::raw::Encoder::new().compress_vec(&request.encode_to_vec()).unwrap_or_default()
}

/// Decodes a whole SAMPLES body (snappy block) into its one query result.
pub fn decode_samples_body(body: &[u8]) -> Result<prom::QueryResult> {
    let raw = snap::raw::Decoder::new().decompress_vec(body)?;
    let response = prom::ReadResponse::decode(raw.as_slice())
        .map_err(|source| RemoteReadError::Decode { what: "ReadResponse", source })?;
    let mut results = response.results;
    if results.len() != 1 {
        return Err(RemoteReadError::UnexpectedResults(results.len()));
    }
    Ok(results.remove(0))
}

/// Encodes one frame of a STREAMED_XOR_CHUNKS response (what Prometheus writes; for tests and
/// fakes of our own).
pub fn encode_frame(message: &prom::ChunkedReadResponse) -> Vec<u8> {
    let body = message.encode_to_vec();
    let mut out = Vec::with_capacity(body.len() + 14);
    prost::encoding::encode_varint(body.len() as u64, &mut out);
    out.extend_from_slice(&crc32c::crc32c(&body).to_be_bytes());
    out.extend_from_slice(&body);
    out
}

/// Splits a byte stream into `ChunkedReadResponse` frames, checking sizes and checksums. Frames
/// that arrive whole inside one received buffer are sliced out of it; only frames split across
/// buffers are copied together.
#[derive(Debug)]
pub struct FrameDecoder {
    /// The start of a frame split across received buffers.
    partial: BytesMut,
    /// Received bytes not looked at yet (after `partial`).
    incoming: Bytes,
    limit: u64,
}

impl Default for FrameDecoder {
    fn default() -> Self {
        Self::new(DEFAULT_CHUNKED_READ_LIMIT)
    }
}

impl FrameDecoder {
    /// A decoder refusing frames larger than `limit` bytes.
    pub fn new(limit: u64) -> Self {
        Self { partial: BytesMut::new(), incoming: Bytes::new(), limit }
    }

    /// Appends bytes received.
    pub fn push(&mut self, bytes: Bytes) {
        if !self.incoming.is_empty() {
            self.partial.extend_from_slice(&self.incoming);
        }
        self.incoming = bytes;
    }

    /// The next whole frame, or `None` when more bytes are needed.
    pub fn next_frame(&mut self) -> Result<Option<prom::ChunkedReadResponse>> {
        let Some(message) = self.next_message()? else { return Ok(None) };
        prom::ChunkedReadResponse::decode(message)
            .map(Some)
            .map_err(|source| RemoteReadError::Decode { what: "ChunkedReadResponse", source })
    }

    /// The message bytes of the next whole frame (checksum checked), or `None` when more bytes
    /// are needed.
    pub fn next_message(&mut self) -> Result<Option<Bytes>> {
        let frame = if self.partial.is_empty() {
            match self.frame_len(&self.incoming)? {
                Some(total) if self.incoming.len() >= total => self.incoming.split_to(total),
                _ => {
                    // An incomplete frame: keep what came, reserving room for the rest.
                    let total = self.frame_len(&self.incoming)?.unwrap_or(0);
                    self.partial.reserve(total.max(self.incoming.len()));
                    self.partial.extend_from_slice(&self.incoming);
                    self.incoming.clear();
                    return Ok(None);
                }
            }
        } else {
            loop {
                let wanted = match self.frame_len(&self.partial)? {
                    Some(total) => total,
                    // The length varint is at most 10 bytes.
                    None => self.partial.len() + 1,
                };
                let take = (wanted - self.partial.len()).min(self.incoming.len());
                if take == 0 {
                    return Ok(None);
                }
                self.partial.reserve(wanted - self.partial.len());
                self.partial.extend_from_slice(&self.incoming.split_to(take));
                if matches!(self.frame_len(&self.partial)?, Some(total) if total == self.partial.len()) {
                    break self.partial.split().freeze();
                }
            }
        };
        check_frame(frame).map(Some)
    }

    /// The size of the frame starting `bytes` (header included), once its length is readable.
    fn frame_len(&self, bytes: &[u8]) -> Result<Option<usize>> {
        let Some((size, varint_len)) = read_uvarint(bytes)? else { return Ok(None) };
        if size > self.limit {
            return Err(RemoteReadError::FrameTooLarge { size, limit: self.limit });
        }
        // `size` is at most `limit`, which fits in memory by construction.
        Ok(Some(varint_len + 4 + size as usize))
    }

    /// Checks that the stream ended on a frame boundary.
    pub fn finish(&self) -> Result<()> {
        let left = self.partial.len() + self.incoming.len();
        if left == 0 { Ok(()) } else { Err(RemoteReadError::Truncated(left)) }
    }
}

/// The message of a whole frame, its checksum checked.
fn check_frame(mut frame: Bytes) -> Result<Bytes> {
    // The length was read before; skip it.
    let varint_len = frame.iter().position(|b| b & 0x80 == 0).map_or(frame.len(), |i| i + 1);
    frame.advance(varint_len);
    let expected = frame.get_u32();
    let actual = crc32c::crc32c(&frame);
    if expected != actual {
        return Err(RemoteReadError::Checksum { expected, actual });
    }
    Ok(frame)
}

/// Go's `binary.Uvarint` on a prefix: `(value, bytes used)`, `None` if incomplete.
fn read_uvarint(bytes: &[u8]) -> Result<Option<(u64, usize)>> {
    let mut value: u64 = 0;
    for (i, &byte) in bytes.iter().enumerate() {
        if i == 10 || (i == 9 && byte > 1) {
            return Err(RemoteReadError::BadLength);
        }
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte < 0x80 {
            return Ok(Some((value, i + 1)));
        }
    }
    if bytes.len() >= 10 {
        return Err(RemoteReadError::BadLength);
    }
    Ok(None)
}

/// Samples as XOR chunks of at most [`MAX_SAMPLES_PER_CHUNK`] samples, hashes computed
/// (Thanos' `chunkSamples`): each chunk spans its first to its last sample.
pub fn chunk_samples(samples: &[prom::Sample]) -> Vec<pb::AggrChunk> {
    samples
        .chunks(MAX_SAMPLES_PER_CHUNK)
        .filter_map(|group| {
            let (first, last) = (group.first()?, group.last()?);
            let mut encoder = XorEncoder::new();
            for sample in group {
                encoder.append(sample.timestamp, sample.value);
            }
            let data = Bytes::from(encoder.into_bytes());
            let raw = pb::Chunk { r#type: pb::chunk::Encoding::Xor as i32, hash: chunk::hash(&data), data };
            Some(pb::AggrChunk {
                min_time: first.timestamp,
                max_time: last.timestamp,
                raw: Some(raw),
                ..Default::default()
            })
        })
        .collect()
}

/// Remote-read labels as StoreAPI labels (same wire shape, different package).
pub fn labels_to_pb(labels: Vec<prom::Label>) -> Vec<pb::Label> {
    labels.into_iter().map(|l| pb::Label { name: l.name, value: l.value }).collect()
}

/// A StoreAPI matcher as a remote-read matcher (same type numbers).
pub fn matcher_to_prom(matcher: &pb::LabelMatcher) -> prom::LabelMatcher {
    prom::LabelMatcher { r#type: matcher.r#type, name: matcher.name.clone(), value: matcher.value.clone() }
}

/// A remote-read client for one Prometheus, sharing the caller's HTTP client.
#[derive(Debug, Clone)]
pub struct RemoteReadClient {
    http: reqwest::Client,
    url: String,
    user_agent: String,
}

impl RemoteReadClient {
    /// A client for the Prometheus at `base_url` (e.g. `http://localhost:9090`, a path prefix kept).
    pub fn new(http: reqwest::Client, base_url: &str, user_agent: impl Into<String>) -> Self {
        let url = format!("{}/api/v1/read", base_url.trim_end_matches('/'));
        Self { http, url, user_agent: user_agent.into() }
    }

    /// The URL asked.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Sends one query accepting `accepted` response types (in order of preference) and
    /// returns a reader of its series, whichever type Prometheus chose.
    pub async fn read(
        &self,
        query: prom::Query,
        accepted: &[prom::read_request::ResponseType],
    ) -> Result<SeriesReader> {
        let response = self
            .http
            .post(&self.url)
            .header(reqwest::header::CONTENT_ENCODING, "snappy")
            .header(reqwest::header::CONTENT_TYPE, REQUEST_CONTENT_TYPE)
            .header("X-Prometheus-Remote-Read-Version", REMOTE_READ_VERSION)
            .header(reqwest::header::USER_AGENT, &self.user_agent)
            .body(encode_request(query, accepted))
            .send()
            .await
            .map_err(|source| RemoteReadError::Http { url: self.url.clone(), source })?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            return Err(RemoteReadError::Status { status: status.as_u16(), body });
        }
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        if content_type.starts_with(SAMPLES_CONTENT_TYPE) {
            let body = response
                .bytes()
                .await
                .map_err(|source| RemoteReadError::Http { url: self.url.clone(), source })?;
            let result = decode_samples_body(&body)?;
            return Ok(SeriesReader::samples(result));
        }
        if content_type.starts_with(STREAMED_CONTENT_TYPE) {
            return Ok(SeriesReader::streamed(response, self.url.clone()));
        }
        Err(RemoteReadError::UnsupportedContentType(content_type))
    }
}

/// Which response type a [`SeriesReader`] is reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseKind {
    /// STREAMED_XOR_CHUNKS: chunks passed through.
    StreamedChunks,
    /// SAMPLES: samples re-encoded into chunks.
    Samples,
}

/// The series of one remote-read response as StoreAPI series, in Prometheus' order. Frames that
/// continue one series are joined; series without samples or chunks are skipped.
#[derive(Debug)]
pub struct SeriesReader {
    source: Source,
    /// A series read ahead, to see whether the next frame continues it.
    pending: Option<pb::Series>,
    frames: u64,
    bytes: u64,
}

#[derive(Debug)]
enum Source {
    Streamed {
        // Boxed: a response is far larger than the samples iterator.
        response: Box<reqwest::Response>,
        url: String,
        decoder: FrameDecoder,
        queued: VecDeque<pb::Series>,
        done: bool,
    },
    Samples(std::vec::IntoIter<prom::TimeSeries>),
}

impl SeriesReader {
    fn streamed(response: reqwest::Response, url: String) -> Self {
        let source = Source::Streamed {
            response: Box::new(response),
            url,
            decoder: FrameDecoder::default(),
            queued: VecDeque::new(),
            done: false,
        };
        Self { source, pending: None, frames: 0, bytes: 0 }
    }

    /// A reader over a decoded SAMPLES result.
    pub fn samples(result: prom::QueryResult) -> Self {
        Self { source: Source::Samples(result.timeseries.into_iter()), pending: None, frames: 0, bytes: 0 }
    }

    /// The response type being read.
    pub fn kind(&self) -> ResponseKind {
        match self.source {
            Source::Streamed { .. } => ResponseKind::StreamedChunks,
            Source::Samples(_) => ResponseKind::Samples,
        }
    }

    /// Frames read so far (streamed responses only).
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Response body bytes read so far (streamed responses only).
    pub fn bytes_read(&self) -> u64 {
        self.bytes
    }

    /// The next series, or `None` at the end.
    pub async fn next_series(&mut self) -> Result<Option<pb::Series>> {
        loop {
            let next = self.next_piece().await?;
            match (self.pending.take(), next) {
                (None, None) => return Ok(None),
                (Some(pending), None) => return Ok(Some(pending)),
                (None, Some(piece)) => self.pending = Some(piece),
                (Some(mut pending), Some(piece)) if pending.labels == piece.labels => {
                    pending.chunks.extend(piece.chunks);
                    self.pending = Some(pending);
                }
                (Some(pending), Some(piece)) => {
                    self.pending = Some(piece);
                    return Ok(Some(pending));
                }
            }
        }
    }

    /// The next series or piece of a series, before joining.
    async fn next_piece(&mut self) -> Result<Option<pb::Series>> {
        match &mut self.source {
            Source::Samples(series) => {
                for ts in series.by_ref() {
                    // Prometheus can return series without samples (thanos#381); they carry nothing.
                    if ts.samples.is_empty() {
                        continue;
                    }
                    let chunks = chunk_samples(&ts.samples);
                    return Ok(Some(pb::Series { labels: labels_to_pb(ts.labels), chunks }));
                }
                Ok(None)
            }
            Source::Streamed { response, url, decoder, queued, done } => loop {
                if let Some(piece) = queued.pop_front() {
                    return Ok(Some(piece));
                }
                if let Some(message) = decoder.next_message()? {
                    self.frames += 1;
                    // One series per frame is the norm; several are queued in order.
                    queued
                        .extend(decode_chunked_series(message)?.into_iter().filter(|s| !s.chunks.is_empty()));
                    continue;
                }
                if *done {
                    decoder.finish()?;
                    return Ok(None);
                }
                match response.chunk().await {
                    Ok(Some(bytes)) => {
                        self.bytes += bytes.len() as u64;
                        decoder.push(bytes);
                    }
                    Ok(None) => *done = true,
                    Err(source) => return Err(RemoteReadError::Http { url: url.clone(), source }),
                }
            },
        }
    }
}

/// The series of one `ChunkedReadResponse` message as StoreAPI series, decoded straight from
/// the wire: labels into StoreAPI labels (same wire shape), chunk data sliced out of `message`
/// without copies (what `prost` decoding plus [`chunk::from_remote_read`] gives, with no
/// intermediate remote-read structs).
pub fn decode_chunked_series(mut message: Bytes) -> Result<Vec<pb::Series>> {
    let mut out = Vec::with_capacity(1);
    while message.has_remaining() {
        let (tag, wire_type) = decode_key(&mut message).map_err(decode_error)?;
        match tag {
            1 => {
                let mut series = Bytes::new();
                pbenc::bytes::merge(wire_type, &mut series, &mut message, DecodeContext::default())
                    .map_err(decode_error)?;
                out.push(decode_series(series)?);
            }
            _ => skip_field(wire_type, tag, &mut message, DecodeContext::default()).map_err(decode_error)?,
        }
    }
    Ok(out)
}

/// One `ChunkedSeries{labels=1, chunks=2}`.
fn decode_series(mut message: Bytes) -> Result<pb::Series> {
    let mut series = pb::Series::default();
    while message.has_remaining() {
        let (tag, wire_type) = decode_key(&mut message).map_err(decode_error)?;
        match tag {
            1 => pbenc::message::merge_repeated(
                wire_type,
                &mut series.labels,
                &mut message,
                DecodeContext::default(),
            )
            .map_err(decode_error)?,
            2 => {
                let mut chunk = Bytes::new();
                pbenc::bytes::merge(wire_type, &mut chunk, &mut message, DecodeContext::default())
                    .map_err(decode_error)?;
                series.chunks.push(decode_chunk(chunk)?);
            }
            _ => skip_field(wire_type, tag, &mut message, DecodeContext::default()).map_err(decode_error)?,
        }
    }
    Ok(series)
}

/// One `Chunk{min_time_ms=1, max_time_ms=2, type=3, data=4}` as a raw `AggrChunk` (type − 1,
/// hash computed).
fn decode_chunk(mut message: Bytes) -> Result<pb::AggrChunk> {
    let (mut min_time, mut max_time, mut r#type, mut data) = (0i64, 0i64, 0i32, Bytes::new());
    while message.has_remaining() {
        let (tag, wire_type) = decode_key(&mut message).map_err(decode_error)?;
        let ctx = DecodeContext::default();
        match tag {
            1 => pbenc::int64::merge(wire_type, &mut min_time, &mut message, ctx),
            2 => pbenc::int64::merge(wire_type, &mut max_time, &mut message, ctx),
            3 => pbenc::int32::merge(wire_type, &mut r#type, &mut message, ctx),
            4 => pbenc::bytes::merge(wire_type, &mut data, &mut message, ctx),
            _ => skip_field(wire_type, tag, &mut message, ctx),
        }
        .map_err(decode_error)?;
    }
    let r#type = chunk::encoding_from_remote_read(r#type)? as i32;
    let raw = pb::Chunk { r#type, hash: chunk::hash(&data), data };
    Ok(pb::AggrChunk { min_time, max_time, raw: Some(raw), ..Default::default() })
}

fn decode_error(source: prost::DecodeError) -> RemoteReadError {
    RemoteReadError::Decode { what: "ChunkedReadResponse", source }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tsdb_format::chunkenc::XorIterator;

    fn plabels(pairs: &[(&str, &str)]) -> Vec<prom::Label> {
        pairs.iter().map(|(n, v)| prom::Label { name: (*n).into(), value: (*v).into() }).collect()
    }

    fn frame_of(labels: &[(&str, &str)], chunks: Vec<prom::Chunk>) -> prom::ChunkedReadResponse {
        prom::ChunkedReadResponse {
            chunked_series: vec![prom::ChunkedSeries { labels: plabels(labels), chunks }],
            query_index: 0,
        }
    }

    fn xor(min: i64, max: i64, data: &'static [u8]) -> prom::Chunk {
        prom::Chunk { min_time_ms: min, max_time_ms: max, r#type: 1, data: Bytes::from_static(data) }
    }

    #[test]
    fn request_is_snappy_block_protobuf() {
        let query = prom::Query {
            start_timestamp_ms: 1,
            end_timestamp_ms: 2,
            matchers: vec![prom::LabelMatcher { r#type: 0, name: "a".into(), value: "b".into() }],
            hints: None,
        };
        use prom::read_request::ResponseType;
        let body = encode_request(query.clone(), &[ResponseType::StreamedXorChunks, ResponseType::Samples]);
        let raw = snap::raw::Decoder::new().decompress_vec(&body).expect("snappy block");
        let request = prom::ReadRequest::decode(raw.as_slice()).expect("protobuf");
        assert_eq!(request.queries, vec![query]);
        assert_eq!(request.accepted_response_types, vec![1, 0]);
    }

    #[test]
    fn frames_split_anywhere_decode_in_order() {
        let frames = [frame_of(&[("a", "1")], vec![xor(0, 9, b"x")]), frame_of(&[("a", "2")], vec![])];
        let stream: Vec<u8> = frames.iter().flat_map(encode_frame).collect();
        for first in 0..stream.len() {
            for second in first..stream.len() {
                let mut decoder = FrameDecoder::default();
                let mut got = Vec::new();
                for part in [&stream[..first], &stream[first..second], &stream[second..]] {
                    decoder.push(Bytes::copy_from_slice(part));
                    while let Some(frame) = decoder.next_frame().expect("valid") {
                        got.push(frame);
                    }
                }
                decoder.finish().expect("ends on a boundary");
                assert_eq!(got, frames, "split at {first} and {second}");
            }
        }
        // Bytes pushed twice before looking keep their order.
        let mut decoder = FrameDecoder::default();
        decoder.push(Bytes::copy_from_slice(&stream[..3]));
        decoder.push(Bytes::copy_from_slice(&stream[3..]));
        assert_eq!(decoder.next_frame().expect("valid").as_ref(), Some(&frames[0]));
    }

    #[test]
    fn chunked_series_decode_like_prost_with_chunks_passed_through() {
        let mut message =
            frame_of(&[("__name__", "up"), ("job", "a")], vec![xor(0, 9, b"xy"), xor(10, 19, b"z")]);
        message.chunked_series.push(prom::ChunkedSeries { labels: plabels(&[("a", "2")]), chunks: vec![] });
        let bytes = Bytes::from(message.encode_to_vec());
        let decoded = decode_chunked_series(bytes.clone()).expect("valid");
        let expected: Vec<pb::Series> = message
            .chunked_series
            .into_iter()
            .map(|series| pb::Series {
                labels: labels_to_pb(series.labels),
                chunks: series.chunks.into_iter().map(|c| chunk::from_remote_read(c).expect("xor")).collect(),
            })
            .collect();
        assert_eq!(decoded, expected);
        // Chunk data is a slice of the message, not a copy.
        let data = &decoded[0].chunks[0].raw.as_ref().expect("raw").data;
        let range = bytes.as_ptr_range();
        assert!(range.contains(&data.as_ptr()));

        let unknown = frame_of(&[("a", "1")], vec![prom::Chunk { r#type: 99, ..xor(0, 9, b"x") }]);
        assert!(decode_chunked_series(Bytes::from(unknown.encode_to_vec())).is_err());
        let truncated = Bytes::from(bytes[..bytes.len() - 1].to_vec());
        assert!(matches!(decode_chunked_series(truncated), Err(RemoteReadError::Decode { .. })));
    }

    #[test]
    fn corrupt_and_oversized_frames_are_errors() {
        let mut bytes = encode_frame(&frame_of(&[("a", "1")], vec![xor(0, 9, b"x")]));
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        let mut decoder = FrameDecoder::default();
        decoder.push(Bytes::from(bytes));
        assert!(matches!(decoder.next_frame(), Err(RemoteReadError::Checksum { .. })));

        let mut small = FrameDecoder::new(4);
        small.push(Bytes::from(encode_frame(&frame_of(&[("a", "1")], vec![]))));
        assert!(matches!(small.next_frame(), Err(RemoteReadError::FrameTooLarge { limit: 4, .. })));

        let mut cut = FrameDecoder::default();
        cut.push(Bytes::copy_from_slice(&encode_frame(&frame_of(&[("a", "1")], vec![]))[..5]));
        assert!(cut.next_frame().expect("incomplete is fine").is_none());
        assert!(matches!(cut.finish(), Err(RemoteReadError::Truncated(5))));

        let mut garbage = FrameDecoder::default();
        garbage.push(Bytes::from_static(&[0xff; 11]));
        assert!(matches!(garbage.next_frame(), Err(RemoteReadError::BadLength)));
    }

    #[test]
    fn samples_become_chunks_of_at_most_120() {
        let samples: Vec<prom::Sample> =
            (0..250).map(|i| prom::Sample { timestamp: i * 15_000, value: (i as f64).sqrt() }).collect();
        let chunks = chunk_samples(&samples);
        let sizes: Vec<usize> = chunks
            .iter()
            .map(|c| {
                let raw = c.raw.as_ref().expect("raw");
                assert_eq!(raw.hash, chunk::hash(&raw.data));
                XorIterator::new(&raw.data).expect("xor").num_samples() as usize
            })
            .collect();
        assert_eq!(sizes, [120, 120, 10]);
        assert_eq!((chunks[0].min_time, chunks[0].max_time), (0, 119 * 15_000));
        assert_eq!((chunks[2].min_time, chunks[2].max_time), (240 * 15_000, 249 * 15_000));
        let mut decoded = Vec::new();
        for c in &chunks {
            let mut it = XorIterator::new(&c.raw.as_ref().expect("raw").data).expect("xor");
            while let Some((t, v)) = it.next_sample().expect("decodes") {
                decoded.push(prom::Sample { timestamp: t, value: v });
            }
        }
        assert_eq!(decoded, samples);
        assert!(chunk_samples(&[]).is_empty());
    }

    #[tokio::test]
    async fn samples_reader_skips_empty_series() {
        let result = prom::QueryResult {
            timeseries: vec![
                prom::TimeSeries { labels: plabels(&[("a", "1")]), ..Default::default() },
                prom::TimeSeries {
                    labels: plabels(&[("a", "2")]),
                    samples: vec![prom::Sample { timestamp: 5, value: 1.0 }],
                    ..Default::default()
                },
            ],
        };
        let mut reader = SeriesReader::samples(result);
        assert_eq!(reader.kind(), ResponseKind::Samples);
        let series = reader.next_series().await.expect("ok").expect("one series");
        assert_eq!(series.labels, vec![pb::Label { name: "a".into(), value: "2".into() }]);
        assert_eq!((series.chunks[0].min_time, series.chunks[0].max_time), (5, 5));
        assert!(reader.next_series().await.expect("ok").is_none());
    }

    #[test]
    fn samples_body_round_trip() {
        let response = prom::ReadResponse {
            results: vec![prom::QueryResult {
                timeseries: vec![prom::TimeSeries { labels: plabels(&[("a", "1")]), ..Default::default() }],
            }],
        };
        let body = snap::raw::Encoder::new().compress_vec(&response.encode_to_vec()).expect("snappy");
        assert_eq!(decode_samples_body(&body).expect("valid"), response.results[0]);
        let two = prom::ReadResponse { results: vec![Default::default(), Default::default()] };
        let body = snap::raw::Encoder::new().compress_vec(&two.encode_to_vec()).expect("snappy");
        assert!(matches!(decode_samples_body(&body), Err(RemoteReadError::UnexpectedResults(2))));
        assert!(matches!(decode_samples_body(b"not snappy"), Err(RemoteReadError::Snappy(_))));
    }
}
