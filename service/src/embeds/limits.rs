//! An embed's limits: fixed-window counters in the database
//! (`embed_counters`), so that every server counts together. A visitor is
//! a random id it can throw away, and `Origin` can be forged outside a
//! browser, so a message counts against its visitor, its address (an IPv6
//! address by its /64) and the embed as a whole; all of them or none (one
//! transaction). Old windows are purged.

use std::net::IpAddr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::sql_types::{Integer, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::ServiceError;

/// How many visitors one address may stand for: its limits are the
/// visitor's this many times (an office or a school behind one address).
pub const VISITORS_PER_ADDRESS: i32 = 4;
/// Sessions one address may open a minute, per embed.
pub const SESSIONS_PER_ADDRESS_MINUTE: i32 = 30;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Span {
    Minute,
    Day,
}

impl Span {
    fn as_str(self) -> &'static str {
        match self {
            Self::Minute => "m",
            Self::Day => "d",
        }
    }

    /// The start of the window `now` is in.
    fn since(self, now: DateTime<Utc>) -> DateTime<Utc> {
        let seconds = match self {
            Self::Minute => 60,
            Self::Day => 86_400,
        };
        let start = now.timestamp().div_euclid(seconds) * seconds;
        DateTime::from_timestamp(start, 0).unwrap_or(now)
    }

    /// The longest a refused caller waits for the window to end.
    fn retry_after(self) -> Duration {
        match self {
            Self::Minute => Duration::from_secs(60),
            Self::Day => Duration::from_secs(3600),
        }
    }
}

/// One counter a message counts against.
pub struct Check {
    pub subject: String,
    pub span: Span,
    pub limit: i32,
    /// What the visitor is told when it is full.
    pub says: &'static str,
}

/// The address a limit counts by: an IPv4 address, or an IPv6 address's
/// /64 (one host has a whole /64 to pick from).
pub fn address_subject(ip: &str) -> String {
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            format!("a:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Ok(IpAddr::V6(v6)) => format!(
            "a:{}",
            v6.to_ipv4_mapped()
                .map_or(ip.to_owned(), |v4| v4.to_string())
        ),
        Ok(IpAddr::V4(v4)) => format!("a:{v4}"),
        Err(_) => format!("a:{}", ip.chars().take(64).collect::<String>()),
    }
}

/// Counts one against each of `checks` in the windows `now` is in (the
/// services' clock), or none of them: the first that is full is refused
/// (429 with its message).
pub async fn take(
    conn: &mut AsyncPgConnection,
    embed: Uuid,
    now: DateTime<Utc>,
    checks: &[Check],
) -> Result<(), ServiceError> {
    conn.transaction::<_, ServiceError, _>(async |conn| {
        for check in checks {
            let counted = diesel::sql_query(
                "INSERT INTO embed_counters AS c (embed_id, subject, span, since, count) \
                 VALUES ($1, $2, $3, $5, 1) \
                 ON CONFLICT (embed_id, subject, span, since) \
                 DO UPDATE SET count = c.count + 1 WHERE c.count < $4",
            )
            .bind::<SqlUuid, _>(embed)
            .bind::<Text, _>(&check.subject)
            .bind::<Text, _>(check.span.as_str())
            .bind::<Integer, _>(check.limit)
            .bind::<Timestamptz, _>(check.span.since(now))
            .execute(conn)
            .await?;
            if counted == 0 {
                return Err(ServiceError::RateLimited {
                    retry_after: check.span.retry_after(),
                    message: check.says,
                });
            }
        }
        Ok(())
    })
    .await
}

/// Drops windows that ended more than a day ago.
pub async fn purge(conn: &mut AsyncPgConnection) -> Result<usize, ServiceError> {
    Ok(
        diesel::sql_query("DELETE FROM embed_counters WHERE since < now() - interval '2 days'")
            .execute(conn)
            .await?,
    )
}

#[cfg(test)]
mod tests {
    use super::{Span, address_subject};

    #[test]
    fn windows_start_on_the_minute_and_the_utc_day() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-12-07T05:21:59.9+02:00")
            .expect("a time")
            .with_timezone(&chrono::Utc);
        assert_eq!(
            Span::Minute.since(at).to_rfc3339(),
            "2026-12-07T03:21:00+00:00"
        );
        assert_eq!(
            Span::Day.since(at).to_rfc3339(),
            "2026-12-07T00:00:00+00:00"
        );
    }

    #[test]
    fn an_ipv6_address_counts_by_its_64() {
        assert_eq!(
            address_subject("2001:db8:1:2:aaaa::1"),
            address_subject("2001:db8:1:2:bbbb::2")
        );
        assert_ne!(
            address_subject("2001:db8:1:2::1"),
            address_subject("2001:db8:1:3::1")
        );
        assert_eq!(address_subject("192.0.2.7"), "a:192.0.2.7");
        assert_eq!(address_subject("::ffff:192.0.2.7"), "a:192.0.2.7");
    }
}
