//! Where things are, and running cargo and rustup.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};

/// The workspace root (the folder above `xtask/`).
pub fn root() -> anyhow::Result<PathBuf> {
    // `cargo run` (what the `cargo xtask` alias is) sets it at run time; the
    // compile-time value can belong to another checkout sharing the target dir.
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest
        .parent()
        .map(Path::to_path_buf)
        .context("xtask is not inside the edgeplug workspace")
}

/// The target folder cargo uses (honours `CARGO_TARGET_DIR`).
pub fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|dir| {
            if dir.is_absolute() {
                dir
            } else {
                root.join(dir)
            }
        })
        .unwrap_or_else(|| root.join("target"))
}

/// Where built and composed components go: `target/edgeplug/`.
pub fn output_dir(root: &Path) -> PathBuf {
    target_dir(root).join("edgeplug")
}

/// `cargo` (the one running us), in the workspace root.
pub fn cargo(root: &Path) -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.current_dir(root);
    command
}

/// `cargo run` of the binary `name` (of the package of the same name:
/// `edgeplug-host`, `edgeplug-bench`), ready for its own arguments.
/// Not `--quiet`: on a fresh machine building the host takes minutes, and
/// cargo's progress is what a newcomer sees meanwhile.
pub fn host_binary(root: &Path, name: &str) -> Command {
    let mut command = cargo(root);
    command.args(["run", "-p", name, "--bin", name, "--"]);
    command
}

/// [`host_binary`] built with `--release`, for measuring: a dev build runs
/// wasmtime with its debug assertions on, which inflates every request's
/// shared cost and so shrinks any ratio taken against it.
pub fn release_host_binary(root: &Path, name: &str) -> Command {
    let mut command = cargo(root);
    command.args(["run", "--release", "-p", name, "--bin", name, "--"]);
    command
}

/// Runs `command`, failing with its name when it fails.
pub fn run(command: &mut Command) -> anyhow::Result<()> {
    let status = command
        .status()
        .with_context(|| format!("cannot start {command:?}"))?;
    if !status.success() {
        bail!("{command:?} failed with {status}");
    }
    Ok(())
}

/// Adds the `wasm32-wasip2` target through rustup when it is missing: a fresh
/// machine has only the host target.
pub fn ensure_wasm_target() -> anyhow::Result<()> {
    const TARGET: &str = "wasm32-wasip2";
    let output = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output();
    match output {
        Ok(output) if output.status.success() => {
            let installed = String::from_utf8_lossy(&output.stdout);
            if installed.lines().any(|line| line.trim() == TARGET) {
                return Ok(());
            }
            eprintln!("xtask: adding the {TARGET} target with rustup");
            run(Command::new("rustup").args(["target", "add", TARGET]))
        }
        // Without rustup, trust the toolchain; the build says so if it can't.
        _ => Ok(()),
    }
}
