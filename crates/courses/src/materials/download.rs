//! Reading materials: lists, the gRPC download stream, signed URLs, deletion and download
//! counts. Both transports read through [`Materials::read_counted`], which streams a byte
//! range in bounded chunks and counts what was sent when the stream ends or is dropped.

use std::{
    ops::Range,
    pin::Pin,
    task::{Context, Poll},
};

use bytes::{Bytes, BytesMut};
use campus_proto::{
    courses::{
        DeleteResourceRequest, DownloadResourceResponse, GetDownloadUrlRequest,
        GetDownloadUrlResponse, GetResourceStatsRequest, GetResourceStatsResponse,
        ListResourcesRequest, ListResourcesResponse, ResourceStats,
    },
    events::ResourceDeleted,
};
use campus_runtime::{
    api::{next_page_token, page_after, page_size, timestamp},
    auth::Caller,
    failure::Failure,
};
use campus_store::now_micros;
use futures::{Stream, StreamExt as _, stream::BoxStream};

use super::{
    Materials,
    in_flight::InFlight,
    resource_message,
    signing::{Grant, expiry_after},
    store::{self, ResourceRow},
};
use crate::{domain::can_edit, error::CoursesError};

/// Which transport a download went out on, for the metrics and its chunk size.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Transport {
    Grpc,
    Http,
}

impl Transport {
    fn label(self) -> &'static str {
        match self {
            Self::Grpc => "grpc",
            Self::Http => "http",
        }
    }

    /// Largest chunk sent at once: big enough to keep per-message costs low, small enough that
    /// a thousand downloads hold little memory. A gRPC chunk is copied on its way out (into
    /// the message, into tonic's encoding buffer, then queued by HTTP/2, which is bounded by
    /// the client's flow-control window rather than by [`InFlight`]), so its chunks are half
    /// the size.
    fn chunk(self) -> usize {
        match self {
            Self::Grpc => 32 * 1024,
            Self::Http => 64 * 1024,
        }
    }
}

/// A byte stream re-cut into chunks of up to `chunk` bytes that counts what it yields and
/// records the count once, when it ends or is dropped (a browser that stops watching). Its
/// consumer must let go of a chunk before it asks for the next one (see [`InFlight`]).
struct Counted {
    inner: BoxStream<'static, Result<Bytes, Failure>>,
    chunk: usize,
    /// Bytes read from `inner` and not yet cut into chunks.
    rest: Bytes,
    buffer: BytesMut,
    sent: u64,
    done: bool,
    /// Why `inner` ended early, told after the bytes read before it are sent.
    failed: Option<Failure>,
    record: Option<Box<dyn FnOnce(u64) + Send>>,
    in_flight: InFlight,
}

