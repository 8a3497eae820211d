//! `thanos-tools`: the Thanos and promtool operator commands people rely on, over our formats.

mod bucket;
mod go_format;
mod tsdb;

use clap::{Parser, Subcommand};

/// Operator tools for thanos-rs: inspect and repair buckets, dump and create TSDB blocks.
#[derive(Debug, Parser)]
#[command(name = "thanos-tools", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Commands over a bucket of blocks (Thanos' `thanos tools bucket`).
    Bucket(bucket::BucketArgs),
    /// Commands over a local TSDB directory (promtool's `promtool tsdb`).
    Tsdb(tsdb::TsdbArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Bucket(args) => bucket::run(args),
        Command::Tsdb(args) => tsdb::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
