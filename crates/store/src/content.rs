//! Files of any size kept outside the database, through `object_store`: a local directory by
//! default (`CAMPUS_CONTENT_URL=file://./content`), S3-compatible storage in production
//! (`s3://bucket/prefix`, with the standard `AWS_*` credential and endpoint settings).
//!
//! Content is addressed by its SHA-256, so identical files are stored once. Nothing is written
//! under its final name until its bytes have been checked:
//! - `uploads/<upload>/<offset>`: the acknowledged chunks of a resumable upload;
//! - `staging/<upload>`: a file being written and hashed;
//! - `blobs/<sha256>`: checked content, moved there from staging once the hash matches.
//!
//! What refers to a blob, and when a blob or an abandoned upload may go, is the service's
//! business (its tables); this module only moves bytes, with bounded memory: a file is
//! streamed through in chunks, never read whole.

use std::{ops::Range, path::PathBuf, sync::Arc, time::Duration};

use bytes::Bytes;
use campus_runtime::failure::Failure;
use futures::{Stream, StreamExt as _, TryStreamExt as _, stream::BoxStream};
use object_store::{
    GetOptions, GetRange, GetResultPayload, ObjectStore, ObjectStoreExt as _, PutPayload,
    WriteMultipart,
    aws::{AmazonS3Builder, S3CopyIfNotExists},
    local::LocalFileSystem,
    path::Path,
    prefix::PrefixStore,
};
use sha2::Digest as _;
use tokio::sync::Semaphore;

/// Where content is stored and how much of it an upload may carry.
#[derive(Debug, Clone, clap::Args)]
pub struct ContentConfig {
    /// Where files are stored: `file://DIR` (a directory, created if missing; relative to the
    /// working directory) or `s3://BUCKET/PREFIX` (credentials, region and endpoint from the
    /// standard `AWS_*` settings).
    #[arg(
        long = "content-url",
        env = "CAMPUS_CONTENT_URL",
        value_name = "CAMPUS_CONTENT_URL",
        default_value = "file://./content"
    )]
    pub url: String,

    /// Largest file an upload may carry, in bytes.
    #[arg(
        long = "content-max-size",
        env = "CAMPUS_CONTENT_MAX_SIZE",
        value_name = "CAMPUS_CONTENT_MAX_SIZE",
        default_value_t = 2 * 1024 * 1024 * 1024
    )]
    pub max_size: u64,

    /// How long an unfinished upload, or a file nothing refers to any more, is kept before it
    /// is removed.
    #[arg(
        long = "content-grace",
        env = "CAMPUS_CONTENT_GRACE",
        value_name = "CAMPUS_CONTENT_GRACE",
        default_value = "24h",
        value_parser = humantime::parse_duration
    )]
    pub grace: Duration,
}

/// `CAMPUS_CONTENT_URL` cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ContentConfigError {
    /// Neither `file://` nor `s3://`.
    #[error("CAMPUS_CONTENT_URL: {0:?} is neither file://DIR nor s3://BUCKET/PREFIX")]
    Scheme(String),
    /// The local directory cannot be created or opened.
    #[error("CAMPUS_CONTENT_URL: the directory {dir} cannot be used: {source}")]
    Directory {
        /// The directory.
        dir: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The S3 settings are incomplete or invalid.
    #[error("CAMPUS_CONTENT_URL {url:?} (with the AWS_* settings): {source}")]
    S3 {
        /// The URL.
        url: String,
        /// Why.
        source: object_store::Error,
    },
}

/// A file's bytes did not match what the upload announced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Mismatch {
    /// More or fewer bytes than announced.
    #[error("the upload holds {received} bytes, not the {expected} announced")]
    Size {
        /// Announced.
        expected: u64,
        /// Received.
        received: u64,
    },
    /// Another SHA-256 than announced.
    #[error("the upload's SHA-256 is {received}, not the {expected} announced")]
    Sha256 {
        /// Announced.
        expected: String,
        /// Computed.
        received: String,
    },
    /// The acknowledged chunks of a resumable upload do not follow each other.
    #[error("the upload's chunks are not contiguous at byte {0}")]
    Gap(u64),
}

