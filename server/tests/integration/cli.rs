//! The `agentdeck` command line against a real server: signing in with a
//! key (kept readable by its owner only), who it acts for, the
//! deployments, a run with its output, a refused input with each problem
//! on a line of its own, the wallet, stopping, starting and deleting;
//! writing an agent in a local folder (`init`, `test`, `publish`).

use cli::Parser as _;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::browser::Browser;
use crate::support::{TestApp, deploy_running, publish_agent};

/// Runs one command line with `dir` as its configuration; its output, or
/// its failure's message and exit code.
async fn agentdeck(dir: &std::path::Path, args: &[&str]) -> Result<String, (String, i32)> {
    let cli = cli::Cli::try_parse_from(std::iter::once("agentdeck").chain(args.iter().copied()))
        .map_err(|error| (error.to_string(), 2))?;
    let mut out = Vec::new();
    let mut stdin: &[u8] = b"";
    let io = cli::Io {
        out: &mut out,
        stdin: &mut stdin,
        config_dir: dir.to_path_buf(),
        env_key: None,
        terminal: false,
    };
    cli::run(cli, io)
        .await
        .map_err(|failure| (failure.message, failure.code))?;
    Ok(String::from_utf8(out).expect("UTF-8 output"))
}

#[tokio::test]
async fn sign_in_list_and_run_from_the_command_line() {
    let app = TestApp::builder().workers().spawn().await;
    let (mut ada, _) = Browser::sign_up(&app, "ada@example.com", "Ada Lovelace").await;
    let slug = publish_agent(&mut ada, "Terminal Greeter", |body| {
        body["manifest"]["input_schema"] = json!({
            "type": "object",
            "properties": {"name": {"type": "string", "minLength": 2}},
            "required": ["name"]
        });
        body["example_input"] = json!("{\"name\": \"Ada\"}");
    })
    .await;
    let (id, _) = deploy_running(&mut ada, json!({ "agent": slug })).await;
    let (status, key) = ada
        .post(
            "/api/v1/api-keys",
            json!({ "name": "terminal", "scopes": ["deployments:write", "runs:read", "runs:write", "billing:read"] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{key}");
    let token = key["token"].as_str().expect("token").to_owned();
    let dir = tempfile::tempdir().expect("a config dir");

    // Not signed in yet; a wrong key is refused and nothing is kept.
    let (message, _) = agentdeck(dir.path(), &["whoami"])
        .await
        .expect_err("not signed in");
    assert!(message.contains("agentdeck login"), "{message}");
    let (message, code) = agentdeck(
        dir.path(),
        &["login", "--url", &app.base_url, "--key", "adk_not-a-key"],
    )
    .await
    .expect_err("a wrong key");
    assert_eq!(code, 1);
    assert!(message.contains("unknown, revoked or expired"), "{message}");
    assert!(!dir.path().join("config.json").exists());

    let said = agentdeck(
        dir.path(),
        &["login", "--url", &app.base_url, "--key", &token],
    )
    .await
    .expect("signed in");
    assert!(said.contains("as Ada Lovelace"), "{said}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.path().join("config.json"))
            .expect("kept")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the key is readable by its owner only");
    }
    let said = agentdeck(dir.path(), &["whoami"]).await.expect("whoami");
    assert!(said.starts_with("Ada Lovelace (@"), "{said}");

    let listed = agentdeck(dir.path(), &["deployments", "ls"])
        .await
        .expect("ls");
    assert!(
        listed.contains(&id) && listed.contains("running"),
        "{listed}"
    );
    let listed: Value = serde_json::from_str(
        &agentdeck(dir.path(), &["deployments", "ls", "--json"])
            .await
            .expect("ls --json"),
    )
    .expect("JSON");
    assert_eq!(listed["items"][0]["id"], id.as_str());

    // A run prints its output; --json the run as the API answers it.
    let output = agentdeck(
        dir.path(),
        &["run", &id, "--input", "{\"name\": \"Grace\"}"],
    )
    .await
    .expect("a run");
    let output: Value = serde_json::from_str(&output).expect("the output as JSON");
    assert_eq!(output["greeting"], "Hello, Grace!");
    let run: Value = serde_json::from_str(
        &agentdeck(
            dir.path(),
            &["run", &id, "--input", "{\"name\": \"Linus\"}", "--json"],
        )
        .await
        .expect("a run"),
    )
    .expect("JSON");
    assert_eq!(
        (&run["status"], &run["trigger"]),
        (&"succeeded".into(), &"api".into())
    );
    // The run again, by its id: status, cost and output in words.
    let run_id = run["id"].as_str().expect("id");
    let shown = agentdeck(dir.path(), &["runs", "show", run_id])
        .await
        .expect("runs show");
    let first = shown.lines().next().unwrap_or_default();
    assert!(
        first.starts_with(&format!("run {run_id}  succeeded  ")) && first.ends_with(" credits"),
        "{shown}"
    );
    assert!(shown.contains("\"greeting\": \"Hello, Linus!\""), "{shown}");

    // A refused input: every problem, each on a line; input that is not
    // JSON never reaches the server.
    let (message, code) = agentdeck(
        dir.path(),
        &["run", &id, "--input", "{\"name\": 1, \"x\": [}"],
    )
    .await
    .expect_err("not JSON");
    assert_eq!(code, 1);
    assert!(message.starts_with("the input is not JSON"), "{message}");
    let (message, _) = agentdeck(
        dir.path(),
        &["run", &id, "--input", "{\"name\": \"A\", \"times\": 2}"],
    )
    .await
    .expect_err("refused");
    assert_eq!(
        message, "input.name: must be at least 2 characters",
        "{message}"
    );
    let (message, _) = agentdeck(dir.path(), &["run", &id, "--input", "[]"])
        .await
        .expect_err("refused");
    assert!(message.starts_with("input: must be an object"), "{message}");

    // The wallet; stop, start and delete the deployment.
    let said = agentdeck(dir.path(), &["wallet"]).await.expect("wallet");
    assert!(said.ends_with(" credits\n"), "{said}");
    let said = agentdeck(dir.path(), &["deployments", "stop", &id])
        .await
        .expect("stop");
    assert!(said.contains("is stopping"), "{said}");
    let mut status = String::new();
    for _ in 0..200 {
        let (_, shown) = ada.get(&format!("/api/v1/deployments/{id}")).await;
        status = shown["status"].as_str().unwrap_or_default().to_owned();
        if status == "stopped" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(status, "stopped");
    let (message, code) = agentdeck(dir.path(), &["run", &id, "--input", "{\"name\": \"Ada\"}"])
        .await
        .expect_err("stopped");
    assert_eq!(code, 1);
    assert!(message.contains("stopped"), "{message}");
    agentdeck(dir.path(), &["deployments", "rm", &id])
        .await
        .expect("rm");
    let (status, _) = ada.get(&format!("/api/v1/deployments/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Signed out, the key is forgotten here.
    agentdeck(dir.path(), &["logout"]).await.expect("logout");
    let (message, _) = agentdeck(dir.path(), &["whoami"])
        .await
        .expect_err("signed out");
    assert!(message.contains("agentdeck login"), "{message}");
}

/// Writing an agent from a terminal: `init` makes a folder (the built-in
/// greeter, offline), `test` runs it on the server (creating the agent, a
/// private draft, the first time) and reports a broken one with exit code
/// 3, `publish` saves the folder as the draft and publishes 1.0.0, then the
/// next patch; a server template makes a folder of the template's agent.
#[tokio::test]
async fn init_test_and_publish_an_agent_folder() {
    let app = TestApp::spawn().await;
    let (mut ada, _) = Browser::sign_up(&app, "ada@example.com", "Ada Lovelace").await;
    let (status, key) = ada
        .post(
            "/api/v1/api-keys",
            json!({ "name": "author", "scopes": ["agents:read", "agents:write", "runs:write"] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{key}");
    let token = key["token"].as_str().expect("token").to_owned();
    let config = tempfile::tempdir().expect("a config dir");
    let work = tempfile::tempdir().expect("a work dir");
    let folder = work.path().join("greeter");
    let folder_arg = folder.to_str().expect("a UTF-8 path");

    // Offline: no key needed for the built-in start.
    let said = agentdeck(
        config.path(),
        &["init", folder_arg, "--name", "Terminal Greeter"],
    )
    .await
    .expect("init");
    assert!(said.contains("agentdeck test"), "{said}");
    for file in [
        "agentdeck.json",
        "manifest.json",
        "agent.js",
        "README.md",
        "example.json",
    ] {
        assert!(folder.join(file).exists(), "{file}");
    }
    let (message, _) = agentdeck(config.path(), &["init", folder_arg])
        .await
        .expect_err("a folder holds one agent");
    assert!(message.contains("already holds an agent"), "{message}");

    agentdeck(
        config.path(),
        &["login", "--url", &app.base_url, "--key", &token],
    )
    .await
    .expect("signed in");
    let said = agentdeck(config.path(), &["test", "--dir", folder_arg])
        .await
        .expect("a test run");
    assert!(
        said.contains("Created the agent terminal-greeter"),
        "{said}"
    );
    assert!(
        said.contains("greeting Ada") && said.contains("Hello, Ada!"),
        "{said}"
    );
    let identity: Value = serde_json::from_str(
        &std::fs::read_to_string(folder.join("agentdeck.json")).expect("the identity"),
    )
    .expect("JSON");
    assert_eq!(identity["slug"], "terminal-greeter");
    // The input schema holds on a test run too.
    let (message, code) = agentdeck(
        config.path(),
        &["test", "--dir", folder_arg, "--input", "{\"name\": 3}"],
    )
    .await
    .expect_err("refused");
    assert_eq!(code, 1);
    assert!(message.contains("name"), "{message}");
    // A broken agent: exit code 3 with its error.
    std::fs::write(
        folder.join("agent.js"),
        "export default async function run() { throw new Error('boom'); }\n",
    )
    .expect("writing");
    let (message, code) = agentdeck(config.path(), &["test", "--dir", folder_arg])
        .await
        .expect_err("a failed run");
    assert_eq!(code, 3, "{message}");
    assert!(message.contains("boom"), "{message}");
    std::fs::write(
        folder.join("agent.js"),
        "export default async function run(input) { return { greeting: `Hi, ${input.name}!` }; }\n",
    )
    .expect("writing");

    let said = agentdeck(config.path(), &["publish", "--dir", folder_arg])
        .await
        .expect("published");
    assert!(said.contains("Published terminal-greeter 1.0.0"), "{said}");
    let (_, version) = ada
        .get("/api/v1/agents/terminal-greeter/versions/1.0.0")
        .await;
    assert!(
        version["source"]
            .as_str()
            .unwrap_or_default()
            .contains("Hi, "),
        "{version}"
    );
    let said = agentdeck(
        config.path(),
        &["publish", "--dir", folder_arg, "--changelog", "Again"],
    )
    .await
    .expect("published again");
    assert!(said.contains("1.0.1"), "{said}");

    // From a server template: the agent is made there, its draft here.
    let templated = work.path().join("from-template");
    let (_, templates) = ada.get("/api/v1/templates").await;
    let template = templates[0]["id"].as_str().expect("a template").to_owned();
    let said = agentdeck(
        config.path(),
        &[
            "init",
            templated.to_str().expect("UTF-8"),
            "--template",
            &template,
            "--json",
        ],
    )
    .await
    .expect("init from a template");
    let made: Value = serde_json::from_str(said.trim()).expect("JSON");
    let slug = made["slug"].as_str().expect("a slug");
    let (_, draft) = ada.get(&format!("/api/v1/agents/{slug}/draft")).await;
    assert_eq!(
        std::fs::read_to_string(templated.join("agent.js"))
            .expect("source")
            .trim_end(),
        draft["source"].as_str().expect("source").trim_end()
    );
}

/// A TCP proxy in front of the test server whose open connections the test
/// can cut: a real dropped link, as a laptop's network drops one.
struct Proxy {
    url: String,
    connections: std::sync::Arc<std::sync::Mutex<tokio::task::JoinSet<()>>>,
}

impl Proxy {
    async fn to(base_url: &str) -> Self {
        let upstream = base_url.trim_start_matches("http://").to_owned();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding the proxy");
        let url = format!("http://{}", listener.local_addr().expect("an address"));
        let connections = std::sync::Arc::new(std::sync::Mutex::new(tokio::task::JoinSet::new()));
        let held = std::sync::Arc::clone(&connections);
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let upstream = upstream.clone();
                held.lock().expect("the connections").spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        });
        Self { url, connections }
    }

    /// Drops every open connection.
    fn cut(&self) {
        self.connections
            .lock()
            .expect("the connections")
            .abort_all();
    }
}

/// A `Write` the test reads while the command is still going.
#[derive(Clone, Default)]
struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Shared {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("the buffer").extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Shared {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().expect("the buffer").clone()).expect("UTF-8")
    }
}

/// One command line started with `config` as its configuration and left
/// to run: its output, readable while it goes on, and its end to await.
fn running(
    config: &std::path::Path,
    args: &[&str],
) -> (
    Shared,
    impl std::future::Future<Output = Result<(), cli::Failure>> + use<>,
) {
    let cli = cli::Cli::try_parse_from(std::iter::once("agentdeck").chain(args.iter().copied()))
        .expect("arguments");
    let out = Shared::default();
    let mut writer = out.clone();
    let config_dir = config.to_path_buf();
    let ended = async move {
        let mut stdin: &[u8] = b"";
        let io = cli::Io {
            out: &mut writer,
            stdin: &mut stdin,
            config_dir,
            env_key: None,
            terminal: false,
        };
        cli::run(cli, io).await
    };
    (out, ended)
}

/// The user code `agentdeck login` prints, once it has.
async fn code_shown(out: &Shared) -> String {
    loop {
        if let Some(code) = out
            .text()
            .split("enter the code ")
            .nth(1)
            .and_then(|rest| rest.get(..9))
        {
            return code.to_owned();
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
}

/// The whole way from a terminal: `init`, `test`, `publish`, `deploy`
/// (followed live until it runs), `run`, and `logs --follow`, whose link
/// is cut between two runs: every event is printed once, in order, the
/// second run's included.
#[tokio::test]
async fn from_a_folder_to_a_running_deployment_and_its_logs() {
    let app = TestApp::builder().workers().spawn().await;
    let (mut ada, _) = Browser::sign_up(&app, "ada@example.com", "Ada Lovelace").await;
    let (status, key) = ada
        .post(
            "/api/v1/api-keys",
            json!({ "name": "all", "scopes": ["agents:read", "agents:write", "deployments:write", "runs:read", "runs:write"] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{key}");
    let token = key["token"].as_str().expect("token").to_owned();
    let proxy = Proxy::to(&app.base_url).await;
    let config = tempfile::tempdir().expect("a config dir");
    let work = tempfile::tempdir().expect("a work dir");
    let folder = work.path().join("greeter");
    let dir = folder.to_str().expect("UTF-8");

    agentdeck(config.path(), &["init", dir, "--name", "Live Greeter"])
        .await
        .expect("init");
    agentdeck(
        config.path(),
        &["login", "--url", &proxy.url, "--key", &token],
    )
    .await
    .expect("login");
    agentdeck(config.path(), &["test", "--dir", dir])
        .await
        .expect("test");
    agentdeck(config.path(), &["publish", "--dir", dir])
        .await
        .expect("publish");
    let said = agentdeck(config.path(), &["deploy", "--dir", dir])
        .await
        .expect("deployed");
    assert!(said.contains("is running."), "{said}");
    assert!(
        said.contains("deployment running"),
        "the live status line: {said}"
    );
    let id = said
        .lines()
        .next()
        .and_then(|line| line.rsplit(' ').next())
        .expect("the deployment's id")
        .to_owned();
    let output = agentdeck(
        config.path(),
        &["run", &id, "--input", "{\"name\": \"first\"}"],
    )
    .await
    .expect("a run");
    assert!(output.contains("Hello, first!"), "{output}");

    // Follow the logs; once the first run's lines are shown, cut the link,
    // run again, and wait for the second run's lines.
    let (out, follow) = running(config.path(), &["logs", &id, "--follow", "--json"]);
    let steps = async {
        let wait_for = |needle: &'static str| {
            let out = out.clone();
            async move {
                for _ in 0..400 {
                    if out.text().contains(needle) {
                        return;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(25)).await;
                }
                panic!("{needle:?} never came: {}", out.text());
            }
        };
        wait_for("greeting first").await;
        proxy.cut();
        let output = agentdeck(
            config.path(),
            &["run", &id, "--input", "{\"name\": \"second\"}"],
        )
        .await
        .expect("a second run");
        assert!(output.contains("Hello, second!"), "{output}");
        wait_for("greeting second").await;
        // Anything still in flight.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    };
    tokio::select! {
        ended = follow => panic!("logs --follow ended: {:?}", ended.err().map(|f| f.message)),
        () = steps => {}
    }
    let lines: Vec<Value> = out
        .text()
        .lines()
        .map(|line| serde_json::from_str(line).expect("JSON lines"))
        .collect();
    let seqs: Vec<i64> = lines
        .iter()
        .map(|line| line["seq"].as_i64().expect("seq"))
        .collect();
    assert!(
        seqs.windows(2).all(|pair| pair[0] < pair[1]),
        "in order, none twice: {seqs:?}"
    );
    let messages: Vec<&str> = lines
        .iter()
        .filter_map(|line| line["event"]["message"].as_str())
        .collect();
    for needle in ["greeting first", "greeting second"] {
        assert_eq!(
            messages
                .iter()
                .filter(|message| message.contains(needle))
                .count(),
            1,
            "{needle} once: {messages:?}"
        );
    }
    // The stored events before the cut are all there: the deployment's
    // status changes from the start.
    assert!(
        lines
            .iter()
            .any(|line| line["event"]["status"] == "running"),
        "{lines:?}"
    );
}

/// `agentdeck login` without a key: the code it prints is approved in the
/// browser (with fewer scopes than asked), and the terminal is signed in
/// with a key of those scopes. That key manages keys (`keys:write`): it
/// makes one with no more scopes than its own, lists and revokes it, and
/// revoking the device's key in the browser revokes what it made.
#[tokio::test]
async fn a_terminal_signs_in_through_the_browser_and_manages_keys() {
    let app = TestApp::spawn().await;
    let (mut ada, me) = Browser::sign_up(&app, "ada@example.com", "Ada Lovelace").await;
    let config = tempfile::tempdir().expect("a config dir");
    let (out, login) = running(
        config.path(),
        &[
            "login",
            "--url",
            &app.base_url,
            "--no-browser",
            "--name",
            "Ada's laptop",
        ],
    );
    let approve = async {
        let code = code_shown(&out).await;
        assert!(
            out.text()
                .contains(&format!("{}/device?code={code}", app.base_url)),
            "the link fills the code in: {}",
            out.text()
        );
        let (status, request) = ada
            .post(
                "/api/fn/device_request",
                json!({ "code": code.to_lowercase() }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{request}");
        assert_eq!(request["client_name"], "Ada's laptop");
        assert_eq!(request["status"], "pending");
        assert!(
            request["scopes"]
                .as_array()
                .is_some_and(|scopes| scopes.contains(&json!("keys:write"))
                    && scopes.contains(&json!("deployments:write"))),
            "{request}"
        );
        let (status, decided) = ada
            .post(
                "/api/fn/decide_device",
                json!({ "decision": {
                    "user_code": code,
                    "approve": true,
                    "scopes": ["agents:read", "runs:read", "keys:write"],
                } }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{decided}");
        assert_eq!(decided["status"], "approved");
    };
    let (signed_in, ()) = tokio::join!(login, approve);
    signed_in
        .map_err(|failure| failure.message)
        .expect("signed in");
    assert!(out.text().contains("as Ada Lovelace"), "{}", out.text());

    // The key it keeps holds what was approved, in the personal workspace.
    let listed: Value = serde_json::from_str(
        &agentdeck(config.path(), &["keys", "ls", "--json"])
            .await
            .expect("keys ls"),
    )
    .expect("JSON");
    let device_key = &listed[0];
    assert_eq!(
        device_key["name"],
        "Ada's laptop (device sign-in from 127.0.0.1)"
    );
    assert_eq!(
        device_key["scopes"],
        json!(["agents:read", "runs:read", "keys:write"])
    );
    assert_eq!(device_key["workspace"], me["workspaces"][0]["id"]);
    assert!(device_key["expires_at"].is_string(), "{device_key}");

    // It makes a key with some of its scopes, never one it lacks.
    let token = agentdeck(
        config.path(),
        &["keys", "create", "--name", "ci", "--scope", "agents:read"],
    )
    .await
    .expect("keys create");
    let token = token.trim().to_owned();
    assert!(token.starts_with("adk_"), "{token}");
    let (message, _) = agentdeck(
        config.path(),
        &["keys", "create", "--name", "more", "--scope", "runs:write"],
    )
    .await
    .expect_err("a scope the key lacks");
    assert!(message.contains("runs:write"), "{message}");
    let said = agentdeck(config.path(), &["keys", "ls"])
        .await
        .expect("keys ls");
    assert!(
        said.contains("ci") && said.contains("Ada's laptop"),
        "{said}"
    );
    let whoami = |token: String| {
        let app = &app;
        async move {
            app.http
                .get(app.url("/api/v1/me"))
                .bearer_auth(token)
                .send()
                .await
                .expect("GET /me")
                .status()
        }
    };
    assert_eq!(whoami(token.clone()).await, StatusCode::OK);

    // Revoked by its prefix from the terminal, it stops at once.
    let prefix = token
        .rsplit_once('_')
        .map(|(prefix, _)| prefix)
        .expect("prefix");
    agentdeck(config.path(), &["keys", "revoke", prefix])
        .await
        .expect("keys revoke");
    assert_eq!(whoami(token).await, StatusCode::UNAUTHORIZED);

    // A second key made by the device key goes when the browser revokes
    // the device key.
    let second = agentdeck(
        config.path(),
        &["keys", "create", "--name", "second", "--scope", "runs:read"],
    )
    .await
    .expect("keys create");
    let second = second.trim().to_owned();
    assert_eq!(whoami(second.clone()).await, StatusCode::OK);
    let device_key_id = device_key["id"].as_str().expect("id");
    let (status, _) = ada
        .delete(&format!("/api/v1/api-keys/{device_key_id}"))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(whoami(second).await, StatusCode::UNAUTHORIZED);
    let (message, _) = agentdeck(config.path(), &["whoami"])
        .await
        .expect_err("revoked");
    assert!(message.contains("agentdeck login"), "{message}");

    // Signing in again through the browser replaces the terminal's key:
    // the one before is revoked; `logout` revokes the new one.
    let first = device_login(&app, &mut ada, config.path()).await;
    let second = device_login(&app, &mut ada, config.path()).await;
    let (_, keys) = ada.get("/api/v1/api-keys").await;
    let revoked = |id: &str| {
        keys.as_array()
            .into_iter()
            .flatten()
            .find(|key| key["id"] == id)
            .map(|key| !key["revoked_at"].is_null())
    };
    assert_eq!(revoked(&first), Some(true), "{keys}");
    assert_eq!(revoked(&second), Some(false), "{keys}");
    // The kept key is never sent to another server.
    let (message, _) = agentdeck(config.path(), &["whoami", "--url", "http://127.0.0.1:9"])
        .await
        .expect_err("another server");
    assert!(message.contains("the kept key is for"), "{message}");
    let said = agentdeck(config.path(), &["logout"]).await.expect("logout");
    assert!(said.contains("revoked"), "{said}");
    let (_, keys) = ada.get("/api/v1/api-keys").await;
    let second_key = keys
        .as_array()
        .into_iter()
        .flatten()
        .find(|key| key["id"] == second.as_str())
        .cloned()
        .unwrap_or_default();
    assert!(!second_key["revoked_at"].is_null(), "{second_key}");
}

/// `agentdeck login` through the browser, approved by `browser` with the
/// scopes asked for; the new key's id.
async fn device_login(app: &TestApp, browser: &mut Browser, config: &std::path::Path) -> String {
    let (out, login) = running(config, &["login", "--url", &app.base_url]);
    let approve = async {
        let code = code_shown(&out).await;
        let (_, request) = browser
            .post("/api/fn/device_request", json!({ "code": code }))
            .await;
        let (status, decided) = browser
            .post(
                "/api/fn/decide_device",
                json!({ "decision": { "user_code": code, "approve": true, "scopes": request["scopes"] } }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{decided}");
    };
    let (signed_in, ()) = tokio::join!(login, approve);
    signed_in
        .map_err(|failure| failure.message)
        .expect("signed in");
    let config: Value =
        serde_json::from_str(&std::fs::read_to_string(config.join("config.json")).expect("kept"))
            .expect("JSON");
    config["device_key"]
        .as_str()
        .expect("the device key's id")
        .to_owned()
}

/// `run -- --field value`: the input made from flags of the agent's input
/// schema; `--flags` lists them; a flag the schema lacks is refused before
/// anything is sent.
#[tokio::test]
async fn run_takes_its_input_as_flags_made_from_the_schema() {
    let app = TestApp::builder().workers().spawn().await;
    let (mut ada, _) = Browser::sign_up(&app, "ada@example.com", "Ada Lovelace").await;
    let slug = publish_agent(&mut ada, "Flag Greeter", |body| {
        body["manifest"]["input_schema"] = json!({
            "type": "object",
            "properties": {
                "name": {"type": "string", "minLength": 2, "description": "Who to greet"},
                "times": {"type": "integer", "minimum": 1}
            },
            "required": ["name"]
        });
        body["source"] = json!(
            "export default async function run(input) {\n  return { greeting: `Hello, ${input.name}!`, times: input.times ?? 1 };\n}\n"
        );
        body["example_input"] = json!("{\"name\": \"Ada\"}");
    })
    .await;
    let (id, _) = deploy_running(&mut ada, json!({ "agent": slug })).await;
    let (status, key) = ada
        .post(
            "/api/v1/api-keys",
            json!({ "name": "terminal", "scopes": ["agents:read", "runs:write"] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{key}");
    let token = key["token"].as_str().expect("token").to_owned();
    let dir = tempfile::tempdir().expect("a config dir");
    agentdeck(
        dir.path(),
        &["login", "--url", &app.base_url, "--key", &token],
    )
    .await
    .expect("login");

    let described = agentdeck(dir.path(), &["run", &id, "--flags"])
        .await
        .expect("--flags");
    assert!(
        described.contains("--name <string>  Who to greet (required)")
            && described.contains("--times <integer>"),
        "{described}"
    );
    let output = agentdeck(
        dir.path(),
        &["run", &id, "--", "--name", "Grace", "--times=3"],
    )
    .await
    .expect("a run from flags");
    let output: Value = serde_json::from_str(&output).expect("JSON output");
    assert_eq!(output, json!({ "greeting": "Hello, Grace!", "times": 3 }));

    let (message, code) = agentdeck(dir.path(), &["run", &id, "--", "--colour", "red"])
        .await
        .expect_err("a flag the schema lacks");
    assert_eq!(code, 1);
    assert!(
        message.contains("--colour") && message.contains("--name"),
        "{message}"
    );
    let (message, _) = agentdeck(dir.path(), &["run", &id, "--", "--times", "three"])
        .await
        .expect_err("not a number");
    assert!(
        message.contains("--times") && message.contains("whole number"),
        "{message}"
    );
    // The server still checks what the schema says beyond types.
    let (message, _) = agentdeck(dir.path(), &["run", &id, "--", "--name", "A"])
        .await
        .expect_err("too short");
    assert_eq!(message, "input.name: must be at least 2 characters");
}
