//! The components are built with Wasm's fixed-width SIMD, so that the
//! uploader hashes with sha2's `simd128` backend (docs/performance.md,
//! Uploads). A host must have SIMD on (Wasmtime's default); one that turns
//! it off refuses the uploader, and so every worker, when compiling it.

use host_test::artifacts::component_path;
use wasmtime::component::Component;
use wasmtime::{Config, Engine};

fn engine(simd: bool) -> anyhow::Result<Engine> {
    let mut config = Config::new();
    config.wasm_component_model(true);
    // Relaxed SIMD builds on SIMD: both go off together.
    config.wasm_simd(simd).wasm_relaxed_simd(simd);
    Ok(Engine::new(&config)?)
}

#[test]
fn the_uploader_and_the_worker_need_wasm_simd() -> anyhow::Result<()> {
    let without = engine(false)?;
    let with = engine(true)?;
    for name in ["uploader", "worker"] {
        let path = component_path(name)?;
        let refused = Component::from_file(&without, &path)
            .err()
            .map(|e| format!("{e:#}"));
        assert!(
            refused.as_deref().is_some_and(|e| e.contains("SIMD")),
            "{name}.wasm compiled without SIMD (or failed for another reason: {refused:?}); \
             is simd128 still on for wasm32-wasip2 in .cargo/config.toml?"
        );
        Component::from_file(&with, &path)?;
    }
    Ok(())
}
