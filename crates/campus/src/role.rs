//! Which services one process runs, and what that means for health, peers and migrations.

use campus_store::Migrations;

/// The services a `campus serve` process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Role {
    /// Every service in one process on one port (the all-in-one mode).
    All,
    /// Schools, accounts, login and token keys.
    Users,
    /// Course catalogue, lessons and enrolment.
    Courses,
    /// Lesson progress and attendance.
    Progress,
    /// Accounts, transactions and analytics.
    Finance,
    /// The dashboard's files and health only, behind the edge that routes each service's
    /// paths to its own Deployment; needs no database.
    Web,
}

impl Role {
    /// The single-service roles, in the order they are added to a server.
    pub const SERVICES: [Role; 4] = [Role::Users, Role::Courses, Role::Progress, Role::Finance];

    /// Whether a process in this role serves `service`.
    pub fn serves(self, service: Role) -> bool {
        self == Role::All || self == service
    }

    /// The lower-case name used in commands and span service names.
    pub fn name(self) -> &'static str {
        match self {
            Role::All => "all",
            Role::Users => "users",
            Role::Courses => "courses",
            Role::Progress => "progress",
            Role::Finance => "finance",
            Role::Web => "web",
        }
    }

    /// The service name on this process's spans: `campus` for all-in-one, else
    /// `campus-<service>`.
    pub fn service_name(self) -> String {
        match self {
            Role::All => "campus".to_owned(),
            Role::Users | Role::Courses | Role::Progress | Role::Finance | Role::Web => {
                format!("campus-{}", self.name())
            }
        }
    }

    /// The migrations a database serving this role needs: the store's event tables, then
    /// each service's own (services add theirs as their issues land).
    pub fn migrations(self) -> Vec<Migrations> {
        let mut migrations = vec![campus_store::MIGRATIONS];
        if self.serves(Role::Users) {
            migrations.push(campus_users::MIGRATIONS);
        }
        if self.serves(Role::Courses) {
            migrations.push(campus_courses::MIGRATIONS);
        }
        if self.serves(Role::Progress) {
            migrations.push(campus_progress::MIGRATIONS);
        }
        if self.serves(Role::Finance) {
            migrations.push(campus_finance::MIGRATIONS);
        }
        migrations
    }
}
