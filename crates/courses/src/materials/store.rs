//! The SQL of materials, written once for SQLite and PostgreSQL: resources, resumable uploads,
//! which blobs are referred to, and download counts. Every list is one statement on an index.

use campus_store::{Database, Tx, on_pool, on_tx};

/// A resource as stored (its current version).
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct ResourceRow {
    pub(crate) id: String,
    pub(crate) school_id: String,
    pub(crate) course_id: String,
    pub(crate) lesson_id: String,
    pub(crate) title: String,
    pub(crate) media_type: String,
    pub(crate) size: i64,
    pub(crate) sha256: String,
    pub(crate) version: i64,
    pub(crate) uploaded_by: String,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
}

/// A resumable upload as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct UploadRow {
    pub(crate) id: String,
    pub(crate) school_id: String,
    pub(crate) course_id: String,
    pub(crate) lesson_id: String,
    pub(crate) resource_id: String,
    pub(crate) title: String,
    pub(crate) media_type: String,
    pub(crate) size: i64,
    pub(crate) sha256: String,
    pub(crate) uploaded_by: String,
    pub(crate) received: i64,
    /// The resource it became; empty until finished.
    pub(crate) finished_as: String,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
}

const RESOURCE_COLUMNS: &str = "id, school_id, course_id, lesson_id, title, media_type, size, \
                                sha256, version, uploaded_by, created_at, updated_at";
const UPLOAD_COLUMNS: &str = "id, school_id, course_id, lesson_id, resource_id, title, media_type, \
                              size, sha256, uploaded_by, received, finished_as, created_at, updated_at";

pub(crate) async fn insert_upload(tx: &mut Tx, upload: &UploadRow) -> Result<(), sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query(
            "INSERT INTO resource_uploads (id, school_id, course_id, lesson_id, resource_id, title, \
             media_type, size, sha256, uploaded_by, received, finished_as, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(&upload.id)
        .bind(&upload.school_id)
        .bind(&upload.course_id)
        .bind(&upload.lesson_id)
        .bind(&upload.resource_id)
        .bind(&upload.title)
        .bind(&upload.media_type)
        .bind(upload.size)
        .bind(&upload.sha256)
        .bind(&upload.uploaded_by)
        .bind(upload.received)
        .bind(&upload.finished_as)
        .bind(upload.created_at)
        .bind(upload.updated_at)
        .execute(conn)
        .await
        .map(|_| ())
    })
}

pub(crate) async fn upload(
    database: &Database,
    id: &str,
) -> Result<Option<UploadRow>, sqlx::Error> {
    let sql = format!("SELECT {UPLOAD_COLUMNS} FROM resource_uploads WHERE id = $1");
    on_pool!(database, pool => {
        sqlx::query_as::<_, UploadRow>(&sql).bind(id).fetch_optional(pool).await
    })
}

/// Moves an unfinished upload's acknowledged count from `from` to `to`; false if it was not at
/// `from` (a concurrent append won) or is finished.
pub(crate) async fn advance_upload(
    database: &Database,
    id: &str,
    from: i64,
    to: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    on_pool!(database, pool => {
        sqlx::query(
            "UPDATE resource_uploads SET received = $3, updated_at = $4 \
             WHERE id = $1 AND received = $2 AND finished_as = ''",
        )
        .bind(id)
        .bind(from)
        .bind(to)
        .bind(now)
        .execute(pool)
        .await
        .map(|done| done.rows_affected() == 1)
    })
}

/// Marks an upload finished as `resource_id`; false if it already was.
pub(crate) async fn finish_upload(
    tx: &mut Tx,
    id: &str,
    resource_id: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query(
            "UPDATE resource_uploads SET finished_as = $2, updated_at = $3 \
             WHERE id = $1 AND finished_as = ''",
        )
        .bind(id)
        .bind(resource_id)
        .bind(now)
        .execute(conn)
        .await
        .map(|done| done.rows_affected() == 1)
    })
}

/// Forgets an upload.
pub(crate) async fn delete_upload(database: &Database, id: &str) -> Result<(), sqlx::Error> {
    on_pool!(database, pool => {
        sqlx::query("DELETE FROM resource_uploads WHERE id = $1")
            .bind(id)
            .execute(pool)
            .await
            .map(|_| ())
    })
}

