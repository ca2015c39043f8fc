//! `cargo xtask compose`: composing a user's own `.wac` with edgeplug's
//! built components (and the user's own, given with `--dep`), checked
//! against the import rules of the platform it is meant for.
//!
//! Edgeplug's own FastEdge worker goes through [`compose_to`] too, so
//! a user's composition is held to exactly the rules the shipped worker is.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

use crate::compose::{self, Composed};
use crate::inspect::{self, Platform};
use crate::{build, workspace};

/// The packages a `.wac` may name without `--dep`: edgeplug's components
/// and adapters (FastEdge's and redis-rest-kv), where `cargo xtask build`
/// writes them (`out`).
pub fn default_packages(out: &Path) -> Vec<(String, PathBuf)> {
    [
        "counter",
        "uploader",
        "entry",
        "fastedge-kv",
        "fastedge-config",
        "redis-rest-kv",
    ]
    .into_iter()
    .map(|name| (format!("edgeplug:{name}"), out.join(format!("{name}.wasm"))))
    .collect()
}

/// What `cargo xtask compose` was asked to do.
pub struct Args {
    /// The `.wac` file to compose.
    pub wac: PathBuf,
    /// The platform whose import rules the result must meet.
    pub platform: Platform,
    /// Where the composed component goes (only once it passed the checks).
    pub output: PathBuf,
    /// `--dep <package>=<path.wasm>` arguments, as given.
    pub deps: Vec<String>,
}

/// `cargo xtask compose`: builds edgeplug's components, composes `args.wac`
/// with them and `args.deps`, checks the result against `args.platform` and
/// writes it to `args.output`, then prints what the platform must provide.
pub fn run(root: &Path, args: &Args) -> anyhow::Result<()> {
    // Before the build: a typo in an argument should not cost a build.
    let deps = args
        .deps
        .iter()
        .map(|dep| parse_dep(dep))
        .collect::<anyhow::Result<Vec<_>>>()?;
    build::all(root)?;
    let packages = with_deps(default_packages(&workspace::output_dir(root)), &deps)?;
    let outcome = compose_to(&args.wac, args.platform, &packages, &args.output)?;
    for (name, path) in &deps {
        if !outcome.used.contains(name) {
            eprintln!(
                "xtask: warning: --dep {name}={} was not used: {} names no package `{name}`",
                path.display(),
                args.wac.display()
            );
        }
    }
    println!(
        "xtask: composed {} for {}: {} bytes  {}",
        args.wac.display(),
        args.platform,
        outcome.size,
        args.output.display()
    );
    let mut imports = outcome.imports;
    imports.sort();
    if imports.is_empty() {
        println!("  it imports nothing");
    } else {
        println!("  imports left for the platform to provide:");
        for import in &imports {
            println!("    {import}");
        }
    }
    Ok(())
}

/// Parses one `--dep <package>=<path.wasm>` argument, and checks that the
/// file is there.
pub fn parse_dep(dep: &str) -> anyhow::Result<(String, PathBuf)> {
    let Some((name, path)) = dep.split_once('=') else {
        bail!(
            "--dep `{dep}` has no `=`: give a package name and its component, as in --dep my:app=target/wasm32-wasip2/release/my_app.wasm"
        );
    };
    let (name, path) = (name.trim(), Path::new(path));
    let Some((namespace, package)) = name.split_once(':') else {
        bail!(
            "--dep `{dep}`: `{name}` is not a package name, which is `<namespace>:<name>` as the .wac names it (e.g. my:app)"
        );
    };
    if namespace.is_empty() || package.is_empty() || name.contains(['@', '/', ' ']) {
        bail!(
            "--dep `{dep}`: `{name}` is not a package name, which is `<namespace>:<name>` without a version or interface (e.g. my:app)"
        );
    }
    if path.as_os_str().is_empty() {
        bail!("--dep `{dep}` names no file after the `=`");
    }
    let metadata = std::fs::metadata(path)
        .with_context(|| format!("--dep {name}: cannot read its component {}", path.display()))?;
    if !metadata.is_file() {
        bail!(
            "--dep {name}: {} is not a file (a component .wasm is expected)",
            path.display()
        );
    }
    Ok((name.to_owned(), path.to_path_buf()))
}

