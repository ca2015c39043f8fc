//! `docs/building-on-edgeplug.md` (linked from the README) shows these files
//! whole; this keeps every copy identical to the file it copies.

use anyhow::{Context as _, Result};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Where the copies live, from this crate's folder.
const DOC: &str = "../../docs/building-on-edgeplug.md";

fn read(path: &str) -> Result<String> {
    std::fs::read_to_string(format!("{ROOT}/{path}")).with_context(|| path.to_owned())
}

#[test]
fn the_docs_show_the_example_files_as_they_are() -> Result<()> {
    let doc = read(DOC)?;
    for (file, fence) in [
        ("tests/quickstart.rs", "```rust\n"),
        ("wit/world.wit", "```wit\n"),
        ("limited-worker.wac", "```wac\n"),
    ] {
        let copy = format!("{fence}{}```\n", read(file)?);
        assert!(
            doc.contains(&copy),
            "docs/building-on-edgeplug.md no longer shows examples/rate-limiter/{file} as it is: copy it again"
        );
    }
    Ok(())
}

#[test]
fn the_docs_show_the_glue_as_it_is() -> Result<()> {
    let doc = read(DOC)?;
    let lib = read("src/lib.rs")?;
    let start = lib
        .find("pub mod bindings {")
        .context("the bindings module")?;
    let end = lib.find("// Only on wasm").context("the export line")?;
    let glue = format!("{}\n```\n", lib[start..end].trim_end());
    assert!(
        doc.contains(&glue),
        "docs/building-on-edgeplug.md no longer shows examples/rate-limiter/src/lib.rs's glue as it is"
    );
    Ok(())
}
