//! `cargo xtask architecture`: the dependency arrows of docs/architecture.md,
//! checked against what cargo really resolves, so that a broken arrow fails
//! CI instead of going unnoticed.
//!
//! The parts are told apart by where a package lives: guests under
//! `components/`, `examples/`, `test-components/` and `bench/monolith/`;
//! the host is `edgeplug-host`; the test kit is `host-test`. The rules:
//!
//! 1. A guest never links host code: no normal or build dependency on the
//!    host or the test kit, direct or through another crate. (A guest's
//!    *tests* may use the test kit: dev-dependencies are not linked into
//!    the guest.)
//! 2. The host never links a guest crate, and never depends on the test
//!    kit, not even for its own tests.
//! 3. The test kit links no guest crate.
//! 4. The test kit, as a user's dev-dependency pulls it in, brings none of
//!    the server's crates (redb, redis, clap, toml, tracing-subscriber).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{Context as _, bail};
use serde_json::Value;

/// The host crate.
const HOST: &str = "edgeplug-host";
/// The test kit.
const TEST_KIT: &str = "host-test";
/// Crates only the server needs: none may reach a user through the test kit.
const SERVER_ONLY: [&str; 5] = ["redb", "redis", "clap", "toml", "tracing-subscriber"];
/// Where guest crates live, relative to the workspace root.
const GUEST_DIRS: [&str; 4] = [
    "components/",
    "examples/",
    "test-components/",
    "bench/monolith",
];

/// One workspace package: its name, and whether it is a guest.
struct Member {
    name: String,
    guest: bool,
}

/// Runs every check; fails listing each broken rule.
pub fn check(root: &Path) -> anyhow::Result<()> {
    let metadata = cargo_metadata(root)?;
    let members = members(&metadata, root)?;
    let graph = Graph::from_metadata(&metadata)?;
    let mut broken = Vec::new();

    for member in members.values().filter(|m| m.guest) {
        for forbidden in [HOST, TEST_KIT] {
            if let Some(path) = graph.path(&member.name, forbidden, Edges::Linked) {
                broken.push(format!(
                    "guest `{}` links `{forbidden}` ({}): guests never link host code",
                    member.name,
                    path.join(" -> ")
                ));
            }
        }
    }
    for guest in members.values().filter(|m| m.guest) {
        if let Some(path) = graph.path(HOST, &guest.name, Edges::All) {
            broken.push(format!(
                "`{HOST}` depends on guest `{}` ({}): the host never links a guest crate",
                guest.name,
                path.join(" -> ")
            ));
        }
        if let Some(path) = graph.path(TEST_KIT, &guest.name, Edges::Linked) {
            broken.push(format!(
                "`{TEST_KIT}` links guest `{}` ({}): the test kit never links a guest crate",
                guest.name,
                path.join(" -> ")
            ));
        }
    }
    if let Some(path) = graph.path(HOST, TEST_KIT, Edges::All) {
        broken.push(format!(
            "`{HOST}` depends on `{TEST_KIT}` ({}): the test kit depends on the host, never the reverse",
            path.join(" -> ")
        ));
    }
    // Resolved for the test kit alone, as a user's dev-dependency resolves
    // it (the workspace-wide metadata has the server's features on).
    let kit_tree = normal_tree(root, TEST_KIT)?;
    for crate_name in SERVER_ONLY {
        if kit_tree.contains(crate_name) {
            broken.push(format!(
                "`{TEST_KIT}` pulls in `{crate_name}` (see `cargo tree -p {TEST_KIT} --edges normal -i {crate_name}`): \
                 the test kit brings none of the server's crates"
            ));
        }
    }

    if broken.is_empty() {
        println!(
            "architecture: {} guest crates, `{HOST}` and `{TEST_KIT}` keep every dependency rule",
            members.values().filter(|m| m.guest).count()
        );
        Ok(())
    } else {
        for line in &broken {
            eprintln!("architecture: {line}");
        }
        bail!(
            "{} dependency rule(s) of docs/architecture.md broken",
            broken.len()
        )
    }
}

/// Not `--offline`: on a fresh clone cargo still has to fetch the manifests
/// of crates only other platforms use, which no build has downloaded.
fn cargo_metadata(root: &Path) -> anyhow::Result<Value> {
    let output = crate::workspace::cargo(root)
        .args(["metadata", "--format-version", "1"])
        .output()
        .context("cannot run cargo metadata")?;
    if !output.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    serde_json::from_slice(&output.stdout).context("cargo metadata printed something not JSON")
}

