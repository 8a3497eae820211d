//! Uploads: one PutObject for small objects, a multipart upload above the part size.
//!
//! Bodies are built afresh for every attempt, from memory or by reading the file range again, so a
//! retried part re-sends exactly its bytes and a large file is never held in memory whole.

use std::collections::HashMap;
use std::path::PathBuf;

use aws_sdk_s3::primitives::{ByteStream, Length};
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, ServerSideEncryption, StorageClass};
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};

use super::S3Bucket;
use super::classify::classify;
use crate::S3Config;
use crate::error::{ObjstoreError, Result};
use crate::retry::{AttemptError, with_retries};

/// S3 allows at most this many parts; larger objects get larger parts.
const MAX_PARTS: u64 = 10_000;

/// How objects are written, derived from the config once.
#[derive(Debug, Clone)]
pub(super) struct UploadSettings {
    part_size: u64,
    disable_multipart: bool,
    concurrency: usize,
    metadata: HashMap<String, String>,
    storage_class: Option<StorageClass>,
    server_side_encryption: Option<ServerSideEncryption>,
}

impl UploadSettings {
    pub(super) fn from_config(config: &S3Config, concurrency: usize) -> Result<Self> {
        let server_side_encryption = match config.sse_config.kind.as_str() {
            "" => None,
            "SSE-S3" => Some(ServerSideEncryption::Aes256),
            other => {
                return Err(ObjstoreError::Config(format!(
                    "sse_config type {other:?} is not supported yet; supported: SSE-S3"
                )));
            }
        };
        // Thanos takes the storage class from this metadata key rather than sending it as metadata.
        let mut metadata = HashMap::new();
        let mut storage_class = None;
        for (name, value) in &config.put_user_metadata {
            if name.eq_ignore_ascii_case("X-Amz-Storage-Class") {
                storage_class = Some(StorageClass::from(value.as_str()));
            } else {
                metadata.insert(name.clone(), value.clone());
            }
        }
        Ok(Self {
            part_size: config.part_size,
            disable_multipart: config.disable_multipart,
            concurrency: concurrency.max(1),
            metadata,
            storage_class,
            server_side_encryption,
        })
    }

    /// The part size for an object of `len` bytes, or `None` for a single PutObject.
    fn part_size_for(&self, len: u64) -> Option<u64> {
        if self.disable_multipart || len <= self.part_size {
            return None;
        }
        Some(self.part_size.max(len.div_ceil(MAX_PARTS)))
    }
}

/// The bytes of an object being uploaded.
#[derive(Debug)]
pub(super) enum Payload {
    /// Already in memory.
    Memory(Bytes),
    /// A local file of known length, read range by range.
    File {
        /// The file.
        path: PathBuf,
        /// Its length when the upload started.
        len: u64,
    },
}

impl Payload {
    fn len(&self) -> u64 {
        match self {
            Self::Memory(data) => data.len() as u64,
            Self::File { len, .. } => *len,
        }
    }

    /// A fresh body for bytes `offset..offset + len`.
    async fn body(&self, offset: u64, len: u64) -> std::result::Result<ByteStream, AttemptError> {
        match self {
            Self::Memory(data) => {
                let start = usize::try_from(offset).expect("offset lies within an in-memory object");
                let end = usize::try_from(offset + len).expect("range lies within an in-memory object");
                Ok(ByteStream::from(data.slice(start..end)))
            }
            Self::File { path, .. } => ByteStream::read_from()
                .path(path)
                .offset(offset)
                .length(Length::Exact(len))
                .build()
                .await
                .map_err(|error| {
                    let io_error = std::io::Error::other(error);
                    AttemptError::Permanent(ObjstoreError::io(path.display().to_string(), io_error))
                }),
        }
    }
}

impl S3Bucket {
    pub(super) async fn upload(&self, key: &str, payload: Payload) -> Result<()> {
        let len = payload.len();
        match self.upload.part_size_for(len) {
            None => self.put_object(key, &payload, len).await,
            Some(part_size) => self.multipart_upload(key, &payload, len, part_size).await,
        }
    }

