//! Mail as the tests read it: the messages queued for sending (`mail.send`
//! jobs, before any worker takes them), and the links inside.

use diesel::sql_types::{Jsonb, Text};
use diesel_async::RunQueryDsl as _;
use serde_json::Value;

use super::TestApp;

#[derive(diesel::QueryableByName)]
struct Queued {
    #[diesel(sql_type = Jsonb)]
    payload: Value,
}

/// The mails queued for `to`, oldest first: `{to, subject, text, html}`.
pub async fn queued(app: &TestApp, to: &str) -> Vec<Value> {
    let mut conn = app.sql().await;
    diesel::sql_query(
        "SELECT payload FROM jobs WHERE kind = 'mail.send' AND payload->>'to' = $1 ORDER BY id",
    )
    .bind::<Text, _>(to)
    .load::<Queued>(&mut conn)
    .await
    .expect("reading the queued mail")
    .into_iter()
    .map(|row| row.payload)
    .collect()
}

/// The token of the newest link to `page` (`verify-email`,
/// `reset-password`) in mail to `to`.
pub async fn link_token(app: &TestApp, to: &str, page: &str) -> String {
    let mails = queued(app, to).await;
    mails
        .iter()
        .rev()
        .find_map(|mail| token_in(mail["text"].as_str().unwrap_or_default(), page))
        .unwrap_or_else(|| panic!("no {page} link in the mail to {to}: {mails:?}"))
}

/// `link_token`, once a worker queued the mail (up to a minute).
pub async fn wait_for_token(app: &TestApp, to: &str, page: &str) -> String {
    for _ in 0..600 {
        let mails = queued(app, to).await;
        if let Some(token) = mails
            .iter()
            .rev()
            .find_map(|mail| token_in(mail["text"].as_str().unwrap_or_default(), page))
        {
            return token;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no {page} link was mailed to {to}");
}

/// The token of a link to `page` in `text`.
pub fn token_in(text: &str, page: &str) -> Option<String> {
    let marker = format!("/{page}#token=");
    let start = text.find(&marker)? + marker.len();
    Some(
        text[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect(),
    )
}

/// The token of the newest link to `page` in mail to `to`, from the outbox
/// of one of the server data directories `dirs` (`<dir>/state/outbox`),
/// waiting up to a minute for a worker to write it.
pub async fn outbox_token(dirs: &[&std::path::Path], to: &str, page: &str) -> String {
    for _ in 0..600 {
        for dir in dirs {
            let mails =
                service::mail::outbox::read_dir(&dir.join("state/outbox")).expect("the outbox");
            if let Some(token) = mails
                .iter()
                .filter(|mail| mail.to == to)
                .find_map(|mail| token_in(&mail.text, page))
            {
                return token;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no {page} link for {to} in the outboxes of {dirs:?}");
}
