//! `bucket inspect`: Thanos' table of every block, sorted by `--sort-by` (default FROM, UNTIL).

use std::cmp::Ordering;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use objstore::Bucket;
use tsdb_format::Labels;
use tsdb_format::meta::{BlockMeta, RESOLUTION_5M, RESOLUTION_RAW};

use super::table::Table;
use crate::go_format;

/// Thanos' inspect columns, in order.
const COLUMNS: [&str; 13] = [
    "ULID",
    "FROM",
    "UNTIL",
    "RANGE",
    "UNTIL-DOWN",
    "#SERIES",
    "#SAMPLES",
    "#CHUNKS",
    "COMP-LEVEL",
    "COMP-FAILED",
    "LABELS",
    "RESOLUTION",
    "SOURCE",
];

/// Raw blocks are downsampled to 5m once they span 40h (Thanos' `ResLevel1DownsampleRange`).
const RAW_DOWNSAMPLE_RANGE_MS: i64 = 40 * 60 * 60 * 1000;
/// 5m blocks are downsampled to 1h once they span 10 days (`ResLevel2DownsampleRange`).
const FIVE_MIN_DOWNSAMPLE_RANGE_MS: i64 = 10 * 24 * 60 * 60 * 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum OutputFormat {
    Table,
    Csv,
    Tsv,
}

/// Flags of `bucket inspect`.
#[derive(Debug, Args)]
pub(super) struct InspectArgs {
    /// Selects blocks whose external labels include every `name="value"` given (repeated).
    #[arg(short = 'l', long = "selector", value_name = "NAME=\"VALUE\"")]
    selector: Vec<String>,
    /// Sort by these columns, in order (repeated); ties fall back to the ULID.
    #[arg(long = "sort-by", value_parser = COLUMNS, default_values_t = ["FROM".to_string(), "UNTIL".to_string()])]
    sort_by: Vec<String>,
    /// Output format.
    #[arg(long = "output", value_enum, default_value = "table")]
    output: OutputFormat,
}

pub(super) async fn run(bucket: &dyn Bucket, args: InspectArgs) -> anyhow::Result<ExitCode> {
    let selector = super::parse_flag_labels(&args.selector).context("error parsing selector flag")?;
    let fetched = block::fetch_metas(bucket).await.context("fetch metas")?;
    let metas: Vec<&BlockMeta> = fetched.metas.values().collect();
    let table = build_table(&metas, &selector, &args.sort_by)?;
    let text = match args.output {
        OutputFormat::Table => table.render_text(),
        OutputFormat::Csv => table.render_separated(','),
        OutputFormat::Tsv => table.render_separated('\t'),
    };
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}

/// One row per block matching `selector`, sorted as Thanos sorts them.
fn build_table(metas: &[&BlockMeta], selector: &Labels, sort_by: &[String]) -> anyhow::Result<Table> {
    let mut sort_columns = Vec::with_capacity(sort_by.len());
    for name in sort_by {
        let Some(index) = COLUMNS.iter().position(|c| c == name) else {
            bail!("column {name} not found");
        };
        sort_columns.push(index);
    }
    let mut rows: Vec<Vec<String>> =
        metas.iter().filter(|m| matches_selector(m, selector)).map(|m| row(m)).collect();
    rows.sort_by(|a, b| compare_rows(a, b, &sort_columns));
    Ok(Table { header: COLUMNS.iter().map(|c| c.to_string()).collect(), rows })
}

fn matches_selector(meta: &BlockMeta, selector: &Labels) -> bool {
    selector.iter().all(|want| {
        meta.thanos.as_ref().and_then(|t| t.labels.get(&want.name)).is_some_and(|value| *value == want.value)
    })
}

