//! The layering the README promises, checked on the source itself, so that it cannot quietly
//! drift: the inner layers (`domain`, `application`) import no outer one, and no two modules
//! import each other — top-level modules, and siblings under one parent at any depth — in this
//! crate or in the actors library. Comments and test modules are left out.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("a source folder") {
        let path = entry.expect("a folder entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The files under `dir` (relative to this crate) with their module paths: `a/b.rs` is `a::b`,
/// and a `mod.rs` (or `lib.rs`, `main.rs`) is its folder's module.
fn sources(dir: &str) -> Vec<(Vec<String>, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    files
        .into_iter()
        .map(|file| {
            let relative = file
                .strip_prefix(&root)
                .expect("under root")
                .with_extension("");
            let mut module: Vec<String> = (relative.iter())
                .map(|p| p.to_string_lossy().into_owned())
                .collect();
            if matches!(
                module.last().map(String::as_str),
                Some("mod" | "lib" | "main")
            ) {
                module.pop();
            }
            let text = std::fs::read_to_string(&file).expect("a readable source file");
            (module, code(&text))
        })
        .collect()
}

/// A file's code without its test module and its comments.
fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or_default();
    let lines = text
        .lines()
        .map(|l| l.split("//").next().unwrap_or_default());
    lines.collect::<Vec<_>>().join("\n")
}

/// The path segments after each `prefix` (`crate::`, `super::`) that starts a path.
fn paths_after(code: &str, prefix: &str) -> Vec<Vec<String>> {
    let is_ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    (code.match_indices(prefix))
        .filter(|(i, _)| *i == 0 || !is_ident(code.as_bytes()[i - 1]))
        .map(|(i, _)| {
            let (mut rest, mut segments) = (&code[i + prefix.len()..], Vec::new());
            loop {
                let end = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(rest.len());
                if end == 0 {
                    break;
                }
                segments.push(rest[..end].to_owned());
                rest = &rest[end..];
                match rest.strip_prefix("::") {
                    Some(next) => rest = next,
                    None => break,
                }
            }
            segments
        })
        .collect()
}

/// Module → module import edges: between top-level modules, and between siblings.
fn edges(dir: &str) -> BTreeSet<(String, String)> {
    let mut edges = BTreeSet::new();
    for (me, code) in sources(dir) {
        for target in paths_after(&code, "crate::") {
            for depth in 1..=me.len().min(target.len()) {
                if me[..depth - 1] == target[..depth - 1] && me[..depth] != target[..depth] {
                    edges.insert((me[..depth].join("::"), target[..depth].join("::")));
                }
            }
        }
        if me.len() >= 2 {
            for target in paths_after(&code, "super::") {
                let Some(sibling) = target.first() else {
                    continue;
                };
                let mut other = me[..me.len() - 1].to_vec();
                other.push(sibling.clone());
                if other != me {
                    edges.insert((me.join("::"), other.join("::")));
                }
            }
        }
    }
    edges
}

fn mutual_imports(dir: &str) -> Vec<String> {
    let edges = edges(dir);
    (edges.iter())
        .filter(|(a, b)| a < b && edges.contains(&(b.clone(), a.clone())))
        .map(|(a, b)| format!("{a} <-> {b}"))
        .collect()
}

#[test]
fn no_two_modules_import_each_other() {
    assert_eq!(mutual_imports("src"), Vec::<String>::new());
    assert_eq!(mutual_imports("actors/src"), Vec::<String>::new());
}

/// "`module` imports `crate::x`" for each module under one of `tops` that names one of `outer`.
fn imports_of(tops: &[&str], outer: &[&str]) -> Vec<String> {
    (sources("src").into_iter())
        .filter(|(module, _)| module.first().is_some_and(|m| tops.contains(&m.as_str())))
        .flat_map(|(module, code)| {
            (outer.iter())
                .filter(|o| code.contains(*o))
                .map(|o| format!("{} imports {o}", module.join("::")))
                .collect::<Vec<_>>()
        })
        .collect()
}

const ADAPTERS: [&str; 6] = [
    "crate::infrastructure",
    "crate::http",
    "crate::metrics",
    "crate::notifications",
    "crate::pages",
    "crate::oauth2",
];

#[test]
fn the_domain_and_the_use_cases_import_no_adapter() {
    assert_eq!(
        imports_of(&["domain", "application"], &ADAPTERS),
        Vec::<String>::new()
    );
}

/// Configuration is read before any adapter exists and is handed to them: it may use the
/// variables table, never an adapter or the composition root.
#[test]
fn configuration_imports_no_adapter() {
    let outer = [&ADAPTERS[..], &["crate::startup", "crate::cli"]].concat();
    assert_eq!(imports_of(&["config"], &outer), Vec::<String>::new());
}

/// A page handler sends messages to actors like a route does: no SQL, no AMQP, no mail.
#[test]
fn page_handlers_import_no_infrastructure() {
    let outer = [
        "crate::infrastructure",
        "crate::notifications",
        "crate::startup",
        "crate::cli",
    ];
    assert_eq!(
        imports_of(&["pages", "oauth2"], &outer),
        Vec::<String>::new()
    );
    assert_eq!(
        imports_of(&["http"], &["crate::pages", "crate::oauth2"]),
        Vec::<String>::new()
    );
    // The OAuth endpoints use the pages' session; the pages know nothing of OAuth.
    assert_eq!(
        imports_of(&["pages"], &["crate::oauth2"]),
        Vec::<String>::new()
    );
}

#[test]
fn the_check_sees_a_cycle_and_a_wrong_way_import() {
    let code = code("use super::b::X; // use super::c::Y;\nlet x = crate::http::y;");
    assert_eq!(paths_after(&code, "super::"), vec![vec!["b", "X"]]);
    assert_eq!(paths_after(&code, "crate::"), vec![vec!["http", "y"]]);
}
