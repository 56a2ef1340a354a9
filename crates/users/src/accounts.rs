//! Accounts: register, create (idempotent by request id), read one or many, list, update
//! profiles, change passwords, deactivate.

use campus_proto::{
    events::{SessionRevocationReason, UserCreated, UserDeactivated},
    users::{
        BatchGetUsersRequest, BatchGetUsersResponse, ChangePasswordRequest, ChangePasswordResponse,
        CreateUserRequest, CreateUserResponse, DeactivateUserRequest, DeactivateUserResponse,
        GetUserRequest, GetUserResponse, ListUsersRequest, ListUsersResponse, RegisterUserRequest,
        RegisterUserResponse, Role, UpdateProfileRequest, UpdateProfileResponse, User, UserStatus,
    },
};
use campus_runtime::{
    api::{encode_cursor, next_page_token, page_after, page_size},
    auth::Caller,
};
use campus_store::{idempotency, is_unique_violation};

use crate::{
    Users,
    domain::{Email, MAX_BATCH, check_name, check_password, parse_roles, roles_to_bits},
    error::UsersError,
    messages::user_message,
    store::{self, UserRow, now_micros},
    timestamp,
};

/// Checks what a new account says by itself: its email, display name and password (which
/// must not contain the email); the normalised email and name.
pub(crate) fn check_new_user(
    email: &str,
    display_name: &str,
    password: &str,
) -> Result<(Email, String), UsersError> {
    let mut violations = Vec::new();
    let email = Email::parse(email)
        .map_err(|why| violations.push(("email", why)))
        .ok();
    let display_name = check_name(display_name)
        .map_err(|why| violations.push(("display_name", why)))
        .ok();
    if let Err(why) = check_password(password, email.as_ref().map_or("", Email::as_str)) {
        violations.push(("password", why));
    }
    match (email, display_name, violations.is_empty()) {
        (Some(email), Some(display_name), true) => Ok((email, display_name)),
        _ => Err(UsersError::Invalid(violations)),
    }
}

/// Whether `caller` may see `user`: same school, platform admins, or themself.
fn can_see(caller: &Caller, user: &UserRow) -> bool {
    caller.user_id == user.id
        || caller.is_platform_admin()
        || user
            .school_id
            .as_deref()
            .is_some_and(|school| caller.can_access_school(school))
}

/// A user to create, as a request gave it.
#[derive(Debug)]
pub(crate) struct NewUser<'a> {
    /// Their school; `None` for platform admins.
    pub(crate) school_id: Option<String>,
    pub(crate) email: &'a str,
    pub(crate) display_name: &'a str,
    pub(crate) password: &'a str,
    pub(crate) roles: Vec<Role>,
}

/// Status code stored for active users.
pub(crate) const ACTIVE: i64 = UserStatus::Active as i64;

impl Users {
    /// Validates and stores a new user with `roles` (register and create share this), with
    /// its `user.created` event, answering a retried request id with the first answer.
    pub(crate) async fn add_user(
        &self,
        scope: String,
        request_id: &str,
        new: NewUser<'_>,
    ) -> Result<User, UsersError> {
        let NewUser {
            school_id,
            email,
            display_name,
            password,
            roles,
        } = new;
        let (email, display_name) = check_new_user(email, display_name, password)?;
        // The request without its password: no secret is kept, not even hashed, with the key.
        let without_secret = CreateUserRequest {
            request_id: String::new(),
            school_id: school_id.clone().unwrap_or_default(),
            email: email.as_str().to_owned(),
            display_name: display_name.clone(),
            roles: roles.iter().map(|role| *role as i32).collect(),
            initial_password: String::new(),
        };
        let request = idempotency::Request::new(scope, request_id, &without_secret);
        if let Some(earlier) = self.store.idempotency.recall::<User>(&request).await? {
            return Ok(earlier?);
        }
        let password_hash = self.passwords.hash(password).await?;
        let now = now_micros();
        let row = UserRow {
            id: uuid::Uuid::now_v7().to_string(),
            school_id,
            email: email.as_str().to_owned(),
            display_name,
            roles: roles_to_bits(&roles),
            status: ACTIVE,
            password_hash,
            created_at: now,
            updated_at: now,
            deactivated_at: None,
        };
        let user = user_message(&row);
        let written = self
            .store
            .idempotency
            .write_after_recall(&request, |mut tx| async move {
                store::insert_user(&mut tx, &row).await.map_err(|error| {
                    if is_unique_violation(&error) {
                        UsersError::AlreadyExists(
                            "a user with this email already exists in this school",
                        )
                    } else {
                        error.into()
                    }
                })?;
                tx.publish(
                    &row.id,
                    row.school_id.as_deref().unwrap_or(""),
                    &UserCreated {
                        user_id: row.id.clone(),
                        school_id: row.school_id.clone().unwrap_or_default(),
                        display_name: row.display_name.clone(),
                        roles: user.roles.clone(),
                        created_at: Some(timestamp(now)),
                    },
                )
                .await?;
                Ok::<_, UsersError>((tx, user))
            });
        Ok(written.await?.response)
    }

