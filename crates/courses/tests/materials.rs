//! Materials end to end, on the filesystem store and on an S3-compatible server (moto; never
//! skipped under `CI=true`): uploads in one stream and resumed in chunks, byte-for-byte
//! downloads over gRPC and over signed HTTP URLs with Range, refused URLs, refused bytes that
//! leave nothing behind, and the sweep of what uploads abandon.

mod common;

use std::time::Duration;

use campus_proto::courses::{
    AddLessonRequest, AppendUploadRequest, DeleteResourceRequest, DownloadResourceRequest,
    EnrollRequest, FinishUploadRequest, GetDownloadUrlRequest, GetResourceStatsRequest,
    GetUploadRequest, ListResourcesRequest, Resource, StartUploadRequest, UploadResourceRequest,
    UploadStart, materials_service_client::MaterialsServiceClient, upload_resource_request::Part,
};
use campus_proto::users::Role;
use campus_testkit::{AuthedChannel, CampusOptions, TestCampus, TestContent};
use common::{Error, Person, courses_as, person, published_course, school};
use sha2::Digest as _;
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;

/// Size of the chunks the tests send: also the server's local read and HTTP chunk.
const CHUNK: usize = 64 * 1024;

/// Size of the chunks of a gRPC download.
const GRPC_CHUNK: usize = 32 * 1024;

const OLD_KEY: &str = "old=0123456789abcdef0123456789abcdef";
const NEW_KEY: &str = "new=fedcba9876543210fedcba9876543210";

/// A class: a published course with a lesson, its teacher, an enrolled pupil and a pupil of
/// the same school who is not enrolled.
struct Class {
    campus: TestCampus,
    teacher: Person,
    pupil: Person,
    outsider: Person,
    course_id: String,
    lesson_id: String,
}

type Materials = MaterialsServiceClient<AuthedChannel>;

async fn start(
    content: &TestContent,
    args: &[&str],
    database_url: Option<String>,
) -> Result<TestCampus, Error> {
    let mut flags = content.args();
    flags.extend(args.iter().map(|arg| (*arg).to_owned()));
    let campus = TestCampus::start(CampusOptions {
        args: flags,
        env: content.env().to_vec(),
        database_url,
        ..CampusOptions::default()
    })
    .await?;
    campus.wait_for_status("", ServingStatus::Serving).await?;
    Ok(campus)
}

async fn class(content: &TestContent, args: &[&str]) -> Result<Class, Error> {
    let campus = start(content, args, None).await?;
    let hill = school(&campus, "hill").await?;
    let teacher = person(&campus, &hill, "teacher@hill.example", Role::Instructor).await?;
    let pupil = person(&campus, &hill, "pupil@hill.example", Role::Student).await?;
    let outsider = person(&campus, &hill, "other@hill.example", Role::Student).await?;
    let course = published_course(&campus, &teacher, "Film studies").await?;
    let lesson = courses_as(&campus, &teacher.token)
        .await?
        .add_lesson(AddLessonRequest {
            request_id: String::new(),
            course_id: course.id.clone(),
            title: "Week 1".into(),
            content: "Watch the film.".into(),
            position: None,
        })
        .await?
        .into_inner()
        .lesson
        .ok_or("no lesson")?;
    courses_as(&campus, &pupil.token)
        .await?
        .enroll(EnrollRequest {
            course_id: course.id.clone(),
            user_id: pupil.user.id.clone(),
        })
        .await?;
    Ok(Class {
        campus,
        teacher,
        pupil,
        outsider,
        course_id: course.id,
        lesson_id: lesson.id,
    })
}

impl Class {
    async fn materials_as(&self, person: &Person) -> Result<Materials, Error> {
        Ok(MaterialsServiceClient::new(
            self.campus.channel_as(&person.token).await?,
        ))
    }

    fn start(&self, title: &str, data: &[u8]) -> UploadStart {
        UploadStart {
            request_id: String::new(),
            course_id: self.course_id.clone(),
            lesson_id: self.lesson_id.clone(),
            resource_id: String::new(),
            title: title.to_owned(),
            media_type: "video/mp4".into(),
            size: i64::try_from(data.len()).unwrap_or(i64::MAX),
            sha256: sha256(data),
        }
    }

