//! Building the components and the composed workers.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::{compose, inspect, workspace};

/// The guest crates, in the order they are reported.
pub const COMPONENTS: [&str; 3] = ["counter", "uploader", "entry"];

/// The cargo profile components are built with (small and fast; see the
/// workspace `Cargo.toml`).
const PROFILE: &str = "component";

/// What `build::all` wrote.
pub struct Outputs {
    /// The portable composed worker.
    pub worker: PathBuf,
}

/// Builds every component, composes the portable worker, validates all of
/// them, checks the worker's world and prints the sizes.
pub fn all(root: &Path) -> anyhow::Result<Outputs> {
    workspace::ensure_wasm_target()?;
    let mut cargo = workspace::cargo(root);
    cargo.args(["build", "--target", "wasm32-wasip2", "--profile", PROFILE]);
    for name in COMPONENTS {
        cargo.args(["-p", name]);
    }
    workspace::run(&mut cargo)?;

    let built = workspace::target_dir(root)
        .join("wasm32-wasip2")
        .join(PROFILE);
    let out = workspace::output_dir(root);
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut written = Vec::new();
    for name in COMPONENTS {
        let from = built.join(format!("{name}.wasm"));
        let to = out.join(format!("{name}.wasm"));
        std::fs::copy(&from, &to)
            .with_context(|| format!("cannot copy {} to {}", from.display(), to.display()))?;
        inspect::validate(&to)?;
        written.push(to);
    }

    let worker = out.join("worker.wasm");
    let bytes = compose::compose(
        &root.join("compose/worker.wac"),
        &[
            ("edgeplug:counter", out.join("counter.wasm")),
            ("edgeplug:uploader", out.join("uploader.wasm")),
            ("edgeplug:entry", out.join("entry.wasm")),
        ],
    )?;
    std::fs::write(&worker, &bytes)
        .with_context(|| format!("cannot write {}", worker.display()))?;
    inspect::validate(&worker)?;
    inspect::check_portable_world(&inspect::world_of(&bytes)?).with_context(|| {
        format!(
            "{} does not have the portable worker's world",
            worker.display()
        )
    })?;
    written.push(worker.clone());

    println!("xtask: built and validated");
    for path in &written {
        let size = std::fs::metadata(path)?.len();
        println!("  {:>10} bytes  {}", size, path.display());
    }
    Ok(Outputs { worker })
}
