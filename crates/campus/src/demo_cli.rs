//! `campus demo`: fills a running Campus with a term of sample data, through the API only.
//!
//! Two schools, twelve courses with lessons, 300 learners, eight weeks of sessions with
//! attendance (mostly present, some late, absences clustered on a few learners), lesson
//! progress spread over the term, a year of finance with budgets for a few learners, and an
//! open day and a revision workshop ahead, which the learners worth signing in as answer.
//! Every write carries a request id derived from what it creates, so a second run replays
//! the first run's answers and adds nothing. The figures are drawn from a fixed seed: every
//! run on every machine produces the same school.

use std::{collections::HashMap, sync::Arc};

use anyhow::{Context as _, anyhow};
use campus_proto::{
    courses::{
        AddLessonRequest, AttendanceStatus as Answer, CourseStatus, CreateCourseRequest,
        CreateEventRequest, EnrollRequest, EventDetails, ListCoursesRequest, ListLessonsRequest,
        ListUpcomingEventsRequest, PublishCourseRequest, RespondToEventRequest,
        courses_service_client::CoursesServiceClient, events_service_client::EventsServiceClient,
    },
    finance::{
        AccountKind, CreateAccountRequest, CreateCategoryRequest, CreateTransactionRequest,
        ListAccountsRequest, ListCategoriesRequest, Money, SetBudgetRequest, TransactionKind,
        finance_service_client::FinanceServiceClient,
    },
    progress::{
        AttendanceStatus, BatchMarkAttendanceRequest, CreateAttendanceSessionRequest,
        LessonProgressState, ListAttendanceSessionsRequest, RecordLessonProgressRequest,
        StudentMark, progress_service_client::ProgressServiceClient,
    },
    users::{
        CreateSchoolRequest, CreateUserRequest, GetSchoolRequest, LoginRequest, Role,
        get_school_request::Key, users_service_client::UsersServiceClient,
    },
};
use campus_runtime::bearer::{Bearer, BearerChannel};
use futures::{StreamExt as _, TryStreamExt as _, stream};
use indicatif::{ProgressBar, ProgressStyle};
use time::{Date, Duration as Days, OffsetDateTime, Weekday};
use tonic::{Code, transport::Channel};

/// Everything `campus demo` is configured with.
#[derive(Debug, Clone, clap::Args)]
pub struct DemoSettings {
    /// The Campus server to fill.
    #[arg(
        long,
        env = "CAMPUS_ADDR",
        value_name = "CAMPUS_ADDR",
        default_value = "http://127.0.0.1:50051"
    )]
    pub addr: String,
    /// A platform admin's email (create one with `campus users create-admin`).
    #[arg(
        long,
        env = "CAMPUS_DEMO_ADMIN_EMAIL",
        value_name = "CAMPUS_DEMO_ADMIN_EMAIL",
        default_value = "admin@campus.demo"
    )]
    pub admin_email: String,
    /// That admin's password.
    #[arg(
        long,
        env = "CAMPUS_ADMIN_PASSWORD",
        value_name = "CAMPUS_ADMIN_PASSWORD",
        hide_env_values = true
    )]
    pub admin_password: String,
    /// Learners per school.
    #[arg(long, default_value_t = 150)]
    pub learners_per_school: usize,
    /// Calls in flight at once.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
}

/// The password of every demo account.
pub const DEMO_PASSWORD: &str = "campus demo 2026";

const SCHOOLS: [(&str, &str); 2] = [
    ("northfield", "Northfield Academy"),
    ("riverside", "Riverside School"),
];

/// Course titles and their lessons; each school teaches six of them.
const COURSES: [(&str, &[&str]); 6] = [
    (
        "Algebra I",
        &[
            "Expressions",
            "Linear equations",
            "Inequalities",
            "Functions",
            "Systems",
            "Review",
        ],
    ),
    (
        "World History",
        &[
            "Early civilisations",
            "Empires",
            "Trade routes",
            "Revolutions",
            "The modern world",
        ],
    ),
    (
        "Biology",
        &[
            "Cells",
            "Genetics",
            "Evolution",
            "Ecosystems",
            "Human body",
            "Lab skills",
            "Review",
        ],
    ),
    (
        "English Literature",
        &[
            "Reading closely",
            "Poetry",
            "The novel",
            "Drama",
            "Essay writing",
        ],
    ),
    (
        "Computer Science",
        &[
            "Algorithms",
            "Data",
            "Programs",
            "Networks",
            "Security",
            "Project",
        ],
    ),
    (
        "Art and Design",
        &["Drawing", "Colour", "Composition", "Sculpture", "Portfolio"],
    ),
];