    /// Uploads `data` in one client stream of `CHUNK`-sized messages.
    async fn upload(&self, start: UploadStart, data: &[u8]) -> Result<Resource, tonic::Status> {
        let mut materials = self
            .materials_as(&self.teacher)
            .await
            .map_err(|error| tonic::Status::internal(error.to_string()))?;
        let mut messages = vec![UploadResourceRequest {
            part: Some(Part::Start(start)),
        }];
        messages.extend(data.chunks(CHUNK).map(|chunk| UploadResourceRequest {
            part: Some(Part::Chunk(chunk.to_vec())),
        }));
        materials
            .upload_resource(tokio_stream::iter(messages))
            .await?
            .into_inner()
            .resource
            .ok_or_else(|| tonic::Status::internal("no resource"))
    }

    /// The resource's bytes from `offset`, over gRPC, as `person`.
    async fn download(
        &self,
        person: &Person,
        resource_id: &str,
        offset: i64,
    ) -> Result<Vec<u8>, Error> {
        let mut stream = self
            .materials_as(person)
            .await?
            .download_resource(DownloadResourceRequest {
                resource_id: resource_id.to_owned(),
                offset,
            })
            .await?
            .into_inner();
        let mut bytes = Vec::new();
        while let Some(message) = stream.message().await? {
            bytes.extend_from_slice(&message.chunk);
        }
        Ok(bytes)
    }

    /// A signed URL of the resource for `person`, absolute.
    async fn url(
        &self,
        person: &Person,
        resource_id: &str,
        attachment: bool,
    ) -> Result<String, Error> {
        let path = self
            .materials_as(person)
            .await?
            .get_download_url(GetDownloadUrlRequest {
                resource_id: resource_id.to_owned(),
                attachment,
            })
            .await?
            .into_inner()
            .url;
        Ok(format!("{}{path}", self.campus.url()))
    }
}

