//! Password hashing with argon2id at OWASP's parameters (m = 19 MiB, t = 2, p = 1), on the
//! blocking pool and bounded by a semaphore, since each hash holds 19 MiB.

use std::sync::Arc;

use argon2::{
    Algorithm, Argon2, Params, PasswordHash, PasswordHasher as _, PasswordVerifier as _, Version,
    password_hash::{SaltString, rand_core::OsRng},
};
use tokio::sync::Semaphore;

use crate::error::UsersError;

/// Hashes and verifies passwords.
#[derive(Debug, Clone)]
pub(crate) struct Passwords {
    permits: Arc<Semaphore>,
}

/// A hash computed once, verified against when an email is unknown, so a login for an
/// unknown email takes as long as one for a known email.
const DECOY_PASSWORD: &str = "campus decoy password";

fn argon2() -> Result<Argon2<'static>, UsersError> {
    let params = Params::new(19 * 1024, 2, 1, None)
        .map_err(|e| UsersError::internal("password hashing", e))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

impl Passwords {
    /// At most `concurrency` hashes at once.
    pub(crate) fn new(concurrency: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
        }
    }

    /// The PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`) of `password`.
    pub(crate) async fn hash(&self, password: &str) -> Result<String, UsersError> {
        let password = password.to_owned();
        self.run(move || {
            let salt = SaltString::generate(&mut OsRng);
            argon2()?
                .hash_password(password.as_bytes(), &salt)
                .map(|hash| hash.to_string())
                .map_err(|e| UsersError::internal("password hashing", e))
        })
        .await
    }

    /// Whether `password` matches `hash`; with no hash (unknown user), spends the same time
    /// and answers false.
    pub(crate) async fn verify(
        &self,
        password: &str,
        hash: Option<&str>,
    ) -> Result<bool, UsersError> {
        let password = password.to_owned();
        let hash = hash.map(str::to_owned);
        self.run(move || {
            let argon2 = argon2()?;
            match hash {
                Some(hash) => {
                    let parsed = PasswordHash::new(&hash)
                        .map_err(|e| UsersError::internal("password hashing", e))?;
                    Ok(argon2.verify_password(password.as_bytes(), &parsed).is_ok())
                }
                None => {
                    let salt = SaltString::generate(&mut OsRng);
                    let _ = argon2.hash_password(DECOY_PASSWORD.as_bytes(), &salt);
                    Ok(false)
                }
            }
        })
        .await
    }

    async fn run<R: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<R, UsersError> + Send + 'static,
    ) -> Result<R, UsersError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| UsersError::internal("password hashing", e))?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| UsersError::internal("password hashing", e))?
    }
}