    /// The user `user_id` if `caller` may see them; NOT_FOUND otherwise (never "forbidden",
    /// which would confirm the id exists in another school).
    async fn visible_user(&self, caller: &Caller, user_id: &str) -> Result<UserRow, UsersError> {
        match store::user_by_id(&self.store.database, user_id).await? {
            Some(user) if can_see(caller, &user) => Ok(user),
            Some(_) | None => Err(UsersError::NotFound("user")),
        }
    }
}

impl Users {
    pub(crate) async fn register_user(
        &self,
        body: RegisterUserRequest,
    ) -> Result<RegisterUserResponse, UsersError> {
        if body.school_id.is_empty() {
            return Err(UsersError::invalid("school_id", "is required"));
        }
        let school = store::school_by(&self.store.database, "id", &body.school_id)
            .await?
            .ok_or(UsersError::NotFound("school"))?;
        if !school.self_sign_up {
            return Err(UsersError::PermissionDenied(
                "this school does not allow self sign-up",
            ));
        }
        let user = self
            .add_user(
                format!("users.RegisterUser:{}", school.id),
                &body.request_id,
                NewUser {
                    school_id: Some(school.id.clone()),
                    email: &body.email,
                    display_name: &body.display_name,
                    password: &body.password,
                    roles: vec![Role::Student],
                },
            )
            .await?;
        Ok(RegisterUserResponse { user: Some(user) })
    }

    pub(crate) async fn create_user(
        &self,
        caller: &Caller,
        body: CreateUserRequest,
    ) -> Result<CreateUserResponse, UsersError> {
        caller.require_role(&[Role::SchoolAdmin, Role::PlatformAdmin])?;
        let roles = parse_roles(&body.roles).map_err(|why| UsersError::invalid("roles", why))?;
        let school_id = if roles.contains(&Role::PlatformAdmin) {
            caller.require_role(&[Role::PlatformAdmin])?;
            if roles.len() > 1 || !body.school_id.is_empty() {
                return Err(UsersError::invalid(
                    "roles",
                    "platform admins belong to no school and hold no other role",
                ));
            }
            None
        } else {
            if body.school_id.is_empty() {
                return Err(UsersError::invalid("school_id", "is required"));
            }
            caller.require_school(&body.school_id)?;
            if store::school_by(&self.store.database, "id", &body.school_id)
                .await?
                .is_none()
            {
                return Err(UsersError::NotFound("school"));
            }
            Some(body.school_id.clone())
        };
        let user = self
            .add_user(
                format!("users.CreateUser:{}", caller.user_id),
                &body.request_id,
                NewUser {
                    school_id,
                    email: &body.email,
                    display_name: &body.display_name,
                    password: &body.initial_password,
                    roles,
                },
            )
            .await?;
        Ok(CreateUserResponse { user: Some(user) })
    }

    pub(crate) async fn get_user(
        &self,
        caller: &Caller,
        body: GetUserRequest,
    ) -> Result<GetUserResponse, UsersError> {
        let user = self.visible_user(caller, &body.user_id).await?;
        Ok(GetUserResponse {
            user: Some(user_message(&user)),
        })
    }

    pub(crate) async fn batch_get_users(
        &self,
        caller: &Caller,
        body: BatchGetUsersRequest,
    ) -> Result<BatchGetUsersResponse, UsersError> {
        let mut ids = body.user_ids;
        if ids.len() > MAX_BATCH {
            return Err(UsersError::invalid(
                "user_ids",
                format!("at most {MAX_BATCH} ids"),
            ));
        }
        ids.sort();
        ids.dedup();
        let rows = store::users_by_ids(&self.store.database, &ids).await?;
        let users: Vec<User> = rows
            .iter()
            .filter(|row| can_see(caller, row))
            .map(user_message)
            .collect();
        let missing_user_ids = ids
            .into_iter()
            .filter(|id| !users.iter().any(|user| &user.id == id))
            .collect();
        Ok(BatchGetUsersResponse {
            users,
            missing_user_ids,
        })
    }