/// Weeks of the term, ending this week; two sessions a week (Monday and Thursday).
const TERM_WEEKS: i64 = 8;

type Authed = BearerChannel;

/// The connection to the server and the bar that shows how far the demo got.
struct Demo {
    channel: Channel,
    bar: ProgressBar,
    concurrency: usize,
}

/// A signed-in account of the demo.
#[derive(Clone)]
struct Account {
    id: String,
    email: String,
    channel: Authed,
}

/// One course as the demo built it.
struct Course {
    id: String,
    lessons: Vec<String>,
    instructor: Account,
    learners: Vec<String>,
}

impl Demo {
    fn as_user(&self, token: &str) -> anyhow::Result<Authed> {
        Ok(Bearer::new(token)
            .context("the access token is not a valid header value")?
            .on(self.channel.clone()))
    }

    async fn login(&self, school_id: &str, email: &str, password: &str) -> anyhow::Result<Authed> {
        let tokens = UsersServiceClient::new(self.channel.clone())
            .login(LoginRequest {
                school_id: school_id.to_owned(),
                email: email.to_owned(),
                password: password.to_owned(),
            })
            .await
            .with_context(|| format!("signing in as {email}"))?
            .into_inner()
            .tokens
            .ok_or_else(|| anyhow!("Login returned no tokens"))?;
        self.as_user(&tokens.access_token)
    }

    /// Runs `calls` with the configured concurrency, ticking the bar once per call.
    async fn all<T, F>(&self, calls: impl IntoIterator<Item = F>) -> anyhow::Result<Vec<T>>
    where
        F: Future<Output = anyhow::Result<T>>,
    {
        stream::iter(calls)
            .map(|call| async {
                let done = call.await;
                self.bar.inc(1);
                done
            })
            .buffered(self.concurrency.max(1))
            .try_collect()
            .await
    }
}

/// Fills the server at `settings.addr`; prints the sign-ins.
pub async fn run(settings: &DemoSettings) -> anyhow::Result<()> {
    let channel = Channel::from_shared(settings.addr.clone())
        .context("CAMPUS_ADDR is not a URL")?
        .connect()
        .await
        .with_context(|| format!("CAMPUS_ADDR: connecting to {}", settings.addr))?;
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template("{msg:>22} [{bar:40}] {pos}/{len} ({elapsed})")
            .context("progress bar template")?
            .progress_chars("=> "),
    );
    let demo = Arc::new(Demo {
        channel,
        bar,
        concurrency: settings.concurrency,
    });
    let admin = demo
        .login("", &settings.admin_email, &settings.admin_password)
        .await
        .context("CAMPUS_DEMO_ADMIN_EMAIL / CAMPUS_ADMIN_PASSWORD: the platform admin")?;
    let today = today()?;
    let mut sign_ins = Vec::new();
    for (index, (slug, name)) in SCHOOLS.iter().enumerate() {
        let school = fill_school(&demo, &admin, slug, name, index, settings, today).await?;
        sign_ins.extend(school);
    }
    demo.bar.finish_with_message("done");
    println!(
        "\nSign in at {} with password \"{DEMO_PASSWORD}\":",
        settings.addr
    );
    for (school, role, email) in sign_ins {
        println!("  {school:<12} {role:<14} {email}");
    }
    Ok(())
}

/// Today's date (UTC), from the system clock.
fn today() -> anyhow::Result<Date> {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .context("the system clock is before 1970")?;
    let now = OffsetDateTime::from_unix_timestamp(i64::try_from(since_epoch.as_secs())?)?;
    Ok(now.date())
}

