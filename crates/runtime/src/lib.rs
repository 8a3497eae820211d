//! What every thanos-rs binary shares: configuration, logging, metrics, HTTP and gRPC serving,
//! readiness and graceful shutdown.
//!
//! A binary's `main` wires them in this order:
//!
//! ```no_run
//! use runtime::config::CommonFlags;
//!
//! #[derive(clap::Parser, serde::Serialize, serde::Deserialize)]
//! struct StoreConfig {
//!     #[command(flatten)]
//!     #[serde(flatten)]
//!     common: CommonFlags,
//! }
//!
//! #[tokio::main]
//! async fn main() -> anyhow::Result<()> {
//!     let config: StoreConfig = runtime::config::load()?;
//!     runtime::logging::init(config.common.log_level, config.common.log_format)?;
//!     let metrics = runtime::metrics::install(&runtime::metrics::MetricsOptions::default())?;
//!     let shutdown = runtime::shutdown::on_signals()?;
//!     let readiness = runtime::Readiness::new();
//!
//!     let http = runtime::http::HttpServer::bind(
//!         config.common.http_address,
//!         config.common.http_grace_period.as_duration(),
//!     )
//!     .await?;
//!     let http_task = tokio::spawn(http.serve(
//!         axum::Router::new(), // the binary's own routes
//!         metrics.clone(),
//!         readiness.clone(),
//!         shutdown.clone(),
//!     ));
//!
//!     // ... open the bucket, start the gRPC server, then:
//!     readiness.set_ready(true);
//!     http_task.await??;
//!     Ok(())
//! }
//! ```

pub mod config;
pub mod duration;
mod error;
pub mod grpc;
pub mod http;
pub mod logging;
pub mod metrics;
mod readiness;
pub mod shutdown;

pub use crate::error::{ConfigError, RuntimeError};
pub use crate::readiness::Readiness;
