//! `thanos-tools tsdb …`: promtool's TSDB commands over our block reader and writer.

mod create_blocks;
mod dump;
mod openmetrics;
mod selector;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

/// Arguments of `thanos-tools tsdb`.
#[derive(Debug, Args)]
pub(crate) struct TsdbArgs {
    #[command(subcommand)]
    command: TsdbCommand,
}

#[derive(Debug, Subcommand)]
enum TsdbCommand {
    /// Dump samples from a TSDB directory, in `promtool tsdb dump`'s format and order.
    Dump {
        /// Database path.
        #[arg(default_value = "data/")]
        db_path: PathBuf,
        /// Minimum timestamp to dump (ms).
        #[arg(long = "min-time", default_value_t = i64::MIN, allow_hyphen_values = true)]
        min_time: i64,
        /// Maximum timestamp to dump (ms).
        #[arg(long = "max-time", default_value_t = i64::MAX, allow_hyphen_values = true)]
        max_time: i64,
        /// Series selector.
        #[arg(long = "match", default_value = "{__name__=~'(?s:.*)'}")]
        selector: String,
    },
    /// Import samples from input and produce TSDB blocks.
    #[command(name = "create-blocks-from")]
    CreateBlocksFrom {
        #[command(subcommand)]
        source: CreateBlocksSource,
    },
}

#[derive(Debug, Subcommand)]
enum CreateBlocksSource {
    /// Import samples from an OpenMetrics text file (timestamps in seconds, ending in `# EOF`).
    Openmetrics {
        /// OpenMetrics file to read.
        input: PathBuf,
        /// Output directory for the blocks.
        #[arg(default_value = "data/")]
        output: PathBuf,
        /// Maximum duration of created blocks (e.g. 2h, 24h); rounded down to a Prometheus block range.
        #[arg(long = "max-block-duration", value_parser = parse_duration_ms, default_value = "0s")]
        max_block_duration: i64,
        /// Do not print the created blocks.
        #[arg(short, long)]
        quiet: bool,
    },
}

/// Runs a `tsdb` subcommand.
pub(crate) fn run(args: TsdbArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        TsdbCommand::Dump { db_path, min_time, max_time, selector } => {
            dump::run(&db_path, min_time, max_time, &selector)?;
        }
        TsdbCommand::CreateBlocksFrom {
            source: CreateBlocksSource::Openmetrics { input, output, max_block_duration, quiet },
        } => {
            create_blocks::run(&input, &output, max_block_duration, quiet)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Parses a Prometheus duration (`90s`, `2h`, `1d`, `1h30m`) into milliseconds.
fn parse_duration_ms(s: &str) -> Result<i64, String> {
    let mut total: i64 = 0;
    let mut rest = s;
    if rest.is_empty() {
        return Err("empty duration".into());
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        if digits == 0 {
            return Err(format!("invalid duration {s:?}"));
        }
        let n: i64 = rest[..digits].parse().map_err(|_| format!("invalid duration {s:?}"))?;
        rest = &rest[digits..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        let unit_ms = match &rest[..unit_len] {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 7 * 86_400_000,
            "y" => 365 * 86_400_000,
            other => return Err(format!("invalid unit {other:?} in duration {s:?}")),
        };
        total = n.checked_mul(unit_ms).and_then(|ms| total.checked_add(ms)).ok_or("duration overflows")?;
        rest = &rest[unit_len..];
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::parse_duration_ms;

    #[test]
    fn durations() {
        assert_eq!(parse_duration_ms("2h"), Ok(7_200_000));
        assert_eq!(parse_duration_ms("1h30m"), Ok(5_400_000));
        assert_eq!(parse_duration_ms("0s"), Ok(0));
        assert!(parse_duration_ms("2x").is_err());
        assert!(parse_duration_ms("h").is_err());
    }
}
