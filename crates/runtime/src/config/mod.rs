//! One way for every binary to read its configuration, in four layers, lowest first:
//!
//! 1. the defaults of the clap flags,
//! 2. the YAML file given with `--config-file` (or `THANOS_CONFIG_FILE`),
//! 3. `THANOS_*` environment variables (`THANOS_HTTP_ADDRESS` sets `http_address`; `__` nests),
//! 4. flags actually given on the command line (even when given with their default value).
//!
//! A binary derives clap and serde on one struct and calls [`load`]:
//!
//! ```no_run
//! #[derive(clap::Parser, serde::Serialize, serde::Deserialize)]
//! struct StoreConfig {
//!     #[command(flatten)]
//!     #[serde(flatten)]
//!     common: runtime::config::CommonFlags,
//!     /// Local directory for index-headers.
//!     #[arg(long = "data-dir", default_value = "./data")]
//!     data_dir: std::path::PathBuf,
//! }
//!
//! let config: StoreConfig = runtime::config::load()?;
//! # Ok::<(), runtime::ConfigError>(())
//! ```
//!
//! Keys are the struct's field names, which must equal the clap argument ids (the default for
//! both derives: do not `rename` one without the other). The config file may also use a flag's
//! long name (`http-address`, `log.level`). An unknown key in the file is an error; unknown
//! `THANOS_*` variables are ignored, because Kubernetes injects `THANOS_…_SERVICE_HOST` and
//! similar variables for services whose names start with `thanos`.

mod flags;
mod yaml;

use std::any::TypeId;
use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::{ArgAction, ArgMatches};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use self::flags::{CommonFlags, LogFormat, LogLevel, ObjstoreFlags, parse_listen_address};
pub use self::yaml::Yaml;
use crate::error::ConfigError;

/// The prefix of environment variables that set config keys.
pub const ENV_PREFIX: &str = "THANOS_";

/// The key (and clap id) of the config file path; it cannot be set from inside the file.
const CONFIG_FILE_KEY: &str = "config_file";

/// What [`load`] needs of a binary's config struct; implemented for every fitting type.
pub trait LayeredConfig: clap::Parser + Serialize + DeserializeOwned {}

impl<T: clap::Parser + Serialize + DeserializeOwned> LayeredConfig for T {}

/// Loads `T` from this process' arguments and `THANOS_*` environment variables.
///
/// Like `clap::Parser::parse`, a command-line error (including `--help` and `--version`) prints
/// clap's message and exits the process; errors of the file and environment layers are returned.
pub fn load<T: LayeredConfig>() -> Result<T, ConfigError> {
    let env = std::env::vars_os().filter_map(|(key, value)| {
        let key = key.into_string().ok()?;
        key.starts_with(ENV_PREFIX).then(|| (key, value.to_string_lossy().into_owned()))
    });
    match load_from(std::env::args_os(), env) {
        Err(ConfigError::Flags(clap_error)) => clap_error.exit(),
        other => other,
    }
}

/// Loads `T` from the given arguments (the first is the program name) and environment, without
/// touching the process' own: what tests and embedding use.
pub fn load_from<T, A, E>(args: A, env: E) -> Result<T, ConfigError>
where
    T: LayeredConfig,
    A: IntoIterator,
    A::Item: Into<OsString> + Clone,
    E: IntoIterator<Item = (String, String)>,
{
    let command = T::command();
    let flag_names = FlagNames::of(&command);
    let matches = command.try_get_matches_from(args)?;
    let parsed = T::from_arg_matches(&matches)?;

    let split = split_by_source(&parsed, &matches, &flag_names)?;
    let env_dict = env_layer(env, &split.defaults, &flag_names);
    let config_file = matches.try_get_one::<PathBuf>(CONFIG_FILE_KEY).ok().flatten().cloned().or_else(|| {
        match env_dict.get(CONFIG_FILE_KEY) {
            Some(Value::String(_, path)) => Some(PathBuf::from(path)),
            _ => None,
        }
    });

    // Lowest first.
    let mut layers = Vec::with_capacity(4);
    if let Some(path) = &config_file {
        layers.push(NamedLayer {
            kind: LayerKind::File,
            source_name: format!("config file {}", path.display()),
            dict: file_layer(path, &split.known_keys, &flag_names)?,
        });
    }
    for (kind, dict) in [
        (LayerKind::Environment, env_dict),
        (LayerKind::Environment, split.clap_env),
        (LayerKind::CommandLine, split.command_line),
    ] {
        layers.push(NamedLayer { kind, source_name: kind.name().to_owned(), dict });
    }

    let mut figment = Figment::from(Layer(split.defaults.clone()));
    for layer in &layers {
        figment = figment.merge(Layer(layer.dict.clone()));
    }
    figment.extract::<T>().map_err(|error| {
        locate_invalid_value::<T>(&split.defaults, &layers, &flag_names).unwrap_or_else(|| {
            ConfigError::InvalidValue {
                key: error.path.join("."),
                source_name: "merged config".to_owned(),
                reason: error.kind.to_string(),
            }
        })
    })
}

