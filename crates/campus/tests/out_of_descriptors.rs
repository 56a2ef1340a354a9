//! Out of file descriptors: while accepting fails for lack of descriptors (connections waiting
//! in the backlog make it fail again at once), the listener pauses instead of spinning on the
//! error, and takes connections again once descriptors are free. Linux only (`prlimit`,
//! `/proc`).

#![cfg(target_os = "linux")]

use std::time::Duration;

use campus_testkit::{CampusOptions, Error, TestCampus};
use tokio::net::TcpStream;
use tonic_health::pb::health_check_response::ServingStatus;

/// The server's descriptor limit: room to start (about 20 at rest) and little more.
const MAX_OPEN_FILES: u64 = 48;
/// Connections the test opens and holds: more than the server can accept, so some wait.
const HELD: usize = 100;
/// How long the server's CPU time is watched while it cannot accept.
const WINDOW: Duration = Duration::from_secs(2);

#[tokio::test]
async fn out_of_descriptors_the_listener_pauses_and_then_serves_again() -> Result<(), Error> {
    let campus = TestCampus::start(CampusOptions {
        max_open_files: Some(MAX_OPEN_FILES),
        ..CampusOptions::default()
    })
    .await?;
    campus.wait_for_status("", ServingStatus::Serving).await?;
    let pid = campus.pid().ok_or("campus exited")?;

    let mut held = Vec::with_capacity(HELD);
    for _ in 0..HELD {
        held.push(TcpStream::connect(campus.addr).await?);
    }
    campus
        .wait_for_logged("accepting connections failed; pausing", 1)
        .await?;
    let before = cpu_ticks(pid)?;
    tokio::time::sleep(WINDOW).await;
    let spent = cpu_ticks(pid)? - before;
    // A loop spinning on the error burns a whole core: all of the window's ticks. Pausing
    // 100 ms between tries costs next to nothing; a quarter of the window leaves room.
    let allowed = ticks_per_second()? * WINDOW.as_secs() / 4;
    assert!(
        spent < allowed,
        "the server spent {spent} ticks of CPU in {WINDOW:?} while it could not accept \
         (at most {allowed})"
    );

    drop(held);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        match campus.health("").await {
            Ok(ServingStatus::Serving) => break,
            answer if tokio::time::Instant::now() > deadline => {
                return Err(format!("not serving again after 30 s: {answer:?}").into());
            }
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    campus.shutdown().await
}

/// Clock ticks a second, the unit of `/proc/<pid>/stat`'s CPU times (`getconf CLK_TCK`).
fn ticks_per_second() -> Result<u64, Error> {
    let output = std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()?;
    Ok(String::from_utf8(output.stdout)?.trim().parse()?)
}

/// User and system CPU time of process `pid` so far, in clock ticks (`/proc/<pid>/stat`).
fn cpu_ticks(pid: u32) -> Result<u64, Error> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name (which may hold spaces, so split after its ')'):
    // utime and stime are the 12th and 13th of those.
    let after_name = stat.rsplit_once(')').ok_or("no command name in stat")?.1;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let utime: u64 = fields.get(11).ok_or("no utime")?.parse()?;
    let stime: u64 = fields.get(12).ok_or("no stime")?.parse()?;
    Ok(utime + stime)
}
