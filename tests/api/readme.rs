//! What the README states about the code's structure, checked against the code: the supervision
//! tree it draws is the tree a `dev` process starts, its list of subcommands is the binary's, and
//! "`f` in `file.rs`" names a function that is in that file. Prose drifts silently; these fail.

use crate::helpers::*;
use std::collections::BTreeSet;

const README: &str = include_str!("../../README.md");

/// The README's tree as (parent, child) pairs; a pool (`name-0..N-1`) is one entry.
fn readme_tree() -> BTreeSet<(String, String)> {
    let start = README
        .find("### The supervision tree")
        .expect("README has a supervision tree section");
    let block = README[start..]
        .split("```")
        .nth(1)
        .expect("the tree is a code block");
    let mut path: Vec<String> = Vec::new();
    let mut pairs = BTreeSet::new();
    for line in block.lines() {
        if path.is_empty() {
            if let Some(root) = line.split_whitespace().next() {
                path.push(root.to_owned());
            }
            continue;
        }
        let Some(at) = line.find("── ") else {
            continue;
        };
        // "├── " is 4 columns per level; the box characters are 3 bytes each, so count chars.
        let depth = line[..at].chars().count() / 4 + 1;
        let name = line[at + "── ".len()..]
            .split_whitespace()
            .next()
            .unwrap()
            .to_owned();
        path.truncate(depth);
        pairs.insert((path[depth - 1].clone(), name.clone()));
        path.push(name);
    }
    pairs
}

/// `command-store-1` → `command-store-0..N-1`: the README draws a pool once.
fn pool_name(name: &str) -> String {
    match name.rsplit_once('-') {
        Some((stem, n)) if n.chars().all(|c| c.is_ascii_digit()) => format!("{stem}-0..N-1"),
        _ => name.to_owned(),
    }
}

fn running_tree(node: &serde_json::Value, out: &mut BTreeSet<(String, String)>) {
    let parent = pool_name(node["name"].as_str().unwrap());
    for child in node["children"].as_array().into_iter().flatten() {
        out.insert((parent.clone(), pool_name(child["name"].as_str().unwrap())));
        running_tree(child, out);
    }
}

#[actix_web::test]
async fn the_readme_draws_the_supervision_tree_a_dev_process_starts() {
    let drawn = readme_tree();
    let app = spawn_app().await;
    let tree = app.get_ops("/debug/supervision").await.json();
    let mut running = BTreeSet::new();
    running_tree(&tree, &mut running);
    assert!(running.len() > 20, "{tree}");
    let missing: Vec<_> = running.difference(&drawn).collect();
    let extra: Vec<_> = drawn.difference(&running).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "README tree vs /debug/supervision: not drawn {missing:?}, drawn but not started {extra:?}"
    );
}

#[test]
fn the_readme_lists_every_subcommand() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hexactor"))
        .arg("--help")
        .env_clear()
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    let real: BTreeSet<&str> = help
        .split("Commands:")
        .nth(1)
        .expect("--help lists commands")
        .lines()
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .collect();
    let sentence = README
        .split("Every subcommand (")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .expect("README: `Every subcommand (…)`");
    let listed: BTreeSet<&str> = sentence.split(", ").map(|c| c.trim_matches('`')).collect();
    assert!(real.len() >= 7, "{help}");
    assert_eq!(listed, real, "README's subcommands vs hexactor --help");
}

#[test]
fn functions_the_readme_places_are_there() {
    let mut checked = 0;
    for piece in README.split("`").collect::<Vec<_>>().windows(3) {
        let [function, " in ", file] = piece else {
            continue;
        };
        if !file.ends_with(".rs") || !function.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
            continue;
        }
        let source = std::fs::read_to_string(format!("{}/{file}", env!("CARGO_MANIFEST_DIR")))
            .unwrap_or_else(|e| panic!("README names {file}: {e}"));
        assert!(
            source.contains(&format!("fn {function}(")),
            "README says `{function}` is in {file}; it is not"
        );
        checked += 1;
    }
    assert!(checked >= 1, "no \"`f` in `file.rs`\" found in the README");
}
