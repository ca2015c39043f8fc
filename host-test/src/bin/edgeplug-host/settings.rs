//! `serve`'s settings: command-line flags over a TOML config file over
//! defaults.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, ValueEnum};
use host_test::Allocator;
use serde::Deserialize;

/// Which composed worker runs, and which platform the host plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Flavor {
    /// `worker.wasm` on plain `wasi:keyvalue` and `wasi:config`.
    Portable,
    /// `worker-fastedge.wasm` on fakes of Gcore FastEdge's host interfaces:
    /// counters in the PoP's `cache-sync`, config in env vars and secrets.
    Fastedge,
}

impl Flavor {
    /// The flavor's name, as on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Flavor::Portable => "portable",
            Flavor::Fastedge => "fastedge",
        }
    }

    fn default_component(self) -> &'static str {
        match self {
            Flavor::Portable => "target/edgeplug/worker.wasm",
            Flavor::Fastedge => "target/edgeplug/worker-fastedge.wasm",
        }
    }
}

/// The instance allocator, as a flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AllocatorFlag {
    /// The pooling allocator, falling back to on-demand where the machine
    /// refuses its address-space reservation.
    Pooling,
    /// Fresh allocations for every instance.
    OnDemand,
}

impl From<AllocatorFlag> for Allocator {
    fn from(flag: AllocatorFlag) -> Self {
        match flag {
            AllocatorFlag::Pooling => Allocator::Pooling,
            AllocatorFlag::OnDemand => Allocator::OnDemand,
        }
    }
}

/// `edgeplug-host serve`'s flags. Each one left out comes from the config
/// file, and failing that from its default.
#[derive(Debug, Parser)]
pub struct ServeArgs {
    /// A TOML file with any of these settings (kebab-case keys) and a
    /// `[config]` table of worker config; flags override it.
    #[arg(long)]
    pub config_file: Option<PathBuf>,
    /// Which worker to run and which platform to play.
    #[arg(long, value_enum)]
    pub flavor: Option<Flavor>,
    /// The component to serve (any component exporting
    /// wasi:http/incoming-handler) [default: the flavor's composed worker]
    #[arg(long)]
    pub component: Option<PathBuf>,
    /// Where the worker listens [default: 127.0.0.1:8080]
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Where the local S3-compatible store listens [default: 127.0.0.1:9000]
    #[arg(long)]
    pub s3_listen: Option<SocketAddr>,
    /// The KV store: `memory`, a redb file path (counts survive restarts),
    /// or `redis://host:port` to share one store between hosts
    /// [default: .edgeplug-data/kv.redb]
    #[arg(long)]
    pub kv: Option<String>,
    /// The folder the local store keeps objects in [default: .edgeplug-data/s3]
    #[arg(long)]
    pub s3_data: Option<PathBuf>,
    /// The bucket uploads go to, created if missing [default: uploads]
    #[arg(long)]
    pub bucket: Option<String>,
    /// The local store's access key id [default: edgeplug-local]
    #[arg(long)]
    pub s3_access_key_id: Option<String>,
    /// The local store's secret key [default: random for each run]
    #[arg(long, env = "EDGEPLUG_S3_SECRET", hide_env_values = true)]
    pub s3_secret_access_key: Option<String>,
    /// How long a request may run before the host answers 504 and tears the
    /// instance down, in ms; 0 for no limit [default: 120000]
    #[arg(long)]
    pub request_timeout_ms: Option<u64>,
    /// The most linear memory each guest memory may grow to, in MiB
    /// [default: 256]
    #[arg(long)]
    pub max_memory_mib: Option<usize>,
    /// How many requests run at once; more wait for a slot [default: 128]
    #[arg(long)]
    pub max_concurrent_requests: Option<usize>,
    /// How long a request waits for a slot before a 503, in ms [default: 5000]
    #[arg(long)]
    pub queue_timeout_ms: Option<u64>,
    /// On Ctrl-C or SIGTERM, how long in-flight requests get to finish, in
    /// ms [default: 30000]
    #[arg(long)]
    pub drain_timeout_ms: Option<u64>,
    /// How instances are allocated [default: pooling]
    #[arg(long, value_enum)]
    pub allocator: Option<AllocatorFlag>,
    /// Worker config, KEY=VALUE (repeatable); overrides the config file's
    /// `[config]` and the defaults.
    #[arg(long = "config", value_parser = host_test::ConfigValues::parse_assignment)]
    pub config: Vec<(String, String)>,
}

