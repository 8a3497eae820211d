//! A real S3 server for tests: [`S3sFsServer`] runs `s3s-fs` on 127.0.0.1 over a temporary
//! directory.
//!
//! Enabled by the `testing` feature. The binary is found via `S3S_FS_BIN`, then `PATH`, then the
//! project's tool cache (`${THANOS_RS_CACHE:-$HOME/.cache/thanos-rs}/tools/bin/s3s-fs`, where
//! `.ci/run` installs it). A missing binary panics: an S3 test that silently skips proves nothing.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{RetryPolicy, S3ClientOptions, S3Config};

/// The access key every [`S3sFsServer`] accepts.
pub const ACCESS_KEY: &str = "objstore-test";
/// The secret key every [`S3sFsServer`] accepts; any other secret is rejected.
pub const SECRET_KEY: &str = "objstore-test-secret";
/// The multipart part size of [`S3sFsServer::s3_config`]: 5 MiB, the smallest S3 allows.
pub const PART_SIZE: u64 = 5 * 1024 * 1024;

const INSTALL_HINT: &str = "cargo install s3s-fs --version 0.14.1 --features binary --locked \
                            --root \"${THANOS_RS_CACHE:-$HOME/.cache/thanos-rs}/tools\" (or run .ci/run)";

/// A running `s3s-fs` process with its own data directory, killed on drop.
#[derive(Debug)]
pub struct S3sFsServer {
    child: Option<Child>,
    port: u16,
    data_dir: tempfile::TempDir,
}

/// Where `.ci/run` installs s3s-fs when it is not on `PATH`.
fn cached_binary() -> Option<PathBuf> {
    let cache = std::env::var_os("THANOS_RS_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cache/thanos-rs")))?;
    Some(cache.join("tools/bin/s3s-fs"))
}

/// The s3s-fs binary to run; panics with install instructions if there is none.
fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("S3S_FS_BIN") {
        return PathBuf::from(path);
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths).map(|dir| dir.join("s3s-fs")).find(|candidate| candidate.is_file())
    });
    if let Some(path) = on_path {
        return path;
    }
    match cached_binary() {
        Some(cached) if cached.is_file() => cached,
        cached => panic!(
            "s3s-fs not found: set S3S_FS_BIN, put it on PATH, or install it to {}: {INSTALL_HINT}",
            cached.map_or_else(
                || "the tool cache ($HOME is unset)".to_owned(),
                |path| path.display().to_string()
            )
        ),
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("local addr").port()
}

impl S3sFsServer {
    /// Starts s3s-fs on a free port with an empty data directory (no buckets).
    pub fn start() -> Self {
        let mut server = Self {
            child: None,
            port: free_port(),
            data_dir: tempfile::tempdir().expect("tempdir for s3s-fs data"),
        };
        server.spawn();
        server
    }

    /// Starts s3s-fs as [`S3sFsServer::start`] does, holding the given buckets.
    pub fn with_buckets(buckets: &[&str]) -> Self {
        let server = Self::start();
        for bucket in buckets {
            server.create_bucket(bucket);
        }
        server
    }

    /// Creates an empty bucket; s3s-fs keeps each bucket as a directory of its root.
    pub fn create_bucket(&self, bucket: &str) {
        std::fs::create_dir(self.data_dir.path().join(bucket))
            .unwrap_or_else(|error| panic!("creating bucket {bucket} in s3s-fs: {error}"));
    }

    fn spawn(&mut self) {
        assert!(self.child.is_none(), "s3s-fs is already running");
        let binary = binary();
        let mut child = Command::new(&binary)
            .args(["--host", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
            .arg(self.data_dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("starting {}: {error}", binary.display()));
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Some(status) = child.try_wait().expect("poll s3s-fs") {
                panic!("s3s-fs exited during startup with {status}");
            }
            assert!(Instant::now() < deadline, "s3s-fs did not listen on port {} within 10 s", self.port);
            std::thread::sleep(Duration::from_millis(10));
        }
        self.child = Some(child);
    }

    /// Kills the server; the port and data directory stay for [`S3sFsServer::restart`].
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // Ignored: the process may have exited on its own already.
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and data directory.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    /// `host:port`, as Thanos' `endpoint` expects.
    pub fn endpoint(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// An S3 config for `bucket` on this server, with the given secret and [`PART_SIZE`] parts.
    pub fn s3_config(&self, bucket: &str, secret_key: &str) -> S3Config {
        S3Config {
            bucket: bucket.to_owned(),
            endpoint: self.endpoint(),
            access_key: ACCESS_KEY.to_owned(),
            secret_key: secret_key.to_owned(),
            insecure: true,
            part_size: PART_SIZE,
            ..S3Config::default()
        }
    }

    /// Thanos' objstore YAML for `bucket` on this server, the same settings as
    /// [`S3sFsServer::s3_config`]. Top-level keys such as `prefix:` may be appended.
    pub fn config_yaml(&self, bucket: &str, secret_key: &str) -> String {
        format!(
            "type: S3\nconfig:\n  bucket: {bucket}\n  endpoint: {endpoint}\n  access_key: {ACCESS_KEY}\n  \
             secret_key: {secret_key}\n  insecure: true\n  part_size: {PART_SIZE}\n",
            endpoint = self.endpoint(),
        )
    }
}

impl Drop for S3sFsServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Client options sized for tests: 5 attempts with 50 ms doubling backoff (< 1 s in all), a 1 s
/// connect timeout and a 10 s read timeout.
pub fn test_client_options() -> S3ClientOptions {
    S3ClientOptions {
        retry: RetryPolicy {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(1),
        },
        connect_timeout: Duration::from_secs(1),
        read_timeout: Some(Duration::from_secs(10)),
        ..S3ClientOptions::default()
    }
}
