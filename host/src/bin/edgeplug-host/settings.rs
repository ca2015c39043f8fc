//! `serve`'s settings: command-line flags over a TOML config file over
//! defaults.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, ValueEnum};
use edgeplug_host::{Allocator, InstanceReuse};
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
    /// `worker-global.wasm` on a plain wasi-http host (no `wasi:keyvalue`
    /// linked, as `wasmtime serve`): counters in a central store reached
    /// over the Redis REST protocol (`kv-rest-url`, `kv-rest-token`).
    Global,
    /// `worker-fastedge-global.wasm` on the FastEdge fakes: counters in a
    /// central store over the Redis REST protocol, config in env vars and
    /// secrets.
    FastedgeGlobal,
}

impl Flavor {
    /// The flavor's name, as on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Flavor::Portable => "portable",
            Flavor::Fastedge => "fastedge",
            Flavor::Global => "global",
            Flavor::FastedgeGlobal => "fastedge-global",
        }
    }

    fn default_component(self) -> &'static str {
        match self {
            Flavor::Portable => "target/edgeplug/worker.wasm",
            Flavor::Fastedge => "target/edgeplug/worker-fastedge.wasm",
            Flavor::Global => "target/edgeplug/worker-global.wasm",
            Flavor::FastedgeGlobal => "target/edgeplug/worker-fastedge-global.wasm",
        }
    }

    /// Whether the flavor keeps its counters in a central store over the
    /// Redis REST protocol.
    pub fn is_global(self) -> bool {
        matches!(self, Flavor::Global | Flavor::FastedgeGlobal)
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
    /// Another browser origin whose pages may call the local store (CORS),
    /// as `http://localhost:3000` (repeatable); the worker's own origin is
    /// always allowed
    #[arg(long = "s3-cors-origin", value_name = "ORIGIN", value_parser = parse_origin)]
    pub s3_cors_origins: Vec<String>,
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
    /// The folder compiled workers are kept in, so the next start of the
    /// same worker skips compiling it; `off` compiles every time
    /// [default: .edgeplug-data/compiled]
    #[arg(long, value_name = "DIR|off")]
    pub compiled_cache: Option<PathBuf>,
    /// How many requests one instance may answer, one after another; 1 is
    /// a fresh instance per request. Reuse lets a guest's own globals
    /// outlive a request: only for code you trust (docs/serve.md)
    /// [default: 1]
    #[arg(long)]
    pub requests_per_instance: Option<u32>,
    /// With reuse, how long an instance may wait for its next request
    /// before it is dropped, in ms [default: 30000]
    #[arg(long)]
    pub instance_idle_timeout_ms: Option<u64>,
    /// With reuse, how much an instance's memory may have grown since it
    /// started and still be reused, in MiB [default: 64]
    #[arg(long)]
    pub reuse_max_memory_growth_mib: Option<usize>,
    /// Worker config, KEY=VALUE (repeatable); overrides the config file's
    /// `[config]` and the defaults.
    #[arg(long = "config", value_parser = edgeplug_host::ConfigValues::parse_assignment)]
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
    #[serde(default)]
    s3_cors_origins: Vec<String>,
    request_timeout_ms: Option<u64>,
    max_memory_mib: Option<usize>,
    max_concurrent_requests: Option<usize>,
    queue_timeout_ms: Option<u64>,
    drain_timeout_ms: Option<u64>,
    allocator: Option<AllocatorFlag>,
    compiled_cache: Option<PathBuf>,
    requests_per_instance: Option<u32>,
    instance_idle_timeout_ms: Option<u64>,
    reuse_max_memory_growth_mib: Option<usize>,
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
    /// The browser origins the local store allows besides the worker's own
    /// ([`worker_origins`]): the file's, then the flags', each once.
    pub s3_cors_origins: Vec<String>,
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
    /// Where compiled workers are kept (`None`: compile at every start).
    pub compiled_cache: Option<PathBuf>,
    /// When an instance may answer more than one request (off unless
    /// `requests-per-instance` is above 1).
    pub instance_reuse: InstanceReuse,
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
        let requests_per_instance = args
            .requests_per_instance
            .or(file.requests_per_instance)
            .unwrap_or(1);
        anyhow::ensure!(
            requests_per_instance > 0,
            "requests-per-instance must be at least 1 (1: a fresh instance per request)"
        );
        let instance_reuse = InstanceReuse::up_to(requests_per_instance)
            .with_idle_timeout(Duration::from_millis(
                args.instance_idle_timeout_ms
                    .or(file.instance_idle_timeout_ms)
                    .unwrap_or(30_000),
            ))
            .with_max_memory_growth(
                args.reuse_max_memory_growth_mib
                    .or(file.reuse_max_memory_growth_mib)
                    .unwrap_or(64)
                    .saturating_mul(1024 * 1024),
            )
            // Each request at once may leave one instance behind.
            .with_max_idle(max_concurrent_requests);
        let mut config: Vec<_> = file.config.into_iter().collect();
        config.extend(args.config);
        let from_file = file
            .s3_cors_origins
            .iter()
            .map(|origin| {
                parse_origin(origin).map_err(|why| {
                    let path = args.config_file.as_deref().unwrap_or(Path::new(""));
                    anyhow::anyhow!("bad config file {}: s3-cors-origins: {why}", path.display())
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let s3_cors_origins = each_once(
            Vec::new(),
            from_file.into_iter().chain(args.s3_cors_origins),
        );
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
            s3_cors_origins,
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
            compiled_cache: Some(
                args.compiled_cache
                    .or(file.compiled_cache)
                    .unwrap_or_else(|| ".edgeplug-data/compiled".into()),
            )
            .filter(|dir| dir != Path::new("off")),
            instance_reuse,
            config,
        })
    }

    /// Every origin the local store allows when the worker listens on
    /// `worker`: the worker's own ([`worker_origins`]), then the configured
    /// ones, each once.
    pub fn store_origins(&self, worker: SocketAddr) -> Vec<String> {
        each_once(worker_origins(worker), self.s3_cors_origins.iter().cloned())
    }
}

/// Checks a browser origin, `scheme://host[:port]` with `http` or `https`,
/// and writes it as a browser sends it in `Origin`: scheme and host in
/// lower case, no default port. The local store compares origins exactly,
/// so anything else could never match.
pub fn parse_origin(text: &str) -> Result<String, String> {
    let bad = |why: &str| {
        format!(
            "bad origin {text:?}: {why} (an origin is scheme://host[:port], as http://localhost:3000)"
        )
    };
    let (scheme, rest) = text.split_once("://").ok_or_else(|| bad("no scheme"))?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => 80,
        "https" => 443,
        _ => return Err(bad("the scheme must be http or https")),
    };
    if rest.contains(['/', '?', '#']) {
        return Err(bad("an origin has no path, query or fragment"));
    }
    if rest.contains('@') {
        return Err(bad("an origin has no user name"));
    }
    let (host, port) = if let Some(bracketed) = rest.strip_prefix('[') {
        let (address, after) = bracketed
            .split_once(']')
            .ok_or_else(|| bad("an IPv6 address needs its closing `]`"))?;
        address
            .parse::<Ipv6Addr>()
            .map_err(|_| bad("not an IPv6 address between `[` and `]`"))?;
        let port = match after {
            "" => None,
            _ => Some(
                after
                    .strip_prefix(':')
                    .ok_or_else(|| bad("only a `:port` may follow the host"))?,
            ),
        };
        (format!("[{}]", address.to_ascii_lowercase()), port)
    } else {
        let (host, port) = match rest.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (rest, None),
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        if !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        {
            return Err(bad("a host is letters, digits, `-` and `.`"));
        }
        (host.to_ascii_lowercase(), port)
    };
    let port = match port {
        None => None,
        Some(port) => match port.parse::<u16>() {
            Ok(0) | Err(_) => return Err(bad("the port must be a number from 1 to 65535")),
            Ok(port) if port == default_port => None,
            Ok(port) => Some(port),
        },
    };
    Ok(match port {
        Some(port) => format!("{scheme}://{host}:{port}"),
        None => format!("{scheme}://{host}"),
    })
}

