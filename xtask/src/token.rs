//! The local upload token `cargo xtask serve` makes, so that the served
//! worker is write-protected out of the box (writes fail closed without a
//! token) and still usable: the token sits in `.edgeplug-data/upload-token`,
//! readable by its owner only, and `edgeplug-host serve` gets it through the
//! environment (`EDGEPLUG_UPLOAD_TOKEN`), never on a command line that `ps`
//! would show. The token itself is never printed.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

/// The environment variable `edgeplug-host serve` reads the token from.
pub const ENV_VAR: &str = "EDGEPLUG_UPLOAD_TOKEN";
/// The token file, relative to the workspace root.
pub const RELATIVE_PATH: &str = ".edgeplug-data/upload-token";

/// Random bytes in a token: 256 bits.
const TOKEN_BYTES: usize = 32;

/// The token in `root/.edgeplug-data/upload-token`: the one there when it
/// holds one (so clients keep working across restarts), else a new random
/// one written there. Either way the file ends up mode 0600.
pub fn ensure(root: &Path) -> anyhow::Result<(PathBuf, String)> {
    ensure_at(root.join(RELATIVE_PATH))
}

/// The token in the file `path`, made as [`ensure`] makes the upload token:
/// kept when there, else new and random; mode 0600 either way.
pub fn ensure_at(path: PathBuf) -> anyhow::Result<(PathBuf, String)> {
    if let Some(token) = read_existing(&path)? {
        restrict(&path)?;
        return Ok((path, token));
    }
    let dir = path.parent().context("the token path has a folder")?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let token = generate()?;
    write_private(&path, &token)?;
    Ok((path, token))
}

/// The one line telling the user where the token is and how to send it to
/// the worker at `listen` (`host:port`).
pub fn usage_line(path: &Path, listen: &str) -> String {
    format!(
        "xtask: writes need the upload token kept in {} (readable by you only); from the \
         workspace root: curl -H \"Authorization: Bearer $(cat {RELATIVE_PATH})\" -T file \
         http://{listen}/objects/file",
        path.display()
    )
}

/// Where `edgeplug-host serve` will listen: the `--listen` among `args`
/// (`--listen ADDR` or `--listen=ADDR`), else its default.
pub fn listen_address(args: &[String]) -> &str {
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if arg == "--listen" {
            if let Some(value) = args.next() {
                return value;
            }
        } else if let Some(value) = arg.strip_prefix("--listen=") {
            return value;
        }
    }
    "127.0.0.1:8080"
}

/// The token in `path`, trimmed; `None` when the file is missing or blank.
fn read_existing(path: &Path) -> anyhow::Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let token = text.trim();
            Ok((!token.is_empty()).then(|| token.to_owned()))
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// A new token: [`TOKEN_BYTES`] bytes from the operating system's random
/// source, as lowercase hex (safe in a header and a shell).
fn generate() -> anyhow::Result<String> {
    let mut bytes = [0u8; TOKEN_BYTES];
    random_bytes(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(unix)]
fn random_bytes(buf: &mut [u8]) -> anyhow::Result<()> {
    use std::io::Read as _;
    std::fs::File::open("/dev/urandom")
        .and_then(|mut random| random.read_exact(buf))
        .context("cannot read /dev/urandom for the upload token")
}

#[cfg(not(unix))]
fn random_bytes(_buf: &mut [u8]) -> anyhow::Result<()> {
    anyhow::bail!(
        "cargo xtask serve makes its upload token on Unix only; set {ENV_VAR} yourself \
         and run edgeplug-host serve"
    )
}

/// Writes `token` to a new file that only its owner can read, replacing a
/// blank one. The mode is set at creation, so the token is never readable
/// by others, not even briefly.
#[cfg(unix)]
fn write_private(path: &Path, token: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    // `mode` applies only to a file this call creates: a blank one left
    // behind keeps its own, so set it either way.
    restrict(path)?;
    writeln!(file, "{token}").with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(not(unix))]
fn write_private(_path: &Path, _token: &str) -> anyhow::Result<()> {
    anyhow::bail!("cargo xtask serve keeps its upload token on Unix only")
}

/// Makes `path` readable and writable by its owner only.
#[cfg(unix)]
fn restrict(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("cannot make {} private", path.display()))
}

#[cfg(not(unix))]
fn restrict(_path: &Path) -> anyhow::Result<()> {
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// A fresh folder under the system's temporary one, removed on drop.
    struct TempRoot(PathBuf);

    impl TempRoot {
        fn new() -> Self {
            static NEXT: AtomicU32 = AtomicU32::new(0);
            let path = std::env::temp_dir().join(format!(
                "xtask-token-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&path).unwrap();
            Self(path)
        }

        fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for TempRoot {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_new_token_is_random_hex_in_an_owner_only_file() {
        let root = TempRoot::new();
        let (path, token) = ensure(root.path()).unwrap();
        assert_eq!(path, root.path().join(".edgeplug-data/upload-token"));
        assert_eq!(token.len(), 64);
        assert!(token.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(mode(&path), 0o600);
        assert_eq!(std::fs::read_to_string(&path).unwrap().trim(), token);
        let other = TempRoot::new();
        assert_ne!(ensure(other.path()).unwrap().1, token);
    }

    #[test]
    fn an_existing_token_is_reused_and_made_private() {
        let root = TempRoot::new();
        let (path, first) = ensure(root.path()).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let (_, second) = ensure(root.path()).unwrap();
        assert_eq!(first, second);
        assert_eq!(mode(&path), 0o600);
    }

    #[test]
    fn a_blank_token_file_is_replaced() {
        let root = TempRoot::new();
        let path = root.path().join(RELATIVE_PATH);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let (_, token) = ensure(root.path()).unwrap();
        assert_eq!(token.len(), 64);
        assert_eq!(mode(&path), 0o600);
    }

    #[test]
    fn the_usage_line_says_where_and_how_but_not_the_token() {
        let root = TempRoot::new();
        let (path, token) = ensure(root.path()).unwrap();
        let line = usage_line(&path, "127.0.0.1:8080");
        assert!(!line.contains(&token));
        assert!(line.contains(&path.display().to_string()));
        assert!(line.contains(
            "curl -H \"Authorization: Bearer $(cat .edgeplug-data/upload-token)\" -T file \
             http://127.0.0.1:8080/objects/file"
        ));
        assert!(!line.contains('\n'));
    }

    #[test]
    fn the_usage_line_follows_the_listen_flag() {
        let args = |list: &[&str]| list.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>();
        assert_eq!(listen_address(&args(&[])), "127.0.0.1:8080");
        assert_eq!(
            listen_address(&args(&["--kv", "memory", "--listen", "0.0.0.0:9999"])),
            "0.0.0.0:9999"
        );
        assert_eq!(
            listen_address(&args(&["--listen=127.0.0.1:1"])),
            "127.0.0.1:1"
        );
        assert_eq!(listen_address(&args(&["--listen"])), "127.0.0.1:8080");
        let line = usage_line(Path::new("/x"), "0.0.0.0:9999");
        assert!(
            line.ends_with("-T file http://0.0.0.0:9999/objects/file"),
            "{line}"
        );
    }
}
