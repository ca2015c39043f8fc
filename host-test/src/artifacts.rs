//! Finding the components `cargo xtask build` wrote.

use std::path::PathBuf;

/// The folder with the built components: `$EDGEPLUG_WASM_DIR` when set,
/// else `target/edgeplug/` of this workspace (honouring `CARGO_TARGET_DIR`).
pub fn wasm_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("EDGEPLUG_WASM_DIR") {
        return PathBuf::from(dir);
    }
    // Cargo sets CARGO_MANIFEST_DIR for the test processes it runs; the
    // compile-time value is the fallback for binaries run by hand.
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    let workspace = manifest.join("..");
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
