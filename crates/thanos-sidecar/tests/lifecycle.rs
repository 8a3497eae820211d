//! The sidecar's start-up, readiness and refusals against a real Prometheus 2.42: no external
//! labels, Prometheus down at start and later, block-duration checks with uploads on, bad flags.

mod support;

use std::process::Command;
use std::time::Duration;

use storeapi::pb::info::InfoRequest;
use support::*;
use testkit::prometheus::{Prometheus, PrometheusConfig};

const QUICK_HEARTBEAT: &str = "--prometheus.get_config_interval=300ms";

fn sidecar_command(args: &[String]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_thanos-sidecar"));
    command
        .arg(format!("--http-address=127.0.0.1:{}", free_port()))
        .arg(format!("--grpc-address=127.0.0.1:{}", free_port()))
        .args(args);
    command
}

fn info_code(sidecar: &Sidecar) -> Option<tonic::Code> {
    block_on(async { sidecar.info().await.info(InfoRequest {}).await.err().map(|s| s.code()) })
}

#[test]
fn refuses_to_start_without_external_labels() {
    let prometheus = prometheus_with(None, "global:\n  scrape_interval: 1m\n".to_owned());
    let (status, output) = wait_exit(
        &mut sidecar_command(&[format!("--prometheus.url={}", prometheus.url())]),
        Duration::from_secs(30),
    );
    let status = status.expect("the sidecar exits by itself");
    assert!(!status.success(), "non-zero exit: {status}");
    assert!(output.contains("no external labels configured on Prometheus server"), "clear error:\n{output}");
}

#[test]
fn bad_flags_are_clear_errors() {
    for (flag, expected) in [
        ("--prometheus.url=localhost:9090", "--prometheus.url"),
        ("--prometheus.ready_timeout=soon", "prometheus.ready_timeout"),
        ("--grpc-address=nowhere", "--grpc-address"),
        ("--min-time=yesterday", "--min-time"),
        ("--no-such-flag", "--no-such-flag"),
    ] {
        let (status, output) = wait_exit(&mut sidecar_command(&[flag.to_owned()]), Duration::from_secs(10));
        let status = status.expect("exits at once");
        assert!(!status.success(), "{flag}: non-zero exit");
        assert!(output.contains(expected), "{flag}: error names the flag:\n{output}");
    }
    let objstore = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(objstore.path(), "type: NOPE\nconfig: {}\n").expect("write");
    let (status, output) = wait_exit(
        &mut sidecar_command(&[format!("--objstore.config-file={}", objstore.path().display())]),
        Duration::from_secs(10),
    );
    assert!(!status.expect("exits at once").success());
    assert!(output.contains("object store config"), "{output}");
}

#[test]
fn not_ready_while_prometheus_is_down_ready_when_it_returns() {
    let root = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let config = || PrometheusConfig {
        config_yaml: config_with_external_labels(),
        seed_blocks: block_dirs(&fixture().blocks),
        port,
        ..Default::default()
    };

    // Started before Prometheus: alive, not ready, every call Unavailable.
    let sidecar = Sidecar::spawn(&url, &[QUICK_HEARTBEAT.to_owned()]);
    assert!(eventually(Duration::from_secs(10), || sidecar.get("/-/healthy").0 == 200));
    assert_eq!(sidecar.get("/-/ready").0, 503);
    assert_eq!(info_code(&sidecar), Some(tonic::Code::Unavailable));
    let series_code = block_on(async {
        let mut client = sidecar.store().await;
        series(&mut client, request(&[(0, "__name__", "demo_temperature")], 0, i64::MAX))
            .await
            .err()
            .map(|s| s.code())
    });
    assert_eq!(series_code, Some(tonic::Code::Unavailable));
    assert_eq!(sidecar.metric("thanos_sidecar_prometheus_up"), Some(0.0));

    let mut prometheus = Prometheus::start_in(root.path(), config());
    assert!(
        eventually(Duration::from_secs(15), || sidecar.get("/-/ready").0 == 200),
        "ready once Prometheus answers"
    );
    assert_eq!(info_code(&sidecar), None);
    assert_eq!(sidecar.metric("thanos_sidecar_prometheus_up"), Some(1.0));

    // Prometheus goes away: not ready, Info fails, the gauge drops.
    assert!(prometheus.process.terminate(Duration::from_secs(20)), "Prometheus stops cleanly");
    assert!(eventually(Duration::from_secs(15), || sidecar.get("/-/ready").0 == 503), "not ready while down");
    assert_eq!(info_code(&sidecar), Some(tonic::Code::Unavailable));
    assert_eq!(sidecar.metric("thanos_sidecar_prometheus_up"), Some(0.0));

    // And comes back on the same port and TSDB.
    let _prometheus = Prometheus::start_in(root.path(), config());
    assert!(eventually(Duration::from_secs(15), || sidecar.get("/-/ready").0 == 200), "ready again");
    assert_eq!(info_code(&sidecar), None);
    assert_eq!(sidecar.metric("thanos_sidecar_prometheus_up"), Some(1.0));
    let served = block_on(async {
        let mut client = sidecar.store().await;
        series(&mut client, request(&[(0, "__name__", "demo_temperature")], 0, i64::MAX))
            .await
            .expect("series")
            .len()
    });
    assert_eq!(served, 20);
}

