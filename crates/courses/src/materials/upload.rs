//! Uploads: the client stream of services and the command line, and the resumable chunked
//! calls of browsers. Both end in [`Materials::store_version`], the one path that checks a
//! file's bytes and makes it a resource's version; nothing is visible before it commits.

use bytes::Bytes;
use campus_proto::{
    courses::{
        AppendUploadRequest, AppendUploadResponse, FinishUploadRequest, FinishUploadResponse,
        StartUploadRequest, StartUploadResponse, Upload, UploadResourceRequest,
        UploadResourceResponse, UploadStart, upload_resource_request::Part,
    },
    events::ResourceUpdated,
};
use campus_runtime::{auth::Caller, failure::Failure};
use campus_store::{
    content::{Mismatch, WriteError},
    idempotency::Request,
    now_micros,
};
use futures::{Stream, StreamExt as _};

use super::{
    Materials,
    checks::{Announced, check_start},
    resource_message,
    store::{self, ResourceRow, UploadRow},
};
use crate::error::CoursesError;

/// A stored upload as the API's message.
fn upload_message(row: &UploadRow, resource: Option<&ResourceRow>) -> Upload {
    Upload {
        id: row.id.clone(),
        start: Some(UploadStart {
            request_id: String::new(),
            course_id: row.course_id.clone(),
            lesson_id: row.lesson_id.clone(),
            resource_id: row.resource_id.clone(),
            title: row.title.clone(),
            media_type: row.media_type.clone(),
            size: row.size,
            sha256: row.sha256.clone(),
        }),
        received: row.received,
        resource: resource.map(resource_message),
    }
}

/// A file whose bytes are not the announced ones, as the caller's error.
fn mismatch(error: WriteError) -> CoursesError {
    match error {
        WriteError::Mismatch(mismatch @ Mismatch::Sha256 { .. }) => {
            CoursesError::invalid("sha256", mismatch.to_string())
        }
        WriteError::Mismatch(mismatch) => CoursesError::invalid("size", mismatch.to_string()),
        WriteError::Failure(failure) => CoursesError::Failure(failure),
    }
}

/// Sizes are announced as int64 and checked positive; stored as such.
fn stored_size(size: u64) -> i64 {
    i64::try_from(size).unwrap_or(i64::MAX)
}

impl Materials {
    /// Checks an announcement and what it names: a course `caller` may change, a lesson of
    /// it, a resource of it to replace.
    async fn check_target(
        &self,
        caller: &Caller,
        start: &UploadStart,
    ) -> Result<Announced, CoursesError> {
        let announced = check_start(start, self.max_size)?;
        let course = self.editable_course(caller, &announced.course_id).await?;
        let database = &self.courses.store.database;
        if !announced.lesson_id.is_empty()
            && !store::lesson_exists(database, &course.id, &announced.lesson_id).await?
        {
            return Err(CoursesError::NotFound("lesson"));
        }
        if !announced.resource_id.is_empty() {
            match store::resource(database, &announced.resource_id).await? {
                Some(resource) if resource.course_id == course.id => {}
                Some(_) | None => return Err(CoursesError::NotFound("resource")),
            }
        }
        Ok(announced)
    }

    /// UploadResource: the first message announces, the following ones carry the bytes.
    pub(crate) async fn upload_stream<S>(
        &self,
        caller: &Caller,
        messages: S,
    ) -> Result<UploadResourceResponse, CoursesError>
    where
        S: Stream<Item = Result<UploadResourceRequest, tonic::Status>> + Send + Unpin,
    {
        let mut messages = messages;
        let start = match messages.next().await {
            Some(Ok(UploadResourceRequest {
                part: Some(Part::Start(start)),
            })) => start,
            Some(Err(status)) => return Err(CoursesError::Refused(status)),
            Some(Ok(_)) | None => {
                return Err(CoursesError::invalid(
                    "start",
                    "the first message must announce the upload",
                ));
            }
        };
        let announced = self.check_target(caller, &start).await?;
        let bytes = messages.map(|message| match message {
            Ok(UploadResourceRequest {
                part: Some(Part::Chunk(chunk)),
            }) => Ok(Bytes::from(chunk)),
            Ok(_) => Err(WriteError::Failure(Failure::new(
                campus_runtime::failure::FailureKind::Cancelled,
                "the upload stream",
                "a message after the first was not a chunk",
            ))),
            Err(status) => Err(WriteError::Failure(Failure::new(
                campus_runtime::failure::FailureKind::Cancelled,
                "the upload stream",
                status.message().to_owned(),
            ))),
        });
        let upload_id = uuid::Uuid::now_v7().to_string();
        let request = Request::new(
            format!("courses.UploadResource:{}", caller.user_id),
            &start.request_id,
            &start,
        );
        let resource = self
            .store_version(caller, &announced, &upload_id, bytes, None, &request)
            .await?;
        Ok(UploadResourceResponse {
            resource: Some(resource),
        })
    }

