//! The ledger as CSV (RFC 4180 quoting; a cell that would start a formula
//! is escaped), streamed page by page.

use crate::actor::Actor;
use crate::{ServiceError, Services};
use types::billing::LedgerLine;

use super::read::billing_workspace;
use super::read::page;

/// A workspace's whole ledger as CSV, newest line first (as the API pages
/// it): its file name and the text, a page of lines at a time (the export
/// is never held in memory whole).
pub async fn csv(
    services: &Services,
    actor: &Actor,
    workspace: Option<&str>,
) -> Result<
    (
        String,
        impl futures::Stream<Item = Result<String, ServiceError>> + Send + 'static,
    ),
    ServiceError,
> {
    let (id, slug) = {
        let mut conn = services.conn().await?;
        billing_workspace(&mut conn, actor, workspace).await?
    };
    let services = services.clone();
    // `None`: done; else the text so far and where to read on.
    let start = Some((Some(CSV_HEADER.to_owned()), None::<(i64, i64)>));
    let chunks = futures::stream::unfold(start, move |state| {
        let services = services.clone();
        async move {
            let (header, before) = state?;
            let lines = match services.conn().await {
                Ok(mut conn) => page(&mut conn, id, before, CSV_PAGE).await,
                Err(error) => Err(error),
            };
            let lines = match lines {
                Ok(lines) => lines,
                Err(error) => return Some((Err(error), None)),
            };
            let mut text = header.unwrap_or_default();
            for line in &lines.items {
                text.push_str(&csv_row(line));
            }
            let next = match lines.items.last() {
                Some(last) if lines.next_cursor.is_some() => {
                    Some((None, Some((last.transaction, last.entry))))
                }
                _ => None,
            };
            Some((Ok(text), next))
        }
    });
    Ok((format!("agentdeck-ledger-{slug}.csv"), chunks))
}

pub(super) const CSV_HEADER: &str = "transaction,entry,at,kind,account,amount,memo,run,agent\r\n";

pub(super) fn csv_row(line: &LedgerLine) -> String {
    let fields = [
        line.transaction.to_string(),
        line.entry.to_string(),
        line.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        line.kind.clone(),
        line.account.clone(),
        line.amount.to_string(),
        csv_text(&line.memo),
        line.run.map(|run| run.to_string()).unwrap_or_default(),
        csv_text(line.agent.as_deref().unwrap_or_default()),
    ];
    let mut row = fields.join(",");
    row.push_str("\r\n");
    row
}

/// Lines read per query for a CSV export.
pub(super) const CSV_PAGE: i64 = 1000;

/// A text cell: quoted when it must be (RFC 4180), and never read as a
/// formula by a spreadsheet (a leading `=`, `+`, `-` or `@` is escaped).
pub(super) fn csv_text(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}
