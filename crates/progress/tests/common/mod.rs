//! A class to test with: a school, its admin, an instructor, students, and a published course
//! with lessons that every student is enrolled in, once progress has heard of it all.

#![allow(dead_code, unreachable_pub, unused_imports)]

use std::time::Duration;

use campus_proto::{
    courses::{
        AddLessonRequest, CreateCourseRequest, EnrollRequest, PublishCourseRequest,
        courses_service_client::CoursesServiceClient,
    },
    progress::{GetCourseProgressRequest, progress_service_client::ProgressServiceClient},
    users::{
        CreateSchoolRequest, CreateUserRequest, Role, users_service_client::UsersServiceClient,
    },
};
use campus_testkit::{AuthedChannel, TestCampus};

pub type Error = campus_testkit::Error;

const PASSWORD: &str = "a long enough password";

/// A person and their token.
#[derive(Debug, Clone)]
pub struct Person {
    pub id: String,
    pub token: String,
}

/// A school with a course and its people.
#[derive(Debug, Clone)]
pub struct Class {
    pub school_id: String,
    pub course_id: String,
    pub lesson_ids: Vec<String>,
    pub admin: Person,
    pub instructor: Person,
    pub students: Vec<Person>,
}

pub async fn progress_as(
    campus: &TestCampus,
    token: &str,
) -> Result<ProgressServiceClient<AuthedChannel>, Error> {
    Ok(ProgressServiceClient::new(campus.channel_as(token).await?))
}

/// A new user of the school with one role, signed in.
pub async fn person(
    campus: &TestCampus,
    admin_token: &str,
    school_id: &str,
    email: &str,
    role: Role,
) -> Result<Person, Error> {
    let user = UsersServiceClient::new(campus.channel_as(admin_token).await?)
        .create_user(CreateUserRequest {
            request_id: String::new(),
            school_id: school_id.to_owned(),
            email: email.to_owned(),
            display_name: email.to_owned(),
            roles: vec![role as i32],
            initial_password: PASSWORD.to_owned(),
        })
        .await?
        .into_inner()
        .user
        .ok_or("no user")?;
    Ok(Person {
        token: campus.login(school_id, email, PASSWORD).await?,
        id: user.id,
    })
}

/// Builds the class and waits until progress knows every enrolment.
pub async fn class(
    campus: &TestCampus,
    slug: &str,
    students: usize,
    lessons: usize,
) -> Result<Class, Error> {
    let platform = campus.platform_admin_token().await?;
    let school = UsersServiceClient::new(campus.channel_as(&platform).await?)
        .create_school(CreateSchoolRequest {
            request_id: String::new(),
            name: format!("School {slug}"),
            slug: slug.to_owned(),
            self_sign_up_enabled: false,
        })
        .await?
        .into_inner()
        .school
        .ok_or("no school")?;
    let admin = person(
        campus,
        &platform,
        &school.id,
        &format!("admin@{slug}.example"),
        Role::SchoolAdmin,
    )
    .await?;
    let instructor = person(
        campus,
        &platform,
        &school.id,
        &format!("teacher@{slug}.example"),
        Role::Instructor,
    )
    .await?;
    let mut people = Vec::new();
    for n in 0..students {
        people.push(
            person(
                campus,
                &platform,
                &school.id,
                &format!("student{n:03}@{slug}.example"),
                Role::Student,
            )
            .await?,
        );
    }
    let mut courses = CoursesServiceClient::new(campus.channel_as(&instructor.token).await?);
    let course = courses
        .create_course(CreateCourseRequest {
            school_id: school.id.clone(),
            title: format!("Course of {slug}"),
            ..CreateCourseRequest::default()
        })
        .await?
        .into_inner()
        .course
        .ok_or("no course")?;
    let mut lesson_ids = Vec::new();
    for n in 0..lessons {
        let lesson = courses
            .add_lesson(AddLessonRequest {
                course_id: course.id.clone(),
                title: format!("Lesson {n}"),
                ..AddLessonRequest::default()
            })
            .await?
            .into_inner()
            .lesson
            .ok_or("no lesson")?;
        lesson_ids.push(lesson.id);
    }
    courses
        .publish_course(PublishCourseRequest {
            course_id: course.id.clone(),
            version: course.version,
        })
        .await?;
    for student in &people {
        courses
            .enroll(EnrollRequest {
                course_id: course.id.clone(),
                user_id: student.id.clone(),
            })
            .await?;
    }
    let class = Class {
        school_id: school.id,
        course_id: course.id,
        lesson_ids,
        admin,
        instructor,
        students: people,
    };
    wait_until_known(campus, &class).await?;
    Ok(class)
}

/// Waits (up to 30 s) until progress has every student's record and the course's lessons.
pub async fn wait_until_known(campus: &TestCampus, class: &Class) -> Result<(), Error> {
    let mut progress = progress_as(campus, &class.instructor.token).await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    for student in &class.students {
        loop {
            let known = progress
                .get_course_progress(GetCourseProgressRequest {
                    user_id: student.id.clone(),
                    course_id: class.course_id.clone(),
                })
                .await
                .ok()
                .and_then(|answer| answer.into_inner().progress)
                .is_some_and(|p| p.total_lessons as usize == class.lesson_ids.len());
            if known {
                break;
            }
            if tokio::time::Instant::now() > deadline {
                return Err(format!("progress never learnt of {}", student.id).into());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    Ok(())
}

pub use campus_testkit::code;
