//! Prometheus' HTTP API (`/api/v1/…`) with Thanos' parameters, over the fan-out.
//!
//! Every handler reads the merged query string and form body, answers with Prometheus' JSON
//! envelope, and maps errors to Prometheus' HTTP status per `errorType`.

mod json;
mod params;
mod status;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{MatchedPath, Path, Request, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use promql::{CancelToken, Engine, EngineOptions, PromqlError, Queryable, Value};
use tokio::sync::Semaphore;

use self::params::{
    ApiError, MAX_TIME_MS, MIN_TIME_MS, Params, matcher_sets, parse_bool, parse_duration_ms, time_param,
};
use crate::dedup::DedupFunc;
use crate::endpoints::EndpointSet;
use crate::fanout::{BlockingQueryable, Fanout, FanoutOptions};

/// Prometheus' limit on points per series of a range query.
const MAX_POINTS_PER_SERIES: i64 = 11_000;

/// What every handler shares.
#[derive(Debug)]
pub(crate) struct ApiSettings {
    /// The endpoints to fan out to.
    pub(crate) endpoints: Arc<EndpointSet>,
    /// Engine defaults (lookback, timeout, max samples, subquery step).
    pub(crate) engine: EngineOptions,
    /// `--query.replica-label`.
    pub(crate) replica_labels: Vec<String>,
    /// `--deduplication.func`.
    pub(crate) dedup_func: DedupFunc,
    /// `--query.partial-response`.
    pub(crate) partial_response: bool,
    /// `--store.response-timeout` (`None` = wait).
    pub(crate) response_timeout: Option<Duration>,
    /// `--query.max-concurrent`.
    pub(crate) max_concurrent: usize,
    /// Flag name → value, for `/api/v1/status/flags`.
    pub(crate) flags: Vec<(String, String)>,
    /// `--query.auto-downsampling`.
    pub(crate) auto_downsampling: bool,
    /// `--query.instant.default.max_source_resolution`, ms.
    pub(crate) instant_max_source_resolution_ms: i64,
}

#[derive(Debug, Clone)]
struct Api {
    settings: Arc<ApiSettings>,
    limiter: Arc<Semaphore>,
}

/// The API router, to nest under the route prefix.
pub(crate) fn router(settings: ApiSettings) -> Router {
    let limiter = Arc::new(Semaphore::new(settings.max_concurrent.max(1)));
    let api = Api { settings: Arc::new(settings), limiter };
    Router::new()
        .route("/api/v1/query", get(query).post(query))
        .route("/api/v1/query_range", get(query_range).post(query_range))
        .route("/api/v1/series", get(series).post(series))
        .route("/api/v1/labels", get(labels).post(labels))
        .route("/api/v1/label/{name}/values", get(label_values))
        .route("/api/v1/status/buildinfo", get(status::buildinfo))
        .route("/api/v1/status/flags", get(flags))
        .route("/api/v1/stores", get(stores))
        .route("/api/v1/metadata", get(status::metadata))
        .route("/api/v1/rules", get(status::rules))
        .route("/api/v1/alerts", get(status::alerts))
        .route("/api/v1/targets", get(status::targets))
        .route("/api/v1/query_exemplars", get(status::empty_list).post(status::empty_list))
        .route_layer(middleware::from_fn(instrument))
        .with_state(api)
}

/// Counts requests and their durations per handler, as Thanos' `http_requests_total` and
/// `http_request_duration_seconds` (handler = the API path after `/api/v1/`).
async fn instrument(request: Request, next: Next) -> Response {
    let path = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string()).unwrap_or_default();
    let handler = path.rsplit("/api/v1/").next().unwrap_or_default().to_string();
    let method = request.method().to_string();
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    let code = response.status().as_u16().to_string();
    metrics::counter!("http_requests_total", "handler" => handler.clone(), "code" => code, "method" => method)
        .increment(1);
    metrics::histogram!("http_request_duration_seconds", "handler" => handler)
        .record(started.elapsed().as_secs_f64());
    response
}

