//! Shrinking built components with Binaryen's `wasm-opt`: every core module
//! inside a component is optimized in place, the component around it (its
//! types, imports, exports and instances) left byte for byte as it was.
//!
//! Measured on 2026-12-06: LLVM's output at `opt-level = "s"` with LTO still
//! shrinks by about a fifth (uploader 407 → 334 KB of core module, entry
//! 151 → 123 KB, counter 58 → 46 KB); `opt-level = "z"` in Cargo saved a
//! tenth of that. `-Os` and `-O3` came out within 1% of each other in size,
//! so the pass is `-Os`, as the Cargo profile is.

use std::hash::{Hash as _, Hasher as _};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};

use crate::{debian, workspace};

/// The program, from Debian's `binaryen` package.
const WASM_OPT: &str = "wasm-opt";

/// The pass, and the features the components are built with: those rustc's
/// `wasm32-wasip2` target enables by default (`rustc --print cfg --target
/// wasm32-wasip2`) plus SIMD, which `.cargo/config.toml` turns on. The
/// optimizer may keep using them, and adds none the engines we ship to
/// might lack.
const ARGS: [&str; 8] = [
    "-Os",
    "--enable-bulk-memory",
    "--enable-multivalue",
    "--enable-mutable-globals",
    "--enable-nontrapping-float-to-int",
    "--enable-reference-types",
    "--enable-sign-ext",
    "--enable-simd",
];

/// Installs `wasm-opt` when it is missing.
pub fn ensure_wasm_opt() -> anyhow::Result<()> {
    if debian::runs(WASM_OPT) {
        return Ok(());
    }
    debian::install(&["binaryen"], "put Binaryen's wasm-opt on PATH")?;
    if !debian::runs(WASM_OPT) {
        bail!("binaryen was installed but `{WASM_OPT} --version` still fails");
    }
    Ok(())
}

/// Writes the component at `from` to `to` with every core module optimized.
/// Skips the work when `to` already holds the result for these exact input
/// bytes (a stamp beside it in `.wasm-opt/` says which), so an unchanged
/// build costs no optimizer run.
pub fn component(from: &Path, to: &Path) -> anyhow::Result<()> {
    let input = std::fs::read(from).with_context(|| format!("cannot read {}", from.display()))?;
    let stamp = stamp_path(to)?;
    let fingerprint = fingerprint(&input);
    if to.exists()
        && std::fs::read_to_string(&stamp).is_ok_and(|s| s.trim() == fingerprint.as_str())
    {
        return Ok(());
    }
    // A stamp outlives a write cut short only if it is gone first.
    let _ = std::fs::remove_file(&stamp);
    println!(
        "xtask: wasm-opt {} ({} bytes)",
        display_name(to),
        input.len()
    );
    let output = optimize_modules(&input, &scratch_prefix(to)?)
        .with_context(|| format!("cannot optimize {}", from.display()))?;
    std::fs::write(to, &output).with_context(|| format!("cannot write {}", to.display()))?;
    std::fs::write(&stamp, fingerprint).with_context(|| format!("cannot write {}", stamp.display()))
}

/// `bytes` (a component) with each top-level core module section replaced
/// by its optimized form; every other section is copied as it was.
fn optimize_modules(bytes: &[u8], scratch: &Path) -> anyhow::Result<Vec<u8>> {
    const HEADER: usize = 8;
    anyhow::ensure!(
        bytes.len() >= HEADER && bytes.starts_with(b"\0asm") && bytes[6..8] == [1, 0],
        "not a component"
    );
    let mut out = bytes[..HEADER].to_vec();
    let mut reader = wasmparser::BinaryReader::new(&bytes[HEADER..], HEADER as u64);
    while !reader.eof() {
        let start = reader.original_position() as usize;
        let id = reader.read_u8()?;
        let size = reader.read_var_u32()?;
        let contents = reader
            .read_bytes(size as usize)
            .context("a section runs past the end")?;
        // Section 1 of a component is a core module.
        if id == 1 {
            let optimized = run_wasm_opt(contents, scratch)?;
            out.push(id);
            write_leb_u32(&mut out, u32::try_from(optimized.len())?);
            out.extend_from_slice(&optimized);
        } else {
            out.extend_from_slice(&bytes[start..reader.original_position() as usize]);
        }
    }
    Ok(out)
}