/// Why writing a file failed: its bytes, or the storage.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The bytes are not the announced ones; nothing was kept.
    #[error(transparent)]
    Mismatch(#[from] Mismatch),
    /// The storage (or the incoming stream) failed; nothing was kept.
    #[error(transparent)]
    Failure(#[from] Failure),
}

/// The content store of a process: cheap to clone.
#[derive(Debug, Clone)]
pub struct Content {
    objects: Arc<dyn ObjectStore>,
    file_reads: Arc<Semaphore>,
}

/// Local file reads in flight at once. Each runs on a blocking thread; without a bound a
/// thousand downloads would start a thread (with its stack and allocator arena) per reader.
const FILE_READS_AT_ONCE: usize = 16;

/// How many part uploads of one file may be in flight at once (each holds one part in memory).
const PARTS_IN_FLIGHT: usize = 2;

/// Size of the parts files are written in (S3's minimum is 5 MiB).
const PART_SIZE: usize = 8 * 1024 * 1024;

/// An object store failure, classified: a missing object that should exist is a broken
/// invariant; everything else is storage that did not answer as it should.
fn failure(error: object_store::Error) -> Failure {
    if matches!(error, object_store::Error::NotFound { .. }) {
        Failure::internal("the content store", error)
    } else {
        Failure::unavailable("the content store", error)
    }
}

/// Bytes read from a local file at once: `object_store` reads 8 KiB per blocking call, which
/// costs a thread hand-off for every 8 KiB served; a larger read serves a file at a fraction of
/// that CPU while a thousand downloads still hold little memory.
const FILE_READ: usize = 64 * 1024;

/// A local file read that failed: a file shorter than its blob's recorded size is a broken
/// invariant; anything else is storage that did not answer as it should.
fn file_failure(error: std::io::Error) -> Failure {
    if error.kind() == std::io::ErrorKind::UnexpectedEof {
        Failure::internal("the content store", error)
    } else {
        Failure::unavailable("the content store", error)
    }
}

/// Bytes `range` of a local file, one blocking read of up to [`FILE_READ`] bytes at a time,
/// each made when the consumer asks for the next chunk and a permit of `reads` is free. The
/// permit goes with the read, so a download dropped mid-read still counts until it ends.
fn read_file(
    file: std::fs::File,
    range: Range<u64>,
    reads: Arc<Semaphore>,
) -> BoxStream<'static, Result<Bytes, Failure>> {
    use std::os::unix::fs::FileExt as _;
    let file = Arc::new(file);
    let end = range.end;
    futures::stream::try_unfold(range.start, move |at| {
        let (file, reads) = (Arc::clone(&file), Arc::clone(&reads));
        async move {
            if at >= end {
                return Ok(None);
            }
            let permit = reads
                .acquire_owned()
                .await
                .map_err(|closed| file_failure(std::io::Error::other(closed)))?;
            let want = usize::try_from((end - at).min(FILE_READ as u64)).unwrap_or(FILE_READ);
            let bytes = tokio::task::spawn_blocking(move || {
                let _permit = permit;
                let mut buffer = vec![0; want];
                file.read_exact_at(&mut buffer, at)?;
                Ok::<_, std::io::Error>(Bytes::from(buffer))
            })
            .await
            .map_err(|joined| file_failure(std::io::Error::other(joined)))?
            .map_err(file_failure)?;
            Ok(Some((bytes, at + want as u64)))
        }
    })
    .boxed()
}

/// Where a blob lives.
fn blob_path(sha256: &str) -> Path {
    Path::from(format!("blobs/{sha256}"))
}

/// Where an upload's acknowledged chunks live.
fn upload_prefix(upload_id: &str) -> Path {
    Path::from(format!("uploads/{upload_id}"))
}

/// Where a file being checked is written.
fn staging_path(upload_id: &str) -> Path {
    Path::from(format!("staging/{upload_id}"))
}

