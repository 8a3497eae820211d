//! A minimal component wired as every thanos-rs binary is: config, logging, metrics, probes,
//! gRPC, graceful shutdown. Run it with `cargo run -p runtime --example component -- --help`.

use std::time::Duration;

use runtime::config::{CommonFlags, ObjstoreFlags};
use runtime::grpc::GrpcServer;
use runtime::http::HttpServer;
use runtime::metrics::MetricsOptions;
use runtime::{Readiness, config, logging, metrics, shutdown};

/// Flags of the example component.
#[derive(Debug, clap::Parser, serde::Serialize, serde::Deserialize)]
#[command(name = "component", about = "Example thanos-rs component")]
struct ComponentConfig {
    #[command(flatten)]
    #[serde(flatten)]
    common: CommonFlags,
    #[command(flatten)]
    #[serde(flatten)]
    objstore: ObjstoreFlags,
    /// How long the pretend start-up takes before the component reports ready.
    #[arg(long = "startup-delay", default_value = "1s")]
    startup_delay: runtime::duration::PromDuration,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config: ComponentConfig = config::load()?;
    logging::init(config.common.log_level, config.common.log_format)?;
    tracing::info!(config = ?config, "starting component");

    let metrics = metrics::install(&MetricsOptions::default())?;
    let shutdown = shutdown::on_signals()?;
    let readiness = Readiness::new();
    let upkeep = metrics.spawn_upkeep(shutdown.clone());

    let http =
        HttpServer::bind(config.common.http_address, config.common.http_grace_period.as_duration()).await?;
    let grpc =
        GrpcServer::bind(config.common.grpc_address, config.common.grpc_grace_period.as_duration()).await?;
    let http_task =
        tokio::spawn(http.serve(axum::Router::new(), metrics.clone(), readiness.clone(), shutdown.clone()));
    // A real component adds its services here (storeapi's StoreServer, …).
    let router = tonic::transport::Server::builder().add_routes(tonic::service::Routes::default());
    let grpc_task = tokio::spawn(grpc.serve(router, shutdown.clone()));

    tokio::select! {
        () = tokio::time::sleep(config.startup_delay.as_duration()) => readiness.set_ready(true),
        () = shutdown.cancelled() => {}
    }
    ::metrics::counter!("thanos_example_starts_total").increment(1);

    http_task.await??;
    grpc_task.await??;
    tokio::time::timeout(Duration::from_secs(1), upkeep).await??;
    tracing::info!("exiting");
    Ok(())
}
