//! Sorting AWS SDK errors into retryable and final ones, and into our error kinds.

use std::error::Error as StdError;

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

use crate::error::ObjstoreError;
use crate::retry::AttemptError;

/// S3 error codes meaning the credentials were rejected or access was denied.
const AUTH_CODES: &[&str] = &[
    "SignatureDoesNotMatch",
    "InvalidAccessKeyId",
    "AccessDenied",
    "InvalidToken",
    "ExpiredToken",
    "TokenRefreshRequired",
    "AuthorizationHeaderMalformed",
    "InvalidSecurity",
];

/// S3 error codes that go away by themselves (throttling, server trouble).
const TRANSIENT_CODES: &[&str] = &[
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "RequestTimeout",
    "InternalError",
    "ServiceUnavailable",
];

/// HTTP status S3 sends when a range starts at or past the end of the object.
pub(super) const RANGE_NOT_SATISFIABLE: u16 = 416;

/// The HTTP status of a service error, if the store answered at all.
pub(super) fn http_status<E>(error: &SdkError<E, HttpResponse>) -> Option<u16> {
    match error {
        SdkError::ServiceError(service) => Some(service.raw().status().as_u16()),
        _ => None,
    }
}

/// Decides whether a failed request is worth retrying, and what it means if not.
pub(super) fn classify<E>(
    operation: &'static str,
    key: &str,
    error: SdkError<E, HttpResponse>,
) -> AttemptError
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
    let (status, code, message) = match &error {
        // No usable answer: connection refused/reset, a timeout, a truncated response.
        SdkError::TimeoutError(_) | SdkError::ResponseError(_) => {
            return AttemptError::Transient(Box::new(error));
        }
        SdkError::DispatchFailure(failure) if !failure.is_user() => {
            return AttemptError::Transient(Box::new(error));
        }
        SdkError::ServiceError(service) => (
            service.raw().status().as_u16(),
            service.err().code().unwrap_or_default().to_owned(),
            service.err().message().unwrap_or_default().to_owned(),
        ),
        // Building or sending the request failed on our side: retrying changes nothing.
        _ => {
            return AttemptError::Permanent(ObjstoreError::Other {
                operation,
                key: key.to_owned(),
                source: Box::new(error),
            });
        }
    };

    if AUTH_CODES.contains(&code.as_str()) || status == 401 || status == 403 {
        let code = if code.is_empty() { format!("HTTP {status}") } else { code };
        let message = if message.is_empty() { format!("{operation} {key:?} was refused") } else { message };
        return AttemptError::Permanent(ObjstoreError::Auth { code, message });
    }
    if code == "NoSuchBucket" {
        return AttemptError::Permanent(ObjstoreError::Config(format!(
            "{operation} {key:?}: the bucket does not exist (NoSuchBucket)"
        )));
    }
    if code == "NoSuchKey" || code == "NotFound" || status == 404 {
        return AttemptError::Permanent(ObjstoreError::NotFound { key: key.to_owned() });
    }
    if TRANSIENT_CODES.contains(&code.as_str()) || status >= 500 || status == 429 {
        return AttemptError::Transient(Box::new(error));
    }
    AttemptError::Permanent(ObjstoreError::Other { operation, key: key.to_owned(), source: Box::new(error) })
}
