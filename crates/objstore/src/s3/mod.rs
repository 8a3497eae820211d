//! A bucket on any S3-compatible store, through aws-sdk-s3: Thanos' `S3` provider.
//!
//! Set up for S3-compatible servers (MinIO, RustFS, s3s) as well as AWS: path-style addressing,
//! checksums only when an operation requires them (newer SDK defaults add CRC headers that many
//! servers reject), and SDK retries off in favour of [`RetryPolicy`], so one visible policy bounds
//! how long a caller waits when the store is down.

mod classify;
mod upload;

use std::path::Path;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
    StalledStreamProtectionConfig,
};
use bytes::Bytes;
use tokio::sync::OnceCell;

use self::classify::{RANGE_NOT_SATISFIABLE, classify, http_status};
use self::upload::{Payload, UploadSettings};
use crate::error::{ObjstoreError, Result};
use crate::key::{dir_prefix, validate_key};
use crate::retry::{AttemptError, RetryPolicy, with_retries};
use crate::{Bucket, ObjectAttributes, S3Config};

/// Region used when the config names none, as in Thanos.
const DEFAULT_REGION: &str = "us-east-1";
/// Smallest part S3 accepts in a multipart upload (except the last part).
const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;

/// Client behaviour that Thanos' YAML does not cover: retries, timeouts, upload concurrency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3ClientOptions {
    /// Retries of transient failures; `max_retries` in the YAML overrides `max_attempts`.
    pub retry: RetryPolicy,
    /// Limit on establishing a TCP (and TLS) connection.
    pub connect_timeout: Duration,
    /// Limit from sending a request until the first byte of the response (so it includes
    /// uploading a request body: keep it above the time one part takes to upload).
    pub read_timeout: Option<Duration>,
    /// Limit on one whole attempt, body included; `None` leaves large transfers unbounded.
    pub attempt_timeout: Option<Duration>,
    /// A transfer moving no bytes for this long is aborted (and retried).
    pub stall_grace_period: Duration,
    /// Parts of one multipart upload in flight at once.
    pub multipart_concurrency: usize,
}

impl Default for S3ClientOptions {
    fn default() -> Self {
        Self {
            retry: RetryPolicy::default(),
            connect_timeout: Duration::from_secs(10),
            read_timeout: Some(Duration::from_secs(120)),
            attempt_timeout: None,
            stall_grace_period: Duration::from_secs(20),
            multipart_concurrency: 4,
        }
    }
}

/// A bucket in an S3-compatible store.
pub struct S3Bucket {
    bucket: String,
    endpoint: String,
    /// Built at once for static credentials; on first use for the SDK's credential chain,
    /// whose loading is async.
    client: OnceCell<Client>,
    settings: ClientSettings,
    retry: RetryPolicy,
    upload: UploadSettings,
}

impl std::fmt::Debug for S3Bucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Bucket")
            .field("bucket", &self.bucket)
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

/// What the SDK client is built from.
#[derive(Clone)]
struct ClientSettings {
    endpoint_url: String,
    region: String,
    path_style: bool,
    /// `None`: use the SDK's default credential chain.
    static_credentials: Option<Credentials>,
    options: S3ClientOptions,
}

impl ClientSettings {
    fn apply(&self, builder: aws_sdk_s3::config::Builder) -> aws_sdk_s3::config::Builder {
        let options = &self.options;
        let mut timeouts = TimeoutConfig::builder().connect_timeout(options.connect_timeout);
        if let Some(read_timeout) = options.read_timeout {
            timeouts = timeouts.read_timeout(read_timeout);
        }
        if let Some(attempt_timeout) = options.attempt_timeout {
            timeouts = timeouts.operation_attempt_timeout(attempt_timeout);
        }
        let mut builder = builder
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(self.region.clone()))
            .endpoint_url(&self.endpoint_url)
            .force_path_style(self.path_style)
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            .retry_config(RetryConfig::disabled())
            .timeout_config(timeouts.build())
            .stalled_stream_protection(
                StalledStreamProtectionConfig::enabled().grace_period(options.stall_grace_period).build(),
            );
        if let Some(credentials) = &self.static_credentials {
            builder = builder.credentials_provider(credentials.clone());
        }
        builder
    }

    async fn build_client(&self) -> Client {
        if self.static_credentials.is_some() {
            return Client::from_conf(self.apply(aws_sdk_s3::config::Builder::new()).build());
        }
        let sdk_config = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(self.region.clone()))
            .load()
            .await;
        Client::from_conf(self.apply(aws_sdk_s3::config::Builder::from(&sdk_config)).build())
    }
}

