//! Mail: what the platform sends people (address checks, password resets,
//! security notices, and later alerts and payout notices).
//!
//! Sending is a job (`mail.send`): a mail is enqueued on the caller's
//! connection, so it goes out exactly when the change that needs it commits,
//! and a refused or unreachable SMTP server is retried with backoff. The
//! job's handler (`server::jobs::mail`) hands it to the [`Mailer`]: SMTP
//! when `AGENTDECK_SMTP_URL` is set, else a local outbox, one `.eml` file
//! per message, which platform administrators read on the admin page.

pub mod outbox;
pub mod templates;

use std::path::{Path, PathBuf};

use diesel_async::AsyncPgConnection;
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};
use serde::{Deserialize, Serialize};

use crate::ServiceError;
use crate::jobs::{self, NewJob};

/// The job kind that sends one mail.
pub const SEND_JOB: &str = "mail.send";

/// One rendered message: the same content as plain text and as HTML.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Queues `mail` to be sent once the caller's transaction commits.
pub async fn enqueue(conn: &mut AsyncPgConnection, mail: &Mail) -> Result<(), ServiceError> {
    let payload = serde_json::to_value(mail)
        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("encoding a mail: {e}")))?;
    jobs::enqueue(conn, NewJob::new(SEND_JOB, payload).max_attempts(10)).await?;
    Ok(())
}

/// Where mail goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// `AGENTDECK_SMTP_URL`: `smtp://host:port` (plain, for local relays),
    /// `smtp://…?tls=required` (STARTTLS) or `smtps://user:pass@host`.
    Smtp(String),
    /// A directory, one `.eml` file per message.
    Outbox(PathBuf),
}

/// Why a mail was not sent.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct SendError {
    /// No retry can succeed (an address the server refuses for good).
    pub permanent: bool,
    pub message: String,
}

impl SendError {
    fn transient(message: impl Into<String>) -> Self {
        Self {
            permanent: false,
            message: message.into(),
        }
    }

    fn permanent(message: impl Into<String>) -> Self {
        Self {
            permanent: true,
            message: message.into(),
        }
    }
}

fn sender(from: &str) -> Result<Mailbox, String> {
    from.parse()
        .map_err(|e| format!("{e} (expected an address, e.g. Agentdeck <noreply@example.com>)"))
}

fn smtp(url: &str) -> Result<lettre::transport::smtp::AsyncSmtpTransportBuilder, String> {
    AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
        .map_err(|e| format!("{e} (expected smtp://host:port or smtps://user:password@host)"))
}

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Outbox(PathBuf),
}

/// Sends rendered mail from one address.
pub struct Mailer {
    from: Mailbox,
    transport: Transport,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let transport = match &self.transport {
            Transport::Smtp(_) => "smtp".to_owned(),
            Transport::Outbox(dir) => format!("outbox {}", dir.display()),
        };
        f.debug_struct("Mailer")
            .field("from", &self.from.to_string())
            .field("transport", &transport)
            .finish()
    }
}

impl Mailer {
    /// Checks a configuration without starting anything (no runtime is
    /// needed): `from` is `AGENTDECK_MAIL_FROM`
    /// (`Agentdeck <noreply@example.com>`). Errors name what is wrong, for
    /// the start-up message.
    pub fn check(from: &str, delivery: &Delivery) -> Result<(), String> {
        sender(from)?;
        if let Delivery::Smtp(url) = delivery {
            smtp(url)?;
        }
        Ok(())
    }

    /// A mailer for `from` and `delivery` (as `check` would accept). Must
    /// be called within a Tokio runtime: the SMTP connection pool starts
    /// its reaper task here.
    pub fn new(from: &str, delivery: Delivery) -> Result<Self, String> {
        let from = sender(from)?;
        let transport = match delivery {
            Delivery::Smtp(url) => Transport::Smtp(
                smtp(&url)?
                    .timeout(Some(std::time::Duration::from_secs(30)))
                    .build(),
            ),
            Delivery::Outbox(dir) => Transport::Outbox(dir),
        };
        Ok(Self { from, transport })
    }

    /// The outbox directory, when mail goes there.
    pub fn outbox(&self) -> Option<&Path> {
        match &self.transport {
            Transport::Outbox(dir) => Some(dir),
            Transport::Smtp(_) => None,
        }
    }

    pub async fn send(&self, mail: &Mail) -> Result<(), SendError> {
        let message = self.message(mail)?;
        match &self.transport {
            Transport::Smtp(smtp) => smtp.send(message).await.map(drop).map_err(|error| {
                if error.is_permanent() {
                    SendError::permanent(format!("the SMTP server refused the mail: {error}"))
                } else {
                    SendError::transient(format!("sending over SMTP: {error}"))
                }
            }),
            Transport::Outbox(dir) => {
                let path = outbox::write(dir, &message.formatted())
                    .await
                    .map_err(|e| SendError::transient(format!("writing to the outbox: {e}")))?;
                // A laptop's console is its inbox: the links are right there.
                tracing::info!(
                    to = %mail.to,
                    subject = %mail.subject,
                    file = %path.display(),
                    "mail written to the outbox:\n{}",
                    mail.text
                );
                Ok(())
            }
        }
    }

    fn message(&self, mail: &Mail) -> Result<Message, SendError> {
        // An address alone: never a display name with another mailbox in it.
        let to = Mailbox::new(
            None,
            mail.to
                .parse::<lettre::Address>()
                .map_err(|e| SendError::permanent(format!("the address {:?}: {e}", mail.to)))?,
        );
        // Quoted-printable either way: readable as a file, safe for any
        // SMTP server, and lines stay short.
        let part = |kind: ContentType, body: &str| {
            SinglePart::builder()
                .header(kind)
                .header(ContentTransferEncoding::QuotedPrintable)
                .body(body.to_owned())
        };
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .multipart(
                MultiPart::alternative()
                    .singlepart(part(ContentType::TEXT_PLAIN, &mail.text))
                    .singlepart(part(ContentType::TEXT_HTML, &mail.html)),
            )
            .map_err(|e| SendError::permanent(format!("building the message: {e}")))
    }
}
