//! Materials: files of courses and lessons (`campus.courses.v1.MaterialsService`), uploaded
//! by the course's staff in one client stream or in resumable chunks, and streamed to the
//! course's learners over gRPC or, through signed URLs, over plain HTTP with Range requests.
//!
//! - `checks`: what an upload may announce (title, media type, size, SHA-256).
//! - `access`: who may read and who may change a course's materials.
//! - `store`: the SQL of resources, uploads, referenced blobs and download counts.
//! - `upload`: starting, appending to and finishing uploads; the one path that makes a
//!   checked file a resource's version.
//! - `download`: the gRPC stream, signed URLs and counts; `http`: the signed-URL route;
//!   `in_flight`: a download reads its next chunk once the connection let go of the last.
//! - `signing`: HMAC-signed download URLs with rotating keys.
//! - `sweep`: removal of abandoned uploads and of files nothing refers to.
//! - `service`: the gRPC trait, delegating to the above.

mod access;
pub(crate) mod checks;
mod download;
pub(crate) mod http;
mod in_flight;
mod service;
pub(crate) mod signing;
mod store;
mod sweep;
mod upload;

use std::{sync::Arc, time::Duration};

use campus_proto::courses::materials_service_server::MaterialsServiceServer;
use campus_runtime::http_routes::HttpHandler;
use campus_store::content::{Content, ContentConfig};
use prometheus::{IntCounter, IntCounterVec, Opts, Registry};

pub use signing::SigningKeyError;

use crate::{Courses, config::MaterialsConfig};

/// The materials service: the courses service's data plus the content store.
#[derive(Debug, Clone)]
pub struct Materials {
    courses: Courses,
    content: Content,
    signer: signing::UrlSigner,
    url_ttl: Duration,
    sweep_interval: Duration,
    max_size: u64,
    grace: Duration,
    metrics: Arc<MaterialsMetrics>,
}

/// Why the materials service cannot start.
#[derive(Debug, thiserror::Error)]
pub enum MaterialsSetupError {
    /// The signing key list is unusable.
    #[error(transparent)]
    SigningKey(#[from] SigningKeyError),
    /// The metrics could not be registered.
    #[error("registering the content metrics: {0}")]
    Metrics(#[from] prometheus::Error),
}

/// Aggregate counters of downloads (not one series per resource: per-resource counts are in
/// GetResourceStats).
#[derive(Debug)]
struct MaterialsMetrics {
    /// Downloads begun from the first byte, by transport (`grpc`, `http`).
    downloads: IntCounterVec,
    /// Bytes sent, by transport.
    bytes_served: IntCounterVec,
    /// Bytes accepted into checked uploads.
    bytes_uploaded: IntCounter,
}

impl MaterialsMetrics {
    fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let downloads = IntCounterVec::new(
            Opts::new(
                "campus_content_downloads_total",
                "Downloads of course materials begun from the first byte, by transport.",
            ),
            &["transport"],
        )?;
        let bytes_served = IntCounterVec::new(
            Opts::new(
                "campus_content_bytes_served_total",
                "Bytes of course materials sent, by transport.",
            ),
            &["transport"],
        )?;
        let bytes_uploaded = IntCounter::new(
            "campus_content_bytes_uploaded_total",
            "Bytes of course materials accepted in checked uploads.",
        )?;
        registry.register(Box::new(downloads.clone()))?;
        registry.register(Box::new(bytes_served.clone()))?;
        registry.register(Box::new(bytes_uploaded.clone()))?;
        Ok(Self {
            downloads,
            bytes_served,
            bytes_uploaded,
        })
    }
}

impl Materials {
    /// The service over `courses`' data, storing files in `content`.
    pub fn new(
        courses: &Courses,
        content: Content,
        content_config: &ContentConfig,
        config: &MaterialsConfig,
        registry: &Registry,
    ) -> Result<Self, MaterialsSetupError> {
        let signer = signing::UrlSigner::from_config(config)?;
        Ok(Self {
            courses: courses.clone(),
            content,
            signer,
            url_ttl: config.url_ttl,
            sweep_interval: config.sweep_interval,
            max_size: content_config.max_size,
            grace: content_config.grace,
            metrics: Arc::new(MaterialsMetrics::register(registry)?),
        })
    }

    /// The keys that sign download URLs, which sign calendar feed URLs too.
    pub(crate) fn signer(&self) -> &signing::UrlSigner {
        &self.signer
    }

    /// The signed-download route, for the server's HTTP routes.
    pub fn http_route(&self) -> (&'static str, HttpHandler) {
        (signing::URL_PREFIX, http::handler(self.clone()))
    }

    /// Removes abandoned uploads and unreferenced files every `CAMPUS_CONTENT_SWEEP_INTERVAL`
    /// until `stop` completes. Every replica may run it: each removal is claimed in the
    /// database first.
    pub async fn sweep_until(&self, stop: impl Future<Output = ()> + Send) {
        sweep::run(self.clone(), stop).await;
    }
}

/// The tonic service for the server builder, with the process's message size limit applied
/// both ways.
pub fn service(materials: Materials, max_message_size: usize) -> MaterialsServiceServer<Materials> {
    MaterialsServiceServer::new(materials)
        .max_decoding_message_size(max_message_size)
        .max_encoding_message_size(max_message_size)
}

/// A stored resource as the API's message.
fn resource_message(row: &store::ResourceRow) -> campus_proto::courses::Resource {
    use campus_runtime::api::timestamp;
    campus_proto::courses::Resource {
        id: row.id.clone(),
        course_id: row.course_id.clone(),
        lesson_id: row.lesson_id.clone(),
        title: row.title.clone(),
        media_type: row.media_type.clone(),
        size: row.size,
        sha256: row.sha256.clone(),
        version: row.version,
        uploaded_by: row.uploaded_by.clone(),
        created_at: Some(timestamp(row.created_at)),
        updated_at: Some(timestamp(row.updated_at)),
    }
}
