//! Building the monolith (`bench/monolith`): the entry, counter and uploader
//! linked into one component, for `cargo xtask bench` only. Never shipped,
//! so `cargo xtask build` and `cargo xtask test` do not build it.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::{inspect, optimize, workspace};

/// The crate, and its artifact's name.
const CRATE: &str = "monolith";

/// Its own cargo profile, set on the command line as the components'
/// `component` profile under another name. Cargo writes every crate's
/// artifact into the profile's folder, including the cdylibs of the counter,
/// uploader and entry built as the monolith's libraries (without their
/// exports); under `component` they would overwrite the real components.
const PROFILE: &str = "monolith";

/// The profile's definition: the same as the components' (see the
/// workspace `Cargo.toml`), so the comparison is like for like.
const PROFILE_CONFIG: [&str; 2] = [
    "profile.monolith.inherits=\"component\"",
    "profile.monolith.package.sha2.opt-level=3",
];

/// Builds the monolith in its own cargo invocation (features unify within
/// one, and the components must keep their `export` feature), validates it,
/// checks that it has the portable worker's world and copies it to
/// `target/edgeplug/monolith.wasm`.
pub fn build(root: &Path) -> anyhow::Result<PathBuf> {
    workspace::ensure_wasm_target()?;
    optimize::ensure_wasm_opt()?;
    let mut cargo = workspace::cargo(root);
    cargo.args(["build", "--target", "wasm32-wasip2", "--profile", PROFILE]);
    for setting in PROFILE_CONFIG {
        cargo.args(["--config", setting]);
    }
    cargo.args(["-p", CRATE]);
    workspace::run(&mut cargo)?;

    let from = workspace::target_dir(root)
        .join("wasm32-wasip2")
        .join(PROFILE)
        .join(format!("{CRATE}.wasm"));
    let out = workspace::output_dir(root);
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let to = out.join(format!("{CRATE}.wasm"));
    // Optimized as the components are, so that the comparison is of like
    // with like.
    optimize::component(&from, &to)?;
    inspect::validate(&to)?;
    let bytes = std::fs::read(&to).with_context(|| format!("cannot read {}", to.display()))?;
    let world = inspect::world_of(&bytes)?;
    inspect::check_portable_world(&world)
        .with_context(|| format!("{} does not have the worker's world", to.display()))?;
    // Exactly one export: the counter's or uploader's would mean their
    // `export` feature leaked into this build.
    anyhow::ensure!(
        world.exports.len() == 1,
        "{} exports more than the HTTP handler: {:?}",
        to.display(),
        world.exports
    );
    println!(
        "xtask: built the monolith, {} bytes  {}",
        bytes.len(),
        to.display()
    );
    Ok(to)
}