/// `packages` with `deps` added; a dep named like one of `packages`
/// replaces it. The same name given twice in `deps` is refused, as a
/// mistake that would otherwise silently pick one.
pub fn with_deps(
    mut packages: Vec<(String, PathBuf)>,
    deps: &[(String, PathBuf)],
) -> anyhow::Result<Vec<(String, PathBuf)>> {
    for (i, (name, path)) in deps.iter().enumerate() {
        if deps[..i].iter().any(|(earlier, _)| earlier == name) {
            bail!("--dep {name} is given more than once");
        }
        match packages.iter_mut().find(|(default, _)| default == name) {
            Some(entry) => entry.1 = path.clone(),
            None => packages.push((name.clone(), path.clone())),
        }
    }
    Ok(packages)
}

/// Composes `wac` with `packages` (package names such as
/// `edgeplug:counter`, and the components that provide them), validates
/// the result and checks its world against `platform`'s rules
/// ([`inspect::check_world`]). Returns the composed component (with the
/// packages the `.wac` used) and its world; writes nothing. Only the
/// packages the `.wac` names are parsed.
pub fn compose_checked<S: AsRef<str>>(
    wac: &Path,
    platform: Platform,
    packages: &[(S, PathBuf)],
) -> anyhow::Result<(Composed, inspect::World)> {
    let composed = compose::compose_reporting(wac, packages).map_err(|error| {
        match unknown_package(&error).map(str::to_owned) {
            Some(name) => error.context(format!(
                "{} names package `{name}`, which is not one of edgeplug's: give its component with --dep {name}=<path.wasm>",
                wac.display()
            )),
            None => error,
        }
    })?;
    inspect::validate_bytes(&composed.bytes)
        .with_context(|| format!("composing {} gave an invalid component", wac.display()))?;
    let world = inspect::world_of(&composed.bytes)?;
    inspect::check_world(platform, &world).with_context(|| {
        format!(
            "{} composes, but not into a worker {platform} can run",
            wac.display()
        )
    })?;
    Ok((composed, world))
}

/// The package wac could not find, when that is why composing failed.
fn unknown_package(error: &anyhow::Error) -> Option<&str> {
    error.chain().find_map(
        |cause| match cause.downcast_ref::<wac_parser::resolution::Error>()? {
            wac_parser::resolution::Error::UnknownPackage { name, .. } => Some(name.as_str()),
            _ => None,
        },
    )
}

/// What [`compose_to`] wrote.
#[derive(Debug)]
pub struct Outcome {
    /// The size of the component written, in bytes.
    pub size: usize,
    /// The imports left for the platform's host to provide.
    pub imports: Vec<String>,
    /// The packages the `.wac` used.
    pub used: Vec<String>,
}

/// [`compose_checked`], then writes the component to `output`: whole or
/// not at all, and nothing when a check fails.
pub fn compose_to<S: AsRef<str>>(
    wac: &Path,
    platform: Platform,
    packages: &[(S, PathBuf)],
    output: &Path,
) -> anyhow::Result<Outcome> {
    let (composed, world) = compose_checked(wac, platform, packages)?;
    write_whole(output, &composed.bytes)?;
    Ok(Outcome {
        size: composed.bytes.len(),
        imports: world.imports,
        used: composed.used,
    })
}

/// Writes `bytes` to `path` through a temporary file in the same folder,
/// renamed over `path` once complete: a reader (or a failed write) never
/// sees half a component at `path`.
pub fn write_whole(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let Some(file_name) = path.file_name() else {
        bail!("{} names no file to write", path.display());
    };
    let mut temp_name = OsString::from(".");
    temp_name.push(file_name);
    temp_name.push(format!(".{}.tmp", std::process::id()));
    let temp = path.with_file_name(temp_name);
    let written = std::fs::write(&temp, bytes)
        .with_context(|| {
            format!(
                "cannot write {} (first as {})",
                path.display(),
                temp.display()
            )
        })
        .and_then(|()| {
            std::fs::rename(&temp, path)
                .with_context(|| format!("cannot rename {} to {}", temp.display(), path.display()))
        });
    if written.is_err() {
        // Best effort: the write's own error is the one worth reporting.
        let _ = std::fs::remove_file(&temp);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh, empty folder for one test's files, under the target dir.
    fn scratch(test: &str) -> PathBuf {
        let root = workspace::root().expect("the workspace");
        let dir = workspace::target_dir(&root).join("xtask-tests").join(test);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).expect("remove the old scratch folder");
        }
        std::fs::create_dir_all(&dir).expect("create the scratch folder");
        dir
    }

    /// Edgeplug's packages as `cargo xtask build` wrote them.
    fn built_packages() -> Vec<(String, PathBuf)> {
        let root = workspace::root().expect("the workspace");
        default_packages(&workspace::output_dir(&root))
    }

    fn files_in(dir: &Path) -> Vec<PathBuf> {
        std::fs::read_dir(dir)
            .expect("the scratch folder")
            .map(|entry| entry.expect("a folder entry").path())
            .collect()
    }

    /// Counter, uploader and entry for FastEdge, with the config adapter
    /// wired and the kv adapter left out.
    const WITHOUT_KV_ADAPTER: &str = r#"
