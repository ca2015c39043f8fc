//! Compiled workers kept on disk, so a second `serve` of the same worker
//! skips Cranelift and answers its first request sooner.
//!
//! An artifact is the output of [`Engine::precompile_component`], stored
//! under a name derived from the component's bytes and the engine's
//! settings ([`Engine::precompile_compatibility_hash`]): a rebuilt worker
//! or a different engine configuration looks for another file, so a stale
//! artifact is never found. Loading machine code is `unsafe` in Wasmtime
//! (it trusts the bytes), so an artifact is never trusted on its name
//! alone: each file carries a SHA-256 of its body, checked before Wasmtime
//! sees a byte; a file that fails the check, or that Wasmtime refuses, is
//! deleted and rebuilt. The folder is created private to the user
//! (mode 0700), and a folder others may write to is not used at all.

use std::hash::{Hash, Hasher};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// What every artifact file starts with, before its body's digest.
const MAGIC: &[u8; 16] = b"edgeplug-cwasm1\n";
/// The digest that follows [`MAGIC`].
const DIGEST_LEN: usize = 32;
/// Artifacts kept per folder: older ones (earlier builds of a worker) are
/// removed when a new one is written.
const KEEP_ARTIFACTS: usize = 16;
const EXTENSION: &str = "cwasm";

/// A folder of compiled workers. Cheap to create; the folder is made on
/// first write.
#[derive(Debug, Clone)]
pub struct CompiledCache {
    dir: PathBuf,
}

/// Where [`CompiledCache::load`] got a component from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArtifactSource {
    /// A valid artifact in the folder: nothing compiled.
    Cached,
    /// No artifact for this component and engine yet: compiled and stored.
    Compiled,
    /// An artifact was there but damaged or refused: deleted, compiled
    /// again and stored. The reason is for logs.
    Rebuilt(String),
    /// Compiled, but the artifact could not be stored (read-only folder, a
    /// folder others may write to): the component works, the next start
    /// compiles again. The reason is for logs.
    NotStored(String),
}

impl CompiledCache {
    /// A cache in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The component at `path`, from its artifact if a valid one is stored
    /// for `engine`, otherwise compiled (and stored for next time). Fails
    /// only when the component itself cannot be read or compiled: every
    /// problem with the cache is survived and reported in the source.
    pub fn load(
        &self,
        engine: &Engine,
        path: impl AsRef<Path>,
    ) -> anyhow::Result<(Component, ArtifactSource)> {
        let path = path.as_ref();
        let wasm = std::fs::read(path)
            .with_context(|| format!("cannot read component {}", path.display()))?;
        let artifact = self.artifact_path(engine, &wasm);
        let mut rebuilt = None;
        match std::fs::read(&artifact) {
            Ok(file) => match open_artifact(engine, &file) {
                Ok(component) => return Ok((component, ArtifactSource::Cached)),
                Err(why) => {
                    // Remove it first, so a failure below never leaves the
                    // damaged file to be tried again.
                    let _ = std::fs::remove_file(&artifact);
                    rebuilt = Some(why);
                }
            },
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => rebuilt = Some(format!("cannot read {}: {error}", artifact.display())),
        }
        let body = engine
            .precompile_component(&wasm)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("cannot compile component {}", path.display()))?;
        // SAFETY: `body` is what this engine produced a moment ago, in
        // memory; no file was involved.
        let component = unsafe { Component::deserialize(engine, &body) }
            .map_err(anyhow::Error::from)
            .with_context(|| format!("cannot load compiled component {}", path.display()))?;
        let source = match (self.store(&artifact, &body), rebuilt) {
            (Err(why), _) => ArtifactSource::NotStored(format!("{why:#}")),
            (Ok(()), Some(why)) => ArtifactSource::Rebuilt(why),
            (Ok(()), None) => ArtifactSource::Compiled,
        };
        Ok((component, source))
    }

    /// The file an artifact of `wasm` for `engine` lives in: named by a
    /// digest of both, so any change to either names another file.
    pub fn artifact_path(&self, engine: &Engine, wasm: &[u8]) -> PathBuf {
        let mut key = DigestHasher(Sha256::new());
        engine.precompile_compatibility_hash().hash(&mut key);
        key.0.update(Sha256::digest(wasm));
        let name = hex::encode(key.0.finalize());
        self.dir.join(format!("{name}.{EXTENSION}"))
    }

    /// Writes `body` to `artifact` whole or not at all (a temporary file
    /// renamed into place), then prunes old artifacts.
    fn store(&self, artifact: &Path, body: &[u8]) -> anyhow::Result<()> {
        create_private_dir(&self.dir)?;
        let mut temp = tempfile::Builder::new()
            .prefix(".artifact-")
            .tempfile_in(&self.dir)
            .with_context(|| format!("cannot write in {}", self.dir.display()))?;
        temp.write_all(MAGIC)?;
        temp.write_all(&Sha256::digest(body))?;
        temp.write_all(body)?;
        temp.as_file().sync_all()?;
        temp.persist(artifact)
            .map_err(|e| e.error)
            .with_context(|| format!("cannot store {}", artifact.display()))?;
        self.prune(artifact);
        Ok(())
    }

    /// Keeps the newest [`KEEP_ARTIFACTS`] artifacts (and always `keep`).
    fn prune(&self, keep: &Path) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let mut artifacts: Vec<_> = entries
            .flatten()
            .filter(|entry| entry.path().extension().is_some_and(|e| e == EXTENSION))
            .filter(|entry| entry.path() != keep)
            .filter_map(|entry| {
                let modified = entry.metadata().and_then(|m| m.modified()).ok()?;
                Some((modified, entry.path()))
            })
            .collect();
        artifacts.sort_by_key(|(modified, _)| std::cmp::Reverse(*modified));
        for (_, old) in artifacts.into_iter().skip(KEEP_ARTIFACTS.saturating_sub(1)) {
            let _ = std::fs::remove_file(old);
        }
    }
}

