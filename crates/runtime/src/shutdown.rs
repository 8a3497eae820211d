//! One cancellation token for the whole process, cancelled by SIGTERM or SIGINT (Ctrl-C).
//!
//! Every server and loop takes a clone of the token and stops when it is cancelled; `main` waits
//! for them to finish. A second signal while shutting down exits at once, for an operator who
//! does not want to wait out the grace period.

use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};
pub use tokio_util::sync::CancellationToken;

use crate::error::RuntimeError;

/// Exit status after a second signal, as a shell reports death by SIGINT.
const FORCED_EXIT_CODE: i32 = 130;

/// Registers SIGTERM and SIGINT handlers and returns the token they cancel.
///
/// Must be called inside a tokio runtime.
pub fn on_signals() -> Result<CancellationToken, RuntimeError> {
    let token = CancellationToken::new();
    let mut terminate = signal(SignalKind::terminate())
        .map_err(|source| RuntimeError::Signal { signal: "SIGTERM", source })?;
    let mut interrupt = signal(SignalKind::interrupt())
        .map_err(|source| RuntimeError::Signal { signal: "SIGINT", source })?;
    let cancel = token.clone();
    tokio::spawn(async move {
        let first = tokio::select! {
            _ = terminate.recv() => "SIGTERM",
            _ = interrupt.recv() => "SIGINT",
        };
        tracing::info!(signal = first, "caught signal, exiting gracefully");
        cancel.cancel();
        let second = tokio::select! {
            _ = terminate.recv() => "SIGTERM",
            _ = interrupt.recv() => "SIGINT",
        };
        tracing::warn!(signal = second, "caught second signal, exiting now");
        std::process::exit(FORCED_EXIT_CODE);
    });
    Ok(token)
}

/// Awaits `serving`, but gives up `grace_period` after `shutdown` is cancelled.
pub(crate) async fn drain_within_grace<E>(
    serving: impl Future<Output = Result<(), E>>,
    shutdown: &CancellationToken,
    grace_period: Duration,
    server: &'static str,
) -> Result<(), E> {
    let deadline = async {
        shutdown.cancelled().await;
        tracing::info!(server, grace_period = ?grace_period, "server is shutting down");
        tokio::time::sleep(grace_period).await;
    };
    tokio::select! {
        result = serving => {
            if result.is_ok() {
                tracing::info!(server, "server is shutdown gracefully");
            }
            result
        }
        () = deadline => {
            tracing::warn!(server, "grace period over, closing remaining connections");
            Ok(())
        }
    }
}
