//! `thanos-store`: the store gateway. Serves every block of a bucket over Thanos' StoreAPI,
//! keeping only index-headers on local disk and reading postings, series and chunks with
//! coalesced ranged GETs.
//!
//! ```text
//! bucket ──list/meta.json──► sync loop ──load──► BucketStore (blocks, index-headers, cache)
//!                                                   ▲
//! querier ──gRPC thanos.Store / thanos.info.Info──► StoreService
//! ```

mod bucket_store;
mod config;
mod instrumented;
mod service;
mod sync;

use std::sync::Arc;
use std::time::SystemTime;

use anyhow::Context;
use block::ThanosTime;
use runtime::Readiness;
use runtime::grpc::GrpcServer;
use runtime::http::HttpServer;

use crate::bucket_store::cache::IndexCache;
use crate::bucket_store::{BucketStore, StoreOptions};
use crate::config::{StoreConfig, parse_base2_bytes};
use crate::instrumented::InstrumentedBucket;
use crate::service::StoreService;

/// Thanos' `MaxSamplesPerChunk`: the sample limit is enforced as a chunk limit.
const MAX_SAMPLES_PER_CHUNK: u64 = 120;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config: StoreConfig = runtime::config::load()?;
    runtime::logging::init(config.common.log_level, config.common.log_format)?;
    if let Err(error) = run(config).await {
        tracing::error!(err = format!("{error:#}"), "running command failed");
        return Err(error);
    }
    Ok(())
}

async fn run(config: StoreConfig) -> anyhow::Result<()> {
    let metrics_options = runtime::metrics::MetricsOptions::default().with_buckets(
        runtime::metrics::Matcher::Full(block::fetcher_metrics::SYNC_DURATION_SECONDS.to_owned()),
        &block::fetcher_metrics::SYNC_DURATION_BUCKETS,
    );
    let metrics = runtime::metrics::install(&metrics_options)?;
    let shutdown = runtime::shutdown::on_signals()?;
    let readiness = Readiness::new();

    let selector_relabel = config.selector_relabel_rules()?;
    let yaml = config
        .objstore
        .content()
        .context("read --objstore.config-file")?
        .context("no object store configured: set --objstore.config-file or --objstore.config")?;
    let bucket: Arc<dyn objstore::Bucket> = Arc::new(InstrumentedBucket::new(
        objstore::bucket_from_config_yaml(&yaml).context("object store config")?,
    ));

    let min_time: ThanosTime = config.min_time.parse().context("--min-time")?;
    let max_time: ThanosTime = config.max_time.parse().context("--max-time")?;
    let now = SystemTime::now();
    let index_cache_size = parse_base2_bytes(&config.index_cache_size)
        .map_err(anyhow::Error::msg)
        .context("--index-cache-size")?;
    tokio::fs::create_dir_all(&config.data_dir)
        .await
        .with_context(|| format!("create --data-dir {}", config.data_dir.display()))?;
    if config.lazy_index_header {
        tracing::info!("index-header lazy reader enabled: index-headers are opened on first query");
    }

    let store = Arc::new(BucketStore::new(
        bucket.clone(),
        IndexCache::new(index_cache_size),
        StoreOptions {
            data_dir: config.data_dir.clone(),
            block_sync_concurrency: config.block_sync_concurrency,
            postings_sampling: config.posting_offsets_sampling.max(1),
            lazy_index_header: config.lazy_index_header,
            chunks_limit: config.series_sample_limit / MAX_SAMPLES_PER_CHUNK,
            series_limit: config.touched_series_limit,
            min_time: min_time.prometheus_timestamp(now),
            max_time: max_time.prometheus_timestamp(now),
        },
    ));

    let http =
        HttpServer::bind(config.common.http_address, config.common.http_grace_period.as_duration()).await?;
    let grpc =
        GrpcServer::bind(config.common.grpc_address, config.common.grpc_grace_period.as_duration()).await?;
    let upkeep = metrics.spawn_upkeep(shutdown.clone());
    let http_task =
        tokio::spawn(http.serve(axum::Router::new(), metrics, readiness.clone(), shutdown.clone()));

    let service =
        Arc::new(StoreService::new(store.clone(), readiness.clone(), config.series_max_concurrency));
    let router =
        tonic::transport::Server::builder().add_routes(storeapi::grpc::routes(service.clone(), service));
    let grpc_task = tokio::spawn(grpc.serve(router, shutdown.clone()));

    let sync_task = tokio::spawn(sync::run(
        bucket,
        store,
        sync::SyncOptions {
            interval: config.sync_block_duration.as_duration(),
            meta_fetch_concurrency: config.block_meta_fetch_concurrency,
            min_time,
            max_time,
            consistency_delay: config.consistency_delay.as_duration(),
            ignore_deletion_marks_delay: config.ignore_deletion_marks_delay.as_duration(),
            selector_relabel,
        },
        readiness,
        shutdown.clone(),
    ));

    let (http_result, grpc_result) = tokio::join!(http_task, grpc_task);
    shutdown.cancel();
    sync_task.await.context("sync task")?;
    upkeep.await.context("metrics upkeep task")?;
    http_result.context("http task")??;
    grpc_result.context("grpc task")??;
    Ok(())
}
