//! Lists the provider catalogue (`providers/*.toml`) for `include_str!`, so
//! a new provider is a new file and no code.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("providers");
    // Build-script instructions to cargo go to standard output.
    let mut cargo = std::io::stdout().lock();
    writeln!(cargo, "cargo:rerun-if-changed={}", dir.display())?;
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&dir)? {
        let name = entry?.file_name();
        if let Some(name) = name.to_str().filter(|name| name.ends_with(".toml")) {
            files.push(name.to_owned());
        }
    }
    files.sort();
    let mut out = String::from("pub(crate) static BUILT_IN: &[(&str, &str)] = &[\n");
    for file in &files {
        let id = file.trim_end_matches(".toml");
        let path = dir.join(file);
        writeln!(cargo, "cargo:rerun-if-changed={}", path.display())?;
        writeln!(
            out,
            "    ({id:?}, include_str!({:?})),",
            path.display().to_string()
        )?;
    }
    out.push_str("];\n");
    std::fs::write(
        Path::new(&std::env::var("OUT_DIR")?).join("providers.rs"),
        out,
    )?;
    Ok(())
}
