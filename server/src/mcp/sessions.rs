//! The MCP sessions open on this server: who opened each (the key, its
//! owner and workspace), the line to tell it that its tools changed, and
//! the caps that keep one key from holding many.
//!
//! rmcp keeps the sessions themselves (`LocalSessionManager`: one task and
//! a few channels each, closed after five idle minutes). Here each is
//! recorded when its `initialize` is answered (`opened`) and given its line
//! back to the client when the client says it is ready (`attach`). A key
//! that is revoked or expires has its sessions closed as soon as any server
//! hears of the change (`Change::Access`); a deployment that starts, stops
//! or goes away sends `notifications/tools/list_changed` to the sessions of
//! its workspace (`Change::Deployment`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

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
    open: Mutex<HashMap<Arc<str>, Entry>>,
}

impl Default for Sessions {
    fn default() -> Self {
        Self(Arc::new(Inner {
            manager: Arc::new(LocalSessionManager::default()),
            stop: CancellationToken::new(),
            open: Mutex::new(HashMap::new()),
        }))
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

    /// Ends every session (at shutdown).
    pub fn stop(&self) {
        self.0.stop.cancel();
    }

    fn open(&self) -> std::sync::MutexGuard<'_, HashMap<Arc<str>, Entry>> {
        self.0.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether `key` may open another session (it holds fewer than
    /// `PER_KEY`, counting only those rmcp still keeps).
    pub async fn room_for(&self, key: Uuid) -> bool {
        self.forget_closed().await;
        self.open()
            .values()
            .filter(|entry| entry.opener.key == key)
            .count()
            < PER_KEY
    }

    /// Session `id` was opened by `opener`.
    pub fn opened(&self, id: &str, opener: Opener) {
        self.open()
            .insert(Arc::from(id), Entry { opener, peer: None });
    }

    /// The opener of session `id`, if it is one of ours.
    pub fn opener(&self, id: &str) -> Option<Opener> {
        self.open().get(id).map(|entry| entry.opener)
    }

    /// The client of session `id` is ready for notifications.
    pub fn attach(&self, id: &str, peer: Peer<RoleServer>) {
        if let Some(entry) = self.open().get_mut(id) {
            entry.peer = Some(peer);
        }
    }

    /// Sessions open here (for tests and metrics).
    pub fn count(&self) -> usize {
        self.open().len()
    }

    /// Drops the records of sessions rmcp no longer keeps (ended by the
    /// client, or idle).
    async fn forget_closed(&self) {
        let ids: Vec<Arc<str>> = self.open().keys().cloned().collect();
        let mut gone = Vec::new();
        for id in ids {
            if !self.0.manager.has_session(&id).await.unwrap_or(false) {
                gone.push(id);
            }
        }
        let mut open = self.open();
        for id in gone {
            open.remove(&id);
        }
    }

    /// Tells every ready session of `workspace` that its tools changed.
    pub async fn tools_changed(&self, workspace: Uuid) {
        let peers: Vec<Peer<RoleServer>> = self
            .open()
            .values()
            .filter(|entry| entry.opener.workspace == workspace)
            .filter_map(|entry| entry.peer.clone())
            .collect();
        for peer in peers {
            if !peer.is_transport_closed()
                && let Err(error) = peer.notify_tool_list_changed().await
            {
                tracing::debug!(%error, "an MCP session did not take list_changed");
            }
        }
    }

    /// Closes the sessions of `user`'s keys that are no longer in force.
    pub async fn check_keys(&self, services: &Services, user: Uuid) {
        let keys: Vec<Uuid> = self
            .open()
            .values()
            .filter(|entry| entry.opener.user == user)
            .map(|entry| entry.opener.key)
            .collect();
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
            .open()
            .iter()
            .filter(|(_, entry)| entry.opener.user == user && !in_force.contains(&entry.opener.key))
            .map(|(id, _)| Arc::clone(id))
            .collect();
        for id in ended {
            self.open().remove(&id);
            if let Err(error) = self.0.manager.close_session(&id).await {
                tracing::debug!(%error, "closing an MCP session of a revoked key");
            }
        }
    }
}

/// Acts on the changes the hub hears until it shuts down.
pub fn watch(sessions: Sessions, services: Services, hub: Hub) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut changes = hub.changes();
        let mut stop = hub.shutdown_signal();
        loop {
            let change = tokio::select! {
                change = changes.recv() => change,
                _ = stop.wait_for(|stop| *stop) => return,
            };
            match change {
                Ok(Change::Deployment(deployment)) => {
                    if sessions.count() == 0 {
                        continue;
                    }
                    match service::mcp::workspace_of_deployment(&services, deployment).await {
                        Ok(Some(workspace)) => sessions.tools_changed(workspace).await,
                        Ok(None) => {}
                        Err(error) => tracing::warn!(%error, "cannot tell MCP sessions"),
                    }
                }
                Ok(Change::Access(user)) => sessions.check_keys(&services, user.0).await,
                // Fell behind: check every opener's keys, tell everyone.
                Err(RecvError::Lagged(_)) => {
                    let (users, workspaces): (Vec<Uuid>, Vec<Uuid>) = sessions
                        .open()
                        .values()
                        .map(|entry| (entry.opener.user, entry.opener.workspace))
                        .unzip();
                    for user in users {
                        sessions.check_keys(&services, user).await;
                    }
                    for workspace in workspaces {
                        sessions.tools_changed(workspace).await;
                    }
                }
                Err(RecvError::Closed) => return,
            }
        }
    })
}