/// `list`, then every item of `more` that is not in it yet, in order.
fn each_once(mut list: Vec<String>, more: impl IntoIterator<Item = String>) -> Vec<String> {
    for item in more {
        if !list.contains(&item) {
            list.push(item);
        }
    }
    list
}

/// The origins of pages the worker serves on `addr`, which the local store
/// allows by default: `http://<addr>`, and also `http://localhost:<port>`
/// on loopback; on an unspecified address (`0.0.0.0`, `::`), the loopback
/// names only, since no page has that origin.
pub fn worker_origins(addr: SocketAddr) -> Vec<String> {
    let port = addr.port();
    let origin = |host: &str| match port {
        80 => format!("http://{host}"),
        _ => format!("http://{host}:{port}"),
    };
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() || ip == Ipv4Addr::LOCALHOST => {
            vec![origin("127.0.0.1"), origin("localhost")]
        }
        IpAddr::V6(ip) if ip.is_unspecified() || ip == Ipv6Addr::LOCALHOST => {
            vec![origin("[::1]"), origin("localhost")]
        }
        IpAddr::V4(ip) => vec![origin(&ip.to_string())],
        IpAddr::V6(ip) => vec![origin(&format!("[{ip}]"))],
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
        assert_eq!(
            settings.compiled_cache.as_deref(),
            Some(Path::new(".edgeplug-data/compiled"))
        );
        assert!(!settings.instance_reuse.enabled(), "reuse is opt-in");
        Ok(())
    }

    #[test]
    fn instance_reuse_is_opt_in_with_its_bounds_from_flags_or_file() -> anyhow::Result<()> {
        let settings = Settings::resolve(args(&[
            "--requests-per-instance",
            "1000",
            "--max-concurrent-requests",
            "16",
        ]))?;
        let reuse = settings.instance_reuse;
        assert!(reuse.enabled());
        assert_eq!(reuse.max_requests, 1000);
        assert_eq!(reuse.idle_timeout, Duration::from_secs(30));
        assert_eq!(reuse.max_memory_growth, 64 << 20);
        assert_eq!(reuse.max_idle, 16);
        let (_dir, path) = file(
            "requests-per-instance = 50\ninstance-idle-timeout-ms = 250\nreuse-max-memory-growth-mib = 8\n",
        )?;
        let reuse = Settings::resolve(args(&["--config-file", &path]))?.instance_reuse;
        assert_eq!(reuse.max_requests, 50);
        assert_eq!(reuse.idle_timeout, Duration::from_millis(250));
        assert_eq!(reuse.max_memory_growth, 8 << 20);
        let error = Settings::resolve(args(&["--requests-per-instance", "0"]))
            .expect_err("0 requests per instance means nothing");
        assert!(format!("{error:#}").contains("requests-per-instance"));
        Ok(())
    }

    #[test]
    fn the_compiled_cache_moves_or_turns_off() -> anyhow::Result<()> {
        let settings = Settings::resolve(args(&["--compiled-cache", "/var/cache/edgeplug"]))?;
        assert_eq!(
            settings.compiled_cache.as_deref(),
            Some(Path::new("/var/cache/edgeplug"))
        );
        assert_eq!(
            Settings::resolve(args(&["--compiled-cache", "off"]))?.compiled_cache,
            None
        );
        let (_dir, path) = file("compiled-cache = \"off\"\n")?;
        assert_eq!(
            Settings::resolve(args(&["--config-file", &path]))?.compiled_cache,
            None
        );
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
    fn cors_origins_come_from_the_file_then_the_flags_each_once() -> anyhow::Result<()> {
        let (_dir, path) =
            file("s3-cors-origins = [\"https://App.example\", \"http://localhost:3000\"]\n")?;
        let settings = Settings::resolve(args(&[
            "--config-file",
            &path,
            "--s3-cors-origin",
            "http://localhost:3000",
            "--s3-cors-origin",
            "HTTP://192.168.1.9:80",
        ]))?;
        assert_eq!(
            settings.s3_cors_origins,
            [
                "https://app.example",
                "http://localhost:3000",
                "http://192.168.1.9"
            ]
        );
        assert!(Settings::resolve(args(&[]))?.s3_cors_origins.is_empty());
        Ok(())
    }

    #[test]
    fn a_bad_cors_origin_flag_is_a_usage_error_saying_why() {
        for (origin, why) in [
            ("localhost:3000", "no scheme"),
            ("ftp://example.com", "http or https"),
            ("http://localhost:3000/", "no path"),
            ("http://example.com/app", "no path"),
            ("http://example.com?x=1", "no path"),
            ("http://user@example.com", "user name"),
            ("http://", "no host"),
            ("http://:3000", "no host"),
            ("http://exa mple.com", "letters, digits"),
            ("http://localhost:0", "1 to 65535"),
            ("http://localhost:70000", "1 to 65535"),
            ("http://[::1", "closing"),
            ("http://[nope]:80", "IPv6"),
        ] {
            let error = ServeArgs::try_parse_from(["serve", "--s3-cors-origin", origin])
                .expect_err(origin)
                .to_string();
            assert!(error.contains("--s3-cors-origin"), "{origin}: {error}");
            assert!(error.contains(why), "{origin}: {error}");
        }
        assert_eq!(
            parse_origin("https://[::1]:8443").as_deref(),
            Ok("https://[::1]:8443")
        );
    }

    #[test]
    fn a_bad_cors_origin_in_the_file_names_the_file_and_the_key() -> anyhow::Result<()> {
        let (_dir, path) = file("s3-cors-origins = [\"http://example.com/\"]\n")?;
        let error = Settings::resolve(args(&["--config-file", &path]))
            .expect_err("a bad origin must not be ignored");
        let message = format!("{error:#}");
        assert!(message.contains("edgeplug.toml"), "{message}");
        assert!(message.contains("s3-cors-origins"), "{message}");
        assert!(message.contains("no path"), "{message}");
        Ok(())
    }

    #[test]
    fn the_worker_origins_are_its_address_and_localhost_on_loopback() {
        let origins = |addr: &str| worker_origins(addr.parse().expect("an address"));
        assert_eq!(
            origins("127.0.0.1:8080"),
            ["http://127.0.0.1:8080", "http://localhost:8080"]
        );
        assert_eq!(
            origins("0.0.0.0:8080"),
            ["http://127.0.0.1:8080", "http://localhost:8080"]
        );
        assert_eq!(
            origins("[::1]:8080"),
            ["http://[::1]:8080", "http://localhost:8080"]
        );
        assert_eq!(origins("192.168.1.9:80"), ["http://192.168.1.9"]);
        assert_eq!(origins("[fe80::1]:8080"), ["http://[fe80::1]:8080"]);
    }

    #[test]
    fn zero_concurrency_is_refused() {
        assert!(Settings::resolve(args(&["--max-concurrent-requests", "0"])).is_err());
    }
}
