//! gRPC plumbing as Thanos sets it up: message size limits of `i32::MAX` both ways on servers
//! and clients (`pkg/server/grpc`, `pkg/extgrpc`), a server for the Store and Info services,
//! client builders, and the answer to the deprecated `thanos.Store/Info` RPC.

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;
use tonic::service::Routes;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Channel, Endpoint, Server};

use crate::error::{Error, Result};
use crate::pb::thanos::info::InfoResponse;
use crate::pb::thanos::info::info_client::InfoClient;
use crate::pb::thanos::info::info_server::{Info, InfoServer};
use crate::pb::thanos::store_client::StoreClient;
use crate::pb::thanos::store_server::{Store, StoreServer};
use crate::pb::thanos::{self as pb, StoreType};

/// Largest message accepted or sent, on servers and clients: Go's `math.MaxInt32`, as Thanos.
pub const MAX_MESSAGE_SIZE: usize = i32::MAX as usize;

/// `InfoResponse.ComponentType` values (Thanos' `pkg/component`).
pub mod component {
    /// `thanos sidecar`.
    pub const SIDECAR: &str = "sidecar";
    /// `thanos store` (store gateway).
    pub const STORE: &str = "store";
    /// `thanos query`.
    pub const QUERY: &str = "query";
    /// `thanos rule`.
    pub const RULE: &str = "rule";
    /// `thanos receive`.
    pub const RECEIVE: &str = "receive";
    /// Debug StoreAPI servers (`thanos tools store-api-serve`).
    pub const DEBUG: &str = "debug";
}

/// The Store service with Thanos' message limits.
pub fn store_server<S: Store>(store: Arc<S>) -> StoreServer<S> {
    StoreServer::from_arc(store)
        .max_decoding_message_size(MAX_MESSAGE_SIZE)
        .max_encoding_message_size(MAX_MESSAGE_SIZE)
}

/// The Info service with Thanos' message limits.
pub fn info_server<I: Info>(info: Arc<I>) -> InfoServer<I> {
    InfoServer::from_arc(info)
        .max_decoding_message_size(MAX_MESSAGE_SIZE)
        .max_encoding_message_size(MAX_MESSAGE_SIZE)
}

/// Routes serving `thanos.Store` (including the deprecated `Store/Info`) and `thanos.info.Info`,
/// to add to a server that may carry more services.
pub fn routes<S: Store, I: Info>(store: Arc<S>, info: Arc<I>) -> Routes {
    Routes::new(store_server(store)).add_service(info_server(info))
}

/// Serves the Store and Info services on `listener` until `shutdown` completes, then lets
/// running calls finish.
pub async fn serve<S, I, F>(listener: TcpListener, store: Arc<S>, info: Arc<I>, shutdown: F) -> Result<()>
where
    S: Store,
    I: Info,
    F: Future<Output = ()> + Send,
{
    Server::builder()
        .add_routes(routes(store, info))
        // Without TCP_NODELAY small answers wait for the peer's delayed ACK (~40 ms each).
        .serve_with_incoming_shutdown(TcpIncoming::from(listener).with_nodelay(Some(true)), shutdown)
        .await?;
    Ok(())
}

/// An endpoint for a StoreAPI address: Thanos' `host:port` form, or a full `http://` URI.
pub fn endpoint(address: &str) -> Result<Endpoint> {
    let uri = if address.contains("://") { address.to_string() } else { format!("http://{address}") };
    Endpoint::from_shared(uri)
        .map_err(|e| Error::InvalidArgument(format!("invalid endpoint address {address:?}: {e}")))
}

/// Connects to a StoreAPI address (see [`endpoint`]).
pub async fn connect(address: &str) -> Result<Channel> {
    Ok(endpoint(address)?.connect().await?)
}

/// A Store client with Thanos' message limits.
pub fn store_client(channel: Channel) -> StoreClient<Channel> {
    StoreClient::new(channel)
        .max_decoding_message_size(MAX_MESSAGE_SIZE)
        .max_encoding_message_size(MAX_MESSAGE_SIZE)
}

/// An Info client with Thanos' message limits.
pub fn info_client(channel: Channel) -> InfoClient<Channel> {
    InfoClient::new(channel)
        .max_decoding_message_size(MAX_MESSAGE_SIZE)
        .max_encoding_message_size(MAX_MESSAGE_SIZE)
}

/// The deprecated `Store/Info` store type of a `ComponentType` string.
pub fn store_type(component_type: &str) -> StoreType {
    match component_type {
        component::QUERY => StoreType::Query,
        component::RULE => StoreType::Rule,
        component::SIDECAR => StoreType::Sidecar,
        component::STORE => StoreType::Store,
        component::RECEIVE => StoreType::Receive,
        component::DEBUG => StoreType::Debug,
        _ => StoreType::Unknown,
    }
}

/// The answer to the deprecated `thanos.Store/Info` RPC, derived from the Info API's answer,
/// so that a server implements one and forwards the other. The deprecated `labels` field
/// carries the label set when there is exactly one, as pre-v0.37 sidecars did.
pub fn legacy_info_response(info: &InfoResponse) -> pb::InfoResponse {
    let label_sets: Vec<pb::LabelSet> =
        info.label_sets.iter().map(|set| pb::LabelSet { labels: set.labels.clone() }).collect();
    let labels = match label_sets.as_slice() {
        [only] => only.labels.clone(),
        _ => Vec::new(),
    };
    let (min_time, max_time) = info.store.as_ref().map_or((0, 0), |store| (store.min_time, store.max_time));
    pb::InfoResponse {
        labels,
        min_time,
        max_time,
        store_type: store_type(&info.component_type) as i32,
        label_sets,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::pb_from_pairs;
    use crate::pb::thanos::ZLabelSet;
    use crate::pb::thanos::info::StoreInfo;

    #[test]
    fn legacy_info_from_info_api() {
        let info = InfoResponse {
            label_sets: vec![ZLabelSet { labels: pb_from_pairs([("cluster", "eu")]) }],
            component_type: component::SIDECAR.into(),
            store: Some(StoreInfo { min_time: 5, max_time: i64::MAX, ..Default::default() }),
            ..Default::default()
        };
        let legacy = legacy_info_response(&info);
        assert_eq!(legacy.labels, pb_from_pairs([("cluster", "eu")]));
        assert_eq!(legacy.label_sets.len(), 1);
        assert_eq!((legacy.min_time, legacy.max_time), (5, i64::MAX));
        assert_eq!(legacy.store_type, StoreType::Sidecar as i32);

        let two = InfoResponse {
            label_sets: vec![ZLabelSet::default(), ZLabelSet::default()],
            ..Default::default()
        };
        let legacy = legacy_info_response(&two);
        assert!(legacy.labels.is_empty());
        assert_eq!(legacy.store_type, StoreType::Unknown as i32);
    }

    #[test]
    fn endpoint_accepts_thanos_addresses() {
        assert_eq!(endpoint("127.0.0.1:10901").expect("valid").uri().to_string(), "http://127.0.0.1:10901/");
        assert_eq!(endpoint("http://store:10901").expect("valid").uri().host(), Some("store"));
        assert!(matches!(endpoint("bad address"), Err(Error::InvalidArgument(_))));
        assert_eq!(store_type("store"), StoreType::Store);
        assert_eq!(MAX_MESSAGE_SIZE, 2_147_483_647);
    }
}