/// A school with its people, courses, a term of attendance and progress, and finance for
/// three learners; returns (school, role, email) of the accounts worth signing in as.
async fn fill_school(
    demo: &Demo,
    admin: &Authed,
    slug: &str,
    name: &str,
    index: usize,
    settings: &DemoSettings,
    today: Date,
) -> anyhow::Result<Vec<(String, &'static str, String)>> {
    let mut rng = fastrand::Rng::with_seed(0xCA4F_0000 + index as u64);
    let school_id = school(admin, slug, name).await?;

    demo.bar.set_message(format!("{slug}: people"));
    let staff = [
        (
            format!("admin@{slug}.demo"),
            "School Admin".to_owned(),
            Role::SchoolAdmin,
        ),
        (
            format!("maria.lopez@{slug}.demo"),
            "Maria Lopez".to_owned(),
            Role::Instructor,
        ),
        (
            format!("james.chen@{slug}.demo"),
            "James Chen".to_owned(),
            Role::Instructor,
        ),
        (
            format!("amara.okafor@{slug}.demo"),
            "Amara Okafor".to_owned(),
            Role::Instructor,
        ),
    ];
    let learners: Vec<(String, String, Role)> = (0..settings.learners_per_school)
        .map(|n| {
            let (first, last) = learner_name(n + index * 1000);
            let email = format!(
                "{}.{}{n}@{slug}.demo",
                first.to_lowercase(),
                last.to_lowercase()
            );
            (email, format!("{first} {last}"), Role::Student)
        })
        .collect();
    demo.bar.inc_length((staff.len() + learners.len()) as u64);
    let people = demo
        .all(staff.iter().chain(&learners).map(|(email, display, role)| {
            let mut users = UsersServiceClient::new(admin.clone());
            let school_id = school_id.clone();
            async move {
                let user = users
                    .create_user(CreateUserRequest {
                        request_id: format!("demo-user-{email}"),
                        school_id,
                        email: email.clone(),
                        display_name: display.clone(),
                        roles: vec![*role as i32],
                        initial_password: DEMO_PASSWORD.to_owned(),
                    })
                    .await
                    .with_context(|| format!("creating {email}"))?
                    .into_inner()
                    .user
                    .ok_or_else(|| anyhow!("CreateUser returned no user"))?;
                Ok(user.id)
            }
        }))
        .await?;
    let (staff_ids, learner_ids) = people.split_at(staff.len());
    let mut instructors = Vec::new();
    for ((email, _, _), id) in staff.iter().zip(staff_ids).skip(1) {
        instructors.push(Account {
            id: id.clone(),
            email: email.clone(),
            channel: demo.login(&school_id, email, DEMO_PASSWORD).await?,
        });
    }

    demo.bar.set_message(format!("{slug}: courses"));
    let mut courses = Vec::new();
    for (n, (title, lessons)) in COURSES.iter().enumerate() {
        let instructor = instructors[n % instructors.len()].clone();
        let course = course(demo, &school_id, &instructor, title, lessons).await?;
        // About 75 learners a course: each learner takes three of the six.
        let enrolled: Vec<String> = learner_ids
            .iter()
            .enumerate()
            .filter(|(learner, _)| (learner + n) % 2 == 0)
            .map(|(_, id)| id.clone())
            .collect();
        courses.push(Course {
            id: course.0,
            lessons: course.1,
            instructor,
            learners: enrolled,
        });
    }
    demo.bar
        .inc_length(courses.iter().map(|c| c.learners.len() as u64).sum());
    demo.bar.set_message(format!("{slug}: enrolments"));
    demo.all(courses.iter().flat_map(|course| {
        course.learners.iter().map(|learner| {
            let mut client = CoursesServiceClient::new(course.instructor.channel.clone());
            let course_id = course.id.clone();
            async move {
                client
                    .enroll(EnrollRequest {
                        course_id,
                        user_id: learner.clone(),
                    })
                    .await
                    .context("enrolling a learner")?;
                Ok(())
            }
        })
    }))
    .await?;

    // Each learner has a reliability: most come nearly always, a few miss often.
    let reliability: HashMap<String, f64> = learner_ids
        .iter()
        .map(|id| {
            let base = if rng.f64() < 0.12 {
                0.55 + rng.f64() * 0.2
            } else {
                0.9 + rng.f64() * 0.09
            };
            (id.clone(), base)
        })
        .collect();

    demo.bar.set_message(format!("{slug}: attendance"));
    let dates = session_dates(today);
    for course in &courses {
        attendance(demo, course, &dates, &reliability, &mut rng).await?;
    }

    demo.bar.set_message(format!("{slug}: progress"));
    for course in &courses {
        progress(demo, course, &reliability).await?;
    }

    demo.bar.set_message(format!("{slug}: events"));
    let school_admin = demo.login(&school_id, &staff[0].0, DEMO_PASSWORD).await?;
    let events = events(&school_admin, &school_id, &courses[0], today).await?;

    demo.bar.set_message(format!("{slug}: finance"));
    let mut sign_ins = vec![
        (slug.to_owned(), "school admin", staff[0].0.clone()),
        (slug.to_owned(), "instructor", instructors[0].email.clone()),
    ];
    for learner in learners.iter().take(3) {
        let channel = demo.login(&school_id, &learner.0, DEMO_PASSWORD).await?;
        finance(demo, &channel, &learner.0, today, &mut rng).await?;
        answer_events(&channel, &learner.0, &events).await?;
        sign_ins.push((slug.to_owned(), "learner", learner.0.clone()));
    }
    Ok(sign_ins)
}