/// Which layer a value came from, to name its key as that layer spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LayerKind {
    File,
    Environment,
    CommandLine,
}

impl LayerKind {
    fn name(self) -> &'static str {
        match self {
            Self::File => "config file",
            Self::Environment => "environment",
            Self::CommandLine => "command line",
        }
    }
}

/// One layer above the defaults.
struct NamedLayer {
    kind: LayerKind,
    source_name: String,
    dict: Dict,
}

/// Finds the key whose value makes `T` fail to deserialize.
///
/// figment's errors name the key, but not through `#[serde(flatten)]`, which every binary uses
/// for the shared flag groups: serde buffers flattened fields and loses the path. So each
/// effective value is tried alone on top of the defaults (which are valid: they came from a
/// parsed `T`), and the first that fails is reported with the layer that set it.
fn locate_invalid_value<T: DeserializeOwned>(
    defaults: &Dict,
    layers: &[NamedLayer],
    flag_names: &FlagNames,
) -> Option<ConfigError> {
    let mut effective: Vec<(&String, &Value, &NamedLayer)> = Vec::new();
    for layer in layers.iter().rev() {
        for (key, value) in &layer.dict {
            if !effective.iter().any(|(seen, _, _)| *seen == key) {
                effective.push((key, value, layer));
            }
        }
    }
    effective.into_iter().find_map(|(key, value, layer)| {
        let mut alone = Dict::new();
        alone.insert(key.clone(), value.clone());
        let error = Figment::from(Layer(defaults.clone())).merge(Layer(alone)).extract::<T>().err()?;
        let key = match layer.kind {
            LayerKind::File => key.clone(),
            LayerKind::Environment => format!("{ENV_PREFIX}{}", key.to_ascii_uppercase()),
            LayerKind::CommandLine => flag_names.describe(key),
        };
        Some(ConfigError::InvalidValue {
            key,
            source_name: layer.source_name.clone(),
            reason: error.kind.to_string(),
        })
    })
}

/// Clap's ids and long names, to accept flag names in the file and name flags in errors.
#[derive(Debug, Default)]
struct FlagNames {
    ids: Vec<String>,
    /// Args taking one text value (`String`, `PathBuf`, `OsString`), whatever it looks like.
    text_ids: Vec<String>,
    /// Repeatable args taking text values (`--endpoint a --endpoint b`).
    text_list_ids: Vec<String>,
    long_by_id: HashMap<String, String>,
    id_by_long: HashMap<String, String>,
}

impl FlagNames {
    fn of(command: &clap::Command) -> Self {
        let mut names = Self::default();
        for arg in command.get_arguments() {
            let id = arg.get_id().as_str().to_owned();
            if id == "help" || id == "version" {
                continue;
            }
            let value_type = arg.get_value_parser().type_id();
            if value_type == TypeId::of::<String>()
                || value_type == TypeId::of::<PathBuf>()
                || value_type == TypeId::of::<OsString>()
            {
                match arg.get_action() {
                    ArgAction::Set => names.text_ids.push(id.clone()),
                    ArgAction::Append => names.text_list_ids.push(id.clone()),
                    _ => {}
                }
            }
            names.ids.push(id.clone());
            if let Some(long) = arg.get_long() {
                names.id_by_long.insert(long.to_owned(), id.clone());
                names.long_by_id.insert(id, long.to_owned());
            }
        }
        names
    }

    fn is_flag(&self, id: &str) -> bool {
        self.ids.iter().any(|known| known == id)
    }

    fn is_text(&self, id: &str) -> bool {
        self.text_ids.iter().any(|known| known == id)
    }

    fn is_text_list(&self, id: &str) -> bool {
        self.text_list_ids.iter().any(|known| known == id)
    }

    /// `--http-address` for `http_address`.
    fn describe(&self, id: &str) -> String {
        match self.long_by_id.get(id) {
            Some(long) => format!("--{long}"),
            None => id.to_owned(),
        }
    }
}

/// The parsed flags, cut by where clap found each value.
struct SourceLayers {
    defaults: Dict,
    clap_env: Dict,
    command_line: Dict,
    /// Every key the config struct has (but the config file path).
    known_keys: Vec<String>,
}

