//! Whether the component is ready to serve, as `/-/ready` reports it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Shared readiness flag: starts not ready; the component sets it once its data is loaded.
///
/// Clones share one flag. The HTTP server turns it off again when shutdown begins, as Thanos does,
/// so load balancers stop sending work during the grace period.
#[derive(Debug, Clone, Default)]
pub struct Readiness {
    ready: Arc<AtomicBool>,
}

impl Readiness {
    /// A flag that starts not ready.
    pub fn new() -> Self {
        Self::default()
    }

    /// Marks the component ready (`true`) or not ready (`false`), logging changes.
    pub fn set_ready(&self, ready: bool) {
        let was_ready = self.ready.swap(ready, Ordering::SeqCst);
        if was_ready != ready {
            let status = if ready { "ready" } else { "not-ready" };
            tracing::info!(status, "changing probe status");
        }
    }

    /// Whether the component is ready.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_the_flag() {
        let readiness = Readiness::new();
        let clone = readiness.clone();
        assert!(!clone.is_ready());
        readiness.set_ready(true);
        assert!(clone.is_ready());
        clone.set_ready(false);
        assert!(!readiness.is_ready());
    }
}
