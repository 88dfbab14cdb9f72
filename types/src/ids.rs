//! Newtype ids, one per table key, so a run id can never be passed where a
//! deployment id is expected. On the wire they are the bare UUID or number;
//! with the `ssr` feature they read and write their SQL type directly.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! ids {
    ($($(#[$meta:meta])* $name:ident($inner:ty, $sql:ident, $what:literal);)*) => {$(
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[cfg_attr(feature = "ssr", derive(diesel::AsExpression, diesel::FromSqlRow))]
        #[cfg_attr(feature = "ssr", diesel(sql_type = diesel::sql_types::$sql))]
        #[serde(transparent)]
        pub struct $name(pub $inner);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = <$inner as std::str::FromStr>::Err;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                text.parse().map(Self)
            }
        }

        impl From<$inner> for $name {
            fn from(value: $inner) -> Self {
                Self(value)
            }
        }

        impl From<$name> for $inner {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl Id for $name {
            const WHAT: &'static str = $what;
        }

        #[cfg(feature = "ssr")]
        impl diesel::serialize::ToSql<diesel::sql_types::$sql, diesel::pg::Pg> for $name {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>,
            ) -> diesel::serialize::Result {
                <$inner as diesel::serialize::ToSql<diesel::sql_types::$sql, diesel::pg::Pg>>::to_sql(
                    &self.0, out,
                )
            }
        }

        #[cfg(feature = "ssr")]
        impl diesel::deserialize::FromSql<diesel::sql_types::$sql, diesel::pg::Pg> for $name {
            fn from_sql(bytes: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {
                <$inner as diesel::deserialize::FromSql<diesel::sql_types::$sql, diesel::pg::Pg>>::from_sql(
                    bytes,
                )
                .map(Self)
            }
        }
    )*};
}

/// What every id type has: what it names, in words, for error messages
/// (the server's `PathId` answers "<what> not found" for a path segment
/// that is no such id, as for an id that does not exist).
pub trait Id: Copy + std::str::FromStr + std::fmt::Display {
    const WHAT: &'static str;
}

ids! {
    /// A user account.
    UserId(Uuid, Uuid, "user");
    /// A marketplace listing.
    AgentId(Uuid, Uuid, "agent");
    /// One immutable published version of an agent.
    AgentVersionId(Uuid, Uuid, "version");
    /// A personal workspace or a team: what owns agents, deployments and keys.
    WorkspaceId(Uuid, Uuid, "workspace");
    /// A signed-in browser session (its public id, not its secret token).
    SessionId(Uuid, Uuid, "session");
    /// An API key (its public id, not its secret token).
    ApiKeyId(Uuid, Uuid, "API key");
    /// A user's review of an agent.
    ReviewId(Uuid, Uuid, "review");
    /// A pending invitation to a team.
    InviteId(Uuid, Uuid, "invite");
    /// One agent version running for a workspace.
    DeploymentId(Uuid, Uuid, "deployment");
    /// One execution of a deployment.
    RunId(Uuid, Uuid, "run");
    /// A purchase of credits through the payment provider.
    CheckoutId(Uuid, Uuid, "checkout");
    /// A ledger account (a workspace's wallet, held or earnings; a platform account).
    LedgerAccountId(Uuid, Uuid, "ledger account");
    /// A background job in the queue.
    JobId(i64, BigInt, "job");
    /// One line of an audit log.
    AuditEventId(i64, BigInt, "audit event");
    /// One balanced movement of the ledger.
    LedgerTransactionId(i64, BigInt, "ledger transaction");
}