    /// StartUpload: records the announcement; a repeated `request_id` returns the same upload.
    pub(crate) async fn start_upload(
        &self,
        caller: &Caller,
        body: StartUploadRequest,
    ) -> Result<StartUploadResponse, CoursesError> {
        let start = body.start.unwrap_or_default();
        let announced = self.check_target(caller, &start).await?;
        let request = Request::new(
            format!("courses.StartUpload:{}", caller.user_id),
            &start.request_id,
            &start,
        );
        let now = now_micros();
        let course = self
            .courses
            .visible_course(caller, &announced.course_id)
            .await?;
        let row = UploadRow {
            id: uuid::Uuid::now_v7().to_string(),
            school_id: course.school_id,
            course_id: announced.course_id,
            lesson_id: announced.lesson_id,
            resource_id: announced.resource_id,
            title: announced.title,
            media_type: announced.media_type,
            size: stored_size(announced.size),
            sha256: announced.sha256,
            uploaded_by: caller.user_id.clone(),
            received: 0,
            finished_as: String::new(),
            created_at: now,
            updated_at: now,
        };
        let answer = StartUploadResponse {
            upload: Some(upload_message(&row, None)),
        };
        let written = self
            .courses
            .store
            .idempotency
            .write(&request, |mut tx| async move {
                store::insert_upload(&mut tx, &row).await?;
                Ok::<_, CoursesError>((tx, answer))
            });
        Ok(written.await?.response)
    }

    /// The caller's own upload: uploads are resumed by whoever started them.
    async fn own_upload(
        &self,
        caller: &Caller,
        upload_id: &str,
    ) -> Result<UploadRow, CoursesError> {
        if upload_id.is_empty() {
            return Err(CoursesError::invalid("upload_id", "is required"));
        }
        match store::upload(&self.courses.store.database, upload_id).await? {
            Some(upload) if upload.uploaded_by == caller.user_id => Ok(upload),
            Some(_) | None => Err(CoursesError::NotFound("upload")),
        }
    }

    /// GetUpload: the upload and the bytes acknowledged so far.
    pub(crate) async fn get_upload(
        &self,
        caller: &Caller,
        upload_id: &str,
    ) -> Result<Upload, CoursesError> {
        let upload = self.own_upload(caller, upload_id).await?;
        let resource = if upload.finished_as.is_empty() {
            None
        } else {
            store::resource(&self.courses.store.database, &upload.finished_as).await?
        };
        Ok(upload_message(&upload, resource.as_ref()))
    }

    /// AppendUpload: stores the chunk at the acknowledged offset, then acknowledges it.
    pub(crate) async fn append_upload(
        &self,
        caller: &Caller,
        body: AppendUploadRequest,
    ) -> Result<AppendUploadResponse, CoursesError> {
        let upload = self.own_upload(caller, &body.upload_id).await?;
        if body.data.is_empty() {
            return Err(CoursesError::invalid("data", "must not be empty"));
        }
        let Ok(offset) = u64::try_from(body.offset) else {
            return Err(CoursesError::invalid("offset", "must not be negative"));
        };
        let end = body
            .offset
            .saturating_add(i64::try_from(body.data.len()).unwrap_or(i64::MAX));
        if end <= upload.received {
            return Ok(AppendUploadResponse {
                received: upload.received,
            });
        }
        if !upload.finished_as.is_empty() {
            return Err(CoursesError::FailedPrecondition("the upload is finished"));
        }
        if body.offset != upload.received {
            return Err(CoursesError::FailedPrecondition(
                "offset is not the upload's received count: ask GetUpload and continue from there",
            ));
        }
        if end > upload.size {
            return Err(CoursesError::invalid(
                "data",
                "goes beyond the size the upload announced",
            ));
        }
        self.content
            .put_chunk(&upload.id, offset, Bytes::from(body.data))
            .await?;
        let database = &self.courses.store.database;
        if store::advance_upload(database, &upload.id, body.offset, end, now_micros()).await? {
            return Ok(AppendUploadResponse { received: end });
        }
        // Another attempt moved the count first: fine if it covers this chunk.
        let stored = self.own_upload(caller, &upload.id).await?;
        if stored.received >= end {
            Ok(AppendUploadResponse {
                received: stored.received,
            })
        } else {
            Err(CoursesError::FailedPrecondition(
                "offset is not the upload's received count: ask GetUpload and continue from there",
            ))
        }
    }

