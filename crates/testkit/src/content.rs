//! Content stores for test servers: a temporary directory, and a bucket on an S3-compatible
//! server of the test's own (`moto_server`, from PyPI's `moto[server]`, on a free port), so
//! every materials test runs on both backends. `make test` installs moto into `target/moto`
//! and names it in `CAMPUS_TEST_MOTO_SERVER`; elsewhere `moto_server` on the PATH is used.
//! Without it the S3 runs are skipped with a note, except under `CI=true`, where they fail.

use std::{path::PathBuf, time::Duration};

use tempfile::TempDir;
use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::TcpStream,
    process::{Child, Command},
};

use crate::Error;

/// The environment variable naming the `moto_server` executable.
pub const MOTO_ENV: &str = "CAMPUS_TEST_MOTO_SERVER";

/// One content store: the server flags and environment that select it.
#[derive(Debug)]
pub struct TestContent {
    name: &'static str,
    url: String,
    env: Vec<(String, String)>,
    dir: Option<TempDir>,
    _moto: Option<PrivateMoto>,
}

impl TestContent {
    /// A fresh temporary directory.
    pub fn filesystem() -> Result<Self, Error> {
        let dir = tempfile::tempdir()?;
        Ok(Self {
            name: "filesystem",
            url: format!("file://{}", dir.path().join("content").display()),
            env: Vec::new(),
            dir: Some(dir),
            _moto: None,
        })
    }

    /// A fresh bucket on a private moto server; `None` (with a note) when moto is not
    /// installed outside CI.
    pub async fn s3() -> Result<Option<Self>, Error> {
        let Some(executable) = moto_executable() else {
            if std::env::var("CI").is_ok_and(|value| value == "true") {
                return Err(format!(
                    "CI=true but moto_server is not installed: set {MOTO_ENV} or run `make test`"
                )
                .into());
            }
            eprintln!("note: moto_server not found ({MOTO_ENV}); the S3 run is skipped");
            return Ok(None);
        };
        let moto = PrivateMoto::start(&executable).await?;
        let bucket = "campus-test";
        moto.create_bucket(bucket).await?;
        let endpoint = format!("http://127.0.0.1:{}", moto.port);
        let env = [
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ENDPOINT", endpoint.as_str()),
            ("AWS_ALLOW_HTTP", "true"),
        ]
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .to_vec();
        Ok(Some(Self {
            name: "s3",
            url: format!("s3://{bucket}/campus"),
            env,
            dir: None,
            _moto: Some(moto),
        }))
    }

    /// The filesystem store and, where moto is installed (always under CI), the S3 one.
    pub async fn all() -> Result<Vec<Self>, Error> {
        let mut stores = vec![Self::filesystem()?];
        stores.extend(Self::s3().await?);
        Ok(stores)
    }

    /// `filesystem` or `s3`, for messages.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// `CAMPUS_CONTENT_URL`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The server flags that select this store.
    pub fn args(&self) -> Vec<String> {
        vec!["--content-url".to_owned(), self.url.clone()]
    }

    /// The environment the server needs for this store (the `AWS_*` settings of S3).
    pub fn env(&self) -> &[(String, String)] {
        &self.env
    }

    /// The directory of the filesystem store.
    pub fn dir(&self) -> Option<PathBuf> {
        self.dir.as_ref().map(|dir| dir.path().join("content"))
    }

    /// How many objects the store holds under `prefix` (`blobs/`, `uploads/`, `staging/`).
    pub async fn count(&self, prefix: &str) -> Result<usize, Error> {
        match (&self.dir, &self._moto) {
            (Some(_), _) => {
                let root = self.dir().ok_or("no directory")?.join(prefix);
                Ok(count_files(&root)?)
            }
            (None, Some(moto)) => moto.count("campus-test", &format!("campus/{prefix}")).await,
            (None, None) => Err("a store without backend".into()),
        }
    }
}

/// Files under `dir`, recursively (0 if it does not exist).
fn count_files(dir: &std::path::Path) -> std::io::Result<usize> {
    if !dir.exists() {
        return Ok(0);
    }
    let mut count = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            count += count_files(&entry.path())?;
        } else {
            count += 1;
        }
    }
    Ok(count)
}

/// `CAMPUS_TEST_MOTO_SERVER`, else `moto_server` on the PATH.
fn moto_executable() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(MOTO_ENV).filter(|path| !path.is_empty()) {
        return Some(PathBuf::from(path));
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("moto_server"))
            .find(|candidate| candidate.is_file())
    })
}

/// A moto server of one test; killed on drop.
#[derive(Debug)]
struct PrivateMoto {
    port: u16,
    _server: Child,
}

impl PrivateMoto {
    async fn start(executable: &std::path::Path) -> Result<Self, Error> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let server = Command::new(executable)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|error| format!("starting {}: {error}", executable.display()))?;
        let moto = Self {
            port,
            _server: server,
        };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while moto.request("GET", "/").await.is_err() {
            if tokio::time::Instant::now() > deadline {
                return Err("moto_server did not answer within 60 s".into());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(moto)
    }

    /// One HTTP/1.1 request; the status and body of the answer.
    async fn request(&self, method: &str, path: &str) -> Result<(u16, String), Error> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).await?;
        stream
            .write_all(
                format!(
                    "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\n\
                     Connection: close\r\n\r\n",
                    self.port
                )
                .as_bytes(),
            )
            .await?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await?;
        let status = answer
            .split_whitespace()
            .nth(1)
            .and_then(|code| code.parse().ok())
            .ok_or("moto answered no status")?;
        let body = answer
            .split_once("\r\n\r\n")
            .map(|(_, body)| body.to_owned())
            .unwrap_or_default();
        Ok((status, body))
    }

    async fn create_bucket(&self, bucket: &str) -> Result<(), Error> {
        let (status, body) = self.request("PUT", &format!("/{bucket}")).await?;
        if status != 200 {
            return Err(format!("creating bucket {bucket}: {status} {body}").into());
        }
        Ok(())
    }

    /// Objects under `prefix` (ListObjectsV2 counts them in `<KeyCount>`).
    async fn count(&self, bucket: &str, prefix: &str) -> Result<usize, Error> {
        let (status, body) = self
            .request("GET", &format!("/{bucket}?list-type=2&prefix={prefix}"))
            .await?;
        if status != 200 {
            return Err(format!("listing {bucket}/{prefix}: {status} {body}").into());
        }
        let count = body
            .split("<KeyCount>")
            .nth(1)
            .and_then(|rest| rest.split('<').next())
            .and_then(|count| count.parse().ok())
            .ok_or_else(|| format!("no KeyCount in {body}"))?;
        Ok(count)
    }
}
