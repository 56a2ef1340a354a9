//! Requests of `UsersService`.

use base64::Engine as _;
use campus_proto::users::{
    BatchGetUsersRequest, ChangePasswordRequest, CreateSchoolRequest, CreateUserRequest,
    DeactivateUserRequest, GetJwksRequest, GetSchoolRequest, GetUserRequest, ListSchoolsRequest,
    ListUsersRequest, LoginRequest, LogoutRequest, RefreshTokenRequest, RegisterUserRequest, Role,
    UpdateProfileRequest, get_school_request::Key, users_service_client::UsersServiceClient,
};
use campus_testkit::Error;
use tonic::{Response, Status};

use super::Cell;
use crate::{
    policy::Target,
    probe::Observed,
    world::{PASSWORD, Person},
};

/// The password look-alikes change theirs to.
const NEW_PASSWORD: &str = "another long enough password";

/// Calls `method` of the users service for `cell`.
pub(crate) async fn call(method: &str, cell: &Cell<'_>) -> Result<Option<Observed>, Error> {
    let mut users = UsersServiceClient::new(cell.wire()?);
    let subject = cell.subject;
    let school_id = subject.bundle.school_id.clone();
    let user_id = subject.user.id.clone();
    let probe = cell.probe;
    let observed = match method {
        "CreateSchool" => {
            let slug = format!("school-{}", cell.unique());
            let request = CreateSchoolRequest {
                request_id: format!("row-{}", cell.unique()),
                name: format!("School {slug}"),
                slug: slug.clone(),
                self_sign_up_enabled: false,
            };
            probe.run(slug, users.create_school(request)).await?
        }
        "GetSchool" => {
            let request = GetSchoolRequest {
                key: Some(Key::SchoolId(school_id.clone())),
            };
            probe.run(school_id, users.get_school(request)).await?
        }
        "ListSchools" => {
            let request = ListSchoolsRequest {
                page_size: 200,
                page_token: String::new(),
            };
            probe.run(school_id, users.list_schools(request)).await?
        }
        "RegisterUser" => {
            let request = RegisterUserRequest {
                request_id: format!("row-{}", cell.unique()),
                school_id: school_id.clone(),
                email: format!("signed-up-{}@campus.test", cell.unique()),
                password: PASSWORD.to_owned(),
                display_name: "Signed up".to_owned(),
            };
            probe.run(school_id, users.register_user(request)).await?
        }
        "CreateUser" => {
            let request = CreateUserRequest {
                request_id: format!("row-{}", cell.unique()),
                school_id: school_id.clone(),
                email: format!("created-{}@campus.test", cell.unique()),
                display_name: "Created".to_owned(),
                roles: vec![Role::Student as i32],
                initial_password: PASSWORD.to_owned(),
            };
            probe.run(school_id, users.create_user(request)).await?
        }
        "GetUser" => {
            let request = GetUserRequest {
                user_id: user_id.clone(),
            };
            probe.run(user_id, users.get_user(request)).await?
        }
        "BatchGetUsers" => {
            let request = BatchGetUsersRequest {
                user_ids: vec![user_id.clone()],
            };
            let call = users.batch_get_users(request);
            probe
                .run_shown(user_id, call, |answer| format!("{:?}", answer.users))
                .await?
        }
        "ListUsers" => {
            let request = ListUsersRequest {
                school_id,
                page_size: 200,
                ..ListUsersRequest::default()
            };
            probe.run(user_id, users.list_users(request)).await?
        }
        "UpdateProfile" => {
            let request = UpdateProfileRequest {
                user_id: user_id.clone(),
                display_name: Some(format!("Renamed {}", cell.unique())),
            };
            probe.run(user_id, users.update_profile(request)).await?
        }
        "ChangePassword" => return change_password(cell).await.map(Some),
        "DeactivateUser" => {
            // Deactivating oneself ends one's sessions: a look-alike calls on itself.
            let (mut users, target) = match (cell.target, cell.caller) {
                (Target::Own, Some(caller)) => {
                    let look_alike = cell.world.setup.look_alike(caller).await?;
                    let wire = cell.world.setup.wire(Some(&look_alike.token))?;
                    (UsersServiceClient::new(wire), look_alike)
                }
                _ => (users, cell.world.setup.new_learner(&school_id).await?),
            };
            let request = DeactivateUserRequest {
                user_id: target.id.clone(),
                reason: "left the school".to_owned(),
            };
            probe.run(target.id, users.deactivate_user(request)).await?
        }
        "Login" => {
            let request = LoginRequest {
                school_id: subject.user.school_id.clone(),
                email: subject.user.email.clone(),
                password: subject.user.password.clone(),
            };
            let call = users.login(request);
            probe
                .run_shown(user_id, call, |answer| format!("{:?}", answer.user))
                .await?
        }
        "RefreshToken" => {
            let refresh_token = refresh_token_of(cell, subject.user).await?;
            let call = users.refresh_token(RefreshTokenRequest { refresh_token });
            probe
                .run_shown(user_id, call, |answer| {
                    answer
                        .tokens
                        .map(|tokens| claims_of(&tokens.access_token))
                        .unwrap_or_default()
                })
                .await?
        }
        "Logout" => {
            let refresh_token = refresh_token_of(cell, subject.user).await?;
            let mut public = UsersServiceClient::new(cell.world.setup.wire(None)?);
            let call = async move {
                users
                    .logout(LogoutRequest {
                        refresh_token: refresh_token.clone(),
                    })
                    .await?;
                let reused = public
                    .refresh_token(RefreshTokenRequest { refresh_token })
                    .await;
                Ok::<_, Status>(Response::new(if reused.is_err() {
                    "revoked"
                } else {
                    "still valid"
                }))
            };
            probe.run("revoked", call).await?
        }
        "GetJwks" => probe.run("kid:", users.get_jwks(GetJwksRequest {})).await?,
        _ => return Ok(None),
    };
    Ok(Some(observed))
}