package test:no-kv-adapter;

let config = new edgeplug:fastedge-config { ... };
let counter = new edgeplug:counter {
    "wasi:config/store@0.2.0-rc.1": config["wasi:config/store@0.2.0-rc.1"],
    ...
};
let uploader = new edgeplug:uploader {
    "wasi:config/store@0.2.0-rc.1": config["wasi:config/store@0.2.0-rc.1"],
    ...
};
let entry = new edgeplug:entry {
    "edgeplug:worker/types@0.1.0": counter["edgeplug:worker/types@0.1.0"],
    "edgeplug:worker/counter@0.1.0": counter["edgeplug:worker/counter@0.1.0"],
    "edgeplug:worker/uploader@0.1.0": uploader["edgeplug:worker/uploader@0.1.0"],
    "wasi:config/store@0.2.0-rc.1": config["wasi:config/store@0.2.0-rc.1"],
    ...
};
export entry["wasi:http/incoming-handler@0.2.6"];
"#;

    /// Needs `cargo xtask build` first (as `cargo xtask test` does).
    #[test]
    fn a_fastedge_composition_without_the_kv_adapter_is_refused_and_nothing_is_written() {
        let dir = scratch("without-kv-adapter");
        let wac = dir.join("no-kv.wac");
        std::fs::write(&wac, WITHOUT_KV_ADAPTER).expect("write the .wac");
        let output = dir.join("out.wasm");
        let error = compose_to(&wac, Platform::Fastedge, &built_packages(), &output)
            .expect_err("FastEdge cannot link wasi:keyvalue");
        let error = format!("{error:#}");
        assert!(
            error.contains("`wasi:keyvalue/store@0.2.0-draft`"),
            "{error}"
        );
        assert!(
            error.contains("`wasi:keyvalue/atomics@0.2.0-draft`"),
            "every refused import is named: {error}"
        );
        assert!(error.contains("edgeplug:fastedge-kv"), "a hint: {error}");
        assert!(
            !error.contains("`wasi:config/store"),
            "the wired config import is not blamed: {error}"
        );
        assert_eq!(
            files_in(&dir),
            [wac],
            "neither the output nor a temporary file is left"
        );
    }

    /// Needs `cargo xtask build` first.
    #[test]
    fn the_fastedge_worker_through_the_user_path_is_accepted_and_written_valid() {
        let root = workspace::root().expect("the workspace");
        let output = scratch("fastedge-worker").join("worker-fastedge.wasm");
        let outcome = compose_to(
            &root.join("compose/worker-fastedge.wac"),
            Platform::Fastedge,
            &built_packages(),
            &output,
        )
        .unwrap_or_else(|e| panic!("accepted (run `cargo xtask build` first): {e:#}"));
        inspect::validate(&output).unwrap_or_else(|e| panic!("{e:#}"));
        let bytes = std::fs::read(&output).expect("the output");
        assert_eq!(bytes.len(), outcome.size);
        let world = inspect::world_of(&bytes).expect("a component");
        inspect::check_fastedge_world(&world).unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(world.imports, outcome.imports);
        assert!(
            outcome
                .imports
                .iter()
                .any(|i| i.starts_with("gcore:fastedge/")),
            "the adapters' imports remain for FastEdge: {:?}",
            outcome.imports
        );
    }

    /// Needs `cargo xtask build` first.
    #[test]
    fn the_portable_worker_passes_for_portable_and_is_refused_for_fastedge() {
        let root = workspace::root().expect("the workspace");
        let wac = root.join("compose/worker.wac");
        let dir = scratch("portable-worker");

        let portable = dir.join("portable.wasm");
        compose_to(&wac, Platform::Portable, &built_packages(), &portable)
            .unwrap_or_else(|e| panic!("accepted (run `cargo xtask build` first): {e:#}"));
        inspect::validate(&portable).unwrap_or_else(|e| panic!("{e:#}"));

        let fastedge = dir.join("fastedge.wasm");
        let error = compose_to(&wac, Platform::Fastedge, &built_packages(), &fastedge)
            .expect_err("FastEdge cannot link the portable worker's imports");
        let error = format!("{error:#}");
        for import in [
            "`wasi:keyvalue/store@0.2.0-draft`",
            "`wasi:keyvalue/atomics@0.2.0-draft`",
            "`wasi:config/store@0.2.0-rc.1`",
        ] {
            assert!(error.contains(import), "{import} is named: {error}");
        }
        assert!(!fastedge.exists(), "nothing is written when refused");
    }

    #[test]
    fn a_dep_without_an_equals_sign_is_refused_clearly() {
        let error = parse_dep("my:app").unwrap_err().to_string();
        assert!(error.contains("no `=`"), "{error}");
        assert!(error.contains("my:app"), "{error}");
    }

    #[test]
    fn a_dep_whose_file_is_missing_is_refused_clearly() {
        let missing = scratch("dep-missing-file").join("missing.wasm");
        let error = format!(
            "{:#}",
            parse_dep(&format!("my:app={}", missing.display())).unwrap_err()
        );
        assert!(error.contains("--dep my:app"), "{error}");
        assert!(error.contains(&missing.display().to_string()), "{error}");
    }

    #[test]
    fn a_dep_with_a_bad_name_or_no_path_is_refused() {
        let dir = scratch("dep-bad-name");
        let file = dir.join("app.wasm");
        std::fs::write(&file, b"").expect("write a file");
        for name in ["app", ":app", "my:", "my:app@1.0.0", "my:app/iface"] {
            let error = parse_dep(&format!("{name}={}", file.display()))
                .unwrap_err()
                .to_string();
            assert!(error.contains("not a package name"), "{name}: {error}");
        }
        let error = parse_dep("my:app=").unwrap_err().to_string();
        assert!(error.contains("names no file"), "{error}");
        let error = parse_dep(&format!("my:app={}", dir.display()))
            .unwrap_err()
            .to_string();
        assert!(error.contains("not a file"), "{error}");
        let (name, path) = parse_dep(&format!("my:app={}", file.display())).expect("valid");
        assert_eq!((name.as_str(), path), ("my:app", file));
    }

    #[test]
    fn a_dep_named_like_a_default_replaces_it_and_others_are_added() {
        let out = Path::new("out");
        let deps = [
            ("edgeplug:counter".to_owned(), PathBuf::from("mine.wasm")),
            ("my:app".to_owned(), PathBuf::from("app.wasm")),
        ];
        let packages = with_deps(default_packages(out), &deps).expect("no duplicates");
        let path_of = |name: &str| {
            packages
                .iter()
                .filter(|(n, _)| n == name)
                .map(|(_, p)| p.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(path_of("edgeplug:counter"), [PathBuf::from("mine.wasm")]);
        assert_eq!(path_of("my:app"), [PathBuf::from("app.wasm")]);
        assert_eq!(path_of("edgeplug:entry"), [out.join("entry.wasm")]);

        let twice = [deps[1].clone(), deps[1].clone()];
        let error = with_deps(default_packages(out), &twice).unwrap_err();
        assert!(error.to_string().contains("more than once"), "{error}");
    }

    /// No built component needed: wac stops at the package it cannot find.
    #[test]
    fn a_package_neither_edgeplug_nor_given_names_the_dep_to_add() {
        let dir = scratch("unknown-package");
        let wac = dir.join("app.wac");
        std::fs::write(
            &wac,
            "package test:app;\nlet app = new my:app { ... };\nexport app[\"wasi:http/incoming-handler@0.2.6\"];\n",
        )
        .expect("write the .wac");
        let none: [(&str, PathBuf); 0] = [];
        let Err(error) = compose_checked(&wac, Platform::Portable, &none) else {
            panic!("a .wac naming an unknown package composes");
        };
        let error = format!("{error:#}");
        assert!(error.contains("--dep my:app=<path.wasm>"), "{error}");
    }
}
