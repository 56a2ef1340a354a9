//! Authentication every service enforces, and the authorization helpers services call.
//!
//! The users service signs access tokens (JWT, EdDSA/Ed25519, `kid` header). Every server
//! verifies them in one tower layer ([`AuthLayer`]) with the public keys it fetched from the
//! users service ([`keys::KeySet`], refreshed on an unknown `kid`): the algorithm is pinned,
//! `exp`, `nbf`, `iss` and `aud` are checked, and the verified [`Caller`] is put in the
//! request's extensions. Methods declared public (health, reflection, login, …) pass without
//! a token; everything else without a valid one is UNAUTHENTICATED.
//!
//! Every access token names its session (`sid`, the login it came from); a session revoked
//! early (logout, a reused refresh token, deactivation, a password change) is refused through
//! [`revocation::Revocations`] until its tokens would have expired anyway.
//!
//! Handlers read the caller with [`caller`] and authorize with [`Caller::require_role`] and
//! [`Caller::require_school`], so tenant checks read the same in every service.

pub mod keys;
mod layer;
pub mod revocation;

use campus_proto::users::Role;
use tonic::Status;

pub use layer::{AuthLayer, AuthService};

/// The verified identity of the user making a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The user's id (`sub`).
    pub user_id: String,
    /// The user's school; `None` for platform admins, who belong to none.
    pub school_id: Option<String>,
    /// The user's roles.
    pub roles: Vec<Role>,
}

impl Caller {
    /// Whether the caller holds `role`.
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Whether the caller operates the platform (every school).
    pub fn is_platform_admin(&self) -> bool {
        self.has_role(Role::PlatformAdmin)
    }

    /// PERMISSION_DENIED unless the caller holds one of `roles`.
    pub fn require_role(&self, roles: &[Role]) -> Result<(), Status> {
        if roles.iter().any(|role| self.has_role(*role)) {
            Ok(())
        } else {
            Err(Status::permission_denied("your role does not allow this"))
        }
    }

    /// Whether the caller may act in `school_id`: its members, and platform admins.
    pub fn can_access_school(&self, school_id: &str) -> bool {
        self.is_platform_admin() || self.school_id.as_deref() == Some(school_id)
    }

    /// PERMISSION_DENIED unless the caller may act in `school_id`.
    pub fn require_school(&self, school_id: &str) -> Result<(), Status> {
        if self.can_access_school(school_id) {
            Ok(())
        } else {
            Err(Status::permission_denied("this belongs to another school"))
        }
    }

    /// PERMISSION_DENIED unless the caller is `user_id`, or holds one of `roles` in the
    /// user's school (`school_id`).
    pub fn require_self_or(
        &self,
        user_id: &str,
        school_id: &str,
        roles: &[Role],
    ) -> Result<(), Status> {
        if self.user_id == user_id {
            return Ok(());
        }
        self.require_school(school_id)?;
        self.require_role(roles)
    }
}

/// The verified caller of `request`; UNAUTHENTICATED if the auth layer put none there
/// (a public method, or a server built without auth).
pub fn caller<T>(request: &tonic::Request<T>) -> Result<Caller, Status> {
    request
        .extensions()
        .get::<Caller>()
        .cloned()
        .ok_or_else(|| Status::unauthenticated("this call needs an access token"))
}

/// Seconds since the Unix epoch.
fn unix_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
        })
}

/// Access token claims, as signed by the users service and read by every verifier.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Claims {
    /// The user's id.
    pub sub: String,
    /// The session (login) the token belongs to: every token refreshed from one login
    /// shares it, and revoking it refuses them all. A token without one is refused.
    #[serde(default)]
    pub sid: String,
    /// The user's school id; empty for platform admins.
    #[serde(default)]
    pub school: String,
    /// The user's role names (`student`, `instructor`, `school_admin`, `platform_admin`).
    pub roles: Vec<String>,
    /// Issuer (`CAMPUS_JWT_ISSUER`).
    pub iss: String,
    /// Audience (`CAMPUS_JWT_AUDIENCE`).
    pub aud: String,
    /// Expiry, Unix seconds.
    pub exp: i64,
    /// Issued at, Unix seconds.
    pub iat: i64,
    /// Not valid before, Unix seconds.
    pub nbf: i64,
}

