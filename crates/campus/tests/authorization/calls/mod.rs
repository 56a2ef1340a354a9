//! A real, valid request for every method: one builder per method, by service. A builder sets
//! up what its call consumes (a fresh course to archive, a look-alike caller for a password
//! change) as the platform admin before the call, never inside it.

mod courses;
mod events;
mod finance;
mod materials;
mod progress;
mod users;

use campus_testkit::Error;

use crate::{
    policy::Target,
    probe::{Observed, Probe},
    world::{Person, Subject, Wire, World},
};

/// One cell of the table about to be called.
pub(crate) struct Cell<'w> {
    /// The world.
    pub(crate) world: &'w World,
    /// Watches the call.
    pub(crate) probe: &'w Probe,
    /// Whose data the call names.
    pub(crate) target: Target,
    /// The caller; `None` when anonymous.
    pub(crate) caller: Option<&'w Person>,
    /// What the call names.
    pub(crate) subject: Subject<'w>,
}

impl Cell<'_> {
    /// A channel with the caller's token (none when anonymous).
    pub(crate) fn wire(&self) -> Result<Wire, Error> {
        self.world
            .setup
            .wire(self.caller.map(|caller| caller.token.as_str()))
    }

    /// A channel with the platform admin's token, for setting up.
    pub(crate) fn setup(&self) -> Result<Wire, Error> {
        self.world.setup.setup()
    }

    /// A number no other call has used.
    pub(crate) fn unique(&self) -> u64 {
        self.world.setup.unique()
    }

    /// The caller's id, or empty when anonymous.
    pub(crate) fn caller_id(&self) -> String {
        self.caller
            .map(|caller| caller.id.clone())
            .unwrap_or_default()
    }
}

/// Calls `Service/Method` for `cell`; `None` when no builder knows the method.
pub(crate) async fn call(method: &str, cell: &Cell<'_>) -> Result<Option<Observed>, Error> {
    let (service, name) = method.split_once('/').unwrap_or_default();
    match service {
        "UsersService" => users::call(name, cell).await,
        "CoursesService" => courses::call(name, cell).await,
        "MaterialsService" => materials::call(name, cell).await,
        "EventsService" => events::call(name, cell).await,
        "ProgressService" => progress::call(name, cell).await,
        "FinanceService" => finance::call(name, cell).await,
        _ => Ok(None),
    }
}
