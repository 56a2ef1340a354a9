//! Passwords are stored as argon2id hashes with OWASP parameters.

mod common;

use campus_proto::users::Role;
use campus_store::{Database, DatabaseConfig, on_pool};
use campus_testkit::spawn_campus;
use clap::Parser as _;
use common::{Error, PASSWORD, school, user};

#[derive(Debug, clap::Parser)]
struct Flags {
    #[command(flatten)]
    database: DatabaseConfig,
}

#[tokio::test]
async fn stored_hashes_are_argon2id_with_owasp_parameters() -> Result<(), Error> {
    let campus = spawn_campus().await?;
    let hill = school(&campus, "hill", false).await?;
    user(&campus, &hill, "ada@example.org", &[Role::Student]).await?;
    let flags = Flags::try_parse_from(["test", "--database-url", campus.database_url()])?;
    let database = Database::connect_lazy(&flags.database)?;
    let hashes: Vec<String> = on_pool!(&database, pool => {
        sqlx::query_scalar("SELECT password_hash FROM users").fetch_all(pool).await
    })?;
    assert_eq!(hashes.len(), 2, "the platform admin and Ada");
    for hash in hashes {
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(!hash.contains(PASSWORD));
    }
    database.close().await;
    campus.shutdown().await
}
