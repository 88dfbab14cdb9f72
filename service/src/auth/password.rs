//! Password rules and argon2id hashing. Hashing is slow on purpose, so it
//! runs on the blocking pool, never on the async workers.

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};

use crate::ServiceError;

pub const MIN_CHARS: usize = 10;
/// Bounds the work an attacker can ask of the hasher.
pub const MAX_CHARS: usize = 128;

/// Rejects the obviously weak: too short, too long, or easy to guess given
/// the account's own email and name (zxcvbn score below 3 of 4).
pub fn check(password: &str, personal: &[&str]) -> Result<(), ServiceError> {
    let chars = password.chars().count();
    if chars < MIN_CHARS {
        return Err(ServiceError::invalid(
            "password",
            format!("must be at least {MIN_CHARS} characters"),
        ));
    }
    if chars > MAX_CHARS {
        return Err(ServiceError::invalid(
            "password",
            format!("must be at most {MAX_CHARS} characters"),
        ));
    }
    let estimate = zxcvbn::zxcvbn(password, personal);
    if (estimate.score() as u8) < 3 {
        let hint = estimate
            .feedback()
            .and_then(|f| f.warning())
            .map(|w| format!(" ({w})"))
            .unwrap_or_default();
        return Err(ServiceError::invalid(
            "password",
            format!("is too easy to guess{hint}; try a longer phrase of unrelated words"),
        ));
    }
    Ok(())
}

pub async fn hash(password: String) -> Result<String, ServiceError> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|e| ServiceError::Internal(anyhow::anyhow!("hashing a password: {e}")))
    })
    .await
    .map_err(|e| ServiceError::Internal(anyhow::anyhow!("the hashing task failed: {e}")))?
}

/// Whether `password` matches `stored`. Without a stored hash it still does
/// the same work against a dummy, so timing does not tell whether an account
/// exists.
pub async fn verify(password: String, stored: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        let stored = stored.unwrap_or_else(|| dummy_hash().to_owned());
        let Ok(parsed) = PasswordHash::new(&stored) else {
            return false;
        };
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
    .await
    .unwrap_or(false)
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        Argon2::default()
            .hash_password(b"no account has this password")
            .map(|hash| hash.to_string())
            .unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_passwords_are_refused_with_the_field_named() {
        for weak in [
            "short",
            "password123",
            "qwertyuiop",
            "aaaaaaaaaaaa",
            "ada@example.com1",
        ] {
            let error = check(weak, &["ada@example.com", "Ada Lovelace"]).expect_err(weak);
            assert!(
                matches!(
                    error,
                    ServiceError::Invalid {
                        field: "password",
                        ..
                    }
                ),
                "{weak}"
            );
        }
        assert!(check(&"x".repeat(MAX_CHARS + 1), &[]).is_err());
        check("correct horse battery staple", &[]).expect("a strong passphrase");
    }

    #[tokio::test]
    async fn hashes_verify_and_are_argon2id() {
        let hash = hash("correct horse battery staple".into())
            .await
            .expect("hash");
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify("correct horse battery staple".into(), Some(hash.clone())).await);
        assert!(!verify("wrong horse battery staple".into(), Some(hash)).await);
        assert!(!verify("anything".into(), None).await);
    }
}
