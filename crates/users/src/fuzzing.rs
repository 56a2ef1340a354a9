//! The users service's request checks, reachable by the fuzz targets (`fuzz/`) without a
//! handler or a database: built only with the `fuzzing` feature. Each function runs the
//! checks the handler runs on a decoded request and panics if what they accept breaks an
//! invariant of accounts and schools.

use campus_proto::users::{
    CreateSchoolRequest, CreateUserRequest, RegisterUserRequest, UpdateProfileRequest,
};

use crate::{
    accounts::check_new_user,
    domain::{check_name, parse_roles},
    schools::check_new_school,
};

/// Asserts what an accepted account must be: an email with one `@` and no space, a trimmed,
/// non-empty name.
fn assert_account(email: &str, name: &str) {
    assert_eq!(email.matches('@').count(), 1, "accepted email {email:?}");
    assert!(
        !email.contains(char::is_whitespace),
        "accepted email {email:?}"
    );
    assert_account_name(name);
}

fn assert_account_name(name: &str) {
    assert!(
        !name.is_empty() && name.trim() == name,
        "accepted name {name:?}"
    );
}

/// Checks a RegisterUser request as the handler does; whether it was accepted.
pub fn check_register_user(body: &RegisterUserRequest) -> bool {
    match check_new_user(&body.email, &body.display_name, &body.password) {
        Ok((email, name)) => {
            assert_account(email.as_str(), &name);
            true
        }
        Err(_) => false,
    }
}

/// Checks a CreateUser request's own fields (roles, email, name, password) as the handler
/// does; whether they passed.
pub fn check_create_user(body: &CreateUserRequest) -> bool {
    let Ok(roles) = parse_roles(&body.roles) else {
        return false;
    };
    assert!(!roles.is_empty(), "accepted a user without a role");
    match check_new_user(&body.email, &body.display_name, &body.initial_password) {
        Ok((email, name)) => {
            assert_account(email.as_str(), &name);
            true
        }
        Err(_) => false,
    }
}

/// Checks a CreateSchool request as the handler does; whether it was accepted.
pub fn check_create_school(body: &CreateSchoolRequest) -> bool {
    match check_new_school(body) {
        Ok((name, slug)) => {
            assert_account_name(&name);
            assert!(
                !slug.is_empty()
                    && slug
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "accepted slug {slug:?}"
            );
            true
        }
        Err(_) => false,
    }
}

/// Checks an UpdateProfile request's new name as the handler does; whether it was accepted.
pub fn check_update_profile(body: &UpdateProfileRequest) -> bool {
    match body.display_name.as_deref().map(check_name) {
        Some(Ok(name)) => {
            assert_account_name(&name);
            true
        }
        Some(Err(_)) => false,
        None => true,
    }
}