/// Uploads untouched since `before` (unfinished ones are abandoned; finished ones are kept
/// only so a retried FinishUpload finds its answer).
pub(crate) async fn stale_uploads(
    database: &Database,
    before: i64,
    limit: i64,
) -> Result<Vec<String>, sqlx::Error> {
    on_pool!(database, pool => {
        sqlx::query_scalar::<_, String>(
            "SELECT id FROM resource_uploads WHERE updated_at < $1 ORDER BY updated_at LIMIT $2",
        )
        .bind(before)
        .bind(limit)
        .fetch_all(pool)
        .await
    })
}

pub(crate) async fn resource(
    database: &Database,
    id: &str,
) -> Result<Option<ResourceRow>, sqlx::Error> {
    let sql = format!("SELECT {RESOURCE_COLUMNS} FROM resources WHERE id = $1");
    on_pool!(database, pool => {
        sqlx::query_as::<_, ResourceRow>(&sql).bind(id).fetch_optional(pool).await
    })
}

/// The resource, read inside a write transaction.
pub(crate) async fn resource_in(tx: &mut Tx, id: &str) -> Result<Option<ResourceRow>, sqlx::Error> {
    let sql = format!("SELECT {RESOURCE_COLUMNS} FROM resources WHERE id = $1");
    on_tx!(tx, conn => {
        sqlx::query_as::<_, ResourceRow>(&sql).bind(id).fetch_optional(conn).await
    })
}

/// Inserts a new resource, or replaces the stored one's version with `resource` (whose
/// `version` is the stored one plus one).
pub(crate) async fn put_resource(tx: &mut Tx, resource: &ResourceRow) -> Result<(), sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query(
            "INSERT INTO resources (id, school_id, course_id, lesson_id, title, media_type, size, \
             sha256, version, uploaded_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
             ON CONFLICT (id) DO UPDATE SET title = excluded.title, \
             media_type = excluded.media_type, size = excluded.size, sha256 = excluded.sha256, \
             version = excluded.version, uploaded_by = excluded.uploaded_by, \
             updated_at = excluded.updated_at",
        )
        .bind(&resource.id)
        .bind(&resource.school_id)
        .bind(&resource.course_id)
        .bind(&resource.lesson_id)
        .bind(&resource.title)
        .bind(&resource.media_type)
        .bind(resource.size)
        .bind(&resource.sha256)
        .bind(resource.version)
        .bind(&resource.uploaded_by)
        .bind(resource.created_at)
        .bind(resource.updated_at)
        .execute(conn)
        .await
        .map(|_| ())
    })
}

/// Deletes a resource and its counts.
pub(crate) async fn delete_resource(tx: &mut Tx, id: &str) -> Result<(), sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query("DELETE FROM resources WHERE id = $1")
            .bind(id)
            .execute(&mut *conn)
            .await?;
        sqlx::query("DELETE FROM resource_stats WHERE resource_id = $1")
            .bind(id)
            .execute(&mut *conn)
            .await
            .map(|_| ())
    })
}

/// One page of a course's resources (of one lesson, unless `lesson_id` is empty), oldest first.
pub(crate) async fn list_resources(
    database: &Database,
    course_id: &str,
    lesson_id: &str,
    after_id: &str,
    limit: u32,
) -> Result<Vec<ResourceRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {RESOURCE_COLUMNS} FROM resources WHERE course_id = $1 \
         AND ($2 = '' OR lesson_id = $2) AND ($3 = '' OR id > $3) ORDER BY id LIMIT $4"
    );
    on_pool!(database, pool => {
        sqlx::query_as::<_, ResourceRow>(&sql)
            .bind(course_id)
            .bind(lesson_id)
            .bind(after_id)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await
    })
}

/// Records that a blob is referred to (again): the sweep leaves it alone from now on.
pub(crate) async fn claim_blob(tx: &mut Tx, sha256: &str, size: i64) -> Result<(), sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query(
            "INSERT INTO content_blobs (sha256, size, orphaned_at) VALUES ($1, $2, NULL) \
             ON CONFLICT (sha256) DO UPDATE SET orphaned_at = NULL",
        )
        .bind(sha256)
        .bind(size)
        .execute(conn)
        .await
        .map(|_| ())
    })
}

