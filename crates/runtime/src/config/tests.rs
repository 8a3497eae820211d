use std::io::Write as _;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::*;

#[derive(Debug, clap::Parser, Serialize, Deserialize)]
#[command(name = "thanos-test")]
struct TestConfig {
    #[command(flatten)]
    #[serde(flatten)]
    common: CommonFlags,
    #[command(flatten)]
    #[serde(flatten)]
    objstore: ObjstoreFlags,
    /// A binary's own flag.
    #[arg(long = "data-dir", default_value = "./data")]
    data_dir: PathBuf,
    /// A repeatable flag.
    #[arg(long = "endpoint")]
    endpoint: Vec<String>,
    /// Not a flag: settable from the file and the environment only.
    #[arg(skip)]
    #[serde(default)]
    limits: Limits,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Limits {
    max_series: u64,
}

fn load_test(args: &[&str], env: &[(&str, &str)]) -> Result<TestConfig, ConfigError> {
    let argv = std::iter::once("thanos-test").chain(args.iter().copied());
    let env = env.iter().map(|(key, value)| ((*key).to_owned(), (*value).to_owned()));
    load_from(argv, env)
}

fn yaml_file(content: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::Builder::new().suffix(".yaml").tempfile().expect("create temp file");
    file.write_all(content.as_bytes()).expect("write temp file");
    file
}

fn path_of(file: &tempfile::NamedTempFile) -> &str {
    file.path().to_str().expect("temp paths are UTF-8")
}

#[test]
fn defaults_match_thanos() {
    let config = load_test(&[], &[]).expect("defaults load");
    assert_eq!(config.common.log_level, LogLevel::Info);
    assert_eq!(config.common.log_format, LogFormat::Logfmt);
    assert_eq!(config.common.http_address.to_string(), "0.0.0.0:10902");
    assert_eq!(config.common.grpc_address.to_string(), "0.0.0.0:10901");
    assert_eq!(config.common.http_grace_period.as_duration(), Duration::from_secs(120));
    assert_eq!(config.common.grpc_grace_period.as_duration(), Duration::from_secs(120));
    assert_eq!(config.objstore, ObjstoreFlags::default());
    assert_eq!(config.data_dir, PathBuf::from("./data"));
    assert!(config.endpoint.is_empty());
    assert_eq!(config.limits, Limits::default());
}

#[test]
fn layers_apply_default_then_file_then_env_then_flags() {
    let file = yaml_file(
        "log_level: warn\n\
         http_address: 127.0.0.1:1001\n\
         grpc_address: 127.0.0.1:2001\n\
         data_dir: /from/file\n\
         http_grace_period: 10s\n",
    );
    let config = load_test(
        &["--config-file", path_of(&file), "--grpc-address=127.0.0.1:2003"],
        &[
            ("THANOS_HTTP_ADDRESS", "127.0.0.1:1002"),
            ("THANOS_GRPC_ADDRESS", "127.0.0.1:2002"),
            ("THANOS_HTTP_GRACE_PERIOD", "20s"),
        ],
    )
    .expect("layered load");
    // Default only.
    assert_eq!(config.common.log_format, LogFormat::Logfmt);
    // File over default.
    assert_eq!(config.common.log_level, LogLevel::Warn);
    assert_eq!(config.data_dir, PathBuf::from("/from/file"));
    // Environment over file.
    assert_eq!(config.common.http_address.to_string(), "127.0.0.1:1002");
    assert_eq!(config.common.http_grace_period.as_duration(), Duration::from_secs(20));
    // Command line over everything.
    assert_eq!(config.common.grpc_address.to_string(), "127.0.0.1:2003");
    // The path itself is kept.
    assert_eq!(config.common.config_file.as_deref(), Some(file.path()));
}

#[test]
fn flag_given_with_its_default_value_still_wins() {
    let file = yaml_file("log.level: debug\n");
    let config = load_test(
        &["--config-file", path_of(&file), "--log.level=info"],
        &[("THANOS_LOG_LEVEL", "error"), ("THANOS_HTTP_GRACE_PERIOD", "5s")],
    )
    .expect("load");
    assert_eq!(config.common.log_level, LogLevel::Info);
    let config =
        load_test(&["--http-grace-period", "2m"], &[("THANOS_HTTP_GRACE_PERIOD", "5s")]).expect("load");
    assert_eq!(config.common.http_grace_period.as_duration(), Duration::from_secs(120));
}

#[test]
fn config_file_accepts_flag_names_and_comments() {
    let file = yaml_file(
        "# thanos-store\n\
         log.format: json\n\
         http-address: \":19902\"\n\
         objstore.config: |\n  type: FILESYSTEM\n  config:\n    directory: /tmp/b\n\
         endpoint: [a:1, b:2]\n\
         limits:\n  max_series: 7\n",
    );
    let config = load_test(&["--config-file", path_of(&file)], &[]).expect("load");
    assert_eq!(config.common.log_format, LogFormat::Json);
    assert_eq!(config.common.http_address.to_string(), "0.0.0.0:19902");
    assert_eq!(
        config.objstore.objstore_config.as_deref(),
        Some("type: FILESYSTEM\nconfig:\n  directory: /tmp/b\n")
    );
    assert_eq!(config.endpoint, ["a:1", "b:2"]);
    assert_eq!(config.limits.max_series, 7);
}

#[test]
fn empty_config_file_is_no_settings() {
    let file = yaml_file("# nothing yet\n");
    let config = load_test(&["--config-file", path_of(&file)], &[]).expect("load");
    assert_eq!(config.common.log_level, LogLevel::Info);
}

#[test]
fn config_file_path_from_environment() {
    let file = yaml_file("data_dir: /env/file\n");
    let config = load_test(&[], &[("THANOS_CONFIG_FILE", path_of(&file))]).expect("load");
    assert_eq!(config.data_dir, PathBuf::from("/env/file"));
    assert_eq!(config.common.config_file.as_deref(), Some(file.path()));
}

#[test]
fn environment_nests_with_double_underscore_and_parses_types() {
    let config = load_test(
        &[],
        &[
            ("THANOS_LIMITS__MAX_SERIES", "42"),
            ("THANOS_ENDPOINT", "[a:1, b:2]"),
            ("THANOS_OBJSTORE_CONFIG", "123"),
            ("THANOS_GRPC_ADDRESS", "[::1]:10901"),
        ],
    )
    .expect("load");
    assert_eq!(config.limits.max_series, 42);
    assert_eq!(config.endpoint, ["a:1", "b:2"]);
    assert_eq!(config.common.grpc_address.to_string(), "[::1]:10901");
    assert_eq!(config.objstore.objstore_config.as_deref(), Some("123"));
    // Kept as text, though it looks like a number: the key is a path.
    let config = load_test(&[], &[("THANOS_DATA_DIR", "123"), ("THANOS_ENDPOINT", "c:3,d:4")]).expect("load");
    assert_eq!(config.data_dir, PathBuf::from("123"));
    assert_eq!(config.endpoint, ["c:3", "d:4"]);
}

#[test]
fn unknown_environment_variables_are_ignored() {
    // Kubernetes service links for a Service named `thanos-query`.
    let config = load_test(
        &[],
        &[
            ("THANOS_QUERY_SERVICE_HOST", "10.0.0.1"),
            ("THANOS_QUERY_PORT", "tcp://10.0.0.1:10902"),
            ("OTHER_HTTP_ADDRESS", "garbage"),
        ],
    )
    .expect("load");
    assert_eq!(config.common.http_address.to_string(), "0.0.0.0:10902");
}

#[test]
fn unknown_key_in_file_names_the_key_and_file() {
    let file = yaml_file("log_level: info\nhttp_adress: 127.0.0.1:1\n");
    let err = load_test(&["--config-file", path_of(&file)], &[]).expect_err("unknown key");
    let ConfigError::UnknownKey { key, source_name } = &err else {
        panic!("expected UnknownKey, got {err:?}");
    };
    assert_eq!(key, "http_adress");
    assert!(source_name.contains(path_of(&file)), "{source_name}");
    let message = err.to_string();
    assert!(message.contains("`http_adress`"), "{message}");
}

#[test]
fn config_file_cannot_name_another_config_file() {
    let file = yaml_file("config_file: /etc/other.yaml\n");
    let err = load_test(&["--config-file", path_of(&file)], &[]).expect_err("refused");
    assert!(matches!(err, ConfigError::UnknownKey { ref key, .. } if key == "config_file"));
}

#[test]
fn unknown_nested_key_in_file_is_an_error() {
    let file = yaml_file("limits:\n  max_seriess: 1\n");
    let err = load_test(&["--config-file", path_of(&file)], &[]).expect_err("unknown key");
    let message = err.to_string();
    assert!(message.contains("max_seriess"), "{message}");
}

#[test]
fn bad_value_in_file_names_key_and_file() {
    let file = yaml_file("log_level: verbose\n");
    let err = load_test(&["--config-file", path_of(&file)], &[]).expect_err("bad value");
    let ConfigError::InvalidValue { key, source_name, .. } = &err else {
        panic!("expected InvalidValue, got {err:?}");
    };
    assert_eq!(key, "log_level");
    assert!(source_name.contains(path_of(&file)), "{source_name}");
}

#[test]
fn bad_value_in_environment_names_the_variable() {
    let err = load_test(&[], &[("THANOS_HTTP_GRACE_PERIOD", "soon")]).expect_err("bad duration");
    let ConfigError::InvalidValue { key, source_name, reason } = &err else {
        panic!("expected InvalidValue, got {err:?}");
    };
    assert_eq!(key, "THANOS_HTTP_GRACE_PERIOD");
    assert_eq!(source_name, "environment");
    assert!(reason.contains("soon"), "{reason}");
}

#[test]
fn bad_flag_value_is_a_clap_error() {
    let err = load_test(&["--log.level", "verbose"], &[]).expect_err("bad flag");
    let ConfigError::Flags(clap_error) = &err else {
        panic!("expected Flags, got {err:?}");
    };
    assert_eq!(clap_error.kind(), clap::error::ErrorKind::InvalidValue);
    let message = err.to_string();
    assert!(message.contains("--log.level"), "{message}");

    let err = load_test(&["--http-address", "nowhere"], &[]).expect_err("bad address");
    assert!(err.to_string().contains("nowhere"), "{err}");
}

#[test]
fn unreadable_or_invalid_file_is_reported() {
    let err = load_test(&["--config-file", "/nonexistent/thanos.yaml"], &[]).expect_err("missing file");
    assert!(matches!(err, ConfigError::ReadFile { .. }), "{err:?}");

    let file = yaml_file("log_level: [unclosed\n");
    let err = load_test(&["--config-file", path_of(&file)], &[]).expect_err("bad yaml");
    assert!(matches!(err, ConfigError::ParseFile { .. }), "{err:?}");

    let file = yaml_file("- a\n- b\n");
    let err = load_test(&["--config-file", path_of(&file)], &[]).expect_err("not a map");
    assert!(matches!(err, ConfigError::ParseFile { .. }), "{err:?}");
}

#[test]
fn objstore_flags_conflict_and_read_content() {
    let err = load_test(&["--objstore.config-file=/a.yaml", "--objstore.config=type: S3"], &[])
        .expect_err("conflict");
    assert!(matches!(err, ConfigError::Flags(_)));

    let bucket = yaml_file("type: FILESYSTEM\n");
    let config = load_test(&["--objstore.config-file", path_of(&bucket)], &[]).expect("load");
    assert_eq!(config.objstore.content().expect("read").as_deref(), Some("type: FILESYSTEM\n"));
}