/// An upcoming event titled `title` of `course_id` (empty: the school), announced as
/// `channel`'s user unless it is already; returns its id.
async fn event(
    channel: &Authed,
    school_id: &str,
    course_id: &str,
    title: &str,
    details: EventDetails,
) -> anyhow::Result<String> {
    let mut events = EventsServiceClient::new(channel.clone());
    let upcoming = events
        .list_upcoming_events(ListUpcomingEventsRequest {
            page_size: 200,
            page_token: String::new(),
        })
        .await
        .context("listing upcoming events")?
        .into_inner();
    let existing = upcoming
        .events
        .into_iter()
        .filter_map(|listed| listed.event)
        .find(|event| event.title == title && event.course_id == course_id);
    if let Some(event) = existing {
        return Ok(event.id);
    }
    Ok(events
        .create_event(CreateEventRequest {
            request_id: String::new(),
            school_id: school_id.to_owned(),
            course_id: course_id.to_owned(),
            details: Some(EventDetails {
                title: title.to_owned(),
                ..details
            }),
        })
        .await
        .with_context(|| format!("announcing {title}"))?
        .into_inner()
        .event
        .ok_or_else(|| anyhow!("CreateEvent returned no event"))?
        .id)
}

/// The school's open day in two weeks (announced by its admin) and a revision workshop of
/// `course` in five days with ten places (by its instructor); returns their ids.
async fn events(
    school_admin: &Authed,
    school_id: &str,
    course: &Course,
    today: Date,
) -> anyhow::Result<Vec<String>> {
    let details = |date: Date, from: i64, to: i64, place: &str, capacity: i32| EventDetails {
        description: "Sign up here: places are limited.".to_owned(),
        starts_at: Some(at(date, from)),
        ends_at: Some(at(date, to)),
        time_zone: "Europe/London".to_owned(),
        place: place.to_owned(),
        capacity,
        ..EventDetails::default()
    };
    let open_day = event(
        school_admin,
        school_id,
        "",
        "Open day",
        details(today + Days::days(14), 10 * 60, 14 * 60, "Main hall", 0),
    )
    .await?;
    let workshop = event(
        &course.instructor.channel,
        school_id,
        &course.id,
        "Revision workshop",
        details(today + Days::days(5), 15 * 60, 17 * 60, "Room 12", 10),
    )
    .await?;
    Ok(vec![open_day, workshop])
}

/// `email`'s answer GOING to each of `events` they may see.
async fn answer_events(channel: &Authed, email: &str, events: &[String]) -> anyhow::Result<()> {
    let mut client = EventsServiceClient::new(channel.clone());
    for event_id in events {
        let answered = client
            .respond_to_event(RespondToEventRequest {
                request_id: String::new(),
                event_id: event_id.clone(),
                status: Answer::Going as i32,
            })
            .await;
        match answered {
            Ok(_) => {}
            // A workshop of a course the learner does not take.
            Err(status) if status.code() == Code::NotFound => {}
            Err(status) => return Err(status).with_context(|| format!("{email} answering")),
        }
    }
    Ok(())
}

/// The school with `slug`, created on the first run.
async fn school(admin: &Authed, slug: &str, name: &str) -> anyhow::Result<String> {
    let mut users = UsersServiceClient::new(admin.clone());
    let created = users
        .create_school(CreateSchoolRequest {
            request_id: format!("demo-school-{slug}"),
            name: name.to_owned(),
            slug: slug.to_owned(),
            self_sign_up_enabled: false,
        })
        .await;
    match created {
        Ok(answer) => Ok(answer
            .into_inner()
            .school
            .ok_or_else(|| anyhow!("CreateSchool returned no school"))?
            .id),
        // Made by hand before the demo ran: use it as it is.
        Err(status) if status.code() == Code::AlreadyExists => Ok(users
            .get_school(GetSchoolRequest {
                key: Some(Key::Slug(slug.to_owned())),
            })
            .await?
            .into_inner()
            .school
            .ok_or_else(|| anyhow!("GetSchool returned no school"))?
            .id),
        Err(status) => Err(status).with_context(|| format!("creating the school {slug}")),
    }
}

