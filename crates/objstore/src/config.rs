//! Thanos' objstore YAML (`--objstore.config`), parsed strictly like Thanos' `yaml.UnmarshalStrict`.
//!
//! ```yaml
//! type: S3            # or FILESYSTEM; case-insensitive
//! config:
//!   bucket: thanos
//!   endpoint: 127.0.0.1:9000   # host:port, no scheme; `insecure: true` selects http
//!   access_key: ...
//!   secret_key: ...
//! prefix: tenant-a    # optional: every key lives under this prefix
//! ```
//!
//! Unknown keys are errors that name the key. Fields Thanos has but we do not act on yet are
//! accepted and ignored (see [`S3Config`]).

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;
use serde::de::{DeserializeOwned, IgnoredAny};

use crate::error::{ObjstoreError, Result};
use crate::{Bucket, FilesystemBucket, PrefixedBucket, S3Bucket, S3ClientOptions};

/// Thanos' default multipart part size: 64 MiB.
const DEFAULT_PART_SIZE: u64 = 64 * 1024 * 1024;

/// A parsed objstore configuration: which backend, and an optional key prefix.
#[derive(Debug, Clone, PartialEq)]
pub struct BucketConfig {
    /// The backend and its settings.
    pub provider: ProviderConfig,
    /// Key prefix applied to every operation; empty for none.
    pub prefix: String,
}

/// The backend named by `type:` with its `config:` block.
#[derive(Debug, Clone, PartialEq)]
pub enum ProviderConfig {
    /// `type: S3` (boxed: it is much larger than the other variants).
    S3(Box<S3Config>),
    /// `type: FILESYSTEM`.
    Filesystem(FilesystemConfig),
}

/// `config:` of `type: FILESYSTEM`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FilesystemConfig {
    /// Root directory of the bucket.
    pub directory: String,
}

/// `config:` of `type: S3`, with Thanos' field names and defaults.
///
/// Acted on: `bucket`, `endpoint`, `region`, `access_key`, `secret_key`, `session_token`,
/// `insecure`, `aws_sdk_auth`, `bucket_lookup_type`, `put_user_metadata`, `part_size`,
/// `disable_multipart`, `max_retries`, `sse_config` (`SSE-S3` only). Accepted and ignored:
/// `signature_version2` (we always sign with v4), `http_config`, `trace`, `list_objects_version`
/// (always v2), `send_content_md5`, `disable_dualstack`, `sts_endpoint`.
#[derive(Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct S3Config {
    /// Bucket name.
    pub bucket: String,
    /// `host:port` of the S3 endpoint (a full `http(s)://` URL is also accepted).
    pub endpoint: String,
    /// Region; `us-east-1` when empty.
    pub region: String,
    /// Ignored (dual-stack endpoints are never used with a custom endpoint).
    pub disable_dualstack: bool,
    /// Use the AWS SDK's default credential chain (env, profile, web identity, IMDS).
    pub aws_sdk_auth: bool,
    /// Static access key id.
    pub access_key: String,
    /// Use plain http instead of https.
    pub insecure: bool,
    /// Ignored: requests are always signed with SigV4.
    pub signature_version2: bool,
    /// Static secret access key.
    pub secret_key: String,
    /// Optional session token for temporary credentials.
    pub session_token: String,
    /// Metadata sent with every upload; `X-Amz-Storage-Class` sets the storage class instead.
    pub put_user_metadata: BTreeMap<String, String>,
    /// Ignored: Thanos' HTTP transport settings.
    pub http_config: Option<IgnoredAny>,
    /// Ignored: request tracing.
    pub trace: TraceConfig,
    /// `v1` or `v2`; validated, but listings always use ListObjectsV2.
    pub list_objects_version: String,
    /// `auto`, `path` or `virtual-hosted`; only `virtual-hosted` turns path-style addressing off.
    pub bucket_lookup_type: String,
    /// Ignored.
    pub send_content_md5: bool,
    /// Upload every object with a single PutObject.
    pub disable_multipart: bool,
    /// Multipart part size in bytes; objects larger than this are uploaded in parts. Minimum 5 MiB.
    pub part_size: u64,
    /// Server-side encryption.
    pub sse_config: SseConfig,
    /// Ignored.
    pub sts_endpoint: String,
    /// Total attempts per request when non-zero, overriding the client's retry policy.
    pub max_retries: u32,
}

impl Default for S3Config {
    fn default() -> Self {
        Self {
            bucket: String::new(),
            endpoint: String::new(),
            region: String::new(),
            disable_dualstack: false,
            aws_sdk_auth: false,
            access_key: String::new(),
            insecure: false,
            signature_version2: false,
            secret_key: String::new(),
            session_token: String::new(),
            put_user_metadata: BTreeMap::new(),
            http_config: None,
            trace: TraceConfig::default(),
            list_objects_version: String::new(),
            bucket_lookup_type: String::new(),
            send_content_md5: false,
            disable_multipart: false,
            part_size: DEFAULT_PART_SIZE,
            sse_config: SseConfig::default(),
            sts_endpoint: String::new(),
            max_retries: 0,
        }
    }
}

