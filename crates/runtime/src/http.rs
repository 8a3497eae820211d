//! The HTTP server every component runs on `--http-address`: `/metrics`, `/-/healthy`,
//! `/-/ready`, plus the binary's own routes, with graceful shutdown.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::error::RuntimeError;
use crate::metrics::MetricsHandle;
use crate::readiness::Readiness;
use crate::shutdown::drain_within_grace;

/// The content type of the Prometheus text exposition format.
const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A bound HTTP listener, ready to serve.
#[derive(Debug)]
pub struct HttpServer {
    listener: TcpListener,
    local_addr: SocketAddr,
    grace_period: Duration,
}

impl HttpServer {
    /// Binds `address` (port 0 picks a free port); serving starts with [`Self::serve`].
    pub async fn bind(address: SocketAddr, grace_period: Duration) -> Result<Self, RuntimeError> {
        let bind_error = |source| RuntimeError::Bind { server: "http", address, source };
        let listener = TcpListener::bind(address).await.map_err(bind_error)?;
        let local_addr = listener.local_addr().map_err(bind_error)?;
        Ok(Self { listener, local_addr, grace_period })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves `routes` merged with the probe and metrics routes until `shutdown` is cancelled.
    ///
    /// On cancellation the component is marked not ready, the listener stops accepting, and open
    /// requests get up to the grace period to finish (Thanos' `--http-grace-period`).
    pub async fn serve(
        self,
        routes: Router,
        metrics: MetricsHandle,
        readiness: Readiness,
        shutdown: CancellationToken,
    ) -> Result<(), RuntimeError> {
        tracing::info!(address = %self.local_addr, service = "http/server", "listening for requests and metrics");
        let app = routes.merge(probe_routes(metrics, readiness.clone()));
        let stop_accepting = {
            let shutdown = shutdown.clone();
            async move {
                shutdown.cancelled().await;
                readiness.set_ready(false);
            }
        };
        let serving = axum::serve(self.listener, app).with_graceful_shutdown(stop_accepting).into_future();
        drain_within_grace(serving, &shutdown, self.grace_period, "http")
            .await
            .map_err(|err| RuntimeError::Serve { server: "http", reason: err.to_string() })
    }
}

/// `/metrics`, `/-/healthy` and `/-/ready`, for binaries that assemble their own server.
pub fn probe_routes(metrics: MetricsHandle, readiness: Readiness) -> Router {
    Router::new()
        .route("/metrics", get(render_metrics).with_state(metrics))
        .route("/-/healthy", get(healthy))
        .route("/-/ready", get(ready).with_state(readiness))
}

async fn render_metrics(State(metrics): State<MetricsHandle>) -> Response {
    // Rendering walks every series; keep it off the reactor.
    match tokio::task::spawn_blocking(move || metrics.render()).await {
        Ok(text) => ([(header::CONTENT_TYPE, METRICS_CONTENT_TYPE)], text).into_response(),
        Err(err) => (StatusCode::INTERNAL_SERVER_ERROR, err.to_string()).into_response(),
    }
}

/// Thanos answers `OK` while the process serves at all.
async fn healthy() -> &'static str {
    "OK"
}

/// Thanos answers `OK`, or 503 `NOT OK` until the component is ready.
async fn ready(State(readiness): State<Readiness>) -> Response {
    if readiness.is_ready() {
        "OK".into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "NOT OK\n").into_response()
    }
}
