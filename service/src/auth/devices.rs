//! Device cookies (OWASP's defence against lock-out by strangers): a
//! browser that signed in to an account gets a cookie, signed by the
//! server, naming that account's address. Failed sign-ins from elsewhere
//! slow down the account, but a browser showing such a cookie for the
//! address it signs in to is judged on its own failures only, so the owner
//! is never locked out by someone else's guessing.
//!
//! The cookie is `<payload>.<signature>`, both base64url: the payload is a
//! 16-byte tag of the address and the account's credentials epoch (an
//! HMAC, so the cookie shows neither), 16 random bytes naming the device,
//! and the time it was issued. A reset, a password change or a new address
//! bumps the epoch (`users.credentials_epoch`), so every device known
//! before is a stranger again.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::ServiceError;

/// How long a device stays known without signing in again.
pub const LIFETIME_DAYS: i64 = 365;
const TAG_BYTES: usize = 16;
const NONCE_BYTES: usize = 16;
const PAYLOAD_BYTES: usize = TAG_BYTES + NONCE_BYTES + 8;

/// A browser that signed in to the address before.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Device(pub [u8; NONCE_BYTES]);

/// Issues and checks device cookies with a key of their own, derived from
/// the server's secrets key.
pub struct Devices {
    key: [u8; 32],
}

impl std::fmt::Debug for Devices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Devices(..)")
    }
}

fn mac(key: &[u8]) -> Hmac<Sha256> {
    // HMAC takes a key of any length.
    #[allow(clippy::expect_used)]
    Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts any key length")
}

impl Devices {
    pub fn new(secrets_key: &[u8; 32]) -> Self {
        let mut derive = mac(secrets_key);
        derive.update(b"agentdeck device cookie v1");
        Self {
            key: derive.finalize().into_bytes().into(),
        }
    }

    fn tag(&self, email: &str, epoch: i32) -> [u8; TAG_BYTES] {
        let mut tag = mac(&self.key);
        tag.update(b"address:");
        tag.update(email.trim().to_lowercase().as_bytes());
        tag.update(b"\0epoch:");
        tag.update(&epoch.to_be_bytes());
        let mut out = [0; TAG_BYTES];
        out.copy_from_slice(&tag.finalize().into_bytes()[..TAG_BYTES]);
        out
    }

    /// A cookie for a browser that just signed in as `email`, whose
    /// account is at credentials `epoch`.
    pub fn issue(&self, email: &str, epoch: i32) -> Result<String, ServiceError> {
        let mut nonce = [0_u8; NONCE_BYTES];
        getrandom::fill(&mut nonce).map_err(|e| {
            ServiceError::Internal(anyhow::anyhow!("the OS random source failed: {e}"))
        })?;
        let mut payload = Vec::with_capacity(PAYLOAD_BYTES);
        payload.extend_from_slice(&self.tag(email, epoch));
        payload.extend_from_slice(&nonce);
        payload.extend_from_slice(&Utc::now().timestamp().to_be_bytes());
        let mut signature = mac(&self.key);
        signature.update(&payload);
        Ok(format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&payload),
            URL_SAFE_NO_PAD.encode(signature.finalize().into_bytes())
        ))
    }

    /// The device `cookie` names, when the server signed it, for `email`
    /// at credentials `epoch`, within its lifetime.
    pub fn recognise(&self, cookie: &str, email: &str, epoch: i32) -> Option<Device> {
        if cookie.len() > 128 {
            return None;
        }
        let (payload, signature) = cookie.split_once('.')?;
        let payload = URL_SAFE_NO_PAD.decode(payload).ok()?;
        let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
        let mut check = mac(&self.key);
        check.update(&payload);
        check.verify_slice(&signature).ok()?;
        if payload.len() != PAYLOAD_BYTES {
            return None;
        }
        let (tag, rest) = payload.split_at(TAG_BYTES);
        let (nonce, issued) = rest.split_at(NONCE_BYTES);
        let issued = i64::from_be_bytes(issued.try_into().ok()?);
        let age = Utc::now().timestamp() - issued;
        if !(0..=LIFETIME_DAYS * 86_400).contains(&age) {
            return None;
        }
        if !bool::from(subtle::ConstantTimeEq::ct_eq(
            tag,
            &self.tag(email, epoch)[..],
        )) {
            return None;
        }
        Some(Device(nonce.try_into().ok()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cookie_names_its_address_only_and_cannot_be_forged() {
        let devices = Devices::new(&[3; 32]);
        let cookie = devices.issue("Ada@Example.com", 0).expect("issued");
        let device = devices
            .recognise(&cookie, " ada@example.com", 0)
            .expect("recognised for its address");
        assert_ne!(
            devices.recognise(
                &devices.issue("ada@example.com", 0).expect("issued"),
                "ada@example.com",
                0
            ),
            Some(device),
            "each sign-in names a new device"
        );
        assert_eq!(devices.recognise(&cookie, "eve@example.com", 0), None);
        assert_eq!(
            devices.recognise(&cookie, "ada@example.com", 1),
            None,
            "a new epoch"
        );
        assert_eq!(
            Devices::new(&[4; 32]).recognise(&cookie, "ada@example.com", 0),
            None
        );
        let (payload, signature) = cookie.split_once('.').expect("two parts");
        let mut forged = URL_SAFE_NO_PAD.decode(payload).expect("base64");
        forged[20] ^= 1;
        let forged = format!("{}.{signature}", URL_SAFE_NO_PAD.encode(forged));
        assert_eq!(devices.recognise(&forged, "ada@example.com", 0), None);
        assert_eq!(devices.recognise("garbage", "ada@example.com", 0), None);
    }
}
