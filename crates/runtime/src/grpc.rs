//! Serving a tonic router on `--grpc-address` until shutdown, then draining for the grace period.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::transport::server::{Router, TcpIncoming};

use crate::error::RuntimeError;
use crate::shutdown::drain_within_grace;

/// A bound gRPC listener, ready to serve a router built by the binary.
#[derive(Debug)]
pub struct GrpcServer {
    listener: TcpListener,
    local_addr: SocketAddr,
    grace_period: Duration,
}

impl GrpcServer {
    /// Binds `address` (port 0 picks a free port); serving starts with [`Self::serve`].
    pub async fn bind(address: SocketAddr, grace_period: Duration) -> Result<Self, RuntimeError> {
        let bind_error = |source| RuntimeError::Bind { server: "grpc", address, source };
        let listener = TcpListener::bind(address).await.map_err(bind_error)?;
        let local_addr = listener.local_addr().map_err(bind_error)?;
        Ok(Self { listener, local_addr, grace_period })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves `router` until `shutdown` is cancelled, then lets in-flight calls finish for at most
    /// the grace period (Thanos' `GracefulStop`, then `Stop`).
    ///
    /// Build the router with `tonic::transport::Server::builder().add_service(…)`.
    pub async fn serve(self, router: Router, shutdown: CancellationToken) -> Result<(), RuntimeError> {
        tracing::info!(address = %self.local_addr, service = "gRPC/server", "listening for serving gRPC");
        let incoming = TcpIncoming::from(self.listener).with_nodelay(Some(true));
        let stop_accepting = shutdown.clone().cancelled_owned();
        let serving = router.serve_with_incoming_shutdown(incoming, stop_accepting);
        let result = drain_within_grace(serving, &shutdown, self.grace_period, "grpc").await;
        result.map_err(|err| RuntimeError::Serve { server: "grpc", reason: err.to_string() })
    }
}