#[test]
fn uploads_need_equal_block_durations() {
    let bucket = tempfile::tempdir().expect("bucket dir");
    let objstore = bucket.path().join("bucket.yml");
    std::fs::write(
        &objstore,
        format!("type: FILESYSTEM\nconfig:\n  directory: {}\n", bucket.path().join("b").display()),
    )
    .expect("write objstore config");
    let compacting = prometheus_with(
        Some(vec![
            "--storage.tsdb.retention.time=100y".to_owned(),
            "--storage.tsdb.min-block-duration=2h".to_owned(),
            "--storage.tsdb.max-block-duration=1d".to_owned(),
        ]),
        config_with_external_labels(),
    );
    let (status, output) = wait_exit(
        &mut sidecar_command(&[
            format!("--prometheus.url={}", compacting.url()),
            format!("--tsdb.path={}", compacting.data_dir.display()),
            format!("--objstore.config-file={}", objstore.display()),
        ]),
        Duration::from_secs(30),
    );
    assert!(!status.expect("exits by itself").success());
    assert!(output.contains("Compaction needs to be disabled"), "clear error:\n{output}");

    // With equal durations the same setup starts, ready, and stops cleanly on SIGTERM.
    let fine = prometheus_with(None, config_with_external_labels());
    let mut sidecar = Sidecar::start(
        &fine.url(),
        &[
            format!("--tsdb.path={}", fine.data_dir.display()),
            format!("--objstore.config-file={}", objstore.display()),
        ],
    );
    // The shipper runs right after start-up: every seeded block reaches the bucket, meta.json last.
    let shipped = || {
        std::fs::read_dir(bucket.path().join("b"))
            .map(|dirs| {
                dirs.filter(|d| d.as_ref().is_ok_and(|d| d.path().join("meta.json").is_file())).count()
            })
            .unwrap_or(0)
    };
    assert!(
        eventually(Duration::from_secs(30), || shipped() == fixture().metas.len()),
        "{} of {} blocks shipped:\n{}",
        shipped(),
        fixture().metas.len(),
        sidecar.process.log_text()
    );
    // The pass records them in the state file once it completes.
    let state_file = fine.data_dir.join("thanos.shipper.json");
    let recorded = || {
        let state = std::fs::read_to_string(&state_file).unwrap_or_default();
        fixture().metas.iter().all(|m| state.contains(&m.ulid.to_string()))
    };
    assert!(eventually(Duration::from_secs(10), recorded), "every block in {}", state_file.display());
    assert!(
        sidecar.process.terminate(Duration::from_secs(20)),
        "clean exit:\n{}",
        sidecar.process.log_text()
    );
}

#[test]
fn uploads_give_up_after_ready_timeout_without_prometheus() {
    let bucket = tempfile::tempdir().expect("bucket dir");
    let objstore = bucket.path().join("bucket.yml");
    std::fs::write(
        &objstore,
        format!("type: FILESYSTEM\nconfig:\n  directory: {}\n", bucket.path().display()),
    )
    .expect("write objstore config");
    let (status, output) = wait_exit(
        &mut sidecar_command(&[
            format!("--prometheus.url=http://127.0.0.1:{}", free_port()),
            format!("--tsdb.path={}", bucket.path().display()),
            format!("--objstore.config-file={}", objstore.display()),
            "--prometheus.ready_timeout=2s".to_owned(),
            QUICK_HEARTBEAT.to_owned(),
        ]),
        Duration::from_secs(30),
    );
    assert!(!status.expect("exits by itself").success());
    assert!(output.contains("aborting as no external labels found after waiting"), "{output}");
}