/// Checks an artifact file's framing and digest, then hands its body to
/// Wasmtime (which checks the engine settings again).
fn open_artifact(engine: &Engine, file: &[u8]) -> Result<Component, String> {
    let rest = file
        .strip_prefix(MAGIC.as_slice())
        .ok_or("not an edgeplug artifact")?;
    if rest.len() < DIGEST_LEN {
        return Err("truncated artifact".into());
    }
    let (digest, body) = rest.split_at(DIGEST_LEN);
    if Sha256::digest(body).as_slice() != digest {
        return Err("artifact does not match its digest".into());
    }
    // SAFETY: the body is byte for byte what `Engine::precompile_component`
    // wrote (its SHA-256 matched), into a folder only this user may write,
    // under a name that includes this engine's compatibility hash; Wasmtime
    // checks that hash again inside.
    unsafe { Component::deserialize(engine, body) }.map_err(|e| format!("refused: {e:#}"))
}

/// Creates `dir` (and its parents) private to this user; refuses one that
/// other users may write to, since they could plant code in it.
fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .with_context(|| format!("cannot create {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir)?.permissions().mode();
        anyhow::ensure!(
            mode & 0o022 == 0,
            "{} is writable by other users (mode {:o}); not storing compiled code there",
            dir.display(),
            mode & 0o777
        );
    }
    Ok(())
}

/// Feeds what a [`Hash`] impl writes into SHA-256, so the engine's
/// compatibility hash becomes a stable file name (std's hashers are not
/// meant to be stable across runs).
struct DigestHasher(Sha256);

impl Hasher for DigestHasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    fn finish(&self) -> u64 {
        // Unused: the digest is read with `finalize` instead.
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small component with real code in it, as text (wasmtime's `wat`
    /// feature compiles text as well as binary).
    const COMPONENT: &str = r#"(component
        (core module $m (func (export "answer") (result i32) i32.const 42))
        (core instance $i (instantiate $m))
        (func (export "answer") (result s32) (canon lift (core func $i "answer"))))"#;

    fn engine() -> Engine {
        Engine::default()
    }

