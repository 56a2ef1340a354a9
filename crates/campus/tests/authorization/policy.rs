//! The policy: for every method, the outcome for each principal on each target.
//!
//! One line per method: its `Service/Method`, then one column per principal in the order of
//! [`Principal::ALL`], each three letters for the targets own, same school and other school:
//!
//! - `A` answered, and the answer holds the target's data
//! - `E` answered without the target's data (a list scoped to the caller), nothing written
//! - `U` UNAUTHENTICATED, `P` PERMISSION_DENIED, `N` NOT_FOUND, `F` FAILED_PRECONDITION,
//!   `I` INVALID_ARGUMENT: refused, nothing returned, nothing written
//! - `-` no such target (the anonymous caller owns nothing; ChangePassword names no one else)
//!
//! Methods that name no target (creating a school, an account, a category; the key set) are
//! called the same way for all three, and the answer must name the caller or what was made.

use tonic::Code;

/// Who calls. The learner takes school A's first course, which the instructor teaches; the
/// other learner and the other instructor take and teach A's second course.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Principal {
    /// No token.
    Anonymous,
    /// A learner of school A.
    Learner,
    /// Another learner of school A.
    OtherLearner,
    /// The instructor of the learner's course.
    Instructor,
    /// Another instructor of school A.
    OtherInstructor,
    /// School A's admin.
    SchoolAdmin,
    /// School B's admin.
    OtherSchoolAdmin,
    /// The platform admin.
    PlatformAdmin,
}

impl Principal {
    /// The table's columns, in order.
    pub(crate) const ALL: [Self; 8] = [
        Self::Anonymous,
        Self::Learner,
        Self::OtherLearner,
        Self::Instructor,
        Self::OtherInstructor,
        Self::SchoolAdmin,
        Self::OtherSchoolAdmin,
        Self::PlatformAdmin,
    ];
}

/// Whose data a call names, seen from the principal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// The principal's own (their profile, money, progress; the course they take or teach).
    Own,
    /// Someone else's in the principal's school.
    SameSchool,
    /// Someone's in another school.
    OtherSchool,
}

impl Target {
    /// The three letters of a column, in order.
    pub(crate) const ALL: [Self; 3] = [Self::Own, Self::SameSchool, Self::OtherSchool];
}

/// The letter of an outcome: `A` or `E` for an answer with or without the target's data, else
/// the letter of the refusal's code, `?` for a code the table never expects.
pub(crate) fn letter(answer: &Result<bool, Code>) -> char {
    match answer {
        Ok(true) => 'A',
        Ok(false) => 'E',
        Err(Code::Unauthenticated) => 'U',
        Err(Code::PermissionDenied) => 'P',
        Err(Code::NotFound) => 'N',
        Err(Code::FailedPrecondition) => 'F',
        Err(Code::InvalidArgument) => 'I',
        Err(_) => '?',
    }
}

/// One method's line of the table.
#[derive(Debug)]
pub(crate) struct Row {
    /// `Service/Method`, e.g. `UsersService/GetUser`.
    pub(crate) method: &'static str,
    /// Per principal, the letters for own, same school, other school.
    pub(crate) cells: Vec<[char; 3]>,
}

impl Row {
    /// The expected letter for `principal` on `target`.
    pub(crate) fn expected(&self, principal: Principal, target: Target) -> char {
        let column = Principal::ALL
            .iter()
            .position(|p| *p == principal)
            .unwrap_or_default();
        let index = Target::ALL
            .iter()
            .position(|t| *t == target)
            .unwrap_or_default();
        self.cells[column][index]
    }
}

