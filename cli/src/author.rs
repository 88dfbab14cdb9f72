//! Writing agents from a terminal: `init`, `test` and `publish` over a
//! local agent folder (`folder.rs`) and the same REST API the editor uses.

use std::io::Write;
use std::path::Path;

use reqwest::Method;
use serde_json::{Value, json};

use crate::folder::{self, Folder, Template};
use crate::{Api, Failure};

/// `agentdeck init`: a new folder, from the built-in greeter (offline) or
/// from a server template, which creates the agent there too.
pub async fn init(
    api: Option<&Api>,
    dir: &Path,
    name: &str,
    workspace: Option<String>,
    template: Option<&str>,
) -> Result<Option<String>, Failure> {
    let Some(template) = template else {
        folder::create(dir, name, workspace, None)?;
        return Ok(None);
    };
    let api = api.ok_or("a template comes from the server: run `agentdeck login` first")?;
    if dir.join(folder::IDENTITY).exists() {
        return Err(format!("{} already holds an agent", dir.display()).into());
    }
    let slug = create_agent(api, name, workspace.as_deref(), Some(template)).await?;
    let draft = api.get(&format!("/api/v1/agents/{slug}/draft")).await?;
    let manifest = serde_json::from_value(draft["manifest"].clone())?;
    folder::create(
        dir,
        name,
        workspace,
        Some(Template {
            manifest,
            source: draft["source"].as_str().unwrap_or_default().to_owned(),
            readme: draft["readme"].as_str().unwrap_or_default().to_owned(),
            example: draft["example_input"].as_str().unwrap_or("null").to_owned(),
        }),
    )?;
    let mut made = Folder::open(dir)?;
    made.identity.slug = Some(slug.clone());
    made.save_identity()?;
    Ok(Some(slug))
}

/// A new agent on the server (a private draft); its slug.
async fn create_agent(
    api: &Api,
    name: &str,
    workspace: Option<&str>,
    template: Option<&str>,
) -> Result<String, Failure> {
    let mut body = json!({ "name": name });
    if let Some(workspace) = workspace {
        body["workspace"] = Value::from(workspace);
    }
    if let Some(template) = template {
        body["template"] = Value::from(template);
    }
    let created = api.call(Method::POST, "/api/v1/agents", &body).await?;
    Ok(created["slug"]
        .as_str()
        .ok_or("the server answered no slug")?
        .to_owned())
}

/// The folder's agent on the server, created (a private draft) the first
/// time; its slug, kept in the folder.
async fn ensure_agent(
    api: &Api,
    folder: &mut Folder,
    out: &mut dyn Write,
) -> Result<String, Failure> {
    if let Some(slug) = &folder.identity.slug {
        return Ok(slug.clone());
    }
    let slug = create_agent(
        api,
        &folder.identity.name,
        folder.identity.workspace.as_deref(),
        None,
    )
    .await?;
    folder.identity.slug = Some(slug.clone());
    folder.save_identity()?;
    writeln!(out, "Created the agent {slug} (private until published).")?;
    Ok(slug)
}

/// `agentdeck test`: one run of the folder's source and manifest on the
/// server, as the editor's Test button does; nothing is saved or published.
pub async fn test(
    api: &Api,
    dir: &Path,
    input: Option<String>,
    json_out: bool,
    out: &mut dyn Write,
) -> Result<(), Failure> {
    let mut folder = Folder::open(dir)?;
    let mut chatter = Vec::new();
    let slug = ensure_agent(api, &mut folder, &mut chatter).await?;
    let input = input.unwrap_or_else(|| folder.example.clone());
    serde_json::from_str::<Value>(&input)
        .map_err(|error| format!("the input is not JSON: {error}"))?;
    let body = json!({ "source": folder.source, "manifest": folder.manifest, "input": input });
    let report = api
        .call(
            Method::POST,
            &format!("/api/v1/agents/{slug}/test-runs"),
            &body,
        )
        .await?;
    if json_out {
        writeln!(out, "{report}")?;
    } else {
        out.write_all(&chatter)?;
        for log in report["logs"].as_array().into_iter().flatten() {
            writeln!(
                out,
                "[{:>5}] {}",
                log["level"].as_str().unwrap_or("info"),
                log["message"].as_str().unwrap_or_default()
            )?;
        }
        if let Some(output) = report["output"].as_str() {
            writeln!(out, "{output}")?;
        }
        for problem in report["output_problems"].as_array().into_iter().flatten() {
            writeln!(
                out,
                "output schema: {}: {}",
                problem["path"].as_str().unwrap_or("$"),
                problem["message"].as_str().unwrap_or_default()
            )?;
        }
    }
    if !report["error"].is_null() {
        return Err(Failure {
            message: format!(
                "the test run failed: {}",
                report["error"]["message"]
                    .as_str()
                    .unwrap_or("no reason given")
            ),
            code: 3,
        });
    }
    Ok(())
}

/// `agentdeck publish`: saves the folder as the agent's draft, then
/// publishes it as `version` (by default the newest version's next patch,
/// or 1.0.0).
pub async fn publish(
    api: &Api,
    dir: &Path,
    version: Option<String>,
    changelog: String,
    json_out: bool,
    out: &mut dyn Write,
) -> Result<(), Failure> {
    let mut folder = Folder::open(dir)?;
    let mut chatter = Vec::new();
    let slug = ensure_agent(api, &mut folder, &mut chatter).await?;
    let draft = api.get(&format!("/api/v1/agents/{slug}/draft")).await?;
    let changes = json!({
        "revision": draft["revision"],
        "listing": draft["listing"],
        "readme": folder.readme,
        "source": folder.source,
        "manifest": folder.manifest,
        "example_input": folder.example,
    });
    let saved = api
        .call(
            Method::PUT,
            &format!("/api/v1/agents/{slug}/draft"),
            &changes,
        )
        .await?;
    let version = match version {
        Some(version) => version,
        None => {
            let versions = api.get(&format!("/api/v1/agents/{slug}/versions")).await?;
            next_patch(versions.as_array().map(Vec::as_slice).unwrap_or_default())
        }
    };
    let request =
        json!({ "version": version, "changelog": changelog, "revision": saved["revision"] });
    let published = api
        .call(
            Method::POST,
            &format!("/api/v1/agents/{slug}/versions"),
            &request,
        )
        .await?;
    if json_out {
        writeln!(out, "{published}")?;
    } else {
        out.write_all(&chatter)?;
        writeln!(out, "Published {slug} {version}.")?;
    }
    Ok(())
}

/// The patch after the highest `MAJOR.MINOR.PATCH` listed, or 1.0.0.
fn next_patch(versions: &[Value]) -> String {
    versions
        .iter()
        .filter_map(|version| version["version"].as_str())
        .filter_map(|text| {
            let mut parts = text.split('.').map(|part| part.parse::<u64>().ok());
            Some((parts.next()??, parts.next()??, parts.next()??))
        })
        .max()
        .map_or_else(
            || "1.0.0".to_owned(),
            |(major, minor, patch)| format!("{major}.{minor}.{}", patch + 1),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_version_is_the_highest_ones_next_patch() {
        assert_eq!(next_patch(&[]), "1.0.0");
        let listed = [
            json!({"version": "1.2.9"}),
            json!({"version": "1.10.0"}),
            json!({"version": "x"}),
        ];
        assert_eq!(next_patch(&listed), "1.10.1");
    }
}
