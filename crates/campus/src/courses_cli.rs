//! `campus courses upload`: a file into a course or lesson through UploadResource, read and
//! sent in chunks (a file of any size in bounded memory), with a progress bar.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use campus_proto::courses::{
    Resource, UploadResourceRequest, UploadStart, materials_service_client::MaterialsServiceClient,
    upload_resource_request::Part,
};
use sha2::Digest as _;
use tokio::io::AsyncReadExt as _;

/// Bytes read and sent per message.
const CHUNK: usize = 256 * 1024;

/// `campus courses` subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum CoursesCommand {
    /// Upload a file to a course (or one of its lessons), or a new version of a resource.
    /// Prints the stored resource's id, version and SHA-256.
    Upload {
        /// The file.
        file: PathBuf,
        /// The course.
        #[arg(long)]
        course: String,
        /// The lesson of the course; unset = the whole course.
        #[arg(long, default_value = "")]
        lesson: String,
        /// A resource of the course to replace with a new version.
        #[arg(long, default_value = "")]
        replace: String,
        /// Title; unset = the file's name.
        #[arg(long)]
        title: Option<String>,
        /// Media type; unset = guessed from the file's extension.
        #[arg(long)]
        media_type: Option<String>,
        #[command(flatten)]
        #[allow(missing_docs)]
        remote: crate::remote::Remote,
    },
}

/// Runs a `campus courses` command.
pub async fn run(command: &CoursesCommand) -> anyhow::Result<()> {
    let CoursesCommand::Upload {
        file,
        course,
        lesson,
        replace,
        title,
        media_type,
        remote,
    } = command;
    let title = match title {
        Some(title) => title.clone(),
        None => file
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .context("the file has no name: give --title")?,
    };
    let media_type = media_type.clone().unwrap_or_else(|| {
        mime_guess::from_path(file)
            .first_or_octet_stream()
            .essence_str()
            .to_owned()
    });
    let (size, sha256) = digest(file).await?;
    let start = UploadStart {
        request_id: uuid::Uuid::now_v7().to_string(),
        course_id: course.clone(),
        lesson_id: lesson.clone(),
        resource_id: replace.clone(),
        title,
        media_type,
        size: i64::try_from(size).context("the file is too large")?,
        sha256,
    };
    let resource = upload(file, start, remote).await?;
    println!(
        "uploaded {} version {} ({} bytes, sha256 {})",
        resource.id, resource.version, resource.size, resource.sha256
    );
    Ok(())
}

/// A progress bar over `len` bytes.
fn bar(len: u64, verb: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template(&format!(
            "{verb} [{{bar:40}}] {{bytes}}/{{total_bytes}} {{bytes_per_sec}}"
        ))
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar
}

/// The file's size and SHA-256, read once in chunks.
async fn digest(file: &Path) -> anyhow::Result<(u64, String)> {
    let mut reader = tokio::fs::File::open(file)
        .await
        .with_context(|| format!("opening {}", file.display()))?;
    let len = reader.metadata().await?.len();
    let progress = bar(len, "hashing  ");
    let mut hasher = sha2::Sha256::new();
    let mut buffer = vec![0; CHUNK];
    let mut size = 0_u64;
    loop {
        let read = reader.read(&mut buffer).await?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
        size += read as u64;
        progress.inc(read as u64);
    }
    progress.finish_and_clear();
    let sha256 = hex::encode(hasher.finalize());
    Ok((size, sha256))
}

/// Streams `start`, then the file in chunks, to UploadResource.
async fn upload(
    file: &Path,
    start: UploadStart,
    remote: &crate::remote::Remote,
) -> anyhow::Result<Resource> {
    let reader = tokio::fs::File::open(file)
        .await
        .with_context(|| format!("opening {}", file.display()))?;
    let progress = bar(u64::try_from(start.size).unwrap_or(0), "uploading");
    let ticker = progress.clone();
    let chunks = futures::stream::unfold(reader, move |mut reader| {
        let ticker = ticker.clone();
        async move {
            let mut buffer = vec![0; CHUNK];
            match reader.read(&mut buffer).await {
                Ok(0) | Err(_) => None,
                Ok(read) => {
                    buffer.truncate(read);
                    ticker.inc(read as u64);
                    Some((
                        UploadResourceRequest {
                            part: Some(Part::Chunk(buffer)),
                        },
                        reader,
                    ))
                }
            }
        }
    });
    let first = futures::stream::iter([UploadResourceRequest {
        part: Some(Part::Start(start)),
    }]);
    let mut client = MaterialsServiceClient::new(remote.channel().await?);
    let resource = client
        .upload_resource(futures::StreamExt::chain(first, chunks))
        .await
        .map_err(|status| anyhow::anyhow!("upload refused: {}", status.message()))?
        .into_inner()
        .resource
        .context("the server answered without the resource")?;
    progress.finish_and_clear();
    Ok(resource)
}