/// The workspace's packages by id.
fn members(metadata: &Value, root: &Path) -> anyhow::Result<BTreeMap<String, Member>> {
    let ids: BTreeSet<&str> = metadata["workspace_members"]
        .as_array()
        .context("cargo metadata has no workspace_members")?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let root = root.canonicalize()?;
    let mut members = BTreeMap::new();
    for package in metadata["packages"].as_array().into_iter().flatten() {
        let (Some(id), Some(name), Some(manifest)) = (
            package["id"].as_str(),
            package["name"].as_str(),
            package["manifest_path"].as_str(),
        ) else {
            continue;
        };
        if !ids.contains(id) {
            continue;
        }
        let relative = Path::new(manifest)
            .strip_prefix(&root)
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        let guest = GUEST_DIRS.iter().any(|dir| relative.starts_with(dir));
        members.insert(
            id.to_owned(),
            Member {
                name: name.to_owned(),
                guest,
            },
        );
    }
    Ok(members)
}

/// Which dependency edges a path may take.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Edges {
    /// Normal and build dependencies: what ends up linked into (or run to
    /// build) the package.
    Linked,
    /// Those and dev-dependencies.
    All,
}

/// The resolved dependency graph, by package name.
struct Graph {
    /// name -> (dependency name, whether only a dev-dependency edge)
    edges: BTreeMap<String, Vec<(String, bool)>>,
}

impl Graph {
    fn from_metadata(metadata: &Value) -> anyhow::Result<Self> {
        let names: BTreeMap<&str, &str> = metadata["packages"]
            .as_array()
            .context("cargo metadata has no packages")?
            .iter()
            .filter_map(|p| Some((p["id"].as_str()?, p["name"].as_str()?)))
            .collect();
        let mut edges: BTreeMap<String, Vec<(String, bool)>> = BTreeMap::new();
        for node in metadata["resolve"]["nodes"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let Some(from) = node["id"].as_str().and_then(|id| names.get(id)) else {
                continue;
            };
            for dep in node["deps"].as_array().into_iter().flatten() {
                let Some(to) = dep["pkg"].as_str().and_then(|id| names.get(id)) else {
                    continue;
                };
                let dev_only = dep["dep_kinds"]
                    .as_array()
                    .is_some_and(|kinds| kinds.iter().all(|k| k["kind"].as_str() == Some("dev")));
                edges
                    .entry((*from).to_owned())
                    .or_default()
                    .push(((*to).to_owned(), dev_only));
            }
        }
        Ok(Self { edges })
    }

    /// A path of package names from `from` to `to`, if one exists. Only the
    /// first step may be a dev-dependency with [`Edges::All`]: a
    /// dependency's own dev-dependencies are never built for it.
    fn path(&self, from: &str, to: &str, edges: Edges) -> Option<Vec<String>> {
        let mut seen = BTreeSet::from([from.to_owned()]);
        let mut queue = std::collections::VecDeque::from([vec![from.to_owned()]]);
        while let Some(path) = queue.pop_front() {
            let last = path.last()?;
            let first_step = path.len() == 1;
            for (next, dev_only) in self.edges.get(last).into_iter().flatten() {
                let allowed = !dev_only || (edges == Edges::All && first_step);
                if !allowed || !seen.insert(next.clone()) {
                    continue;
                }
                let mut longer = path.clone();
                longer.push(next.clone());
                if next == to {
                    return Some(longer);
                }
                queue.push_back(longer);
            }
        }
        None
    }
}

/// The names of every crate in `package`'s normal dependency tree, resolved
/// for that package alone.
fn normal_tree(root: &Path, package: &str) -> anyhow::Result<BTreeSet<String>> {
    let output = crate::workspace::cargo(root)
        .args(["tree", "-p", package, "--edges", "normal"])
        .args(["--prefix", "none", "--format", "{p}"])
        .output()
        .context("cannot run cargo tree")?;
    if !output.status.success() {
        bail!(
            "cargo tree failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    // `{p}` prints `name vX.Y.Z (source)`; the name is all we need.
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(edges: &[(&str, &str, bool)]) -> Graph {
        let mut map: BTreeMap<String, Vec<(String, bool)>> = BTreeMap::new();
        for (from, to, dev) in edges {
            map.entry((*from).to_owned())
                .or_default()
                .push(((*to).to_owned(), *dev));
        }
        Graph { edges: map }
    }

    #[test]
    fn a_path_through_a_normal_dependency_is_found() {
        let g = graph(&[("counter", "helper", false), ("helper", HOST, false)]);
        assert_eq!(
            g.path("counter", HOST, Edges::Linked),
            Some(vec!["counter".into(), "helper".into(), HOST.into()])
        );
    }

    #[test]
    fn dev_dependencies_count_only_when_asked_and_only_as_the_first_step() {
        let g = graph(&[("counter", TEST_KIT, true)]);
        assert_eq!(g.path("counter", TEST_KIT, Edges::Linked), None);
        assert!(g.path("counter", TEST_KIT, Edges::All).is_some());
        let g = graph(&[(HOST, "x", false), ("x", TEST_KIT, true)]);
        assert_eq!(g.path(HOST, TEST_KIT, Edges::All), None);
    }
}