/// Marks a blob orphaned at `now` if no resource refers to it any more.
pub(crate) async fn release_blob(tx: &mut Tx, sha256: &str, now: i64) -> Result<(), sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query(
            "UPDATE content_blobs SET orphaned_at = $2 WHERE sha256 = $1 AND orphaned_at IS NULL \
             AND NOT EXISTS (SELECT 1 FROM resources WHERE sha256 = $1)",
        )
        .bind(sha256)
        .bind(now)
        .execute(conn)
        .await
        .map(|_| ())
    })
}

/// Blobs orphaned before `before`.
pub(crate) async fn orphaned_blobs(
    database: &Database,
    before: i64,
    limit: i64,
) -> Result<Vec<String>, sqlx::Error> {
    on_pool!(database, pool => {
        sqlx::query_scalar::<_, String>(
            "SELECT sha256 FROM content_blobs WHERE orphaned_at < $1 ORDER BY orphaned_at LIMIT $2",
        )
        .bind(before)
        .bind(limit)
        .fetch_all(pool)
        .await
    })
}

/// Forgets a blob if it is still orphaned since before `before`; true if it was. Run in the
/// transaction that removes the blob, so an upload claiming it meanwhile waits and re-creates it.
pub(crate) async fn forget_blob(
    tx: &mut Tx,
    sha256: &str,
    before: i64,
) -> Result<bool, sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query(
            "DELETE FROM content_blobs WHERE sha256 = $1 AND orphaned_at < $2 \
             AND NOT EXISTS (SELECT 1 FROM resources WHERE sha256 = $1)",
        )
            .bind(sha256)
            .bind(before)
            .execute(conn)
            .await
            .map(|done| done.rows_affected() == 1)
    })
}

/// Adds a download (when `from_start`) and `bytes` sent to a resource's counts.
pub(crate) async fn count_download(
    database: &Database,
    resource: &ResourceRow,
    from_start: bool,
    bytes: i64,
) -> Result<(), sqlx::Error> {
    on_pool!(database, pool => {
        sqlx::query(
            "INSERT INTO resource_stats (resource_id, course_id, downloads, bytes_served) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (resource_id) DO UPDATE SET \
             downloads = resource_stats.downloads + excluded.downloads, \
             bytes_served = resource_stats.bytes_served + excluded.bytes_served",
        )
        .bind(&resource.id)
        .bind(&resource.course_id)
        .bind(i64::from(from_start))
        .bind(bytes)
        .execute(pool)
        .await
        .map(|_| ())
    })
}

/// Every resource of a course with its counts (zero when never downloaded), oldest first.
pub(crate) async fn course_stats(
    database: &Database,
    course_id: &str,
) -> Result<Vec<(String, i64, i64)>, sqlx::Error> {
    on_pool!(database, pool => {
        sqlx::query_as::<_, (String, i64, i64)>(
            "SELECT r.id, COALESCE(s.downloads, 0), COALESCE(s.bytes_served, 0) \
             FROM resources r LEFT JOIN resource_stats s ON s.resource_id = r.id \
             WHERE r.course_id = $1 ORDER BY r.id",
        )
        .bind(course_id)
        .fetch_all(pool)
        .await
    })
}

/// Whether a lesson belongs to a course.
pub(crate) async fn lesson_exists(
    database: &Database,
    course_id: &str,
    lesson_id: &str,
) -> Result<bool, sqlx::Error> {
    on_pool!(database, pool => {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM lessons WHERE id = $1 AND course_id = $2")
            .bind(lesson_id)
            .bind(course_id)
            .fetch_one(pool)
            .await
            .map(|count| count > 0)
    })
}

/// Records a blob about to be written: a new row is marked orphaned as of `now`, so a crash
/// before any resource refers to it leaves it to the sweep after the grace period; a row that
/// a resource refers to (orphaned_at NULL) stays so. Committed before the blob is written, so
/// a sweep removing an older copy of the same content finishes first.
pub(crate) async fn reserve_blob(
    tx: &mut Tx,
    sha256: &str,
    size: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query(
            "INSERT INTO content_blobs (sha256, size, orphaned_at) VALUES ($1, $2, $3) \
             ON CONFLICT (sha256) DO UPDATE SET orphaned_at = CASE \
             WHEN content_blobs.orphaned_at IS NULL THEN NULL ELSE excluded.orphaned_at END",
        )
        .bind(sha256)
        .bind(size)
        .bind(now)
        .execute(conn)
        .await
        .map(|_| ())
    })
}
