//! The service layer: every operation the SPA's server functions and the REST
//! API perform, with its access rules, validation, queries and transactions.
//! Handlers on both sides only translate between HTTP and these functions.

pub mod access;
pub mod actor;
pub mod agents;
pub mod auth;
pub mod authoring;
pub mod clock;
pub mod connections;
pub mod deployments;
pub mod embeds;
pub mod error;
pub mod events;
pub mod hooks;
pub mod idempotency;
pub mod jobs;
pub mod ledger;
pub mod llm;
pub mod mail;
pub mod markdown;
pub mod mcp;
pub mod models;
pub mod payments;
pub mod ratings;
pub mod reviews;
pub mod runs;
pub mod sandbox;
pub mod schedules;
pub mod schema;
pub mod secrets;
pub mod spend;
pub mod sql;
pub mod teams;
pub mod trials;
pub mod webhooks;

use diesel_async::AsyncPgConnection;
use diesel_async::pooled_connection::deadpool::{Object, Pool};

pub use error::ServiceError;

pub type DbPool = Pool<AsyncPgConnection>;
pub type DbConn = Object<AsyncPgConnection>;

/// What the service functions need, handed to them through state or context.
#[derive(Clone)]
pub struct Services {
    pub db: DbPool,
    pub sessions: auth::SessionPolicy,
    /// The origin browsers use, for links (invites) the server hands out.
    pub public_url: String,
    /// Sign-in with GitHub, when a client id is configured.
    pub github: Option<std::sync::Arc<auth::github::GithubConfig>>,
    /// Where test runs (and later deployments) run; `None` answers 503.
    pub sandbox: Option<std::sync::Arc<sandbox::Sandbox>>,
    /// This process as a runner of deployments' runs.
    pub runner: Option<std::sync::Arc<runs::Runner>>,
    /// The key deployment secrets are sealed with.
    pub secrets: Option<std::sync::Arc<secrets::SecretBox>>,
    /// Starter credits and the creators' share of paid runs.
    pub billing: ledger::Billing,
    /// Buying credits, when a payment provider is configured.
    pub payments: Option<std::sync::Arc<payments::Payments>>,
    /// Where mail goes (SMTP or the local outbox); without one, mail jobs
    /// wait in the queue for a server that has it.
    pub mailer: Option<std::sync::Arc<mail::Mailer>>,
    /// Device cookies, signed with a key derived from the secrets key.
    pub devices: Option<std::sync::Arc<auth::devices::Devices>>,
    /// Deployments' input schemas, compiled, for checking run inputs.
    pub input_schemas: std::sync::Arc<runs::input::InputSchemas>,
    /// What time it is for schedules, retries, the queue and expiries.
    pub clock: clock::Clock,
    /// How outgoing webhooks leave (the client, private destinations).
    pub webhooks: webhooks::WebhookSettings,
    /// Inbound webhook URLs' requests this minute, in this process.
    pub hook_flood: hooks::Flood,
    /// The provider catalogue and the operator's apps at providers.
    pub connections: connections::ConnectionSettings,
}

impl Services {
    pub fn new(db: DbPool) -> Self {
        Self {
            db,
            sessions: auth::SessionPolicy::default(),
            public_url: "http://127.0.0.1:3000".to_owned(),
            github: None,
            sandbox: None,
            runner: None,
            secrets: None,
            billing: ledger::Billing::default(),
            payments: None,
            mailer: None,
            devices: None,
            input_schemas: std::sync::Arc::default(),
            clock: clock::Clock::system(),
            webhooks: webhooks::WebhookSettings::default(),
            hook_flood: hooks::Flood::default(),
            connections: connections::ConnectionSettings::default(),
        }
    }

    pub fn with_webhooks(mut self, webhooks: webhooks::WebhookSettings) -> Self {
        self.webhooks = webhooks;
        self
    }

    pub fn with_connections(mut self, connections: connections::ConnectionSettings) -> Self {
        self.connections = connections;
        self
    }

    pub fn with_clock(mut self, clock: clock::Clock) -> Self {
        self.clock = clock;
        self
    }

    pub fn with_mailer(mut self, mailer: mail::Mailer) -> Self {
        self.mailer = Some(std::sync::Arc::new(mailer));
        self
    }

    pub fn with_payments(mut self, payments: Option<payments::PaymentsConfig>) -> Self {
        self.payments = payments.map(|config| std::sync::Arc::new(payments::Payments::new(config)));
        self
    }

    pub fn with_billing(mut self, billing: ledger::Billing) -> Self {
        self.billing = billing;
        self
    }

    pub fn with_secrets(mut self, key: &[u8; 32]) -> Self {
        self.secrets = Some(std::sync::Arc::new(secrets::SecretBox::new(key)));
        self.devices = Some(std::sync::Arc::new(auth::devices::Devices::new(key)));
        self
    }

    pub fn with_runner(mut self, runner: runs::Runner) -> Self {
        self.runner = Some(std::sync::Arc::new(runner));
        self
    }

    pub fn with_github(mut self, github: Option<auth::github::GithubConfig>) -> Self {
        self.github = github.map(std::sync::Arc::new);
        self
    }

    pub fn with_sandbox(mut self, sandbox: std::sync::Arc<sandbox::Sandbox>) -> Self {
        self.sandbox = Some(sandbox);
        self
    }

    pub fn with_public_url(mut self, public_url: impl Into<String>) -> Self {
        self.public_url = public_url.into();
        self
    }

    pub fn with_session_policy(mut self, sessions: auth::SessionPolicy) -> Self {
        self.sessions = sessions;
        self
    }

    pub async fn conn(&self) -> Result<DbConn, ServiceError> {
        self.db.get().await.map_err(ServiceError::from)
    }
}
