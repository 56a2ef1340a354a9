//! Open response streams are bounded per caller and per process: one past either limit is
//! refused with RESOURCE_EXHAUSTED, reason TOO_MANY_STREAMS and a pause (not "resume now"),
//! and a closed stream gives its place back.

mod common;

use std::time::Duration;

use campus_proto::finance::{
    AnalyticsQuery, AnalyticsSection, DateRange, WatchAnalyticsRequest, WatchAnalyticsResponse,
};
use campus_testkit::{CampusOptions, TestCampus};
use common::{Error, finance_as, user};
use tonic::{Code, Streaming};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_types::StatusExt as _;

/// Opens a WatchAnalytics stream as `token` and reads its first report; the refusal if any.
async fn watch(
    campus: &TestCampus,
    token: &str,
) -> Result<Result<Streaming<WatchAnalyticsResponse>, tonic::Status>, Error> {
    let request = WatchAnalyticsRequest {
        query: Some(AnalyticsQuery {
            date_range: Some(DateRange {
                start_date: "2026-01-01".into(),
                end_date: "2026-12-31".into(),
            }),
            sections: vec![AnalyticsSection::CashFlow as i32],
            ..AnalyticsQuery::default()
        }),
    };
    let mut stream = match finance_as(campus, token)
        .await?
        .watch_analytics(request)
        .await
    {
        Ok(response) => response.into_inner(),
        Err(status) => return Ok(Err(status)),
    };
    match tokio::time::timeout(Duration::from_secs(10), stream.message()).await? {
        Ok(Some(_)) => Ok(Ok(stream)),
        Ok(None) => Err("the watch ended before its first report".into()),
        Err(status) => Ok(Err(status)),
    }
}

fn refused_for_streams(
    answer: Result<Streaming<WatchAnalyticsResponse>, tonic::Status>,
) -> Result<(), Error> {
    let status = answer.err().ok_or("a stream over the limit was opened")?;
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    let details = status.get_error_details();
    assert_eq!(
        details.error_info().map(|info| info.reason.as_str()),
        Some("TOO_MANY_STREAMS")
    );
    let pause = details
        .retry_info()
        .and_then(|retry| retry.retry_delay)
        .unwrap_or_default();
    assert!(
        pause >= Duration::from_secs(1),
        "a pause, not at once: {pause:?}"
    );
    Ok(())
}

#[tokio::test]
async fn open_streams_are_bounded_per_caller_and_per_process() -> Result<(), Error> {
    let campus = TestCampus::start(CampusOptions {
        args: vec![
            "--max-open-streams".into(),
            "3".into(),
            "--max-open-streams-per-user".into(),
            "2".into(),
        ],
        ..CampusOptions::default()
    })
    .await?;
    campus.wait_for_status("", ServingStatus::Serving).await?;
    let ada = user(&campus, "ada").await?;
    let bob = user(&campus, "bob").await?;
    let cy = user(&campus, "cy").await?;

    let first = watch(&campus, &ada).await??;
    let _second = watch(&campus, &ada).await??;
    refused_for_streams(watch(&campus, &ada).await?)?;
    // Another caller still gets one: the per-caller limit is not the process's.
    let _bobs = watch(&campus, &bob).await??;
    // Now the process holds 3: nobody gets a fourth.
    refused_for_streams(watch(&campus, &cy).await?)?;

    // Closing a stream gives its place back (once the server sees the stream end).
    drop(first);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        match watch(&campus, &cy).await? {
            Ok(_stream) => break,
            Err(status) if status.code() == Code::ResourceExhausted => {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "the place never came back"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(status) => return Err(status.into()),
        }
    }
    campus.shutdown().await
}
