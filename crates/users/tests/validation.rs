//! Bad input gets a clear INVALID_ARGUMENT with field violations; duplicates are
//! ALREADY_EXISTS; retried writes answer as the first time.

mod common;

use campus_proto::users::{CreateSchoolRequest, ListUsersRequest, RegisterUserRequest, Role};
use campus_testkit::spawn_campus;
use common::{Error, PASSWORD, as_user, code, public, school, user};
use tonic::Code;
use tonic_types::StatusExt as _;

#[tokio::test]
async fn invalid_email_and_weak_password_name_their_fields() -> Result<(), Error> {
    let campus = spawn_campus().await?;
    let hill = school(&campus, "hill", true).await?;
    let status = public(&campus)
        .await?
        .register_user(RegisterUserRequest {
            request_id: String::new(),
            school_id: hill.id.clone(),
            email: "not-an-email".into(),
            password: "short".into(),
            display_name: "Ada".into(),
        })
        .await
        .err()
        .ok_or("accepted invalid input")?;
    assert_eq!(status.code(), Code::InvalidArgument);
    let bad_request = status
        .get_details_bad_request()
        .ok_or("no field violations")?;
    let mut fields: Vec<String> = bad_request
        .field_violations
        .iter()
        .map(|v| v.field.clone())
        .collect();
    fields.sort();
    assert_eq!(fields, ["email", "password"]);
    campus.shutdown().await
}

#[tokio::test]
async fn a_duplicate_email_in_a_school_already_exists() -> Result<(), Error> {
    let campus = spawn_campus().await?;
    let hill = school(&campus, "hill", true).await?;
    user(&campus, &hill, "ada@example.org", &[Role::Student]).await?;
    let duplicate = public(&campus)
        .await?
        .register_user(RegisterUserRequest {
            request_id: String::new(),
            school_id: hill.id.clone(),
            email: "ADA@example.org".into(),
            password: PASSWORD.into(),
            display_name: "Ada again".into(),
        })
        .await;
    assert_eq!(code(duplicate), Code::AlreadyExists);
    // The same email in another school is another person.
    let dale = school(&campus, "dale", false).await?;
    user(&campus, &dale, "ada@example.org", &[Role::Student]).await?;
    campus.shutdown().await
}

#[tokio::test]
async fn create_school_is_idempotent_by_request_id_and_slugs_are_unique() -> Result<(), Error> {
    let campus = spawn_campus().await?;
    let admin = campus.platform_admin_token().await?;
    let mut users = as_user(&campus, &admin).await?;
    let request = CreateSchoolRequest {
        request_id: "create-hill".into(),
        name: "Hill".into(),
        slug: "hill".into(),
        self_sign_up_enabled: false,
    };
    let first = users
        .create_school(request.clone())
        .await?
        .into_inner()
        .school
        .ok_or("no school")?;
    let retried = users
        .create_school(request.clone())
        .await?
        .into_inner()
        .school
        .ok_or("no school")?;
    assert_eq!(first, retried);
    let reused = users
        .create_school(CreateSchoolRequest {
            name: "Other".into(),
            slug: "other".into(),
            ..request.clone()
        })
        .await;
    assert_eq!(code(reused), Code::AlreadyExists);
    let same_slug = users
        .create_school(CreateSchoolRequest {
            request_id: "another".into(),
            ..request
        })
        .await;
    assert_eq!(code(same_slug), Code::AlreadyExists);
    let bad_slug = users
        .create_school(CreateSchoolRequest {
            request_id: String::new(),
            name: String::new(),
            slug: "Not A Slug".into(),
            self_sign_up_enabled: false,
        })
        .await
        .err()
        .ok_or("accepted a bad slug")?;
    assert_eq!(bad_slug.code(), Code::InvalidArgument);
    assert_eq!(
        bad_slug
            .get_details_bad_request()
            .map(|b| b.field_violations.len()),
        Some(2)
    );
    campus.shutdown().await
}

#[tokio::test]
async fn page_size_over_the_maximum_is_invalid() -> Result<(), Error> {
    let campus = spawn_campus().await?;
    let hill = school(&campus, "hill", false).await?;
    let (_, admin) = user(&campus, &hill, "head@example.org", &[Role::SchoolAdmin]).await?;
    let answer = as_user(&campus, &admin)
        .await?
        .list_users(ListUsersRequest {
            school_id: hill.id.clone(),
            page_size: 500,
            ..ListUsersRequest::default()
        })
        .await;
    assert_eq!(code(answer), Code::InvalidArgument);
    let unknown_role = as_user(&campus, &admin)
        .await?
        .list_users(ListUsersRequest {
            school_id: hill.id,
            role: 42,
            ..ListUsersRequest::default()
        })
        .await;
    assert_eq!(code(unknown_role), Code::InvalidArgument);
    campus.shutdown().await
}
