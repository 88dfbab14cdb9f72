//! Two server processes on different ports sharing one PostgreSQL: a
//! deployment started through one is watched live through a WebSocket on
//! the other (events travel by LISTEN/NOTIFY).

use std::time::Duration;

use futures::{SinkExt as _, StreamExt as _};
use reqwest::Method;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

use crate::crash::{api, key};
use crate::process::{Running, data_dir};

#[tokio::test]
async fn a_deployment_started_on_one_server_is_watched_live_on_another() {
    let first_dir = data_dir();
    let first = Running::start(first_dir.path()).await;
    // The second uses the first one's (embedded) database.
    let socket_dir = first_dir.path().join("state/postgres");
    let database_url = format!(
        "postgresql://agentdeck@{}:5432/agentdeck",
        socket_dir.display().to_string().replace('/', "%2F")
    );
    let second_dir = data_dir();
    // It runs no jobs: every event comes from the first.
    let second = Running::start_with(second_dir.path(), |command| {
        command
            .env("DATABASE_URL", &database_url)
            .env("AGENTDECK_WORKERS", "0");
    })
    .await;
    let token = key(&first.base_url, &[first_dir.path()]).await;

    // Watch on the second, with the key made on the first.
    let ws_url = format!("{}/ws", second.base_url.replacen("http://", "ws://", 1));
    let mut request = ws_url.into_client_request().expect("a request");
    request.headers_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("a header"),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("connecting to the second server");

    let id = crate::crash::deploy_analytics(&first.base_url, &token).await;
    let id = id.as_str();
    socket
        .send(Message::text(
            json!({ "type": "subscribe", "topic": format!("deployment:{id}"), "since": 0 })
                .to_string(),
        ))
        .await
        .expect("subscribing");
    let mut statuses = Vec::new();
    while statuses.last().map(String::as_str) != Some("running") {
        let message = tokio::time::timeout(Duration::from_secs(120), socket.next())
            .await
            .expect("an event in time")
            .expect("the socket open")
            .expect("no WebSocket error");
        let Message::Text(text) = message else {
            continue;
        };
        let frame: Value = serde_json::from_str(text.as_str()).expect("JSON");
        assert_eq!(frame["type"], "event", "{frame}");
        if frame["event"]["kind"] == "status" {
            statuses.push(
                frame["event"]["status"]
                    .as_str()
                    .expect("status")
                    .to_owned(),
            );
        }
    }
    assert_eq!(statuses, ["queued", "building", "starting", "running"]);
    assert!(second.terminate().success());
    assert!(first.terminate().success());
}

#[tokio::test]
async fn a_worker_process_runs_the_jobs_of_a_server_that_runs_none() {
    let web_dir = data_dir();
    let web = Running::start_with(web_dir.path(), |command| {
        command.env("AGENTDECK_WORKERS", "0");
    })
    .await;
    let database_url = format!(
        "postgresql://agentdeck@{}:5432/agentdeck",
        web_dir
            .path()
            .join("state/postgres")
            .display()
            .to_string()
            .replace('/', "%2F")
    );
    let worker_dir = data_dir();
    let mut worker = crate::process::server_command(worker_dir.path(), crate::process::free_port())
        .arg("worker")
        .env("DATABASE_URL", &database_url)
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("starting a worker");
    let token = key(&web.base_url, &[worker_dir.path()]).await;
    let (_, created) = api(
        &web.base_url,
        &token,
        Method::POST,
        "/api/v1/deployments",
        Some(json!({ "agent": "analytics" })),
    )
    .await;
    let path = format!(
        "/api/v1/deployments/{}",
        created["id"].as_str().expect("id")
    );
    let started = std::time::Instant::now();
    loop {
        let (_, deployment) = api(&web.base_url, &token, Method::GET, &path, None).await;
        if deployment["status"] == "running" {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the worker did not deploy it: {deployment}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(worker.id()).expect("a pid")),
        nix::sys::signal::Signal::SIGTERM,
    )
    .expect("stopping the worker");
    assert!(worker.wait().expect("the worker exits").success());
    assert!(web.terminate().success());

    // Without a database to share, a worker refuses to start.
    let output = crate::process::server_command(worker_dir.path(), crate::process::free_port())
        .arg("worker")
        .output()
        .expect("running a worker");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("DATABASE_URL"));
}
