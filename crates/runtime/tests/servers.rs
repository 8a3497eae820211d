//! The HTTP and gRPC servers on 127.0.0.1:0: probes, metrics, graceful shutdown.

use std::net::SocketAddr;
use std::time::Duration;

use runtime::Readiness;
use runtime::grpc::GrpcServer;
use runtime::http::HttpServer;
use runtime::metrics::{MetricsOptions, install};
use runtime::shutdown::CancellationToken;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A response's status code and body, from a minimal HTTP/1.1 exchange.
async fn get(address: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(address).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("send request");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read response");
    let status = response.split(' ').nth(1).and_then(|code| code.parse().ok()).expect("status code");
    let body = response.split_once("\r\n\r\n").map(|(_, body)| body.to_owned()).unwrap_or_default();
    (status, body)
}

fn localhost() -> SocketAddr {
    "127.0.0.1:0".parse().expect("literal address")
}

#[tokio::test]
async fn http_serves_probes_metrics_and_own_routes_then_shuts_down() {
    let metrics = install(&MetricsOptions::default()).expect("install recorder");
    let readiness = Readiness::new();
    let shutdown = CancellationToken::new();
    let server = HttpServer::bind(localhost(), Duration::from_secs(5)).await.expect("bind");
    let address = server.local_addr();
    let own_routes = axum::Router::new().route("/api/v1/hello", axum::routing::get(|| async { "hi" }));
    let serving =
        tokio::spawn(server.serve(own_routes, metrics.clone(), readiness.clone(), shutdown.clone()));

    assert_eq!(get(address, "/-/healthy").await, (200, "OK".to_owned()));
    assert_eq!(get(address, "/-/ready").await, (503, "NOT OK\n".to_owned()));
    readiness.set_ready(true);
    assert_eq!(get(address, "/-/ready").await, (200, "OK".to_owned()));
    assert_eq!(get(address, "/api/v1/hello").await, (200, "hi".to_owned()));

    metrics::counter!("thanos_test_total").increment(2);
    let (status, body) = get(address, "/metrics").await;
    assert_eq!(status, 200);
    assert!(body.lines().any(|line| line == "thanos_test_total 2"), "{body}");

    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(5), serving)
        .await
        .expect("server stops well within the grace period")
        .expect("server task")
        .expect("server result");
    assert!(!readiness.is_ready(), "shutdown marks the component not ready");
    assert!(TcpStream::connect(address).await.is_err(), "listener closed");
}

#[tokio::test]
async fn http_shutdown_gives_up_on_slow_requests_after_the_grace_period() {
    let metrics = install(&MetricsOptions::default()).expect("install recorder");
    let shutdown = CancellationToken::new();
    let server = HttpServer::bind(localhost(), Duration::from_millis(200)).await.expect("bind");
    let address = server.local_addr();
    let slow = axum::Router::new().route(
        "/slow",
        axum::routing::get(|| async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            "late"
        }),
    );
    let serving = tokio::spawn(server.serve(slow, metrics, Readiness::new(), shutdown.clone()));
    let request = tokio::spawn(async move { get(address, "/slow").await });
    // Let the request reach its handler before shutting down.
    tokio::time::sleep(Duration::from_millis(100)).await;
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(5), serving)
        .await
        .expect("grace period bounds the shutdown")
        .expect("server task")
        .expect("server result");
    request.abort();
}

#[tokio::test]
async fn grpc_serves_until_cancelled() {
    let shutdown = CancellationToken::new();
    let server = GrpcServer::bind(localhost(), Duration::from_secs(5)).await.expect("bind");
    let address = server.local_addr();
    let router = tonic::transport::Server::builder().add_routes(tonic::service::Routes::default());
    let serving = tokio::spawn(server.serve(router, shutdown.clone()));
    TcpStream::connect(address).await.expect("gRPC listener accepts connections");
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(5), serving)
        .await
        .expect("server stops")
        .expect("server task")
        .expect("server result");
}

#[tokio::test]
async fn bind_error_names_the_address() {
    let taken = HttpServer::bind(localhost(), Duration::ZERO).await.expect("bind");
    let err = HttpServer::bind(taken.local_addr(), Duration::ZERO).await.expect_err("address in use");
    let message = err.to_string();
    assert!(message.contains(&taken.local_addr().to_string()), "{message}");
}