/// ChangePassword ends the caller's other sessions, so a look-alike of the caller changes its
/// own password and then signs in with the new one. Anonymous, it is tried with the learner's.
async fn change_password(cell: &Cell<'_>) -> Result<Observed, Error> {
    let Some(caller) = cell.caller else {
        let mut users = UsersServiceClient::new(cell.wire()?);
        let request = ChangePasswordRequest {
            current_password: PASSWORD.to_owned(),
            new_password: NEW_PASSWORD.to_owned(),
        };
        return cell.probe.run("", users.change_password(request)).await;
    };
    if cell.target != Target::Own {
        return Err("ChangePassword names no one but the caller".into());
    }
    let look_alike = cell.world.setup.look_alike(caller).await?;
    let look_alike_id = look_alike.id.clone();
    let mut users = UsersServiceClient::new(cell.world.setup.wire(Some(&look_alike.token))?);
    let mut public = UsersServiceClient::new(cell.world.setup.wire(None)?);
    let call = async move {
        users
            .change_password(ChangePasswordRequest {
                current_password: PASSWORD.to_owned(),
                new_password: NEW_PASSWORD.to_owned(),
            })
            .await?;
        let signed_in = public
            .login(LoginRequest {
                school_id: look_alike.school_id.clone(),
                email: look_alike.email.clone(),
                password: NEW_PASSWORD.to_owned(),
            })
            .await?;
        Ok::<_, Status>(Response::new(format!("{:?}", signed_in.into_inner().user)))
    };
    cell.probe.run(look_alike_id, call).await
}

/// A refresh token of a new session of `person` (the caller for their own target).
async fn refresh_token_of(cell: &Cell<'_>, person: &Person) -> Result<String, Error> {
    Ok(cell
        .world
        .setup
        .login_with(&person.school_id, &person.email, &person.password)
        .await?
        .1)
}

/// The claims of an access token, as JSON text.
fn claims_of(token: &str) -> String {
    token
        .split('.')
        .nth(1)
        .and_then(|payload| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .ok()
        })
        .map(|claims| String::from_utf8_lossy(&claims).into_owned())
        .unwrap_or_default()
}
