//! The in-process fan-out of live events.
//!
//! Topics are broadcast channels, made when someone subscribes and dropped
//! when the last subscriber leaves: delivering never waits for a subscriber,
//! so a slow client can only hurt itself (it lags and is disconnected).
//! Stored events reach the hub from the database's notifications
//! (`super::listen`), whichever instance committed them. The `system` topic
//! is ephemeral: heartbeats are not state changes, so they are not stored
//! and `since` does not replay them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use std::net::IpAddr;

use axum::extract::ws::Utf8Bytes;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;
use types::UserId;
use types::live::{SYSTEM_TOPIC, ServerFrame, SystemEvent};

/// Frames a subscriber may fall behind before it is cut off.
const TOPIC_CAPACITY: usize = 64;
/// The same for stored topics, where a burst (log lines) is normal.
const EVENT_TOPIC_CAPACITY: usize = 1024;

#[derive(Clone)]
pub struct Hub(Arc<Inner>);

struct Inner {
    system: broadcast::Sender<Utf8Bytes>,
    system_seq: AtomicI64,
    clients: AtomicU64,
    shutdown: watch::Sender<bool>,
    topics: Mutex<HashMap<String, broadcast::Sender<Delivery>>>,
    /// Bumped when events may have been missed (the listener reconnected):
    /// sockets then check their access again. (Each topic's followers are
    /// told in the topic's own channel: `Delivery::Resync`.)
    resync: watch::Sender<u64>,
    /// Per user with a socket here: bumped when the user's access changed
    /// (a session ended, a key was revoked, a membership changed), so that
    /// only that user's sockets check themselves again.
    access: Mutex<HashMap<UserId, watch::Sender<u64>>>,
    /// Open sockets per user and per client address, for the caps.
    open: Mutex<OpenSockets>,
    caps: SocketCaps,
    /// What holders of other long connections (MCP sessions) react to.
    changes: broadcast::Sender<Change>,
}

/// A change some connection may have to act on, from any server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// The user's access changed (a key revoked, a membership ended).
    Access(UserId),
    /// A deployment's status changed, or it was deleted.
    Deployment(uuid::Uuid),
}

#[derive(Default)]
struct OpenSockets {
    by_user: HashMap<UserId, u32>,
    by_address: HashMap<IpAddr, u32>,
}

/// How many sockets may be open at once on this server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SocketCaps {
    /// Per user (a browser opens one per tab).
    pub per_user: u32,
    /// Per client address (an office behind one NAT).
    pub per_address: u32,
}

impl Default for SocketCaps {
    fn default() -> Self {
        Self {
            per_user: 32,
            per_address: 128,
        }
    }
}

/// What a stored topic's followers get: its events, in order, and word
/// that some may have been missed (the listener reconnected), after which
/// they read the database for anything after their last. In the one
/// channel, so that a follower waits on nothing else per event.
#[derive(Clone, Debug)]
pub enum Delivery {
    Event(Event),
    Resync,
}

/// A stored event as its subscribers get it.
#[derive(Clone, Debug)]
pub struct Event {
    pub seq: i64,
    /// The event's JSON.
    pub event: Arc<str>,
    /// The whole `event` frame, under the stored topic's name: serialised
    /// once, its bytes shared by every socket that sends it.
    pub frame: Utf8Bytes,
}

