//! The pinned `wasmtime` CLI the bench compares `edgeplug-host serve` with,
//! installed into `target/tools/` when missing.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::workspace;

/// The version compared with: the Wasmtime our host is built on.
pub const VERSION: &str = "48.0.8";

/// The `wasmtime` binary of [`VERSION`], installed from crates.io with
/// `cargo install --locked` into `target/tools/wasmtime-cli-<VERSION>` on
/// first use. That is a release build of Wasmtime: many minutes on two
/// cores, once; cargo's progress shows meanwhile.
pub fn ensure(root: &Path) -> anyhow::Result<PathBuf> {
    let prefix = workspace::target_dir(root)
        .join("tools")
        .join(format!("wasmtime-cli-{VERSION}"));
    let binary = prefix
        .join("bin")
        .join(format!("wasmtime{}", std::env::consts::EXE_SUFFIX));
    if is_pinned(&binary) {
        return Ok(binary);
    }
    println!(
        "installing wasmtime-cli {VERSION} into {} for the comparison with `wasmtime serve` \
         (a release build, once: many minutes on 2 cores)",
        prefix.display()
    );
    workspace::run(
        workspace::cargo(root)
            .args(["install", "wasmtime-cli", "--locked", "--version", VERSION])
            .arg("--root")
            .arg(&prefix),
    )?;
    anyhow::ensure!(
        is_pinned(&binary),
        "{} is not wasmtime {VERSION} after installing it",
        binary.display()
    );
    Ok(binary)
}

/// Whether `binary` runs and says it is [`VERSION`].
fn is_pinned(binary: &Path) -> bool {
    Command::new(binary)
        .arg("--version")
        .output()
        .is_ok_and(|out| {
            out.status.success()
                && String::from_utf8_lossy(&out.stdout).starts_with(&format!("wasmtime {VERSION}"))
        })
}
