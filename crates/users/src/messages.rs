//! Stored rows as API messages.

use campus_proto::users::{School, User};

use crate::{
    domain::roles_from_bits,
    store::{SchoolRow, UserRow},
    timestamp,
};

pub(crate) fn user_message(row: &UserRow) -> User {
    User {
        id: row.id.clone(),
        school_id: row.school_id.clone().unwrap_or_default(),
        email: row.email.clone(),
        display_name: row.display_name.clone(),
        roles: roles_from_bits(row.roles)
            .into_iter()
            .map(|role| role as i32)
            .collect(),
        status: i32::try_from(row.status).unwrap_or_default(),
        created_at: Some(timestamp(row.created_at)),
        updated_at: Some(timestamp(row.updated_at)),
        deactivated_at: row.deactivated_at.map(timestamp),
    }
}

pub(crate) fn school_message(row: &SchoolRow) -> School {
    School {
        id: row.id.clone(),
        name: row.name.clone(),
        slug: row.slug.clone(),
        self_sign_up_enabled: row.self_sign_up,
        created_at: Some(timestamp(row.created_at)),
        updated_at: Some(timestamp(row.updated_at)),
    }
}
