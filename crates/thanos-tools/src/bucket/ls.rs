//! `bucket ls`: one line per complete block, as Thanos prints them.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, bail};
use block::markers::{DeletionMark, read_marker};
use clap::Args;
use objstore::Bucket;
use tsdb_format::meta::BlockMeta;

use crate::go_format;

/// Flags of `bucket ls`.
#[derive(Debug, Args)]
pub(super) struct LsArgs {
    /// Output format: "" (ULIDs only), "wide" or "json".
    #[arg(short = 'o', long = "output", default_value = "")]
    output: String,
    /// Exclude blocks marked for deletion.
    #[arg(long = "exclude-delete")]
    exclude_delete: bool,
}

pub(super) async fn run(bucket: &dyn Bucket, args: LsArgs) -> anyhow::Result<ExitCode> {
    if !matches!(args.output.as_str(), "" | "wide" | "json") {
        bail!(
            "unsupported output format {:?}: Go templates are not supported; use \"\", \"wide\" or \"json\"",
            args.output
        );
    }
    let fetched = block::fetch_metas(bucket).await.context("fetch metas")?;
    let mut stdout = std::io::stdout().lock();
    let mut printed = 0;
    for (id, meta) in &fetched.metas {
        if args.exclude_delete && read_marker::<DeletionMark>(bucket, *id).await?.is_some() {
            continue;
        }
        let line = match args.output.as_str() {
            "wide" => wide_line(meta),
            "json" => json_entry(meta),
            _ => format!("{id}\n"),
        };
        stdout.write_all(line.as_bytes())?;
        printed += 1;
    }
    stdout.flush()?;
    eprintln!("level=info msg=\"ls done\" objects={printed}");
    Ok(ExitCode::SUCCESS)
}

/// `<ULID> -- <from> - <until> Diff: <range>, Compaction: <level>, Downsample: <res>, Source: <src>`,
/// times truncated to seconds as Thanos does.
fn wide_line(meta: &BlockMeta) -> String {
    let (min_secs, max_secs) = (meta.min_time / 1000, meta.max_time / 1000);
    let (resolution, source) =
        meta.thanos.as_ref().map_or((0, ""), |t| (t.downsample.resolution, t.source.as_str()));
    format!(
        "{} -- {} - {} Diff: {}, Compaction: {}, Downsample: {}, Source: {}\n",
        meta.ulid,
        block::format_rfc3339_seconds(min_secs),
        block::format_rfc3339_seconds(max_secs),
        go_format::duration_ms((max_secs - min_secs) * 1000),
        meta.compaction.level,
        resolution,
        source
    )
}

/// The meta as Go's JSON encoder with a tab indent writes Thanos' `metadata.Meta`, whose
/// `thanos` section is always present.
fn json_entry(meta: &BlockMeta) -> String {
    let mut full = meta.clone();
    full.thanos.get_or_insert_with(Default::default);
    String::from_utf8_lossy(&full.to_json()).into_owned()
}

#[cfg(test)]
mod tests {
    use tsdb_format::meta::BlockStats;

    use super::*;

    #[test]
    fn wide_line_like_thanos() {
        let id = ulid::Ulid::from_string("01HMX4T4V4B2Y2Q9X8Y7W6V5T4").unwrap();
        let meta = BlockMeta::new_level1(id, 1_704_067_200_000, 1_704_074_370_001, BlockStats::default());
        assert_eq!(
            wide_line(&meta),
            "01HMX4T4V4B2Y2Q9X8Y7W6V5T4 -- 2024-01-01T00:00:00Z - 2024-01-01T01:59:30Z Diff: 1h59m30s, \
             Compaction: 1, Downsample: 0, Source: \n"
        );
        assert!(json_entry(&meta).ends_with("}\n"));
    }
}
