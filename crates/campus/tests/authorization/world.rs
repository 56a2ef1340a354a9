//! The people and data every row of the policy table acts on: school A with two courses (each
//! with its instructor, an enrolled learner, a lesson, a class session with a mark, progress),
//! school B with one, an admin of each school, a platform admin, and every person's own money
//! (two accounts, a category with a budget, a transaction, a transfer).

use std::sync::atomic::{AtomicU64, Ordering};

use campus_proto::{
    courses::{
        AddLessonRequest, CreateCourseRequest, EnrollRequest, PublishCourseRequest,
        courses_service_client::CoursesServiceClient,
    },
    finance::{
        AccountKind, CreateAccountRequest, CreateCategoryRequest, CreateTransactionRequest,
        CreateTransferRequest, Money, SetBudgetRequest, TransactionKind,
        finance_service_client::FinanceServiceClient,
    },
    progress::{
        AttendanceStatus, CreateAttendanceSessionRequest, LessonProgressState,
        MarkAttendanceRequest, RecordLessonProgressRequest, StudentMark,
        progress_service_client::ProgressServiceClient,
    },
    users::{
        CreateSchoolRequest, CreateUserRequest, LoginRequest, Role,
        users_service_client::UsersServiceClient,
    },
};
use campus_testkit::{Error, PLATFORM_ADMIN_EMAIL, PLATFORM_ADMIN_PASSWORD, TestCampus};
use tonic::{
    Request, Status,
    metadata::{Ascii, MetadataValue},
    service::{Interceptor, interceptor::InterceptedService},
    transport::Channel,
};

use crate::policy::{Principal, Target};

/// The password of every person the world creates.
pub(crate) const PASSWORD: &str = "a long enough password";

/// The day the world's class sessions meet, and a range of dates around it.
pub(crate) const SESSION_DATE: &str = "2026-11-02";
/// First day of the date ranges the calls ask for.
pub(crate) const RANGE_START: &str = "2026-10-01";
/// Last day of the date ranges the calls ask for.
pub(crate) const RANGE_END: &str = "2026-12-31";

/// A channel that sends `authorization: Bearer …` when it has a token and nothing otherwise,
/// so anonymous and signed-in calls share one client type.
pub(crate) type Wire = InterceptedService<Channel, MaybeBearer>;

/// The optional bearer header of a [`Wire`].
#[derive(Debug, Clone)]
pub(crate) struct MaybeBearer(Option<MetadataValue<Ascii>>);

impl Interceptor for MaybeBearer {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(value) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}

/// A person's own money: what finance rows look for.
#[derive(Debug, Clone, Default)]
pub(crate) struct Wallet {
    /// An open account with one transaction and one transfer out.
    pub(crate) account_id: String,
    /// The account the transfer went to.
    pub(crate) second_account_id: String,
    /// An expense category with a budget.
    pub(crate) category_id: String,
    /// The transaction on `account_id`.
    pub(crate) transaction_id: String,
    /// The transfer from `account_id` to `second_account_id`.
    pub(crate) transfer_id: String,
}

/// A signed-in person of the world.
#[derive(Debug, Clone)]
pub(crate) struct Person {
    /// User id.
    pub(crate) id: String,
    /// School id; empty for the platform admin.
    pub(crate) school_id: String,
    /// Login email.
    pub(crate) email: String,
    /// Password.
    pub(crate) password: String,
    /// Roles, to make look-alikes of.
    pub(crate) roles: Vec<Role>,
    /// A current access token.
    pub(crate) token: String,
    /// Their own money.
    pub(crate) wallet: Wallet,
}

/// A published course of a school with its instructor, an enrolled learner, a lesson the
/// learner started, and a class session the learner is marked present in.
#[derive(Debug, Clone)]
pub(crate) struct Bundle {
    /// The school.
    pub(crate) school_id: String,
    /// The course's instructor.
    pub(crate) instructor: Person,
    /// The learner enrolled in the course.
    pub(crate) learner: Person,
    /// The course.
    pub(crate) course_id: String,
    /// A lesson of the course.
    pub(crate) lesson_id: String,
    /// A class session of the course.
    pub(crate) session_id: String,
}