/// Runs `wasm-opt` on one core module through two files whose names start
/// with `scratch` (see [`scratch_prefix`]).
fn run_wasm_opt(module: &[u8], scratch: &Path) -> anyhow::Result<Vec<u8>> {
    let with_suffix = |suffix: &str| {
        let mut name = scratch.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    let input = with_suffix(".in.wasm");
    let output = with_suffix(".out.wasm");
    let optimized = (|| {
        std::fs::write(&input, module)
            .with_context(|| format!("cannot write {}", input.display()))?;
        let mut command = Command::new(WASM_OPT);
        command.args(ARGS).arg(&input).arg("-o").arg(&output);
        workspace::run(&mut command)?;
        std::fs::read(&output).with_context(|| format!("cannot read {}", output.display()))
    })();
    // Gone whether or not the optimizer succeeded: the names carry the
    // process id, so nothing would ever overwrite what a failure left.
    let _ = std::fs::remove_file(&input);
    let _ = std::fs::remove_file(&output);
    optimized
}

fn write_leb_u32(out: &mut Vec<u8>, mut value: u32) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Which input (and which optimizer settings) an output was made from.
/// Not a security check: the stamp only saves rerunning the optimizer.
fn fingerprint(input: &[u8]) -> String {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    input.hash(&mut hasher);
    ARGS.hash(&mut hasher);
    format!("{}:{:016x}", input.len(), hasher.finish())
}

fn scratch_dir(to: &Path) -> anyhow::Result<PathBuf> {
    let dir = to
        .parent()
        .context("the output has no folder")?
        .join(".wasm-opt");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

/// Where the optimizer's files for `to` go: named after `to` and this
/// process, so that two builds at once (`cargo xtask serve` beside
/// `cargo xtask test`, say) never write each other's.
fn scratch_prefix(to: &Path) -> anyhow::Result<PathBuf> {
    Ok(scratch_dir(to)?.join(format!("{}.{}", display_name(to), std::process::id())))
}

fn stamp_path(to: &Path) -> anyhow::Result<PathBuf> {
    Ok(scratch_dir(to)?.join(format!("{}.stamp", display_name(to))))
}

fn display_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leb_round_trips_through_wasmparser() {
        for value in [0, 1, 127, 128, 300, 16_384, 624_485, u32::MAX] {
            let mut out = Vec::new();
            write_leb_u32(&mut out, value);
            let mut reader = wasmparser::BinaryReader::new(&out, 0);
            assert_eq!(reader.read_var_u32().unwrap(), value);
            assert!(reader.eof());
        }
    }

    #[test]
    fn a_truncated_section_size_is_an_error() {
        let component = [0, b'a', b's', b'm', 0x0d, 0, 1, 0, 0, 0x80, 0x80];
        assert!(optimize_modules(&component, Path::new("/nonexistent")).is_err());
    }

    #[test]
    fn sections_other_than_modules_are_copied_untouched() {
        // A component header, then one custom section ("x", 2 bytes).
        let component = [
            0, b'a', b's', b'm', 0x0d, 0, 1, 0, //
            0, 4, 1, b'x', 7, 9,
        ];
        let out = optimize_modules(&component, Path::new("/nonexistent")).unwrap();
        assert_eq!(out, component);
    }

    #[test]
    fn a_section_past_the_end_is_refused() {
        let component = [0, b'a', b's', b'm', 0x0d, 0, 1, 0, 0, 9, 1];
        assert!(optimize_modules(&component, Path::new("/nonexistent")).is_err());
    }

    #[test]
    fn a_core_module_is_not_a_component() {
        let module = [0, b'a', b's', b'm', 1, 0, 0, 0];
        assert!(optimize_modules(&module, Path::new("/nonexistent")).is_err());
    }
}