fn split_by_source<T: Serialize>(
    parsed: &T,
    matches: &ArgMatches,
    flag_names: &FlagNames,
) -> Result<SourceLayers, ConfigError> {
    let serialized =
        Value::serialize(parsed).map_err(|err| ConfigError::NotAStruct { reason: err.to_string() })?;
    let Value::Dict(_, all) = serialized else {
        return Err(ConfigError::NotAStruct { reason: format!("got {}", serialized.to_actual()) });
    };
    let mut layers = SourceLayers {
        defaults: Dict::new(),
        clap_env: Dict::new(),
        command_line: Dict::new(),
        known_keys: Vec::new(),
    };
    for (key, value) in all {
        if key != CONFIG_FILE_KEY {
            layers.known_keys.push(key.clone());
        }
        // `value_source` panics on ids clap does not know, such as `#[arg(skip)]` fields.
        let source = flag_names.is_flag(&key).then(|| matches.value_source(&key)).flatten();
        let layer = match source {
            Some(ValueSource::CommandLine) => &mut layers.command_line,
            Some(ValueSource::EnvVariable) => &mut layers.clap_env,
            _ => &mut layers.defaults,
        };
        layer.insert(key, value);
    }
    // Serialization may leave out fields (`skip_serializing_if`); their flags are still keys.
    for id in &flag_names.ids {
        if id != CONFIG_FILE_KEY && !layers.known_keys.contains(id) {
            layers.known_keys.push(id.clone());
        }
    }
    Ok(layers)
}

/// Reads the YAML file into a dict keyed by field names, rejecting keys the struct lacks.
fn file_layer(path: &Path, known_keys: &[String], flag_names: &FlagNames) -> Result<Dict, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| ConfigError::ReadFile { path: path.to_owned(), source })?;
    let written: Dict = <Yaml as figment::providers::Format>::from_str(&text)
        .map_err(|err| ConfigError::ParseFile { path: path.to_owned(), reason: err.to_string() })?;
    let mut dict = Dict::new();
    for (key, value) in written {
        let field = if known_keys.contains(&key) {
            key
        } else if let Some(id) = flag_names.id_by_long.get(&key).filter(|id| known_keys.contains(id)) {
            id.clone()
        } else {
            return Err(ConfigError::UnknownKey {
                key,
                source_name: format!("config file {}", path.display()),
            });
        };
        dict.insert(field, value);
    }
    Ok(dict)
}

/// `THANOS_*` variables as a dict. A variable's value is kept as text where the flag takes text or
/// the default is text (so `THANOS_DATA_DIR=123` stays a path); a repeatable text flag takes
/// `a,b` or `[a, b]`; anything else is parsed as figment parses environment values (numbers,
/// booleans, `[1, 2]` arrays, `{k = v}` maps).
fn env_layer(
    env: impl IntoIterator<Item = (String, String)>,
    defaults: &Dict,
    flag_names: &FlagNames,
) -> Dict {
    let mut dict = Dict::new();
    for (name, raw_value) in env {
        let Some(key) = name.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        let key = key.to_ascii_lowercase();
        let path: Vec<&str> = key.split("__").collect();
        let top = path[0];
        if path.iter().any(|segment| segment.is_empty())
            || !(defaults.contains_key(top) || flag_names.is_flag(top))
        {
            continue;
        }
        let keep_as_text = path.len() == 1
            && (matches!(defaults.get(top), Some(Value::String(..))) || flag_names.is_text(top));
        let value = if keep_as_text {
            Value::from(raw_value)
        } else if path.len() == 1 && flag_names.is_text_list(top) {
            text_list(&raw_value)
        } else {
            raw_value.parse::<Value>().expect("figment's Value parsing is infallible")
        };
        insert_path(&mut dict, &path, value);
    }
    dict
}

/// `a,b` or `[a, b]` as a list of strings, for repeatable text flags.
fn text_list(raw_value: &str) -> Value {
    let trimmed = raw_value.trim();
    let inner = trimmed.strip_prefix('[').and_then(|rest| rest.strip_suffix(']')).unwrap_or(trimmed);
    let items: Vec<Value> =
        inner.split(',').map(str::trim).filter(|item| !item.is_empty()).map(Value::from).collect();
    Value::from(items)
}

fn insert_path(dict: &mut Dict, path: &[&str], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut current = dict;
    for segment in parents {
        let entry = current.entry((*segment).to_owned()).or_insert_with(|| Value::from(Dict::new()));
        if !matches!(entry, Value::Dict(..)) {
            *entry = Value::from(Dict::new());
        }
        let Value::Dict(_, next) = entry else {
            unreachable!("entry was just made a dict");
        };
        current = next;
    }
    current.insert((*last).to_owned(), value);
}

/// A figment provider over a ready dict.
struct Layer(Dict);

impl Provider for Layer {
    fn metadata(&self) -> Metadata {
        Metadata::named("thanos-rs config layer")
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Ok(Profile::Default.collect(self.0.clone()))
    }
}

#[cfg(test)]
mod tests;
