//! Set-up shared by the users service's tests: a server, an admin, schools and users.

#![allow(dead_code, unreachable_pub, unused_imports)]

use campus_proto::users::{
    CreateSchoolRequest, CreateUserRequest, LoginRequest, LoginResponse, Role, School, User,
    users_service_client::UsersServiceClient,
};
use campus_testkit::{AuthedChannel, TestCampus};
use tonic::transport::Channel;

pub type Error = campus_testkit::Error;

/// A password that passes the policy.
pub const PASSWORD: &str = "a long enough password";

pub async fn public(campus: &TestCampus) -> Result<UsersServiceClient<Channel>, Error> {
    Ok(UsersServiceClient::new(campus.channel().await?))
}

pub async fn as_user(
    campus: &TestCampus,
    token: &str,
) -> Result<UsersServiceClient<AuthedChannel>, Error> {
    Ok(UsersServiceClient::new(campus.channel_as(token).await?))
}

/// Creates a school as the platform admin.
pub async fn school(campus: &TestCampus, slug: &str, self_sign_up: bool) -> Result<School, Error> {
    let admin = campus.platform_admin_token().await?;
    let school = as_user(campus, &admin)
        .await?
        .create_school(CreateSchoolRequest {
            request_id: String::new(),
            name: format!("School {slug}"),
            slug: slug.to_owned(),
            self_sign_up_enabled: self_sign_up,
        })
        .await?
        .into_inner()
        .school
        .ok_or("no school")?;
    Ok(school)
}

/// Creates a user in `school` with `roles` as the platform admin, logs them in, and returns
/// the user and their access token.
pub async fn user(
    campus: &TestCampus,
    school: &School,
    email: &str,
    roles: &[Role],
) -> Result<(User, String), Error> {
    let admin = campus.platform_admin_token().await?;
    let user = as_user(campus, &admin)
        .await?
        .create_user(CreateUserRequest {
            request_id: String::new(),
            school_id: school.id.clone(),
            email: email.to_owned(),
            display_name: email.split('@').next().unwrap_or("user").to_owned(),
            roles: roles.iter().map(|role| *role as i32).collect(),
            initial_password: PASSWORD.to_owned(),
        })
        .await?
        .into_inner()
        .user
        .ok_or("no user")?;
    let token = campus.login(&school.id, email, PASSWORD).await?;
    Ok((user, token))
}

/// Logs in and returns the whole answer.
pub async fn login(
    campus: &TestCampus,
    school_id: &str,
    email: &str,
    password: &str,
) -> Result<LoginResponse, tonic::Status> {
    let mut users = public(campus)
        .await
        .map_err(|e| tonic::Status::internal(e.to_string()))?;
    users
        .login(LoginRequest {
            school_id: school_id.to_owned(),
            email: email.to_owned(),
            password: password.to_owned(),
        })
        .await
        .map(tonic::Response::into_inner)
}

pub use campus_testkit::code;
