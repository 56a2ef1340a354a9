//! The named scenarios: what each seeds (its own schools, people, courses, accounts) and
//! which call it repeats. Every scenario runs against a Campus server at `Target::campus`.

use std::{sync::Arc, time::Duration};

use campus_proto::{
    courses::{
        AddLessonRequest, CreateCourseRequest, EnrollRequest, GetCourseRequest,
        ListCoursesForUserRequest, PublishCourseRequest,
        courses_service_client::CoursesServiceClient,
    },
    finance::{
        AccountKind, AnalyticsQuery, CreateAccountRequest, CreateTransactionRequest, DateRange,
        GetAnalyticsRequest, ListCategoriesRequest, Money, TransactionKind,
        finance_service_client::FinanceServiceClient,
    },
    progress::{
        AttendanceStatus, BatchMarkAttendanceRequest, CreateAttendanceSessionRequest, StudentMark,
        WatchAttendanceRequest, progress_service_client::ProgressServiceClient,
        watch_attendance_request::Scope,
    },
    users::{
        CreateSchoolRequest, CreateUserRequest, LoginRequest, Role,
        users_service_client::UsersServiceClient,
    },
};
use campus_runtime::{
    api::micros,
    bearer::{Bearer, BearerChannel},
};
use rand_distr::Distribution as _;
use tonic::transport::Channel;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

use crate::{
    Error,
    latency::Latencies,
    load::{LoadSettings, Measurement, run},
};

/// Every scenario, in the order a full run uses.
pub const ALL: &[&str] = &[
    "baseline",
    "health",
    "get-course",
    "my-courses",
    "zipf",
    "batch-mark",
    "create-transaction",
    "analytics",
    "watch",
];

/// Where the servers are.
#[derive(Debug, Clone)]
pub struct Target {
    /// Campus gRPC URL.
    pub campus: String,
    /// Baseline server URL.
    pub baseline: String,
    /// Campus `/metrics` URL.
    pub metrics: Option<String>,
    /// Campus server process id, to read its memory.
    pub server_pid: Option<u32>,
    /// A platform admin's access token, for seeding.
    pub admin_token: String,
    /// Makes seeded names unique across runs on one database.
    pub run_id: String,
    /// HTTP/2 connections the load is spread over.
    pub connections: usize,
    /// Concurrent WatchAttendance subscribers in the `watch` scenario.
    pub subscribers: usize,
}

/// What a scenario measured, before it is put next to the baseline.
#[derive(Debug)]
pub struct Outcome {
    /// The load measurement.
    pub measurement: Measurement,
    /// Units of work per call (marks per BatchMarkAttendance call), for `throughput`.
    pub per_call: f64,
    /// What the throughput counts.
    pub unit: &'static str,
    /// Other figures.
    pub extra: Vec<(String, String)>,
}

type Authed = BearerChannel;

async fn connect(url: &str) -> Result<Channel, Error> {
    Ok(Channel::from_shared(url.to_owned())?.connect().await?)
}

async fn authed(url: &str, token: &str) -> Result<Authed, Error> {
    Ok(Bearer::new(token)?.on(connect(url).await?))
}

/// `connections` authenticated channels.
async fn channels(target: &Target, token: &str) -> Result<Arc<Vec<Authed>>, Error> {
    let mut channels = Vec::new();
    for _ in 0..target.connections.max(1) {
        channels.push(authed(&target.campus, token).await?);
    }
    Ok(Arc::new(channels))
}

fn code(status: tonic::Status) -> tonic::Code {
    status.code()
}

/// A school with a school admin, an instructor and `students`, all logged in.
struct Seeded {
    school_id: String,
    instructor: (String, String),
    students: Vec<(String, String)>,
}

const PASSWORD: &str = "benchmark password";

