//! Deployment secrets: sealed with AES-256-GCM before they reach the
//! database, opened only to hand them to a run. The key comes from
//! configuration; each value has a fresh random nonce, and the deployment id
//! and secret name are bound in as associated data.

use std::collections::BTreeMap;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::ServiceError;
use super::schema::deployment_secrets;

/// Secrets to set (`Some`) or remove (`None`), by name.
pub type Changes = BTreeMap<String, Option<String>>;

/// Secrets one deployment may have, at most.
pub const MAX_SECRETS: usize = 50;
const MAX_VALUE_BYTES: usize = 16 * 1024;

/// The configured key.
pub struct SecretBox {
    cipher: Aes256Gcm,
}

impl SecretBox {
    /// From 32 key bytes.
    pub fn new(key: &[u8; 32]) -> Self {
        Self {
            cipher: Aes256Gcm::new(key.into()),
        }
    }

    /// Seals `value` bound to `aad`: the nonce, then the sealed bytes.
    pub(crate) fn seal_bytes(&self, aad: &[u8], value: &[u8]) -> Result<Vec<u8>, ServiceError> {
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce)
            .map_err(|error| ServiceError::Internal(anyhow::anyhow!("no randomness: {error}")))?;
        let sealed = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: value, aad })
            .map_err(|_| ServiceError::Internal(anyhow::anyhow!("sealing a secret failed")))?;
        Ok([nonce.as_slice(), &sealed].concat())
    }

    /// Opens what [`SecretBox::seal_bytes`] sealed with the same `aad`.
    pub(crate) fn open_bytes(&self, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, ServiceError> {
        if sealed.len() < 12 {
            return Err(ServiceError::Internal(anyhow::anyhow!(
                "a sealed value is too short"
            )));
        }
        let (nonce, sealed) = sealed.split_at(12);
        self.cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: sealed, aad })
            .map_err(|_| {
                ServiceError::Internal(anyhow::anyhow!(
                    "a sealed value does not open with the configured key \
                     (AGENTDECK_SECRETS_KEY changed?)"
                ))
            })
    }

    fn seal(
        &self,
        deployment: Uuid,
        name: &str,
        value: &str,
    ) -> Result<([u8; 12], Vec<u8>), ServiceError> {
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce)
            .map_err(|error| ServiceError::Internal(anyhow::anyhow!("no randomness: {error}")))?;
        let aad = associated(deployment, name);
        let sealed = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: value.as_bytes(),
                    aad: &aad,
                },
            )
            .map_err(|_| ServiceError::Internal(anyhow::anyhow!("sealing a secret failed")))?;
        Ok((nonce, sealed))
    }

    fn open(
        &self,
        deployment: Uuid,
        name: &str,
        nonce: &[u8],
        sealed: &[u8],
    ) -> Result<String, ServiceError> {
        let aad = associated(deployment, name);
        let opened = self
            .cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: &aad,
                },
            )
            .map_err(|_| {
                ServiceError::Internal(anyhow::anyhow!(
                    "the secret {name} of deployment {deployment} does not open with the \
                     configured key (AGENTDECK_SECRETS_KEY changed?)"
                ))
            })?;
        String::from_utf8(opened)
            .map_err(|_| ServiceError::Internal(anyhow::anyhow!("a secret is not text")))
    }
}

fn associated(deployment: Uuid, name: &str) -> Vec<u8> {
    let mut aad = deployment.as_bytes().to_vec();
    aad.extend_from_slice(name.as_bytes());
    aad
}

/// Checks names and sizes before anything is stored.
pub fn check(secrets: &BTreeMap<String, Option<String>>) -> Result<(), ServiceError> {
    if secrets.len() > MAX_SECRETS {
        return Err(ServiceError::invalid(
            "secrets",
            format!("at most {MAX_SECRETS}"),
        ));
    }
    for (name, value) in secrets {
        let valid = !name.is_empty()
            && name.len() <= 64
            && name
                .chars()
                .enumerate()
                .all(|(i, c)| c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit()));
        if !valid {
            return Err(ServiceError::invalid(
                "secrets",
                format!("{name:?} is not a name: letters, digits and _, not starting with a digit"),
            ));
        }
        if value.as_ref().is_some_and(|v| v.len() > MAX_VALUE_BYTES) {
            return Err(ServiceError::invalid(
                "secrets",
                format!("{name} is larger than 16 KiB"),
            ));
        }
    }
    Ok(())
}

