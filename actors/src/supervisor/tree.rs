//! A description of the supervision tree, for the startup log and `/debug/supervision`.

use super::{DescribeTree, Restart, Supervisor};
use actix::prelude::*;
use serde::Serialize;

#[derive(Clone)]
pub struct ChildInfo {
    pub(crate) name: String,
    pub(crate) actor_type: &'static str,
    pub(crate) restart: Option<Restart>,
    pub(crate) restarts: u64,
    pub(crate) supervisor: Option<Addr<Supervisor>>,
}

impl ChildInfo {
    pub(crate) fn actor(name: String, actor_type: &'static str, restart: Restart) -> Self {
        Self {
            name,
            actor_type,
            restart: Some(restart),
            restarts: 0,
            supervisor: None,
        }
    }

    pub(crate) fn supervisor(name: String, addr: Addr<Supervisor>) -> Self {
        Self {
            name,
            actor_type: "Supervisor",
            restart: None,
            restarts: 0,
            supervisor: Some(addr),
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct TreeNode {
    pub name: String,
    pub actor_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart: Option<Restart>,
    pub restarts: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<TreeNode>,
}

impl TreeNode {
    /// An indented text rendering, one line per node.
    pub fn render(&self) -> String {
        let mut out = String::new();
        self.render_into(&mut out, 0);
        out
    }

    fn render_into(&self, out: &mut String, depth: usize) {
        use std::fmt::Write as _;
        let _ = writeln!(
            out,
            "{:indent$}{} ({}){}",
            "",
            self.name,
            self.actor_type,
            if self.restarts > 0 {
                format!(" restarts={}", self.restarts)
            } else {
                String::new()
            },
            indent = depth * 2
        );
        for child in &self.children {
            child.render_into(out, depth + 1);
        }
    }

    /// Every node's name, depth first (handy for tests and the startup log).
    pub fn names(&self) -> Vec<String> {
        let mut names = vec![self.name.clone()];
        for child in &self.children {
            names.extend(child.names());
        }
        names
    }
}

pub(crate) fn describe(name: String, children: Vec<ChildInfo>) -> ResponseFuture<TreeNode> {
    Box::pin(async move {
        let mut nodes = Vec::with_capacity(children.len());
        for child in children {
            let node = match &child.supervisor {
                Some(addr) => match addr.send(DescribeTree).await {
                    Ok(node) => node,
                    Err(_) => leaf(&child),
                },
                None => leaf(&child),
            };
            nodes.push(node);
        }
        TreeNode {
            name,
            actor_type: "Supervisor".into(),
            restart: None,
            restarts: 0,
            children: nodes,
        }
    })
}

fn leaf(child: &ChildInfo) -> TreeNode {
    TreeNode {
        name: child.name.clone(),
        actor_type: child.actor_type.to_owned(),
        restart: child.restart,
        restarts: child.restarts,
        children: Vec::new(),
    }
}
