//! Schools: create (idempotent by request id), get by id or slug, list (platform admins).

use campus_proto::users::{
    CreateSchoolRequest, CreateSchoolResponse, GetSchoolRequest, GetSchoolResponse,
    ListSchoolsRequest, ListSchoolsResponse, Role, get_school_request::Key,
};
use campus_runtime::{
    api::{decode_cursor, encode_cursor, next_page_token, page_size},
    auth::Caller,
};
use campus_store::{idempotency, is_unique_violation};

use crate::{
    Users,
    domain::{check_name, check_slug},
    error::UsersError,
    messages::school_message,
    store::{self, SchoolRow, now_micros},
};

impl Users {
    pub(crate) async fn create_school(
        &self,
        caller: &Caller,
        body: CreateSchoolRequest,
    ) -> Result<CreateSchoolResponse, UsersError> {
        caller.require_role(&[Role::PlatformAdmin])?;
        let (name, slug) = check_new_school(&body)?;
        let request = idempotency::Request::new(
            format!("users.CreateSchool:{}", caller.user_id),
            &body.request_id,
            &body,
        );
        let now = now_micros();
        let row = SchoolRow {
            id: uuid::Uuid::now_v7().to_string(),
            name,
            slug,
            self_sign_up: body.self_sign_up_enabled,
            created_at: now,
            updated_at: now,
        };
        let response = CreateSchoolResponse {
            school: Some(school_message(&row)),
        };
        let written = self.store.idempotency.write(&request, |mut tx| async move {
            store::insert_school(&mut tx, &row).await.map_err(|error| {
                if is_unique_violation(&error) {
                    UsersError::AlreadyExists("a school with this slug already exists")
                } else {
                    error.into()
                }
            })?;
            Ok::<_, UsersError>((tx, response))
        });
        Ok(written.await?.response)
    }

    pub(crate) async fn get_school(
        &self,
        body: GetSchoolRequest,
    ) -> Result<GetSchoolResponse, UsersError> {
        let (column, value) = match body.key {
            Some(Key::SchoolId(id)) if !id.is_empty() => ("id", id),
            Some(Key::Slug(slug)) if !slug.is_empty() => ("slug", slug),
            Some(Key::SchoolId(_) | Key::Slug(_)) | None => {
                return Err(UsersError::invalid("key", "school_id or slug is required"));
            }
        };
        let school = store::school_by(&self.store.database, column, &value)
            .await?
            .ok_or(UsersError::NotFound("school"))?;
        Ok(GetSchoolResponse {
            school: Some(school_message(&school)),
        })
    }

    pub(crate) async fn list_schools(
        &self,
        caller: &Caller,
        body: ListSchoolsRequest,
    ) -> Result<ListSchoolsResponse, UsersError> {
        let limit = page_size(body.page_size)?;
        let after = if body.page_token.is_empty() {
            None
        } else {
            let mut parts = decode_cursor(&body.page_token, 2)?.into_iter();
            Some((
                parts.next().unwrap_or_default(),
                parts.next().unwrap_or_default(),
            ))
        };
        let only = if caller.is_platform_admin() {
            None
        } else {
            Some(
                caller
                    .school_id
                    .clone()
                    .ok_or(UsersError::NotFound("school"))?,
            )
        };
        let mut rows =
            store::list_schools(&self.store.database, after, only.as_deref(), limit + 1).await?;
        let next_page_token = next_page_token(&mut rows, limit, |last| {
            encode_cursor(&[&last.name, &last.id])
        });
        Ok(ListSchoolsResponse {
            schools: rows.iter().map(school_message).collect(),
            next_page_token,
        })
    }
}

/// Checks a new school's name and slug; both, normalised.
pub(crate) fn check_new_school(body: &CreateSchoolRequest) -> Result<(String, String), UsersError> {
    let mut violations = Vec::new();
    let name = check_name(&body.name)
        .map_err(|why| violations.push(("name", why)))
        .ok();
    let slug = check_slug(&body.slug)
        .map_err(|why| violations.push(("slug", why)))
        .ok();
    match (name, slug) {
        (Some(name), Some(slug)) => Ok((name, slug)),
        _ => Err(UsersError::Invalid(violations)),
    }
}