    async fn put_object(&self, key: &str, payload: &Payload, len: u64) -> Result<()> {
        let client = self.client().await;
        let settings = &self.upload;
        with_retries(&self.retry, "PutObject", key, || async {
            let body = payload.body(0, len).await?;
            let request = client
                .put_object()
                .bucket(&self.bucket)
                .key(key)
                .content_length(i64::try_from(len).unwrap_or(i64::MAX))
                .body(body)
                .set_metadata((!settings.metadata.is_empty()).then(|| settings.metadata.clone()))
                .set_storage_class(settings.storage_class.clone())
                .set_server_side_encryption(settings.server_side_encryption.clone());
            request.send().await.map_err(|error| classify("PutObject", key, error))
        })
        .await?;
        Ok(())
    }

    async fn multipart_upload(&self, key: &str, payload: &Payload, len: u64, part_size: u64) -> Result<()> {
        let client = self.client().await;
        let settings = &self.upload;
        let created = with_retries(&self.retry, "CreateMultipartUpload", key, || async {
            let request = client
                .create_multipart_upload()
                .bucket(&self.bucket)
                .key(key)
                .set_metadata((!settings.metadata.is_empty()).then(|| settings.metadata.clone()))
                .set_storage_class(settings.storage_class.clone())
                .set_server_side_encryption(settings.server_side_encryption.clone());
            request.send().await.map_err(|error| classify("CreateMultipartUpload", key, error))
        })
        .await?;
        let Some(upload_id) = created.upload_id() else {
            return Err(ObjstoreError::Other {
                operation: "CreateMultipartUpload",
                key: key.to_owned(),
                source: "the response carries no upload id".into(),
            });
        };

        let part_count = len.div_ceil(part_size);
        let uploaded: Result<Vec<CompletedPart>> = futures::stream::iter(0..part_count)
            .map(|index| {
                let offset = index * part_size;
                let part_len = part_size.min(len - offset);
                self.upload_part(key, upload_id, payload, index, offset, part_len)
            })
            .buffered(settings.concurrency)
            .try_collect()
            .await;
        let completed = match uploaded {
            Ok(parts) => self.complete_multipart(key, upload_id, parts).await,
            Err(error) => Err(error),
        };
        if completed.is_err() {
            // Best effort: an abandoned upload only costs storage until a lifecycle rule cleans it.
            let abort = client.abort_multipart_upload().bucket(&self.bucket).key(key).upload_id(upload_id);
            let _ignored = abort.send().await;
        }
        completed
    }

    async fn upload_part(
        &self,
        key: &str,
        upload_id: &str,
        payload: &Payload,
        index: u64,
        offset: u64,
        part_len: u64,
    ) -> Result<CompletedPart> {
        let client = self.client().await;
        let part_number = i32::try_from(index + 1).expect("part count is capped at 10000");
        let uploaded = with_retries(&self.retry, "UploadPart", key, || async {
            let body = payload.body(offset, part_len).await?;
            let request = client
                .upload_part()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(upload_id)
                .part_number(part_number)
                .content_length(i64::try_from(part_len).unwrap_or(i64::MAX))
                .body(body);
            request.send().await.map_err(|error| classify("UploadPart", key, error))
        })
        .await?;
        Ok(CompletedPart::builder()
            .part_number(part_number)
            .set_e_tag(uploaded.e_tag().map(str::to_owned))
            .build())
    }

    async fn complete_multipart(&self, key: &str, upload_id: &str, parts: Vec<CompletedPart>) -> Result<()> {
        let client = self.client().await;
        let completed = CompletedMultipartUpload::builder().set_parts(Some(parts)).build();
        with_retries(&self.retry, "CompleteMultipartUpload", key, || async {
            let request = client
                .complete_multipart_upload()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(upload_id)
                .multipart_upload(completed.clone());
            request.send().await.map_err(|error| classify("CompleteMultipartUpload", key, error))
        })
        .await?;
        Ok(())
    }
}
