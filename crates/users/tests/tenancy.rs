//! Tenancy: a school admin of school A can neither read, list nor change users of school B,
//! and never learns whether an id exists there.

mod common;

use campus_proto::users::{
    BatchGetUsersRequest, DeactivateUserRequest, GetUserRequest, ListSchoolsRequest,
    ListUsersRequest, Role, UpdateProfileRequest,
};
use campus_testkit::spawn_campus;
use common::{Error, as_user, code, school, user};
use tonic::Code;

#[tokio::test]
async fn a_school_admin_cannot_reach_another_schools_users() -> Result<(), Error> {
    let campus = spawn_campus().await?;
    let a = school(&campus, "school-a", false).await?;
    let b = school(&campus, "school-b", false).await?;
    let (_, admin_a) = user(&campus, &a, "admin@a.example", &[Role::SchoolAdmin]).await?;
    let (in_b, _) = user(&campus, &b, "pupil@b.example", &[Role::Student]).await?;
    let (in_a, _) = user(&campus, &a, "pupil@a.example", &[Role::Student]).await?;
    let mut users = as_user(&campus, &admin_a).await?;

    assert_eq!(
        code(
            users
                .get_user(GetUserRequest {
                    user_id: in_b.id.clone()
                })
                .await
        ),
        Code::NotFound
    );
    assert_eq!(
        code(
            users
                .get_user(GetUserRequest {
                    user_id: in_a.id.clone()
                })
                .await
        ),
        Code::Ok
    );
    let listed = users
        .list_users(ListUsersRequest {
            school_id: b.id.clone(),
            ..ListUsersRequest::default()
        })
        .await;
    assert_eq!(code(listed), Code::PermissionDenied);
    let renamed = users
        .update_profile(UpdateProfileRequest {
            user_id: in_b.id.clone(),
            display_name: Some("x".into()),
        })
        .await;
    assert_eq!(code(renamed), Code::NotFound);
    let deactivated = users
        .deactivate_user(DeactivateUserRequest {
            user_id: in_b.id.clone(),
            reason: String::new(),
        })
        .await;
    assert_eq!(code(deactivated), Code::NotFound);
    let batch = users
        .batch_get_users(BatchGetUsersRequest {
            user_ids: vec![in_a.id.clone(), in_b.id.clone()],
        })
        .await?
        .into_inner();
    assert_eq!(
        batch.users.iter().map(|u| u.id.clone()).collect::<Vec<_>>(),
        vec![in_a.id.clone()]
    );
    assert_eq!(batch.missing_user_ids, vec![in_b.id.clone()]);
    let schools = users
        .list_schools(ListSchoolsRequest::default())
        .await?
        .into_inner()
        .schools;
    assert_eq!(
        schools.iter().map(|s| s.id.clone()).collect::<Vec<_>>(),
        vec![a.id.clone()]
    );
    campus.shutdown().await
}

#[tokio::test]
async fn students_cannot_administer_their_school() -> Result<(), Error> {
    let campus = spawn_campus().await?;
    let a = school(&campus, "school-a", false).await?;
    let (_, student) = user(&campus, &a, "pupil@a.example", &[Role::Student]).await?;
    let (other, _) = user(&campus, &a, "other@a.example", &[Role::Student]).await?;
    let mut users = as_user(&campus, &student).await?;
    let listed = users
        .list_users(ListUsersRequest {
            school_id: a.id.clone(),
            ..ListUsersRequest::default()
        })
        .await;
    assert_eq!(code(listed), Code::PermissionDenied);
    let renamed = users
        .update_profile(UpdateProfileRequest {
            user_id: other.id.clone(),
            display_name: Some("x".into()),
        })
        .await;
    assert_eq!(code(renamed), Code::PermissionDenied);
    campus.shutdown().await
}

#[tokio::test]
async fn list_users_pages_through_a_school_and_filters_by_role() -> Result<(), Error> {
    let campus = spawn_campus().await?;
    let a = school(&campus, "school-a", false).await?;
    let (_, admin) = user(&campus, &a, "admin@a.example", &[Role::SchoolAdmin]).await?;
    for n in 0..5 {
        user(
            &campus,
            &a,
            &format!("pupil{n}@a.example"),
            &[Role::Student],
        )
        .await?;
    }
    user(&campus, &a, "teacher@a.example", &[Role::Instructor]).await?;
    let mut users = as_user(&campus, &admin).await?;
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = users
            .list_users(ListUsersRequest {
                school_id: a.id.clone(),
                role: Role::Student as i32,
                page_size: 2,
                page_token: token.clone(),
                ..ListUsersRequest::default()
            })
            .await?
            .into_inner();
        assert!(page.users.len() <= 2);
        seen.extend(page.users.into_iter().map(|u| u.email));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    seen.sort();
    assert_eq!(
        seen,
        (0..5)
            .map(|n| format!("pupil{n}@a.example"))
            .collect::<Vec<_>>()
    );
    campus.shutdown().await
}
