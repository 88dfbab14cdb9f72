//! A local agent folder, as `agentdeck init` makes it and `test` and
//! `publish` read it:
//!
//! ```text
//! agentdeck.json   {"name": "…", "slug": "…" | null, "workspace": "…" | null}
//! manifest.json    the manifest, in the server's format (capabilities,
//!                  limits, input_schema, output_schema)
//! agent.js         the source
//! README.md        the marketplace page's text
//! example.json     the example input
//! ```
//!
//! `slug` is filled in when the agent is first created on the server.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use types::manifest::Manifest;

use crate::Failure;

pub const IDENTITY: &str = "agentdeck.json";
pub const MANIFEST: &str = "manifest.json";
pub const SOURCE: &str = "agent.js";
pub const README: &str = "README.md";
pub const EXAMPLE: &str = "example.json";

/// Which agent on the server the folder is.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Identity {
    pub name: String,
    #[serde(default)]
    pub slug: Option<String>,
    /// A team's slug; the key's own workspace when absent.
    #[serde(default)]
    pub workspace: Option<String>,
}

/// Everything the folder holds.
pub struct Folder {
    pub dir: PathBuf,
    pub identity: Identity,
    pub manifest: Manifest,
    pub source: String,
    pub readme: String,
    /// JSON text.
    pub example: String,
}

fn read(dir: &Path, name: &str) -> Result<String, Failure> {
    std::fs::read_to_string(dir.join(name)).map_err(|error| {
        Failure::from(format!(
            "{}: {error} (is {} an agent folder? make one with `agentdeck init`)",
            dir.join(name).display(),
            dir.display()
        ))
    })
}

impl Folder {
    pub fn open(dir: &Path) -> Result<Self, Failure> {
        let identity: Identity = serde_json::from_str(&read(dir, IDENTITY)?)
            .map_err(|error| format!("{}: {error}", dir.join(IDENTITY).display()))?;
        let manifest: Manifest = serde_json::from_str(&read(dir, MANIFEST)?)
            .map_err(|error| format!("{}: {error}", dir.join(MANIFEST).display()))?;
        let example = read(dir, EXAMPLE)?;
        serde_json::from_str::<serde_json::Value>(&example)
            .map_err(|error| format!("{}: not JSON: {error}", dir.join(EXAMPLE).display()))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            identity,
            manifest,
            source: read(dir, SOURCE)?,
            readme: read(dir, README).unwrap_or_default(),
            example,
        })
    }

    /// Keeps the identity (after the agent was created on the server).
    pub fn save_identity(&self) -> Result<(), Failure> {
        let text = serde_json::to_string_pretty(&self.identity)?;
        std::fs::write(self.dir.join(IDENTITY), format!("{text}\n"))?;
        Ok(())
    }
}

/// A new folder at `dir` (which must not hold an agent already), from
/// `template` (a template's draft from the server) or the built-in greeter.
pub fn create(
    dir: &Path,
    name: &str,
    workspace: Option<String>,
    template: Option<Template>,
) -> Result<(), Failure> {
    if dir.join(IDENTITY).exists() {
        return Err(format!("{} already holds an agent", dir.display()).into());
    }
    std::fs::create_dir_all(dir)?;
    let template = template.unwrap_or_else(greeter);
    let identity = Identity {
        name: name.to_owned(),
        slug: None,
        workspace,
    };
    let files = [
        (IDENTITY, serde_json::to_string_pretty(&identity)?),
        (MANIFEST, serde_json::to_string_pretty(&template.manifest)?),
        (SOURCE, template.source),
        (README, template.readme.replace("{name}", name)),
        (EXAMPLE, template.example),
    ];
    for (file, text) in files {
        let text = if text.ends_with('\n') {
            text
        } else {
            format!("{text}\n")
        };
        std::fs::write(dir.join(file), text)?;
    }
    Ok(())
}

/// What a new folder starts from.
pub struct Template {
    pub manifest: Manifest,
    pub source: String,
    pub readme: String,
    pub example: String,
}

/// The built-in start: greets by name, with an input schema.
fn greeter() -> Template {
    let manifest = Manifest {
        input_schema: Some(serde_json::json!({
            "type": "object",
            "properties": { "name": { "type": "string", "minLength": 1, "description": "Who to greet" } },
            "required": ["name"]
        })),
        ..Manifest::default()
    };
    Template {
        manifest,
        source: "// `input` is the run's input (see manifest.json's input_schema); `ctx` gives\n\
                 // logs, configuration, secrets, storage, HTTP and the language model as\n\
                 // the manifest's capabilities allow.\n\
                 export default async function run(input, ctx) {\n  \
                   ctx.log.info(`greeting ${input.name}`);\n  \
                   return { greeting: `Hello, ${input.name}!` };\n\
                 }\n"
        .to_owned(),
        readme: "# {name}\n\nGreets whoever you name.\n".to_owned(),
        example: "{\"name\": \"Ada\"}".to_owned(),
    }
}
