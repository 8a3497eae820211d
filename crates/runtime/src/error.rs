//! The errors of this crate: one enum for configuration, one for everything that serves or
//! installs process-wide state.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Why a configuration could not be loaded. Every variant names the key and where it came from.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The command line did not parse (also `--help` and `--version`, which clap renders).
    #[error(transparent)]
    Flags(#[from] clap::Error),

    /// The `--config-file` could not be read.
    #[error("cannot read config file {path}: {source}")]
    ReadFile {
        /// The file given with `--config-file` or `THANOS_CONFIG_FILE`.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },

    /// The `--config-file` is not YAML, or not a map at its top.
    #[error("config file {path} is not valid YAML: {reason}")]
    ParseFile {
        /// The file.
        path: PathBuf,
        /// The parser's message, with line and column.
        reason: String,
    },

    /// A key that no flag of this binary has.
    #[error("unknown key `{key}` in {source_name}")]
    UnknownKey {
        /// The key as written.
        key: String,
        /// Where it was written: `config file /etc/thanos.yaml`.
        source_name: String,
    },

    /// A known key whose value has the wrong type or form.
    #[error("invalid value for `{key}` from {source_name}: {reason}")]
    InvalidValue {
        /// The key, as its source spells it (`THANOS_HTTP_ADDRESS`, `--http-address`, `http_address`).
        key: String,
        /// The layer it came from: defaults, the config file, the environment, the command line.
        source_name: String,
        /// What was wrong with it.
        reason: String,
    },

    /// The config type does not serialize to a map of flags (a derive mistake, not a user error).
    #[error("config type does not serialize to a map of flag values: {reason}")]
    NotAStruct {
        /// What serialization produced or failed with.
        reason: String,
    },
}

/// Errors of logging, metrics and the HTTP and gRPC servers.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// A listener could not be bound (address in use, permission denied).
    #[error("cannot listen on {address} for {server}: {source}")]
    Bind {
        /// `http` or `grpc`.
        server: &'static str,
        /// The address from `--http-address` or `--grpc-address`.
        address: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },

    /// A server stopped with an error while serving.
    #[error("{server} server failed: {reason}")]
    Serve {
        /// `http` or `grpc`.
        server: &'static str,
        /// The server's error.
        reason: String,
    },

    /// The global tracing subscriber was already set by someone else.
    #[error("cannot install the logger: {reason}")]
    Logging {
        /// tracing-subscriber's message.
        reason: String,
    },

    /// The Prometheus recorder could not be built or installed.
    #[error("cannot install the metrics recorder: {reason}")]
    Metrics {
        /// metrics-exporter-prometheus' message.
        reason: String,
    },

    /// The operating system's signal handlers could not be registered.
    #[error("cannot listen for {signal}: {source}")]
    Signal {
        /// `SIGTERM` or `SIGINT`.
        signal: &'static str,
        /// The I/O error.
        source: std::io::Error,
    },
}