/// The config file: the same settings as the flags, plus `[config]`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct FileSettings {
    flavor: Option<Flavor>,
    component: Option<PathBuf>,
    listen: Option<SocketAddr>,
    s3_listen: Option<SocketAddr>,
    kv: Option<String>,
    s3_data: Option<PathBuf>,
    bucket: Option<String>,
    s3_access_key_id: Option<String>,
    s3_secret_access_key: Option<String>,
    request_timeout_ms: Option<u64>,
    max_memory_mib: Option<usize>,
    max_concurrent_requests: Option<usize>,
    queue_timeout_ms: Option<u64>,
    drain_timeout_ms: Option<u64>,
    allocator: Option<AllocatorFlag>,
    #[serde(default)]
    config: BTreeMap<String, String>,
}

impl FileSettings {
    fn read(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("bad config file {}", path.display()))
    }
}

/// Everything `serve` runs with, resolved.
#[derive(Debug)]
pub struct Settings {
    /// Which worker and platform.
    pub flavor: Flavor,
    /// The component file.
    pub component: PathBuf,
    /// The worker's address.
    pub listen: SocketAddr,
    /// The local S3 store's address.
    pub s3_listen: SocketAddr,
    /// The KV store spec (`memory`, a path, or a Redis URL).
    pub kv: String,
    /// The local S3 store's data folder.
    pub s3_data: PathBuf,
    /// The upload bucket.
    pub bucket: String,
    /// The local store's access key id.
    pub s3_access_key_id: String,
    /// The local store's secret key, if given.
    pub s3_secret_access_key: Option<String>,
    /// The request deadline (`None`: no limit).
    pub request_timeout: Option<Duration>,
    /// The per-memory cap, in bytes.
    pub max_memory_bytes: usize,
    /// Requests at once.
    pub max_concurrent_requests: usize,
    /// The wait for a slot.
    pub queue_timeout: Duration,
    /// The drain on shutdown.
    pub drain_timeout: Duration,
    /// The instance allocator to try.
    pub allocator: Allocator,
    /// Worker config from the file and flags, flags last.
    pub config: Vec<(String, String)>,
}

