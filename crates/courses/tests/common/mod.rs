//! Set-up shared by the courses service's tests: schools, people with roles, and courses.

#![allow(dead_code, unreachable_pub, unused_imports)]

use campus_proto::{
    courses::{
        Course, CreateCourseRequest, PublishCourseRequest,
        courses_service_client::CoursesServiceClient,
    },
    users::{
        CreateSchoolRequest, CreateUserRequest, Role, School, User,
        users_service_client::UsersServiceClient,
    },
};
use campus_testkit::{AuthedChannel, CampusOptions, TestCampus};
use tonic_health::pb::health_check_response::ServingStatus;

pub type Error = campus_testkit::Error;

const PASSWORD: &str = "a long enough password";

/// A person of a school with their token.
#[derive(Debug, Clone)]
pub struct Person {
    pub user: User,
    pub token: String,
}

pub async fn courses_as(
    campus: &TestCampus,
    token: &str,
) -> Result<CoursesServiceClient<AuthedChannel>, Error> {
    Ok(CoursesServiceClient::new(campus.channel_as(token).await?))
}

pub async fn school(campus: &TestCampus, slug: &str) -> Result<School, Error> {
    let admin = campus.platform_admin_token().await?;
    Ok(UsersServiceClient::new(campus.channel_as(&admin).await?)
        .create_school(CreateSchoolRequest {
            request_id: String::new(),
            name: format!("School {slug}"),
            slug: slug.to_owned(),
            self_sign_up_enabled: false,
        })
        .await?
        .into_inner()
        .school
        .ok_or("no school")?)
}

pub async fn person(
    campus: &TestCampus,
    school: &School,
    email: &str,
    role: Role,
) -> Result<Person, Error> {
    let admin = campus.platform_admin_token().await?;
    let user = UsersServiceClient::new(campus.channel_as(&admin).await?)
        .create_user(CreateUserRequest {
            request_id: String::new(),
            school_id: school.id.clone(),
            email: email.to_owned(),
            display_name: format!("Display {}", email.split('@').next().unwrap_or("x")),
            roles: vec![role as i32],
            initial_password: PASSWORD.to_owned(),
        })
        .await?
        .into_inner()
        .user
        .ok_or("no user")?;
    let token = campus.login(&school.id, email, PASSWORD).await?;
    Ok(Person { user, token })
}

/// Creates and publishes a course taught by `instructor`.
pub async fn published_course(
    campus: &TestCampus,
    instructor: &Person,
    title: &str,
) -> Result<Course, Error> {
    let mut courses = courses_as(campus, &instructor.token).await?;
    let draft = courses
        .create_course(CreateCourseRequest {
            request_id: String::new(),
            school_id: instructor.user.school_id.clone(),
            title: title.to_owned(),
            description: format!("About {title}"),
            instructor_id: String::new(),
        })
        .await?
        .into_inner()
        .course
        .ok_or("no course")?;
    Ok(courses
        .publish_course(PublishCourseRequest {
            course_id: draft.id,
            version: draft.version,
        })
        .await?
        .into_inner()
        .course
        .ok_or("no course")?)
}

pub use campus_testkit::code;

/// A courses-only server on `main`'s database, using `main` for users and `progress_addr` for
/// progress, with more flags in `args`; returns once it reports SERVING.
pub async fn courses_server(
    main: &TestCampus,
    progress_addr: &str,
    args: &[&str],
) -> Result<TestCampus, Error> {
    let mut flags = vec![
        "--users-addr".to_owned(),
        main.url(),
        "--progress-addr".to_owned(),
        progress_addr.to_owned(),
    ];
    flags.extend(args.iter().map(|arg| (*arg).to_owned()));
    let campus = TestCampus::start(CampusOptions {
        role: "courses",
        database_url: Some(main.database_url().to_owned()),
        args: flags,
        ..CampusOptions::default()
    })
    .await?;
    campus
        .wait_for_status("campus.courses.v1.CoursesService", ServingStatus::Serving)
        .await?;
    Ok(campus)
}
