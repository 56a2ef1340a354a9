//! TLS on the gRPC port: HTTP/2 and HTTP/1.1 by ALPN (grpc-web still works over HTTP/1.1),
//! mutual TLS, a certificate replaced on disk served to new connections while open ones keep
//! going, health for probes on the cleartext admin port, calls to `https://` peers with the
//! process's own certificate (renewed in place, presented without a restart), and unusable
//! settings named in the error.

use std::{path::Path, sync::Arc, time::Duration};

use campus_proto::finance::{ListAccountsRequest, finance_service_client::FinanceServiceClient};
use campus_testkit::{CampusOptions, CertFiles, Error, ServerTls, TestCa, TestCampus};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, pem::PemObject as _};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

async fn tls_campus(tls: ServerTls, args: &[&str]) -> Result<TestCampus, Error> {
    let campus = TestCampus::start(CampusOptions {
        tls: Some(tls),
        args: args.iter().map(|&arg| arg.to_owned()).collect(),
        ..CampusOptions::default()
    })
    .await?;
    campus.wait_for_status("", ServingStatus::Serving).await?;
    Ok(campus)
}

/// A TLS connection to `campus` offering `alpn`, trusting `ca_file`, presenting `client`.
async fn connect(
    campus: &TestCampus,
    ca_file: &Path,
    alpn: &[&[u8]],
    client: Option<&CertFiles>,
) -> Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>, Error> {
    let mut roots = rustls::RootCertStore::empty();
    for certificate in CertificateDer::pem_file_iter(ca_file)? {
        roots.add(certificate?)?;
    }
    let builder = rustls::ClientConfig::builder_with_provider(campus_runtime::tls::provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots);
    let mut config = match client {
        Some(files) => builder.with_client_auth_cert(
            CertificateDer::pem_file_iter(&files.cert)?.collect::<Result<_, _>>()?,
            PrivateKeyDer::from_pem_file(&files.key)?,
        )?,
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = alpn.iter().map(|protocol| protocol.to_vec()).collect();
    let tcp = tokio::net::TcpStream::connect(campus.addr).await?;
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost")?, tcp)
        .await?)
}

/// The certificate the server presents to a new connection.
async fn served_certificate(campus: &TestCampus, ca_file: &Path) -> Result<Vec<u8>, Error> {
    let stream = connect(campus, ca_file, &[b"h2"], None).await?;
    let (_, session) = stream.get_ref();
    let chain = session.peer_certificates().ok_or("no server certificate")?;
    Ok(chain.first().ok_or("an empty chain")?.to_vec())
}

#[tokio::test]
async fn browsers_get_http2_and_grpc_web_still_works_over_http1() -> Result<(), Error> {
    let ca = TestCa::new("campus")?;
    let tls = ServerTls::issued_by(&ca, "server")?;
    let campus = tls_campus(tls, &[]).await?;

    let h2 = connect(&campus, &ca.ca_file(), &[b"h2", b"http/1.1"], None).await?;
    assert_eq!(h2.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let mut http1 = connect(&campus, &ca.ca_file(), &[b"http/1.1"], None).await?;
    assert_eq!(http1.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));

    // grpc-web over HTTP/1.1 inside TLS: an empty HealthCheckRequest frame.
    http1
        .write_all(
            b"POST /grpc.health.v1.Health/Check HTTP/1.1\r\nhost: localhost\r\n\
              content-type: application/grpc-web+proto\r\nx-grpc-web: 1\r\n\
              content-length: 5\r\nconnection: close\r\n\r\n\0\0\0\0\0",
        )
        .await?;
    let mut answer = Vec::new();
    http1.read_to_end(&mut answer).await?;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        answer.contains("\0\0\0\0\u{2}\u{8}\u{1}"),
        "SERVING: {answer:?}"
    );

    // gRPC over HTTP/2 with TLS, and no cleartext on the TLS port.
    assert_eq!(campus.health("").await?, ServingStatus::Serving);
    let cleartext = tonic::transport::Channel::from_shared(format!("http://{}", campus.addr))?
        .connect()
        .await?;
    let refused = HealthClient::new(cleartext)
        .check(HealthCheckRequest::default())
        .await;
    assert!(refused.is_err(), "cleartext answered on the TLS port");
    // Probes: the admin port answers grpc.health.v1 in cleartext.
    assert_eq!(
        campus.admin_health("campus.users.v1.UsersService").await?,
        ServingStatus::Serving
    );
    campus.shutdown().await
}

