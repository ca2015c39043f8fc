//! Finding the components `cargo xtask build` wrote.

use std::path::{Path, PathBuf};

/// The folder with the built components: `$EDGEPLUG_WASM_DIR` when set,
/// else `target/edgeplug/` of the workspace of the crate whose tests run
/// (honouring `CARGO_TARGET_DIR`).
pub fn wasm_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("EDGEPLUG_WASM_DIR") {
        return PathBuf::from(dir);
    }
    // Cargo sets CARGO_MANIFEST_DIR for the test processes it runs; the
    // compile-time value is the fallback for binaries run by hand.
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    let workspace = workspace_of(&manifest);
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|dir| {
            if dir.is_absolute() {
                dir
            } else {
                workspace.join(dir)
            }
        })
        .unwrap_or_else(|| workspace.join("target"));
    target.join("edgeplug")
}

/// The workspace a crate at `manifest_dir` belongs to: the nearest folder,
/// from the crate's own upwards, whose `Cargo.toml` has a `[workspace]`
/// table; the crate's parent when none has (a crate one level down, as
/// host-test is).
fn workspace_of(manifest_dir: &Path) -> PathBuf {
    manifest_dir
        .ancestors()
        .find(|dir| {
            std::fs::read_to_string(dir.join("Cargo.toml"))
                .is_ok_and(|text| text.lines().any(|line| line.trim() == "[workspace]"))
        })
        .map_or_else(|| manifest_dir.join(".."), Path::to_path_buf)
}

/// The path of a built component by name (`counter`, `uploader`, `entry`,
/// `worker`), failing with a hint when it has not been built.
pub fn component_path(name: &str) -> anyhow::Result<PathBuf> {
    let path = wasm_dir().join(format!("{name}.wasm"));
    if !path.exists() {
        anyhow::bail!(
            "{} is missing: run `cargo xtask build` first",
            path.display()
        );
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crates_at_any_depth_find_their_workspace() {
        let here = Path::new(env!("CARGO_MANIFEST_DIR"));
        let root = here.join("..");
        let found = workspace_of(&here.join("src"));
        assert_eq!(found.canonicalize().ok(), root.canonicalize().ok());
        assert!(found.join("Cargo.toml").exists());
    }
}
