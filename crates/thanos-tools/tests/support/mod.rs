//! Helpers shared by the process tests: real tools started from tests (promtool; s3s-fs comes from
//! `objstore::testing`) and the built `thanos-tools` binary.

// Reason: each test binary includes this module and uses a different subset of it.
#![allow(dead_code)]

pub(crate) mod promtool;

use std::path::Path;
use std::process::{Command, Output};

/// Runs the built `thanos-tools` with `args`; returns its output (never panics on failure).
pub(crate) fn thanos_tools(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_thanos-tools")).args(args).output().expect("run thanos-tools")
}

/// stdout and stderr of `output` as text, for assertions and messages.
pub(crate) fn texts(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Runs `thanos-tools` and panics, showing its output, unless it succeeds.
pub(crate) fn thanos_tools_ok(args: &[&str]) -> String {
    let output = thanos_tools(args);
    let (stdout, stderr) = texts(&output);
    assert!(
        output.status.success(),
        "thanos-tools {args:?} failed ({}):\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status
    );
    stdout
}

/// Thanos' objstore YAML for a filesystem bucket at `dir`.
pub(crate) fn filesystem_config(dir: &Path) -> String {
    format!("type: FILESYSTEM\nconfig:\n  directory: {}\n", dir.display())
}
