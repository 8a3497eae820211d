//! The StoreAPI endpoints the querier fans out to: the static `--endpoint`s plus those listed in
//! `--endpoint.sd-files`, each asked `thanos.info.Info/Info` periodically. An endpoint whose Info
//! fails is unhealthy and not queried until it answers again (Thanos' `EndpointSet`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use runtime::shutdown::CancellationToken;
use serde::Deserialize;
use storeapi::matchers::{Matcher, label_sets_match};
use storeapi::pb::thanos::info::InfoRequest;
use storeapi::pb::thanos::info::info_client::InfoClient;
use storeapi::pb::thanos::store_client::StoreClient;
use tonic::transport::Channel;
use tsdb_format::Labels;

/// What an endpoint said about itself in its last successful Info call.
#[derive(Debug, Clone)]
pub(crate) struct EndpointInfo {
    /// `InfoResponse.ComponentType`, e.g. `sidecar`, `store`, `query`.
    pub(crate) component_type: String,
    /// External label sets.
    pub(crate) label_sets: Vec<Labels>,
    /// Earliest timestamp served, ms.
    pub(crate) min_time: i64,
    /// Latest timestamp served, ms.
    pub(crate) max_time: i64,
}

/// Health of one endpoint, as `/api/v1/stores` shows it.
#[derive(Debug, Clone, Default)]
pub(crate) struct EndpointStatus {
    /// When Info was last asked.
    pub(crate) last_check: Option<SystemTime>,
    /// The last Info error, `None` when healthy.
    pub(crate) last_error: Option<String>,
    /// The last successful answer (kept while unhealthy, for display).
    pub(crate) info: Option<EndpointInfo>,
}

/// One StoreAPI endpoint with its clients.
#[derive(Debug)]
pub(crate) struct Endpoint {
    /// The address as configured (`host:port`).
    pub(crate) address: String,
    channel: Channel,
    status: Mutex<EndpointStatus>,
}

impl Endpoint {
    fn new(address: &str) -> anyhow::Result<Self> {
        // Thanos' `dns+host:port` means "resolve host": the gRPC client resolves anyway.
        // `dnssrv+` (SRV records) is not supported.
        if address.starts_with("dnssrv+") || address.starts_with("dnssrvnoa+") {
            anyhow::bail!(
                "SRV discovery ({address}) is not supported; list the endpoints or use --endpoint.sd-files"
            );
        }
        let target = address.strip_prefix("dns+").unwrap_or(address);
        let channel = storeapi::grpc::endpoint(target)?
            .connect_timeout(Duration::from_secs(5))
            .tcp_nodelay(true)
            .connect_lazy();
        Ok(Self { address: address.to_string(), channel, status: Mutex::new(EndpointStatus::default()) })
    }

    /// A Store client (cheap: clients share the channel).
    pub(crate) fn store_client(&self) -> StoreClient<Channel> {
        storeapi::grpc::store_client(self.channel.clone())
    }

    fn info_client(&self) -> InfoClient<Channel> {
        storeapi::grpc::info_client(self.channel.clone())
    }

    /// A copy of the current status.
    pub(crate) fn status(&self) -> EndpointStatus {
        self.status.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// The info of a healthy endpoint; `None` while unhealthy or not a store.
    pub(crate) fn healthy_info(&self) -> Option<EndpointInfo> {
        let status = self.status();
        if status.last_error.is_some() { None } else { status.info }
    }

    async fn check(&self, timeout: Duration) {
        let mut client = self.info_client();
        let answer = tokio::time::timeout(timeout, client.info(InfoRequest {})).await;
        let result = match answer {
            Err(_) => Err(format!("info call to {} timed out after {timeout:?}", self.address)),
            Ok(Err(status)) => Err(format!("fetching info from {}: {}", self.address, status.message())),
            Ok(Ok(response)) => {
                let info = response.into_inner();
                match info.store {
                    Some(store) => Ok(EndpointInfo {
                        component_type: info.component_type,
                        label_sets: storeapi::labels::from_zlabel_sets(&info.label_sets),
                        min_time: store.min_time,
                        max_time: store.max_time,
                    }),
                    None => Err(format!("endpoint {} does not serve the StoreAPI", self.address)),
                }
            }
        };
        let Ok(mut status) = self.status.lock() else { return };
        status.last_check = Some(SystemTime::now());
        match result {
            Ok(info) => {
                if status.last_error.is_some() || status.info.is_none() {
                    tracing::info!(address = %self.address, component = %info.component_type, "adding new store to query storeset");
                }
                status.last_error = None;
                status.info = Some(info);
            }
            Err(error) => {
                if status.last_error.is_none() {
                    tracing::warn!(address = %self.address, err = %error, "update of endpoint failed");
                }
                status.last_error = Some(error);
            }
        }
    }

    /// Whether a query over `[mint, maxt]` with `matchers` may find data here (Thanos' store
    /// selection: time overlap, then external label sets).
    pub(crate) fn matches(info: &EndpointInfo, mint: i64, maxt: i64, matchers: &[Matcher]) -> bool {
        if mint > info.max_time || maxt < info.min_time {
            return false;
        }
        label_sets_match(matchers, &info.label_sets)
    }
}

/// Every endpoint the querier knows.
#[derive(Debug)]
pub(crate) struct EndpointSet {
    static_addresses: Vec<String>,
    sd_files: Vec<PathBuf>,
    info_timeout: Duration,
    endpoints: RwLock<BTreeMap<String, Arc<Endpoint>>>,
    /// Last seen modification times of the SD files, to re-read them on change.
    sd_mtimes: Mutex<Vec<Option<SystemTime>>>,
}

/// One target group of a Prometheus file-SD file.
#[derive(Debug, Deserialize)]
struct TargetGroup {
    #[serde(default)]
    targets: Vec<String>,
}

impl EndpointSet {
    /// A set over static addresses and SD files; call [`EndpointSet::refresh`] to learn them.
    pub(crate) fn new(static_addresses: Vec<String>, sd_files: Vec<PathBuf>, info_timeout: Duration) -> Self {
        let mtimes = vec![None; sd_files.len()];
        Self {
            static_addresses,
            sd_files,
            info_timeout,
            endpoints: RwLock::new(BTreeMap::new()),
            sd_mtimes: Mutex::new(mtimes),
        }
    }

