//! Stopping cleanly on SIGINT and SIGTERM (Ctrl-C, `kill`, Kubernetes pod deletion).

use crate::exit_status::SOFTWARE;
use crate::ExitFailure;
use std::future::Future;

/// A future that completes at the first SIGINT or SIGTERM (logged at info level). Installed
/// when called, so a signal that arrives before the future is awaited is not lost. Needs a
/// tokio runtime.
pub fn shutdown_signal() -> anyhow::Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let install = |kind: SignalKind, name: &str| {
        signal(kind).map_err(|e| ExitFailure::new(SOFTWARE, format!("cannot handle {name}: {e}")))
    };
    let mut interrupt = install(SignalKind::interrupt(), "SIGINT")?;
    let mut terminate = install(SignalKind::terminate(), "SIGTERM")?;
    Ok(async move {
        let name = tokio::select! {
            _ = interrupt.recv() => "SIGINT",
            _ = terminate.recv() => "SIGTERM",
        };
        tracing::info!("{name} received; stopping");
    })
}
