//! The README's "Building on edgeplug" section shows these files whole; this
//! keeps every copy identical to the file it copies.

use anyhow::{Context as _, Result};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn read(path: &str) -> Result<String> {
    std::fs::read_to_string(format!("{ROOT}/{path}")).with_context(|| path.to_owned())
}

#[test]
fn the_readme_shows_the_example_files_as_they_are() -> Result<()> {
    let readme = read("../../README.md")?;
    for (file, fence) in [
        ("tests/quickstart.rs", "```rust\n"),
        ("wit/world.wit", "```wit\n"),
        ("limited-worker.wac", "```wac\n"),
    ] {
        let copy = format!("{fence}{}```\n", read(file)?);
        assert!(
            readme.contains(&copy),
            "README.md no longer shows examples/rate-limiter/{file} as it is: copy it again"
        );
    }
    Ok(())
}

#[test]
fn the_readme_shows_the_glue_as_it_is() -> Result<()> {
    let readme = read("../../README.md")?;
    let lib = read("src/lib.rs")?;
    let start = lib
        .find("pub mod bindings {")
        .context("the bindings module")?;
    let end = lib.find("// Only on wasm").context("the export line")?;
    let glue = format!("{}\n```\n", lib[start..end].trim_end());
    assert!(
        readme.contains(&glue),
        "README.md no longer shows examples/rate-limiter/src/lib.rs's glue as it is"
    );
    Ok(())
}
