//! Standard Webhooks signatures (https://www.standardwebhooks.com): the
//! secret is `whsec_` and the base64 of 32 random bytes; a signature is
//! `v1,` and the base64 of HMAC-SHA256 over `id.timestamp.body` with the
//! secret's bytes; `webhook-signature` lists one per secret in force,
//! separated by spaces.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{KeyInit as _, Mac as _};

use crate::ServiceError;

const PREFIX: &str = "whsec_";

/// A new secret: `whsec_…`.
pub fn new_secret() -> Result<String, ServiceError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|error| ServiceError::Internal(anyhow::anyhow!("no randomness: {error}")))?;
    Ok(format!("{PREFIX}{}", STANDARD.encode(bytes)))
}

/// The key bytes of a `whsec_` secret.
fn key(secret: &str) -> Result<Vec<u8>, ServiceError> {
    STANDARD
        .decode(secret.strip_prefix(PREFIX).unwrap_or(secret))
        .map_err(|_| ServiceError::Internal(anyhow::anyhow!("a webhook secret is not base64")))
}

/// `v1,<base64>` for one secret.
pub fn signature(
    secret: &str,
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<String, ServiceError> {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key(secret)?)
        .map_err(|_| ServiceError::Internal(anyhow::anyhow!("an HMAC key was refused")))?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Ok(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// The `webhook-signature` header: one signature per secret, space-separated.
pub fn header(
    secrets: &[String],
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<String, ServiceError> {
    let signatures: Result<Vec<String>, ServiceError> = secrets
        .iter()
        .map(|secret| signature(secret, id, timestamp, body))
        .collect();
    Ok(signatures?.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the specification's reference libraries.
    #[test]
    fn signs_as_the_reference_libraries_do() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            signature(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body).unwrap(),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
        let secret = new_secret().unwrap();
        assert!(secret.starts_with("whsec_") && key(&secret).unwrap().len() == 32);
    }
}
