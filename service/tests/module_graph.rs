//! The service layer's modules form no circle: each names (through `crate::`
//! or `super::` paths) only modules that do not name it back, directly or
//! through others. A circle means two jobs are tangled; the fix is to move
//! the shared piece down (into `access`, `types` or a module of its own).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The top-level module a file belongs to: `runs/start.rs` is `runs`.
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let relative = file.strip_prefix(src).ok()?;
    let first = relative.components().next()?.as_os_str().to_str()?;
    let name = first.trim_end_matches(".rs");
    (name != "lib").then(|| name.to_owned())
}

fn rust_files(dir: &Path, into: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, into);
        } else if path.extension().is_some_and(|e| e == "rs") {
            into.push(path);
        }
    }
}

/// The top-level modules `text` names: `crate::x`, `super::x` from a
/// top-level file, and `crate::{x, y::z}` groups.
fn named_modules(text: &str, modules: &BTreeSet<String>, nested: bool) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    // Test modules may reach anything; they are not part of the layering.
    let code = text.split("#[cfg(test)]").next().unwrap_or(text);
    let mut prefixes = vec!["crate::"];
    if !nested {
        prefixes.push("super::");
    }
    for prefix in prefixes {
        for (at, _) in code.match_indices(prefix) {
            let rest = &code[at + prefix.len()..];
            let names: Vec<&str> = if let Some(group) = rest.strip_prefix('{') {
                let end = group.find('}').unwrap_or(group.len());
                group[..end]
                    .split(',')
                    .map(|item| item.trim().split("::").next().unwrap_or("").trim())
                    .collect()
            } else {
                vec![
                    rest.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                        .next()
                        .unwrap_or(""),
                ]
            };
            for name in names {
                if modules.contains(name) {
                    found.insert(name.to_owned());
                }
            }
        }
    }
    found
}

#[test]
fn service_modules_form_no_circle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: BTreeSet<String> = files.iter().filter_map(|f| module_of(&src, f)).collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let Some(module) = module_of(&src, file) else {
            continue;
        };
        let nested = file.parent() != Some(src.as_path());
        let text = std::fs::read_to_string(file).unwrap_or_default();
        let mut names = named_modules(&text, &modules, nested);
        names.remove(&module);
        edges.entry(module).or_default().extend(names);
    }

    // Depth-first search for a back edge; report the circle it closes.
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
        circles: &mut Vec<String>,
    ) {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut circle = path[at..].to_vec();
            circle.push(node.to_owned());
            circles.push(circle.join(" -> "));
            return;
        }
        if done.contains(node) {
            return;
        }
        path.push(node.to_owned());
        for next in edges.get(node).into_iter().flatten() {
            visit(next, edges, path, done, circles);
        }
        path.pop();
        done.insert(node.to_owned());
    }
    let mut circles = Vec::new();
    let mut done = BTreeSet::new();
    for module in edges.keys() {
        visit(module, &edges, &mut Vec::new(), &mut done, &mut circles);
    }
    assert!(
        circles.is_empty(),
        "service modules that name each other in a circle:\n{}",
        circles.join("\n")
    );
}

#[test]
fn the_scanner_sees_uses_and_groups() {
    let modules: BTreeSet<String> = ["a", "b", "c"].map(String::from).into();
    let text = "use crate::a::X;\nuse crate::{b, c::Y};\nfn f() { super::a::g(); }\n#[cfg(test)]\nuse crate::zz;";
    assert_eq!(
        named_modules(text, &modules, false),
        ["a", "b", "c"].map(String::from).into()
    );
    assert_eq!(
        named_modules("super::c::x()", &modules, true),
        BTreeSet::new()
    );
}
