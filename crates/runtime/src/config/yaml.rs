//! YAML for figment through serde-saphyr (figment's own `yaml` feature pulls in the deprecated
//! serde_yaml).

use figment::providers::Format;
use serde::de::DeserializeOwned;

/// The YAML data format, usable as `figment::providers::Data::<Yaml>::file(path)`.
#[derive(Debug, Clone, Copy)]
pub struct Yaml;

impl Format for Yaml {
    type Error = serde_saphyr::Error;

    const NAME: &'static str = "YAML";

    fn from_str<T: DeserializeOwned>(string: &str) -> Result<T, Self::Error> {
        // A file of comments only (or nothing) means "no settings", not "null is not a map".
        let has_content = string.lines().any(|line| {
            let trimmed = line.trim();
            !trimmed.is_empty() && !trimmed.starts_with('#') && trimmed != "---"
        });
        if has_content { serde_saphyr::from_str(string) } else { serde_saphyr::from_str("{}") }
    }
}
