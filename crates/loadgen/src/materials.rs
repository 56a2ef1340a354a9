//! The lesson-materials scenarios: many concurrent downloads of one 10 MiB resource over plain
//! HTTP (a signed URL, as a browser's `<video src>`) and over gRPC (`DownloadResource`), seeks
//! within it (`Range` reads, as a video player scrubbing), and uploads (`UploadResource`).
//!
//! Download throughput is counted in bytes received inside the measured window — a 10 MiB
//! download at 1,000 in flight outlasts seconds of it — and put next to reading the same bytes
//! from the same disk in the same run: the physical limit the server could reach.

use std::{
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use campus_proto::courses::{
    DownloadResourceRequest, EnrollRequest, GetDownloadUrlRequest, UploadResourceRequest,
    UploadStart, courses_service_client::CoursesServiceClient,
    materials_service_client::MaterialsServiceClient, upload_resource_request::Part,
};
use rand::{Rng as _, RngCore as _};
use sha2::Digest as _;

use crate::{
    Error,
    load::{LoadSettings, Measurement, run},
    scenarios::{Authed, Outcome, Target, authed, code, seed_courses, seed_school, server_rss_mib},
};

/// Size of the resource every scenario uploads and reads.
const FILE_SIZE: usize = 10 * 1024 * 1024;
/// Bytes per message of an upload, as `campus courses upload` sends them.
const CHUNK: usize = 256 * 1024;
/// Bytes of one seek in `range-seek`: what a player fetches after jumping.
const SEEK_LENGTH: usize = 64 * 1024;
/// Uploads in flight in `upload`: a staff room, not a crowd.
const UPLOADS_IN_FLIGHT: usize = 4;
/// Downloads in flight per learner: under the server's open streams per caller (64), as a
/// class of learners watching, not one account opening a thousand streams.
const DOWNLOADS_PER_LEARNER: usize = 50;
/// One mebibyte, the unit of the figures.
const MIB: f64 = 1024.0 * 1024.0;

/// Runs a materials scenario, or `None` if `name` is not one.
pub(crate) async fn run_scenario(
    name: &str,
    target: &Target,
    settings: &LoadSettings,
    progress: impl Fn(f64) + Send + Sync + 'static,
) -> Option<Result<Outcome, Error>> {
    Some(match name {
        "download-http" => download(target, settings, Transport::Http, progress).await,
        "download-grpc" => download(target, settings, Transport::Grpc, progress).await,
        "range-seek" => range_seek(target, settings, progress).await,
        "upload" => upload(target, settings, progress).await,
        _ => return None,
    })
}

/// How `download` fetches the resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transport {
    /// GET of a signed URL, HTTP/1.1, one connection per download (as browsers do).
    Http,
    /// `DownloadResource` streams over HTTP/2 connections.
    Grpc,
}

/// A course with one 10 MiB resource, uploaded by its instructor, and enrolled learners.
struct Material {
    /// The resource's id.
    resource_id: String,
    /// The enrolled learners' access tokens.
    learners: Vec<String>,
    /// The resource's bytes.
    data: Arc<Vec<u8>>,
}

/// Random bytes of [`FILE_SIZE`]: what a video looks like to the server.
fn random_file() -> Vec<u8> {
    let mut data = vec![0; FILE_SIZE];
    rand::thread_rng().fill_bytes(&mut data);
    data
}

/// Streams `data` to UploadResource as a new resource of `course_id`.
async fn upload_file(
    client: &mut MaterialsServiceClient<Authed>,
    course_id: &str,
    request_id: String,
    data: &[u8],
) -> Result<String, tonic::Status> {
    let start = UploadStart {
        request_id,
        course_id: course_id.to_owned(),
        title: "Benchmark video".into(),
        media_type: "video/mp4".into(),
        size: i64::try_from(data.len()).unwrap_or(i64::MAX),
        sha256: hex::encode(sha2::Sha256::digest(data)),
        ..UploadStart::default()
    };
    let parts = std::iter::once(Part::Start(start))
        .chain(data.chunks(CHUNK).map(|chunk| Part::Chunk(chunk.to_vec())))
        .map(|part| UploadResourceRequest { part: Some(part) })
        .collect::<Vec<_>>();
    let resource = client
        .upload_resource(futures::stream::iter(parts))
        .await?
        .into_inner()
        .resource
        .ok_or_else(|| tonic::Status::internal("no resource"))?;
    Ok(resource.id)
}

