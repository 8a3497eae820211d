//! Query errors, with Prometheus 2.42's texts and kinds (its API `errorType`).

/// Why a query failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PromqlError {
    /// The query text is not valid PromQL (API `errorType` `bad_data`).
    #[error("{0}")]
    Parse(String),
    /// Evaluation failed, e.g. duplicate series or many-to-many matching (`execution`).
    #[error("{0}")]
    Execution(String),
    /// The query touched more samples than allowed (`execution`).
    #[error("query processing would load too many samples into memory in {0}")]
    TooManySamples(&'static str),
    /// The query ran past its timeout (`timeout`).
    #[error("query timed out in {0}")]
    Timeout(&'static str),
    /// The query was cancelled by its caller (`canceled`).
    #[error("query was canceled in {0}")]
    Canceled(&'static str),
    /// Reading series from storage failed (`internal` unless the storage says otherwise).
    #[error("{0}")]
    Storage(String),
}

impl PromqlError {
    /// The `errorType` Prometheus' HTTP API reports for this error.
    pub fn error_type(&self) -> &'static str {
        match self {
            PromqlError::Parse(_) => "bad_data",
            PromqlError::Execution(_) | PromqlError::TooManySamples(_) => "execution",
            PromqlError::Timeout(_) => "timeout",
            PromqlError::Canceled(_) => "canceled",
            PromqlError::Storage(_) => "internal",
        }
    }
}

/// Result alias for this crate.
pub type Result<T, E = PromqlError> = std::result::Result<T, E>;
