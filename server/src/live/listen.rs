//! Hears every committed event, from any server instance, through
//! PostgreSQL's LISTEN/NOTIFY, and hands it to the hub.
//!
//! The listening connection is checked now and then (its notification
//! stream does not end when it dies) and opened again when it fails; after
//! each (re)connection the hub's subscribers look in the database for
//! anything they missed meanwhile.

use std::time::Duration;

use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl as _};
use futures::StreamExt as _;
use serde::Deserialize;
use serde_json::value::RawValue;
use service::{ServiceError, Services, events};
use tokio::task::JoinHandle;
use types::topic::Topic;

use super::hub::Hub;

/// Where the database tells of users whose access changed (migration
/// 000020's triggers: sessions ended, keys revoked, memberships changed).
const ACCESS_CHANNEL: &str = "agentdeck_access";
const RETRY: Duration = Duration::from_secs(1);
const CHECK: Duration = Duration::from_secs(30);

/// A notification's payload: the event itself when it fitted.
#[derive(Deserialize)]
struct Notice<'a> {
    topic: String,
    seq: i64,
    #[serde(borrow, default)]
    event: Option<&'a RawValue>,
}

/// Listens until the hub shuts down.
pub fn spawn(database_url: String, services: Services, hub: Hub) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut stop = hub.shutdown_signal();
        loop {
            match AsyncPgConnection::establish(&database_url).await {
                Ok(mut conn) => {
                    let listened = async {
                        diesel::sql_query("LISTEN agentdeck_events")
                            .execute(&mut conn)
                            .await?;
                        diesel::sql_query(format!("LISTEN {ACCESS_CHANNEL}"))
                            .execute(&mut conn)
                            .await
                    };
                    if let Err(error) = listened.await {
                        tracing::warn!(%error, "cannot LISTEN for live events");
                    } else {
                        hub.resync();
                        if !follow(&mut conn, &services, &hub, &mut stop).await {
                            return;
                        }
                    }
                }
                Err(error) => tracing::warn!(%error, "cannot connect to listen for live events"),
            }
            tokio::select! {
                _ = tokio::time::sleep(RETRY) => {}
                _ = stop.wait_for(|stop| *stop) => return,
            }
        }
    })
}

/// Delivers notifications until the connection fails (answers true) or the
/// hub shuts down (false).
async fn follow(
    conn: &mut AsyncPgConnection,
    services: &Services,
    hub: &Hub,
    stop: &mut tokio::sync::watch::Receiver<bool>,
) -> bool {
    loop {
        {
            let mut notifications = std::pin::pin!(conn.notifications_stream());
            let check = tokio::time::sleep(CHECK);
            tokio::pin!(check);
            loop {
                let notification = tokio::select! {
                    notification = notifications.next() => match notification {
                        Some(Ok(notification)) => notification,
                        Some(Err(_)) | None => break,
                    },
                    _ = &mut check => break,
                    _ = stop.wait_for(|stop| *stop) => return false,
                };
                if notification.channel == ACCESS_CHANNEL {
                    match notification.payload.parse() {
                        Ok(user) => hub.access_changed(types::UserId(user)),
                        Err(_) => tracing::warn!(
                            payload = notification.payload,
                            "an access notification that is not a user id"
                        ),
                    }
                } else {
                    deliver(services, hub, &notification.payload).await;
                }
            }
        }
        if let Err(error) = diesel::sql_query("SELECT 1").execute(conn).await {
            tracing::warn!(%error, "the live event listener's connection failed");
            return true;
        }
    }
}

async fn deliver(services: &Services, hub: &Hub, payload: &str) {
    let Ok(notice) = serde_json::from_str::<Notice<'_>>(payload) else {
        tracing::warn!(payload, "a live event notification that is not ours");
        return;
    };
    if let Some(deployment) = notice.topic.strip_prefix("deployment:")
        && let Some(event) = notice.event
        && changes_status(event.get())
        && let Ok(deployment) = deployment.parse()
    {
        hub.deployment_changed(deployment);
    }
    match notice.event {
        Some(event) => hub.deliver(&notice.topic, notice.seq, event.get()),
        // Too large for a notification: read it (only if someone here follows
        // the topic; the hub drops it otherwise).
        None => match read_one(services, &notice.topic, notice.seq).await {
            Ok(Some(stored)) => hub.deliver(&notice.topic, stored.seq, &stored.event.to_string()),
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(%error, topic = notice.topic, "reading a large live event failed");
                // Subscribers find it themselves by the gap it leaves.
            }
        },
    }
}

/// Whether a deployment's event may change what it offers callers: it
/// comes up (`running`), goes down (`stopping`, `stopped`, `failed`) or
/// away; not the steps of a deploy in between.
fn changes_status(event: &str) -> bool {
    #[derive(Deserialize)]
    struct Kind<'a> {
        #[serde(borrow)]
        kind: &'a str,
        #[serde(borrow, default)]
        status: Option<&'a str>,
    }
    serde_json::from_str::<Kind<'_>>(event).is_ok_and(|event| match event.kind {
        "deleted" => true,
        "status" => matches!(
            event.status,
            Some("running" | "stopping" | "stopped" | "failed")
        ),
        _ => false,
    })
}

/// The event `seq` of the stored topic named `topic`, if it is still there.
async fn read_one(
    services: &Services,
    topic: &str,
    seq: i64,
) -> Result<Option<events::StoredEvent>, ServiceError> {
    let topic: Topic = topic
        .parse()
        .map_err(|_| ServiceError::NotFound { what: "topic" })?;
    let found = events::after(services, topic, seq - 1, 1).await?;
    Ok(found.into_iter().find(|event| event.seq == seq))
}
