//! The MCP sessions open on this server: who opened each (the key, its
//! owner and workspace), the line to tell it that its tools changed, and
//! the caps that keep one key from holding many.
//!
//! rmcp keeps the sessions themselves (`LocalSessionManager`: one task and
//! a few channels each, closed after fifteen idle minutes). Here a place is
//! reserved for each while its `initialize` is answered (`reserve`, at most
//! `PER_KEY` per key), it is recorded with the session id the answer
//! carries, and given its line back to the client when the client says it
//! is ready (`attach`). A key that is revoked, or whose owner leaves the
//! workspace, has its sessions closed as soon as any server hears of it
//! (`Change::Access`), an expired one within a minute (the sweep); a
//! deployment that starts, stops or goes away sends `notifications/tools/
//! list_changed` to the sessions of its workspace (`Change::Deployment`).
//! Tool calls in flight are counted per key (`call_slot`).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::service::{Peer, RoleServer};
use rmcp::transport::streamable_http_server::session::SessionManager as _;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use service::Services;
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::live::hub::{Change, Hub};

/// Sessions one key may hold open at once.
pub const PER_KEY: usize = 64;

/// Who opened a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Opener {
    pub user: Uuid,
    pub key: Uuid,
    pub workspace: Uuid,
}

struct Entry {
    opener: Opener,
    /// Set when the client said it is initialised.
    peer: Option<Peer<RoleServer>>,
}

#[derive(Clone)]
pub struct Sessions(Arc<Inner>);

struct Inner {
    manager: Arc<LocalSessionManager>,
    /// Cancelled at shutdown: ends every session and its streams.
    stop: CancellationToken,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    open: HashMap<Arc<str>, Entry>,
    /// Sessions being opened, per key (an `initialize` under way).
    opening: HashMap<Uuid, usize>,
    /// Tool calls in flight, per key.
    calls: HashMap<Uuid, usize>,
}

/// How long a session lives without a message either way.
const IDLE: Duration = Duration::from_secs(15 * 60);
/// How long one notification may take to be taken by its session before
/// it is dropped (a client that does not read its stream).
const NOTIFY_WAIT: Duration = Duration::from_secs(5);
/// How often closed sessions are forgotten and every opener's key and
/// membership checked again (keys expire without a word).
const SWEEP: Duration = Duration::from_secs(60);
/// Tool calls one key may have in flight at once.
pub const CALLS_PER_KEY: usize = 16;

impl Default for Sessions {
    fn default() -> Self {
        let mut manager = LocalSessionManager::default();
        manager.session_config.keep_alive = Some(IDLE);
        Self(Arc::new(Inner {
            manager: Arc::new(manager),
            stop: CancellationToken::new(),
            state: Mutex::new(State::default()),
        }))
    }
}

/// A place for one more session of a key, held while its `initialize` is
/// answered; given back when dropped unless the session was recorded.
pub struct Reservation {
    sessions: Sessions,
    opener: Opener,
    done: bool,
}

impl Reservation {
    /// The session the `initialize` opened.
    pub fn opened(mut self, id: &str) {
        let mut state = self.sessions.state();
        state.open.insert(
            Arc::from(id),
            Entry {
                opener: self.opener,
                peer: None,
            },
        );
        release(&mut state.opening, self.opener.key);
        self.done = true;
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if !self.done {
            release(&mut self.sessions.state().opening, self.opener.key);
        }
    }
}

/// One tool call in flight, counted against its key until dropped.
pub struct CallSlot {
    sessions: Sessions,
    key: Uuid,
}

impl Drop for CallSlot {
    fn drop(&mut self) {
        release(&mut self.sessions.state().calls, self.key);
    }
}

fn release(counts: &mut HashMap<Uuid, usize>, key: Uuid) {
    if let Some(count) = counts.get_mut(&key) {
        *count = count.saturating_sub(1);
        if *count == 0 {
            counts.remove(&key);
        }
    }
}

impl Sessions {
    pub fn manager(&self) -> Arc<LocalSessionManager> {
        Arc::clone(&self.0.manager)
    }

    /// A token cancelled when the server stops.
    pub fn stopping(&self) -> CancellationToken {
        self.0.stop.child_token()
    }

    /// Whether the server is stopping.
    pub fn is_stopping(&self) -> bool {
        self.0.stop.is_cancelled()
    }

