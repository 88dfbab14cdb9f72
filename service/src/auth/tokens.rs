//! Random secrets and their digests. Secrets go to the client once; only
//! their SHA-256 is stored, so a copy of the database cannot be replayed.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};

use crate::ServiceError;

/// `bytes` of OS randomness, base64url without padding.
pub fn random(bytes: usize) -> Result<String, ServiceError> {
    let mut buffer = vec![0_u8; bytes];
    getrandom::fill(&mut buffer)
        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("the OS random source failed: {e}")))?;
    Ok(URL_SAFE_NO_PAD.encode(buffer))
}

pub fn digest(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_distinct_and_url_safe() {
        let a = random(32).expect("random");
        let b = random(32).expect("random");
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
        assert_eq!(digest(&a).len(), 32);
        assert_eq!(digest(&a), digest(&a));
    }
}
