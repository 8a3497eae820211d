//! Test support shared by the workspace's integration tests: the real parts they run against
//! (Prometheus 2.42 and promtool from Debian's `prometheus` package, our own binaries) and the
//! small plumbing around them. Dev-dependency only; panics are the error handling here.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "test support fails loudly")]

pub mod blocks;
pub mod downsample;
pub mod dump;
pub mod http;
pub mod process;
pub mod prometheus;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A free TCP port on 127.0.0.1 for a server the test starts.
///
/// Taken below Linux's ephemeral range (32768–60999), which the kernel hands out for port-0 binds
/// and outgoing connections: a port found free here and bound a moment later by a child process
/// cannot meanwhile be taken by an in-process server on port 0. Each port is handed out once per
/// test process; the start is spread by process id so concurrent test binaries rarely meet.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    const LOW: u32 = 20_000;
    const SPAN: u32 = 12_000;
    static NEXT: AtomicU32 = AtomicU32::new(u32::MAX);
    let _ = NEXT.compare_exchange(
        u32::MAX,
        (std::process::id() * 211) % SPAN,
        Ordering::SeqCst,
        Ordering::SeqCst,
    );
    for _ in 0..SPAN {
        let port = (LOW + NEXT.fetch_add(1, Ordering::SeqCst) % SPAN) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port in {LOW}..{}", LOW + SPAN);
}

/// The project's `shared/` directory (beside the checkout, or `/work/shared`).
pub fn shared_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("THANOS_RS_SHARED") {
        return PathBuf::from(dir);
    }
    let beside = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
    if beside.join("tools").is_dir() {
        return beside;
    }
    PathBuf::from("/work/shared")
}

/// True when `name` is an executable on `PATH`.
pub fn on_path(name: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
}

/// A command for an external tool that must be installed (`.ci/run` installs them); fails
/// loudly, naming the package, when it is missing.
pub fn tool(name: &str) -> Command {
    let package = match name {
        "prometheus" | "promtool" => "prometheus",
        "chromium" => "chromium",
        other => other,
    };
    assert!(
        on_path(name),
        "`{name}` not found on PATH: install Debian's `{package}` package \
         (apt-get install -y --no-install-recommends {package}), or run `bash .ci/run`"
    );
    Command::new(name)
}

/// A binary of this workspace, e.g. `thanos-store`, built beside the running test executable.
///
/// `cargo test --workspace` builds every binary before any test runs; with `-p <crate>` alone a
/// sibling crate's binary may be missing or stale, so build it first.
pub fn workspace_bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    // target/<profile>/deps/<test> → target/<profile>/<name>
    let profile_dir = exe.parent().and_then(Path::parent).expect("target profile dir");
    let path = profile_dir.join(name);
    assert!(
        path.is_file(),
        "{} is missing: run `cargo build --bin {name}` (or `cargo test --workspace`, which builds every binary)",
        path.display()
    );
    path
}
