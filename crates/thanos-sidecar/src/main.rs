//! `thanos-sidecar`: runs beside one Prometheus. Serves its data over Thanos' StoreAPI through
//! remote read, and (with a bucket configured) ships its finished blocks to the bucket.
//!
//! ```text
//! Prometheus ◄─ buildinfo, /metrics, status/config|flags (heartbeat) ─ PromMetadata
//!     ▲  ◄──── POST /api/v1/read, /api/v1/series|labels ──── PrometheusStore ◄── gRPC ── querier
//!     └─ TSDB dir ──► Shipper (every 30s) ──► bucket
//! ```

mod config;
mod metadata;
mod ordering;
mod promclient;
mod service;
mod shard;
mod store;
mod upload;

use std::sync::Arc;

use anyhow::Context;
use block::{HashFunc, Shipper, ShipperConfig, ThanosTime};
use runtime::Readiness;
use runtime::grpc::GrpcServer;
use runtime::http::HttpServer;
use storeapi::remote_read::RemoteReadClient;

use crate::config::SidecarConfig;
use crate::metadata::{HeartbeatOptions, PROMETHEUS_UP, PromMetadata, UploadChecks};
use crate::promclient::PromClient;
use crate::service::SidecarService;
use crate::store::PrometheusStore;

/// User-Agent of requests to Prometheus (Thanos' `clientconfig.ThanosUserAgent`).
const USER_AGENT: &str = concat!("Thanos/", env!("CARGO_PKG_VERSION"));

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config: SidecarConfig = runtime::config::load()?;
    runtime::logging::init(config.common.log_level, config.common.log_format)?;
    if let Err(error) = run(config).await {
        tracing::error!(err = format!("{error:#}"), "running command failed");
        return Err(error);
    }
    Ok(())
}

async fn run(config: SidecarConfig) -> anyhow::Result<()> {
    let metrics_options = runtime::metrics::MetricsOptions::default().with_buckets(
        runtime::metrics::Matcher::Full(store::RECEIVED_FRAMES.to_owned()),
        &store::RECEIVED_FRAMES_BUCKETS,
    );
    let metrics = runtime::metrics::install(&metrics_options)?;
    let shutdown = runtime::shutdown::on_signals()?;
    let readiness = Readiness::new();
    metrics::gauge!(PROMETHEUS_UP).set(0.0);

    let min_time: ThanosTime = config.min_time.parse().context("--min-time")?;
    let hash_func = HashFunc::parse(&config.hash_func).context("--hash-func: expected \"\" or \"SHA256\"")?;
    let objstore_yaml = config.objstore.content().context("read --objstore.config-file")?;
    let bucket = match &objstore_yaml {
        Some(yaml) => Some(objstore::bucket_from_config_yaml(yaml).context("object store config")?),
        None => {
            tracing::info!("no supported bucket was configured, uploads will be disabled");
            None
        }
    };
    if bucket.is_some() && !config.tsdb_path.join("wal").is_dir() {
        tracing::error!(
            tsdb_path = %config.tsdb_path.display(),
            "WAL dir is not accessible. Is this dir a TSDB directory? If yes it is shared with TSDB?"
        );
    }

    let http_client = reqwest::Client::builder().build().context("HTTP client")?;
    let client = PromClient::new(http_client.clone(), &config.prometheus_url, USER_AGENT);
    let remote_read = RemoteReadClient::new(http_client, &config.prometheus_url, USER_AGENT);
    let metadata = Arc::new(PromMetadata::new(min_time));

    let http =
        HttpServer::bind(config.common.http_address, config.common.http_grace_period.as_duration()).await?;
    let grpc =
        GrpcServer::bind(config.common.grpc_address, config.common.grpc_grace_period.as_duration()).await?;
    let upkeep = metrics.spawn_upkeep(shutdown.clone());
    let http_task =
        tokio::spawn(http.serve(axum::Router::new(), metrics, readiness.clone(), shutdown.clone()));
    // Served from the start: every call answers Unavailable until Prometheus has been reached,
    // so a querier sees a clear error instead of a refused connection.
    let service = Arc::new(SidecarService::new(
        PrometheusStore::new(client.clone(), remote_read, metadata.clone()),
        metadata.clone(),
        readiness.clone(),
    ));
    let router =
        tonic::transport::Server::builder().add_routes(storeapi::grpc::routes(service.clone(), service));
    let grpc_task = tokio::spawn(grpc.serve(router, shutdown.clone()));

    let heartbeat = HeartbeatOptions {
        interval: config.prometheus_get_config_interval.as_duration(),
        timeout: config.prometheus_get_config_timeout.as_duration(),
        uploads: bucket.as_ref().map(|_| UploadChecks {
            shipper_meta_file: config.tsdb_path.join(&config.shipper_meta_file_name),
            ignore_unequal_block_size: config.shipper_ignore_unequal_block_size,
            ready_timeout: config.prometheus_ready_timeout.as_duration(),
        }),
    };
    let mut background = Vec::new();
    let mut shipper = None;
    let started = metadata::start(&client, &metadata, &heartbeat, &shutdown).await;
    match &started {
        Ok(true) => {
            metrics::gauge!(PROMETHEUS_UP).set(1.0);
            readiness.set_ready(true);
            background.push(tokio::spawn(metadata::refresh(
                client,
                metadata.clone(),
                heartbeat,
                readiness.clone(),
                shutdown.clone(),
            )));
            if let Some(bucket) = bucket {
                shipper = Some(
                    Shipper::new(
                        bucket,
                        ShipperConfig {
                            tsdb_dir: config.tsdb_path.clone(),
                            external_labels: metadata.labels(),
                            source: block::source::SIDECAR.to_owned(),
                            upload_compacted: config.shipper_upload_compacted,
                            hash_func,
                        },
                    )
                    .with_meta_file_name(config.shipper_meta_file_name.clone())
                    .with_allow_out_of_order_uploads(config.shipper_allow_out_of_order_uploads)
                    .with_skip_corrupted_blocks(config.shipper_skip_corrupted_blocks),
                );
            }
            tracing::info!("starting sidecar");
        }
        // Shut down before Prometheus answered, or failed: stop the servers either way.
        Ok(false) | Err(_) => shutdown.cancel(),
    }

    // The shipper runs on this task, not spawned: its future is not provably `Send`.
    let uploads = async {
        if let Some(shipper) = shipper {
            upload::run(shipper, metadata.clone(), shutdown.clone()).await;
        }
    };
    let (http_result, grpc_result, ()) = tokio::join!(http_task, grpc_task, uploads);
    shutdown.cancel();
    for task in background {
        task.await.context("background task")?;
    }
    upkeep.await.context("metrics upkeep task")?;
    started?;
    http_result.context("http task")??;
    grpc_result.context("grpc task")??;
    Ok(())
}
