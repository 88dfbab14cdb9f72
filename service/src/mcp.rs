//! A workspace's running deployments as MCP tools: what `/mcp` lists and
//! calls. A caller is an API key holding `mcp` (or an OAuth grant, which
//! is such a key); the tools are the running deployments of its workspace,
//! for members and up (those who may start runs). Calling a tool starts a
//! run with `trigger = mcp`, through `runs::start`: charged, capped and
//! limited like every other run.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::actor::Actor;
use crate::schema::{agent_versions, agents, deployments, runs as run_rows};
use crate::{ServiceError, Services, access, runs};
use types::WorkspaceId;
use types::account::{Role, Scope};
use types::deploy::{Run, StartRun};

/// The longest tool name (SEP-986 allows 128; ours leave room for a suffix).
const NAME_MAX: usize = 64;

/// One tool: a running deployment as MCP clients see it.
#[derive(Clone, Debug, PartialEq)]
pub struct Tool {
    pub deployment: Uuid,
    /// `[A-Za-z0-9_.-]{1,73}`, unique among the workspace's tools.
    pub name: String,
    /// The deployment's name.
    pub title: String,
    pub description: String,
    /// Always `type: object` (clients insist); see `Arguments`.
    pub input_schema: Map<String, Value>,
    /// `type: object` too, when the manifest describes the output.
    pub output_schema: Option<Map<String, Value>>,
    pub arguments: Arguments,
    pub output: Output,
    /// The manifest's output schema, which outputs are checked against.
    pub declared_output: Option<Value>,
}

/// How a call's arguments (always an object) become the run's input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arguments {
    /// The arguments are the input (an object schema, or none).
    Whole,
    /// The input is the argument `input` (a schema of another type).
    Wrapped,
}

/// How the run's output becomes structured content.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    /// No output schema: the output as text (and as structured content
    /// when it is an object).
    Undescribed,
    /// An object schema: the output is the structured content.
    Whole,
    /// Another type: the structured content is `{"output": <output>}`.
    Wrapped,
}

impl Tool {
    /// The run's input for a call's arguments.
    pub fn input(&self, arguments: Map<String, Value>) -> Value {
        match self.arguments {
            Arguments::Whole => Value::Object(arguments),
            Arguments::Wrapped => {
                let mut arguments = arguments;
                arguments.remove("input").unwrap_or(Value::Null)
            }
        }
    }

    /// Where `output` does not meet the manifest's output schema.
    pub fn output_problems(&self, output: &Value) -> Vec<String> {
        let Some(schema) = &self.declared_output else {
            return Vec::new();
        };
        match types::json_schema::Schema::compile(schema) {
            Ok(schema) => schema
                .check(output, "output")
                .err()
                .unwrap_or_default()
                .iter()
                .map(ToString::to_string)
                .collect(),
            Err(error) => {
                tracing::warn!(%error, "an output schema does not compile");
                Vec::new()
            }
        }
    }

    /// The structured content for a run's output, if there is one.
    pub fn structured(&self, output: &Value) -> Option<Value> {
        match self.output {
            Output::Whole => Some(output.clone()),
            Output::Wrapped => Some(json!({ "output": output })),
            Output::Undescribed => output.is_object().then(|| output.clone()),
        }
    }
}

/// A row of what the list reads.
type Row = (Uuid, String, String, Value);

/// The tools of the caller's workspace, sorted by name.
pub async fn tools(services: &Services, actor: &Actor) -> Result<Vec<Tool>, ServiceError> {
    let workspace = workspace_of(actor)?;
    let mut conn = services.conn().await?;
    access::require_role(&mut conn, actor, workspace, Role::Member).await?;
    let rows: Vec<Row> = deployments::table
        .inner_join(agent_versions::table)
        .inner_join(agents::table.on(agents::id.eq(deployments::agent_id)))
        .filter(deployments::workspace_id.eq(workspace.0))
        .filter(deployments::status.eq("running"))
        .filter(deployments::deleted_at.is_null())
        .order((deployments::created_at, deployments::id))
        .select((
            deployments::id,
            deployments::name,
            agents::summary,
            agent_versions::manifest,
        ))
        .load(&mut conn)
        .await?;
    Ok(named(rows))
}