/// A published course of `instructor` with `lessons`; returns its id and lesson ids.
async fn course(
    demo: &Demo,
    school_id: &str,
    instructor: &Account,
    title: &str,
    lessons: &[&str],
) -> anyhow::Result<(String, Vec<String>)> {
    let mut courses = CoursesServiceClient::new(instructor.channel.clone());
    let existing = courses
        .list_courses(ListCoursesRequest {
            school_id: school_id.to_owned(),
            instructor_id: instructor.id.clone(),
            title_query: title.to_owned(),
            page_size: 10,
            ..ListCoursesRequest::default()
        })
        .await?
        .into_inner()
        .courses
        .into_iter()
        .find(|course| course.title == title && course.status == CourseStatus::Published as i32);
    if let Some(course) = existing {
        let lessons = courses
            .list_lessons(ListLessonsRequest {
                course_id: course.id.clone(),
                page_size: 100,
                page_token: String::new(),
            })
            .await?
            .into_inner()
            .lessons
            .into_iter()
            .map(|lesson| lesson.id)
            .collect();
        return Ok((course.id, lessons));
    }
    demo.bar.inc_length(lessons.len() as u64 + 2);
    let course = courses
        .create_course(CreateCourseRequest {
            request_id: format!("demo-course-{school_id}-{title}"),
            school_id: school_id.to_owned(),
            title: title.to_owned(),
            description: format!("{title}: a term of lessons, sessions and practice."),
            instructor_id: instructor.id.clone(),
        })
        .await
        .with_context(|| format!("creating the course {title}"))?
        .into_inner()
        .course
        .ok_or_else(|| anyhow!("CreateCourse returned no course"))?;
    demo.bar.inc(1);
    let mut ids = Vec::new();
    for (position, lesson) in lessons.iter().enumerate() {
        let added = courses
            .add_lesson(AddLessonRequest {
                request_id: format!("demo-lesson-{}-{position}", course.id),
                course_id: course.id.clone(),
                title: (*lesson).to_owned(),
                content: format!("{lesson}: notes, examples and exercises."),
                position: None,
            })
            .await
            .with_context(|| format!("adding the lesson {lesson}"))?
            .into_inner()
            .lesson
            .ok_or_else(|| anyhow!("AddLesson returned no lesson"))?;
        ids.push(added.id);
        demo.bar.inc(1);
    }
    let version = courses
        .get_course(campus_proto::courses::GetCourseRequest {
            course_id: course.id.clone(),
        })
        .await?
        .into_inner()
        .course
        .map_or(course.version, |course| course.version);
    courses
        .publish_course(PublishCourseRequest {
            course_id: course.id.clone(),
            version,
        })
        .await
        .with_context(|| format!("publishing {title}"))?;
    demo.bar.inc(1);
    Ok((course.id, ids))
}

/// Mondays and Thursdays of the term's weeks, up to today.
fn session_dates(today: Date) -> Vec<Date> {
    let monday = today - Days::days(i64::from(today.weekday().number_days_from_monday()));
    let first = monday - Days::weeks(TERM_WEEKS - 1);
    (0..TERM_WEEKS)
        .flat_map(|week| {
            let start = first + Days::weeks(week);
            [start, start + Days::days(3)]
        })
        .filter(|date| {
            *date <= today && matches!(date.weekday(), Weekday::Monday | Weekday::Thursday)
        })
        .collect()
}