/// What a row acts on: the person whose own data a user-level call names, and the course
/// bundle a course-level call names.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Subject<'w> {
    /// The principal themself for [`Target::Own`], else the bundle's learner.
    pub(crate) user: &'w Person,
    /// The course data the call names.
    pub(crate) bundle: &'w Bundle,
}

/// How rows reach the server and set things up: one channel, the platform admin's token.
pub(crate) struct Setup {
    channel: Channel,
    platform_token: String,
    unique: AtomicU64,
}

/// Everything the table's rows act on, and the server they call.
pub(crate) struct World {
    /// How rows set things up.
    pub(crate) setup: Setup,
    /// The platform admin, who also sets rows up.
    pub(crate) platform: Person,
    /// School A's admin.
    pub(crate) school_admin: Person,
    /// School B's admin.
    pub(crate) other_school_admin: Person,
    /// School A's first course (taught by the table's instructor, the table's learner enrolled).
    pub a1: Bundle,
    /// School A's second course (the other instructor's, the other learner enrolled).
    pub a2: Bundle,
    /// School B's course.
    pub(crate) b: Bundle,
}

impl World {
    /// Creates the world through the API, as the platform admin and each person.
    pub(crate) async fn build(campus: &TestCampus) -> Result<Self, Error> {
        let platform_token = campus.platform_admin_token().await?;
        let setup = Setup {
            channel: campus.channel().await?,
            platform_token,
            unique: AtomicU64::new(0),
        };
        let (token, _, id) = setup
            .login_with("", PLATFORM_ADMIN_EMAIL, PLATFORM_ADMIN_PASSWORD)
            .await?;
        let platform = Person {
            id,
            school_id: String::new(),
            email: PLATFORM_ADMIN_EMAIL.to_owned(),
            password: PLATFORM_ADMIN_PASSWORD.to_owned(),
            roles: vec![Role::PlatformAdmin],
            wallet: setup.wallet(&token).await?,
            token,
        };
        let school_a = setup.school("a").await?;
        let school_b = setup.school("b").await?;
        Ok(Self {
            school_admin: setup.person_in(&school_a, &[Role::SchoolAdmin]).await?,
            other_school_admin: setup.person_in(&school_b, &[Role::SchoolAdmin]).await?,
            a1: setup.bundle(&school_a).await?,
            a2: setup.bundle(&school_a).await?,
            b: setup.bundle(&school_b).await?,
            platform,
            setup,
        })
    }

    /// The person acting as `principal`; `None` for the anonymous caller.
    pub(crate) fn person(&self, principal: Principal) -> Option<&Person> {
        match principal {
            Principal::Anonymous => None,
            Principal::Learner => Some(&self.a1.learner),
            Principal::OtherLearner => Some(&self.a2.learner),
            Principal::Instructor => Some(&self.a1.instructor),
            Principal::OtherInstructor => Some(&self.a2.instructor),
            Principal::SchoolAdmin => Some(&self.school_admin),
            Principal::OtherSchoolAdmin => Some(&self.other_school_admin),
            Principal::PlatformAdmin => Some(&self.platform),
        }
    }

    /// What a row of `principal` on `target` acts on. Own: the principal's own data and the
    /// course they take or teach (school A's first course for admins of A and the platform,
    /// school B's for B's admin). Same school: a course of the principal's school that is not
    /// theirs, with its learner. Other school: B's course for everyone but B's admin, A's
    /// first for them. `None` for the anonymous caller's own data, which does not exist.
    pub(crate) fn subject(&self, principal: Principal, target: Target) -> Option<Subject<'_>> {
        use Principal::{Instructor, Learner, OtherInstructor, OtherLearner, OtherSchoolAdmin};
        let bundle = match (target, principal) {
            (Target::Own, Learner | Instructor) => &self.a1,
            (Target::Own, OtherLearner | OtherInstructor) => &self.a2,
            (Target::Own | Target::SameSchool, OtherSchoolAdmin) => &self.b,
            (Target::Own, _) => &self.a1,
            (Target::SameSchool, Learner | Instructor) => &self.a2,
            (Target::SameSchool, _) => &self.a1,
            (Target::OtherSchool, OtherSchoolAdmin) => &self.a1,
            (Target::OtherSchool, _) => &self.b,
        };
        let user = match target {
            Target::Own => self.person(principal)?,
            Target::SameSchool | Target::OtherSchool => &bundle.learner,
        };
        Some(Subject { user, bundle })
    }
}

