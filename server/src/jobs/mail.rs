//! Mail jobs. `mail.send` hands one rendered message to the mailer (SMTP
//! or the local outbox): a passing fault (the server unreachable, a 4xx
//! answer) is retried with backoff, a refusal for good (5xx, a malformed
//! address) gives up at once; either way the job's last error says why.
//! `auth.password_reset` looks up the address a reset was asked for and,
//! when an account has it, mails a link; the request itself did the same
//! work either way.

use std::sync::Arc;

use futures::future::BoxFuture;
use service::Services;
use service::auth::RequestMeta;
use service::mail::{Mail, Mailer};

use super::{Handler, Job, JobError, JobResult};

pub struct SendMail {
    pub mailer: Arc<Mailer>,
}

impl Handler for SendMail {
    fn run(&self, job: Job) -> BoxFuture<'static, JobResult> {
        let mailer = Arc::clone(&self.mailer);
        Box::pin(async move {
            let mail: Mail = serde_json::from_value(job.payload)
                .map_err(|e| JobError::Fail(format!("not a mail: {e}")))?;
            mailer.send(&mail).await.map_err(|error| {
                tracing::warn!(%error, permanent = error.permanent, "a mail was not sent");
                if error.permanent {
                    JobError::Fail(error.message)
                } else {
                    JobError::Retry(error.message)
                }
            })
        })
    }
}

pub struct PasswordReset {
    pub services: Services,
}

impl Handler for PasswordReset {
    fn run(&self, job: Job) -> BoxFuture<'static, JobResult> {
        let services = self.services.clone();
        Box::pin(async move {
            let text = |name: &str| job.payload[name].as_str().unwrap_or_default().to_owned();
            let email = text("email");
            if email.is_empty() {
                return Err(JobError::Fail(format!("not a reset: {}", job.payload)));
            }
            let meta = RequestMeta::new(text("ip"), &text("user_agent"));
            service::auth::recovery::send_reset(&services, &email, &meta).await?;
            Ok(())
        })
    }
}
