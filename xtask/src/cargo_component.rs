//! `cargo xtask cargo-component`: every component crate also builds with
//! `cargo component build --release --target wasm32-wasip2`, and what that
//! builds has the same WIT world as what the xtask builds.
//!
//! Component crates are found, not listed: every workspace member whose
//! `Cargo.toml` has a `[package.metadata.component]` table is one, so a new
//! crate is checked as soon as it declares itself.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use wit_parser::decoding::{DecodedWasm, decode};
use wit_parser::{
    Function, Handle, Resolve, Type, TypeDefKind, TypeId, TypeOwner, WorldId, WorldItem, WorldKey,
};

use crate::workspace;

/// The profile `cargo xtask build` builds components with.
const XTASK_PROFILE: &str = "component";

/// A workspace crate that declares `[package.metadata.component]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentCrate {
    /// The package name, such as `fastedge-kv`.
    pub name: String,
    /// The folder its `Cargo.toml` is in.
    pub dir: PathBuf,
}

impl ComponentCrate {
    /// The artifact's file name: cargo writes `-` in a crate name as `_`.
    fn artifact(&self) -> String {
        format!("{}.wasm", self.name.replace('-', "_"))
    }
}

/// Builds every component crate with cargo-component and checks its world
/// against the xtask's build of the same crate. Fails when cargo-component is
/// missing, a build fails, or a world differs (the difference is printed).
pub fn check_all(root: &Path) -> anyhow::Result<()> {
    workspace::ensure_wasm_target()?;
    let crates = discover(root)?;
    if crates.is_empty() {
        bail!("no workspace member has [package.metadata.component]: nothing to check");
    }
    println!("xtask: {}", cargo_component_version(root)?);

    // The xtask's own build of every crate, with its own command; cargo makes
    // it a no-op when `cargo xtask build` already ran on the same sources.
    let mut cargo = workspace::cargo(root);
    cargo.args([
        "build",
        "--target",
        "wasm32-wasip2",
        "--profile",
        XTASK_PROFILE,
    ]);
    for krate in &crates {
        cargo.args(["-p", &krate.name]);
    }
    workspace::run(&mut cargo)?;

    // cargo-component 0.21 always writes its own bindings to `src/bindings.rs`
    // of every component crate it loads (it has no setting to skip that). Our
    // crates generate theirs inline, so that file is never compiled; putting
    // back what was there keeps the working tree as it was.
    let _bindings = BindingsFiles::snapshot(&crates)?;

    let target = workspace::target_dir(root).join("wasm32-wasip2");
    let mut mismatched = Vec::new();
    for krate in &crates {
        let mut build = workspace::cargo(root);
        build.current_dir(&krate.dir).args([
            "component",
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
        ]);
        workspace::run(&mut build)
            .with_context(|| format!("`cargo component build` of {} failed", krate.name))?;

        let xtask = summary_of_file(&target.join(XTASK_PROFILE).join(krate.artifact()))?;
        let ours = summary_of_file(&target.join("release").join(krate.artifact()))?;
        let differences = compare(&xtask, &ours);
        if differences.is_empty() {
            println!(
                "cargo component build {}: ok, world matches ({} imports, {} exports)",
                krate.name,
                ours.imports.len(),
                ours.exports.len()
            );
        } else {
            println!(
                "cargo component build {}: the world differs from the xtask's build:",
                krate.name
            );
            for difference in &differences {
                println!("  {difference}");
            }
            mismatched.push(krate.name.clone());
        }
    }
    // cargo-component 0.21 predates the wasm32-wasip2 target: besides the
    // build asked for, it builds each crate for wasm32-wasip1 and adapts that
    // core module with WASI's preview1 adapter. Say so, so nobody ships it.
    println!(
        "xtask: compared the wasm32-wasip2 artifacts in {}; cargo-component also wrote wasm32-wasip1 ones through the preview1 adapter (by-products, not compared)",
        target.join("release").display()
    );
    if !mismatched.is_empty() {
        bail!(
            "cargo-component builds a different world for {}",
            mismatched.join(", ")
        );
    }
    Ok(())
}