/// The tool called `name` in the caller's workspace (404 when there is
/// none, or it is not running).
pub async fn find(services: &Services, actor: &Actor, name: &str) -> Result<Tool, ServiceError> {
    tools(services, actor)
        .await?
        .into_iter()
        .find(|tool| tool.name == name)
        .ok_or(ServiceError::NotFound { what: "tool" })
}

/// Starts a call of `tool` as an asynchronous run (`trigger = mcp`).
pub async fn call(
    services: &Services,
    actor: &Actor,
    tool: &Tool,
    arguments: Map<String, Value>,
) -> Result<Run, ServiceError> {
    let request = StartRun {
        input: tool.input(arguments),
        mode: Some("async".to_owned()),
    };
    let started = runs::start(services, actor, tool.deployment, request, "mcp", None).await?;
    Ok(started.run)
}

/// A run this caller started through MCP, as it is now.
pub async fn run(services: &Services, actor: &Actor, run: Uuid) -> Result<Run, ServiceError> {
    actor.require_scope(Scope::Mcp)?;
    let key = actor.key_id().map(|key| key.0);
    let mut conn = services.conn().await?;
    let mine: bool = diesel::select(diesel::dsl::exists(
        run_rows::table
            .filter(run_rows::id.eq(run))
            .filter(run_rows::trigger.eq("mcp"))
            .filter(run_rows::api_key_id.eq(key)),
    ))
    .get_result(&mut conn)
    .await?;
    drop(conn);
    if !mine {
        return Err(ServiceError::NotFound { what: "run" });
    }
    runs::get_unscoped(services, actor, run).await
}

/// Cancels a run this caller started through MCP (the client cancelled
/// the call, or went away).
pub async fn cancel(services: &Services, actor: &Actor, run: Uuid) -> Result<(), ServiceError> {
    self::run(services, actor, run).await?;
    runs::cancel_unscoped(services, actor, run).await.map(drop)
}

/// The workspace of a deployment (deleted or not), to tell its sessions
/// that their tools changed.
pub async fn workspace_of_deployment(
    services: &Services,
    deployment: Uuid,
) -> Result<Option<Uuid>, ServiceError> {
    let mut conn = services.conn().await?;
    Ok(deployments::table
        .find(deployment)
        .select(deployments::workspace_id)
        .first(&mut conn)
        .await
        .optional()?)
}

fn workspace_of(actor: &Actor) -> Result<WorkspaceId, ServiceError> {
    actor.require_scope(Scope::Mcp)?;
    match actor {
        Actor::ApiKey { workspace_id, .. } => Ok(*workspace_id),
        Actor::Session { .. }
        | Actor::Anonymous
        | Actor::Trigger { .. }
        | Actor::Visitor { .. } => Err(ServiceError::Forbidden(
            "MCP takes an API key or an OAuth token as a bearer token".to_owned(),
        )),
    }
}

/// The tools for these rows: names made from deployment names, with the
/// deployment id's start added to names two deployments share.
fn named(rows: Vec<Row>) -> Vec<Tool> {
    let mut tools: Vec<Tool> = rows.into_iter().map(tool).collect();
    let mut counts = std::collections::HashMap::<String, usize>::new();
    for tool in &tools {
        *counts.entry(tool.name.clone()).or_default() += 1;
    }
    for tool in &mut tools {
        if counts.get(&tool.name).copied().unwrap_or(0) > 1 {
            let id = tool.deployment.simple().to_string();
            tool.name = format!("{}_{}", tool.name, &id[..8]);
        }
    }
    // A suffixed name may meet another deployment's own name: those take
    // the whole id, which no name of 64 characters and a suffix can be.
    let mut seen = std::collections::HashMap::<String, usize>::new();
    for tool in &tools {
        *seen.entry(tool.name.clone()).or_default() += 1;
    }
    for tool in &mut tools {
        if seen.get(&tool.name).copied().unwrap_or(0) > 1 {
            tool.name = format!("deployment_{}", tool.deployment.simple());
        }
    }
    tools.sort_by(|a, b| a.name.cmp(&b.name));
    tools
}

