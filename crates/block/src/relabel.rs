//! Selecting blocks by relabelling their external labels (Thanos' `LabelShardedMetaFilter`,
//! `--selector.relabel-config`): the `keep`, `drop` and `hashmod` actions of Prometheus'
//! relabelling, over the block's external labels plus `__block_id`.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use md5::{Digest, Md5};
use objstore::Bucket;
use regex::Regex;
use serde::Deserialize;
use tsdb_format::meta::BlockMeta;
use ulid::Ulid;

use crate::fetch::{SyncStates, synced_state};
use crate::{MetaFilter, Result};

/// The label holding the block's ULID during selection.
pub const BLOCK_ID_LABEL: &str = "__block_id";

/// A relabel action a block selector supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum RelabelAction {
    /// Keep the block only when the regex matches.
    Keep,
    /// Drop the block when the regex matches.
    Drop,
    /// Set `target_label` to `md5(value) % modulus`, for a later keep or drop.
    HashMod,
}

impl TryFrom<String> for RelabelAction {
    type Error = RelabelError;

    fn try_from(value: String) -> Result<Self, RelabelError> {
        match value.to_ascii_lowercase().as_str() {
            "keep" => Ok(Self::Keep),
            "drop" => Ok(Self::Drop),
            "hashmod" => Ok(Self::HashMod),
            _ => Err(RelabelError::UnsupportedAction(value)),
        }
    }
}

/// One rule of a relabel configuration, as Prometheus' YAML spells it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RelabelConfig {
    /// Labels whose values, joined by `separator`, are matched or hashed.
    #[serde(default)]
    pub source_labels: Vec<String>,
    /// Joins the source values; `;` by default.
    #[serde(default = "default_separator")]
    pub separator: String,
    /// Matched against the whole joined value; `(.*)` by default.
    #[serde(default = "default_regex")]
    pub regex: String,
    /// For `hashmod`: the number of shards.
    #[serde(default)]
    pub modulus: u64,
    /// For `hashmod`: the label to write the shard number to.
    #[serde(default)]
    pub target_label: String,
    /// What to do; Prometheus' default (`replace`) is not supported in a selector.
    pub action: RelabelAction,
}

fn default_separator() -> String {
    ";".to_string()
}

fn default_regex() -> String {
    "(.*)".to_string()
}

impl RelabelConfig {
    /// A rule with Prometheus' defaults for everything but `action`.
    pub fn new(action: RelabelAction) -> Self {
        Self {
            source_labels: Vec::new(),
            separator: default_separator(),
            regex: default_regex(),
            modulus: 0,
            target_label: String::new(),
            action,
        }
    }
}

/// Why a relabel configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RelabelError {
    /// Only `keep`, `drop` and `hashmod` select blocks.
    #[error("unsupported relabel action: {0}")]
    UnsupportedAction(String),
    /// The regex does not compile.
    #[error("invalid regex {regex:?}: {reason}")]
    InvalidRegex {
        /// The regex as given.
        regex: String,
        /// The compiler's complaint.
        reason: String,
    },
    /// `hashmod` needs a non-zero modulus.
    #[error("relabel configuration for hashmod requires non-zero modulus")]
    ZeroModulus,
    /// `hashmod` needs a target label.
    #[error("relabel configuration for hashmod action requires 'target_label' value")]
    MissingTargetLabel,
}

#[derive(Debug)]
struct CompiledRule {
    config: RelabelConfig,
    regex: Regex,
}

/// Hides blocks a relabel configuration drops (Thanos' `LabelShardedMetaFilter`).
///
/// Each block is given its external labels, minus `dedup_replica_labels` (so replicas of one
/// stream land on one shard), plus [`BLOCK_ID_LABEL`]; rules run in order and a block some rule
/// drops is counted as `label-excluded`.
#[derive(Debug)]
pub struct LabelShardedMetaFilter {
    rules: Vec<CompiledRule>,
    dedup_replica_labels: BTreeSet<String>,
}

impl LabelShardedMetaFilter {
    /// Compiles `configs`; `dedup_replica_labels` are left out of every block's labels.
    pub fn new(
        configs: Vec<RelabelConfig>,
        dedup_replica_labels: impl IntoIterator<Item = impl Into<String>>,
    ) -> Result<Self, RelabelError> {
        let rules = configs
            .into_iter()
            .map(|config| {
                if config.action == RelabelAction::HashMod {
                    if config.modulus == 0 {
                        return Err(RelabelError::ZeroModulus);
                    }
                    if config.target_label.is_empty() {
                        return Err(RelabelError::MissingTargetLabel);
                    }
                }
                let regex = Regex::new(&format!("^(?s:{})$", config.regex)).map_err(|e| {
                    RelabelError::InvalidRegex { regex: config.regex.clone(), reason: e.to_string() }
                })?;
                Ok(CompiledRule { config, regex })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { rules, dedup_replica_labels: dedup_replica_labels.into_iter().map(Into::into).collect() })
    }

    /// Whether the rules keep a block with these labels (including [`BLOCK_ID_LABEL`]).
    pub fn keeps(&self, labels: &BTreeMap<String, String>) -> bool {
        let mut labels = labels.clone();
        for rule in &self.rules {
            let value = rule
                .config
                .source_labels
                .iter()
                .map(|name| labels.get(name).map_or("", String::as_str))
                .collect::<Vec<_>>()
                .join(&rule.config.separator);
            match rule.config.action {
                RelabelAction::Keep if !rule.regex.is_match(&value) => return false,
                RelabelAction::Drop if rule.regex.is_match(&value) => return false,
                RelabelAction::Keep | RelabelAction::Drop => {}
                RelabelAction::HashMod => {
                    // As Prometheus' hashmod: the digest's last 8 bytes, big-endian, mod the modulus.
                    let digest = Md5::digest(value.as_bytes());
                    let mut tail = [0u8; 8];
                    tail.copy_from_slice(&digest[8..]);
                    let shard = u64::from_be_bytes(tail) % rule.config.modulus;
                    labels.insert(rule.config.target_label.clone(), shard.to_string());
                }
            }
        }
        true
    }
}

#[async_trait]
impl MetaFilter for LabelShardedMetaFilter {
    fn name(&self) -> &'static str {
        "label-sharded"
    }