async fn seed_school(target: &Target, name: &str, students: usize) -> Result<Seeded, Error> {
    let mut users = UsersServiceClient::new(authed(&target.campus, &target.admin_token).await?);
    let slug = format!("bench-{name}-{}", target.run_id);
    let school = users
        .create_school(CreateSchoolRequest {
            request_id: String::new(),
            name: slug.clone(),
            slug: slug.clone(),
            self_sign_up_enabled: false,
        })
        .await?
        .into_inner()
        .school
        .ok_or("no school")?;
    let mut person = async |email: String, role: Role| -> Result<(String, String), Error> {
        let user = users
            .create_user(CreateUserRequest {
                request_id: String::new(),
                school_id: school.id.clone(),
                email: email.clone(),
                display_name: email.clone(),
                roles: vec![role as i32],
                initial_password: PASSWORD.to_owned(),
            })
            .await?
            .into_inner()
            .user
            .ok_or("no user")?;
        let token = UsersServiceClient::new(connect(&target.campus).await?)
            .login(LoginRequest {
                school_id: school.id.clone(),
                email,
                password: PASSWORD.to_owned(),
            })
            .await?
            .into_inner()
            .tokens
            .ok_or("no tokens")?
            .access_token;
        Ok((user.id, token))
    };
    let instructor = person(format!("teacher@{slug}.example"), Role::Instructor).await?;
    let mut learners = Vec::new();
    for n in 0..students {
        learners.push(person(format!("s{n}@{slug}.example"), Role::Student).await?);
    }
    Ok(Seeded {
        school_id: school.id,
        instructor,
        students: learners,
    })
}

/// `count` published courses of the school's instructor (with one lesson each).
async fn seed_courses(
    target: &Target,
    seeded: &Seeded,
    count: usize,
) -> Result<Vec<String>, Error> {
    let mut courses =
        CoursesServiceClient::new(authed(&target.campus, &seeded.instructor.1).await?);
    let mut ids = Vec::new();
    for n in 0..count {
        let course = courses
            .create_course(CreateCourseRequest {
                school_id: seeded.school_id.clone(),
                title: format!("Course {n}"),
                ..CreateCourseRequest::default()
            })
            .await?
            .into_inner()
            .course
            .ok_or("no course")?;
        courses
            .add_lesson(AddLessonRequest {
                course_id: course.id.clone(),
                title: "Lesson".into(),
                ..AddLessonRequest::default()
            })
            .await?;
        courses
            .publish_course(PublishCourseRequest {
                course_id: course.id.clone(),
                version: course.version,
            })
            .await?;
        ids.push(course.id);
    }
    Ok(ids)
}

/// Enrols every seeded student in `course` and creates `sessions` attendance sessions of it;
/// returns their ids. Progress learns of the course from events, so creation is retried until
/// it has.
async fn seed_class(
    target: &Target,
    seeded: &Seeded,
    course: &str,
    sessions: usize,
) -> Result<Vec<String>, Error> {
    let mut courses =
        CoursesServiceClient::new(authed(&target.campus, &seeded.instructor.1).await?);
    for (student, _) in &seeded.students {
        courses
            .enroll(EnrollRequest {
                course_id: course.to_owned(),
                user_id: student.clone(),
            })
            .await?;
    }
    let mut progress =
        ProgressServiceClient::new(authed(&target.campus, &seeded.instructor.1).await?);
    let mut ids = Vec::with_capacity(sessions);
    for n in 0..sessions {
        let id = loop {
            let created = progress
                .create_attendance_session(CreateAttendanceSessionRequest {
                    request_id: format!("bench-session-{}-{course}-{n}", target.run_id),
                    course_id: course.to_owned(),
                    title: String::new(),
                    session_date: "2026-11-02".into(),
                    starts_at: Some(campus_runtime::api::timestamp(
                        1_700_000_000_000_000 + i64::try_from(n).unwrap_or(0),
                    )),
                    ends_at: None,
                })
                .await;
            match created {
                Ok(answer) => break answer.into_inner().session.ok_or("no session")?.id,
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        };
        ids.push(id);
    }
    Ok(ids)
}

/// Reads one counter of the server's `/metrics` (the sum over lines with every label).
async fn metric(target: &Target, name: &str, labels: &[&str]) -> Result<f64, Error> {
    let Some(url) = &target.metrics else {
        return Ok(0.0);
    };
    let address = url
        .trim_start_matches("http://")
        .trim_end_matches("/metrics");
    let text = campus_runtime::admin::scrape(address).await?;
    Ok(text
        .lines()
        .filter(|line| line.starts_with(name) && labels.iter().all(|label| line.contains(label)))
        .filter_map(|line| line.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()))
        .sum())
}

