//! `thanos-query`: the querier. Serves Prometheus' HTTP API, evaluated by our PromQL engine
//! over a fan-out to every StoreAPI endpoint, with replica deduplication and partial response.
//!
//! ```text
//! HTTP /api/v1/* ──► api ──► promql::Engine (blocking thread)
//!                                 │ select
//!                                 ▼
//!                              fanout ──► Series/LabelNames/LabelValues on every selected endpoint
//!                                 ▲
//!        endpoints: --endpoint, --endpoint.sd-files, Info polled for health, time range, labels
//! ```

mod api;
mod chunk_iter;
mod config;
mod dedup;
mod downsampling;
mod endpoints;
mod fanout;
mod proxy;
mod ui;

use std::sync::Arc;

use anyhow::Context;
use clap::CommandFactory;
use promql::EngineOptions;
use runtime::Readiness;
use runtime::grpc::GrpcServer;
use runtime::http::HttpServer;

use crate::config::QueryConfig;
use crate::endpoints::EndpointSet;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config: QueryConfig = runtime::config::load()?;
    runtime::logging::init(config.common.log_level, config.common.log_format)?;
    if let Err(error) = run(config).await {
        tracing::error!(err = format!("{error:#}"), "running command failed");
        return Err(error);
    }
    Ok(())
}

async fn run(config: QueryConfig) -> anyhow::Result<()> {
    let metrics = runtime::metrics::install(&runtime::metrics::MetricsOptions::default())?;
    let shutdown = runtime::shutdown::on_signals()?;
    let readiness = Readiness::new();

    if config.grpc_compression != "none" {
        anyhow::bail!("--grpc-compression={} is not supported; use none", config.grpc_compression);
    }
    if config.query_promql_engine != "prometheus" {
        tracing::warn!(engine = %config.query_promql_engine, "--query.promql-engine is ignored: thanos-rs has one engine");
    }
    let endpoints = Arc::new(EndpointSet::new(
        config.static_endpoints(),
        config.endpoint_sd_files.clone(),
        config.endpoint_info_timeout.as_duration(),
    ));
    endpoints.refresh(true).await;
    let endpoints_task = tokio::spawn(endpoints.clone().run(
        config.endpoint_info_interval.as_duration(),
        config.store_sd_interval.as_duration(),
        shutdown.clone(),
    ));

    let response_timeout = config.store_response_timeout.as_duration();
    let settings = api::ApiSettings {
        endpoints: endpoints.clone(),
        engine: EngineOptions {
            lookback_delta_ms: i64::try_from(config.query_lookback_delta.as_duration().as_millis())
                .context("--query.lookback-delta")?,
            max_samples: config.query_max_samples,
            timeout: config.query_timeout.as_duration(),
            default_subquery_step_ms: i64::try_from(
                config.query_default_evaluation_interval.as_duration().as_millis(),
            )
            .context("--query.default-evaluation-interval")?,
        },
        replica_labels: config.replica_labels(),
        dedup_func: config.deduplication_func.into(),
        partial_response: config.partial_response(),
        response_timeout: (!response_timeout.is_zero()).then_some(response_timeout),
        max_concurrent: config.query_max_concurrent,
        flags: flag_values(&config),
        auto_downsampling: config.query_auto_downsampling,
        instant_max_source_resolution_ms: i64::try_from(
            config.query_instant_default_max_source_resolution.as_duration().as_millis(),
        )
        .context("--query.instant.default.max_source_resolution")?,
    };
    let prefix = config.route_prefix();
    let external_prefix = config::normalize_prefix(&config.web_external_prefix);
    let app = ui::routes(api::router(settings), &prefix, &external_prefix, &config.web_prefix_header);

    let http =
        HttpServer::bind(config.common.http_address, config.common.http_grace_period.as_duration()).await?;
    let grpc =
        GrpcServer::bind(config.common.grpc_address, config.common.grpc_grace_period.as_duration()).await?;
    let upkeep = metrics.spawn_upkeep(shutdown.clone());
    let http_task = tokio::spawn(http.serve(app, metrics, readiness.clone(), shutdown.clone()));
    let proxy = Arc::new(proxy::ProxyStore::new(endpoints, config.replica_labels()));
    let router = tonic::transport::Server::builder().add_routes(storeapi::grpc::routes(proxy.clone(), proxy));
    let grpc_task = tokio::spawn(grpc.serve(router, shutdown.clone()));
    readiness.set_ready(true);

    let (http_result, grpc_result) = tokio::join!(http_task, grpc_task);
    shutdown.cancel();
    endpoints_task.await.context("endpoints task")?;
    upkeep.await.context("metrics upkeep task")?;
    http_result.context("http task")??;
    grpc_result.context("grpc task")??;
    Ok(())
}

/// Every flag with its value, for `/api/v1/status/flags`.
fn flag_values(config: &QueryConfig) -> Vec<(String, String)> {
    let values = serde_json::to_value(config).unwrap_or_default();
    let mut out: Vec<(String, String)> = QueryConfig::command()
        .get_arguments()
        .filter_map(|arg| {
            let long = arg.get_long()?;
            let value = match values.get(arg.get_id().as_str())? {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Null => String::new(),
                serde_json::Value::Array(items) => items
                    .iter()
                    .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                    .collect::<Vec<_>>()
                    .join(","),
                other => other.to_string(),
            };
            Some((long.to_string(), value))
        })
        .collect();
    out.sort();
    out
}