    /// FinishUpload: checks the bytes and makes them the resource's version. A file whose size
    /// or SHA-256 is not the announced one is discarded with the upload.
    pub(crate) async fn finish_upload(
        &self,
        caller: &Caller,
        body: FinishUploadRequest,
    ) -> Result<FinishUploadResponse, CoursesError> {
        let upload = self.own_upload(caller, &body.upload_id).await?;
        let database = &self.courses.store.database;
        if !upload.finished_as.is_empty() {
            let resource = store::resource(database, &upload.finished_as)
                .await?
                .ok_or(CoursesError::NotFound("resource"))?;
            return Ok(FinishUploadResponse {
                resource: Some(resource_message(&resource)),
            });
        }
        if upload.received != upload.size {
            return Err(CoursesError::FailedPrecondition(
                "the upload has not received all its bytes: append the rest first",
            ));
        }
        let announced = Announced {
            course_id: upload.course_id.clone(),
            lesson_id: upload.lesson_id.clone(),
            resource_id: upload.resource_id.clone(),
            title: upload.title.clone(),
            media_type: upload.media_type.clone(),
            size: u64::try_from(upload.size).unwrap_or(0),
            sha256: upload.sha256.clone(),
        };
        let chunks = match self
            .content
            .uploaded_chunks(&upload.id, announced.size)
            .await
        {
            Ok(chunks) => chunks,
            Err(error) => return Err(self.discard(&upload.id, mismatch(error)).await),
        };
        let request = Request::new("courses.FinishUpload", &upload.id, &body);
        match self
            .store_version(
                caller,
                &announced,
                &upload.id,
                chunks,
                Some(&upload.id),
                &request,
            )
            .await
        {
            Ok(resource) => {
                if let Err(failure) = self.content.remove_upload(&upload.id).await {
                    tracing::warn!(%failure, upload_id = upload.id, "a finished upload's chunks stay for the sweep");
                }
                Ok(FinishUploadResponse {
                    resource: Some(resource),
                })
            }
            Err(error @ CoursesError::Invalid(_)) => Err(self.discard(&upload.id, error).await),
            Err(other) => Err(other),
        }
    }

    /// Removes a refused upload (its chunks and its row) and returns `error`.
    async fn discard(&self, upload_id: &str, error: CoursesError) -> CoursesError {
        if let CoursesError::Invalid(_) = error {
            let removed = async {
                self.content.remove_upload(upload_id).await?;
                store::delete_upload(&self.courses.store.database, upload_id).await?;
                Ok::<_, CoursesError>(())
            };
            if let Err(failure) = removed.await {
                tracing::warn!(error = %failure, upload_id, "a refused upload stays for the sweep");
            }
        }
        error
    }

    /// Writes `bytes` as the announced file and, once its size and SHA-256 match, makes it
    /// the current version of the resource (a new one, or `announced.resource_id`) in one
    /// transaction that also marks `finishing` done and publishes `resource.updated`.
    async fn store_version<S, E>(
        &self,
        caller: &Caller,
        announced: &Announced,
        upload_id: &str,
        bytes: S,
        finishing: Option<&str>,
        request: &Request<'_>,
    ) -> Result<campus_proto::courses::Resource, CoursesError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send,
        E: Into<WriteError>,
    {
        let database = &self.courses.store.database;
        let size = stored_size(announced.size);
        let mut tx = database.begin().await?;
        store::reserve_blob(&mut tx, &announced.sha256, size, now_micros()).await?;
        tx.commit().await?;
        self.content
            .write_checked(upload_id, bytes, announced.size, &announced.sha256)
            .await
            .map_err(mismatch)?;
        self.metrics.bytes_uploaded.inc_by(announced.size);
        let course = self.editable_course(caller, &announced.course_id).await?;
        let now = now_micros();
        let written = self
            .courses
            .store
            .idempotency
            .write(request, |mut tx| async move {
                let previous = if announced.resource_id.is_empty() {
                    None
                } else {
                    Some(
                        store::resource_in(&mut tx, &announced.resource_id)
                            .await?
                            .ok_or(CoursesError::NotFound("resource"))?,
                    )
                };
                let resource = ResourceRow {
                    id: previous.as_ref().map_or_else(
                        || uuid::Uuid::now_v7().to_string(),
                        |previous| previous.id.clone(),
                    ),
                    school_id: course.school_id.clone(),
                    course_id: course.id.clone(),
                    lesson_id: previous.as_ref().map_or_else(
                        || announced.lesson_id.clone(),
                        |previous| previous.lesson_id.clone(),
                    ),
                    title: announced.title.clone(),
                    media_type: announced.media_type.clone(),
                    size,
                    sha256: announced.sha256.clone(),
                    version: previous.as_ref().map_or(1, |previous| previous.version + 1),
                    uploaded_by: caller.user_id.clone(),
                    created_at: previous
                        .as_ref()
                        .map_or(now, |previous| previous.created_at),
                    updated_at: now,
                };
                store::claim_blob(&mut tx, &resource.sha256, size).await?;
                store::put_resource(&mut tx, &resource).await?;
                if let Some(previous) = &previous {
                    store::release_blob(&mut tx, &previous.sha256, now).await?;
                }
                if let Some(upload_id) = finishing {
                    store::finish_upload(&mut tx, upload_id, &resource.id, now).await?;
                }
                let message = resource_message(&resource);
                tx.publish(
                    &resource.id,
                    &resource.school_id,
                    &ResourceUpdated {
                        resource: Some(message.clone()),
                        school_id: resource.school_id.clone(),
                    },
                )
                .await?;
                Ok::<_, CoursesError>((tx, message))
            });
        Ok(written.await?.response)
    }
}
