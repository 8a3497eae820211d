//! A real S3 server for tests: `s3s-fs` on 127.0.0.1, serving a temporary directory.
//!
//! The binary is found via `S3S_FS_BIN`, then `PATH`, then the shared tool cache. A missing binary
//! fails the test: an S3 suite that silently skips proves nothing.

// Reason: each test binary includes this module and uses a different subset of it.
#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use objstore::{RetryPolicy, S3ClientOptions, S3Config};

/// Where the project's setup installs s3s-fs when it is not on `PATH`.
const CACHED_BINARY: &str = "/root/.cache/thanos-rs/tools/bin/s3s-fs";
pub(crate) const ACCESS_KEY: &str = "objstore-test";
pub(crate) const SECRET_KEY: &str = "objstore-test-secret";

/// A running s3s-fs process, killed on drop.
pub(crate) struct S3sFs {
    child: Option<Child>,
    port: u16,
    data_dir: tempfile::TempDir,
}

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
    let cached = PathBuf::from(CACHED_BINARY);
    assert!(
        cached.is_file(),
        "s3s-fs not found: set S3S_FS_BIN, put it on PATH, or install it to {CACHED_BINARY} \
         (cargo install s3s-fs --version 0.14.1 --features binary --locked)"
    );
    cached
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("local addr").port()
}

impl S3sFs {
    /// Starts s3s-fs on a free port with an empty data directory.
    pub(crate) fn start() -> Self {
        let mut server = Self {
            child: None,
            port: free_port(),
            data_dir: tempfile::tempdir().expect("tempdir for s3s-fs data"),
        };
        server.spawn();
        server
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

    /// Kills the server; the data directory stays for [`S3sFs::restart`].
    pub(crate) fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // Ignored: the process may have exited on its own already.
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and data directory.
    pub(crate) fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    /// `host:port`, as Thanos' `endpoint` expects.
    pub(crate) fn endpoint(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// An S3 config for `bucket` on this server, with the given secret and 5 MiB parts.
    pub(crate) fn config(&self, bucket: &str, secret_key: &str) -> S3Config {
        S3Config {
            bucket: bucket.to_owned(),
            endpoint: self.endpoint(),
            access_key: ACCESS_KEY.to_owned(),
            secret_key: secret_key.to_owned(),
            insecure: true,
            part_size: 5 * 1024 * 1024,
            ..S3Config::default()
        }
    }
}

impl Drop for S3sFs {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Client options sized for tests: 5 attempts with 50 ms doubling backoff (< 1 s in all).
pub(crate) fn test_options() -> S3ClientOptions {
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