    async fn filter(
        &self,
        _bucket: &dyn Bucket,
        metas: &mut BTreeMap<Ulid, BlockMeta>,
        states: &mut SyncStates,
    ) -> Result<()> {
        metas.retain(|id, meta| {
            let mut labels: BTreeMap<String, String> = meta
                .thanos
                .iter()
                .flat_map(|thanos| thanos.labels.iter())
                .filter(|(name, _)| !self.dedup_replica_labels.contains(*name))
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect();
            labels.insert(BLOCK_ID_LABEL.to_string(), id.to_string());
            let keep = self.keeps(&labels);
            if !keep {
                states.inc_synced(synced_state::LABEL_EXCLUDED);
            }
            keep
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn md5_matches_rfc_1321() {
        assert_eq!(hex(&Md5::digest(b"")), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(hex(&Md5::digest(b"abc")), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(
            hex(&Md5::digest(b"The quick brown fox jumps over the lazy dog")),
            "9e107d9d372bb6826bd81d3542a419d6"
        );
        let long = vec![b'a'; 1000];
        assert_eq!(hex(&Md5::digest(&long)), "cabe45dcc9ae5b66ba86600cca6b8ba8");
    }

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn keep_drop_and_hashmod() {
        let mut keep_eu = RelabelConfig::new(RelabelAction::Keep);
        keep_eu.source_labels = vec!["region".into()];
        keep_eu.regex = "eu|us".into();
        let filter = LabelShardedMetaFilter::new(vec![keep_eu.clone()], Vec::<String>::new()).unwrap();
        assert!(filter.keeps(&labels(&[("region", "eu")])));
        assert!(!filter.keeps(&labels(&[("region", "eu-west")])), "anchored");
        assert!(!filter.keeps(&labels(&[])), "missing label is the empty value");

        let mut drop_empty = RelabelConfig::new(RelabelAction::Drop);
        drop_empty.source_labels = vec!["region".into()];
        drop_empty.regex = "".into();
        let filter = LabelShardedMetaFilter::new(vec![drop_empty], Vec::<String>::new()).unwrap();
        assert!(!filter.keeps(&labels(&[])));
        assert!(filter.keeps(&labels(&[("region", "x")])));

        // Values from Python's hashlib: md5("01HMX4T4V4B2Y2Q9X8Y7W6V5T4;eu") tail % 3 = 0, % 7 = 3.
        let mut hash = RelabelConfig::new(RelabelAction::HashMod);
        hash.source_labels = vec![BLOCK_ID_LABEL.into(), "region".into()];
        hash.modulus = 7;
        hash.target_label = "shard".into();
        let mut keep_shard = RelabelConfig::new(RelabelAction::Keep);
        keep_shard.source_labels = vec!["shard".into()];
        keep_shard.regex = "3".into();
        let filter =
            LabelShardedMetaFilter::new(vec![hash.clone(), keep_shard], Vec::<String>::new()).unwrap();
        let block = labels(&[(BLOCK_ID_LABEL, "01HMX4T4V4B2Y2Q9X8Y7W6V5T4"), ("region", "eu")]);
        assert!(filter.keeps(&block));
        hash.modulus = 3;
        let mut keep_zero = RelabelConfig::new(RelabelAction::Keep);
        keep_zero.source_labels = vec!["shard".into()];
        keep_zero.regex = "0".into();
        let filter = LabelShardedMetaFilter::new(vec![hash, keep_zero], Vec::<String>::new()).unwrap();
        assert!(filter.keeps(&block));
    }

    #[test]
    fn validates_configs() {
        let hash = RelabelConfig::new(RelabelAction::HashMod);
        assert_eq!(LabelShardedMetaFilter::new(vec![hash], [""; 0]).unwrap_err(), RelabelError::ZeroModulus);
        let mut bad = RelabelConfig::new(RelabelAction::Keep);
        bad.regex = "(".into();
        assert!(matches!(
            LabelShardedMetaFilter::new(vec![bad], [""; 0]),
            Err(RelabelError::InvalidRegex { .. })
        ));
        let parsed: std::result::Result<RelabelConfig, _> =
            serde_json::from_str(r#"{"action":"replace","target_label":"x"}"#);
        assert!(parsed.unwrap_err().to_string().contains("unsupported relabel action: replace"));
        let parsed: RelabelConfig = serde_json::from_str(
            r#"{"action":"HashMod","source_labels":["a"],"modulus":2,"target_label":"s"}"#,
        )
        .unwrap();
        assert_eq!(
            (parsed.action, parsed.separator.as_str(), parsed.regex.as_str()),
            (RelabelAction::HashMod, ";", "(.*)")
        );
    }
}