impl fmt::Debug for S3Config {
    /// Shows where the bucket is, never the credentials.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Config")
            .field("bucket", &self.bucket)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("insecure", &self.insecure)
            .field("access_key", &self.access_key)
            .field("part_size", &self.part_size)
            .finish_non_exhaustive()
    }
}

/// `trace:` of the S3 config (accepted, ignored).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TraceConfig {
    /// Whether to trace requests.
    pub enable: bool,
}

/// `sse_config:` of the S3 config.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SseConfig {
    /// `SSE-S3`, `SSE-KMS` or `SSE-C`; empty for none. Only `SSE-S3` is supported so far.
    #[serde(rename = "type")]
    pub kind: String,
    /// KMS key id for `SSE-KMS`.
    pub kms_key_id: String,
    /// KMS encryption context for `SSE-KMS`.
    pub kms_encryption_context: BTreeMap<String, String>,
    /// Path of the key file for `SSE-C`.
    pub encryption_key: String,
}

/// The document shape shared by all providers; `C` is the provider's `config:` block.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Document<C> {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default = "Option::default")]
    config: Option<C>,
    #[serde(default)]
    prefix: String,
}

fn parse_yaml<T: DeserializeOwned>(yaml: &str) -> Result<T> {
    serde_saphyr::from_str(yaml).map_err(|error| {
        // Without the source snippet: the offending line may hold a secret_key.
        ObjstoreError::Config(format!("parsing objstore config: {}", error.without_snippet()))
    })
}

fn parse_document<C: DeserializeOwned + Default>(yaml: &str) -> Result<(C, String)> {
    let document: Document<C> = parse_yaml(yaml)?;
    Ok((document.config.unwrap_or_default(), document.prefix))
}

impl BucketConfig {
    /// Parses Thanos' objstore YAML.
    pub fn from_yaml(yaml: &str) -> Result<Self> {
        // First pass reads only `type:`; the second parses `config:` strictly for that type.
        let kind: Document<IgnoredAny> = parse_yaml(yaml)?;
        let (provider, prefix) = match kind.kind.to_ascii_uppercase().as_str() {
            "S3" => {
                let (config, prefix) = parse_document::<S3Config>(yaml)?;
                (ProviderConfig::S3(Box::new(config)), prefix)
            }
            "FILESYSTEM" => {
                let (config, prefix) = parse_document::<FilesystemConfig>(yaml)?;
                if config.directory.is_empty() {
                    return Err(ObjstoreError::Config(
                        "FILESYSTEM config needs a non-empty `directory`".to_owned(),
                    ));
                }
                (ProviderConfig::Filesystem(config), prefix)
            }
            other => {
                return Err(ObjstoreError::Config(format!(
                    "unsupported objstore type {other:?}; supported: S3, FILESYSTEM"
                )));
            }
        };
        Ok(Self { provider, prefix })
    }

    /// Builds the bucket with default S3 client options.
    pub fn build(&self) -> Result<Arc<dyn Bucket>> {
        self.build_with(&S3ClientOptions::default())
    }

    /// Builds the bucket, using `s3_options` if it is an S3 bucket.
    pub fn build_with(&self, s3_options: &S3ClientOptions) -> Result<Arc<dyn Bucket>> {
        let bucket: Arc<dyn Bucket> = match &self.provider {
            ProviderConfig::S3(config) => Arc::new(S3Bucket::new(config, s3_options.clone())?),
            ProviderConfig::Filesystem(config) => Arc::new(FilesystemBucket::new(&config.directory)?),
        };
        if self.prefix.trim_matches('/').is_empty() {
            return Ok(bucket);
        }
        Ok(Arc::new(PrefixedBucket::new(bucket, &self.prefix)?))
    }
}

/// Parses Thanos' objstore YAML and builds the bucket it describes.
pub fn bucket_from_config_yaml(yaml: &str) -> Result<Arc<dyn Bucket>> {
    BucketConfig::from_yaml(yaml)?.build()
}

