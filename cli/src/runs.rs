//! Deployments and their runs from a terminal: `deploy` (followed live
//! until it runs), `logs` (resumed after a dropped link), `run` (its input
//! as JSON, from a file or standard input, or as flags made from the input
//! schema) and `runs show`.

use std::io::{Read, Write};
use std::path::PathBuf;

use serde_json::Value;

use crate::{Api, Failure, flags, folder, live, style};

/// `agentdeck deploy`.
#[derive(Debug, clap::Args)]
pub struct Deploy {
    /// The agent's slug (default: the agent of the folder `--dir`).
    #[arg(long)]
    agent: Option<String>,
    /// The agent folder, when `--agent` is not given.
    #[arg(long, default_value = ".")]
    dir: PathBuf,
    /// A published version (default: the newest).
    #[arg(long)]
    version: Option<String>,
    /// The deployment's name.
    #[arg(long)]
    name: Option<String>,
    /// A team's workspace (its slug); else the key's own.
    #[arg(long)]
    workspace: Option<String>,
    /// Seconds to wait for it to run.
    #[arg(long, default_value_t = 120)]
    timeout: u64,
}

/// `agentdeck logs`.
#[derive(Debug, clap::Args)]
pub struct Logs {
    /// The deployment's id.
    deployment: uuid::Uuid,
    /// Keep printing new events (a dropped link resumes where it was).
    #[arg(long, short)]
    follow: bool,
    /// Only events after this `seq` (as `--json` prints them).
    #[arg(long)]
    since: Option<i64>,
}

/// `agentdeck run`.
#[derive(Debug, clap::Args)]
pub struct Run {
    /// The deployment's id.
    deployment: uuid::Uuid,
    /// The input as JSON text.
    #[arg(long, conflicts_with = "input_file")]
    input: Option<String>,
    /// A file with the input as JSON (`-`: standard input).
    #[arg(long)]
    input_file: Option<PathBuf>,
    /// Queue it and print the run at once instead of waiting.
    #[arg(long = "async")]
    queued: bool,
    /// The same key again answers the same run instead of a new one.
    #[arg(long)]
    idempotency_key: Option<String>,
    /// Print the flags made from the agent's input schema, and stop.
    #[arg(long)]
    flags: bool,
    /// Fields of the input as flags made from the agent's input schema,
    /// after `--`: `agentdeck run <id> -- --name Ada --count 3`.
    #[arg(last = true, value_name = "--FIELD VALUE")]
    fields: Vec<String>,
}

pub async fn deploy(
    api: &Api,
    args: Deploy,
    json: bool,
    out: &mut dyn Write,
) -> Result<(), Failure> {
    let Deploy {
        agent,
        dir,
        version,
        name,
        workspace,
        timeout,
    } = args;
    let agent = match agent {
        Some(agent) => agent,
        None => folder::Folder::open(&dir)?
            .identity
            .slug
            .ok_or("the folder's agent is not on the server yet: run `agentdeck publish` first")?,
    };
    let mut body = serde_json::json!({ "agent": agent });
    for (field, value) in [
        ("version", version),
        ("name", name),
        ("workspace", workspace),
    ] {
        if let Some(value) = value {
            body[field] = Value::from(value);
        }
    }
    let created = api
        .call(reqwest::Method::POST, "/api/v1/deployments", &body)
        .await?;
    let id = created["id"].as_str().unwrap_or_default().to_owned();
    if !json {
        writeln!(out, "Deploying {agent} as {id}")?;
    }
    let mut outcome: Option<(String, String)> = None;
    let topic = format!("deployment:{id}");
    // A live status line on a terminal; a line per change elsewhere.
    let bar = if json {
        indicatif::ProgressBar::hidden()
    } else {
        style::spinner("queued")
    };
    let following = live::follow(api, &topic, Some(0), |_, event| {
        if event["kind"] != "status" {
            return Ok(live::Next::More);
        }
        let status = event["status"].as_str().unwrap_or_default().to_owned();
        if bar.is_hidden() {
            if !json {
                writeln!(out, "  {}", live::line(event))?;
            }
        } else {
            bar.set_message(live::line(event));
        }
        match status.as_str() {
            "running" | "failed" | "stopped" => {
                let reason = event["reason"].as_str().unwrap_or_default().to_owned();
                outcome = Some((status, reason));
                Ok(live::Next::Stop)
            }
            _ => Ok(live::Next::More),
        }
    });
    let followed = tokio::time::timeout(std::time::Duration::from_secs(timeout), following).await;
    bar.finish_and_clear();
    followed.map_err(|_| {
        format!("{id} was not running after {timeout} s; see `agentdeck logs {id}`")
    })??;
    match outcome {
        Some((status, _)) if status == "running" => {
            if json {
                let shown = api.get(&format!("/api/v1/deployments/{id}")).await?;
                writeln!(out, "{shown}")?;
            } else {
                writeln!(out, "{id} is {}.", style::status("running"))?;
            }
        }
        Some((status, reason)) => {
            return Err(Failure {
                message: format!("{id} {status}: {reason}"),
                code: 3,
            });
        }
        None => return Err("the live link ended before the deployment ran".into()),
    }
    Ok(())
}