/// Sets (`Some`) or removes (`None`) secrets of a deployment.
pub async fn store(
    conn: &mut AsyncPgConnection,
    sealer: &SecretBox,
    deployment: Uuid,
    secrets: &BTreeMap<String, Option<String>>,
) -> Result<(), ServiceError> {
    for (name, value) in secrets {
        match value {
            Some(value) => {
                let (nonce, sealed) = sealer.seal(deployment, name, value)?;
                diesel::insert_into(deployment_secrets::table)
                    .values((
                        deployment_secrets::deployment_id.eq(deployment),
                        deployment_secrets::name.eq(name),
                        deployment_secrets::nonce.eq(nonce.to_vec()),
                        deployment_secrets::ciphertext.eq(&sealed),
                    ))
                    .on_conflict((deployment_secrets::deployment_id, deployment_secrets::name))
                    .do_update()
                    .set((
                        deployment_secrets::nonce.eq(nonce.to_vec()),
                        deployment_secrets::ciphertext.eq(&sealed),
                        deployment_secrets::updated_at.eq(diesel::dsl::now),
                    ))
                    .execute(conn)
                    .await?;
            }
            None => {
                diesel::delete(deployment_secrets::table.find((deployment, name)))
                    .execute(conn)
                    .await?;
            }
        }
    }
    Ok(())
}

/// The names of a deployment's secrets (never their values).
pub async fn names(
    conn: &mut AsyncPgConnection,
    deployment: Uuid,
) -> Result<Vec<String>, ServiceError> {
    Ok(deployment_secrets::table
        .filter(deployment_secrets::deployment_id.eq(deployment))
        .select(deployment_secrets::name)
        .order(deployment_secrets::name)
        .load(conn)
        .await?)
}

/// A deployment's secrets, opened, for a run.
pub async fn open_all(
    conn: &mut AsyncPgConnection,
    sealer: &SecretBox,
    deployment: Uuid,
) -> Result<BTreeMap<String, String>, ServiceError> {
    let rows: Vec<(String, Vec<u8>, Vec<u8>)> = deployment_secrets::table
        .filter(deployment_secrets::deployment_id.eq(deployment))
        .select((
            deployment_secrets::name,
            deployment_secrets::nonce,
            deployment_secrets::ciphertext,
        ))
        .load(conn)
        .await?;
    rows.into_iter()
        .map(|(name, nonce, sealed)| {
            let value = sealer.open(deployment, &name, &nonce, &sealed)?;
            Ok((name, value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_opens_only_where_it_was_sealed() {
        let sealer = SecretBox::new(&[7; 32]);
        let deployment = Uuid::new_v4();
        let (nonce, sealed) = sealer.seal(deployment, "TOKEN", "s3cret").expect("sealed");
        assert!(
            !sealed.windows(6).any(|w| w == b"s3cret"),
            "the value is not in the clear"
        );
        assert_eq!(
            sealer
                .open(deployment, "TOKEN", &nonce, &sealed)
                .expect("opens"),
            "s3cret"
        );
        assert!(
            sealer.open(deployment, "OTHER", &nonce, &sealed).is_err(),
            "another name"
        );
        assert!(
            sealer
                .open(Uuid::new_v4(), "TOKEN", &nonce, &sealed)
                .is_err(),
            "another deployment"
        );
        assert!(
            SecretBox::new(&[8; 32])
                .open(deployment, "TOKEN", &nonce, &sealed)
                .is_err(),
            "another key"
        );
        let (again, _) = sealer.seal(deployment, "TOKEN", "s3cret").expect("sealed");
        assert_ne!(nonce, again, "a fresh nonce each time");
    }
}
