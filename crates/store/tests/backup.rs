//! `campus backup`: a consistent copy of the embedded SQLite database, taken while a writer
//! keeps writing, restores into a new file with every row it saw intact.

mod common;

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use campus_proto::events::EnrollmentCreated;
use campus_store::{Database, on_pool};
use campus_testkit::TestDatabase;
use common::{Error, database};

async fn rows(database: &Database) -> Result<Vec<(String, Vec<u8>)>, Error> {
    Ok(on_pool!(database, pool => {
        sqlx::query_as::<_, (String, Vec<u8>)>("SELECT id, envelope FROM outbox ORDER BY id").fetch_all(pool).await
    })?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_during_writes_restores_every_row_it_saw() -> Result<(), Error> {
    let source = TestDatabase::sqlite()?;
    let live = database(source.url()).await?;
    let write = |live: Database, n: usize| async move {
        let mut tx = live.begin().await?;
        tx.publish(
            &format!("enrollment-{n}"),
            "school-1",
            &EnrollmentCreated::default(),
        )
        .await?;
        tx.commit().await?;
        Ok::<_, Error>(())
    };
    for n in 0..100 {
        write(live.clone(), n).await?;
    }
    // A writer keeps going during the backup.
    let stop = Arc::new(AtomicBool::new(false));
    let writing = Arc::new(tokio::sync::Notify::new());
    let writer = {
        let (live, stop, writing) = (live.clone(), Arc::clone(&stop), Arc::clone(&writing));
        tokio::spawn(async move {
            let mut n = 100;
            while !stop.load(Ordering::Relaxed) {
                write(live.clone(), n).await?;
                writing.notify_one();
                n += 1;
            }
            Ok::<_, Error>(n)
        })
    };
    writing.notified().await;
    let dir = tempfile::tempdir()?;
    let backup = dir.path().join("backup.db");
    live.backup_to(&backup).await?;
    stop.store(true, Ordering::Relaxed);
    let written = writer.await??;

    // Restore: copy the backup to a new database file and open it as Campus would.
    let restored_path = dir.path().join("restored.db");
    std::fs::copy(&backup, &restored_path)?;
    let restored = database(&format!("sqlite://{}", restored_path.display())).await?;
    let integrity: String = on_pool!(&restored, pool => {
        sqlx::query_scalar("PRAGMA integrity_check").fetch_one(pool).await
    })?;
    assert_eq!(integrity, "ok");
    let (copied, original) = (rows(&restored).await?, rows(&live).await?);
    assert!(
        copied.len() >= 100,
        "the rows written before the backup are in it"
    );
    assert!(copied.len() <= written, "no row from nowhere");
    // The copy is a snapshot: exactly the first rows of the source, byte for byte.
    assert_eq!(copied[..], original[..copied.len()]);
    restored.close().await;
    live.close().await;
    Ok(())
}

#[tokio::test]
async fn postgres_backups_are_left_to_pg_dump() -> Result<(), Error> {
    let source = TestDatabase::postgres_always().await?;
    let live = database(source.url()).await?;
    let refused = live.backup_to(std::path::Path::new("/tmp/never.db")).await;
    assert!(matches!(
        refused,
        Err(campus_store::DatabaseError::Unsupported(_))
    ));
    live.close().await;
    Ok(())
}