/// Checks Thanos' rules on the config and derives the client settings from it.
fn client_settings(config: &S3Config, options: S3ClientOptions) -> Result<ClientSettings> {
    let config_error = |message: &str| Err(ObjstoreError::Config(message.to_owned()));
    if config.endpoint.is_empty() {
        return config_error("no s3 endpoint in config");
    }
    if config.bucket.is_empty() {
        return config_error("no s3 bucket in config");
    }
    if config.aws_sdk_auth && !config.access_key.is_empty() {
        return config_error("aws_sdk_auth and access_key are mutually exclusive");
    }
    if config.access_key.is_empty() != config.secret_key.is_empty() {
        return config_error(
            "access_key and secret_key must be given together (or neither, to use the AWS SDK credential chain)",
        );
    }
    if !matches!(config.list_objects_version.as_str(), "" | "v1" | "v2") {
        return Err(ObjstoreError::Config(format!(
            "unsupported list_objects_version {:?}; supported: v1, v2",
            config.list_objects_version
        )));
    }
    let path_style = match config.bucket_lookup_type.as_str() {
        "" | "auto" | "path" => true,
        "virtual-hosted" => false,
        other => {
            return Err(ObjstoreError::Config(format!(
                "unsupported bucket_lookup_type {other:?}; supported: auto, path, virtual-hosted"
            )));
        }
    };
    let endpoint_url = if config.endpoint.contains("://") {
        config.endpoint.clone()
    } else {
        let scheme = if config.insecure { "http" } else { "https" };
        format!("{scheme}://{}", config.endpoint)
    };
    let region = if config.region.is_empty() { DEFAULT_REGION.to_owned() } else { config.region.clone() };
    let static_credentials = (!config.access_key.is_empty()).then(|| {
        let session_token = (!config.session_token.is_empty()).then(|| config.session_token.clone());
        Credentials::new(&config.access_key, &config.secret_key, session_token, None, "objstore-config")
    });
    Ok(ClientSettings { endpoint_url, region, path_style, static_credentials, options })
}

impl S3Bucket {
    /// Creates a bucket client from Thanos' S3 config; no request is made yet.
    pub fn new(config: &S3Config, mut options: S3ClientOptions) -> Result<Self> {
        if config.max_retries > 0 {
            options.retry.max_attempts = config.max_retries;
        }
        if !config.disable_multipart && config.part_size < MIN_PART_SIZE {
            return Err(ObjstoreError::Config(format!(
                "part_size {} is below the S3 minimum of {MIN_PART_SIZE} bytes",
                config.part_size
            )));
        }
        let retry = options.retry;
        let upload = UploadSettings::from_config(config, options.multipart_concurrency)?;
        let settings = client_settings(config, options)?;
        let client = if settings.static_credentials.is_some() {
            let built = Client::from_conf(settings.apply(aws_sdk_s3::config::Builder::new()).build());
            OnceCell::new_with(Some(built))
        } else {
            OnceCell::new()
        };
        Ok(Self {
            bucket: config.bucket.clone(),
            endpoint: settings.endpoint_url.clone(),
            client,
            settings,
            retry,
            upload,
        })
    }

    async fn client(&self) -> &Client {
        self.client.get_or_init(|| self.settings.build_client()).await
    }

    /// Creates the bucket if it does not exist yet; for tests and local setups (Thanos expects
    /// the bucket to exist).
    pub async fn create_bucket(&self) -> Result<()> {
        let client = self.client().await;
        with_retries(&self.retry, "CreateBucket", "", || async {
            match client.create_bucket().bucket(&self.bucket).send().await {
                Ok(_) => Ok(()),
                Err(error)
                    if matches!(
                        aws_sdk_s3::error::ProvideErrorMetadata::code(&error),
                        Some("BucketAlreadyOwnedByYou" | "BucketAlreadyExists")
                    ) =>
                {
                    Ok(())
                }
                Err(error) => Err(classify("CreateBucket", "", error)),
            }
        })
        .await
    }

    async fn head(&self, key: &str) -> Result<ObjectAttributes> {
        validate_key(key)?;
        let client = self.client().await;
        let head = with_retries(&self.retry, "HeadObject", key, || async {
            let request = client.head_object().bucket(&self.bucket).key(key);
            request.send().await.map_err(|error| classify("HeadObject", key, error))
        })
        .await?;
        let size = head.content_length().and_then(|len| u64::try_from(len).ok()).unwrap_or(0);
        let last_modified = head
            .last_modified()
            .and_then(|time| SystemTime::try_from(*time).ok())
            .unwrap_or(SystemTime::UNIX_EPOCH);
        Ok(ObjectAttributes { size, last_modified })
    }
}