/// Reads Thanos' objstore YAML from a file (`--objstore.config-file`) and builds the bucket.
pub fn bucket_from_config_yaml_file(path: &Path) -> Result<Arc<dyn Bucket>> {
    let yaml = std::fs::read_to_string(path)
        .map_err(|error| ObjstoreError::Config(format!("reading {}: {error}", path.display())))?;
    bucket_from_config_yaml(&yaml)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_error(yaml: &str) -> String {
        match BucketConfig::from_yaml(yaml) {
            Err(ObjstoreError::Config(message)) => message,
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    #[test]
    fn parses_a_full_s3_config() {
        let yaml = r#"
type: s3
config:
  bucket: thanos
  endpoint: 127.0.0.1:9000
  region: eu-west-1
  access_key: AK
  secret_key: SK
  insecure: true
  signature_version2: false
  put_user_metadata:
    X-Amz-Storage-Class: STANDARD_IA
  http_config:
    idle_conn_timeout: 1m30s
    insecure_skip_verify: false
  trace:
    enable: true
  list_objects_version: v2
  bucket_lookup_type: path
  part_size: 5242880
  sse_config:
    type: SSE-S3
  max_retries: 3
  disable_dualstack: true
  aws_sdk_auth: false
  send_content_md5: true
prefix: tenant-a
"#;
        let config = BucketConfig::from_yaml(yaml).expect("valid config");
        assert_eq!(config.prefix, "tenant-a");
        let ProviderConfig::S3(s3) = config.provider else {
            panic!("expected S3, got {:?}", config.provider);
        };
        assert_eq!(s3.bucket, "thanos");
        assert_eq!(s3.endpoint, "127.0.0.1:9000");
        assert_eq!(s3.region, "eu-west-1");
        assert!(s3.insecure);
        assert!(s3.trace.enable);
        assert_eq!(s3.part_size, 5 * 1024 * 1024);
        assert_eq!(s3.sse_config.kind, "SSE-S3");
        assert_eq!(s3.max_retries, 3);
        assert_eq!(s3.put_user_metadata["X-Amz-Storage-Class"], "STANDARD_IA");
        assert!(!format!("{s3:?}").contains("SK"), "Debug must not print the secret");
    }

    #[test]
    fn s3_defaults_match_thanos() {
        let config = BucketConfig::from_yaml("type: S3\nconfig:\n  bucket: b\n  endpoint: h:1\n")
            .expect("valid config");
        let ProviderConfig::S3(s3) = config.provider else {
            panic!("expected S3");
        };
        assert_eq!(s3.part_size, 64 * 1024 * 1024);
        assert!(!s3.insecure);
        assert_eq!(config.prefix, "");
    }

    #[test]
    fn parses_filesystem_in_any_case() {
        for kind in ["FILESYSTEM", "filesystem", "FileSystem"] {
            let yaml = format!("type: {kind}\nconfig:\n  directory: /data/bucket\n");
            let config = BucketConfig::from_yaml(&yaml).expect("valid config");
            assert_eq!(
                config.provider,
                ProviderConfig::Filesystem(FilesystemConfig { directory: "/data/bucket".to_owned() })
            );
        }
    }

    #[test]
    fn unknown_keys_are_named_in_the_error() {
        let message = config_error("type: S3\nconfig:\n  bucket: b\n  endpiont: h:1\n");
        assert!(message.contains("endpiont"), "{message}");
        let message = config_error("type: FILESYSTEM\nconfig:\n  directory: /d\n  dir: /e\n");
        assert!(message.contains("dir"), "{message}");
        let message = config_error("type: FILESYSTEM\nconfig:\n  directory: /d\nprefx: x\n");
        assert!(message.contains("prefx"), "{message}");
        let message = config_error("type: S3\nconfig:\n  sse_config:\n    kind: x\n");
        assert!(message.contains("kind"), "{message}");
    }

    #[test]
    fn errors_never_echo_the_secret() {
        let message = config_error("type: S3\nconfig:\n  secret_key: [hunter2]\n");
        assert!(message.contains("line 3"), "{message}");
        assert!(!message.contains("hunter2"), "{message}");
    }

    #[test]
    fn bad_documents_are_config_errors() {
        assert!(config_error("type: GCS\nconfig: {}\n").contains("GCS"));
        assert!(config_error("config:\n  directory: /d\n").contains("type"));
        assert!(config_error("type: FILESYSTEM\n").contains("directory"));
        config_error("type: S3\nconfig:\n  part_size: lots\n");
        config_error(": not yaml : [");
    }

    #[tokio::test]
    async fn prefix_wraps_the_built_bucket() {
        let dir = tempfile::tempdir().expect("tempdir");
        let yaml =
            format!("type: FILESYSTEM\nconfig:\n  directory: {}\nprefix: /p/q/\n", dir.path().display());
        let bucket = bucket_from_config_yaml(&yaml).expect("bucket");
        bucket.put("k", bytes::Bytes::from_static(b"v")).await.expect("put");
        assert!(dir.path().join("p/q/k").is_file());
        assert_eq!(bucket.list("", true).await.expect("list"), ["k"]);
    }

    #[test]
    fn reads_the_config_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("objstore.yml");
        let yaml = format!("type: FILESYSTEM\nconfig:\n  directory: {}\n", dir.path().join("b").display());
        std::fs::write(&path, yaml).expect("write config");
        let bucket = bucket_from_config_yaml_file(&path).expect("bucket");
        assert_eq!(bucket.name(), "fs");
        let missing = bucket_from_config_yaml_file(&dir.path().join("nope.yml")).expect_err("missing");
        assert!(matches!(missing, ObjstoreError::Config(_)), "{missing}");
    }
}