    /// Ends every session (at shutdown).
    pub fn stop(&self) {
        self.0.stop.cancel();
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A place for another session of `opener`'s key, if it holds fewer
    /// than `PER_KEY` (open or being opened).
    pub fn reserve(&self, opener: Opener) -> Option<Reservation> {
        let mut state = self.state();
        let open = state
            .open
            .values()
            .filter(|entry| entry.opener.key == opener.key)
            .count();
        let opening = state.opening.get(&opener.key).copied().unwrap_or(0);
        if open + opening >= PER_KEY {
            return None;
        }
        *state.opening.entry(opener.key).or_default() += 1;
        Some(Reservation {
            sessions: self.clone(),
            opener,
            done: false,
        })
    }

    /// A slot for one more tool call of `key`, if it has fewer than
    /// `CALLS_PER_KEY` in flight.
    pub fn call_slot(&self, key: Uuid) -> Option<CallSlot> {
        let mut state = self.state();
        let calls = state.calls.entry(key).or_default();
        if *calls >= CALLS_PER_KEY {
            return None;
        }
        *calls += 1;
        Some(CallSlot {
            sessions: self.clone(),
            key,
        })
    }

    /// The opener of session `id`, if it is one of ours.
    pub fn opener(&self, id: &str) -> Option<Opener> {
        self.state().open.get(id).map(|entry| entry.opener)
    }

    /// Session `id` was ended by its client.
    pub fn ended(&self, id: &str) {
        self.state().open.remove(id);
    }

    /// Whether rmcp still keeps session `id`.
    pub async fn exists(&self, id: &str) -> bool {
        self.0
            .manager
            .has_session(&Arc::from(id))
            .await
            .unwrap_or(false)
    }

    /// The client of session `id` is ready for notifications.
    pub fn attach(&self, id: &str, peer: Peer<RoleServer>) {
        if let Some(entry) = self.state().open.get_mut(id) {
            entry.peer = Some(peer);
        }
    }

    /// Sessions open here (for tests and metrics).
    pub fn count(&self) -> usize {
        self.state().open.len()
    }

    /// Drops the records of sessions rmcp no longer keeps (ended by the
    /// client, or idle).
    async fn forget_closed(&self) {
        let ids: Vec<Arc<str>> = self.state().open.keys().cloned().collect();
        let mut gone = Vec::new();
        for id in ids {
            if !self.0.manager.has_session(&id).await.unwrap_or(false) {
                gone.push(id);
            }
        }
        let mut state = self.state();
        for id in gone {
            state.open.remove(&id);
        }
    }

    /// Tells every ready session of `workspace` that its tools changed,
    /// each in its own task: a client that does not read its stream only
    /// misses its own notice.
    pub fn tools_changed(&self, workspace: Uuid) {
        let peers: Vec<Peer<RoleServer>> = self
            .state()
            .open
            .values()
            .filter(|entry| entry.opener.workspace == workspace)
            .filter_map(|entry| entry.peer.clone())
            .collect();
        for peer in peers {
            if peer.is_transport_closed() {
                continue;
            }
            tokio::spawn(async move {
                match tokio::time::timeout(NOTIFY_WAIT, peer.notify_tool_list_changed()).await {
                    Ok(Ok(())) => {}
                    Ok(Err(error)) => {
                        tracing::debug!(%error, "a session did not take list_changed")
                    }
                    Err(_) => tracing::debug!("a session's stream is full; list_changed dropped"),
                }
            });
        }
    }

    /// Closes the sessions whose key is no longer in force, or whose
    /// owner is no longer a member (at least Member) of its workspace;
    /// only those of `user`, or everyone's.
    pub async fn check_keys(&self, services: &Services, user: Option<Uuid>) {
        let keys: Vec<Uuid> = {
            let state = self.state();
            let mut keys: Vec<Uuid> = state
                .open
                .values()
                .filter(|entry| user.is_none_or(|user| entry.opener.user == user))
                .map(|entry| entry.opener.key)
                .collect();
            keys.sort_unstable();
            keys.dedup();
            keys
        };
        if keys.is_empty() {
            return;
        }
        let in_force = match service::auth::api_keys::in_force(services, &keys).await {
            Ok(in_force) => in_force,
            Err(error) => {
                tracing::warn!(%error, "cannot check the keys of MCP sessions");
                return;
            }
        };
        let ended: Vec<Arc<str>> = self
            .state()
            .open
            .iter()
            .filter(|(_, entry)| !in_force.contains(&entry.opener.key))
            .filter(|(_, entry)| keys.contains(&entry.opener.key))
            .map(|(id, _)| Arc::clone(id))
            .collect();
        for id in ended {
            // Closed first, then forgotten: until it is closed, its id is
            // still checked against its key.
            if let Err(error) = self.0.manager.close_session(&id).await {
                tracing::debug!(%error, "closing an MCP session of a revoked key");
            }
            self.state().open.remove(&id);
        }
    }
}

/// Acts on the changes the hub hears, and sweeps every minute, until the
/// hub shuts down. Each change is handled in its own task.
pub fn watch(sessions: Sessions, services: Services, hub: Hub) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut changes = hub.changes();
        let mut stop = hub.shutdown_signal();
        let mut sweep = tokio::time::interval(SWEEP);
        loop {
            let change = tokio::select! {
                change = changes.recv() => change,
                _ = sweep.tick() => {
                    let (sessions, services) = (sessions.clone(), services.clone());
                    tokio::spawn(async move {
                        sessions.forget_closed().await;
                        sessions.check_keys(&services, None).await;
                    });
                    continue;
                }
                _ = stop.wait_for(|stop| *stop) => return,
            };
            if sessions.count() == 0 {
                if let Err(RecvError::Closed) = change {
                    return;
                }
                continue;
            }
            let (sessions, services) = (sessions.clone(), services.clone());
            match change {
                Ok(Change::Deployment(deployment)) => {
                    tokio::spawn(async move {
                        match service::mcp::workspace_of_deployment(&services, deployment).await {
                            Ok(Some(workspace)) => sessions.tools_changed(workspace),
                            Ok(None) => {}
                            Err(error) => tracing::warn!(%error, "cannot tell MCP sessions"),
                        }
                    });
                }
                Ok(Change::Access(user)) => {
                    tokio::spawn(async move { sessions.check_keys(&services, Some(user.0)).await });
                }
                // Fell behind: check every key, tell every workspace once.
                Err(RecvError::Lagged(_)) => {
                    tokio::spawn(async move {
                        sessions.check_keys(&services, None).await;
                        let workspaces: HashSet<Uuid> = sessions
                            .state()
                            .open
                            .values()
                            .map(|entry| entry.opener.workspace)
                            .collect();
                        for workspace in workspaces {
                            sessions.tools_changed(workspace);
                        }
                    });
                }
                Err(RecvError::Closed) => return,
            }
        }
    })
}
