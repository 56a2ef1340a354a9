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
        GetAnalyticsRequest, ImportTransactionRow, ImportTransactionsRequest,
        ListCategoriesRequest, Money, TransactionKind,
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
    "import",
    "watch",
    "download-http",
    "download-grpc",
    "range-seek",
    "upload",
    "rsvp-hot",
    "rsvp-spread",
    "upcoming-events",
    "get-course-cold",
    "my-courses-cold",
];

/// Whether scenario `name` measures the database path: it runs against a server whose caches
/// are off (TTL 0), each call for a different course or learner.
#[must_use]
pub fn is_cold(name: &str) -> bool {
    name.ends_with("-cold")
}

/// Learners of `my-courses-cold`, each enrolled in [`COLD_COURSES_EACH`] courses.
const COLD_LEARNERS: usize = 1_000;
/// Courses per learner in `my-courses-cold`: as in `my-courses`.
const COLD_COURSES_EACH: usize = 10;
/// Courses of `get-course-cold`.
const COLD_COURSES: usize = 500;
/// Rows per `import` call (10 messages of 1,000).
const IMPORT_ROWS: usize = 10_000;
/// Imports in flight in `import`, each into its own account.
const IMPORTS_IN_FLIGHT: usize = 2;
/// Seeding calls in flight.
const SEED_IN_FLIGHT: usize = 16;

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
    /// Downloads in flight in the `download-*` scenarios.
    pub downloads: usize,
    /// A directory of the benchmark's own, on the disk the server stores content on.
    pub scratch: std::path::PathBuf,
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
    /// Units of work done inside the measured window, where calls outlast it (a 10 MiB
    /// download at 1,000 in flight): the throughput is counted from it rather than from the
    /// calls completed. `None`: calls × `per_call`.
    pub measured_units: Option<f64>,
    /// Other figures.
    pub extra: Vec<(String, String)>,
}

/// A channel carrying a caller's token.
pub(crate) type Authed = BearerChannel;

async fn connect(url: &str) -> Result<Channel, Error> {
    Ok(Channel::from_shared(url.to_owned())?.connect().await?)
}

