//! Authoring: new agents from templates or forks, the editor's draft (saved
//! over a revision, so two tabs cannot overwrite each other silently), test
//! runs of the editor's text in the real sandbox, publishing immutable
//! semver versions, and who may see an agent.
//!
//! Editing, test runs and publishing need the member role in the agent's
//! workspace (owners and admins have it too); see `market::editable`.

use sha2::{Digest as _, Sha256};

mod create;
mod drafts;
mod manifest;
mod publish;
mod settings;
mod test_runs;

pub use create::{create, templates};
pub use drafts::{draft, save_draft};
pub use publish::{parse_version, publish, version};
pub use settings::{change_settings, delete, own_agents};
pub use test_runs::{test_run, try_run};

pub mod action {
    pub const AGENT_CREATED: &str = "agent.create";
    pub const VERSION_PUBLISHED: &str = "agent.publish";
    pub const SETTINGS_CHANGED: &str = "agent.settings";
    pub const DELETED: &str = "agent.delete";
}

/// SHA-256 of a version's source, hex: its content hash.
pub fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::manifest::validate_manifest;
    use super::*;
    use crate::ServiceError;
    use types::manifest::Manifest;

    #[test]
    fn versions_are_three_plain_numbers() {
        assert_eq!(parse_version("1.0.0").unwrap(), (1, 0, 0));
        assert_eq!(parse_version(" 10.20.3 ").unwrap(), (10, 20, 3));
        for bad in [
            "1.0",
            "1.0.0.0",
            "01.0.0",
            "1.0.0-beta",
            "v1.0.0",
            "",
            "1..0",
            "1.0.x",
            "9999999999.0.0",
        ] {
            assert!(
                matches!(
                    parse_version(bad),
                    Err(ServiceError::Invalid {
                        field: "version",
                        ..
                    })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn manifests_are_checked_field_by_field() {
        let mut hosts = Manifest::default();
        hosts.capabilities.http = vec!["https://example.com/path".into()];
        assert!(matches!(
            validate_manifest(&Default::default(), &mut hosts),
            Err(ServiceError::Invalid {
                field: "manifest.capabilities.http",
                ..
            })
        ));
        let mut ok = Manifest::default();
        ok.capabilities.http = vec![
            " API.example.com ".into(),
            "*.example.org".into(),
            "localhost:8080".into(),
        ];
        validate_manifest(&Default::default(), &mut ok).unwrap();
        assert_eq!(
            ok.capabilities.http,
            ["api.example.com", "*.example.org", "localhost:8080"]
        );
        let mut limits = Manifest::default();
        limits.limits.timeout_ms = 0;
        assert!(matches!(
            validate_manifest(&Default::default(), &mut limits),
            Err(ServiceError::Invalid {
                field: "manifest.limits.timeout_ms",
                ..
            })
        ));
    }
}