    fn setup() -> anyhow::Result<(tempfile::TempDir, PathBuf, CompiledCache)> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("worker.wasm");
        std::fs::write(&path, COMPONENT)?;
        let cache = CompiledCache::new(dir.path().join("compiled"));
        Ok((dir, path, cache))
    }

    fn answer(engine: &Engine, component: &Component) -> anyhow::Result<i32> {
        let mut store = wasmtime::Store::new(engine, ());
        let linker = wasmtime::component::Linker::new(engine);
        let instance = linker.instantiate(&mut store, component)?;
        let func = instance.get_typed_func::<(), (i32,)>(&mut store, "answer")?;
        Ok(func.call(&mut store, ())?.0)
    }

    fn artifact(cache: &CompiledCache, engine: &Engine, path: &Path) -> anyhow::Result<PathBuf> {
        Ok(cache.artifact_path(engine, &std::fs::read(path)?))
    }

    #[test]
    fn the_first_load_compiles_and_the_second_reads_the_artifact() -> anyhow::Result<()> {
        let (_dir, path, cache) = setup()?;
        let engine = engine();
        let (first, source) = cache.load(&engine, &path)?;
        assert_eq!(source, ArtifactSource::Compiled);
        assert_eq!(answer(&engine, &first)?, 42);
        assert!(artifact(&cache, &engine, &path)?.is_file());
        let (second, source) = cache.load(&engine, &path)?;
        assert_eq!(source, ArtifactSource::Cached);
        assert_eq!(answer(&engine, &second)?, 42);
        Ok(())
    }

    #[test]
    fn a_corrupt_artifact_is_deleted_and_rebuilt_not_run() -> anyhow::Result<()> {
        let (_dir, path, cache) = setup()?;
        let engine = engine();
        cache.load(&engine, &path)?;
        let file = artifact(&cache, &engine, &path)?;
        let mut bytes = std::fs::read(&file)?;
        // Flip one bit in the machine code, past the framing and digest.
        let last = bytes.len() - 1;
        bytes[last] ^= 0x01;
        std::fs::write(&file, &bytes)?;

        let (component, source) = cache.load(&engine, &path)?;
        assert!(
            matches!(&source, ArtifactSource::Rebuilt(why) if why.contains("digest")),
            "{source:?}"
        );
        assert_eq!(answer(&engine, &component)?, 42);
        // The damaged file was replaced by a good one.
        assert_eq!(cache.load(&engine, &path)?.1, ArtifactSource::Cached);
        Ok(())
    }

    #[test]
    fn a_truncated_or_foreign_artifact_is_rebuilt() -> anyhow::Result<()> {
        let (_dir, path, cache) = setup()?;
        let engine = engine();
        cache.load(&engine, &path)?;
        let file = artifact(&cache, &engine, &path)?;
        let whole = std::fs::read(&file)?;

        std::fs::write(&file, &whole[..MAGIC.len() + 10])?;
        let (_, source) = cache.load(&engine, &path)?;
        assert!(matches!(source, ArtifactSource::Rebuilt(_)), "{source:?}");

        // A file that is not ours at all (say, a bare wasmtime .cwasm).
        std::fs::write(&file, &whole[MAGIC.len() + DIGEST_LEN..])?;
        let (component, source) = cache.load(&engine, &path)?;
        assert!(
            matches!(&source, ArtifactSource::Rebuilt(why) if why.contains("not an edgeplug")),
            "{source:?}"
        );
        assert_eq!(answer(&engine, &component)?, 42);
        Ok(())
    }

    #[test]
    fn a_valid_artifact_under_the_wrong_name_is_refused_by_wasmtime() -> anyhow::Result<()> {
        let (_dir, path, cache) = setup()?;
        // An artifact from an engine with other settings, put where this
        // engine's artifact would be: the digest matches, the settings do not.
        let mut config = wasmtime::Config::new();
        config.epoch_interruption(true);
        let other = Engine::new(&config)?;
        cache.load(&other, &path)?;
        let engine = engine();
        std::fs::rename(
            artifact(&cache, &other, &path)?,
            artifact(&cache, &engine, &path)?,
        )?;
        let (component, source) = cache.load(&engine, &path)?;
        assert!(
            matches!(&source, ArtifactSource::Rebuilt(why) if why.contains("refused")),
            "{source:?}"
        );
        assert_eq!(answer(&engine, &component)?, 42);
        Ok(())
    }

    #[test]
    fn other_engine_settings_or_other_bytes_look_for_another_file() -> anyhow::Result<()> {
        let (dir, path, cache) = setup()?;
        let engine = engine();
        let mut config = wasmtime::Config::new();
        config.epoch_interruption(true);
        let other = Engine::new(&config)?;
        let wasm = std::fs::read(&path)?;
        assert_ne!(
            cache.artifact_path(&engine, &wasm),
            cache.artifact_path(&other, &wasm)
        );
        let changed = dir.path().join("changed.wasm");
        std::fs::write(&changed, COMPONENT.replace("i32.const 42", "i32.const 7"))?;
        assert_ne!(
            artifact(&cache, &engine, &path)?,
            artifact(&cache, &engine, &changed)?
        );
        cache.load(&engine, &path)?;
        let (component, source) = cache.load(&engine, &changed)?;
        assert_eq!(source, ArtifactSource::Compiled);
        assert_eq!(answer(&engine, &component)?, 7);
        Ok(())
    }

    #[cfg(unix)]
    #[test]
    fn a_folder_others_can_write_to_is_not_used() -> anyhow::Result<()> {
        use std::os::unix::fs::PermissionsExt as _;
        let (_dir, path, cache) = setup()?;
        std::fs::create_dir(cache.dir())?;
        std::fs::set_permissions(cache.dir(), std::fs::Permissions::from_mode(0o777))?;
        let engine = engine();
        let (component, source) = cache.load(&engine, &path)?;
        assert!(
            matches!(&source, ArtifactSource::NotStored(why) if why.contains("writable by other users")),
            "{source:?}"
        );
        assert_eq!(answer(&engine, &component)?, 42);
        assert!(!artifact(&cache, &engine, &path)?.exists());
        Ok(())
    }

    #[test]
    fn old_artifacts_are_pruned_to_the_newest() -> anyhow::Result<()> {
        let (dir, _path, cache) = setup()?;
        let engine = engine();
        for n in 0..KEEP_ARTIFACTS + 3 {
            let path = dir.path().join(format!("w{n}.wasm"));
            std::fs::write(
                &path,
                COMPONENT.replace("i32.const 42", &format!("i32.const {n}")),
            )?;
            cache.load(&engine, &path)?;
        }
        let kept = std::fs::read_dir(cache.dir())?
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == EXTENSION))
            .count();
        assert_eq!(kept, KEEP_ARTIFACTS);
        Ok(())
    }
}