impl Setup {
    /// A number no other call of this run has used, for unique names and request ids.
    pub(crate) fn unique(&self) -> u64 {
        self.unique.fetch_add(1, Ordering::Relaxed)
    }

    /// A channel carrying `token`, or none.
    pub(crate) fn wire(&self, token: Option<&str>) -> Result<Wire, Error> {
        let header = token
            .map(|token| format!("Bearer {token}").parse())
            .transpose()?;
        Ok(InterceptedService::new(
            self.channel.clone(),
            MaybeBearer(header),
        ))
    }

    /// A channel carrying the platform admin's token: how rows set things up.
    pub(crate) fn setup(&self) -> Result<Wire, Error> {
        self.wire(Some(&self.platform_token))
    }

    /// A look-alike of `person`: a new user of the same school and roles, signed in, for rows
    /// whose call ends the caller's sessions or account.
    pub(crate) async fn look_alike(&self, person: &Person) -> Result<Person, Error> {
        self.person_in(&person.school_id, &person.roles).await
    }

    /// A new learner of `school_id`, signed in.
    pub(crate) async fn new_learner(&self, school_id: &str) -> Result<Person, Error> {
        self.person_in(school_id, &[Role::Student]).await
    }

    /// Logs `email` in and returns the access token.
    pub(crate) async fn login(&self, school_id: &str, email: &str) -> Result<String, Error> {
        Ok(self.login_pair(school_id, email).await?.0)
    }

    /// Logs `email` in and returns the access and refresh tokens and the user's id.
    pub(crate) async fn login_pair(
        &self,
        school_id: &str,
        email: &str,
    ) -> Result<(String, String, String), Error> {
        self.login_with(school_id, email, PASSWORD).await
    }

    /// Logs `email` in with `password`; the access and refresh tokens and the user's id.
    pub(crate) async fn login_with(
        &self,
        school_id: &str,
        email: &str,
        password: &str,
    ) -> Result<(String, String, String), Error> {
        let answer = UsersServiceClient::new(self.wire(None)?)
            .login(LoginRequest {
                school_id: school_id.to_owned(),
                email: email.to_owned(),
                password: password.to_owned(),
            })
            .await?
            .into_inner();
        let tokens = answer.tokens.ok_or("login returned no tokens")?;
        let user = answer.user.ok_or("login returned no user")?;
        Ok((tokens.access_token, tokens.refresh_token, user.id))
    }

    /// A published course of `school_id` taught by `instructor_id`, or a draft.
    pub(crate) async fn course(
        &self,
        school_id: &str,
        instructor_id: &str,
        published: bool,
    ) -> Result<String, Error> {
        let mut courses = CoursesServiceClient::new(self.setup()?);
        let course = courses
            .create_course(CreateCourseRequest {
                request_id: format!("world-{}", self.unique()),
                school_id: school_id.to_owned(),
                title: format!("Course {}", self.unique()),
                description: "What the table's rows act on.".to_owned(),
                instructor_id: instructor_id.to_owned(),
            })
            .await?
            .into_inner()
            .course
            .ok_or("no course")?;
        if published {
            courses
                .publish_course(PublishCourseRequest {
                    course_id: course.id.clone(),
                    version: course.version,
                })
                .await?;
        }
        Ok(course.id)
    }