impl Stream for Counted {
    type Item = Result<Bytes, Failure>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done && this.rest.is_empty() && this.buffer.is_empty() {
            return Poll::Ready(this.failed.take().map(Err));
        }
        std::task::ready!(this.in_flight.poll_ready(cx));
        loop {
            if this.buffer.is_empty() && this.rest.len() >= this.chunk {
                let chunk = this.rest.split_to(this.chunk);
                return Poll::Ready(Some(Ok(this.send(chunk))));
            }
            let room = this.chunk - this.buffer.len();
            let part = this.rest.split_to(room.min(this.rest.len()));
            this.buffer.extend_from_slice(&part);
            if this.buffer.len() >= this.chunk || (this.done && !this.buffer.is_empty()) {
                let chunk = this.buffer.split().freeze();
                return Poll::Ready(Some(Ok(this.send(chunk))));
            }
            if this.done {
                return Poll::Ready(this.failed.take().map(Err));
            }
            match this.inner.poll_next_unpin(cx) {
                Poll::Ready(Some(Ok(bytes))) => this.rest = bytes,
                Poll::Ready(Some(Err(failure))) => {
                    this.done = true;
                    this.failed = Some(failure);
                }
                Poll::Ready(None) => this.done = true,
                Poll::Pending if !this.buffer.is_empty() => {
                    let chunk = this.buffer.split().freeze();
                    return Poll::Ready(Some(Ok(this.send(chunk))));
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl Counted {
    /// `inner` re-cut for `transport`, calling `record` with the bytes sent once it is done.
    fn new(
        inner: BoxStream<'static, Result<Bytes, Failure>>,
        transport: Transport,
        record: impl FnOnce(u64) + Send + 'static,
    ) -> Self {
        Self {
            inner,
            chunk: transport.chunk(),
            rest: Bytes::new(),
            buffer: BytesMut::new(),
            sent: 0,
            done: false,
            failed: None,
            record: Some(Box::new(record)),
            in_flight: InFlight::default(),
        }
    }

    /// `chunk`, counted and held until the connection lets go of it.
    fn send(&mut self, chunk: Bytes) -> Bytes {
        self.sent += chunk.len() as u64;
        self.in_flight.hold(chunk)
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        if let Some(record) = self.record.take() {
            record(self.sent);
        }
    }
}

impl Materials {
    /// Bytes `range` of `resource`, in chunks, counted per resource (a download when the
    /// range starts at byte 0) and in the transport's metrics. Each chunk must be let go of
    /// before the next is asked for.
    pub(crate) async fn read_counted(
        &self,
        resource: &ResourceRow,
        range: Range<u64>,
        transport: Transport,
    ) -> Result<impl Stream<Item = Result<Bytes, Failure>> + Send + 'static, CoursesError> {
        let inner = self.content.read(&resource.sha256, range.clone()).await?;
        let from_start = range.start == 0;
        let metrics = std::sync::Arc::clone(&self.metrics);
        let database = self.courses.store.database.clone();
        let resource = resource.clone();
        let record = move |sent: u64| {
            let label = transport.label();
            if from_start {
                metrics.downloads.with_label_values(&[label]).inc();
            }
            metrics
                .bytes_served
                .with_label_values(&[label])
                .inc_by(sent);
            tokio::spawn(async move {
                let bytes = i64::try_from(sent).unwrap_or(i64::MAX);
                if let Err(error) =
                    store::count_download(&database, &resource, from_start, bytes).await
                {
                    tracing::warn!(%error, resource_id = resource.id, "a download was not counted");
                }
            });
        };
        Ok(Counted::new(inner, transport, record))
    }

    /// DownloadResource: the current version from `offset`, the resource in the first message.
    pub(crate) async fn download(
        &self,
        caller: &Caller,
        resource_id: &str,
        offset: i64,
    ) -> Result<BoxStream<'static, Result<DownloadResourceResponse, tonic::Status>>, CoursesError>
    {
        let (resource, _) = self.readable_resource(caller, resource_id).await?;
        let size = u64::try_from(resource.size).unwrap_or(0);
        let offset = u64::try_from(offset)
            .ok()
            .filter(|offset| *offset < size)
            .ok_or_else(|| {
                CoursesError::Refused(tonic::Status::out_of_range(format!(
                    "offset must be 0 to {} (the resource's size minus one)",
                    size.saturating_sub(1)
                )))
            })?;
        let chunks = self
            .read_counted(&resource, offset..size, Transport::Grpc)
            .await?;
        let mut first = Some(resource_message(&resource));
        Ok(chunks
            .map(move |chunk| {
                chunk
                    .map(|chunk| DownloadResourceResponse {
                        resource: first.take(),
                        chunk: chunk.to_vec(),
                    })
                    .map_err(tonic::Status::from)
            })
            .boxed())
    }

    /// GetDownloadUrl: a URL for the caller and the current version, valid for
    /// `CAMPUS_CONTENT_URL_TTL`.
    pub(crate) async fn download_url(
        &self,
        caller: &Caller,
        body: GetDownloadUrlRequest,
    ) -> Result<GetDownloadUrlResponse, CoursesError> {
        let (resource, _) = self.readable_resource(caller, &body.resource_id).await?;
        let grant = Grant {
            resource_id: resource.id.clone(),
            version: resource.version,
            user_id: caller.user_id.clone(),
            attachment: body.attachment,
            expires_at: expiry_after(self.url_ttl),
        };
        Ok(GetDownloadUrlResponse {
            url: self.signer.sign(&grant),
            expires_at: Some(timestamp(grant.expires_at.saturating_mul(1_000_000))),
            resource: Some(resource_message(&resource)),
        })
    }

    /// ListResources: one page of a course's (or lesson's) resources, oldest first.
    pub(crate) async fn list_resources(
        &self,
        caller: &Caller,
        body: ListResourcesRequest,
    ) -> Result<ListResourcesResponse, CoursesError> {
        let limit = page_size(body.page_size)?;
        let after = page_after(&body.page_token, 1)?;
        let course = self.readable_course(caller, &body.course_id).await?;
        let mut rows = store::list_resources(
            &self.courses.store.database,
            &course.id,
            &body.lesson_id,
            after.first().map_or("", String::as_str),
            limit + 1,
        )
        .await?;
        let next_page_token = next_page_token(&mut rows, limit, |row| row.id.clone());
        Ok(ListResourcesResponse {
            resources: rows.iter().map(resource_message).collect(),
            next_page_token,
        })
    }

    /// DeleteResource: removes the resource; its file goes after the grace period if nothing
    /// else refers to it.
    pub(crate) async fn delete_resource(
        &self,
        caller: &Caller,
        body: DeleteResourceRequest,
    ) -> Result<(), CoursesError> {
        if body.resource_id.is_empty() {
            return Err(CoursesError::invalid("resource_id", "is required"));
        }
        // Deleting again succeeds; a resource the caller may not see is NOT_FOUND.
        if store::resource(&self.courses.store.database, &body.resource_id)
            .await?
            .is_none()
        {
            return Ok(());
        }
        let (resource, _) = self.readable_resource(caller, &body.resource_id).await?;
        self.editable_course(caller, &resource.course_id).await?;
        let now = now_micros();
        let mut tx = self.courses.store.database.begin().await?;
        store::delete_resource(&mut tx, &resource.id).await?;
        store::release_blob(&mut tx, &resource.sha256, now).await?;
        tx.publish(
            &resource.id,
            &resource.school_id,
            &ResourceDeleted {
                resource_id: resource.id.clone(),
                course_id: resource.course_id.clone(),
                school_id: resource.school_id.clone(),
                deleted_by: caller.user_id.clone(),
                deleted_at: Some(timestamp(now)),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// GetResourceStats: every resource of the course with its counts; staff only.
    pub(crate) async fn resource_stats(
        &self,
        caller: &Caller,
        body: GetResourceStatsRequest,
    ) -> Result<GetResourceStatsResponse, CoursesError> {
        let course = self.readable_course(caller, &body.course_id).await?;
        if !can_edit(caller, &course) {
            return Err(CoursesError::PermissionDenied(
                "only the course's instructor or a school admin may see download counts",
            ));
        }
        let stats = store::course_stats(&self.courses.store.database, &course.id).await?;
        Ok(GetResourceStatsResponse {
            stats: stats
                .into_iter()
                .map(|(resource_id, downloads, bytes_served)| ResourceStats {
                    resource_id,
                    downloads,
                    bytes_served,
                })
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[tokio::test]
    async fn any_stream_is_recut_into_chunks_and_counted_once() {
        let sizes = [1, 100 * 1024, 10, 32 * 1024, 32 * 1024 - 1, 3];
        let parts: Vec<Bytes> = sizes
            .iter()
            .enumerate()
            .map(|(i, &n)| Bytes::from(vec![u8::try_from(i).unwrap_or(0); n]))
            .collect();
        let whole: Vec<u8> = parts.iter().flatten().copied().collect();
        let recorded = Arc::new(Mutex::new(Vec::new()));
        let record = {
            let recorded = Arc::clone(&recorded);
            move |sent| recorded.lock().map(|mut r| r.push(sent)).unwrap_or(())
        };
        let inner = futures::stream::iter(parts.into_iter().map(Ok)).boxed();
        let mut counted = Counted::new(inner, Transport::Grpc, record);
        let mut received = Vec::new();
        while let Some(chunk) = counted.next().await {
            let chunk = chunk.map_err(|failure| failure.to_string());
            let chunk = chunk.unwrap_or_default();
            assert!(
                !chunk.is_empty() && chunk.len() <= 32 * 1024,
                "{}",
                chunk.len()
            );
            received.extend_from_slice(&chunk);
        }
        drop(counted);
        assert_eq!(received, whole);
        let recorded = recorded.lock().map(|r| r.clone()).unwrap_or_default();
        assert_eq!(recorded, vec![whole.len() as u64]);
    }

    #[tokio::test]
    async fn bytes_read_before_a_failure_are_sent_then_the_failure() {
        let inner = futures::stream::iter([
            Ok(Bytes::from_static(b"read")),
            Err(Failure::unavailable(
                "the content store",
                std::io::Error::other("gone"),
            )),
        ])
        .boxed();
        let mut counted = Counted::new(inner, Transport::Http, |_| ());
        let first = counted.next().await.map(|chunk| chunk.map(|c| c.to_vec()));
        assert_eq!(first.and_then(Result::ok), Some(b"read".to_vec()));
        let second = counted.next().await;
        assert!(matches!(second, Some(Err(_))), "{second:?}");
        assert!(counted.next().await.is_none());
    }
}