pub(crate) async fn authed(url: &str, token: &str) -> Result<Authed, Error> {
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

pub(crate) fn code(status: tonic::Status) -> tonic::Code {
    status.code()
}

/// A school with a school admin, an instructor and `students`, all logged in.
pub(crate) struct Seeded {
    pub(crate) school_id: String,
    /// The instructor's id and token.
    pub(crate) instructor: (String, String),
    /// Each student's id and token.
    pub(crate) students: Vec<(String, String)>,
}

const PASSWORD: &str = "benchmark password";

/// `count` new EUR bank accounts of the finance client's user, named `{name} {n}`, and the
/// user's first expense category: what the ledger scenarios write to.
async fn ledger_accounts(
    finance: &mut FinanceServiceClient<Authed>,
    name: &str,
    count: usize,
) -> Result<(Vec<String>, String), Error> {
    let mut accounts = Vec::new();
    for n in 0..count {
        let account = finance
            .create_account(CreateAccountRequest {
                request_id: String::new(),
                name: format!("{name} {n}"),
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
    let expense = finance
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
    Ok((accounts, expense))
}

pub(crate) async fn seed_school(
    target: &Target,
    name: &str,
    students: usize,
) -> Result<Seeded, Error> {
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

/// `count` more students of a seeded school, created concurrently (not logged in: the
/// scenarios using them call as staff on their behalf); returns their ids.
async fn seed_learners(
    target: &Target,
    seeded: &Seeded,
    count: usize,
) -> Result<Vec<String>, Error> {
    use futures::{StreamExt as _, TryStreamExt as _};
    let users = UsersServiceClient::new(authed(&target.campus, &target.admin_token).await?);
    futures::stream::iter(0..count)
        .map(|n| {
            let mut users = users.clone();
            let request = CreateUserRequest {
                request_id: String::new(),
                school_id: seeded.school_id.clone(),
                email: format!("learner{n}@{}.example", seeded.school_id),
                display_name: format!("Learner {n}"),
                roles: vec![Role::Student as i32],
                initial_password: PASSWORD.to_owned(),
            };
            async move {
                let user = users.create_user(request).await?.into_inner().user;
                Ok::<_, Error>(user.ok_or("no user")?.id)
            }
        })
        .buffer_unordered(SEED_IN_FLIGHT)
        .try_collect()
        .await
}

/// `count` published courses of the school's instructor (with one lesson each).
pub(crate) async fn seed_courses(
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
pub(crate) fn server_rss_mib(target: &Target) -> Option<f64> {
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
        measured_units: None,
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
            let (accounts, food) = ledger_accounts(&mut finance, "Bench", 16).await?;
            let accounts = Arc::new(accounts);
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
        "get-course-cold" => {
            let seeded = seed_school(target, "get-cold", 1).await?;
            let courses = Arc::new(seed_courses(target, &seeded, COLD_COURSES).await?);
            let channels = channels(target, &seeded.students[0].1).await?;
            let measurement = run(
                settings,
                move |worker, n| {
                    let mut client =
                        CoursesServiceClient::new(channels[worker % channels.len()].clone());
                    let course_id = courses[cold_pick(worker, n, courses.len())].clone();
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
            Ok(calls(
                measurement,
                "calls/s",
                1.0,
                vec![("courses".into(), format!("{COLD_COURSES}, caches off"))],
            ))
        }
        "my-courses-cold" => my_courses_cold(target, settings, progress).await,
        "import" => import(target, settings, progress).await,
        "watch" => watch(target, settings, progress).await,
        "rsvp-hot" | "rsvp-spread" | "upcoming-events" => {
            crate::events::run_scenario(name, target, settings, progress).await
        }
        other => match crate::materials::run_scenario(other, target, settings, progress).await {
            Some(outcome) => outcome,
            None => Err(format!("unknown scenario {other:?}; known: {}", ALL.join(", ")).into()),
        },
    }
}

/// The item out of `len` that worker `worker` asks for in its call `n`: workers walk the
/// items from different starting points, so calls in flight are for different items.
pub(crate) fn cold_pick(worker: usize, n: u64, len: usize) -> usize {
    (worker * 7_919 + usize::try_from(n).unwrap_or(0)) % len.max(1)
}

/// `ListCoursesForUser` by an instructor for one of [`COLD_LEARNERS`] learners per call,
/// each enrolled in 10 courses, against a server with caches off: the database path, with
/// the users and progress fan-out every page needs.
async fn my_courses_cold(
    target: &Target,
    settings: &LoadSettings,
    progress: impl Fn(f64) + Send + Sync + 'static,
) -> Result<Outcome, Error> {
    use futures::{StreamExt as _, TryStreamExt as _};
    let seeded = seed_school(target, "mine-cold", 1).await?;
    let courses = seed_courses(target, &seeded, COLD_COURSES_EACH).await?;
    let learners = Arc::new(seed_learners(target, &seeded, COLD_LEARNERS).await?);
    let enrol = CoursesServiceClient::new(authed(&target.campus, &seeded.instructor.1).await?);
    let pairs: Vec<(String, String)> = learners
        .iter()
        .flat_map(|learner| {
            courses
                .iter()
                .map(move |course| (learner.clone(), course.clone()))
        })
        .collect();
    futures::stream::iter(pairs)
        .map(|(user_id, course_id)| {
            let mut enrol = enrol.clone();
            async move {
                enrol.enroll(EnrollRequest { course_id, user_id }).await?;
                Ok::<_, Error>(())
            }
        })
        .buffer_unordered(SEED_IN_FLIGHT)
        .try_collect::<()>()
        .await?;
    let channels = channels(target, &seeded.instructor.1).await?;
    let measurement = run(
        settings,
        move |worker, n| {
            let mut client = CoursesServiceClient::new(channels[worker % channels.len()].clone());
            let user_id = learners[cold_pick(worker, n, learners.len())].clone();
            async move {
                client
                    .list_courses_for_user(ListCoursesForUserRequest {
                        user_id,
                        ..ListCoursesForUserRequest::default()
                    })
                    .await
                    .map(drop)
                    .map_err(code)
            }
        },
        progress,
    )
    .await;
    Ok(Outcome {
        measurement,
        unit: "calls/s",
        per_call: 1.0,
        measured_units: None,
        extra: vec![
            ("learners".into(), format!("{COLD_LEARNERS}, caches off")),
            ("courses per page".into(), COLD_COURSES_EACH.to_string()),
        ],
    })
}

/// `ImportTransactions` of [`IMPORT_ROWS`] new rows per call (messages of 1,000),
/// [`IMPORTS_IN_FLIGHT`] imports at once, each into its own account: rows per second.
async fn import(
    target: &Target,
    settings: &LoadSettings,
    progress: impl Fn(f64) + Send + Sync + 'static,
) -> Result<Outcome, Error> {
    let seeded = seed_school(target, "import", 1).await?;
    let token = seeded.students[0].1.clone();
    let mut finance = FinanceServiceClient::new(authed(&target.campus, &token).await?);
    let (accounts, food) = ledger_accounts(&mut finance, "Import", IMPORTS_IN_FLIGHT).await?;
    let accounts = Arc::new(accounts);
    let channel = authed(&target.campus, &token).await?;
    let run_id = target.run_id.clone();
    let pace = LoadSettings {
        concurrency: IMPORTS_IN_FLIGHT,
        ..settings.clone()
    };
    let measurement = run(
        &pace,
        move |worker, n| {
            let mut client = FinanceServiceClient::new(channel.clone());
            let account_id = accounts[worker % accounts.len()].clone();
            let chunks: Vec<ImportTransactionsRequest> = (0..IMPORT_ROWS)
                .map(|line| ImportTransactionRow {
                    line_number: i64::try_from(line + 1).unwrap_or(0),
                    idempotency_key: format!("{run_id}-{worker}-{n}-{line}"),
                    account_id: account_id.clone(),
                    category_id: food.clone(),
                    kind: TransactionKind::Expense as i32,
                    amount: Some(Money {
                        amount_minor: 100 + i64::try_from(line % 900).unwrap_or(0),
                        currency: "EUR".into(),
                    }),
                    description: format!("Imported {line}"),
                    occurred_at: None,
                })
                .collect::<Vec<_>>()
                .chunks(1_000)
                .map(|rows| ImportTransactionsRequest {
                    rows: rows.to_vec(),
                })
                .collect();
            async move {
                let report = client
                    .import_transactions(futures::stream::iter(chunks))
                    .await
                    .map_err(code)?
                    .into_inner();
                if usize::try_from(report.accepted_count).ok() == Some(IMPORT_ROWS) {
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
        unit: "rows/s",
        per_call: IMPORT_ROWS as f64,
        measured_units: None,
        extra: vec![
            ("rows per call".into(), IMPORT_ROWS.to_string()),
            ("imports in flight".into(), IMPORTS_IN_FLIGHT.to_string()),
        ],
    })
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
        measured_units: None,
        extra,
    })
}