impl Claims {
    /// The caller these claims describe; unknown role names are ignored.
    pub fn caller(&self) -> Caller {
        Caller {
            user_id: self.sub.clone(),
            school_id: (!self.school.is_empty()).then(|| self.school.clone()),
            roles: self
                .roles
                .iter()
                .filter_map(|name| role_from_name(name))
                .collect(),
        }
    }
}

/// The token name of a role.
pub fn role_name(role: Role) -> &'static str {
    match role {
        Role::Unspecified => "unspecified",
        Role::Student => "student",
        Role::Instructor => "instructor",
        Role::SchoolAdmin => "school_admin",
        Role::PlatformAdmin => "platform_admin",
    }
}

/// The role a token name stands for.
pub fn role_from_name(name: &str) -> Option<Role> {
    match name {
        "student" => Some(Role::Student),
        "instructor" => Some(Role::Instructor),
        "school_admin" => Some(Role::SchoolAdmin),
        "platform_admin" => Some(Role::PlatformAdmin),
        _ => None,
    }
}

/// Issuer and audience every token is checked against.
#[derive(Debug, Clone, clap::Args)]
pub struct AuthConfig {
    /// `iss` of access tokens.
    #[arg(
        long = "jwt-issuer",
        env = "CAMPUS_JWT_ISSUER",
        value_name = "CAMPUS_JWT_ISSUER",
        default_value = "campus"
    )]
    pub issuer: String,

    /// `aud` of access tokens.
    #[arg(
        long = "jwt-audience",
        env = "CAMPUS_JWT_AUDIENCE",
        value_name = "CAMPUS_JWT_AUDIENCE",
        default_value = "campus"
    )]
    pub audience: String,

    /// The longest an access token may be valid: a signed token whose `exp` lies further
    /// ahead (of now, or of its `iat`) is refused, so a leaked long-lived token is useless.
    #[arg(
        long = "jwt-max-ttl",
        env = "CAMPUS_JWT_MAX_TTL",
        value_name = "CAMPUS_JWT_MAX_TTL",
        default_value = "1h",
        value_parser = humantime::parse_duration
    )]
    pub max_ttl: std::time::Duration,
}

#[cfg(test)]
mod tests {
    use campus_proto::users::Role;

    use super::{Caller, role_from_name, role_name};

    fn caller(school: Option<&str>, roles: &[Role]) -> Caller {
        Caller {
            user_id: "u1".into(),
            school_id: school.map(str::to_owned),
            roles: roles.to_vec(),
        }
    }

    #[test]
    fn school_checks_admit_members_and_platform_admins_only() {
        let admin_a = caller(Some("a"), &[Role::SchoolAdmin]);
        assert!(admin_a.require_school("a").is_ok());
        assert!(admin_a.require_school("b").is_err());
        assert!(
            caller(None, &[Role::PlatformAdmin])
                .require_school("b")
                .is_ok()
        );
        assert!(
            admin_a
                .require_self_or("u2", "a", &[Role::SchoolAdmin])
                .is_ok()
        );
        assert!(
            caller(Some("a"), &[Role::Student])
                .require_self_or("u2", "a", &[Role::SchoolAdmin])
                .is_err()
        );
        assert!(
            caller(Some("a"), &[Role::Student])
                .require_self_or("u1", "a", &[])
                .is_ok()
        );
    }

    #[test]
    fn role_names_round_trip() {
        for role in [
            Role::Student,
            Role::Instructor,
            Role::SchoolAdmin,
            Role::PlatformAdmin,
        ] {
            assert_eq!(role_from_name(role_name(role)), Some(role));
        }
        assert_eq!(role_from_name("root"), None);
    }
}
