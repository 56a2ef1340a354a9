//! One chunk in flight per download. The HTTP/1 connection queues up to ~400 KiB of body
//! it has not written yet, and a thousand slow readers would each fill that queue; instead a
//! download reads its next chunk from the store only once the network has taken the previous
//! one (the connection dropped it), so its memory stays at one chunk while the kernel's send
//! buffer keeps the line busy. A consumer that keeps a chunk while it asks for the next one
//! waits forever: hyper writes (and drops) before it polls again, and gRPC copies each chunk
//! into its message, so neither does.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll},
};

use bytes::Bytes;
use futures::task::AtomicWaker;

/// Whether a download's last chunk is still held by the connection, and who waits for it.
#[derive(Default)]
pub(super) struct InFlight {
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    held: AtomicBool,
    waker: AtomicWaker,
}

/// A chunk that tells its download when the connection lets go of it.
struct Held {
    bytes: Bytes,
    shared: Arc<Shared>,
}

impl AsRef<[u8]> for Held {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.shared.held.store(false, Ordering::Release);
        self.shared.waker.wake();
    }
}

impl InFlight {
    /// Ready once the previous chunk has been taken by the network.
    pub(super) fn poll_ready(&self, cx: &mut Context<'_>) -> Poll<()> {
        if !self.shared.held.load(Ordering::Acquire) {
            return Poll::Ready(());
        }
        self.shared.waker.register(cx.waker());
        if self.shared.held.load(Ordering::Acquire) {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    }

    /// `bytes`, marked as held until the connection drops them.
    pub(super) fn hold(&self, bytes: Bytes) -> Bytes {
        self.shared.held.store(true, Ordering::Release);
        Bytes::from_owner(Held {
            bytes,
            shared: Arc::clone(&self.shared),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::task::Waker;

    use super::*;

    #[test]
    fn the_next_chunk_waits_until_the_previous_one_is_dropped() {
        let in_flight = InFlight::default();
        let mut cx = Context::from_waker(Waker::noop());
        assert!(in_flight.poll_ready(&mut cx).is_ready());
        let chunk = in_flight.hold(Bytes::from_static(b"chunk"));
        assert_eq!(&chunk[..], b"chunk");
        assert!(in_flight.poll_ready(&mut cx).is_pending());
        let slice = chunk.slice(1..);
        drop(chunk);
        assert!(
            in_flight.poll_ready(&mut cx).is_pending(),
            "a slice still holds it"
        );
        drop(slice);
        assert!(in_flight.poll_ready(&mut cx).is_ready());
    }
}