    /// A new lesson of `course_id`.
    pub(crate) async fn lesson(&self, course_id: &str) -> Result<String, Error> {
        Ok(CoursesServiceClient::new(self.setup()?)
            .add_lesson(AddLessonRequest {
                request_id: format!("world-{}", self.unique()),
                course_id: course_id.to_owned(),
                title: format!("Lesson {}", self.unique()),
                content: "Read this.".to_owned(),
                position: None,
            })
            .await?
            .into_inner()
            .lesson
            .ok_or("no lesson")?
            .id)
    }

    /// A new open account of the person holding `token`, opened with `opening_balance_minor`.
    pub(crate) async fn account(
        &self,
        token: &str,
        opening_balance_minor: i64,
    ) -> Result<String, Error> {
        Ok(FinanceServiceClient::new(self.wire(Some(token))?)
            .create_account(CreateAccountRequest {
                request_id: format!("world-{}", self.unique()),
                name: format!("Account {}", self.unique()),
                kind: AccountKind::Cash as i32,
                currency: "EUR".to_owned(),
                opening_balance_minor,
            })
            .await?
            .into_inner()
            .account
            .ok_or("no account")?
            .id)
    }

    /// A new expense of 12.50 EUR on `account_id` in `category_id`, by the account's owner.
    pub(crate) async fn transaction(
        &self,
        token: &str,
        account_id: &str,
        category_id: &str,
    ) -> Result<String, Error> {
        Ok(FinanceServiceClient::new(self.wire(Some(token))?)
            .create_transaction(CreateTransactionRequest {
                idempotency_key: format!("world-{}", self.unique()),
                account_id: account_id.to_owned(),
                category_id: category_id.to_owned(),
                kind: TransactionKind::Expense as i32,
                amount: Some(euros(1250)),
                description: "Books".to_owned(),
                occurred_at: Some(prost_types::Timestamp {
                    seconds: 1_793_000_000,
                    nanos: 0,
                }),
            })
            .await?
            .into_inner()
            .transaction
            .ok_or("no transaction")?
            .id)
    }

    async fn school(&self, name: &str) -> Result<String, Error> {
        Ok(UsersServiceClient::new(self.setup()?)
            .create_school(CreateSchoolRequest {
                request_id: format!("world-{}", self.unique()),
                name: format!("School {name}"),
                slug: format!("school-{name}"),
                self_sign_up_enabled: true,
            })
            .await?
            .into_inner()
            .school
            .ok_or("no school")?
            .id)
    }

    async fn create_user(
        &self,
        school_id: &str,
        email: &str,
        roles: &[Role],
    ) -> Result<String, Error> {
        Ok(UsersServiceClient::new(self.setup()?)
            .create_user(CreateUserRequest {
                request_id: format!("world-{}", self.unique()),
                school_id: school_id.to_owned(),
                email: email.to_owned(),
                display_name: email.split('@').next().unwrap_or("someone").to_owned(),
                roles: roles.iter().map(|role| *role as i32).collect(),
                initial_password: PASSWORD.to_owned(),
            })
            .await?
            .into_inner()
            .user
            .ok_or("no user")?
            .id)
    }

    /// A new signed-in user of `school_id` (none for a platform admin) with `roles` and
    /// their own money.
    pub(crate) async fn person_in(&self, school_id: &str, roles: &[Role]) -> Result<Person, Error> {
        let email = format!("person-{}@campus.test", self.unique());
        let id = self.create_user(school_id, &email, roles).await?;
        let token = self.login(school_id, &email).await?;
        let wallet = self.wallet(&token).await?;
        Ok(Person {
            id,
            school_id: school_id.to_owned(),
            email,
            password: PASSWORD.to_owned(),
            roles: roles.to_vec(),
            token,
            wallet,
        })
    }