/// Resident memory of the server process, MiB (Linux).
fn server_rss_mib(target: &Target) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{}/status", target.server_pid?)).ok()?;
    let kib: f64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kib / 1024.0)
}

/// Runs scenario `name`; `progress` is told the elapsed fraction of its load phase.
pub async fn run_scenario(
    name: &str,
    target: &Target,
    settings: &LoadSettings,
    progress: impl Fn(f64) + Send + Sync + 'static,
) -> Result<Outcome, Error> {
    let calls = |measurement, unit, per_call, extra| Outcome {
        measurement,
        unit,
        per_call,
        extra,
    };
    match name {
        "baseline" | "health" => {
            let url = if name == "baseline" {
                &target.baseline
            } else {
                &target.campus
            };
            let mut clients = Vec::new();
            for _ in 0..target.connections.max(1) {
                clients.push(HealthClient::new(connect(url).await?));
            }
            let clients = Arc::new(clients);
            let measurement = run(
                settings,
                move |worker, _| {
                    let mut client = clients[worker % clients.len()].clone();
                    async move {
                        client
                            .check(HealthCheckRequest::default())
                            .await
                            .map(drop)
                            .map_err(code)
                    }
                },
                progress,
            )
            .await;
            Ok(calls(measurement, "calls/s", 1.0, Vec::new()))
        }
        "get-course" => {
            let seeded = seed_school(target, "get", 1).await?;
            let course = seed_courses(target, &seeded, 1).await?.remove(0);
            let channels = channels(target, &seeded.students[0].1).await?;
            let measurement = run(
                settings,
                move |worker, _| {
                    let mut client =
                        CoursesServiceClient::new(channels[worker % channels.len()].clone());
                    let course_id = course.clone();
                    async move {
                        client
                            .get_course(GetCourseRequest { course_id })
                            .await
                            .map(drop)
                            .map_err(code)
                    }
                },
                progress,
            )
            .await;
            Ok(calls(measurement, "calls/s", 1.0, Vec::new()))
        }
        "my-courses" => {
            let seeded = seed_school(target, "mine", 1).await?;
            let courses = seed_courses(target, &seeded, 10).await?;
            let student = seeded.students[0].1.clone();
            let mut enrol = CoursesServiceClient::new(authed(&target.campus, &student).await?);
            for course_id in courses {
                enrol
                    .enroll(EnrollRequest {
                        course_id,
                        user_id: String::new(),
                    })
                    .await?;
            }
            let channels = channels(target, &student).await?;
            let measurement = run(
                settings,
                move |worker, _| {
                    let mut client =
                        CoursesServiceClient::new(channels[worker % channels.len()].clone());
                    async move {
                        client
                            .list_courses_for_user(ListCoursesForUserRequest::default())
                            .await
                            .map(drop)
                            .map_err(code)
                    }
                },
                progress,
            )
            .await;
            Ok(calls(
                measurement,
                "calls/s",
                1.0,
                vec![("courses per page".into(), "10".into())],
            ))
        }
        "zipf" => {
            let seeded = seed_school(target, "zipf", 1).await?;
            let courses = Arc::new(seed_courses(target, &seeded, 200).await?);
            let channels = channels(target, &seeded.students[0].1).await?;
            let labels = [r#"cache="courses""#, r#"level="l1""#];
            let hits_before = metric(
                target,
                "campus_cache_requests_total",
                &[labels[0], labels[1], r#"result="hit""#],
            )
            .await?;
            let misses_before = metric(
                target,
                "campus_cache_requests_total",
                &[labels[0], labels[1], r#"result="miss""#],
            )
            .await?;
            let zipf =
                rand_distr::Zipf::new(courses.len() as u64, 1.1).map_err(|e| format!("{e:?}"))?;
            let measurement = run(
                settings,
                move |worker, _| {
                    let mut client =
                        CoursesServiceClient::new(channels[worker % channels.len()].clone());
                    let rank = zipf.sample(&mut rand::thread_rng()) as usize;
                    let course_id = courses[rank.clamp(1, courses.len()) - 1].clone();
                    async move {
                        client
                            .get_course(GetCourseRequest { course_id })
                            .await
                            .map(drop)
                            .map_err(code)
                    }
                },
                progress,
            )
            .await;
            let hits = metric(
                target,
                "campus_cache_requests_total",
                &[labels[0], labels[1], r#"result="hit""#],
            )
            .await?
                - hits_before;
            let misses = metric(
                target,
                "campus_cache_requests_total",
                &[labels[0], labels[1], r#"result="miss""#],
            )
            .await?
                - misses_before;
            let rate = if hits + misses > 0.0 {
                100.0 * hits / (hits + misses)
            } else {
                0.0
            };
            Ok(calls(
                measurement,
                "calls/s",
                1.0,
                vec![
                    ("cache hit rate".into(), format!("{rate:.1} %")),
                    ("courses".into(), "200, Zipf(1.1)".into()),
                ],
            ))
        }
        "batch-mark" => {
            let class_size = 100;
            let seeded = seed_school(target, "mark", class_size).await?;
            let course = seed_courses(target, &seeded, 1).await?.remove(0);
            // One session per worker, as many classes are marked at once in a school day (all
            // workers on one session would measure only its row locks).
            let sessions =
                seed_class(target, &seeded, &course, settings.concurrency.max(1)).await?;
            let mut progress_client =
                ProgressServiceClient::new(authed(&target.campus, &seeded.instructor.1).await?);
            let session = sessions[0].clone();
            let sessions = Arc::new(sessions);
            let students: Arc<Vec<String>> =
                Arc::new(seeded.students.iter().map(|s| s.0.clone()).collect());
            // Wait until every student is known as enrolled.
            loop {
                let probe = progress_client
                    .batch_mark_attendance(BatchMarkAttendanceRequest {
                        request_id: format!("bench-probe-{}", target.run_id),
                        session_id: session.clone(),
                        marks: students
                            .iter()
                            .map(|s| StudentMark {
                                student_id: s.clone(),
                                status: AttendanceStatus::Present as i32,
                                note: String::new(),
                            })
                            .collect(),
                    })
                    .await;
                if probe.is_ok() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let channels = channels(target, &seeded.instructor.1).await?;
            let run_id = target.run_id.clone();
            let measurement = run(
                settings,
                move |worker, n| {
                    let mut client =
                        ProgressServiceClient::new(channels[worker % channels.len()].clone());
                    let status = [
                        AttendanceStatus::Present,
                        AttendanceStatus::Late,
                        AttendanceStatus::Absent,
                    ][(n as usize + worker) % 3];
                    let request = BatchMarkAttendanceRequest {
                        request_id: format!("{run_id}-{worker}-{n}"),
                        session_id: sessions[worker % sessions.len()].clone(),
                        marks: students
                            .iter()
                            .map(|s| StudentMark {
                                student_id: s.clone(),
                                status: status as i32,
                                note: String::new(),
                            })
                            .collect(),
                    };
                    async move {
                        client
                            .batch_mark_attendance(request)
                            .await
                            .map(drop)
                            .map_err(code)
                    }
                },
                progress,
            )
            .await;
            Ok(calls(
                measurement,
                "marks/s",
                class_size as f64,
                vec![
                    ("marks per call".into(), class_size.to_string()),
                    ("sessions".into(), settings.concurrency.to_string()),
                ],
            ))
        }
        "create-transaction" | "analytics" => {
            let seeded = seed_school(target, name, 1).await?;
            let token = seeded.students[0].1.clone();
            let mut finance = FinanceServiceClient::new(authed(&target.campus, &token).await?);
            // Sixteen accounts: one account's balance row serialises its writers.
            let mut accounts = Vec::new();
            for n in 0..16 {
                let account = finance
                    .create_account(CreateAccountRequest {
                        request_id: String::new(),
                        name: format!("Bench {n}"),
                        kind: AccountKind::Bank as i32,
                        currency: "EUR".into(),
                        opening_balance_minor: 0,
                    })
                    .await?
                    .into_inner()
                    .account
                    .ok_or("no account")?;
                accounts.push(account.id);
            }
            let accounts = Arc::new(accounts);
            let food = finance
                .list_categories(ListCategoriesRequest {
                    kind: TransactionKind::Expense as i32,
                    page_size: 200,
                    ..ListCategoriesRequest::default()
                })
                .await?
                .into_inner()
                .categories
                .into_iter()
                .next()
                .ok_or("no category")?
                .id;
            let transaction = move |key: String, n: usize| CreateTransactionRequest {
                idempotency_key: key,
                account_id: accounts[n % accounts.len()].clone(),
                category_id: food.clone(),
                kind: TransactionKind::Expense as i32,
                amount: Some(Money {
                    amount_minor: 1_234,
                    currency: "EUR".into(),
                }),
                ..CreateTransactionRequest::default()
            };
            let channels = channels(target, &token).await?;
            if name == "create-transaction" {
                let run_id = target.run_id.clone();
                let measurement = run(
                    settings,
                    move |worker, n| {
                        let mut client =
                            FinanceServiceClient::new(channels[worker % channels.len()].clone());
                        let request = transaction(format!("{run_id}-{worker}-{n}"), worker);
                        async move {
                            client
                                .create_transaction(request)
                                .await
                                .map(drop)
                                .map_err(code)
                        }
                    },
                    progress,
                )
                .await;
                return Ok(calls(measurement, "calls/s", 1.0, Vec::new()));
            }
            for n in 0..200 {
                finance
                    .create_transaction(transaction(format!("seed-{n}"), n))
                    .await?;
            }
            let today = campus_runtime::api::utc_date(
                campus_runtime::api::micros(Some(&prost_timestamp_now())).unwrap_or(0),
            );
            let query = AnalyticsQuery {
                date_range: Some(DateRange {
                    start_date: format!("{}-01-01", &today[..4]),
                    end_date: format!("{}-12-31", &today[..4]),
                }),
                ..AnalyticsQuery::default()
            };
            let measurement = run(
                settings,
                move |worker, _| {
                    let mut client =
                        FinanceServiceClient::new(channels[worker % channels.len()].clone());
                    let request = GetAnalyticsRequest {
                        query: Some(query.clone()),
                    };
                    async move { client.get_analytics(request).await.map(drop).map_err(code) }
                },
                progress,
            )
            .await;
            Ok(calls(
                measurement,
                "calls/s",
                1.0,
                vec![("transactions in range".into(), "200".into())],
            ))
        }
        "watch" => watch(target, settings, progress).await,
        other => Err(format!("unknown scenario {other:?}; known: {}", ALL.join(", ")).into()),
    }
}

fn prost_timestamp_now() -> campus_runtime::api::Timestamp {
    campus_runtime::api::Timestamp::from(std::time::SystemTime::now())
}

/// K subscribers watch one course while marks are written at a steady pace: delivery
/// latency from the mark's write time, and the server's memory with K streams open.
async fn watch(
    target: &Target,
    settings: &LoadSettings,
    progress: impl Fn(f64) + Send + Sync + 'static,
) -> Result<Outcome, Error> {
    let seeded = seed_school(target, "watch", 10).await?;
    let course = seed_courses(target, &seeded, 1).await?.remove(0);
    let session = seed_class(target, &seeded, &course, 1).await?.remove(0);
    let rss_before = server_rss_mib(target);
    // HTTP/2 allows 256 streams per connection here: spread the subscribers.
    let connections = target.subscribers.div_ceil(200).max(1);
    let mut channels = Vec::new();
    for _ in 0..connections {
        channels.push(authed(&target.campus, &seeded.instructor.1).await?);
    }
    let latencies = Arc::new(std::sync::Mutex::new(Latencies::new()));
    let received = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut subscribers = Vec::new();
    for n in 0..target.subscribers {
        let mut client = ProgressServiceClient::new(channels[n % channels.len()].clone());
        let mut stream = client
            .watch_attendance(WatchAttendanceRequest {
                scope: Some(Scope::CourseId(course.clone())),
                resume_token: String::new(),
            })
            .await?
            .into_inner();
        let (latencies, received) = (Arc::clone(&latencies), Arc::clone(&received));
        subscribers.push(tokio::spawn(async move {
            while let Ok(Some(message)) = stream.message().await {
                let written = message
                    .mark
                    .and_then(|mark| micros(mark.marked_at.as_ref()))
                    .unwrap_or(0);
                let now = micros(Some(&prost_timestamp_now())).unwrap_or(0);
                if let Ok(mut latencies) = latencies.lock() {
                    latencies.record(Duration::from_micros(
                        u64::try_from(now - written).unwrap_or(0),
                    ));
                }
                received.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_with = server_rss_mib(target);
    let students: Vec<String> = seeded.students.iter().map(|s| s.0.clone()).collect();
    // Two batches a second, each changing every mark of the class: every subscriber gets
    // every mark, so deliveries are subscribers × 20 a second.
    let pace = LoadSettings {
        rate: Some(2),
        concurrency: 2,
        ..settings.clone()
    };
    let run_id = target.run_id.clone();
    let writer_channel = authed(&target.campus, &seeded.instructor.1).await?;
    let measurement = run(
        &pace,
        move |_, n| {
            let mut client = ProgressServiceClient::new(writer_channel.clone());
            let status = [AttendanceStatus::Present, AttendanceStatus::Late][(n % 2) as usize];
            let request = BatchMarkAttendanceRequest {
                request_id: format!("{run_id}-w-{n}"),
                session_id: session.clone(),
                marks: students
                    .iter()
                    .map(|s| StudentMark {
                        student_id: s.clone(),
                        status: status as i32,
                        note: String::new(),
                    })
                    .collect(),
            };
            async move {
                client
                    .batch_mark_attendance(request)
                    .await
                    .map(drop)
                    .map_err(code)
            }
        },
        progress,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    drop(channels);
    for subscriber in &subscribers {
        subscriber.abort();
    }
    let delivered = received.load(std::sync::atomic::Ordering::Relaxed);
    let delivery = latencies
        .lock()
        .map_err(|_| "latencies poisoned")?
        .percentiles();
    let mut extra = vec![
        ("subscribers".into(), target.subscribers.to_string()),
        ("marks delivered".into(), delivered.to_string()),
    ];
    if let (Some(before), Some(with)) = (rss_before, rss_with) {
        extra.push((
            "server RSS".into(),
            format!(
                "{with:.1} MiB ({:+.1} MiB for the subscribers)",
                with - before
            ),
        ));
    }
    extra.push((
        "delivery p50/p99".into(),
        format!("{:.1} / {:.1} ms", delivery.p50_ms, delivery.p99_ms),
    ));
    Ok(Outcome {
        measurement,
        unit: "batches/s",
        per_call: 1.0,
        extra,
    })
}
