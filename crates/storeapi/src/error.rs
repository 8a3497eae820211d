//! The crate's error kinds and how each maps to a gRPC status code.
//!
//! | kind | `tonic::Code` |
//! |---|---|
//! | [`Error::InvalidMatcher`], [`Error::InvalidArgument`] | `InvalidArgument` |
//! | [`Error::LimitExceeded`] | `ResourceExhausted` |
//! | [`Error::UnsupportedEncoding`] | `Internal` (a store read or produced a chunk it cannot send) |
//! | [`Error::NotReady`] | `Unavailable` (a querier then marks the endpoint unhealthy) |
//! | [`Error::Transport`] | `Unavailable` |
//! | [`Error::Status`] | the status' own code |

use tonic::{Code, Status};

/// Everything that can go wrong in the StoreAPI layer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A label matcher that cannot be compiled: a bad regex, or an unknown matcher type.
    #[error("invalid matcher for label {name:?}: {reason}")]
    InvalidMatcher {
        /// The label the matcher applies to.
        name: String,
        /// Why it is invalid.
        reason: String,
    },
    /// A request that makes no sense (e.g. no matchers, or min time after max time).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A query limit was hit (series, chunks, samples, bytes).
    #[error("limit exceeded: {what} over the limit of {limit}")]
    LimitExceeded {
        /// What was counted, e.g. "series".
        what: &'static str,
        /// The configured limit.
        limit: u64,
    },
    /// A chunk encoding with no StoreAPI counterpart.
    #[error("chunk encoding {0} cannot be sent over the StoreAPI")]
    UnsupportedEncoding(String),
    /// The component is not ready yet (e.g. a sidecar that has not reached Prometheus).
    #[error("not ready: {0}")]
    NotReady(String),
    /// A connection could not be set up.
    #[error("grpc transport: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// An error status from the other side, passed through.
    #[error("grpc status: {0}")]
    Status(Box<Status>),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The gRPC code this error is reported with.
    pub fn code(&self) -> Code {
        match self {
            Error::InvalidMatcher { .. } | Error::InvalidArgument(_) => Code::InvalidArgument,
            Error::LimitExceeded { .. } => Code::ResourceExhausted,
            Error::UnsupportedEncoding(_) => Code::Internal,
            Error::NotReady(_) | Error::Transport(_) => Code::Unavailable,
            Error::Status(status) => status.code(),
        }
    }
}

impl From<Status> for Error {
    fn from(status: Status) -> Self {
        Error::Status(Box::new(status))
    }
}

impl From<Error> for Status {
    fn from(error: Error) -> Self {
        match error {
            Error::Status(status) => *status,
            other => Status::new(other.code(), other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_map_to_grpc_codes() {
        let cases = [
            (Error::InvalidMatcher { name: "a".into(), reason: "bad".into() }, Code::InvalidArgument),
            (Error::InvalidArgument("no matchers".into()), Code::InvalidArgument),
            (Error::LimitExceeded { what: "series", limit: 10 }, Code::ResourceExhausted),
            (Error::UnsupportedEncoding("none".into()), Code::Internal),
            (Error::NotReady("prometheus down".into()), Code::Unavailable),
            (Error::from(Status::aborted("gone")), Code::Aborted),
        ];
        for (error, code) in cases {
            let message = error.to_string();
            let status = Status::from(error);
            assert_eq!(status.code(), code, "{message}");
        }
    }

    #[test]
    fn status_passes_through_unchanged() {
        let status = Status::from(Error::from(Status::resource_exhausted("too many series")));
        assert_eq!(status.code(), Code::ResourceExhausted);
        assert_eq!(status.message(), "too many series");
    }
}
