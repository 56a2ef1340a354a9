//! The gRPC listener's accepted connections, pausing after an accept error that says the
//! process is out of a resource (file descriptors, buffers, memory). Such an error comes back
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

/// `incoming`, pausing [`PAUSE`] after each error that says the process or the system is out
/// of a resource; every error is still passed on, for the accept loop to skip. The first of a
/// run of such errors is a warning, the rest and every error about one connection are debug.
pub(crate) fn pausing(incoming: TcpIncoming) -> Connections {
    let mut exhausted = false;
    Box::pin(incoming.then(move |accepted| {
        let pause = match &accepted {
            Err(error) if is_exhaustion(error) => {
                if !exhausted {
                    tracing::warn!(%error, pause = ?PAUSE, "accepting connections failed; pausing");
                }
                exhausted = true;
                Some(PAUSE)
            }
            Err(error) => {
                tracing::debug!(%error, "accepting a connection failed");
                None
            }
            Ok(_) => {
                exhausted = false;
                None
            }
        };
        async move {
            if let Some(pause) = pause {
                tokio::time::sleep(pause).await;
            }
            accepted
        }
    }))
}

/// Whether `error` says the process or the system ran out of descriptors, buffers or memory:
/// accepting fails again at once until something is freed.
fn is_exhaustion(error: &io::Error) -> bool {
    matches!(
        error.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_out_of_descriptors_pauses_and_a_failed_connection_does_not() {
        assert!(is_exhaustion(&io::Error::from_raw_os_error(libc::EMFILE)));
        assert!(is_exhaustion(&io::Error::from_raw_os_error(libc::ENFILE)));
        assert!(!is_exhaustion(&io::Error::from_raw_os_error(
            libc::ECONNABORTED
        )));
        assert!(!is_exhaustion(&io::Error::from_raw_os_error(libc::EPROTO)));
    }
}