    /// Two accounts, a category with a budget, a transaction and a transfer of `token`'s owner.
    async fn wallet(&self, token: &str) -> Result<Wallet, Error> {
        let mut finance = FinanceServiceClient::new(self.wire(Some(token))?);
        let account_id = self.account(token, 100_000).await?;
        let second_account_id = self.account(token, 0).await?;
        let category_id = finance
            .create_category(CreateCategoryRequest {
                request_id: format!("world-{}", self.unique()),
                name: format!("Books {}", self.unique()),
                kind: TransactionKind::Expense as i32,
            })
            .await?
            .into_inner()
            .category
            .ok_or("no category")?
            .id;
        finance
            .set_budget(SetBudgetRequest {
                category_id: category_id.clone(),
                monthly_limit: Some(euros(20_000)),
            })
            .await?;
        let transaction_id = self.transaction(token, &account_id, &category_id).await?;
        let transfer_id = finance
            .create_transfer(CreateTransferRequest {
                idempotency_key: format!("world-{}", self.unique()),
                from_account_id: account_id.clone(),
                to_account_id: second_account_id.clone(),
                amount: Some(euros(500)),
                description: "Savings".to_owned(),
                occurred_at: Some(prost_types::Timestamp {
                    seconds: 1_793_000_000,
                    nanos: 0,
                }),
            })
            .await?
            .into_inner()
            .transfer
            .ok_or("no transfer")?
            .id;
        Ok(Wallet {
            account_id,
            second_account_id,
            category_id,
            transaction_id,
            transfer_id,
        })
    }

    /// A published course of `school_id` with a new instructor and an enrolled learner who
    /// started its lesson and was marked present in its class session.
    async fn bundle(&self, school_id: &str) -> Result<Bundle, Error> {
        let instructor = self.person_in(school_id, &[Role::Instructor]).await?;
        let learner = self.person_in(school_id, &[Role::Student]).await?;
        let course_id = self.course(school_id, &instructor.id, true).await?;
        let lesson_id = self.lesson(&course_id).await?;
        CoursesServiceClient::new(self.setup()?)
            .enroll(EnrollRequest {
                course_id: course_id.clone(),
                user_id: learner.id.clone(),
            })
            .await?;
        let mut progress = ProgressServiceClient::new(self.setup()?);
        progress
            .record_lesson_progress(RecordLessonProgressRequest {
                request_id: format!("world-{}", self.unique()),
                user_id: learner.id.clone(),
                course_id: course_id.clone(),
                lesson_id: lesson_id.clone(),
                state: LessonProgressState::Started as i32,
            })
            .await?;
        let session_id = self.session(&course_id).await?;
        progress
            .mark_attendance(MarkAttendanceRequest {
                request_id: format!("world-{}", self.unique()),
                session_id: session_id.clone(),
                mark: Some(StudentMark {
                    student_id: learner.id.clone(),
                    status: AttendanceStatus::Present as i32,
                    note: String::new(),
                }),
            })
            .await?;
        Ok(Bundle {
            school_id: school_id.to_owned(),
            instructor,
            learner,
            course_id,
            lesson_id,
            session_id,
        })
    }

    /// A new class session of `course_id` on [`SESSION_DATE`].
    pub(crate) async fn session(&self, course_id: &str) -> Result<String, Error> {
        Ok(ProgressServiceClient::new(self.setup()?)
            .create_attendance_session(session_request(course_id, self.unique()))
            .await?
            .into_inner()
            .session
            .ok_or("no session")?
            .id)
    }
}

/// A request for a class session of `course_id` on [`SESSION_DATE`], 09:00 to 10:00 UTC.
pub(crate) fn session_request(course_id: &str, unique: u64) -> CreateAttendanceSessionRequest {
    CreateAttendanceSessionRequest {
        request_id: format!("session-{unique}"),
        course_id: course_id.to_owned(),
        title: format!("Session {unique}"),
        session_date: SESSION_DATE.to_owned(),
        starts_at: Some(prost_types::Timestamp {
            seconds: 1_793_610_000,
            nanos: 0,
        }),
        ends_at: Some(prost_types::Timestamp {
            seconds: 1_793_613_600,
            nanos: 0,
        }),
    }
}

/// `minor` cents of euros.
pub(crate) fn euros(minor: i64) -> Money {
    Money {
        amount_minor: minor,
        currency: "EUR".to_owned(),
    }
}