fn tool((deployment, name, summary, manifest): Row) -> Tool {
    let schema = |key: &str| manifest.get(key).filter(|schema| !schema.is_null());
    let (input_schema, arguments) = match schema("input_schema") {
        None => (
            object(json!({ "type": "object", "additionalProperties": true })),
            Arguments::Whole,
        ),
        Some(schema) if is_object_schema(schema) => (object(schema.clone()), Arguments::Whole),
        Some(schema) => (
            object(json!({
                "type": "object",
                "properties": { "input": schema },
                "required": ["input"],
            })),
            Arguments::Wrapped,
        ),
    };
    let (output_schema, output) = match schema("output_schema") {
        None => (None, Output::Undescribed),
        Some(schema) if is_object_schema(schema) => (Some(object(schema.clone())), Output::Whole),
        Some(schema) => (
            Some(object(json!({
                "type": "object",
                "properties": { "output": schema },
                "required": ["output"],
            }))),
            Output::Wrapped,
        ),
    };
    let declared_output = schema("output_schema").cloned();
    let description = if summary.trim().is_empty() {
        format!("Runs the deployment {name}.")
    } else {
        summary
    };
    Tool {
        deployment,
        name: tool_name(&name),
        title: name,
        description,
        input_schema,
        output_schema,
        arguments,
        output,
        declared_output,
    }
}

fn is_object_schema(schema: &Value) -> bool {
    schema.get("type").and_then(Value::as_str) == Some("object")
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// A deployment's name as a tool name: letters, digits, `_`, `-` and `.`
/// kept, runs of anything else one `_`.
pub fn tool_name(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_') {
            out.push(c);
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    let out = out.trim_matches('_');
    let out: String = out.chars().take(NAME_MAX).collect();
    if out.is_empty() {
        "deployment".to_owned()
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, manifest: Value) -> Row {
        (Uuid::new_v4(), name.to_owned(), String::new(), manifest)
    }

    #[test]
    fn names_are_tool_names_and_unique() {
        assert_eq!(tool_name("test_simple_text"), "test_simple_text");
        assert_eq!(tool_name("  My Summariser! v2 "), "My_Summariser_v2");
        assert_eq!(tool_name("日本"), "deployment");
        assert_eq!(tool_name(&"x".repeat(200)).len(), NAME_MAX);
        let tools = named(vec![
            row("Same name", json!({})),
            row("Same name", json!({})),
            row("other", json!({})),
        ]);
        // A name that is another's suffixed name still makes two tools.
        let a = row("x", json!({}));
        let b = row("x", json!({}));
        let taken = format!("x_{}", &a.0.simple().to_string()[..8]);
        let c = row(&taken, json!({}));
        let clashing = named(vec![a, b, c]);
        let mut names: Vec<&str> = clashing.iter().map(|t| t.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 3, "{names:?}");
        let names: Vec<&str> = tools.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names.len(), 3);
        assert!(names.contains(&"other"));
        let same: Vec<&&str> = names
            .iter()
            .filter(|n| n.starts_with("Same_name_"))
            .collect();
        assert_eq!(same.len(), 2);
        assert_ne!(same[0], same[1]);
    }

    #[test]
    fn schemas_are_objects_and_inputs_unwrap() {
        let any = tool(row("a", json!({})));
        assert_eq!(any.input_schema["type"], "object");
        assert_eq!(
            any.input(object(json!({ "x": 1 }))),
            json!({ "x": 1 }),
            "no schema: the arguments are the input"
        );
        assert_eq!(any.structured(&json!("text")), None);
        assert_eq!(any.structured(&json!({ "a": 1 })), Some(json!({ "a": 1 })));

        let text = tool(row(
            "b",
            json!({ "input_schema": { "type": "string" }, "output_schema": { "type": "array" } }),
        ));
        assert_eq!(text.input_schema["required"], json!(["input"]));
        assert_eq!(text.input(object(json!({ "input": "hi" }))), json!("hi"));
        assert_eq!(text.structured(&json!([1])), Some(json!({ "output": [1] })));
        assert_eq!(
            text.output_schema.as_ref().map(|s| s["type"].clone()),
            Some(json!("object"))
        );
    }
}
