//! Requests of `MaterialsService`. Resources are made in the cell's course by the platform
//! admin; uploads are personal, so the upload a row resumes is started by the course's
//! instructor, and only they may continue it.

use campus_proto::courses::{
    AppendUploadRequest, DeleteResourceRequest, DownloadResourceRequest, FinishUploadRequest,
    GetDownloadUrlRequest, GetResourceStatsRequest, GetUploadRequest, ListResourcesRequest,
    ListResourcesResponse, StartUploadRequest, UploadResourceRequest, UploadStart,
    materials_service_client::MaterialsServiceClient, upload_resource_request::Part,
};
use campus_testkit::Error;
use sha2::Digest as _;
use tonic::{Response, Status};

use super::Cell;
use crate::probe::Observed;

/// The file every row uploads.
const FILE: &[u8] = b"A short reading list.";

/// What uploading [`FILE`] to `course_id` announces.
fn start(cell: &Cell<'_>, course_id: &str) -> UploadStart {
    UploadStart {
        request_id: format!("row-{}", cell.unique()),
        course_id: course_id.to_owned(),
        lesson_id: String::new(),
        resource_id: String::new(),
        title: format!("Reading {}", cell.unique()),
        media_type: "text/plain".to_owned(),
        size: FILE.len() as i64,
        sha256: sha2::Sha256::digest(FILE)
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect(),
    }
}

/// The messages of an upload of [`FILE`].
fn upload_messages(start: UploadStart) -> impl tokio_stream::Stream<Item = UploadResourceRequest> {
    tokio_stream::iter([
        UploadResourceRequest {
            part: Some(Part::Start(start)),
        },
        UploadResourceRequest {
            part: Some(Part::Chunk(FILE.to_vec())),
        },
    ])
}

/// A new resource in `course_id`, uploaded by the platform admin.
async fn resource(cell: &Cell<'_>, course_id: &str) -> Result<String, Error> {
    let mut setup = MaterialsServiceClient::new(cell.setup()?);
    Ok(setup
        .upload_resource(upload_messages(start(cell, course_id)))
        .await?
        .into_inner()
        .resource
        .ok_or("no resource")?
        .id)
}

/// A new upload of [`FILE`] to the cell's course, started by its instructor; with the bytes
/// appended when `complete`.
async fn instructors_upload(cell: &Cell<'_>, complete: bool) -> Result<String, Error> {
    let bundle = cell.subject.bundle;
    let mut instructor =
        MaterialsServiceClient::new(cell.world.setup.wire(Some(&bundle.instructor.token))?);
    let upload = instructor
        .start_upload(StartUploadRequest {
            start: Some(start(cell, &bundle.course_id)),
        })
        .await?
        .into_inner()
        .upload
        .ok_or("no upload")?;
    if complete {
        instructor
            .append_upload(AppendUploadRequest {
                upload_id: upload.id.clone(),
                offset: 0,
                data: FILE.to_vec(),
            })
            .await?;
    }
    Ok(upload.id)
}

/// Calls `method` of the materials service for `cell`.
pub(crate) async fn call(method: &str, cell: &Cell<'_>) -> Result<Option<Observed>, Error> {
    let mut materials = MaterialsServiceClient::new(cell.wire()?);
    let mut setup = MaterialsServiceClient::new(cell.setup()?);
    let course_id = cell.subject.bundle.course_id.clone();
    let probe = cell.probe;
    let observed = match method {
        "UploadResource" => {
            let call = materials.upload_resource(upload_messages(start(cell, &course_id)));
            probe.run(course_id, call).await?
        }
        "StartUpload" => {
            let request = StartUploadRequest {
                start: Some(start(cell, &course_id)),
            };
            probe
                .run(course_id, materials.start_upload(request))
                .await?
        }
        "AppendUpload" => {
            let upload_id = instructors_upload(cell, false).await?;
            let request = AppendUploadRequest {
                upload_id,
                offset: 0,
                data: FILE.to_vec(),
            };
            let expect = format!("received: {}", FILE.len());
            probe.run(expect, materials.append_upload(request)).await?
        }
        "GetUpload" => {
            let upload_id = instructors_upload(cell, false).await?;
            let request = GetUploadRequest {
                upload_id: upload_id.clone(),
            };
            probe.run(upload_id, materials.get_upload(request)).await?
        }
        "FinishUpload" => {
            let upload_id = instructors_upload(cell, true).await?;
            let request = FinishUploadRequest { upload_id };
            probe
                .run(course_id, materials.finish_upload(request))
                .await?
        }
        "ListResources" => {
            let resource_id = resource(cell, &course_id).await?;
            let request = ListResourcesRequest {
                course_id,
                page_size: 200,
                ..ListResourcesRequest::default()
            };
            probe
                .run(resource_id, materials.list_resources(request))
                .await?
        }
        "DeleteResource" => {
            let resource_id = resource(cell, &course_id).await?;
            let call = async move {
                materials
                    .delete_resource(DeleteResourceRequest {
                        resource_id: resource_id.clone(),
                    })
                    .await?;
                let left: ListResourcesResponse = setup
                    .list_resources(ListResourcesRequest {
                        course_id,
                        page_size: 200,
                        ..ListResourcesRequest::default()
                    })
                    .await?
                    .into_inner();
                let still = left.resources.iter().any(|r| r.id == resource_id);
                Ok::<_, Status>(Response::new(if still { "still there" } else { "removed" }))
            };
            probe.run("removed", call).await?
        }
        "DownloadResource" => {
            let resource_id = resource(cell, &course_id).await?;
            let call = async move {
                let mut stream = materials
                    .download_resource(DownloadResourceRequest {
                        resource_id,
                        offset: 0,
                    })
                    .await?
                    .into_inner();
                let mut bytes = Vec::new();
                while let Some(message) = stream.message().await? {
                    bytes.extend_from_slice(&message.chunk);
                }
                Ok::<_, Status>(Response::new(String::from_utf8_lossy(&bytes).into_owned()))
            };
            probe
                .run(String::from_utf8_lossy(FILE).into_owned(), call)
                .await?
        }
        "GetDownloadUrl" => {
            let resource_id = resource(cell, &course_id).await?;
            let request = GetDownloadUrlRequest {
                resource_id: resource_id.clone(),
                attachment: false,
            };
            probe
                .run(resource_id, materials.get_download_url(request))
                .await?
        }
        "GetResourceStats" => {
            let resource_id = resource(cell, &course_id).await?;
            let request = GetResourceStatsRequest { course_id };
            probe
                .run(resource_id, materials.get_resource_stats(request))
                .await?
        }
        _ => return Ok(None),
    };
    Ok(Some(observed))
}
