//! Flag groups every binary shares, spelled as Thanos spells them.
//!
//! A binary flattens them into its own config struct with both clap and serde:
//!
//! ```
//! #[derive(clap::Parser, serde::Serialize, serde::Deserialize)]
//! struct StoreConfig {
//!     #[command(flatten)]
//!     #[serde(flatten)]
//!     common: runtime::config::CommonFlags,
//!     #[command(flatten)]
//!     #[serde(flatten)]
//!     objstore: runtime::config::ObjstoreFlags,
//! }
//! ```
//!
//! Keys in the config file and `THANOS_*` variables are the Rust field names (`http_address`,
//! `THANOS_HTTP_ADDRESS`); a config file may also use the flag name (`http-address`, `log.level`).

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::duration::PromDuration;

/// Flags of every component: logging, listen addresses, grace periods, the config file.
#[derive(Debug, Clone, PartialEq, clap::Args, Serialize, Deserialize)]
pub struct CommonFlags {
    /// Log filtering level.
    #[arg(long = "log.level", value_enum, default_value_t = LogLevel::Info)]
    pub log_level: LogLevel,

    /// Log format to use.
    #[arg(long = "log.format", value_enum, default_value_t = LogFormat::Logfmt)]
    pub log_format: LogFormat,

    /// Listen host:port for HTTP endpoints.
    #[arg(long = "http-address", value_name = "ADDRESS", default_value = "0.0.0.0:10902", value_parser = parse_listen_address)]
    #[serde(with = "listen_address")]
    pub http_address: SocketAddr,

    /// Listen ip:port address for gRPC endpoints (StoreAPI).
    #[arg(long = "grpc-address", value_name = "ADDRESS", default_value = "0.0.0.0:10901", value_parser = parse_listen_address)]
    #[serde(with = "listen_address")]
    pub grpc_address: SocketAddr,

    /// Time to wait after an interrupt received for the HTTP server.
    #[arg(long = "http-grace-period", value_name = "DURATION", default_value = "2m")]
    pub http_grace_period: PromDuration,

    /// Time to wait after an interrupt received for the gRPC server.
    #[arg(long = "grpc-grace-period", value_name = "DURATION", default_value = "2m")]
    pub grpc_grace_period: PromDuration,

    /// YAML file with values for any of these flags, keyed by field name; flags and THANOS_*
    /// environment variables override it.
    #[arg(long = "config-file", value_name = "PATH")]
    pub config_file: Option<PathBuf>,
}

/// Thanos' object storage flags: where the bucket's YAML configuration comes from.
#[derive(Debug, Clone, Default, PartialEq, Eq, clap::Args, Serialize, Deserialize)]
pub struct ObjstoreFlags {
    /// Path to YAML file that contains object store configuration.
    #[arg(long = "objstore.config-file", value_name = "PATH", conflicts_with = "objstore_config")]
    pub objstore_config_file: Option<PathBuf>,

    /// Alternative to 'objstore.config-file' flag: object store configuration in YAML.
    #[arg(long = "objstore.config", value_name = "YAML")]
    pub objstore_config: Option<String>,
}

impl ObjstoreFlags {
    /// The objstore YAML: the inline `--objstore.config`, else the file's contents, else `None`.
    pub fn content(&self) -> std::io::Result<Option<String>> {
        if let Some(inline) = &self.objstore_config {
            return Ok(Some(inline.clone()));
        }
        match &self.objstore_config_file {
            Some(path) => std::fs::read_to_string(path).map(Some),
            None => Ok(None),
        }
    }
}

/// `--log.level`: the least severe level that is logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// Everything, including debug detail.
    Debug,
    /// Info, warnings and errors (the default).
    Info,
    /// Warnings and errors.
    Warn,
    /// Errors only.
    Error,
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Debug => "debug",
            Self::Info => "info",
            Self::Warn => "warn",
            Self::Error => "error",
        })
    }
}

/// `--log.format`: how log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// `ts=… caller=… level=info msg="…"`, as go-kit's logfmt logger (the default).
    Logfmt,
    /// One JSON object a line, with the same keys.
    Json,
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Logfmt => "logfmt",
            Self::Json => "json",
        })
    }
}

/// Parses a listen address as Go's `net.Listen` does for numeric hosts: `ip:port`, `[v6]:port`,
/// or `:port` for every interface.
pub fn parse_listen_address(text: &str) -> Result<SocketAddr, String> {
    if let Some(port) = text.strip_prefix(':') {
        let port: u16 = port.parse().map_err(|_| format!("invalid port in listen address {text:?}"))?;
        return Ok(SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port)));
    }
    text.parse().map_err(|_| format!("invalid listen address {text:?}: expected ip:port"))
}

/// Serde for listen addresses: written as `ip:port`, read with [`parse_listen_address`].
mod listen_address {
    use std::net::SocketAddr;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(address: &SocketAddr, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(address)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<SocketAddr, D::Error> {
        let text = String::deserialize(deserializer)?;
        super::parse_listen_address(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_address_forms() {
        assert_eq!(parse_listen_address(":10902"), Ok("0.0.0.0:10902".parse().expect("literal")));
        assert_eq!(parse_listen_address("[::]:10901"), Ok("[::]:10901".parse().expect("literal")));
        assert!(parse_listen_address("localhost").is_err());
        assert!(parse_listen_address(":http").is_err());
    }
}