impl Settings {
    /// Flags over the config file (if any) over defaults.
    pub fn resolve(args: ServeArgs) -> anyhow::Result<Self> {
        let file = match &args.config_file {
            Some(path) => FileSettings::read(path)?,
            None => FileSettings::default(),
        };
        let flavor = args.flavor.or(file.flavor).unwrap_or(Flavor::Portable);
        let max_concurrent_requests = args
            .max_concurrent_requests
            .or(file.max_concurrent_requests)
            .unwrap_or(128);
        anyhow::ensure!(
            max_concurrent_requests > 0,
            "max-concurrent-requests must be at least 1"
        );
        let max_memory_mib = args.max_memory_mib.or(file.max_memory_mib).unwrap_or(256);
        anyhow::ensure!(max_memory_mib > 0, "max-memory-mib must be at least 1");
        let request_timeout_ms = args
            .request_timeout_ms
            .or(file.request_timeout_ms)
            .unwrap_or(120_000);
        let mut config: Vec<_> = file.config.into_iter().collect();
        config.extend(args.config);
        Ok(Self {
            flavor,
            component: args
                .component
                .or(file.component)
                .unwrap_or_else(|| flavor.default_component().into()),
            listen: args
                .listen
                .or(file.listen)
                .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 8080))),
            s3_listen: args
                .s3_listen
                .or(file.s3_listen)
                .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 9000))),
            kv: args
                .kv
                .or(file.kv)
                .unwrap_or_else(|| ".edgeplug-data/kv.redb".into()),
            s3_data: args
                .s3_data
                .or(file.s3_data)
                .unwrap_or_else(|| ".edgeplug-data/s3".into()),
            bucket: args
                .bucket
                .or(file.bucket)
                .unwrap_or_else(|| "uploads".into()),
            s3_access_key_id: args
                .s3_access_key_id
                .or(file.s3_access_key_id)
                .unwrap_or_else(|| "edgeplug-local".into()),
            s3_secret_access_key: args.s3_secret_access_key.or(file.s3_secret_access_key),
            request_timeout: (request_timeout_ms > 0)
                .then(|| Duration::from_millis(request_timeout_ms)),
            max_memory_bytes: max_memory_mib.saturating_mul(1024 * 1024),
            max_concurrent_requests,
            queue_timeout: Duration::from_millis(
                args.queue_timeout_ms
                    .or(file.queue_timeout_ms)
                    .unwrap_or(5_000),
            ),
            drain_timeout: Duration::from_millis(
                args.drain_timeout_ms
                    .or(file.drain_timeout_ms)
                    .unwrap_or(30_000),
            ),
            allocator: args
                .allocator
                .or(file.allocator)
                .unwrap_or(AllocatorFlag::Pooling)
                .into(),
            config,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(extra: &[&str]) -> ServeArgs {
        let mut argv = vec!["serve"];
        argv.extend_from_slice(extra);
        ServeArgs::parse_from(argv)
    }

    fn file(text: &str) -> anyhow::Result<(tempfile::TempDir, String)> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("edgeplug.toml");
        std::fs::write(&path, text)?;
        let path = path.display().to_string();
        Ok((dir, path))
    }

    #[test]
    fn defaults_apply_without_flags_or_file() -> anyhow::Result<()> {
        let settings = Settings::resolve(args(&[]))?;
        assert_eq!(settings.flavor, Flavor::Portable);
        assert_eq!(settings.component, Path::new("target/edgeplug/worker.wasm"));
        assert_eq!(settings.listen.port(), 8080);
        assert_eq!(settings.kv, ".edgeplug-data/kv.redb");
        assert_eq!(settings.request_timeout, Some(Duration::from_secs(120)));
        assert_eq!(settings.allocator, Allocator::Pooling);
        Ok(())
    }

    #[test]
    fn the_fastedge_flavor_serves_the_fastedge_worker() -> anyhow::Result<()> {
        let settings = Settings::resolve(args(&["--flavor", "fastedge"]))?;
        assert_eq!(
            settings.component,
            Path::new("target/edgeplug/worker-fastedge.wasm")
        );
        Ok(())
    }

    #[test]
    fn flags_override_the_file_and_the_file_overrides_defaults() -> anyhow::Result<()> {
        let (_dir, path) = file(
            r#"
            listen = "127.0.0.1:7000"
            kv = "memory"
            request-timeout-ms = 0
            [config]
            kv-bucket = "from-file"
            counter-prefix = "file"
            "#,
        )?;
        let settings = Settings::resolve(args(&[
            "--config-file",
            &path,
            "--kv",
            "redis://127.0.0.1:6379",
            "--config",
            "kv-bucket=from-flag",
        ]))?;
        assert_eq!(settings.listen.port(), 7000);
        assert_eq!(settings.kv, "redis://127.0.0.1:6379");
        assert_eq!(settings.request_timeout, None);
        // Later entries win when the config is applied in order.
        assert_eq!(
            settings.config,
            vec![
                ("counter-prefix".into(), "file".into()),
                ("kv-bucket".into(), "from-file".into()),
                ("kv-bucket".into(), "from-flag".into()),
            ]
        );
        Ok(())
    }

    #[test]
    fn an_unknown_key_in_the_file_is_an_error_naming_it() -> anyhow::Result<()> {
        let (_dir, path) = file("listn = \"127.0.0.1:7000\"\n")?;
        let error = Settings::resolve(args(&["--config-file", &path]))
            .expect_err("a misspelt key must not be ignored");
        let message = format!("{error:#}");
        assert!(message.contains("listn"), "{message}");
        assert!(message.contains("edgeplug.toml"), "{message}");
        Ok(())
    }

    #[test]
    fn a_missing_file_is_an_error_naming_it() {
        let error = Settings::resolve(args(&["--config-file", "/nonexistent/edgeplug.toml"]))
            .expect_err("a missing config file must fail");
        assert!(format!("{error:#}").contains("/nonexistent/edgeplug.toml"));
    }

    #[test]
    fn zero_concurrency_is_refused() {
        assert!(Settings::resolve(args(&["--max-concurrent-requests", "0"])).is_err());
    }
}