impl Content {
    /// The store `config.url` names; a local directory is created if missing.
    pub fn open(config: &ContentConfig) -> Result<Self, ContentConfigError> {
        let url = config.url.trim();
        let objects: Arc<dyn ObjectStore> = if let Some(dir) = url.strip_prefix("file://") {
            let dir = PathBuf::from(dir);
            std::fs::create_dir_all(&dir).map_err(|source| ContentConfigError::Directory {
                dir: dir.clone(),
                source,
            })?;
            let dir = dir
                .canonicalize()
                .map_err(|source| ContentConfigError::Directory {
                    dir: dir.clone(),
                    source,
                })?;
            let local = LocalFileSystem::new_with_prefix(&dir).map_err(|error| {
                ContentConfigError::Directory {
                    dir,
                    source: std::io::Error::other(error),
                }
            })?;
            Arc::new(local)
        } else if let Some(rest) = url.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            let s3 = AmazonS3Builder::from_env()
                .with_bucket_name(bucket)
                .with_copy_if_not_exists(S3CopyIfNotExists::Multipart)
                .build()
                .map_err(|source| ContentConfigError::S3 {
                    url: url.to_owned(),
                    source,
                })?;
            let prefix = prefix.trim_matches('/');
            if prefix.is_empty() {
                Arc::new(s3)
            } else {
                Arc::new(PrefixStore::new(s3, prefix))
            }
        } else {
            return Err(ContentConfigError::Scheme(url.to_owned()));
        };
        Ok(Self {
            objects,
            file_reads: Arc::new(Semaphore::new(FILE_READS_AT_ONCE)),
        })
    }

    /// Stores an acknowledged chunk of a resumable upload at `offset`. Writing the same chunk
    /// again (a retry) replaces it with the same bytes.
    pub async fn put_chunk(
        &self,
        upload_id: &str,
        offset: u64,
        data: Bytes,
    ) -> Result<(), Failure> {
        let path = upload_prefix(upload_id).join(format!("{offset:020}"));
        self.objects
            .put(&path, PutPayload::from_bytes(data))
            .await
            .map_err(failure)?;
        Ok(())
    }

    /// The first `received` bytes of a resumable upload, as one stream read chunk by chunk.
    /// The chunks are followed from offset 0, each starting where the previous one ended; a
    /// chunk stored by an attempt that was never acknowledged (a retry sent the bytes again
    /// in other sizes) lies inside that chain and is skipped. A chain that does not reach
    /// `received` is a [`Mismatch::Gap`].
    pub async fn uploaded_chunks(
        &self,
        upload_id: &str,
        received: u64,
    ) -> Result<BoxStream<'static, Result<Bytes, WriteError>>, WriteError> {
        let mut stored: Vec<(u64, u64, Path)> = self
            .objects
            .list(Some(&upload_prefix(upload_id)))
            .try_filter_map(|meta| {
                let offset = meta.location.filename().and_then(|name| name.parse().ok());
                futures::future::ready(Ok(offset.map(|offset| (offset, meta.size, meta.location))))
            })
            .try_collect()
            .await
            .map_err(failure)?;
        stored.sort_by_key(|(offset, _, _)| *offset);
        let mut chain = Vec::new();
        let mut expected = 0_u64;
        for (offset, size, location) in stored {
            if expected >= received {
                break;
            }
            if offset < expected {
                continue;
            }
            if offset > expected {
                return Err(Mismatch::Gap(expected).into());
            }
            expected = offset.saturating_add(size);
            chain.push(location);
        }
        if expected < received {
            return Err(Mismatch::Gap(expected).into());
        }
        let objects = Arc::clone(&self.objects);
        let stream = futures::stream::iter(chain)
            .then(move |location| {
                let objects = Arc::clone(&objects);
                async move {
                    let read = objects.get(&location).await.map_err(failure)?;
                    Ok::<_, WriteError>(read.into_stream().map_err(|error| failure(error).into()))
                }
            })
            .try_flatten();
        Ok(stream.boxed())
    }

    /// Writes `bytes` under the upload's staging name while hashing them, checks the size and
    /// SHA-256 against `expected_size` and `expected_sha256`, and moves the file to its blob.
    /// The incoming stream stops early once it goes beyond the announced size. On any error
    /// nothing stays behind under the staging name or the blob's.
    pub async fn write_checked<S, E>(
        &self,
        upload_id: &str,
        bytes: S,
        expected_size: u64,
        expected_sha256: &str,
    ) -> Result<(), WriteError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send,
        E: Into<WriteError>,
    {
        let staging = staging_path(upload_id);
        let upload = self
            .objects
            .put_multipart(&staging)
            .await
            .map_err(failure)?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
        let written = async {
            let mut hasher = sha2::Sha256::new();
            let mut received = 0_u64;
            futures::pin_mut!(bytes);
            while let Some(chunk) = bytes.next().await {
                let chunk = chunk.map_err(Into::into)?;
                received = received.saturating_add(chunk.len() as u64);
                if received > expected_size {
                    return Err(WriteError::Mismatch(Mismatch::Size {
                        expected: expected_size,
                        received,
                    }));
                }
                hasher.update(&chunk);
                writer
                    .wait_for_capacity(PARTS_IN_FLIGHT)
                    .await
                    .map_err(failure)?;
                writer.put(chunk);
            }
            if received != expected_size {
                return Err(WriteError::Mismatch(Mismatch::Size {
                    expected: expected_size,
                    received,
                }));
            }
            let sha256 = hex::encode(hasher.finalize());
            if sha256 != expected_sha256 {
                return Err(WriteError::Mismatch(Mismatch::Sha256 {
                    expected: expected_sha256.to_owned(),
                    received: sha256,
                }));
            }
            Ok(())
        }
        .await;
        if let Err(error) = written {
            if let Err(abort) = writer.abort().await {
                tracing::warn!(error = %abort, upload_id, "an abandoned file part could not be aborted");
            }
            return Err(error);
        }
        writer.finish().await.map_err(failure)?;
        // Same name, same bytes: replacing a blob that exists keeps one copy.
        if let Err(error) = self
            .objects
            .rename(&staging, &blob_path(expected_sha256))
            .await
        {
            let _ = self.objects.delete(&staging).await;
            return Err(failure(error).into());
        }
        Ok(())
    }

    /// Removes everything an upload left: its chunks and its staging file.
    pub async fn remove_upload(&self, upload_id: &str) -> Result<(), Failure> {
        let chunks = self
            .objects
            .list(Some(&upload_prefix(upload_id)))
            .map_ok(|meta| meta.location)
            .chain(futures::stream::iter([Ok(staging_path(upload_id))]))
            .boxed();
        let mut deleted = self.objects.delete_stream(chunks);
        while let Some(result) = deleted.next().await {
            match result {
                Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
                Err(error) => return Err(failure(error)),
            }
        }
        Ok(())
    }

    /// Staging files older than `age`: what uploads that stopped mid-stream (a crash) left.
    pub async fn stale_staging(&self, age: Duration) -> Result<Vec<String>, Failure> {
        let cutoff = chrono_cutoff(age);
        let stale: Vec<_> = self
            .objects
            .list(Some(&Path::from("staging")))
            .try_filter(|meta| futures::future::ready(meta.last_modified < cutoff))
            .map_ok(|meta| meta.location.filename().unwrap_or_default().to_owned())
            .try_collect()
            .await
            .map_err(failure)?;
        Ok(stale)
    }

    /// Removes a blob; removing a missing one succeeds.
    pub async fn remove_blob(&self, sha256: &str) -> Result<(), Failure> {
        match self.objects.delete(&blob_path(sha256)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(error) => Err(failure(error)),
        }
    }

    /// Whether a blob is stored.
    pub async fn has_blob(&self, sha256: &str) -> Result<bool, Failure> {
        match self.objects.head(&blob_path(sha256)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(error) => Err(failure(error)),
        }
    }

    /// Bytes `range` of a blob, as a stream of chunks read as the consumer asks for them.
    pub async fn read(
        &self,
        sha256: &str,
        range: Range<u64>,
    ) -> Result<BoxStream<'static, Result<Bytes, Failure>>, Failure> {
        if range.is_empty() {
            return Ok(futures::stream::empty().boxed());
        }
        let options = GetOptions {
            range: Some(GetRange::Bounded(range)),
            ..GetOptions::default()
        };
        let read = self
            .objects
            .get_opts(&blob_path(sha256), options)
            .await
            .map_err(failure)?;
        Ok(match read.payload {
            GetResultPayload::File(file, _) => {
                read_file(file, read.range, Arc::clone(&self.file_reads))
            }
            GetResultPayload::Stream(stream) => stream.map_err(failure).boxed(),
        })
    }

    /// Every blob stored, by SHA-256 (for backups and checks).
    pub fn blobs(&self) -> BoxStream<'static, Result<(String, u64), Failure>> {
        self.objects
            .list(Some(&Path::from("blobs")))
            .map_ok(|meta| {
                (
                    meta.location.filename().unwrap_or_default().to_owned(),
                    meta.size,
                )
            })
            .map_err(failure)
            .boxed()
    }
}

/// The instant `age` ago, in the object store's clock type.
fn chrono_cutoff(age: Duration) -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now() - chrono::TimeDelta::from_std(age).unwrap_or(chrono::TimeDelta::MAX)
}

#[cfg(test)]
mod tests {
    /// Blob names and announced SHA-256s are compared as text: lower case, two digits a byte.
    #[test]
    fn hex_is_lower_case_two_digits_a_byte() {
        assert_eq!(hex::encode([0, 1, 0xab, 0xff]), "0001abff");
    }
}