/// Seeds a school, a published course with `learners` enrolled, and the course's resource.
async fn seed_material(target: &Target, name: &str, learners: usize) -> Result<Material, Error> {
    let seeded = seed_school(target, name, learners.max(1)).await?;
    let course = seed_courses(target, &seeded, 1).await?.remove(0);
    let mut tokens = Vec::new();
    for (_, token) in &seeded.students {
        CoursesServiceClient::new(authed(&target.campus, token).await?)
            .enroll(EnrollRequest {
                course_id: course.clone(),
                user_id: String::new(),
            })
            .await?;
        tokens.push(token.clone());
    }
    let data = random_file();
    let mut materials =
        MaterialsServiceClient::new(authed(&target.campus, &seeded.instructor.1).await?);
    let resource_id = upload_file(
        &mut materials,
        &course,
        format!("bench-{name}-{}", target.run_id),
        &data,
    )
    .await?;
    Ok(Material {
        resource_id,
        learners: tokens,
        data: Arc::new(data),
    })
}

/// A signed URL of the resource for `learner`, absolute.
async fn signed_url(target: &Target, material: &Material, learner: &str) -> Result<String, Error> {
    let path = MaterialsServiceClient::new(authed(&target.campus, learner).await?)
        .get_download_url(GetDownloadUrlRequest {
            resource_id: material.resource_id.clone(),
            attachment: false,
        })
        .await?
        .into_inner()
        .url;
    Ok(format!("{}{path}", target.campus))
}

/// The gRPC code standing for an HTTP failure, so the runner can count it.
fn http_code(error: &reqwest::Error) -> tonic::Code {
    match error.status().map(|status| status.as_u16()) {
        Some(403) => tonic::Code::PermissionDenied,
        Some(404) => tonic::Code::NotFound,
        Some(416) => tonic::Code::OutOfRange,
        Some(_) => tonic::Code::Internal,
        None => tonic::Code::Unavailable,
    }
}

/// Reads the file at `path` over and over on every CPU for `duration`, 256 KiB at a time:
/// bytes per second the machine delivers from that disk (its page cache, once warm — as for
/// the server).
async fn disk_read(path: &Path, duration: Duration) -> Result<f64, Error> {
    use std::io::Read as _;
    let readers = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let end = Instant::now() + duration;
    let mut threads = Vec::new();
    for _ in 0..readers {
        let path = path.to_owned();
        threads.push(tokio::task::spawn_blocking(move || {
            let mut buffer = vec![0; CHUNK];
            let mut read = 0_u64;
            while Instant::now() < end {
                let mut file = std::fs::File::open(&path)?;
                loop {
                    let n = file.read(&mut buffer)?;
                    if n == 0 {
                        break;
                    }
                    read += n as u64;
                }
            }
            Ok::<_, std::io::Error>(read)
        }));
    }
    let mut total = 0;
    for thread in threads {
        total += thread.await??;
    }
    Ok(total as f64 / duration.as_secs_f64())
}

/// Bytes received inside the measured window, and the server's largest resident memory
/// over the whole run, sampled every 100 ms.
struct Window {
    bytes: f64,
    peak_rss_mib: Option<f64>,
}

