//! The maps of the code that people read stay true: the README's architecture section names
//! every module of `src/` (each top-level file or folder, and each file inside a folder) and
//! names nothing that is not there, and the module map at the top of `src/lib.rs` names every
//! module the crate declares, and the modules import each other without a circle. A module
//! added, moved or removed without its map fails here.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The README's "## Architecture" section, up to the next second-level heading.
fn architecture() -> String {
    let readme = read("README.md");
    let start = readme
        .find("\n## Architecture\n")
        .expect("README has an Architecture section");
    let rest = &readme[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |i| i + 3);
    rest[..end].to_string()
}

/// Every `.rs` file under `dir`, as paths relative to the crate root with `/` separators.
fn rust_files(dir: &Path, out: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path.strip_prefix(root()).unwrap();
            out.insert(rel.to_string_lossy().replace('\\', "/"));
        }
    }
}

/// The words written in backticks in `text`.
fn quoted(text: &str) -> BTreeSet<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// How a module is named in the section: a top-level file as `src/name.rs`, a folder as
/// `src/name/`, a file inside a folder by its stem (`request`) or its path.
fn is_named(file: &str, names: &BTreeSet<String>) -> bool {
    let inner = file.strip_prefix("src/").unwrap();
    let parts: Vec<&str> = inner.split('/').collect();
    let stem = parts.last().unwrap().trim_end_matches(".rs");
    match parts.as_slice() {
        [_] => names.contains(file),
        [dir, ..] => {
            let folder = format!("src/{dir}/");
            let named_folder = names.contains(&folder) || names.contains(&format!("src/{dir}.rs"));
            let named_file = names.contains(file)
                || names.contains(stem)
                || names.iter().any(|n| n.ends_with(&format!("/{stem}.rs")));
            named_folder && (stem == "mod" || stem == "tests" || named_file)
        }
        [] => false,
    }
}

#[test]
fn every_module_in_src_is_named_in_the_readme_architecture() {
    let names = quoted(&architecture());
    let mut files = BTreeSet::new();
    rust_files(&root().join("src"), &mut files);
    let missing: Vec<&String> = files
        .iter()
        .filter(|f| f.as_str() != "src/lib.rs" && !is_named(f, &names))
        .collect();
    assert!(
        missing.is_empty(),
        "README's Architecture section does not name {missing:?}"
    );
}

#[test]
fn every_path_the_readme_architecture_names_exists() {
    let gone: Vec<String> = quoted(&architecture())
        .into_iter()
        .filter(|n| n.starts_with("src/") && !n.contains(' '))
        .filter(|n| !root().join(n).exists())
        .collect();
    assert!(
        gone.is_empty(),
        "README's Architecture section names {gone:?}, which are not there"
    );
}

#[test]
fn every_module_lib_rs_declares_is_in_its_module_map() {
    let lib = read("src/lib.rs");
    let map: String = lib
        .lines()
        .take_while(|l| l.starts_with("//!"))
        .collect::<Vec<_>>()
        .join("\n");
    let names = quoted(&map);
    let declared: Vec<&str> = lib
        .lines()
        .map(str::trim)
        .filter_map(|l| {
            l.strip_prefix("pub mod ")
                .or_else(|| l.strip_prefix("mod "))
                .and_then(|m| m.strip_suffix(';'))
        })
        .collect();
    assert!(!declared.is_empty());
    let missing: Vec<&&str> = declared
        .iter()
        .filter(|m| !names.contains(**m) && !names.contains(&format!("[`{m}`]")))
        .filter(|m| !map.contains(&format!("[`{m}`]")))
        .collect();
    assert!(
        missing.is_empty(),
        "src/lib.rs's module map does not name {missing:?}"
    );
}

/// The top-level module a file of `src/` belongs to (`src/session/request.rs` → `session`).
fn module_of(file: &str) -> String {
    let inner = file.strip_prefix("src/").unwrap();
    inner
        .split('/')
        .next()
        .unwrap()
        .trim_end_matches(".rs")
        .to_string()
}

/// The top-level modules `code` names through `crate::` paths, tests left out.
fn uses(code: &str) -> BTreeSet<String> {
    let code = code.split("#[cfg(test)]").next().unwrap_or_default();
    let mut out = BTreeSet::new();
    for part in code.split("crate::").skip(1) {
        let name: String = part
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() && name.chars().next().is_some_and(|c| c.is_ascii_lowercase()) {
            out.insert(name);
        }
    }
    out
}

#[test]
fn the_modules_of_src_import_each_other_without_a_circle() {
    let mut files = BTreeSet::new();
    rust_files(&root().join("src"), &mut files);
    let mut edges: std::collections::BTreeMap<String, BTreeSet<String>> = Default::default();
    for file in files.iter().filter(|f| !f.ends_with("/tests.rs")) {
        let from = module_of(file);
        let to = uses(&read(file));
        let entry = edges.entry(from.clone()).or_default();
        entry.extend(to.into_iter().filter(|m| *m != from));
    }
    // Depth-first search for a back edge; the path to it is the circle.
    fn visit(
        m: &str,
        edges: &std::collections::BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == m) {
            let mut circle = path[i..].to_vec();
            circle.push(m.to_string());
            return Some(circle);
        }
        if done.contains(m) {
            return None;
        }
        path.push(m.to_string());
        for next in edges.get(m).into_iter().flatten() {
            if let Some(c) = visit(next, edges, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(m.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for m in edges.keys() {
        if let Some(circle) = visit(m, &edges, &mut Vec::new(), &mut done) {
            panic!("an import circle: {}", circle.join(" → "));
        }
    }
}
