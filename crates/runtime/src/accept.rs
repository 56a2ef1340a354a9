//! The gRPC listener's accepted connections, pausing after an accept error that is not about
//! one connection (the process is out of file descriptors or memory). Such an error comes back
//! at once for as long as a connection waits in the backlog, and tonic's accept loop, like the
//! TLS one, would spin on it at full speed.

use std::{io, pin::Pin, time::Duration};

use tokio::net::TcpStream;
use tokio_stream::{Stream, StreamExt as _};
use tonic::transport::server::TcpIncoming;

/// Accepted connections, as the gRPC and TLS accept loops take them.
pub(crate) type Connections = Pin<Box<dyn Stream<Item = io::Result<TcpStream>> + Send>>;

/// How long accepting pauses after such an error: long enough not to spin, short enough to
/// take connections again soon after descriptors are freed (axum's admin listener waits 1 s).
const PAUSE: Duration = Duration::from_millis(100);

/// `incoming`, pausing [`PAUSE`] after each error that is not about one connection; every error
/// is still passed on, for the accept loop to skip.
pub(crate) fn pausing(incoming: TcpIncoming) -> Connections {
    Box::pin(incoming.then(|accepted| async move {
        if let Err(error) = &accepted
            && !is_about_one_connection(error)
        {
            tracing::warn!(%error, pause = ?PAUSE, "accepting connections failed; pausing");
            tokio::time::sleep(PAUSE).await;
        }
        accepted
    }))
}

/// Whether `error` concerns only the connection being accepted (the next one may well work).
fn is_about_one_connection(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_out_of_descriptors_is_not_about_one_connection() {
        // EMFILE (24) and ENFILE (23) on Linux: the process or the system is out of files.
        assert!(!is_about_one_connection(&io::Error::from_raw_os_error(24)));
        assert!(!is_about_one_connection(&io::Error::from_raw_os_error(23)));
        assert!(is_about_one_connection(&io::Error::from(
            io::ErrorKind::ConnectionAborted
        )));
    }
}