/// The table, parsed; a malformed line is an error naming it.
pub(crate) fn table() -> Result<Vec<Row>, String> {
    TABLE
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let mut words = line.split_whitespace();
            let method = words.next().unwrap_or_default();
            let cells = words
                .map(|cell| {
                    let letters: Vec<char> = cell.chars().collect();
                    let valid =
                        letters.len() == 3 && letters.iter().all(|c| "AEUPNFI-".contains(*c));
                    valid
                        .then(|| [letters[0], letters[1], letters[2]])
                        .ok_or_else(|| format!("bad cell {cell:?} in {line:?}"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            if cells.len() == Principal::ALL.len() {
                Ok(Row { method, cells })
            } else {
                Err(format!("{line:?} has {} cells, not 8", cells.len()))
            }
        })
        .collect()
}

/// The policy. Columns: anonymous, learner, other learner, instructor of the course, other
/// instructor, school admin, other school's admin, platform admin.
const TABLE: &str = "
# method                                anon lrn  lrn2 inst ins2 sadm oadm padm
# Schools and users: members see their school; its admins manage it; the platform admin all.
UsersService/CreateSchool               -UU PPP PPP PPP PPP PPP PPP AAA
UsersService/GetSchool                  -AA AAA AAA AAA AAA AAA AAA AAA
UsersService/ListSchools                -UU AAE AAE AAE AAE AAE AAE AAA
UsersService/RegisterUser               -AA AAA AAA AAA AAA AAA AAA AAA
UsersService/CreateUser                 -UU PPP PPP PPP PPP AAP AAP AAA
UsersService/GetUser                    -UU AAN AAN AAN AAN AAN AAN AAA
UsersService/BatchGetUsers              -UU AAE AAE AAE AAE AAE AAE AAA
UsersService/ListUsers                  -UU PPP PPP PPP PPP AAP AAP EAA
UsersService/UpdateProfile              -UU APN APN APN APN AAN AAN AAA
UsersService/ChangePassword             -UU A-- A-- A-- A-- A-- A-- A--
UsersService/DeactivateUser             -UU PPN PPN PPN PPN AAN AAN AAA
UsersService/Login                      -AA AAA AAA AAA AAA AAA AAA AAA
UsersService/RefreshToken               -AA AAA AAA AAA AAA AAA AAA AAA
UsersService/Logout                     -AA AAA AAA AAA AAA AAA AAA AAA
UsersService/GetJwks                    -AA AAA AAA AAA AAA AAA AAA AAA
# Courses: a school's published catalogue is open to its members; a course's instructor and
# the school's admins change it; a draft is NOT_FOUND to everyone else. Staff (instructors,
# admins) see a learner's enrolments in their school.
CoursesService/CreateCourse             -UU PPP PPP APP APP AAP AAP AAA
CoursesService/GetCourse                -UU AAN AAN AAN AAN AAN AAN AAA
CoursesService/UpdateCourse             -UU PPN PPN APN APN AAN AAN AAA
CoursesService/PublishCourse            -UU NNN NNN ANN ANN AAN AAN AAA
CoursesService/ArchiveCourse            -UU PPN PPN APN APN AAN AAN AAA
CoursesService/ListCourses              -UU AAP AAP AAP AAP AAP AAP AAA
CoursesService/AddLesson                -UU PPN PPN APN APN AAN AAN AAA
CoursesService/ReorderLessons           -UU PPN PPN APN APN AAN AAN AAA
CoursesService/UpdateLesson             -UU PPN PPN APN APN AAN AAN AAA
CoursesService/RemoveLesson             -UU PPN PPN APN APN AAN AAN AAA
CoursesService/ListLessons              -UU AAN AAN AAN AAN AAN AAN AAA
CoursesService/Enroll                   -UU APN APN APN APN AAN AAN AAA
CoursesService/Unenroll                 -UU APN APN APN APN AAN AAN AAA
CoursesService/ListEnrollments          -UU APP APP AAE AAE AAE AAE AAA
CoursesService/ListCoursesForUser       -UU APP APP AAE AAE AAE AAE AAA
# Materials: the course's staff and admins change them; its enrolled learners read them; a
# course the caller neither teaches nor takes is NOT_FOUND. Uploads are their uploader's alone.
MaterialsService/UploadResource         -UU PNN PNN ANN ANN AAN AAN AAA
MaterialsService/StartUpload            -UU PNN PNN ANN ANN AAN AAN AAA
MaterialsService/AppendUpload           -UU NNN NNN ANN ANN NNN NNN NNN
MaterialsService/GetUpload              -UU NNN NNN ANN ANN NNN NNN NNN
MaterialsService/FinishUpload           -UU NNN NNN ANN ANN NNN NNN NNN
MaterialsService/ListResources          -UU ANN ANN ANN ANN AAN AAN AAA
MaterialsService/DeleteResource         -UU PNN PNN ANN ANN AAN AAN AAA
MaterialsService/DownloadResource       -UU ANN ANN ANN ANN AAN AAN AAA
MaterialsService/GetDownloadUrl         -UU ANN ANN ANN ANN AAN AAN AAA
MaterialsService/GetResourceStats       -UU PNN PNN ANN ANN AAN AAN AAA
# Events (rows act on an event of a course): its members see and answer it; its staff and
# admins change it and list who comes; announcing in another school is PERMISSION_DENIED, as
# for courses. Upcoming events are the caller's school's (none for the platform admin, who
# belongs to none); the calendar URL is the caller's own.
EventsService/CreateEvent               -UU PNP PNP ANP ANP AAP AAP AAA
EventsService/UpdateEvent               -UU PNN PNN ANN ANN AAN AAN AAA
EventsService/CancelEvent               -UU PNN PNN ANN ANN AAN AAN AAA
EventsService/GetEvent                  -UU ANN ANN ANN ANN AAN AAN AAA
EventsService/ListUpcomingEvents        -UU AEE AEE AEE AEE AAE AAE EEE
EventsService/RespondToEvent            -UU ANN ANN ANN ANN AAN AAN AAA
EventsService/ListAttendees             -UU PNN PNN ANN ANN AAN AAN AAA
EventsService/GetCalendarUrl            -UU AAA AAA AAA AAA AAA AAA AAA
# Progress and attendance: learners their own; instructors the courses they teach; admins
# their school. A list scoped to someone else's courses answers without them. Progress
# summaries, like course lists, are open to the school's staff.
ProgressService/RecordLessonProgress    -UU APN APN APN APN AAN AAN AAA
ProgressService/GetCourseProgress       -UU APN APN APN APN AAN AAN AAA
ProgressService/BatchGetProgress        -UU APP APP AAE AAE AAE AAE AAA
ProgressService/CreateAttendanceSession -UU PPN PPN APN APN AAN AAN AAA
ProgressService/ListAttendanceSessions  -UU APN APN APN APN AAN AAN AAA
ProgressService/MarkAttendance          -UU PPN PPN APN APN AAN AAN AAA
ProgressService/BatchMarkAttendance     -UU PPN PPN APN APN AAN AAN AAA
ProgressService/ListAttendance          -UU APP APP AEE AEE AAE AAE AAA
ProgressService/GetAttendanceSummary    -UU PPP PPP APP APP AAP AAP AAA
ProgressService/WatchAttendance         -UU PPN PPN APN APN AAN AAN AAA
# Finance: the caller's own money only, for everyone, admins included; another user's id is
# NOT_FOUND, and as a filter matches nothing.
FinanceService/CreateAccount            -UU AAA AAA AAA AAA AAA AAA AAA
FinanceService/GetAccount               -UU ANN ANN ANN ANN ANN ANN ANN
FinanceService/ListAccounts             -UU AEE AEE AEE AEE AEE AEE AEE
FinanceService/RenameAccount            -UU ANN ANN ANN ANN ANN ANN ANN
FinanceService/CloseAccount             -UU ANN ANN ANN ANN ANN ANN ANN
FinanceService/CreateCategory           -UU AAA AAA AAA AAA AAA AAA AAA
FinanceService/ListCategories           -UU AEE AEE AEE AEE AEE AEE AEE
FinanceService/CreateTransaction        -UU ANN ANN ANN ANN ANN ANN ANN
FinanceService/UpdateTransaction        -UU ANN ANN ANN ANN ANN ANN ANN
FinanceService/DeleteTransaction        -UU ANN ANN ANN ANN ANN ANN ANN
FinanceService/GetTransaction           -UU ANN ANN ANN ANN ANN ANN ANN
FinanceService/ListTransactions         -UU AEE AEE AEE AEE AEE AEE AEE
FinanceService/CreateTransfer           -UU ANN ANN ANN ANN ANN ANN ANN
FinanceService/ListTransfers            -UU AEE AEE AEE AEE AEE AEE AEE
FinanceService/GetBalance               -UU ANN ANN ANN ANN ANN ANN ANN
FinanceService/ImportTransactions       -UU AEE AEE AEE AEE AEE AEE AEE
FinanceService/BatchImportTransactions  -UU AEE AEE AEE AEE AEE AEE AEE
FinanceService/SetBudget                -UU ANN ANN ANN ANN ANN ANN ANN
FinanceService/ListBudgets              -UU AEE AEE AEE AEE AEE AEE AEE
FinanceService/GetAnalytics             -UU AEE AEE AEE AEE AEE AEE AEE
FinanceService/WatchAnalytics           -UU AEE AEE AEE AEE AEE AEE AEE
";