fn sha256(data: &[u8]) -> String {
    sha2::Sha256::digest(data)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Bytes that differ at every position that matters: a counter mixed with its own position.
fn file(size: usize, seed: u8) -> Vec<u8> {
    (0..size)
        .map(|index| (index as u8).wrapping_mul(31).wrapping_add(seed) ^ ((index >> 8) as u8))
        .collect()
}

async fn get(url: &str, headers: &[(&str, &str)]) -> Result<reqwest::Response, Error> {
    let mut request = reqwest::Client::new().get(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    Ok(request.send().await?)
}

#[tokio::test]
async fn files_round_trip_byte_for_byte_on_every_store() -> Result<(), Error> {
    for content in TestContent::all().await? {
        let class = class(&content, &[]).await?;
        let store = content.name();
        let http2 = reqwest::Client::builder().http2_prior_knowledge().build()?;
        let boundaries = [GRPC_CHUNK - 1, GRPC_CHUNK, GRPC_CHUNK + 1];
        let sizes = [1, CHUNK - 1, CHUNK, CHUNK + 1, 10 * 1024 * 1024];
        for size in boundaries.into_iter().chain(sizes) {
            let data = file(size, 7);
            let resource = class
                .upload(class.start(&format!("File {size}"), &data), &data)
                .await?;
            assert_eq!(resource.size, size as i64, "{store}");
            assert_eq!(resource.sha256, sha256(&data), "{store}");
            assert_eq!(resource.version, 1);
            let downloaded = class.download(&class.pupil, &resource.id, 0).await?;
            assert_eq!(
                sha256(&downloaded),
                sha256(&data),
                "{store}: gRPC download of {size} bytes"
            );
            let url = class.url(&class.pupil, &resource.id, false).await?;
            let response = get(&url, &[]).await?;
            assert_eq!(response.status(), 200, "{store}");
            let body = response.bytes().await?;
            assert_eq!(
                sha256(&body),
                sha256(&data),
                "{store}: HTTP download of {size} bytes"
            );
            // Browsers behind TLS speak HTTP/2 to the same route.
            let body = http2
                .get(&url)
                .send()
                .await?
                .error_for_status()?
                .bytes()
                .await?;
            assert_eq!(
                sha256(&body),
                sha256(&data),
                "{store}: HTTP/2 download of {size} bytes"
            );
        }
        // Resuming a download from an offset.
        let data = file(300_000, 3);
        let resource = class.upload(class.start("Resume me", &data), &data).await?;
        let tail = class.download(&class.pupil, &resource.id, 123_457).await?;
        assert_eq!(tail, data[123_457..], "{store}");
        let beyond = class.download(&class.pupil, &resource.id, 300_000).await;
        assert_eq!(
            beyond
                .err()
                .and_then(|e| e.downcast::<tonic::Status>().ok())
                .map(|s| s.code()),
            Some(Code::OutOfRange),
            "{store}"
        );

        // The same bytes again are stored once.
        let blobs = content.count("blobs").await?;
        let again = class
            .upload(class.start("Resume me, again", &data), &data)
            .await?;
        assert_ne!(again.id, resource.id);
        assert_eq!(
            content.count("blobs").await?,
            blobs,
            "{store}: identical content stored twice"
        );

        // Counts, for staff: one download from the start of each file, bytes including ranges.
        let mut teacher = class.materials_as(&class.teacher).await?;
        let stats = teacher
            .get_resource_stats(GetResourceStatsRequest {
                course_id: class.course_id.clone(),
            })
            .await?
            .into_inner()
            .stats;
        let resumed = stats
            .iter()
            .find(|entry| entry.resource_id == resource.id)
            .ok_or("no stats")?;
        assert_eq!(
            resumed.downloads, 0,
            "{store}: a resumed download is not a new one"
        );
        assert_eq!(resumed.bytes_served, 300_000 - 123_457, "{store}");
        let mut pupil = class.materials_as(&class.pupil).await?;
        let refused = pupil
            .get_resource_stats(GetResourceStatsRequest {
                course_id: class.course_id.clone(),
            })
            .await;
        assert_eq!(
            refused.err().map(|s| s.code()),
            Some(Code::PermissionDenied)
        );
        let metrics = class.campus.metrics().await?;
        assert!(
            campus_testkit::metric_sample(
                &metrics,
                "campus_content_downloads_total",
                &["transport=\"http\""]
            )
            .is_some_and(|count| count >= 5.0),
            "{store}: {metrics}"
        );
        class.campus.shutdown().await?;
    }
    Ok(())
}

#[tokio::test]
async fn a_resumable_upload_continues_from_the_acknowledged_offset() -> Result<(), Error> {
    for content in TestContent::all().await? {
        let class = class(&content, &[]).await?;
        let store = content.name();
        let data = file(3 * CHUNK + 17, 11);
        let start = UploadStart {
            request_id: uuid_like("start"),
            media_type: "application/pdf".into(),
            ..class.start("Reading list", &data)
        };
        let mut materials = class.materials_as(&class.teacher).await?;
        let upload = materials
            .start_upload(StartUploadRequest {
                start: Some(start.clone()),
            })
            .await?
            .into_inner()
            .upload
            .ok_or("no upload")?;
        let repeated = materials
            .start_upload(StartUploadRequest {
                start: Some(start.clone()),
            })
            .await?
            .into_inner()
            .upload
            .ok_or("no upload")?;
        assert_eq!(
            repeated.id, upload.id,
            "{store}: a repeated request_id starts one upload"
        );
        let append = |offset: usize, end: usize| AppendUploadRequest {
            upload_id: upload.id.clone(),
            offset: offset as i64,
            data: data[offset..end].to_vec(),
        };
        materials.append_upload(append(0, CHUNK)).await?;
        materials.append_upload(append(CHUNK, 2 * CHUNK)).await?;

        // The connection drops; a new one asks where to continue.
        drop(materials);
        let mut materials = class.materials_as(&class.teacher).await?;
        let resumed = materials
            .get_upload(GetUploadRequest {
                upload_id: upload.id.clone(),
            })
            .await?
            .into_inner()
            .upload
            .ok_or("no upload")?;
        assert_eq!(resumed.received, 2 * CHUNK as i64, "{store}");
        let skipped = materials
            .append_upload(append(2 * CHUNK + 1, 3 * CHUNK))
            .await;
        assert_eq!(
            skipped.err().map(|s| s.code()),
            Some(Code::FailedPrecondition)
        );
        let again = materials
            .append_upload(append(CHUNK, 2 * CHUNK))
            .await?
            .into_inner();
        assert_eq!(
            again.received,
            2 * CHUNK as i64,
            "a repeated chunk is acknowledged unchanged"
        );
        let early = materials
            .finish_upload(FinishUploadRequest {
                upload_id: upload.id.clone(),
            })
            .await;
        assert_eq!(
            early.err().map(|s| s.code()),
            Some(Code::FailedPrecondition)
        );
        // The rest in other sizes than before.
        materials
            .append_upload(append(2 * CHUNK, 2 * CHUNK + 100))
            .await?;
        materials
            .append_upload(append(2 * CHUNK + 100, data.len()))
            .await?;
        let finished = materials
            .finish_upload(FinishUploadRequest {
                upload_id: upload.id.clone(),
            })
            .await?
            .into_inner()
            .resource
            .ok_or("no resource")?;
        let repeat = materials
            .finish_upload(FinishUploadRequest {
                upload_id: upload.id.clone(),
            })
            .await?
            .into_inner()
            .resource
            .ok_or("no resource")?;
        assert_eq!(
            repeat, finished,
            "{store}: finishing twice returns the resource"
        );
        assert_eq!(finished.media_type, "application/pdf");
        let downloaded = class.download(&class.pupil, &finished.id, 0).await?;
        assert_eq!(downloaded, data, "{store}");
        assert_eq!(
            content.count("uploads").await?,
            0,
            "{store}: chunks left after finishing"
        );

        // Another user cannot see or continue the upload; a learner cannot start one.
        let mut pupil = class.materials_as(&class.pupil).await?;
        let foreign = pupil
            .get_upload(GetUploadRequest {
                upload_id: upload.id.clone(),
            })
            .await;
        assert_eq!(foreign.err().map(|s| s.code()), Some(Code::NotFound));
        let by_learner = pupil
            .start_upload(StartUploadRequest {
                start: Some(class.start("Mine", b"x")),
            })
            .await;
        assert_eq!(
            by_learner.err().map(|s| s.code()),
            Some(Code::PermissionDenied)
        );
        class.campus.shutdown().await?;
    }
    Ok(())
}

fn uuid_like(prefix: &str) -> String {
    format!("{prefix}-{}", std::process::id())
}

#[tokio::test]
async fn bytes_that_are_not_the_announced_ones_leave_nothing() -> Result<(), Error> {
    for content in TestContent::all().await? {
        let class = class(&content, &[]).await?;
        let store = content.name();
        let data = file(2 * CHUNK, 5);
        let mut wrong = class.start("Wrong", &data);
        wrong.sha256 = sha256(b"something else");
        let refused = class.upload(wrong.clone(), &data).await;
        assert_eq!(
            refused.err().map(|s| s.code()),
            Some(Code::InvalidArgument),
            "{store}"
        );
        let short = class
            .upload(class.start("Short", &data), &data[..CHUNK])
            .await;
        assert_eq!(
            short.err().map(|s| s.code()),
            Some(Code::InvalidArgument),
            "{store}"
        );

        let mut materials = class.materials_as(&class.teacher).await?;
        let upload = materials
            .start_upload(StartUploadRequest { start: Some(wrong) })
            .await?
            .into_inner()
            .upload
            .ok_or("no upload")?;
        materials
            .append_upload(AppendUploadRequest {
                upload_id: upload.id.clone(),
                offset: 0,
                data: data.clone(),
            })
            .await?;
        let finished = materials
            .finish_upload(FinishUploadRequest {
                upload_id: upload.id.clone(),
            })
            .await;
        assert_eq!(
            finished.err().map(|s| s.code()),
            Some(Code::InvalidArgument),
            "{store}"
        );
        let gone = materials
            .get_upload(GetUploadRequest {
                upload_id: upload.id.clone(),
            })
            .await;
        assert_eq!(
            gone.err().map(|s| s.code()),
            Some(Code::NotFound),
            "{store}"
        );

        let listed = materials
            .list_resources(ListResourcesRequest {
                course_id: class.course_id.clone(),
                ..ListResourcesRequest::default()
            })
            .await?
            .into_inner()
            .resources;
        assert!(listed.is_empty(), "{store}: {listed:?}");
        for prefix in ["blobs", "uploads", "staging"] {
            assert_eq!(
                content.count(prefix).await?,
                0,
                "{store}: something left under {prefix}"
            );
        }
        class.campus.shutdown().await?;
    }
    Ok(())
}

#[tokio::test]
async fn range_requests_seek_like_a_video_player() -> Result<(), Error> {
    for content in TestContent::all().await? {
        let class = class(&content, &[]).await?;
        let store = content.name();
        let data = file(1_000_000, 9);
        let resource = class
            .upload(class.start("Lecture: week 1", &data), &data)
            .await?;
        let url = class.url(&class.pupil, &resource.id, false).await?;

        let whole = get(&url, &[]).await?;
        assert_eq!(whole.headers()["content-type"], "video/mp4");
        assert_eq!(whole.headers()["accept-ranges"], "bytes");
        assert_eq!(whole.headers()["content-length"], "1000000");
        let etag = whole.headers()["etag"].to_str()?.to_owned();
        assert_eq!(etag, format!("\"{}\"", sha256(&data)));
        assert!(
            whole.headers()["content-disposition"]
                .to_str()?
                .starts_with("inline;")
        );
        assert_eq!(whole.headers()["x-content-type-options"], "nosniff");

        // Scrubbing: seek after seek, each answered with exactly its bytes.
        for (range, start, end) in [
            ("bytes=0-99", 0, 100),
            ("bytes=500000-500999", 500_000, 501_000),
            ("bytes=999999-999999", 999_999, 1_000_000),
            ("bytes=-100", 999_900, 1_000_000),
            ("bytes=990000-", 990_000, 1_000_000),
            ("bytes=999000-2000000", 999_000, 1_000_000),
        ] {
            let part = get(&url, &[("range", range)]).await?;
            assert_eq!(part.status(), 206, "{store}: {range}");
            assert_eq!(
                part.headers()["content-range"],
                format!("bytes {start}-{}/1000000", end - 1).as_str(),
                "{store}: {range}"
            );
            assert_eq!(part.bytes().await?, data[start..end], "{store}: {range}");
        }
        for beyond in ["bytes=1000000-", "bytes=2000000-2000100"] {
            let refused = get(&url, &[("range", beyond)]).await?;
            assert_eq!(refused.status(), 416, "{store}: {beyond}");
            assert_eq!(refused.headers()["content-range"], "bytes */1000000");
        }
        let cached = get(&url, &[("if-none-match", &etag)]).await?;
        assert_eq!(cached.status(), 304, "{store}");
        assert!(cached.bytes().await?.is_empty());
        let head = reqwest::Client::new().head(&url).send().await?;
        assert_eq!(head.status(), 200);
        assert_eq!(head.headers()["content-length"], "1000000");

        let download = class.url(&class.pupil, &resource.id, true).await?;
        let saved = get(&download, &[]).await?;
        assert_eq!(
            saved.headers()["content-disposition"],
            "attachment; filename=\"Lecture_ week 1\"; filename*=UTF-8''Lecture%3A%20week%201"
        );
        class.campus.shutdown().await?;
    }
    Ok(())
}

#[tokio::test]
async fn signed_urls_are_refused_when_expired_forged_or_for_another_version_or_user()
-> Result<(), Error> {
    let content = TestContent::filesystem()?;
    let key = format!("--content-signing-key={OLD_KEY}");
    let class = class(&content, &[&key, "--content-url-ttl=3s"]).await?;
    let data = file(1000, 1);
    let resource = class.upload(class.start("Notes", &data), &data).await?;
    let url = class.url(&class.pupil, &resource.id, false).await?;
    assert_eq!(get(&url, &[]).await?.status(), 200);

    // Another user's id, a changed signature, another version's number, another key id.
    let forged_user = url.replace(&class.pupil.user.id, &class.outsider.user.id);
    assert_ne!(forged_user, url);
    let signature = url.rsplit("s=").next().ok_or("no signature")?;
    let flipped = format!(
        "{}{}",
        &signature[..signature.len() - 1],
        if signature.ends_with('A') { 'B' } else { 'A' }
    );
    let forged_signature = url.replace(signature, &flipped);
    for forged in [
        forged_user,
        forged_signature,
        url.replace("v=1", "v=2"),
        url.replace("k=old", "k=new"),
        url.replace("d=inline", "d=attachment"),
        url.split('&').next().unwrap_or_default().to_owned(),
    ] {
        let response = get(&forged, &[]).await?;
        assert_eq!(response.status(), 403, "{forged}");
    }

    // A URL for version 1 stops working once version 2 is uploaded.
    let newer = file(1000, 2);
    let replaced = class
        .upload(
            UploadStart {
                resource_id: resource.id.clone(),
                ..class.start("Notes, corrected", &newer)
            },
            &newer,
        )
        .await?;
    assert_eq!(replaced.id, resource.id);
    assert_eq!(replaced.version, 2);
    assert_eq!(
        get(&url, &[]).await?.status(),
        403,
        "a URL of version 1 served version 2"
    );
    let current = class.url(&class.pupil, &resource.id, false).await?;
    assert_eq!(get(&current, &[]).await?.bytes().await?, newer);

    // Rotation: a replica with the new key first keeps honouring URLs of the previous key
    // until they expire; one without it refuses them.
    let rotated_key = format!("--content-signing-key={NEW_KEY},{OLD_KEY}");
    let database = Some(class.campus.database_url().to_owned());
    let rotated = start(
        &content,
        &[&rotated_key, "--content-url-ttl=3s"],
        database.clone(),
    )
    .await?;
    let on_rotated = current.replace(&class.campus.url(), &rotated.url());
    assert_eq!(
        get(&on_rotated, &[]).await?.status(),
        200,
        "the previous key's URL"
    );
    let new_key_only = format!("--content-signing-key={NEW_KEY}");
    let retired = start(&content, &[&new_key_only], database).await?;
    let on_retired = current.replace(&class.campus.url(), &retired.url());
    assert_eq!(
        get(&on_retired, &[]).await?.status(),
        403,
        "a retired key's URL"
    );
    let mut on_rotated_client =
        MaterialsServiceClient::new(rotated.channel_as(&class.pupil.token).await?);
    let fresh = on_rotated_client
        .get_download_url(GetDownloadUrlRequest {
            resource_id: resource.id.clone(),
            attachment: false,
        })
        .await?
        .into_inner()
        .url;
    assert!(fresh.contains("k=new"), "{fresh}");
    assert_eq!(
        get(&format!("{}{fresh}", retired.url()), &[])
            .await?
            .status(),
        200
    );

    // Expired: the previous key's URL too, on the replica that still holds it.
    let expires = current
        .split("e=")
        .nth(1)
        .and_then(|rest| rest.split('&').next())
        .and_then(|value| value.parse::<u64>().ok())
        .ok_or("no expiry")?;
    loop {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_secs();
        if now > expires {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(get(&current, &[]).await?.status(), 403, "an expired URL");
    assert_eq!(
        get(&on_rotated, &[]).await?.status(),
        403,
        "an expired URL of the previous key"
    );
    // Deleted: 404 for a fresh URL's resource once it is gone.
    let fresh_url = class.url(&class.pupil, &resource.id, false).await?;
    class
        .materials_as(&class.teacher)
        .await?
        .delete_resource(DeleteResourceRequest {
            resource_id: resource.id.clone(),
        })
        .await?;
    assert_eq!(get(&fresh_url, &[]).await?.status(), 404);
    Ok(())
}

#[tokio::test]
async fn abandoned_uploads_and_unreferenced_files_are_swept() -> Result<(), Error> {
    for content in TestContent::all().await? {
        let class = class(
            &content,
            &["--content-grace=1s", "--content-sweep-interval=200ms"],
        )
        .await?;
        let store = content.name();
        let shared = file(5000, 1);
        let unique = file(6000, 2);
        let first = class
            .upload(class.start("Shared A", &shared), &shared)
            .await?;
        class
            .upload(class.start("Shared B", &shared), &shared)
            .await?;
        let lonely = class
            .upload(class.start("Unique", &unique), &unique)
            .await?;
        assert_eq!(content.count("blobs").await?, 2, "{store}");

        let mut materials = class.materials_as(&class.teacher).await?;
        let abandoned = materials
            .start_upload(StartUploadRequest {
                start: Some(class.start("Abandoned", &unique)),
            })
            .await?
            .into_inner()
            .upload
            .ok_or("no upload")?;
        materials
            .append_upload(AppendUploadRequest {
                upload_id: abandoned.id.clone(),
                offset: 0,
                data: unique[..100].to_vec(),
            })
            .await?;
        for resource in [&first, &lonely] {
            materials
                .delete_resource(DeleteResourceRequest {
                    resource_id: resource.id.clone(),
                })
                .await?;
        }
        // The unique file and the abandoned upload go; the file another resource uses stays.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while content.count("blobs").await? != 1 || content.count("uploads").await? != 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{store}: nothing was swept"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let gone = materials
            .get_upload(GetUploadRequest {
                upload_id: abandoned.id.clone(),
            })
            .await;
        assert_eq!(
            gone.err().map(|s| s.code()),
            Some(Code::NotFound),
            "{store}"
        );
        let listed = materials
            .list_resources(ListResourcesRequest {
                course_id: class.course_id.clone(),
                ..ListResourcesRequest::default()
            })
            .await?
            .into_inner()
            .resources;
        assert_eq!(listed.len(), 1);
        assert_eq!(
            class.download(&class.pupil, &listed[0].id, 0).await?,
            shared,
            "{store}"
        );
        class.campus.shutdown().await?;
    }
    Ok(())
}

#[tokio::test]
async fn the_command_line_uploads_a_file_in_chunks() -> Result<(), Error> {
    let content = TestContent::filesystem()?;
    let class = class(&content, &[]).await?;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("lecture.mp4");
    let data = file(1024 * 1024 + 3, 4);
    std::fs::write(&path, &data)?;
    let output = tokio::process::Command::new(campus_testkit::campus::campus_binary()?)
        .args([
            "courses",
            "upload",
            "--course",
            &class.course_id,
            "--lesson",
            &class.lesson_id,
        ])
        .arg(&path)
        .env("CAMPUS_ADDR", class.campus.url())
        .env("CAMPUS_TOKEN", &class.teacher.token)
        .output()
        .await?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains(&sha256(&data)), "{stdout}");
    let listed = class
        .materials_as(&class.pupil)
        .await?
        .list_resources(ListResourcesRequest {
            course_id: class.course_id.clone(),
            lesson_id: class.lesson_id.clone(),
            ..ListResourcesRequest::default()
        })
        .await?
        .into_inner()
        .resources;
    let [uploaded] = listed.as_slice() else {
        return Err(format!("{listed:?}").into());
    };
    assert_eq!(uploaded.title, "lecture.mp4");
    assert_eq!(uploaded.media_type, "video/mp4");
    assert_eq!(class.download(&class.pupil, &uploaded.id, 0).await?, data);

    // Removing the lesson leaves its materials with the course.
    courses_as(&class.campus, &class.teacher.token)
        .await?
        .remove_lesson(campus_proto::courses::RemoveLessonRequest {
            course_id: class.course_id.clone(),
            lesson_id: class.lesson_id.clone(),
        })
        .await?;
    let kept = class
        .materials_as(&class.pupil)
        .await?
        .list_resources(ListResourcesRequest {
            course_id: class.course_id.clone(),
            ..ListResourcesRequest::default()
        })
        .await?
        .into_inner()
        .resources;
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].id, uploaded.id);
    assert_eq!(kept[0].lesson_id, "");

    // A learner's upload is refused with the server's reason, and the exit code says so.
    let refused = tokio::process::Command::new(campus_testkit::campus::campus_binary()?)
        .args(["courses", "upload", "--course", &class.course_id])
        .arg(&path)
        .env("CAMPUS_ADDR", class.campus.url())
        .env("CAMPUS_TOKEN", &class.pupil.token)
        .output()
        .await?;
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("instructor"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    Ok(())
}
