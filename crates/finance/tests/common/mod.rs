//! Set-up shared by the finance tests: users with their own tokens, accounts, categories.

#![allow(dead_code, unreachable_pub, unused_imports)]

use campus_proto::{
    finance::{
        Account, AccountKind, CreateAccountRequest, ListCategoriesRequest, Money, TransactionKind,
        finance_service_client::FinanceServiceClient,
    },
    users::{
        CreateSchoolRequest, CreateUserRequest, Role, users_service_client::UsersServiceClient,
    },
};
use campus_store::{Database, DatabaseConfig};
use campus_testkit::{AuthedChannel, TestCampus};
use clap::Parser as _;

pub type Error = campus_testkit::Error;

const PASSWORD: &str = "a long enough password";

pub async fn finance_as(
    campus: &TestCampus,
    token: &str,
) -> Result<FinanceServiceClient<AuthedChannel>, Error> {
    Ok(FinanceServiceClient::new(campus.channel_as(token).await?))
}

/// A new user of a new school; returns their token.
pub async fn user(campus: &TestCampus, name: &str) -> Result<String, Error> {
    let admin = campus.platform_admin_token().await?;
    let mut users = UsersServiceClient::new(campus.channel_as(&admin).await?);
    let school = users
        .create_school(CreateSchoolRequest {
            request_id: String::new(),
            name: format!("School of {name}"),
            slug: format!("school-{name}"),
            self_sign_up_enabled: false,
        })
        .await?
        .into_inner()
        .school
        .ok_or("no school")?;
    let email = format!("{name}@example.org");
    users
        .create_user(CreateUserRequest {
            request_id: String::new(),
            school_id: school.id.clone(),
            email: email.clone(),
            display_name: name.to_owned(),
            roles: vec![Role::Student as i32],
            initial_password: PASSWORD.to_owned(),
        })
        .await?;
    campus.login(&school.id, &email, PASSWORD).await
}

pub fn eur(amount_minor: i64) -> Option<Money> {
    Some(Money {
        amount_minor,
        currency: "EUR".into(),
    })
}

pub async fn account(
    client: &mut FinanceServiceClient<AuthedChannel>,
    name: &str,
    opening: i64,
) -> Result<Account, Error> {
    Ok(client
        .create_account(CreateAccountRequest {
            request_id: String::new(),
            name: name.to_owned(),
            kind: AccountKind::Bank as i32,
            currency: "EUR".into(),
            opening_balance_minor: opening,
        })
        .await?
        .into_inner()
        .account
        .ok_or("no account")?)
}

/// The id of the caller's default category `name` of `kind`.
pub async fn category(
    client: &mut FinanceServiceClient<AuthedChannel>,
    name: &str,
    kind: TransactionKind,
) -> Result<String, Error> {
    let categories = client
        .list_categories(ListCategoriesRequest {
            kind: kind as i32,
            page_size: 200,
            ..ListCategoriesRequest::default()
        })
        .await?
        .into_inner()
        .categories;
    Ok(categories
        .into_iter()
        .find(|c| c.name == name)
        .ok_or("no such category")?
        .id)
}

#[derive(Debug, clap::Parser)]
struct Flags {
    #[command(flatten)]
    database: DatabaseConfig,
}

/// A pool on the server's database, for checks the API does not offer.
pub async fn database(campus: &TestCampus) -> Result<Database, Error> {
    let flags = Flags::try_parse_from(["test", "--database-url", campus.database_url()])?;
    Ok(Database::connect_lazy(&flags.database)?)
}

pub use campus_testkit::code;
