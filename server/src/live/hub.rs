//! The in-process fan-out of live events.
//!
//! Topics are broadcast channels: publishing never waits for a subscriber, so
//! a slow client can only hurt itself (it lags and is disconnected). The
//! `system` topic is ephemeral: heartbeats are not state changes, so they are
//! not stored and `since` does not replay them.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use app::model::live::{SYSTEM_TOPIC, ServerFrame, SystemEvent};
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

/// Frames a subscriber may fall behind before it is cut off.
const TOPIC_CAPACITY: usize = 64;

#[derive(Clone)]
pub struct Hub(Arc<Inner>);

struct Inner {
    system: broadcast::Sender<Arc<str>>,
    system_seq: AtomicI64,
    clients: AtomicU64,
    shutdown: watch::Sender<bool>,
}

/// Counts a connected client while it lives.
pub struct ClientGuard(Hub);

impl Drop for ClientGuard {
    fn drop(&mut self) {
        self.0.0.clients.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Default for Hub {
    fn default() -> Self {
        Self::new()
    }
}

impl Hub {
    pub fn new() -> Self {
        let (system, _) = broadcast::channel(TOPIC_CAPACITY);
        let (shutdown, _) = watch::channel(false);
        Self(Arc::new(Inner {
            system,
            system_seq: AtomicI64::new(0),
            clients: AtomicU64::new(0),
            shutdown,
        }))
    }

    pub fn connect(&self) -> ClientGuard {
        self.0.clients.fetch_add(1, Ordering::Relaxed);
        ClientGuard(self.clone())
    }

    pub fn clients(&self) -> u64 {
        self.0.clients.load(Ordering::Relaxed)
    }

    pub fn subscribe_system(&self) -> broadcast::Receiver<Arc<str>> {
        self.0.system.subscribe()
    }

    /// Publishes a heartbeat to every `system` subscriber.
    pub fn heartbeat(&self) {
        let seq = self.0.system_seq.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(text) = self.heartbeat_frame(seq) {
            // No subscribers is not an error.
            drop(self.0.system.send(Arc::from(text)));
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