/// The course's sessions of the term, each with every learner marked. A course that has
/// sessions already keeps them: the term was laid out by an earlier run.
async fn attendance(
    demo: &Demo,
    course: &Course,
    dates: &[Date],
    reliability: &HashMap<String, f64>,
    rng: &mut fastrand::Rng,
) -> anyhow::Result<()> {
    let mut progress = ProgressServiceClient::new(course.instructor.channel.clone());
    let existing = progress
        .list_attendance_sessions(ListAttendanceSessionsRequest {
            course_id: course.id.clone(),
            page_size: 1,
            ..ListAttendanceSessionsRequest::default()
        })
        .await?
        .into_inner()
        .sessions;
    if !existing.is_empty() {
        return Ok(());
    }
    demo.bar.inc_length(dates.len() as u64 * 2);
    let mut sessions = Vec::new();
    for date in dates {
        let created = progress
            .create_attendance_session(CreateAttendanceSessionRequest {
                request_id: format!("demo-session-{}-{date}", course.id),
                course_id: course.id.clone(),
                title: format!("{} class", date.weekday()),
                session_date: date.to_string(),
                starts_at: Some(at(*date, 9 * 60)),
                ends_at: Some(at(*date, 9 * 60 + 50)),
            })
            .await
            .with_context(|| format!("creating the session of {date}"))?
            .into_inner()
            .session
            .ok_or_else(|| anyhow!("CreateAttendanceSession returned no session"))?;
        demo.bar.inc(1);
        let marks = course
            .learners
            .iter()
            .map(|learner| StudentMark {
                student_id: learner.clone(),
                status: mark(rng, reliability.get(learner).copied().unwrap_or(0.9)) as i32,
                note: String::new(),
            })
            .collect();
        sessions.push((created.id, marks));
    }
    demo.all(sessions.into_iter().map(|(session_id, marks)| {
        let mut progress = progress.clone();
        async move {
            progress
                .batch_mark_attendance(BatchMarkAttendanceRequest {
                    request_id: format!("demo-marks-{session_id}"),
                    session_id,
                    marks,
                })
                .await
                .context("marking attendance")?;
            Ok(())
        }
    }))
    .await?;
    Ok(())
}

/// `minutes` after midnight (UTC) on `date`.
fn at(date: Date, minutes: i64) -> prost_types::Timestamp {
    let seconds = date.midnight().assume_utc().unix_timestamp() + minutes * 60;
    campus_runtime::api::timestamp(seconds * 1_000_000)
}

/// A mark for a learner who comes with probability `reliability`: present mostly, late
/// sometimes; when absent, excused one time in five.
fn mark(rng: &mut fastrand::Rng, reliability: f64) -> AttendanceStatus {
    let roll = rng.f64();
    if roll < reliability * 0.93 {
        AttendanceStatus::Present
    } else if roll < reliability {
        AttendanceStatus::Late
    } else if rng.f64() < 0.2 {
        AttendanceStatus::Excused
    } else {
        AttendanceStatus::Absent
    }
}

/// Lessons completed so far by each learner: the term is half over, and diligent learners
/// are ahead.
async fn progress(
    demo: &Demo,
    course: &Course,
    reliability: &HashMap<String, f64>,
) -> anyhow::Result<()> {
    let lessons = course.lessons.len() as f64;
    let calls: Vec<(String, String)> = course
        .learners
        .iter()
        .flat_map(|learner| {
            let share = reliability.get(learner).copied().unwrap_or(0.9);
            let done = ((share - 0.45) * 1.3 * lessons).round().clamp(0.0, lessons) as usize;
            course
                .lessons
                .iter()
                .take(done)
                .map(move |lesson| (learner.clone(), lesson.clone()))
        })
        .collect();
    demo.bar.inc_length(calls.len() as u64);
    demo.all(calls.into_iter().map(|(learner, lesson)| {
        let mut progress = ProgressServiceClient::new(course.instructor.channel.clone());
        let course_id = course.id.clone();
        async move {
            progress
                .record_lesson_progress(RecordLessonProgressRequest {
                    request_id: format!("demo-progress-{learner}-{lesson}"),
                    user_id: learner,
                    course_id,
                    lesson_id: lesson,
                    state: LessonProgressState::Completed as i32,
                })
                .await
                .context("recording lesson progress")?;
            Ok(())
        }
    }))
    .await?;
    Ok(())
}

