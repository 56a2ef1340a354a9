//! The sweep: removes what uploads left behind and files nothing refers to, once they are
//! older than `CAMPUS_CONTENT_GRACE`. Every replica runs it; each blob's removal is claimed by
//! deleting its row in the transaction that removes the file, so an upload of the same content
//! meanwhile waits for that transaction and writes the file again.

use campus_store::events::outbox::micros_ago;

use super::{Materials, store};
use crate::error::CoursesError;

/// Rows handled per round, so one round stays short.
const BATCH: i64 = 500;

/// What one round removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Swept {
    pub(crate) uploads: usize,
    pub(crate) staging: usize,
    pub(crate) blobs: usize,
}

/// Sweeps every `materials.sweep_interval` until `stop`.
pub(super) async fn run(materials: Materials, stop: impl Future<Output = ()> + Send) {
    let materials = &materials;
    campus_runtime::periodic::every(materials.sweep_interval, stop, move || async move {
        match materials.sweep_once().await {
            Ok(swept) if swept != Swept::default() => {
                tracing::info!(?swept, "removed abandoned uploads and unreferenced files");
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "the content sweep failed; it runs again later"),
        }
    })
    .await;
}

impl Materials {
    /// One round of the sweep.
    pub(crate) async fn sweep_once(&self) -> Result<Swept, CoursesError> {
        let database = &self.courses.store.database;
        let cutoff = micros_ago(self.grace);
        let mut swept = Swept::default();
        for upload_id in store::stale_uploads(database, cutoff, BATCH).await? {
            self.content.remove_upload(&upload_id).await?;
            store::delete_upload(database, &upload_id).await?;
            swept.uploads += 1;
        }
        for upload_id in self.content.stale_staging(self.grace).await? {
            self.content.remove_upload(&upload_id).await?;
            swept.staging += 1;
        }
        for sha256 in store::orphaned_blobs(database, cutoff, BATCH).await? {
            let mut tx = database.begin().await?;
            if store::forget_blob(&mut tx, &sha256, cutoff).await? {
                self.content.remove_blob(&sha256).await?;
                swept.blobs += 1;
            }
            tx.commit().await?;
        }
        Ok(swept)
    }
}