    /// Every endpoint, sorted by address.
    pub(crate) fn all(&self) -> Vec<Arc<Endpoint>> {
        self.endpoints.read().map(|e| e.values().cloned().collect()).unwrap_or_default()
    }

    /// Healthy endpoints with their info.
    pub(crate) fn healthy(&self) -> Vec<(Arc<Endpoint>, EndpointInfo)> {
        self.all().into_iter().filter_map(|e| e.healthy_info().map(|info| (e, info))).collect()
    }

    /// Re-reads the SD files (when `force` or when they changed), reconciles the endpoint list
    /// and asks every endpoint for its Info.
    pub(crate) async fn refresh(&self, force_sd: bool) {
        self.reconcile(force_sd);
        let endpoints = self.all();
        futures::future::join_all(endpoints.iter().map(|e| e.check(self.info_timeout))).await;
    }

    fn reconcile(&self, force_sd: bool) {
        let changed = self.sd_files_changed();
        let never_listed = self.endpoints.read().map(|e| e.is_empty()).unwrap_or(true);
        if !(force_sd || changed || never_listed) {
            return;
        }
        let mut wanted: BTreeSet<String> = self.static_addresses.iter().cloned().collect();
        for file in &self.sd_files {
            match read_sd_file(file) {
                Ok(targets) => wanted.extend(targets),
                Err(error) => {
                    tracing::error!(file = %file.display(), err = %error, "reading endpoint SD file")
                }
            }
        }
        let Ok(mut endpoints) = self.endpoints.write() else { return };
        endpoints.retain(|address, _| {
            let keep = wanted.contains(address);
            if !keep {
                tracing::info!(address = %address, "removing endpoint no longer configured");
            }
            keep
        });
        for address in wanted {
            if endpoints.contains_key(&address) {
                continue;
            }
            match Endpoint::new(&address) {
                Ok(endpoint) => {
                    endpoints.insert(address, Arc::new(endpoint));
                }
                Err(error) => tracing::error!(address = %address, err = %error, "invalid endpoint address"),
            }
        }
    }

    fn sd_files_changed(&self) -> bool {
        let now: Vec<Option<SystemTime>> =
            self.sd_files.iter().map(|f| std::fs::metadata(f).and_then(|m| m.modified()).ok()).collect();
        let Ok(mut seen) = self.sd_mtimes.lock() else { return false };
        let changed = *seen != now;
        *seen = now;
        changed
    }

    /// Refreshes every `interval` (SD files re-read on change, and fully every `sd_interval`)
    /// until `shutdown`.
    pub(crate) async fn run(
        self: Arc<Self>,
        interval: Duration,
        sd_interval: Duration,
        shutdown: CancellationToken,
    ) {
        let mut last_full = tokio::time::Instant::now();
        loop {
            tokio::select! {
                () = tokio::time::sleep(interval) => {}
                () = shutdown.cancelled() => return,
            }
            let force = last_full.elapsed() >= sd_interval;
            if force {
                last_full = tokio::time::Instant::now();
            }
            self.refresh(force).await;
        }
    }
}

/// The targets of a Prometheus file-SD file (YAML, or JSON by extension).
fn read_sd_file(path: &Path) -> anyhow::Result<Vec<String>> {
    let text = std::fs::read_to_string(path)?;
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let groups: Vec<TargetGroup> = if path.extension().is_some_and(|e| e == "json") {
        serde_json::from_str(&text)?
    } else {
        serde_saphyr::from_str(&text)?
    };
    Ok(groups.into_iter().flat_map(|g| g.targets).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sd_files_in_yaml_and_json() {
        let dir = tempfile::tempdir().expect("tempdir");
        let yaml = dir.path().join("sd.yml");
        std::fs::write(&yaml, "- targets: ['a:1', 'b:2']\n  labels: {x: y}\n- targets: [c:3]\n")
            .expect("write");
        assert_eq!(read_sd_file(&yaml).expect("yaml"), ["a:1", "b:2", "c:3"]);
        let json = dir.path().join("sd.json");
        std::fs::write(&json, r#"[{"targets":["d:4"]}]"#).expect("write");
        assert_eq!(read_sd_file(&json).expect("json"), ["d:4"]);
    }

    #[test]
    fn store_selection_by_time_and_labels() {
        let info = EndpointInfo {
            component_type: "store".into(),
            label_sets: vec![Labels::from_pairs([("cluster", "eu")])],
            min_time: 100,
            max_time: 200,
        };
        assert!(Endpoint::matches(&info, 150, 300, &[]));
        assert!(!Endpoint::matches(&info, 201, 300, &[]));
        assert!(!Endpoint::matches(&info, 0, 99, &[]));
        assert!(Endpoint::matches(&info, 0, 100, &[Matcher::equal("cluster", "eu")]));
        assert!(!Endpoint::matches(&info, 0, 100, &[Matcher::equal("cluster", "us")]));
        assert!(Endpoint::matches(&info, 0, 100, &[Matcher::equal("job", "x")]));
    }
}