/// Watches `received` and the server's memory while a load of `settings` runs from `start`.
fn watch_window(
    target: &Target,
    settings: &LoadSettings,
    start: Instant,
    received: Arc<AtomicU64>,
) -> tokio::task::JoinHandle<Window> {
    let target = target.clone();
    let (measure_from, end) = (
        start + settings.warmup,
        start + settings.warmup + settings.duration,
    );
    tokio::spawn(async move {
        let mut peak: Option<f64> = None;
        let mut at_start = None;
        loop {
            let now = Instant::now();
            if at_start.is_none() && now >= measure_from {
                at_start = Some(received.load(Ordering::Relaxed));
            }
            if now >= end {
                break;
            }
            if let Some(rss) = server_rss_mib(&target) {
                peak = Some(peak.map_or(rss, |peak| peak.max(rss)));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let in_window = received.load(Ordering::Relaxed) - at_start.unwrap_or(0);
        Window {
            bytes: in_window as f64,
            peak_rss_mib: peak,
        }
    })
}

/// `target.downloads` learners download the whole resource again and again.
async fn download(
    target: &Target,
    settings: &LoadSettings,
    transport: Transport,
    progress: impl Fn(f64) + Send + Sync + 'static,
) -> Result<Outcome, Error> {
    let name = match transport {
        Transport::Http => "dl-http",
        Transport::Grpc => "dl-grpc",
    };
    let material = seed_material(
        target,
        name,
        target.downloads.div_ceil(DOWNLOADS_PER_LEARNER),
    )
    .await?;
    let file = target.scratch.join(format!("{name}.bin"));
    std::fs::write(&file, material.data.as_slice())?;
    let disk = disk_read(&file, settings.duration).await?;
    std::fs::remove_file(&file)?;

    let load = LoadSettings {
        concurrency: target.downloads,
        rate: None,
        ..settings.clone()
    };
    let received = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let window = watch_window(target, &load, start, Arc::clone(&received));
    let measurement = match transport {
        Transport::Http => {
            let mut urls = Vec::new();
            for learner in &material.learners {
                urls.push(signed_url(target, &material, learner).await?);
            }
            let client = reqwest::Client::builder()
                .pool_max_idle_per_host(target.downloads)
                .build()?;
            run(
                &load,
                move |worker, _| {
                    let url = urls[worker % urls.len()].clone();
                    http_download(client.clone(), url, Arc::clone(&received))
                },
                progress,
            )
            .await
        }
        Transport::Grpc => {
            // One HTTP/2 connection per learner, carrying their downloads.
            let mut channels = Vec::new();
            for learner in &material.learners {
                channels.push(authed(&target.campus, learner).await?);
            }
            let resource_id = material.resource_id.clone();
            run(
                &load,
                move |worker, _| {
                    let client =
                        MaterialsServiceClient::new(channels[worker % channels.len()].clone());
                    grpc_download(client, resource_id.clone(), Arc::clone(&received))
                },
                progress,
            )
            .await
        }
    };
    let window = window.await?;
    Ok(transfer_outcome(
        measurement,
        &window,
        target.downloads,
        Some(disk),
    ))
}

/// One whole download through a signed URL; fails unless every byte arrived.
async fn http_download(
    client: reqwest::Client,
    url: String,
    received: Arc<AtomicU64>,
) -> Result<(), tonic::Code> {
    let mut response = client
        .get(url)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|error| http_code(&error))?;
    let mut total = 0;
    while let Some(chunk) = response.chunk().await.map_err(|error| http_code(&error))? {
        total += chunk.len();
        received.fetch_add(chunk.len() as u64, Ordering::Relaxed);
    }
    complete(total)
}

/// One whole download over `DownloadResource`; fails unless every byte arrived.
async fn grpc_download(
    mut client: MaterialsServiceClient<Authed>,
    resource_id: String,
    received: Arc<AtomicU64>,
) -> Result<(), tonic::Code> {
    let mut stream = client
        .download_resource(DownloadResourceRequest {
            resource_id,
            offset: 0,
        })
        .await
        .map_err(code)?
        .into_inner();
    let mut total = 0;
    while let Some(message) = stream.message().await.map_err(code)? {
        total += message.chunk.len();
        received.fetch_add(message.chunk.len() as u64, Ordering::Relaxed);
    }
    complete(total)
}

/// A download that ended early is a failure, not a fast call.
fn complete(total: usize) -> Result<(), tonic::Code> {
    if total == FILE_SIZE {
        Ok(())
    } else {
        Err(tonic::Code::DataLoss)
    }
}

/// The outcome of a transfer scenario: MiB/s counted in the window, the server's peak memory
/// and, for downloads, the ratio to reading the same bytes from disk.
fn transfer_outcome(
    measurement: Measurement,
    window: &Window,
    in_flight: usize,
    disk_bytes_per_second: Option<f64>,
) -> Outcome {
    let mib_per_second = window.bytes / MIB / measurement.elapsed.as_secs_f64().max(0.001);
    let mut extra = vec![
        ("in flight".into(), in_flight.to_string()),
        ("file".into(), format!("{} MiB", FILE_SIZE as f64 / MIB)),
    ];
    if let Some(peak) = window.peak_rss_mib {
        extra.push(("server RSS peak".into(), format!("{peak:.1} MiB")));
    }
    if let Some(disk) = disk_bytes_per_second {
        let disk = disk / MIB;
        extra.push(("disk read".into(), format!("{disk:.0} MiB/s")));
        extra.push((
            "vs disk read".into(),
            format!("{:.3}", mib_per_second / disk.max(0.001)),
        ));
    }
    Outcome {
        measurement,
        per_call: FILE_SIZE as f64 / MIB,
        unit: "MiB/s",
        measured_units: Some(window.bytes / MIB),
        extra,
    }
}

/// Learners jump to random places in the video: one `Range` read of [`SEEK_LENGTH`] bytes
/// per call, `settings.concurrency` in flight.
async fn range_seek(
    target: &Target,
    settings: &LoadSettings,
    progress: impl Fn(f64) + Send + Sync + 'static,
) -> Result<Outcome, Error> {
    let material = seed_material(target, "seek", 1).await?;
    let url = signed_url(target, &material, &material.learners[0]).await?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(settings.concurrency)
        .build()?;
    let data = Arc::clone(&material.data);
    let measurement = run(
        settings,
        move |_, _| {
            let (client, url, data) = (client.clone(), url.clone(), Arc::clone(&data));
            async move {
                let from = rand::thread_rng().gen_range(0..FILE_SIZE - SEEK_LENGTH);
                let to = from + SEEK_LENGTH;
                let response = client
                    .get(url)
                    .header("range", format!("bytes={from}-{}", to - 1))
                    .send()
                    .await
                    .and_then(reqwest::Response::error_for_status)
                    .map_err(|error| http_code(&error))?;
                if response.status() != reqwest::StatusCode::PARTIAL_CONTENT {
                    return Err(tonic::Code::Internal);
                }
                let body = response.bytes().await.map_err(|error| http_code(&error))?;
                if body.as_ref() == &data[from..to] {
                    Ok(())
                } else {
                    Err(tonic::Code::DataLoss)
                }
            }
        },
        progress,
    )
    .await;
    Ok(Outcome {
        measurement,
        per_call: 1.0,
        unit: "seeks/s",
        measured_units: None,
        extra: vec![
            ("seek".into(), format!("{} KiB", SEEK_LENGTH / 1024)),
            ("in flight".into(), settings.concurrency.to_string()),
        ],
    })
}

/// Staff upload new 10 MiB files, [`UPLOADS_IN_FLIGHT`] at a time, each different (so each
/// is hashed, written and stored, never found already there).
async fn upload(
    target: &Target,
    settings: &LoadSettings,
    progress: impl Fn(f64) + Send + Sync + 'static,
) -> Result<Outcome, Error> {
    let seeded = seed_school(target, "upload", 0).await?;
    let course = Arc::new(seed_courses(target, &seeded, 1).await?.remove(0));
    let client = MaterialsServiceClient::new(authed(&target.campus, &seeded.instructor.1).await?);
    let data = Arc::new(random_file());
    let load = LoadSettings {
        concurrency: UPLOADS_IN_FLIGHT,
        rate: None,
        ..settings.clone()
    };
    let received = Arc::new(AtomicU64::new(0));
    let window = watch_window(target, &load, Instant::now(), Arc::clone(&received));
    let run_id = target.run_id.clone();
    let measurement = run(
        &load,
        move |worker, n| {
            let (mut client, course, received) =
                (client.clone(), Arc::clone(&course), Arc::clone(&received));
            let mut file = data.as_ref().clone();
            file[..16].copy_from_slice(&[worker.to_le_bytes(), n.to_le_bytes()].concat());
            let request_id = format!("bench-upload-{run_id}-{worker}-{n}");
            async move {
                upload_file(&mut client, &course, request_id, &file)
                    .await
                    .map_err(code)?;
                received.fetch_add(file.len() as u64, Ordering::Relaxed);
                Ok(())
            }
        },
        progress,
    )
    .await;
    let window = window.await?;
    Ok(transfer_outcome(
        measurement,
        &window,
        UPLOADS_IN_FLIGHT,
        None,
    ))
}
