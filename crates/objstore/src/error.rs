//! The one error type of this crate: a small enum of kinds, each with the context a log line needs.

use std::error::Error as StdError;

/// A boxed error from a lower layer (the AWS SDK, the OS), kept as the source of our errors.
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// Result alias used by every bucket operation.
pub type Result<T, E = ObjstoreError> = std::result::Result<T, E>;

/// What went wrong with an object storage operation.
///
/// Callers usually branch on the kind only: [`ObjstoreError::is_not_found`] for "absent is fine",
/// [`ObjstoreError::is_unavailable`] to back off, and everything else is reported.
#[derive(Debug, thiserror::Error)]
pub enum ObjstoreError {
    /// The object does not exist.
    #[error("object {key:?} not found")]
    NotFound {
        /// The key that was asked for.
        key: String,
    },

    /// A local I/O error, e.g. reading the file to upload or writing below the filesystem root.
    #[error("i/o error on {key:?}: {source}")]
    Io {
        /// The key (or local path) the operation was about.
        key: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },

    /// The store rejected our credentials or denied access; retrying will not help.
    #[error(
        "object storage rejected the credentials or denied access ({code}): {message}; \
         check access_key/secret_key and the bucket policy"
    )]
    Auth {
        /// The S3 error code, e.g. `SignatureDoesNotMatch`, `InvalidAccessKeyId`, `AccessDenied`.
        code: String,
        /// The message the store sent, or the HTTP status when it sent none.
        message: String,
    },

    /// The store could not be reached or kept failing transiently, even after retries.
    #[error("object storage unavailable: {operation} {key:?} failed after {after_attempts} attempts: {}", error_chain(.source.as_ref()))]
    Unavailable {
        /// The operation, e.g. `GetObject`.
        operation: &'static str,
        /// The key the operation was about (empty for listings of the whole bucket).
        key: String,
        /// How many attempts were made before giving up.
        after_attempts: u32,
        /// The error of the last attempt.
        #[source]
        source: BoxError,
    },

    /// A key that cannot be stored, e.g. one with a `..` component.
    #[error("invalid object key {key:?}: {reason}")]
    InvalidKey {
        /// The rejected key.
        key: String,
        /// Why it was rejected.
        reason: &'static str,
    },

    /// The bucket configuration is invalid or names something that does not exist.
    #[error("invalid object storage configuration: {0}")]
    Config(String),

    /// Any other failure, with the operation and key it happened on.
    #[error("{operation} {key:?} failed: {}", error_chain(.source.as_ref()))]
    Other {
        /// The operation, e.g. `PutObject`.
        operation: &'static str,
        /// The key the operation was about.
        key: String,
        /// The underlying error.
        #[source]
        source: BoxError,
    },
}

impl ObjstoreError {
    /// True if the object does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound { .. })
    }

    /// True if the credentials were rejected or access was denied.
    pub fn is_auth(&self) -> bool {
        matches!(self, Self::Auth { .. })
    }

    /// True if the store could not be reached even after retries.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable { .. })
    }

    pub(crate) fn io(key: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io { key: key.into(), source }
    }
}

/// Renders an error and its sources as `outer: inner: innermost`, skipping repeats.
///
/// SDK errors print only a terse outer text ("dispatch failure"); the useful part
/// ("Connection refused") sits several sources down, so our messages include the chain.
pub(crate) fn error_chain(error: &(dyn StdError + 'static)) -> String {
    let mut rendered = error.to_string();
    let mut current = error.source();
    while let Some(cause) = current {
        let text = cause.to_string();
        if !rendered.contains(&text) {
            rendered.push_str(": ");
            rendered.push_str(&text);
        }
        current = cause.source();
    }
    rendered
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unavailable_message_includes_the_cause_chain() {
        let cause = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused");
        let error = ObjstoreError::Unavailable {
            operation: "GetObject",
            key: "a/b".to_owned(),
            after_attempts: 5,
            source: Box::new(cause),
        };
        let text = error.to_string();
        assert!(text.contains("after 5 attempts"), "{text}");
        assert!(text.contains("connection refused"), "{text}");
        assert!(error.is_unavailable());
        assert!(!error.is_not_found());
    }
}