/// The `event` frame for `event` (JSON text) on `topic`.
pub fn event_frame(topic: &str, seq: i64, event: &str) -> String {
    let topic = serde_json::to_string(topic).unwrap_or_else(|_| "\"\"".to_owned());
    format!(r#"{{"type":"event","topic":{topic},"seq":{seq},"event":{event}}}"#)
}

/// Counts a connected client while it lives.
pub struct ClientGuard {
    hub: Hub,
    user: Option<UserId>,
    address: Option<IpAddr>,
}

impl Drop for ClientGuard {
    fn drop(&mut self) {
        self.hub.0.clients.fetch_sub(1, Ordering::Relaxed);
        let mut open = self.hub.0.open.lock().unwrap_or_else(|p| p.into_inner());
        let OpenSockets {
            by_user,
            by_address,
        } = &mut *open;
        if let Some(user) = self.user {
            release(by_user, user);
            let mut access = self.hub.0.access.lock().unwrap_or_else(|p| p.into_inner());
            if access.get(&user).is_some_and(|a| a.receiver_count() == 0) {
                access.remove(&user);
            }
        }
        if let Some(address) = self.address {
            release(by_address, address);
        }
    }
}

fn release<K: std::hash::Hash + Eq>(counts: &mut HashMap<K, u32>, key: K) {
    if let Some(count) = counts.get_mut(&key) {
        *count = count.saturating_sub(1);
        if *count == 0 {
            counts.remove(&key);
        }
    }
}

/// Why a socket was not let in.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    TooManyForUser,
    TooManyForAddress,
}

impl Default for Hub {
    fn default() -> Self {
        Self::new(SocketCaps::default())
    }
}

impl Hub {
    pub fn new(caps: SocketCaps) -> Self {
        let (system, _) = broadcast::channel(TOPIC_CAPACITY);
        let (shutdown, _) = watch::channel(false);
        let (resync, _) = watch::channel(0);
        Self(Arc::new(Inner {
            system,
            system_seq: AtomicI64::new(0),
            clients: AtomicU64::new(0),
            shutdown,
            topics: Mutex::new(HashMap::new()),
            resync,
            access: Mutex::new(HashMap::new()),
            open: Mutex::new(OpenSockets::default()),
            caps,
            changes: broadcast::channel(TOPIC_CAPACITY).0,
        }))
    }

    /// Live deliveries of the stored topic `topic`.
    pub fn subscribe(&self, topic: &str) -> broadcast::Receiver<Delivery> {
        let mut topics = self.0.topics.lock().unwrap_or_else(|p| p.into_inner());
        topics
            .entry(topic.to_owned())
            .or_insert_with(|| broadcast::channel(EVENT_TOPIC_CAPACITY).0)
            .subscribe()
    }

    /// Hands a committed event to the topic's subscribers, if it has any.
    pub fn deliver(&self, topic: &str, seq: i64, event: &str) {
        let mut topics = self.0.topics.lock().unwrap_or_else(|p| p.into_inner());
        let Some(sender) = topics.get(topic) else {
            return;
        };
        if sender.receiver_count() == 0 {
            topics.remove(topic);
            return;
        }
        let delivery = Delivery::Event(Event {
            seq,
            event: Arc::from(event),
            frame: Utf8Bytes::from(event_frame(topic, seq, event)),
        });
        // Receivers may all have gone since the count: not an error.
        drop(sender.send(delivery));
    }

    /// Tells every subscriber to look for events it may have missed, and
    /// every socket to check its access again.
    pub fn resync(&self) {
        self.0.resync.send_modify(|n| *n = n.wrapping_add(1));
        let topics = self.0.topics.lock().unwrap_or_else(|p| p.into_inner());
        for sender in topics.values() {
            // No subscribers is not an error.
            drop(sender.send(Delivery::Resync));
        }
    }

    pub fn resync_signal(&self) -> watch::Receiver<u64> {
        self.0.resync.subscribe()
    }

    /// Stored topics with at least one subscriber here.
    pub fn followed_topics(&self) -> usize {
        let topics = self.0.topics.lock().unwrap_or_else(|p| p.into_inner());
        topics.values().filter(|t| t.receiver_count() > 0).count()
    }

