//! The users service's SQL, written once for SQLite and PostgreSQL (see `campus_store::on_pool!`).
//! Every list is one statement whatever its page size.

use campus_store::{Database, Tx, on_pool, on_tx, placeholders};

pub(crate) use campus_store::now_micros;

/// A school as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct SchoolRow {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) slug: String,
    pub(crate) self_sign_up: bool,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
}

/// A user as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct UserRow {
    pub(crate) id: String,
    pub(crate) school_id: Option<String>,
    pub(crate) email: String,
    pub(crate) display_name: String,
    pub(crate) roles: i64,
    pub(crate) status: i64,
    pub(crate) password_hash: String,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
    pub(crate) deactivated_at: Option<i64>,
}

/// A refresh token as stored (its hash only).
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct RefreshRow {
    pub(crate) id: String,
    pub(crate) family_id: String,
    pub(crate) user_id: String,
    pub(crate) expires_at: i64,
    pub(crate) used_at: Option<i64>,
    pub(crate) revoked_at: Option<i64>,
}

const SCHOOL_COLUMNS: &str = "id, name, slug, self_sign_up, created_at, updated_at";
const USER_COLUMNS: &str = "id, school_id, email, display_name, roles, status, password_hash, \
                            created_at, updated_at, deactivated_at";

pub(crate) async fn insert_school(tx: &mut Tx, school: &SchoolRow) -> Result<(), sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query(
            "INSERT INTO schools (id, name, slug, self_sign_up, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&school.id)
        .bind(&school.name)
        .bind(&school.slug)
        .bind(school.self_sign_up)
        .bind(school.created_at)
        .bind(school.updated_at)
        .execute(conn)
        .await
        .map(|_| ())
    })
}

pub(crate) async fn school_by(
    database: &Database,
    column: &str,
    value: &str,
) -> Result<Option<SchoolRow>, sqlx::Error> {
    let column = if column == "slug" { "slug" } else { "id" };
    let sql = format!("SELECT {SCHOOL_COLUMNS} FROM schools WHERE {column} = $1");
    on_pool!(database, pool => {
        sqlx::query_as::<_, SchoolRow>(&sql).bind(value).fetch_optional(pool).await
    })
}

/// One page of schools by (name, id) after the cursor; `only` limits it to one school.
pub(crate) async fn list_schools(
    database: &Database,
    after: Option<(String, String)>,
    only: Option<&str>,
    limit: u32,
) -> Result<Vec<SchoolRow>, sqlx::Error> {
    let (after_name, after_id) = after.unwrap_or_default();
    let sql = format!(
        "SELECT {SCHOOL_COLUMNS} FROM schools \
         WHERE (name > $1 OR (name = $1 AND id > $2)) AND ($3 = '' OR id = $3) \
         ORDER BY name, id LIMIT $4"
    );
    on_pool!(database, pool => {
        sqlx::query_as::<_, SchoolRow>(&sql)
            .bind(&after_name)
            .bind(&after_id)
            .bind(only.unwrap_or(""))
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await
    })
}

pub(crate) async fn insert_user(tx: &mut Tx, user: &UserRow) -> Result<(), sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query(
            "INSERT INTO users (id, school_id, school_key, email, display_name, roles, status, \
             password_hash, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&user.id)
        .bind(&user.school_id)
        .bind(user.school_id.as_deref().unwrap_or(""))
        .bind(&user.email)
        .bind(&user.display_name)
        .bind(user.roles)
        .bind(user.status)
        .bind(&user.password_hash)
        .bind(user.created_at)
        .bind(user.updated_at)
        .execute(conn)
        .await
        .map(|_| ())
    })
}

pub(crate) async fn user_by_id(
    database: &Database,
    id: &str,
) -> Result<Option<UserRow>, sqlx::Error> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
    on_pool!(database, pool => {
        sqlx::query_as::<_, UserRow>(&sql).bind(id).fetch_optional(pool).await
    })
}

/// The user with `email` in a school (`""` for platform admins).
pub(crate) async fn user_by_email(
    database: &Database,
    school_key: &str,
    email: &str,
) -> Result<Option<UserRow>, sqlx::Error> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE school_key = $1 AND email = $2");
    on_pool!(database, pool => {
        sqlx::query_as::<_, UserRow>(&sql).bind(school_key).bind(email).fetch_optional(pool).await
    })
}

