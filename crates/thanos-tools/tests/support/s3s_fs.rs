//! A real S3 server for tests: `s3s-fs` 0.14.1 on 127.0.0.1 over a temporary directory.
//!
//! The binary comes from `S3S_FS_BIN`, then `PATH`, then the project's tool cache. A missing
//! binary fails the test: an S3 test that silently skips proves nothing.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CACHED_BINARY: &str = "/root/.cache/thanos-rs/tools/bin/s3s-fs";
const ACCESS_KEY: &str = "bucket-test";
const SECRET_KEY: &str = "bucket-test-secret";

/// A running s3s-fs with one bucket, killed on drop.
pub(crate) struct S3sFs {
    child: Child,
    port: u16,
    bucket: String,
    _data_dir: tempfile::TempDir,
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

impl S3sFs {
    /// Starts s3s-fs on a free port serving a fresh directory that holds bucket `bucket`.
    pub(crate) fn start(bucket: &str) -> Self {
        let data_dir = tempfile::tempdir().expect("tempdir for s3s-fs");
        // s3s-fs keeps each bucket as a directory of its root.
        std::fs::create_dir(data_dir.path().join(bucket)).expect("create bucket dir");
        let port = TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
        let binary = binary();
        let mut child = Command::new(&binary)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
            .arg(data_dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", binary.display()));
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = child.try_wait().expect("poll s3s-fs") {
                panic!("s3s-fs exited during startup with {status}");
            }
            assert!(Instant::now() < deadline, "s3s-fs did not listen on port {port} within 10 s");
            std::thread::sleep(Duration::from_millis(10));
        }
        Self { child, port, bucket: bucket.to_string(), _data_dir: data_dir }
    }

    /// Thanos' objstore YAML for the bucket on this server.
    pub(crate) fn objstore_config(&self) -> String {
        format!(
            "type: S3\nconfig:\n  bucket: {}\n  endpoint: 127.0.0.1:{}\n  access_key: {ACCESS_KEY}\n  \
             secret_key: {SECRET_KEY}\n  insecure: true\n",
            self.bucket, self.port
        )
    }
}

impl Drop for S3sFs {
    fn drop(&mut self) {
        // Ignored: the process may already have exited.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