/// `cargo component --version`, or an error that says how to install it.
fn cargo_component_version(root: &Path) -> anyhow::Result<String> {
    let output = workspace::cargo(root)
        .args(["component", "--version"])
        .output()
        .context("cannot run `cargo component --version`")?;
    if !output.status.success() {
        bail!(
            "cargo-component is not installed: `cargo install cargo-component --locked` at the version .ci/run pins ({})",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// The workspace members with `[package.metadata.component]`, from
/// `cargo metadata`.
pub fn discover(root: &Path) -> anyhow::Result<Vec<ComponentCrate>> {
    let output = workspace::cargo(root)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .output()
        .context("cannot run `cargo metadata`")?;
    if !output.status.success() {
        bail!(
            "`cargo metadata` failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let json = std::str::from_utf8(&output.stdout).context("`cargo metadata` printed non-UTF-8")?;
    component_crates(json)
}

/// The packages of a `cargo metadata --no-deps` answer (workspace members
/// only) whose metadata has a `component` table, sorted by name.
fn component_crates(metadata_json: &str) -> anyhow::Result<Vec<ComponentCrate>> {
    let metadata: serde_json::Value =
        serde_json::from_str(metadata_json).context("`cargo metadata` printed invalid JSON")?;
    let packages = metadata["packages"]
        .as_array()
        .context("`cargo metadata` printed no packages")?;
    let mut crates = Vec::new();
    for package in packages {
        if !package["metadata"]["component"].is_object() {
            continue;
        }
        let name = package["name"]
            .as_str()
            .context("a package without a name in `cargo metadata`")?;
        let manifest = package["manifest_path"]
            .as_str()
            .with_context(|| format!("no manifest_path for {name} in `cargo metadata`"))?;
        let dir = Path::new(manifest)
            .parent()
            .with_context(|| format!("{manifest} is not in a folder"))?;
        crates.push(ComponentCrate {
            name: name.to_owned(),
            dir: dir.to_path_buf(),
        });
    }
    crates.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(crates)
}

/// What `src/bindings.rs` of each crate held before cargo-component ran;
/// dropping it puts every one back (or removes it, if there was none).
struct BindingsFiles {
    files: Vec<(PathBuf, Option<Vec<u8>>)>,
}

impl BindingsFiles {
    fn snapshot(crates: &[ComponentCrate]) -> anyhow::Result<Self> {
        let mut files = Vec::new();
        for krate in crates {
            let path = krate.dir.join("src").join("bindings.rs");
            let before = match std::fs::read(&path) {
                Ok(bytes) => Some(bytes),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
            };
            files.push((path, before));
        }
        Ok(Self { files })
    }
}

impl Drop for BindingsFiles {
    fn drop(&mut self) {
        for (path, before) in &self.files {
            let restored = match before {
                Some(bytes) => std::fs::write(path, bytes),
                None => match std::fs::remove_file(path) {
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                    other => other,
                },
            };
            // Drop cannot fail; say so rather than hide a changed file.
            if let Err(e) = restored {
                eprintln!(
                    "xtask: cannot restore {} after cargo-component: {e}",
                    path.display()
                );
            }
        }
    }
}

/// A component's world in a form two builds can be compared in: each import
/// and export by name (`wasi:io/streams@0.2.6`), with one line per type and
/// function it carries, types spelled out structurally.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct WorldSummary {
    /// Import name to what it carries.
    pub imports: BTreeMap<String, BTreeSet<String>>,
    /// Export name to what it carries.
    pub exports: BTreeMap<String, BTreeSet<String>>,
}

/// Decodes the component at `path` and summarises its world.
pub fn summary_of_file(path: &Path) -> anyhow::Result<WorldSummary> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    match decode(&bytes).with_context(|| format!("cannot decode {}", path.display()))? {
        DecodedWasm::Component(resolve, world) => Ok(summarise(&resolve, world)),
        DecodedWasm::WitPackage(..) => {
            bail!("{} is a WIT package, not a component", path.display())
        }
    }
}

/// Summarises `world` of `resolve`.
pub fn summarise(resolve: &Resolve, world: WorldId) -> WorldSummary {
    let world = &resolve.worlds[world];
    WorldSummary {
        imports: items(resolve, &world.imports),
        exports: items(resolve, &world.exports),
    }
}

/// Each of a world's imports or exports by name, with what it carries.
fn items<'a>(
    resolve: &Resolve,
    items: impl IntoIterator<Item = (&'a WorldKey, &'a WorldItem)>,
) -> BTreeMap<String, BTreeSet<String>> {
    items
        .into_iter()
        .map(|(key, item)| (key_name(resolve, key), item_lines(resolve, item)))
        .collect()
}

/// The differences between `expected` (the xtask's build) and `actual`
/// (cargo-component's), one line each; empty when the worlds are the same.
pub fn compare(expected: &WorldSummary, actual: &WorldSummary) -> Vec<String> {
    let mut differences = Vec::new();
    for (what, expected, actual) in [
        ("import", &expected.imports, &actual.imports),
        ("export", &expected.exports, &actual.exports),
    ] {
        let names: BTreeSet<&String> = expected.keys().chain(actual.keys()).collect();
        for name in names {
            match (expected.get(name), actual.get(name)) {
                (Some(_), None) => differences.push(format!(
                    "{what} `{name}`: only in the xtask's build, missing from cargo-component's"
                )),
                (None, Some(_)) => differences.push(format!(
                    "{what} `{name}`: only in cargo-component's build, not in the xtask's"
                )),
                (Some(expected), Some(actual)) => {
                    for line in expected.difference(actual) {
                        differences.push(format!("{what} `{name}`: xtask has `{line}`"));
                    }
                    for line in actual.difference(expected) {
                        differences.push(format!("{what} `{name}`: cargo-component has `{line}`"));
                    }
                }
                (None, None) => {}
            }
        }
    }
    differences
}

/// An import or export's name as a component spells it.
fn key_name(resolve: &Resolve, key: &WorldKey) -> String {
    match key {
        WorldKey::Name(name) => name.clone(),
        WorldKey::Interface(id) => resolve
            .id_of(*id)
            .unwrap_or_else(|| format!("<unnamed interface {}>", id.index())),
    }
}

/// One line per type and function that `item` brings into the world.
fn item_lines(resolve: &Resolve, item: &WorldItem) -> BTreeSet<String> {
    match item {
        WorldItem::Interface { id, .. } => {
            let interface = &resolve.interfaces[*id];
            let types = interface
                .types
                .iter()
                .map(|(name, id)| type_line(resolve, name, *id));
            let functions = interface
                .functions
                .values()
                .map(|function| function_line(resolve, function));
            types.chain(functions).collect()
        }
        WorldItem::Function(function) => BTreeSet::from([function_line(resolve, function)]),
        WorldItem::Type { id, .. } => {
            let name = resolve.types[*id].name.as_deref().unwrap_or("<unnamed>");
            BTreeSet::from([type_line(resolve, name, *id)])
        }
    }
}

/// `type name = <its definition>`.
fn type_line(resolve: &Resolve, name: &str, id: TypeId) -> String {
    format!(
        "type {name} = {}",
        definition(resolve, &resolve.types[id].kind)
    )
}

/// `name: [async ]func(param: type, …) -> result`.
fn function_line(resolve: &Resolve, function: &Function) -> String {
    let params: Vec<String> = function
        .params
        .iter()
        .map(|param| format!("{}: {}", param.name, type_name(resolve, &param.ty)))
        .collect();
    let result = function
        .result
        .as_ref()
        .map(|ty| format!(" -> {}", type_name(resolve, ty)))
        .unwrap_or_default();
    let asynchronous = if function.kind.is_async() {
        "async "
    } else {
        ""
    };
    format!(
        "{}: {asynchronous}func({}){result}",
        function.name,
        params.join(", ")
    )
}

/// A type where it is used: a named type by its qualified name
/// (`wasi:io/streams@0.2.6.input-stream`), an anonymous one spelled out.
fn type_name(resolve: &Resolve, ty: &Type) -> String {
    match ty {
        Type::Bool => "bool".into(),
        Type::U8 => "u8".into(),
        Type::U16 => "u16".into(),
        Type::U32 => "u32".into(),
        Type::U64 => "u64".into(),
        Type::S8 => "s8".into(),
        Type::S16 => "s16".into(),
        Type::S32 => "s32".into(),
        Type::S64 => "s64".into(),
        Type::F32 => "f32".into(),
        Type::F64 => "f64".into(),
        Type::Char => "char".into(),
        Type::String => "string".into(),
        Type::ErrorContext => "error-context".into(),
        Type::Id(id) => type_id_name(resolve, *id),
    }
}

fn type_id_name(resolve: &Resolve, id: TypeId) -> String {
    let def = &resolve.types[id];
    let Some(name) = &def.name else {
        return definition(resolve, &def.kind);
    };
    let owner = match def.owner {
        TypeOwner::Interface(interface) => resolve
            .id_of(interface)
            .unwrap_or_else(|| format!("<unnamed interface {}>", interface.index())),
        TypeOwner::World(world) => resolve.worlds[world].name.clone(),
        TypeOwner::None => String::new(),
    };
    format!("{owner}.{name}")
}

/// A type's definition, spelled out: what two builds must agree on.
fn definition(resolve: &Resolve, kind: &TypeDefKind) -> String {
    let name = |ty: &Type| type_name(resolve, ty);
    let optional = |ty: &Option<Type>| ty.as_ref().map(name).unwrap_or_else(|| "_".into());
    match kind {
        TypeDefKind::Record(record) => {
            let fields: Vec<String> = record
                .fields
                .iter()
                .map(|field| format!("{}: {}", field.name, name(&field.ty)))
                .collect();
            format!("record {{ {} }}", fields.join(", "))
        }
        TypeDefKind::Resource => "resource".into(),
        TypeDefKind::Handle(Handle::Own(id)) => format!("own<{}>", type_id_name(resolve, *id)),
        TypeDefKind::Handle(Handle::Borrow(id)) => {
            format!("borrow<{}>", type_id_name(resolve, *id))
        }
        TypeDefKind::Flags(flags) => {
            let flags: Vec<&str> = flags.flags.iter().map(|f| f.name.as_str()).collect();
            format!("flags {{ {} }}", flags.join(", "))
        }
        TypeDefKind::Tuple(tuple) => {
            let types: Vec<String> = tuple.types.iter().map(name).collect();
            format!("tuple<{}>", types.join(", "))
        }
        TypeDefKind::Variant(variant) => {
            let cases: Vec<String> = variant
                .cases
                .iter()
                .map(|case| match &case.ty {
                    Some(ty) => format!("{}({})", case.name, name(ty)),
                    None => case.name.clone(),
                })
                .collect();
            format!("variant {{ {} }}", cases.join(", "))
        }
        TypeDefKind::Enum(cases) => {
            let cases: Vec<&str> = cases.cases.iter().map(|c| c.name.as_str()).collect();
            format!("enum {{ {} }}", cases.join(", "))
        }
        TypeDefKind::Option(ty) => format!("option<{}>", name(ty)),
        TypeDefKind::Result(result) => {
            format!(
                "result<{}, {}>",
                optional(&result.ok),
                optional(&result.err)
            )
        }
        TypeDefKind::List(ty) => format!("list<{}>", name(ty)),
        TypeDefKind::Map(key, value) => format!("map<{}, {}>", name(key), name(value)),
        TypeDefKind::FixedLengthList(ty, length) => format!("list<{}, {length}>", name(ty)),
        TypeDefKind::Future(ty) => format!("future<{}>", optional(ty)),
        TypeDefKind::Stream(ty) => format!("stream<{}>", optional(ty)),
        TypeDefKind::Type(ty) => name(ty),
        TypeDefKind::Unknown => "<unknown>".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small package with the shapes our worlds have: a `use`d variant, a
    /// resource from another interface, a record, and interface and function
    /// imports and exports.
    const WIT: &str = r#"
        package test:pkg@0.1.0;

        interface streams {
            resource input-stream {
                read: func(len: u64) -> result<list<u8>, error>;
            }
            variant error { closed, failed(string) }
        }

        interface types {
            variant error { invalid-input(string), too-large(u64) }
        }

        interface counter {
            use types.{error};
            use streams.{input-stream};
            record info { key: string, size: u64 }
            increment: func(name: string, delta: u64) -> result<u64, error>;
            put: func(key: string, body: input-stream) -> result<info, error>;
        }

        interface config {
            get: func(key: string) -> option<string>;
        }

        world full {
            import config;
            import streams;
            import log: func(message: string);
            export types;
            export counter;
        }

        world one-import-fewer {
            import streams;
            import log: func(message: string);
            export types;
            export counter;
        }
    "#;

    fn summary_of(wit: &str, world: &str) -> WorldSummary {
        let mut resolve = Resolve::default();
        let package = resolve.push_str("test.wit", wit).expect("the WIT parses");
        let world = resolve
            .select_world(&[package], Some(world))
            .expect("the world exists");
        summarise(&resolve, world)
    }

    #[test]
    fn the_same_world_has_no_difference() {
        let full = summary_of(WIT, "full");
        assert_eq!(full.imports.len(), 3);
        assert_eq!(full.exports.len(), 2);
        assert_eq!(
            compare(&full, &summary_of(WIT, "full")),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_missing_import_is_a_difference_named_in_it() {
        let full = summary_of(WIT, "full");
        let fewer = summary_of(WIT, "one-import-fewer");
        let differences = compare(&full, &fewer);
        assert_eq!(differences.len(), 1, "{differences:?}");
        assert!(
            differences[0].contains("import `test:pkg/config@0.1.0`")
                && differences[0].contains("missing from cargo-component's"),
            "{differences:?}"
        );
        // And the other way round.
        let differences = compare(&fewer, &full);
        assert!(
            differences[0].contains("only in cargo-component's build"),
            "{differences:?}"
        );
    }

    #[test]
    fn a_changed_function_signature_is_a_difference() {
        let changed = WIT.replace(
            "increment: func(name: string, delta: u64)",
            "increment: func(name: string, delta: u32)",
        );
        assert_ne!(changed, WIT, "the signature was found and changed");
        let differences = compare(&summary_of(WIT, "full"), &summary_of(&changed, "full"));
        assert_eq!(differences.len(), 2, "{differences:?}");
        assert!(
            differences
                .iter()
                .all(|d| d.contains("export `test:pkg/counter@0.1.0`")),
            "{differences:?}"
        );
        assert!(
            differences
                .iter()
                .any(|d| d
                    .contains("cargo-component has `increment: func(name: string, delta: u32)")),
            "{differences:?}"
        );
    }

    #[test]
    fn a_changed_type_definition_is_a_difference_even_with_the_same_name() {
        let changed = WIT.replace("too-large(u64)", "too-large(u32)");
        assert_ne!(changed, WIT, "the variant case was found and changed");
        let differences = compare(&summary_of(WIT, "full"), &summary_of(&changed, "full"));
        assert!(
            differences.iter().any(
                |d| d.contains("export `test:pkg/types@0.1.0`") && d.contains("too-large(u32)")
            ),
            "{differences:?}"
        );
    }

    #[test]
    fn a_resource_method_signature_change_is_a_difference() {
        let changed = WIT.replace("read: func(len: u64)", "read: func(len: u32)");
        assert_ne!(changed, WIT, "the method was found and changed");
        let differences = compare(&summary_of(WIT, "full"), &summary_of(&changed, "full"));
        assert!(
            differences
                .iter()
                .any(|d| d.contains("import `test:pkg/streams@0.1.0`")
                    && d.contains("[method]input-stream.read")),
            "{differences:?}"
        );
    }

    #[test]
    fn crates_with_a_component_table_are_found_and_others_are_not() {
        let json = r#"{"packages": [
            {"name": "xtask", "manifest_path": "/w/xtask/Cargo.toml", "metadata": null},
            {"name": "rate-limiter", "manifest_path": "/w/examples/rate-limiter/Cargo.toml",
             "metadata": {"component": {"package": "edgeplug:rate-limiter"}}},
            {"name": "counter", "manifest_path": "/w/components/counter/Cargo.toml",
             "metadata": {"component": {"target": {"path": "../../wit"}}}},
            {"name": "other", "manifest_path": "/w/other/Cargo.toml",
             "metadata": {"docs": {"rs": {}}}}
        ]}"#;
        let crates = component_crates(json).expect("parses");
        assert_eq!(
            crates,
            vec![
                ComponentCrate {
                    name: "counter".into(),
                    dir: "/w/components/counter".into()
                },
                ComponentCrate {
                    name: "rate-limiter".into(),
                    dir: "/w/examples/rate-limiter".into()
                },
            ]
        );
        assert_eq!(crates[1].artifact(), "rate_limiter.wasm");
    }
}
