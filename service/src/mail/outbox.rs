//! The local outbox: mail as files, when no SMTP server is configured, so a
//! laptop without one still gets its verification and reset links. Each
//! message is one RFC 5322 file (`<unix ms>-<random>.eml`, openable in any
//! mail program); platform administrators read them on the admin page.

use std::path::Path;

use chrono::{DateTime, TimeZone as _, Utc};

use crate::actor::Actor;
use crate::{ServiceError, Services};
use types::account::OutboxMail;

/// How many messages the admin page lists, newest first.
const SHOWN: usize = 100;

/// Writes one message, whole or not at all (a temporary file renamed).
pub(super) async fn write(dir: &Path, message: &[u8]) -> std::io::Result<std::path::PathBuf> {
    tokio::fs::create_dir_all(dir).await?;
    let name = format!(
        "{}-{}",
        Utc::now().timestamp_millis(),
        uuid::Uuid::new_v4().simple()
    );
    let partial = dir.join(format!(".{name}.partial"));
    tokio::fs::write(&partial, message).await?;
    let path = dir.join(format!("{name}.eml"));
    tokio::fs::rename(&partial, &path).await?;
    Ok(path)
}

/// The newest messages in the outbox; platform administrators only.
pub async fn list(services: &Services, actor: &Actor) -> Result<Vec<OutboxMail>, ServiceError> {
    let mut conn = services.conn().await?;
    crate::jobs::require_admin(&mut conn, actor).await?;
    drop(conn);
    let Some(dir) = services.mailer.as_ref().and_then(|m| m.outbox()) else {
        return Ok(Vec::new());
    };
    let dir = dir.to_owned();
    tokio::task::spawn_blocking(move || read_dir(&dir))
        .await
        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("reading the outbox: {e}")))?
}

/// The newest messages in the outbox `dir`, newest first.
pub fn read_dir(dir: &Path) -> Result<Vec<OutboxMail>, ServiceError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => {
            return Err(ServiceError::Internal(anyhow::anyhow!(
                "reading the outbox {}: {error}",
                dir.display()
            )));
        }
    };
    let mut names: Vec<(i64, String)> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().into_string().ok())
        .filter(|name| name.ends_with(".eml"))
        .filter_map(|name| Some((name.split('-').next()?.parse().ok()?, name)))
        .collect();
    names.sort_unstable_by(|a, b| b.cmp(a));
    names.truncate(SHOWN);
    let mut mails = Vec::with_capacity(names.len());
    for (millis, name) in names {
        let Ok(raw) = std::fs::read(dir.join(&name)) else {
            continue;
        };
        let parsed = parse(&String::from_utf8_lossy(&raw));
        mails.push(OutboxMail {
            id: name,
            to: parsed.to,
            subject: parsed.subject,
            written_at: Utc
                .timestamp_millis_opt(millis)
                .single()
                .unwrap_or(DateTime::<Utc>::UNIX_EPOCH),
            text: parsed.text,
        });
    }
    Ok(mails)
}

/// What is read back of a message: its recipient, subject and decoded
/// plain-text part.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Parsed {
    pub to: String,
    pub subject: String,
    pub text: String,
}

/// The headers of a message or part, unfolded, and its body.
fn split(message: &str) -> (Vec<(String, String)>, &str) {
    let (head, body) = message
        .split_once("\r\n\r\n")
        .or_else(|| message.split_once("\n\n"))
        .unwrap_or((message, ""));
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = headers.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    (headers, body)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> &'a str {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map_or("", |(_, v)| v.as_str())
}

/// What the admin page shows of a message the mailer wrote (any message
/// of one text part, or multipart with a `text/plain` part).
pub fn parse(message: &str) -> Parsed {
    let (headers, body) = split(message);
    let boundary = header(&headers, "content-type")
        .split(';')
        .filter_map(|p| p.trim().strip_prefix("boundary="))
        .next()
        .map(|b| b.trim_matches('"').to_owned());
    let text = match boundary {
        Some(boundary) => body
            .split(&format!("--{boundary}"))
            .map(split)
            .find(|(h, _)| header(h, "content-type").starts_with("text/plain"))
            .map(|(h, b)| decode(header(&h, "content-transfer-encoding"), b))
            .unwrap_or_default(),
        None => decode(header(&headers, "content-transfer-encoding"), body),
    };
    Parsed {
        to: header(&headers, "to").to_owned(),
        subject: header(&headers, "subject").to_owned(),
        text,
    }
}

fn decode(encoding: &str, body: &str) -> String {
    let body = body.trim_end();
    if encoding.eq_ignore_ascii_case("quoted-printable") {
        quoted_printable::decode(body.as_bytes(), quoted_printable::ParseMode::Robust)
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_else(|_| body.to_owned())
            .replace("\r\n", "\n")
    } else {
        body.replace("\r\n", "\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::{Delivery, Mail, Mailer};

    #[tokio::test]
    async fn a_written_message_reads_back_with_its_text_decoded() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mailer = Mailer::new(
            "Agentdeck <noreply@example.com>",
            Delivery::Outbox(dir.path().to_owned()),
        )
        .expect("a mailer");
        let link = format!(
            "https://agentdeck.example/verify-email#token={}",
            "x".repeat(90)
        );
        mailer
            .send(&Mail {
                to: "ada@example.com".to_owned(),
                subject: "Verify your address".to_owned(),
                text: format!("Hello Ada — follow {link}\n\nThanks"),
                html: format!("<p>Hello <a href=\"{link}\">verify</a></p>"),
            })
            .await
            .expect("written");
        let mails = read_dir(dir.path()).expect("listed");
        assert_eq!(mails.len(), 1);
        assert_eq!(mails[0].to, "ada@example.com");
        assert_eq!(mails[0].subject, "Verify your address");
        assert_eq!(
            mails[0].text,
            format!("Hello Ada — follow {link}\n\nThanks")
        );
    }
}