/// A year of a learner's money: a part-time wage, rent, food, transport and fun, with
/// budgets. Skipped when the learner has accounts already.
async fn finance(
    demo: &Demo,
    channel: &Authed,
    email: &str,
    today: Date,
    rng: &mut fastrand::Rng,
) -> anyhow::Result<()> {
    let mut finance = FinanceServiceClient::new(channel.clone());
    let accounts = finance
        .list_accounts(ListAccountsRequest::default())
        .await?
        .into_inner()
        .accounts;
    if !accounts.is_empty() {
        return Ok(());
    }
    let currency = "EUR";
    let account = finance
        .create_account(CreateAccountRequest {
            request_id: format!("demo-account-{email}"),
            name: "Current account".into(),
            kind: AccountKind::Bank as i32,
            currency: currency.into(),
            opening_balance_minor: 50_000,
        })
        .await?
        .into_inner()
        .account
        .ok_or_else(|| anyhow!("CreateAccount returned no account"))?;
    let categories = [
        ("Wages", TransactionKind::Income, 0),
        ("Rent", TransactionKind::Expense, 45_000),
        ("Food", TransactionKind::Expense, 25_000),
        ("Transport", TransactionKind::Expense, 6_000),
        ("Fun", TransactionKind::Expense, 8_000),
    ];
    let mut ids = Vec::new();
    for (name, kind, budget) in categories {
        let created = finance
            .create_category(CreateCategoryRequest {
                request_id: format!("demo-category-{email}-{name}"),
                name: name.into(),
                kind: kind as i32,
            })
            .await;
        let id = match created {
            Ok(answer) => {
                answer
                    .into_inner()
                    .category
                    .ok_or_else(|| anyhow!("CreateCategory returned no category"))?
                    .id
            }
            Err(status) if status.code() == Code::AlreadyExists => {
                finance
                    .list_categories(ListCategoriesRequest::default())
                    .await?
                    .into_inner()
                    .categories
                    .into_iter()
                    .find(|category| category.name == name)
                    .ok_or_else(|| anyhow!("the category {name} exists but is not listed"))?
                    .id
            }
            Err(status) => return Err(status).context("creating a category"),
        };
        if budget > 0 {
            finance
                .set_budget(SetBudgetRequest {
                    category_id: id.clone(),
                    monthly_limit: Some(Money {
                        amount_minor: budget,
                        currency: currency.into(),
                    }),
                })
                .await
                .context("setting a budget")?;
        }
        ids.push((id, kind));
    }
    let mut rows = Vec::new();
    let start = today - Days::days(364);
    for day in 0..365 {
        let date = start + Days::days(day);
        let mut add = |category: usize, amount: i64, description: &str| {
            if let Some((id, kind)) = ids.get(category) {
                rows.push((date, id.clone(), *kind, amount, description.to_owned()));
            }
        };
        if date.day() == 1 {
            add(0, 95_000 + rng.i64(0..10_000), "Part-time wage");
            add(1, 45_000, "Rent");
        }
        if date.weekday() == Weekday::Saturday {
            add(2, 3_500 + rng.i64(0..3_000), "Groceries");
        }
        if date.weekday() == Weekday::Monday {
            add(3, 1_200 + rng.i64(0..600), "Bus pass top-up");
        }
        if rng.f64() < 0.08 {
            add(4, 1_000 + rng.i64(0..4_000), "Cinema and friends");
        }
    }
    demo.bar.inc_length(rows.len() as u64);
    demo.all(rows.into_iter().enumerate().map(
        |(n, (date, category, kind, amount, description))| {
            let mut finance = finance.clone();
            let account_id = account.id.clone();
            async move {
                finance
                    .create_transaction(CreateTransactionRequest {
                        idempotency_key: format!("demo-{account_id}-{n}"),
                        account_id,
                        category_id: category,
                        kind: kind as i32,
                        amount: Some(Money {
                            amount_minor: amount,
                            currency: currency.into(),
                        }),
                        description,
                        occurred_at: Some(at(date, 12 * 60)),
                    })
                    .await
                    .context("creating a transaction")?;
                Ok(())
            }
        },
    ))
    .await?;
    Ok(())
}

/// A first and last name for learner `n`, from short lists.
fn learner_name(n: usize) -> (&'static str, &'static str) {
    const FIRST: [&str; 24] = [
        "Ada", "Ben", "Chloe", "Dev", "Ella", "Finn", "Grace", "Hugo", "Isla", "Jon", "Kira",
        "Leo", "Maya", "Noah", "Olive", "Priya", "Quinn", "Rosa", "Sam", "Tara", "Umar", "Vera",
        "Wes", "Yara",
    ];
    const LAST: [&str; 20] = [
        "Adams", "Baker", "Costa", "Dubois", "Evans", "Fischer", "Garcia", "Hansen", "Ito",
        "Jones", "Khan", "Larsen", "Moreau", "Novak", "Owens", "Patel", "Rossi", "Silva", "Tanaka",
        "Weber",
    ];
    (
        FIRST[n % FIRST.len()],
        LAST[(n / FIRST.len() + n * 7) % LAST.len()],
    )
}