/// Users by id, in one statement.
pub(crate) async fn users_by_ids(
    database: &Database,
    ids: &[String],
) -> Result<Vec<UserRow>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {USER_COLUMNS} FROM users WHERE id IN ({})",
        placeholders(1, ids.len())
    );
    on_pool!(database, pool => {
        let mut query = sqlx::query_as::<_, UserRow>(&sql);
        for id in ids {
            query = query.bind(id);
        }
        query.fetch_all(pool).await
    })
}

/// One page of a school's users by id, filtered by role bit and status (0 = any).
pub(crate) async fn list_users(
    database: &Database,
    school_id: &str,
    role_bits: i64,
    status: i64,
    after_id: &str,
    limit: u32,
) -> Result<Vec<UserRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {USER_COLUMNS} FROM users \
         WHERE school_key = $1 AND id > $2 AND ($3 = 0 OR (roles & $3) <> 0) AND ($4 = 0 OR status = $4) \
         ORDER BY id LIMIT $5"
    );
    on_pool!(database, pool => {
        sqlx::query_as::<_, UserRow>(&sql)
            .bind(school_id)
            .bind(after_id)
            .bind(role_bits)
            .bind(status)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await
    })
}

pub(crate) async fn update_display_name(
    tx: &mut Tx,
    id: &str,
    name: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query("UPDATE users SET display_name = $1, updated_at = $2 WHERE id = $3")
            .bind(name)
            .bind(now)
            .bind(id)
            .execute(conn)
            .await
            .map(|_| ())
    })
}

pub(crate) async fn update_password(
    tx: &mut Tx,
    id: &str,
    hash: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
            .bind(hash)
            .bind(now)
            .bind(id)
            .execute(conn)
            .await
            .map(|_| ())
    })
}

/// Deactivates a user; returns whether they were active.
pub(crate) async fn deactivate(
    tx: &mut Tx,
    id: &str,
    status: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query(
            "UPDATE users SET status = $1, deactivated_at = $2, updated_at = $2 \
             WHERE id = $3 AND deactivated_at IS NULL",
        )
        .bind(status)
        .bind(now)
        .bind(id)
        .execute(conn)
        .await
        .map(|done| done.rows_affected() == 1)
    })
}

/// Stores a refresh token's hash.
pub(crate) async fn insert_refresh(
    tx: &mut Tx,
    id: &str,
    family_id: &str,
    user_id: &str,
    token_hash: &str,
    now: i64,
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query(
            "INSERT INTO refresh_tokens (id, family_id, user_id, token_hash, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(family_id)
        .bind(user_id)
        .bind(token_hash)
        .bind(now)
        .bind(expires_at)
        .execute(conn)
        .await
        .map(|_| ())
    })
}

pub(crate) async fn refresh_by_hash(
    tx: &mut Tx,
    token_hash: &str,
) -> Result<Option<RefreshRow>, sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query_as::<_, RefreshRow>(
            "SELECT id, family_id, user_id, expires_at, used_at, revoked_at \
             FROM refresh_tokens WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(conn)
        .await
    })
}

/// Marks a token used if nobody did first; false means it was already used or revoked.
pub(crate) async fn use_refresh(tx: &mut Tx, id: &str, now: i64) -> Result<bool, sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query(
            "UPDATE refresh_tokens SET used_at = $1 WHERE id = $2 AND used_at IS NULL AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(id)
        .execute(conn)
        .await
        .map(|done| done.rows_affected() == 1)
    })
}

pub(crate) async fn revoke_family(
    tx: &mut Tx,
    family_id: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query("UPDATE refresh_tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(family_id)
            .execute(conn)
            .await
            .map(|_| ())
    })
}

/// The sessions (refresh token families) of `user_id` that issued a token at `since` or
/// later.
pub(crate) async fn sessions_since(
    tx: &mut Tx,
    user_id: &str,
    since: i64,
) -> Result<Vec<String>, sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query_scalar(
            "SELECT DISTINCT family_id FROM refresh_tokens WHERE user_id = $1 AND created_at >= $2",
        )
        .bind(user_id)
        .bind(since)
        .fetch_all(conn)
        .await
    })
}

pub(crate) async fn revoke_user_tokens(
    tx: &mut Tx,
    user_id: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query("UPDATE refresh_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(user_id)
            .execute(conn)
            .await
            .map(|_| ())
    })
}