fn row(meta: &BlockMeta) -> Vec<String> {
    let range_ms = meta.max_time - meta.min_time;
    let thanos = meta.thanos.clone().unwrap_or_default();
    let labels: Vec<String> = thanos.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let until_down = match thanos.downsample.resolution {
        RESOLUTION_RAW => go_format::duration_ms(RAW_DOWNSAMPLE_RANGE_MS - range_ms),
        RESOLUTION_5M => go_format::duration_ms(FIVE_MIN_DOWNSAMPLE_RANGE_MS - range_ms),
        // 1h is the last resolution; Thanos panics on unknown ones, we print "-".
        _ => "-".to_string(),
    };
    vec![
        meta.ulid.to_string(),
        block::format_rfc3339_seconds(meta.min_time / 1000),
        block::format_rfc3339_seconds(meta.max_time / 1000),
        go_format::duration_ms(range_ms),
        until_down,
        go_format::grouped(meta.stats.num_series as i64),
        go_format::grouped(meta.stats.num_samples as i64),
        go_format::grouped(meta.stats.num_chunks as i64),
        go_format::grouped(i64::from(meta.compaction.level)),
        meta.compaction.failed.to_string(),
        labels.join(","),
        go_format::duration_ms(thanos.downsample.resolution),
        thanos.source,
    ]
}

/// Thanos' `Table.Less`: the sort columns in turn, then the ULID.
fn compare_rows(a: &[String], b: &[String], sort_columns: &[usize]) -> Ordering {
    for &column in sort_columns {
        if a[column] == b[column] {
            continue;
        }
        return compare_cells(&a[column], &b[column]);
    }
    compare_cells(&a[0], &b[0])
}

/// Thanos' `compare`, made a total order: both times, else both durations, else both
/// comma-grouped integers, else text.
fn compare_cells(a: &str, b: &str) -> Ordering {
    if go_format::is_rfc3339_utc(a) && go_format::is_rfc3339_utc(b) {
        return a.cmp(b);
    }
    if let (Some(x), Some(y)) = (go_format::parse_duration(a), go_format::parse_duration(b)) {
        return x.partial_cmp(&y).unwrap_or(Ordering::Equal);
    }
    let as_int = |s: &str| s.replace(',', "").parse::<u64>().ok();
    if let (Some(x), Some(y)) = (as_int(a), as_int(b)) {
        return x.cmp(&y);
    }
    a.cmp(b)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use tsdb_format::meta::{BlockStats, ThanosMeta};
    use ulid::Ulid;

    use super::*;

    fn meta(id: &str, min: i64, max: i64, series: u64, labels: &[(&str, &str)]) -> BlockMeta {
        let stats = BlockStats {
            num_series: series,
            num_samples: series * 1000,
            num_chunks: series * 2,
            ..Default::default()
        };
        let mut meta = BlockMeta::new_level1(Ulid::from_string(id).unwrap(), min, max, stats);
        meta.thanos = Some(ThanosMeta {
            labels: labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<BTreeMap<_, _>>(),
            source: "bucket.upload".into(),
            ..ThanosMeta::default()
        });
        meta
    }

    #[test]
    fn rows_and_sorting_like_thanos() {
        let a = meta(
            "01HMX4T4V4B2Y2Q9X8Y7W6V5T4",
            1_704_074_400_000,
            1_704_081_600_000,
            1234,
            &[("b", "2"), ("a", "1")],
        );
        let b = meta("01HMX4T4V4B2Y2Q9X8Y7W6V5T5", 1_704_067_200_000, 1_704_074_400_000, 50, &[("a", "2")]);
        let table = build_table(&[&a, &b], &Labels::default(), &["FROM".into(), "UNTIL".into()]).unwrap();
        assert_eq!(table.rows[0][0], b.ulid.to_string());
        assert_eq!(
            table.rows[1],
            vec![
                "01HMX4T4V4B2Y2Q9X8Y7W6V5T4",
                "2024-01-01T02:00:00Z",
                "2024-01-01T04:00:00Z",
                "2h0m0s",
                "38h0m0s",
                "1,234",
                "1,234,000",
                "2,468",
                "1",
                "false",
                "a=1,b=2",
                "0s",
                "bucket.upload"
            ]
        );
        let by_series = build_table(&[&a, &b], &Labels::default(), &["#SERIES".into()]).unwrap();
        assert_eq!(by_series.rows[0][5], "50", "numeric, not text, order");
        let selected = build_table(&[&a, &b], &Labels::from_pairs([("a", "1")]), &[]).unwrap();
        assert_eq!(selected.rows.len(), 1);
        assert!(build_table(&[&a], &Labels::default(), &["NOPE".into()]).is_err());
    }
}