/// Reads a response body; a connection dropping mid-body is worth another attempt.
async fn read_body(body: aws_sdk_s3::primitives::ByteStream) -> std::result::Result<Bytes, AttemptError> {
    let aggregated = body.collect().await.map_err(|error| AttemptError::Transient(Box::new(error)))?;
    Ok(aggregated.into_bytes())
}

#[async_trait]
impl Bucket for S3Bucket {
    fn name(&self) -> &str {
        &self.bucket
    }

    async fn get(&self, key: &str) -> Result<Bytes> {
        validate_key(key)?;
        let client = self.client().await;
        with_retries(&self.retry, "GetObject", key, || async {
            let request = client.get_object().bucket(&self.bucket).key(key);
            let output = request.send().await.map_err(|error| classify("GetObject", key, error))?;
            read_body(output.body).await
        })
        .await
    }

    async fn get_range(&self, key: &str, offset: u64, len: u64) -> Result<Bytes> {
        if len == 0 {
            // An empty range cannot be expressed in a Range header; still report missing keys.
            self.head(key).await?;
            return Ok(Bytes::new());
        }
        validate_key(key)?;
        let client = self.client().await;
        let last_byte = offset.saturating_add(len - 1);
        let range = format!("bytes={offset}-{last_byte}");
        with_retries(&self.retry, "GetObject", key, || async {
            let request = client.get_object().bucket(&self.bucket).key(key).range(&range);
            let output = match request.send().await {
                Ok(output) => output,
                // The object exists but the range starts at or past its end.
                Err(error) if http_status(&error) == Some(RANGE_NOT_SATISFIABLE) => return Ok(Bytes::new()),
                Err(error) => return Err(classify("GetObject", key, error)),
            };
            let ranged = output.content_range().is_some();
            let data = read_body(output.body).await?;
            if ranged {
                return Ok(data);
            }
            // A server that ignored the Range header sent the whole object: cut the range out.
            let start = usize::try_from(offset).unwrap_or(usize::MAX).min(data.len());
            let end = usize::try_from(last_byte.saturating_add(1)).unwrap_or(usize::MAX).min(data.len());
            Ok(data.slice(start..end))
        })
        .await
    }

    async fn put(&self, key: &str, data: Bytes) -> Result<()> {
        validate_key(key)?;
        self.upload(key, Payload::Memory(data)).await
    }

    async fn put_file(&self, key: &str, path: &Path) -> Result<()> {
        validate_key(key)?;
        let metadata = tokio::fs::metadata(path)
            .await
            .map_err(|error| ObjstoreError::io(path.display().to_string(), error))?;
        let payload = Payload::File { path: path.to_owned(), len: metadata.len() };
        self.upload(key, payload).await
    }

    async fn delete(&self, key: &str) -> Result<()> {
        validate_key(key)?;
        let client = self.client().await;
        let deleted = with_retries(&self.retry, "DeleteObject", key, || async {
            let request = client.delete_object().bucket(&self.bucket).key(key);
            request.send().await.map_err(|error| classify("DeleteObject", key, error))
        })
        .await;
        match deleted {
            Ok(_) => Ok(()),
            Err(error) if error.is_not_found() => Ok(()),
            Err(error) => Err(error),
        }
    }

    async fn attributes(&self, key: &str) -> Result<ObjectAttributes> {
        self.head(key).await
    }

    async fn list(&self, prefix: &str, recursive: bool) -> Result<Vec<String>> {
        let dir = dir_prefix(prefix)?;
        let client = self.client().await;
        let mut keys = Vec::new();
        let mut continuation_token: Option<String> = None;
        loop {
            let page = with_retries(&self.retry, "ListObjectsV2", &dir, || async {
                let mut request = client
                    .list_objects_v2()
                    .bucket(&self.bucket)
                    .prefix(&dir)
                    .set_continuation_token(continuation_token.clone());
                if !recursive {
                    request = request.delimiter("/");
                }
                request.send().await.map_err(|error| classify("ListObjectsV2", &dir, error))
            })
            .await?;
            let directories = page.common_prefixes().iter().filter_map(|common| common.prefix());
            let objects = page.contents().iter().filter_map(|object| object.key());
            // Some stores list the directory itself as an object; Thanos skips it too.
            keys.extend(directories.chain(objects).filter(|key| *key != dir).map(str::to_owned));
            match page.next_continuation_token() {
                Some(token) if page.is_truncated() == Some(true) => {
                    continuation_token = Some(token.to_owned())
                }
                _ => break,
            }
        }
        keys.sort();
        keys.dedup();
        Ok(keys)
    }
}