#[tokio::test]
async fn mutual_tls_refuses_a_client_without_a_certificate_of_the_ca() -> Result<(), Error> {
    let ca = TestCa::new("campus")?;
    let mut tls = ServerTls::issued_by(&ca, "server")?;
    tls.client = Some(ca.issue("client", &["courses.campus.svc"])?);
    let ca_file = ca.ca_file().display().to_string();
    let campus = tls_campus(tls, &["--tls-client-ca-file", &ca_file]).await?;
    assert_eq!(campus.health("").await?, ServingStatus::Serving);

    let other = TestCa::new("other")?;
    let strangers = [
        None,
        Some(other.issue("stranger", &["courses.campus.svc"])?),
    ];
    for client in strangers {
        // TLS 1.3: the client finishes its handshake first; the server's refusal is the
        // first thing it reads.
        let refused = match connect(&campus, &ca.ca_file(), &[b"h2"], client.as_ref()).await {
            Err(_) => true,
            Ok(mut stream) => {
                let mut byte = [0u8; 1];
                let _ = stream.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").await;
                matches!(stream.read(&mut byte).await, Err(_) | Ok(0))
            }
        };
        assert!(refused, "a client with {client:?} was served");
    }
    campus.shutdown().await
}

#[tokio::test]
async fn a_replaced_certificate_is_served_to_new_connections_while_open_streams_go_on()
-> Result<(), Error> {
    let ca = TestCa::new("campus")?;
    let tls = ServerTls::issued_by(&ca, "server")?;
    let first = tls.server.clone();
    let campus = tls_campus(tls, &["--tls-reload-interval", "100ms"]).await?;
    assert_eq!(served_certificate(&campus, &ca.ca_file()).await?, first.der);

    let mut health = HealthClient::new(campus.channel().await?);
    let mut watch = health
        .watch(HealthCheckRequest::default())
        .await?
        .into_inner();
    let serving = watch.message().await?.ok_or("the watch ended")?;
    assert_eq!(serving.status(), ServingStatus::Serving);

    // cert-manager's way: new files replace the old ones in place.
    let second = ca.issue("server-renewed", &["localhost", "127.0.0.1"])?;
    for (from, to) in [(&second.key, &first.key), (&second.cert, &first.cert)] {
        let staged = to.with_extension("new");
        std::fs::copy(from, &staged)?;
        std::fs::rename(&staged, to)?;
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while served_certificate(&campus, &ca.ca_file()).await? != second.der {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the new certificate was never served"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The stream opened before still runs: it sees the shutdown's NOT_SERVING.
    let next = tokio::spawn(async move { watch.message().await });
    campus.shutdown().await?;
    let seen = next.await??.ok_or("the watch ended without NOT_SERVING")?;
    assert_eq!(seen.status(), ServingStatus::NotServing);
    Ok(())
}

#[tokio::test]
async fn peers_are_called_over_https_with_the_process_certificate() -> Result<(), Error> {
    let ca = TestCa::new("campus")?;
    let mut tls = ServerTls::issued_by(&ca, "users")?;
    let finance_tls = ServerTls::issued_by(&ca, "finance")?;
    tls.client = Some(finance_tls.server.clone());
    let ca_file = ca.ca_file().display().to_string();
    // The users side requires a client certificate of the CA: mutual TLS between services.
    let users = tls_campus(tls, &["--tls-client-ca-file", &ca_file]).await?;
    let token = users.platform_admin_token().await?;

    let finance = TestCampus::start(CampusOptions {
        role: "finance",
        database_url: Some(users.database_url().to_owned()),
        tls: Some(finance_tls),
        args: vec![
            "--users-addr".into(),
            users.url(),
            "--peer-ca-file".into(),
            ca_file.clone(),
        ],
        ..CampusOptions::default()
    })
    .await?;
    finance
        .wait_for_status("campus.finance.v1.FinanceService", ServingStatus::Serving)
        .await?;
    // Verifying the token needs users' keys: fetched over https with finance's certificate.
    FinanceServiceClient::new(finance.channel_as(&token).await?)
        .list_accounts(ListAccountsRequest::default())
        .await?;
    finance.shutdown().await?;

    // Trusting another CA, the same call cannot verify the token.
    let other = TestCa::new("other")?;
    let distrustful = TestCampus::start(CampusOptions {
        role: "finance",
        database_url: Some(users.database_url().to_owned()),
        args: vec![
            "--users-addr".into(),
            users.url(),
            "--peer-ca-file".into(),
            other.ca_file().display().to_string(),
        ],
        ..CampusOptions::default()
    })
    .await?;
    distrustful
        .wait_for_status("campus.finance.v1.FinanceService", ServingStatus::Serving)
        .await?;
    let status = FinanceServiceClient::new(distrustful.channel_as(&token).await?)
        .list_accounts(ListAccountsRequest::default())
        .await
        .err()
        .ok_or("a users service with an untrusted certificate was believed")?;
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
    distrustful.shutdown().await?;
    users.shutdown().await
}

#[tokio::test]
async fn a_renewed_certificate_is_presented_to_peers_without_a_restart() -> Result<(), Error> {
    let ca = TestCa::new("campus")?;
    let stranger = TestCa::new("stranger")?;
    let ca_file = ca.ca_file().display().to_string();
    // Users takes only client certificates of `ca`, the mesh's CA (the test's client has one).
    let mut users_tls = ServerTls::issued_by(&ca, "users")?;
    users_tls.client = Some(ca.issue("test-client", &["localhost"])?);
    let users = tls_campus(users_tls, &["--tls-client-ca-file", &ca_file]).await?;
    let token = users.platform_admin_token().await?;

    // Finance starts with a certificate of another CA: its calls to users are refused. The
    // test's client trusts both CAs, so it reaches finance before and after the renewal.
    let both = stranger.dir().join("both-cas.pem");
    std::fs::write(
        &both,
        [
            std::fs::read(stranger.ca_file())?,
            std::fs::read(ca.ca_file())?,
        ]
        .concat(),
    )?;
    let finance_files = stranger.issue("finance", &["localhost", "127.0.0.1"])?;
    let finance = TestCampus::start(CampusOptions {
        role: "finance",
        database_url: Some(users.database_url().to_owned()),
        tls: Some(ServerTls {
            ca_file: both,
            server: finance_files.clone(),
            client: None,
        }),
        args: vec![
            "--users-addr".into(),
            users.url(),
            "--peer-ca-file".into(),
            ca_file.clone(),
            "--tls-reload-interval".into(),
            "200ms".into(),
        ],
        ..CampusOptions::default()
    })
    .await?;
    finance
        .wait_for_status("campus.finance.v1.FinanceService", ServingStatus::Serving)
        .await?;
    let mut accounts = FinanceServiceClient::new(finance.channel_as(&token).await?);
    let refused = accounts.list_accounts(ListAccountsRequest::default()).await;
    assert!(
        refused.is_err(),
        "users took a client certificate of another CA"
    );

    // cert-manager renews the certificate in place, now issued by the mesh's CA.
    let renewed = ca.issue("finance-renewed", &["localhost", "127.0.0.1"])?;
    std::fs::copy(&renewed.key, &finance_files.key)?;
    std::fs::copy(&renewed.cert, &finance_files.cert)?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        match accounts.list_accounts(ListAccountsRequest::default()).await {
            Ok(_) => break,
            Err(status) if tokio::time::Instant::now() > deadline => {
                return Err(format!(
                    "peer calls never presented the renewed certificate: {status:?}"
                )
                .into());
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    finance
        .wait_for_logged("peer calls present the new certificate", 1)
        .await?;
    finance.shutdown().await?;
    users.shutdown().await
}

#[tokio::test]
async fn unusable_tls_files_are_named_in_the_error() -> Result<(), Error> {
    let ca = TestCa::new("campus")?;
    let one = ca.issue("one", &["localhost"])?;
    let two = ca.issue("two", &["localhost"])?;
    let missing = ca.dir().join("missing.pem");
    let not_pem = ca.dir().join("not.pem");
    std::fs::write(&not_pem, "not a certificate")?;
    let [one_cert, one_key, two_key, missing, not_pem] =
        [&one.cert, &one.key, &two.key, &missing, &not_pem].map(|p| p.display().to_string());
    let cert_and_key = |cert: &str, key: &str| {
        vec![
            "--tls-cert-file".to_owned(),
            cert.to_owned(),
            "--tls-key-file".to_owned(),
            key.to_owned(),
        ]
    };
    let mut mutual = cert_and_key(&one_cert, &one_key);
    mutual.extend(["--tls-client-ca-file".to_owned(), not_pem.clone()]);
    let cases = [
        (cert_and_key(&one_cert, &two_key), "CAMPUS_TLS_KEY_FILE"),
        (cert_and_key(&missing, &one_key), "CAMPUS_TLS_CERT_FILE"),
        (mutual, "CAMPUS_TLS_CLIENT_CA_FILE"),
        (
            vec!["--peer-ca-file".to_owned(), not_pem.clone()],
            "CAMPUS_PEER_CA_FILE",
        ),
    ];
    for (args, setting) in cases {
        let started = TestCampus::start(CampusOptions {
            args: args.clone(),
            ..CampusOptions::default()
        })
        .await;
        let error = started
            .err()
            .ok_or(format!("campus started with {args:?}"))?;
        assert!(error.to_string().contains(setting), "{setting}: {error}");
    }
    Ok(())
}