/// The HTTP status Prometheus answers an `errorType` with.
fn status_for(error_type: &str) -> StatusCode {
    match error_type {
        "bad_data" => StatusCode::BAD_REQUEST,
        "execution" => StatusCode::UNPROCESSABLE_ENTITY,
        "canceled" | "timeout" | "unavailable" => StatusCode::SERVICE_UNAVAILABLE,
        "not_found" => StatusCode::NOT_FOUND,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn json_response(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// A success or error answer.
type ApiResult = Result<(String, Vec<String>), (ApiError, Vec<String>)>;

fn respond(result: ApiResult) -> Response {
    match result {
        Ok((data, warnings)) => json_response(StatusCode::OK, json::success(&data, &warnings)),
        Err((error, warnings)) => json_response(
            status_for(error.error_type),
            json::error(error.error_type, &error.message, &warnings),
        ),
    }
}

fn no_warnings(error: ApiError) -> (ApiError, Vec<String>) {
    (error, Vec::new())
}

impl Api {
    /// The fan-out options of a request: Thanos' `dedup`, `partial_response`, `replicaLabels[]`,
    /// `storeMatch[]` and `max_source_resolution` parameters over the flag defaults.
    fn fanout_options(&self, params: &Params) -> Result<FanoutOptions, ApiError> {
        let settings = &self.settings;
        let bool_param = |name: &str, default: bool| -> Result<bool, ApiError> {
            match params.non_empty(name) {
                None => Ok(default),
                Some(text) => parse_bool(text).ok_or_else(|| {
                    ApiError::bad_data(format!(
                        "'{name}' parameter: strconv.ParseBool: parsing {text:?}: invalid syntax"
                    ))
                }),
            }
        };
        let dedup = bool_param("dedup", true)?;
        let partial_response = bool_param("partial_response", settings.partial_response)?;
        let requested: Vec<String> = crate::config::split_list(
            &params.all("replicaLabels[]").into_iter().map(str::to_string).collect::<Vec<_>>(),
        );
        let replica_labels = if requested.is_empty() { settings.replica_labels.clone() } else { requested };
        let store_matchers = params
            .all("storeMatch[]")
            .iter()
            .map(|text| {
                params::parse_selector(text).map_err(|e| ApiError::bad_data(format!("storeMatch[]: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        // Validated for every endpoint; applied by the query handlers, where `auto` is known.
        self.max_source_resolution(params, 0)?;
        Ok(FanoutOptions {
            dedup,
            replica_labels,
            dedup_func: settings.dedup_func,
            partial_response,
            store_matchers,
            response_timeout: settings.response_timeout,
        })
    }

    /// `max_source_resolution` in ms, `auto` (or `--query.auto-downsampling`) meaning `auto_ms`.
    fn max_source_resolution(&self, params: &Params, auto_ms: i64) -> Result<i64, ApiError> {
        crate::downsampling::max_source_resolution_ms(
            params.non_empty("max_source_resolution"),
            self.settings.auto_downsampling,
            auto_ms,
            parse_duration_ms,
        )
        .map_err(ApiError::bad_data)
    }

    /// The engine for a request: `lookback_delta` and `timeout` parameters over the flags.
    fn engine(&self, params: &Params) -> Result<Engine, ApiError> {
        let mut options = self.settings.engine.clone();
        if let Some(text) = params.non_empty("lookback_delta") {
            let ms = parse_duration_ms(text).map_err(|e| ApiError::invalid_param("lookback_delta", e))?;
            if ms > 0 {
                options.lookback_delta_ms = ms;
            }
        }
        if let Some(text) = params.non_empty("timeout") {
            let ms = parse_duration_ms(text).map_err(|e| ApiError::invalid_param("timeout", e))?;
            let requested = Duration::from_millis(u64::try_from(ms).unwrap_or(0));
            if requested > Duration::ZERO && requested < options.timeout {
                options.timeout = requested;
            }
        }
        Ok(Engine::new(options))
    }

    /// Runs the engine on a blocking thread with the fan-out as storage; at most
    /// `--query.max-concurrent` at once; cancelled if the client goes away.
    async fn evaluate<F>(&self, fanout: Fanout, timeout: Duration, run: F) -> ApiResult
    where
        F: FnOnce(&dyn Queryable, &CancelToken) -> promql::Result<Value> + Send + 'static,
    {
        let Ok(_permit) = self.limiter.acquire().await else {
            return Err(no_warnings(ApiError {
                error_type: "internal",
                message: "query limiter closed".into(),
            }));
        };
        let token = CancelToken::new();
        let _cancel_on_drop = CancelOnDrop(token.clone());
        let handle = tokio::runtime::Handle::current();
        let queryable = BlockingQueryable::new(fanout.clone(), handle, timeout, token.clone());
        let outcome = tokio::task::spawn_blocking(move || run(&queryable, &token)).await;
        let warnings = fanout.take_warnings();
        match outcome {
            Ok(Ok(value)) => {
                let mut data = String::new();
                json::write_query_data(&mut data, &value);
                Ok((data, warnings))
            }
            Ok(Err(error)) => Err((engine_error(error), warnings)),
            Err(join) => Err((ApiError { error_type: "internal", message: join.to_string() }, warnings)),
        }
    }
}

/// Cancels a query when the handler's future is dropped (the client went away).
struct CancelOnDrop(CancelToken);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

fn engine_error(error: PromqlError) -> ApiError {
    let error_type = error.error_type();
    let message = match &error {
        PromqlError::Parse(_) => format!("invalid parameter \"query\": {error}"),
        _ => error.to_string(),
    };
    ApiError { error_type, message }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

async fn query(State(api): State<Api>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let params = Params::from_request(&uri, &headers, &body);
    respond(query_inner(&api, params).await)
}

async fn query_inner(api: &Api, params: Params) -> ApiResult {
    let t = time_param(&params, "time", now_ms()).map_err(no_warnings)?;
    let engine = api.engine(&params).map_err(no_warnings)?;
    let options = api.fanout_options(&params).map_err(no_warnings)?;
    let resolution = api
        .max_source_resolution(&params, api.settings.instant_max_source_resolution_ms)
        .map_err(no_warnings)?;
    let text = params.get("query").unwrap_or_default().to_string();
    let expr = Engine::parse(&text).map_err(|e| no_warnings(engine_error(e)))?;
    let fanout = Fanout::new(api.settings.endpoints.clone(), options).with_max_source_resolution(resolution);
    let timeout = engine.options().timeout;
    api.evaluate(fanout, timeout, move |q, token| engine.instant_query_expr_cancellable(q, &expr, t, token))
        .await
}

async fn query_range(State(api): State<Api>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let params = Params::from_request(&uri, &headers, &body);
    respond(query_range_inner(&api, params).await)
}

async fn query_range_inner(api: &Api, params: Params) -> ApiResult {
    let required_time = |name: &str| {
        params::parse_time(params.get(name).unwrap_or_default()).map_err(|e| ApiError::invalid_param(name, e))
    };
    let start = required_time("start").map_err(no_warnings)?;
    let end = required_time("end").map_err(no_warnings)?;
    if end < start {
        return Err(no_warnings(ApiError::bad_data("end timestamp must not be before start time")));
    }
    let step = parse_duration_ms(params.get("step").unwrap_or_default())
        .map_err(|e| no_warnings(ApiError::invalid_param("step", e)))?;
    if step <= 0 {
        return Err(no_warnings(ApiError::bad_data(
            "zero or negative query resolution step widths are not accepted. Try a positive integer",
        )));
    }
    if (end - start) / step > MAX_POINTS_PER_SERIES {
        return Err(no_warnings(ApiError::bad_data(
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
        )));
    }
    let engine = api.engine(&params).map_err(no_warnings)?;
    let options = api.fanout_options(&params).map_err(no_warnings)?;
    // At least five samples per step when the resolution is chosen automatically.
    let resolution = api.max_source_resolution(&params, step / 5).map_err(no_warnings)?;
    let text = params.get("query").unwrap_or_default().to_string();
    let expr = Engine::parse(&text).map_err(|e| no_warnings(engine_error(e)))?;
    let fanout = Fanout::new(api.settings.endpoints.clone(), options).with_max_source_resolution(resolution);
    let timeout = engine.options().timeout;
    api.evaluate(fanout, timeout, move |q, token| {
        engine.range_query_expr_cancellable(q, &expr, start, end, step, token)
    })
    .await
}

async fn series(State(api): State<Api>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let params = Params::from_request(&uri, &headers, &body);
    respond(series_inner(&api, params).await)
}

async fn series_inner(api: &Api, params: Params) -> ApiResult {
    let selectors = params.all("match[]");
    if selectors.is_empty() {
        return Err(no_warnings(ApiError::bad_data("no match[] parameter provided")));
    }
    let start = time_param(&params, "start", MIN_TIME_MS).map_err(no_warnings)?;
    let end = time_param(&params, "end", MAX_TIME_MS).map_err(no_warnings)?;
    let sets = matcher_sets(&selectors).map_err(no_warnings)?;
    let options = api.fanout_options(&params).map_err(no_warnings)?;
    let fanout = Fanout::new(api.settings.endpoints.clone(), options);
    let mut all = Vec::new();
    for set in &sets {
        match fanout.series_labels(set, start, end).await {
            Ok(found) => all.extend(found),
            Err(error) => return Err((fanout_error(error), fanout.take_warnings())),
        }
    }
    all.sort();
    all.dedup();
    let mut data = String::from("[");
    for (i, labels) in all.iter().enumerate() {
        if i > 0 {
            data.push(',');
        }
        json::write_labels(&mut data, labels);
    }
    data.push(']');
    Ok((data, fanout.take_warnings()))
}

fn fanout_error(error: crate::fanout::FanoutError) -> ApiError {
    ApiError { error_type: "internal", message: error.to_string() }
}

fn string_list(values: &[String]) -> String {
    let mut data = String::from("[");
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            data.push(',');
        }
        json::write_str(&mut data, v);
    }
    data.push(']');
    data
}

async fn labels(State(api): State<Api>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let params = Params::from_request(&uri, &headers, &body);
    respond(labels_inner(&api, params, None).await)
}

async fn label_values(
    State(api): State<Api>,
    Path(name): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let params = Params::from_request(&uri, &headers, &[]);
    if !is_label_name(&name) {
        return respond(Err(no_warnings(ApiError::bad_data(format!("invalid label name: {name:?}")))));
    }
    respond(labels_inner(&api, params, Some(name)).await)
}

/// Prometheus' `model.LabelNameRE`: `^[a-zA-Z_][a-zA-Z0-9_]*$`.
fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `/labels` (`name` = `None`) or `/label/<name>/values`.
async fn labels_inner(api: &Api, params: Params, name: Option<String>) -> ApiResult {
    let start = time_param(&params, "start", MIN_TIME_MS).map_err(no_warnings)?;
    let end = time_param(&params, "end", MAX_TIME_MS).map_err(no_warnings)?;
    let sets = matcher_sets(&params.all("match[]")).map_err(no_warnings)?;
    let options = api.fanout_options(&params).map_err(no_warnings)?;
    let fanout = Fanout::new(api.settings.endpoints.clone(), options);
    let sets = if sets.is_empty() { vec![Vec::new()] } else { sets };
    let mut all = Vec::new();
    for set in &sets {
        let found = match &name {
            None => fanout.label_names(set, start, end).await,
            Some(name) => fanout.label_values(name, set, start, end).await,
        };
        match found {
            Ok(found) => all.extend(found),
            Err(error) => return Err((fanout_error(error), fanout.take_warnings())),
        }
    }
    all.sort();
    all.dedup();
    Ok((string_list(&all), fanout.take_warnings()))
}

async fn flags(State(api): State<Api>) -> Response {
    let mut data = String::from("{");
    for (i, (name, value)) in api.settings.flags.iter().enumerate() {
        if i > 0 {
            data.push(',');
        }
        json::write_str(&mut data, name);
        data.push(':');
        json::write_str(&mut data, value);
    }
    data.push('}');
    respond(Ok((data, Vec::new())))
}

async fn stores(State(api): State<Api>) -> Response {
    respond(Ok((status::stores_data(&api.settings.endpoints), Vec::new())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_per_error_type() {
        assert_eq!(status_for("bad_data"), StatusCode::BAD_REQUEST);
        assert_eq!(status_for("execution"), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(status_for("timeout"), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(status_for("canceled"), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(status_for("internal"), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(is_label_name("job_1"));
        assert!(!is_label_name("1job"));
        assert!(!is_label_name(""));
    }
}
