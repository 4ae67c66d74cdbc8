//! Supervision helpers shared by every part of the tree: supervisor limits, pools, and the
//! start-up description of the whole tree.

use crate::config::Settings;
use ::actors::supervisor::TreeNode;
use ::actors::{ActorRef, ChildOptions, Intensity, Restart, SupervisorConfig, SupervisorRef};
use actix::prelude::*;
use std::fmt::Write as _;

pub(super) fn supervisor_config(name: &str, settings: &Settings) -> SupervisorConfig {
    SupervisorConfig::new(
        name,
        Intensity {
            max_restarts: settings.runtime.supervisor_max_restarts,
            within: settings.runtime.supervisor_window,
        },
    )
}

/// Repository actors answer from the database; one stuck on a hung query is restarted (its
/// pending replies fail, the callers retry or answer 503) rather than left holding its callers.
pub(super) const REPOSITORY: ChildOptions = ChildOptions {
    restart: Restart::Permanent,
    restart_on_stall: true,
};

/// Starts a pool of supervised actors under `supervisor`, one on each of `threads`, named
/// `{name}-0`, `{name}-1`, …; callers reach it through `Port::pooled`.
pub(super) fn spawn_pool<A, F>(
    supervisor: &SupervisorRef,
    name: &str,
    threads: &[ArbiterHandle],
    options: ChildOptions,
    factory: F,
) -> Vec<ActorRef<A>>
where
    A: Actor<Context = Context<A>> + Supervised + Unpin,
    F: Fn() -> A + Clone + Send + 'static,
{
    threads
        .iter()
        .enumerate()
        .map(|(i, thread)| {
            supervisor.spawn_with(format!("{name}-{i}"), thread, options, factory.clone())
        })
        .collect()
}

/// The whole tree as an indented drawing, one line per supervisor or actor; the members of a
/// pool (`name-0` … `name-N`) share one line, `name-0..N`, so that the drawing stays readable
/// on a many-core machine.
pub(super) fn render(tree: &TreeNode) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", tree.name);
    render_children(&tree.children, "", &mut out);
    out
}

fn render_children(children: &[TreeNode], prefix: &str, out: &mut String) {
    let lines = collapse_pools(children);
    for (i, (node, label)) in lines.iter().enumerate() {
        let last = i + 1 == lines.len();
        let branch = if last { "└── " } else { "├── " };
        let restarts = if node.restarts > 0 {
            format!(" restarts={}", node.restarts)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "{prefix}{branch}{label} ({}){restarts}",
            node.actor_type
        );
        if !node.children.is_empty() {
            let deeper = format!("{prefix}{}", if last { "    " } else { "│   " });
            render_children(&node.children, &deeper, out);
        }
    }
}

/// Each child with its label; consecutive `name-0`, `name-1`, … of one type become one
/// `name-0..N` line (restarts summed).
fn collapse_pools(children: &[TreeNode]) -> Vec<(TreeNode, String)> {
    let mut lines: Vec<(TreeNode, String)> = Vec::new();
    let mut i = 0;
    while i < children.len() {
        let node = &children[i];
        let Some(base) = node.name.strip_suffix("-0") else {
            lines.push((node.clone(), node.name.clone()));
            i += 1;
            continue;
        };
        let mut members = 1;
        let mut merged = node.clone();
        while let Some(next) = children.get(i + members) {
            if next.name != format!("{base}-{members}") || next.actor_type != node.actor_type {
                break;
            }
            merged.restarts += next.restarts;
            members += 1;
        }
        let label = if members == 1 {
            node.name.clone()
        } else {
            format!("{base}-0..{}", members - 1)
        };
        lines.push((merged, label));
        i += members;
    }
    lines
}

/// The number of actors (supervisors excluded) in the tree.
pub(super) fn actor_count(tree: &TreeNode) -> usize {
    tree.children
        .iter()
        .map(|c| {
            if c.actor_type == "Supervisor" {
                actor_count(c)
            } else {
                1
            }
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, actor_type: &str, children: Vec<TreeNode>) -> TreeNode {
        TreeNode {
            name: name.into(),
            actor_type: actor_type.into(),
            restart: None,
            restarts: 0,
            children,
        }
    }

    #[test]
    fn pools_collapse_into_one_line_and_every_actor_is_drawn() {
        let tree = node(
            "root",
            "Supervisor",
            vec![
                node(
                    "persistence",
                    "Supervisor",
                    vec![
                        node("outbox-relay", "OutboxRelay", vec![]),
                        node("store-0", "Store", vec![]),
                        node("store-1", "Store", vec![]),
                        node("store-2", "Store", vec![]),
                    ],
                ),
                node(
                    "hashing",
                    "Supervisor",
                    vec![node("hasher-0", "Hasher", vec![])],
                ),
            ],
        );
        let expected = concat!(
            "root\n",
            "├── persistence (Supervisor)\n",
            "│   ├── outbox-relay (OutboxRelay)\n",
            "│   └── store-0..2 (Store)\n",
            "└── hashing (Supervisor)\n",
            "    └── hasher-0 (Hasher)\n",
        );
        assert_eq!(render(&tree), expected);
        assert_eq!(actor_count(&tree), 5);
    }
}
