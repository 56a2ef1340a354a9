//! `campus finance import FILE.csv`: rows stream to ImportTransactions; a bad row is reported
//! with its line number and importing the file again adds nothing.

use campus_proto::{
    finance::{
        AccountKind, CreateAccountRequest, GetBalanceRequest, ListCategoriesRequest,
        TransactionKind, finance_service_client::FinanceServiceClient,
    },
    users::{
        CreateSchoolRequest, CreateUserRequest, Role, users_service_client::UsersServiceClient,
    },
};
use campus_testkit::{Error, spawn_campus};

#[tokio::test]
async fn a_csv_file_imports_once_and_reports_bad_lines() -> Result<(), Error> {
    let campus = spawn_campus().await?;
    let admin = campus.platform_admin_token().await?;
    let mut users = UsersServiceClient::new(campus.channel_as(&admin).await?);
    let school = users
        .create_school(CreateSchoolRequest {
            request_id: String::new(),
            name: "Hill".into(),
            slug: "hill".into(),
            self_sign_up_enabled: false,
        })
        .await?
        .into_inner()
        .school
        .ok_or("no school")?;
    users
        .create_user(CreateUserRequest {
            request_id: String::new(),
            school_id: school.id.clone(),
            email: "ada@example.org".into(),
            display_name: "Ada".into(),
            roles: vec![Role::Student as i32],
            initial_password: "a long enough password".into(),
        })
        .await?;
    let token = campus
        .login(&school.id, "ada@example.org", "a long enough password")
        .await?;
    let mut finance = FinanceServiceClient::new(campus.channel_as(&token).await?);
    let account = finance
        .create_account(CreateAccountRequest {
            request_id: String::new(),
            name: "Cash".into(),
            kind: AccountKind::Cash as i32,
            currency: "EUR".into(),
            opening_balance_minor: 0,
        })
        .await?
        .into_inner()
        .account
        .ok_or("no account")?;
    let food = finance
        .list_categories(ListCategoriesRequest {
            kind: TransactionKind::Expense as i32,
            page_size: 200,
            ..ListCategoriesRequest::default()
        })
        .await?
        .into_inner()
        .categories
        .into_iter()
        .find(|c| c.name == "Food")
        .ok_or("no Food category")?;

    let dir = std::env::temp_dir().join(format!("campus-import-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let file = dir.join("transactions.csv");
    let mut csv = String::from(
        "idempotency_key,account_id,category_id,kind,amount_minor,currency,description,occurred_at\n",
    );
    for n in 1..=5 {
        let amount = if n == 3 { "-7" } else { "250" };
        csv.push_str(&format!(
            "row-{n},{},{},expense,{amount},EUR,Lunch {n},2026-11-0{n}T12:00:00Z\n",
            account.id, food.id
        ));
    }
    std::fs::write(&file, csv)?;

    let remote = campus::remote::Remote {
        addr: campus.url(),
        token: token.clone(),
    };
    let first = campus::finance_cli::import(&file, &remote).await?;
    assert_eq!(first.accepted_count, 4);
    assert_eq!(
        first
            .rejected_rows
            .iter()
            .map(|r| r.line_number)
            .collect::<Vec<_>>(),
        [4],
        "row 3 is line 4 of the file"
    );
    let again = campus::finance_cli::import(&file, &remote).await?;
    assert_eq!((again.accepted_count, again.duplicate_count), (0, 4));
    let balance = finance
        .get_balance(GetBalanceRequest {
            account_id: account.id.clone(),
        })
        .await?
        .into_inner();
    assert_eq!(
        balance.accounts[0].balance.as_ref().map(|m| m.amount_minor),
        Some(-1_000)
    );
    let _ = std::fs::remove_dir_all(dir);
    campus.shutdown().await
}
