//! The rules of users and schools, independent of storage and transport: what a valid email,
//! password, slug and name are, how roles are stored, and pagination cursors.

use campus_proto::users::Role;

/// Shortest password accepted. Length is what makes a password strong (NIST SP 800-63B);
/// no composition rules.
pub(crate) const MIN_PASSWORD_LEN: usize = 10;
/// Longest password accepted (hashing cost is bounded).
pub(crate) const MAX_PASSWORD_LEN: usize = 128;
/// Most ids in one BatchGetUsers.
pub(crate) const MAX_BATCH: usize = 100;

/// An email address, trimmed and lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Email(String);

impl Email {
    /// Validates the shape `local@domain.tld` (no spaces, at most 254 characters).
    pub(crate) fn parse(value: &str) -> Result<Self, String> {
        let value = value.trim().to_lowercase();
        if value.is_empty() {
            return Err("is required".into());
        }
        if value.len() > 254 || value.chars().any(char::is_whitespace) {
            return Err("is not a valid email address".into());
        }
        let Some((local, domain)) = value.split_once('@') else {
            return Err("is not a valid email address".into());
        };
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains('@')
            && !domain.contains("..");
        if local.is_empty() || !domain_ok {
            return Err("is not a valid email address".into());
        }
        Ok(Self(value))
    }

    /// The normalized address.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

/// Checks a new password against the policy.
pub(crate) fn check_password(password: &str, email: &str) -> Result<(), String> {
    let length = password.chars().count();
    if length < MIN_PASSWORD_LEN {
        return Err(format!("must be at least {MIN_PASSWORD_LEN} characters"));
    }
    if length > MAX_PASSWORD_LEN {
        return Err(format!("must be at most {MAX_PASSWORD_LEN} characters"));
    }
    if password.eq_ignore_ascii_case(email) {
        return Err("must not be the email address".into());
    }
    if password.chars().all(|c| password.starts_with(c)) {
        return Err("must not repeat one character".into());
    }
    Ok(())
}

/// A display or school name: trimmed, 1 to 200 characters.
pub(crate) fn check_name(value: &str) -> Result<String, String> {
    let value = value.trim();
    if value.is_empty() {
        return Err("is required".into());
    }
    if value.chars().count() > 200 {
        return Err("must be at most 200 characters".into());
    }
    Ok(value.to_owned())
}

/// A school slug: 2 to 63 of `a-z`, `0-9` and inner `-`.
pub(crate) fn check_slug(value: &str) -> Result<String, String> {
    let value = value.trim();
    let valid = (2..=63).contains(&value.len())
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !value.starts_with('-')
        && !value.ends_with('-');
    if valid {
        Ok(value.to_owned())
    } else {
        Err("must be 2-63 lower-case letters, digits and inner hyphens".into())
    }
}

/// The bit set of roles as stored (`1 << role`).
pub(crate) fn roles_to_bits(roles: &[Role]) -> i64 {
    roles
        .iter()
        .fold(0, |bits, role| bits | (1_i64 << (*role as i32)))
}

/// The roles in a stored bit set.
pub(crate) fn roles_from_bits(bits: i64) -> Vec<Role> {
    [
        Role::Student,
        Role::Instructor,
        Role::SchoolAdmin,
        Role::PlatformAdmin,
    ]
    .into_iter()
    .filter(|role| bits & (1_i64 << (*role as i32)) != 0)
    .collect()
}

/// Roles from request values: every value must be a known role other than UNSPECIFIED.
pub(crate) fn parse_roles(values: &[i32]) -> Result<Vec<Role>, String> {
    if values.is_empty() {
        return Err("at least one role is required".into());
    }
    let mut roles = Vec::new();
    for value in values {
        match Role::try_from(*value) {
            Ok(Role::Unspecified) | Err(_) => return Err(format!("{value} is not a role")),
            Ok(role) => {
                if !roles.contains(&role) {
                    roles.push(role);
                }
            }
        }
    }
    Ok(roles)
}

#[cfg(test)]
mod tests {
    use campus_proto::users::Role;

    use super::*;

    #[test]
    fn emails_are_normalized_and_checked() {
        assert_eq!(
            Email::parse(" Ada@Example.ORG ").map(|e| e.0),
            Ok("ada@example.org".into())
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.org",
            "ada@example",
            "a da@example.org",
            "ada@.org",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn passwords_need_length_and_variety() {
        assert!(check_password("correct horse", "a@b.co").is_ok());
        assert!(check_password("short", "a@b.co").is_err());
        assert!(check_password("aaaaaaaaaaaa", "a@b.co").is_err());
        assert!(check_password("ada@example.org", "ada@example.org").is_err());
    }

    #[test]
    fn roles_round_trip_through_bits() {
        let roles = vec![Role::Instructor, Role::SchoolAdmin];
        assert_eq!(roles_from_bits(roles_to_bits(&roles)), roles);
        assert!(parse_roles(&[0]).is_err());
        assert!(parse_roles(&[99]).is_err());
        assert_eq!(parse_roles(&[1, 1]), Ok(vec![Role::Student]));
    }
}
