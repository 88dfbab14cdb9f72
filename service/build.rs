//! Lists the provider catalogue (`providers/*.toml`) for `include_str!`, so
//! a new provider is a new file and no code.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("providers");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .expect("service/providers/ is readable")
        .map(|entry| entry.expect("a directory entry").file_name())
        .filter_map(|name| name.to_str().map(str::to_owned))
        .filter(|name| name.ends_with(".toml"))
        .collect();
    files.sort();
    let mut out = String::from("pub(crate) static BUILT_IN: &[(&str, &str)] = &[\n");
    for file in &files {
        let id = file.trim_end_matches(".toml");
        let path = dir.join(file);
        println!("cargo:rerun-if-changed={}", path.display());
        writeln!(
            out,
            "    ({id:?}, include_str!({:?})),",
            path.display().to_string()
        )
        .expect("writing to a String");
    }
    out.push_str("];\n");
    let target = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR is set")).join("providers.rs");
    std::fs::write(target, out).expect("OUT_DIR is writable");
}
