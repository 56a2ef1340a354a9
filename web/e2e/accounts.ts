// The accounts the end-to-end server has: its platform admin, and the demo's password.

/** The platform admin the end-to-end server creates and `campus demo` signs in as. */
export const ADMIN_EMAIL = "admin@campus.demo";
/** See [`ADMIN_EMAIL`]. */
export const ADMIN_PASSWORD = "e2e admin password";
/** The password of every account `campus demo` creates. */
export const DEMO_PASSWORD = "campus demo 2026";
