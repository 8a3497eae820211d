//! `thanos-tools bucket …`: Thanos' `thanos tools bucket` commands over any objstore bucket.
//!
//! Every subcommand takes the bucket from `--objstore.config-file=<path>` or
//! `--objstore.config=<yaml>` (exactly one), as Thanos does.

mod inspect;
mod ls;
mod table;
mod upload;
mod verify;

use crate::go_format;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use objstore::Bucket;
use tsdb_format::Labels;

/// Flags shared by every bucket command, and the command itself.
#[derive(Debug, Args)]
pub(crate) struct BucketArgs {
    /// Path to a YAML file that contains the object store configuration (Thanos' objstore YAML).
    #[arg(long = "objstore.config-file", global = true, value_name = "PATH")]
    objstore_config_file: Option<PathBuf>,
    /// Object store configuration in YAML, instead of a file.
    #[arg(long = "objstore.config", global = true, value_name = "YAML")]
    objstore_config: Option<String>,
    #[command(subcommand)]
    command: BucketCommand,
}

#[derive(Debug, Subcommand)]
enum BucketCommand {
    /// List all blocks in the bucket.
    Ls(ls::LsArgs),
    /// Inspect all blocks in the bucket in a detailed, table-like way.
    Inspect(inspect::InspectArgs),
    /// Verify all blocks in the bucket: meta.json, index health, chunk checksums, stats, overlaps.
    Verify(verify::VerifyArgs),
    /// Upload one block directory, or every block of a TSDB directory, to the bucket.
    Upload(upload::UploadArgs),
    /// Thanos' spelling of `upload`: upload every block under `--path`.
    #[command(name = "upload-blocks")]
    UploadBlocks(upload::UploadBlocksArgs),
}

/// Runs a bucket command on a fresh tokio runtime.
pub(crate) fn run(args: BucketArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("start the async runtime")?;
    runtime.block_on(async move {
        // Upload checks its labels before touching the bucket, as Thanos does.
        if let BucketCommand::Upload(upload::UploadArgs { options, .. })
        | BucketCommand::UploadBlocks(upload::UploadBlocksArgs { options, .. }) = &args.command
        {
            options.check_labels()?;
        }
        let bucket = open_bucket(&args)?;
        match args.command {
            BucketCommand::Ls(ls_args) => ls::run(bucket.as_ref(), ls_args).await,
            BucketCommand::Inspect(inspect_args) => inspect::run(bucket.as_ref(), inspect_args).await,
            BucketCommand::Verify(verify_args) => verify::run(bucket.as_ref(), verify_args).await,
            BucketCommand::Upload(upload_args) => upload::run(bucket.as_ref(), upload_args).await,
            BucketCommand::UploadBlocks(upload_args) => {
                upload::run(bucket.as_ref(), upload_args.into()).await
            }
        }
    })
}

/// Builds the bucket from exactly one of the two objstore flags.
fn open_bucket(args: &BucketArgs) -> anyhow::Result<Arc<dyn Bucket>> {
    match (&args.objstore_config_file, &args.objstore_config) {
        (Some(_), Some(_)) => bail!("both file and content are set for flag objstore.config"),
        (Some(path), None) => objstore::bucket_from_config_yaml_file(path)
            .with_context(|| format!("objstore config from {}", path.display())),
        (None, Some(yaml)) if !yaml.trim().is_empty() => {
            objstore::bucket_from_config_yaml(yaml).context("objstore config from --objstore.config")
        }
        _ => bail!(
            "flag objstore.config-file or objstore.config is required for running this command and content cannot be empty."
        ),
    }
}

/// Parses `name=value` flags (Thanos' `parseFlagLabels`). Thanos wants the value Go-quoted
/// (`cluster="eu"`); a bare value (`cluster=eu`) is accepted too.
fn parse_flag_labels(flags: &[String]) -> anyhow::Result<Labels> {
    let mut pairs = Vec::with_capacity(flags.len());
    for flag in flags {
        let Some((name, raw_value)) = flag.split_once('=') else {
            bail!("unrecognized label {flag:?}");
        };
        if name.is_empty() {
            bail!("unsupported format for label {flag}");
        }
        let value = if raw_value.starts_with('"') {
            go_format::unquote(raw_value).with_context(|| format!("unquote label value {raw_value}"))?
        } else {
            raw_value.to_string()
        };
        pairs.push((name.to_string(), value));
    }
    Ok(Labels::from_pairs(pairs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_labels_quoted_or_bare() {
        let flags = vec!["b=\"x y\"".to_string(), "a=1".to_string()];
        let labels = parse_flag_labels(&flags).unwrap();
        assert_eq!(labels.to_string(), r#"{a="1", b="x y"}"#);
        assert!(parse_flag_labels(&["nope".to_string()]).is_err());
        assert!(parse_flag_labels(&["=v".to_string()]).is_err());
        assert!(parse_flag_labels(&["a=\"open".to_string()]).is_err());
    }
}