    /// Counts a socket in for `user` from `address`, unless either has
    /// its cap of sockets open already.
    pub fn connect(
        &self,
        user: Option<UserId>,
        address: Option<IpAddr>,
    ) -> Result<ClientGuard, Refused> {
        let mut open = self.0.open.lock().unwrap_or_else(|p| p.into_inner());
        if user.is_some_and(|u| open.by_user.get(&u).copied().unwrap_or(0) >= self.0.caps.per_user)
        {
            return Err(Refused::TooManyForUser);
        }
        if address.is_some_and(|a| {
            open.by_address.get(&a).copied().unwrap_or(0) >= self.0.caps.per_address
        }) {
            return Err(Refused::TooManyForAddress);
        }
        if let Some(user) = user {
            *open.by_user.entry(user).or_insert(0) += 1;
        }
        if let Some(address) = address {
            *open.by_address.entry(address).or_insert(0) += 1;
        }
        drop(open);
        self.0.clients.fetch_add(1, Ordering::Relaxed);
        Ok(ClientGuard {
            hub: self.clone(),
            user,
            address,
        })
    }

    /// `user`'s access changed (heard from the database, from any server).
    pub fn access_changed(&self, user: UserId) {
        // Nobody listening is not an error.
        drop(self.0.changes.send(Change::Access(user)));
        let access = self.0.access.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(changes) = access.get(&user) {
            changes.send_modify(|n| *n = n.wrapping_add(1));
        }
    }

    /// A deployment's status changed (heard from the database).
    pub fn deployment_changed(&self, deployment: uuid::Uuid) {
        drop(self.0.changes.send(Change::Deployment(deployment)));
    }

    /// Every change of access and of deployments' status, as heard.
    pub fn changes(&self) -> broadcast::Receiver<Change> {
        self.0.changes.subscribe()
    }

    /// Changes to `user`'s access, for one of their sockets.
    pub fn access_changes(&self, user: UserId) -> watch::Receiver<u64> {
        let mut access = self.0.access.lock().unwrap_or_else(|p| p.into_inner());
        access
            .entry(user)
            .or_insert_with(|| watch::channel(0).0)
            .subscribe()
    }

    pub fn clients(&self) -> u64 {
        self.0.clients.load(Ordering::Relaxed)
    }

    pub fn subscribe_system(&self) -> broadcast::Receiver<Utf8Bytes> {
        self.0.system.subscribe()
    }

    /// Publishes a heartbeat to every `system` subscriber.
    pub fn heartbeat(&self) {
        let seq = self.0.system_seq.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(text) = self.heartbeat_frame(seq) {
            // No subscribers is not an error.
            drop(self.0.system.send(Utf8Bytes::from(text)));
        }
    }

    /// The state as of the latest heartbeat, for one new subscriber only (so
    /// no client can make the hub publish on demand): it repeats the latest
    /// `seq` because nothing new happened.
    pub fn system_snapshot(&self) -> Option<String> {
        self.heartbeat_frame(self.0.system_seq.load(Ordering::Relaxed))
    }

    fn heartbeat_frame(&self, seq: i64) -> Option<String> {
        let event = SystemEvent::Heartbeat {
            server_time: chrono::Utc::now(),
            clients: self.clients(),
        };
        let frame = ServerFrame::Event {
            topic: SYSTEM_TOPIC.to_owned(),
            seq,
            event: serde_json::to_value(event).unwrap_or_default(),
        };
        serde_json::to_string(&frame)
            .inspect_err(|error| tracing::error!(%error, "serialising a heartbeat"))
            .ok()
    }

    /// Sends a heartbeat every `period` until shutdown.
    pub fn spawn_heartbeat(&self, period: Duration) -> JoinHandle<()> {
        let hub = self.clone();
        let mut shutdown = self.shutdown_signal();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(period);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = ticks.tick() => hub.heartbeat(),
                    _ = shutdown.wait_for(|stop| *stop) => return,
                }
            }
        })
    }

    /// Tells every socket to close (with "going away") and stops heartbeats.
    pub fn shutdown(&self) {
        self.0.shutdown.send_replace(true);
    }

    pub fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.0.shutdown.subscribe()
    }

    /// After `shutdown`, waits (at most `limit`) for every socket to send its
    /// close frame and end.
    pub async fn wait_idle(&self, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        while self.clients() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}