pub async fn logs(api: &Api, args: Logs, json: bool, out: &mut dyn Write) -> Result<(), Failure> {
    let Logs {
        deployment,
        follow,
        since,
    } = args;
    let topic = format!("deployment:{deployment}");
    let seen = std::cell::Cell::new(std::time::Instant::now());
    let printing = live::follow(api, &topic, Some(since.unwrap_or(0)), |seq, event| {
        seen.set(std::time::Instant::now());
        live::print(out, json, seq, event)?;
        Ok(live::Next::More)
    });
    if follow {
        printing.await?;
    } else {
        // What is stored so far: until a second passes without an event.
        tokio::pin!(printing);
        loop {
            tokio::select! {
                done = &mut printing => { done?; break; }
                () = tokio::time::sleep(std::time::Duration::from_millis(200)) => {
                    if seen.get().elapsed() > std::time::Duration::from_secs(1) {
                        break;
                    }
                }
            }
        }
    }
    Ok(())
}

pub async fn run(
    api: &Api,
    args: Run,
    json: bool,
    out: &mut dyn Write,
    stdin: &mut dyn Read,
) -> Result<(), Failure> {
    let Run {
        deployment,
        input,
        input_file,
        queued,
        idempotency_key,
        flags,
        fields,
    } = args;
    let text = match (input, input_file) {
        (Some(text), _) => text,
        (None, Some(path)) if path.as_os_str() == "-" => {
            let mut text = String::new();
            stdin.read_to_string(&mut text)?;
            text
        }
        (None, Some(path)) => std::fs::read_to_string(&path)
            .map_err(|error| format!("{}: {error}", path.display()))?,
        (None, None) => "null".to_owned(),
    };
    let mut input: Value =
        serde_json::from_str(&text).map_err(|error| format!("the input is not JSON: {error}"))?;
    if flags || !fields.is_empty() {
        let schema = input_schema(api, deployment).await?;
        if flags {
            writeln!(out, "{}", flags::describe(&schema)?)?;
            return Ok(());
        }
        input = flags::input(&schema, input, &fields)?;
    }
    let mut body = serde_json::json!({ "input": input });
    if queued {
        body["mode"] = Value::from("async");
    }
    let (status, run) = api
        .send(
            reqwest::Method::POST,
            &format!("/api/v1/deployments/{deployment}/runs"),
            Some(&body),
            idempotency_key.as_deref(),
        )
        .await
        .map_err(|mut failure| {
            if body["input"].is_null() && failure.message.starts_with("input") {
                failure.message.push_str(&format!(
                    "\nGive the input with --input (or --input-file), or as flags: \
                     `agentdeck run {deployment} --flags` lists them."
                ));
            }
            failure
        })?;
    if json {
        writeln!(out, "{run}")?;
    } else if status == 202 {
        writeln!(
            out,
            "Run {} is {}; see it with `agentdeck runs show {}`",
            run["id"].as_str().unwrap_or("?"),
            run["status"].as_str().unwrap_or("queued"),
            run["id"].as_str().unwrap_or("?")
        )?;
    } else if run["status"] == "succeeded" {
        writeln!(out, "{}", serde_json::to_string_pretty(&run["output"])?)?;
    } else {
        return Err(Failure {
            message: format!(
                "the run {}: {}",
                run["status"].as_str().unwrap_or("failed"),
                run["error"]["message"]
                    .as_str()
                    .unwrap_or("no reason given")
            ),
            code: 3,
        });
    }
    Ok(())
}

/// `agentdeck runs show`: the run as the API answers it, or in words.
pub async fn show(
    api: &Api,
    run: uuid::Uuid,
    json: bool,
    out: &mut dyn Write,
) -> Result<(), Failure> {
    let shown = api.get(&format!("/api/v1/runs/{run}")).await?;
    if json {
        writeln!(out, "{shown}")?;
    } else {
        show_run(out, &shown)?;
    }
    Ok(())
}

/// The input schema of the version `deployment` runs (`null`: any JSON).
async fn input_schema(api: &Api, deployment: uuid::Uuid) -> Result<Value, Failure> {
    let shown = api
        .get(&format!("/api/v1/deployments/{deployment}"))
        .await?;
    let path = format!(
        "/api/v1/agents/{}/versions/{}",
        shown["agent"]["slug"].as_str().unwrap_or_default(),
        shown["version"].as_str().unwrap_or_default()
    );
    let version = api.get(&path).await?;
    Ok(version["manifest"]["input_schema"].clone())
}

/// A run in words: a status line, its log lines, then its output or error.
fn show_run(out: &mut dyn Write, run: &Value) -> std::io::Result<()> {
    let status = run["status"].as_str().unwrap_or("?");
    let mut facts = vec![format!("run {}", run["id"].as_str().unwrap_or("?"))];
    facts.push(style::status(status));
    if let Some(us) = run["duration_us"].as_i64() {
        facts.push(format!("{:.1} ms", us as f64 / 1000.0));
    }
    if let Some(fuel) = run["fuel_used"].as_i64() {
        facts.push(format!("{fuel} fuel"));
    }
    facts.push(format!(
        "{} credits",
        run["charged_credits"].as_i64().unwrap_or(0)
    ));
    writeln!(out, "{}", facts.join("  "))?;
    for line in run["logs"].as_array().into_iter().flatten() {
        let level = line["level"].as_str().unwrap_or("info");
        writeln!(
            out,
            "  {} {}",
            style::dim(&format!("{level:<5}")),
            line["message"].as_str().unwrap_or_default()
        )?;
    }
    if run["logs_truncated"] == true {
        writeln!(out, "  {}", style::dim("(more log lines were cut)"))?;
    }
    if let Some(message) = run["error"]["message"].as_str() {
        writeln!(out, "{}", style::red(message))?;
    } else if !run["output"].is_null() {
        writeln!(out, "{}", serde_json::to_string_pretty(&run["output"])?)?;
    }
    Ok(())
}
