//! The signals that stop a Campus process.

/// Completes on the first SIGTERM or Ctrl-C (SIGINT).
///
/// SIGTERM is how Kubernetes starts a graceful shutdown of a pod; Ctrl-C is the same request
/// from a terminal. If the handlers cannot be installed the process could not be stopped
/// gracefully at all, so that is logged and this future never completes: the process is then
/// stopped by SIGKILL as any other would be.
pub async fn signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut stream) => {
                stream.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("Ctrl-C received, shutting down"),
        () = terminate => tracing::info!("SIGTERM received, shutting down"),
    }
}