    pub(crate) async fn list_users(
        &self,
        caller: &Caller,
        body: ListUsersRequest,
    ) -> Result<ListUsersResponse, UsersError> {
        let limit = page_size(body.page_size)?;
        let school_id = if body.school_id.is_empty() {
            caller
                .school_id
                .clone()
                .ok_or(UsersError::invalid("school_id", "is required"))?
        } else {
            body.school_id.clone()
        };
        caller.require_school(&school_id)?;
        caller.require_role(&[Role::SchoolAdmin, Role::PlatformAdmin])?;
        let role_bits = match Role::try_from(body.role) {
            Ok(Role::Unspecified) => 0,
            Ok(role) => roles_to_bits(&[role]),
            Err(_) => return Err(UsersError::invalid("role", "is not a role")),
        };
        let status = match UserStatus::try_from(body.status) {
            Ok(status) => i64::from(status as i32),
            Err(_) => return Err(UsersError::invalid("status", "is not a user status")),
        };
        let after = page_after(&body.page_token, 1)?.remove(0);
        let mut rows = store::list_users(
            &self.store.database,
            &school_id,
            role_bits,
            status,
            &after,
            limit + 1,
        )
        .await?;
        let next_page_token = next_page_token(&mut rows, limit, |last| encode_cursor(&[&last.id]));
        Ok(ListUsersResponse {
            users: rows.iter().map(user_message).collect(),
            next_page_token,
        })
    }

    pub(crate) async fn update_profile(
        &self,
        caller: &Caller,
        body: UpdateProfileRequest,
    ) -> Result<UpdateProfileResponse, UsersError> {
        let mut user = self.visible_user(caller, &body.user_id).await?;
        caller.require_self_or(
            &user.id,
            user.school_id.as_deref().unwrap_or(""),
            &[Role::SchoolAdmin, Role::PlatformAdmin],
        )?;
        if let Some(name) = body.display_name {
            let name = check_name(&name).map_err(|why| UsersError::invalid("display_name", why))?;
            let now = now_micros();
            let mut tx = self.store.database.begin().await?;
            store::update_display_name(&mut tx, &user.id, &name, now).await?;
            tx.commit().await?;
            user.display_name = name;
            user.updated_at = now;
        }
        Ok(UpdateProfileResponse {
            user: Some(user_message(&user)),
        })
    }

    pub(crate) async fn change_password(
        &self,
        caller: &Caller,
        body: ChangePasswordRequest,
    ) -> Result<ChangePasswordResponse, UsersError> {
        let user = store::user_by_id(&self.store.database, &caller.user_id)
            .await?
            .ok_or(UsersError::NotFound("user"))?;
        let account = format!("{}|{}", user.school_id.as_deref().unwrap_or(""), user.email);
        self.throttle.check(&account, None).await?;
        if !self
            .passwords
            .verify(&body.current_password, Some(&user.password_hash))
            .await?
        {
            self.throttle.record_failure(&account, None).await;
            return Err(UsersError::PermissionDenied(
                "the current password is wrong",
            ));
        }
        check_password(&body.new_password, &user.email)
            .map_err(|why| UsersError::invalid("new_password", why))?;
        let hash = self.passwords.hash(&body.new_password).await?;
        let now = now_micros();
        let mut tx = self.store.database.begin().await?;
        store::update_password(&mut tx, &user.id, &hash, now).await?;
        self.sessions()
            .revoke_user_sessions(&mut tx, &user, SessionRevocationReason::PasswordChanged)
            .await?;
        tx.commit().await?;
        Ok(ChangePasswordResponse {})
    }

    pub(crate) async fn deactivate_user(
        &self,
        caller: &Caller,
        body: DeactivateUserRequest,
    ) -> Result<DeactivateUserResponse, UsersError> {
        let mut user = self.visible_user(caller, &body.user_id).await?;
        caller.require_role(&[Role::SchoolAdmin, Role::PlatformAdmin])?;
        if let Some(school) = &user.school_id {
            caller.require_school(school)?;
        } else {
            caller.require_role(&[Role::PlatformAdmin])?;
        }
        let now = now_micros();
        let mut tx = self.store.database.begin().await?;
        let was_active =
            store::deactivate(&mut tx, &user.id, UserStatus::Deactivated as i64, now).await?;
        self.sessions()
            .revoke_user_sessions(&mut tx, &user, SessionRevocationReason::UserDeactivated)
            .await?;
        if was_active {
            tx.publish(
                &user.id,
                user.school_id.as_deref().unwrap_or(""),
                &UserDeactivated {
                    user_id: user.id.clone(),
                    school_id: user.school_id.clone().unwrap_or_default(),
                    deactivated_by: caller.user_id.clone(),
                    deactivated_at: Some(timestamp(now)),
                },
            )
            .await?;
            user.status = UserStatus::Deactivated as i64;
            user.deactivated_at = Some(now);
            user.updated_at = now;
        }
        tx.commit().await?;
        let user = if was_active {
            user
        } else {
            store::user_by_id(&self.store.database, &user.id)
                .await?
                .unwrap_or(user)
        };
        Ok(DeactivateUserResponse {
            user: Some(user_message(&user)),
        })
    }
}
