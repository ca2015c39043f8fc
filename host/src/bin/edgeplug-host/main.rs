//! `edgeplug-host`: runs an edgeplug worker locally with a KV store and a
//! local S3-compatible store. `cargo xtask serve` builds the worker and runs
//! this.

mod gateway_cmd;
mod settings;
mod sweep_cmd;

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use edgeplug_host::fastedge::LocalFastEdge;
use edgeplug_host::kv::{KvBackend, MemoryKv, RedbKv, RedisKv};
use edgeplug_host::precompiled::{ArtifactSource, CompiledCache};
use edgeplug_host::serve::{ServeOptions, Server, Shutdown};
use edgeplug_host::{
    ConfigValues, CorsRule, EngineOptions, HostImports, HttpWorker, LocalS3, S3Credentials,
    WorkerContext, load_component,
};
use settings::{Flavor, ServeArgs, Settings};
use sweep_cmd::SweepArgs;
use wasmtime::component::Component;

#[derive(Parser)]
#[command(name = "edgeplug-host", about = "Run edgeplug workers locally")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve a worker over HTTP, with a local S3-compatible store beside it.
    Serve(Box<ServeArgs>),
    /// Serve a KV store over the Redis REST protocol: the central store
    /// of the global flavors' counters.
    KvGateway(gateway_cmd::GatewayArgs),
    /// Maintenance of an S3 bucket the uploader writes to.
    #[command(subcommand)]
    S3(S3Command),
}

#[derive(Subcommand)]
enum S3Command {
    /// Abort multipart uploads older than an age: the parts that guests
    /// killed mid-upload (deadline, trap, platform limit) could not abort.
    Sweep(SweepArgs),
}

fn random_secret() -> anyhow::Result<String> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness for a secret: {e}"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Opens the KV store `spec` names: `memory`, `redis://…`, or a redb file.
pub(crate) async fn open_kv(spec: &str) -> anyhow::Result<Arc<dyn KvBackend>> {
    Ok(match spec {
        "memory" => Arc::new(MemoryKv::new()),
        url if url.starts_with("redis://") || url.starts_with("rediss://") => {
            Arc::new(RedisKv::connect(url, "edgeplug:").await?)
        }
        path => Arc::new(RedbKv::open(path)?),
    })
}

/// Compiles the worker, or loads it precompiled from the compiled cache,
/// and says which in the log.
fn load_worker(settings: &Settings) -> anyhow::Result<Component> {
    let started = Instant::now();
    let Some(dir) = &settings.compiled_cache else {
        let component = load_component(&settings.component)?;
        tracing::info!(ms = started.elapsed().as_millis(), "compiled the worker");
        return Ok(component);
    };
    let cache = CompiledCache::new(dir);
    let (component, source) = cache.load(edgeplug_host::engine(), &settings.component)?;
    let ms = started.elapsed().as_millis();
    let dir = dir.display();
    match source {
        ArtifactSource::Cached => tracing::info!(ms, "loaded the worker precompiled from {dir}"),
        ArtifactSource::Compiled => {
            tracing::info!(ms, "compiled the worker; kept in {dir} for the next start")
        }
        ArtifactSource::Rebuilt(why) => {
            tracing::warn!(
                ms,
                why,
                "compiled the worker again: its artifact in {dir} was bad"
            )
        }
        ArtifactSource::NotStored(why) => {
            tracing::warn!(
                ms,
                why,
                "compiled the worker, but could not keep it in {dir}"
            )
        }
    }
    Ok(component)
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let settings = Settings::resolve(args)?;
    // The pool holds every live instance: the admitted requests, plus those
    // still tearing down.
    let max_instances = u32::try_from(settings.max_concurrent_requests.saturating_mul(2))
        .unwrap_or(u32::MAX)
        .saturating_add(16);
    edgeplug_host::configure_engine(EngineOptions {
        allocator: settings.allocator,
        max_instances,
    })?;
    // Compile first: a missing or broken component should fail before
    // anything listens.
    let component = load_worker(&settings).with_context(|| {
        format!(
            "cannot load the {:?} worker; build it with `cargo xtask build`",
            settings.flavor
        )
    })?;

    // The worker's port is known once bound (it may be 0), and the store's
    // CORS rule names the worker's origin.
    let listener = edgeplug_host::serve::bind(settings.listen, "the worker").await?;
    let addr = listener.local_addr()?;
    // Pages the worker serves may send files straight to the store, as to a
    // bucket whose CORS rule allows the site; `--s3-cors-origin` adds more.
    let cors_origins = settings.store_origins(addr);

    let credentials = S3Credentials {
        access_key_id: settings.s3_access_key_id.clone(),
        secret_access_key: match &settings.s3_secret_access_key {
            Some(secret) => secret.clone(),
            None => random_secret()?,
        },
    };
    let s3 = LocalS3::new(&settings.s3_data, &credentials)?
        .with_cors(CorsRule::for_origins(cors_origins.iter().cloned()));
    s3.create_bucket(&settings.bucket)?;
    let s3_addr = s3.spawn_server(settings.s3_listen).await?;

    let mut config = ConfigValues::new()
        .with("s3-endpoint", format!("http://{s3_addr}"))
        .with("s3-bucket", settings.bucket.as_str())
        .with("s3-access-key-id", credentials.access_key_id.as_str())
        .with(
            "s3-secret-access-key",
            credentials.secret_access_key.as_str(),
        );
    // The write token comes from the environment so that it never shows in
    // a process list; `--config upload-token=…` or the config file win.
    let token_from_env = std::env::var(UPLOAD_TOKEN_ENV)
        .ok()
        .filter(|token| !token.trim().is_empty());
    if let Some(token) = &token_from_env {
        config.set("upload-token", token.as_str());
    }
    if let Some(token) = std::env::var(KV_REST_TOKEN_ENV)
        .ok()
        .filter(|token| !token.trim().is_empty())
    {
        config.set("kv-rest-token", token);
    }
    for (key, value) in &settings.config {
        config.set(key.clone(), value.clone());
    }
    let writes = describe_writes(&config);
    let mut context = WorkerContext::new().with_memory_limit(settings.max_memory_bytes);
    let kv_shown = match settings.flavor {
        Flavor::Portable => {
            context = context.with_kv(open_kv(&settings.kv).await?);
            context.replace_config(config);
            if settings.kv.starts_with("redis") {
                "redis".to_owned()
            } else {
                settings.kv.clone()
            }
        }
        Flavor::Global => {
            let shown = describe_central_store(&config)?;
            // A plain wasi-http host: the worker's counters must reach
            // their store over HTTP, as on `wasmtime serve`.
            context = context.with_imports(HostImports::WasiHttpAndConfig);
            context.replace_config(config);
            shown
        }
        Flavor::Fastedge | Flavor::FastedgeGlobal => {
            let shown = if settings.flavor.is_global() {
                describe_central_store(&config)?
            } else {
                "FastEdge cache-sync (in memory, this PoP only)".to_owned()
            };
            // FastEdge apps read config from env vars and secrets, and keep
            // counters in the PoP's cache: play both, in memory.
            let fastedge = LocalFastEdge::new();
            for (key, value) in config.iter() {
                fastedge.set_app_config(key, value);
            }
            context = context.with_fastedge(Arc::new(fastedge));
            shown
        }
    };
    if let Some(timeout) = settings.request_timeout {
        context = context.with_request_timeout(timeout);
    }
    context.outbound().allow_network(true);

    let worker = HttpWorker::new(&component, context)?.with_instance_reuse(settings.instance_reuse);

    println!(
        "edgeplug worker   http://{addr}/ ({} flavor)",
        settings.flavor.name()
    );
    println!("KV store          {kv_shown}");
    println!(
        "local S3 store    http://{s3_addr}/ (bucket `{}`, data in {})",
        settings.bucket,
        s3.root().display()
    );
    println!("S3 CORS origins   {}", cors_origins.join(", "));
    println!(
        "limits            {} requests at once, {} MiB per memory, {}, {} allocator",
        settings.max_concurrent_requests,
        settings.max_memory_bytes / (1024 * 1024),
        match settings.request_timeout {
            Some(timeout) => format!("{} ms deadline", timeout.as_millis()),
            None => "no deadline".to_owned(),
        },
        edgeplug_host::allocator(),
    );
    let reuse = settings.instance_reuse;
    println!(
        "instances         {}",
        if reuse.enabled() {
            format!(
                "reused for up to {} requests each (idle {} ms, memory growth {} MiB): only for code you trust",
                reuse.max_requests,
                reuse.idle_timeout.as_millis(),
                reuse.max_memory_growth / (1024 * 1024)
            )
        } else {
            "a fresh one per request".to_owned()
        }
    );
    println!("writes            {writes}");
    println!();
    println!("  curl http://{addr}/                                  # Page views: N");
    println!("  curl http://{addr}/counters/page_views               # read a counter");
    println!(
        "  curl -X POST -H \"Authorization: Bearer $TOKEN\" 'http://{addr}/counters/likes?by=5'"
    );
    println!(
        "  curl -T README.md -H \"Authorization: Bearer $TOKEN\" http://{addr}/objects/docs/readme.md"
    );
    println!();
    println!("Ctrl-C stops (in-flight requests finish first).");

    let server = Server::new(
        worker,
        ServeOptions {
            max_concurrent_requests: settings.max_concurrent_requests,
            queue_timeout: settings.queue_timeout,
            drain_timeout: settings.drain_timeout,
        },
    );
    match server.run(listener, shutdown_signal()).await {
        Shutdown::Drained => {
            println!("stopped");
            Ok(())
        }
        Shutdown::TimedOut { open_connections } => anyhow::bail!(
            "stopped with requests unfinished after the drain timeout ({open_connections} connections were open)"
        ),
    }
}

/// The environment variable `serve` reads the write token from.
const UPLOAD_TOKEN_ENV: &str = "EDGEPLUG_UPLOAD_TOKEN";

/// The environment variable `serve` reads the central store's token from
/// (the `kv-rest-token` setting), so that it never shows in a process list.
const KV_REST_TOKEN_ENV: &str = "EDGEPLUG_KV_REST_TOKEN";

/// The global flavors' KV line, or why they cannot start: a worker with no
/// central store configured would answer 503 to every counter request.
fn describe_central_store(config: &ConfigValues) -> anyhow::Result<String> {
    let url = config
        .get("kv-rest-url")
        .filter(|url| !url.trim().is_empty())
        .context("the global flavors keep counters in a central store: set --config kv-rest-url=http://… (an `edgeplug-host kv-gateway` or a hosted Upstash database)")?;
    anyhow::ensure!(
        config
            .get("kv-rest-token")
            .is_some_and(|token| !token.trim().is_empty()),
        "the central store needs its token: set {KV_REST_TOKEN_ENV} (or kv-rest-token in the config file)"
    );
    let shown = http::Uri::try_from(url)
        .ok()
        .and_then(|uri| {
            let authority = uri.authority()?;
            // Never show credentials someone put in the URL.
            let host_port = authority.as_str().rsplit('@').next()?.to_owned();
            Some(format!("{}://{host_port}", uri.scheme_str()?))
        })
        .with_context(|| "kv-rest-url is not an http(s) URL".to_owned())?;
    Ok(format!(
        "central, over Redis REST at {shown} (shared by every PoP)"
    ))
}

/// One line on who may write, never showing the token.
fn describe_writes(config: &ConfigValues) -> String {
    let set = |key: &str| {
        config
            .get(key)
            .is_some_and(|value| !value.trim().is_empty())
    };
    let open = |key: &str| config.get(key).is_some_and(|value| value.trim() == "true");
    if set("upload-token") {
        "need `Authorization: Bearer $TOKEN` (the upload-token setting)".to_owned()
    } else if open("allow-anonymous-uploads") || open("allow-anonymous-counter-writes") {
        "OPEN to anyone without a token (allow-anonymous-* is set)".to_owned()
    } else {
        format!("closed: set {UPLOAD_TOKEN_ENV} or --config upload-token=… to allow them")
    }
}

/// Ctrl-C or SIGTERM, whichever comes first.
async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM; only Ctrl-C stops");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
    println!("stopping: draining in-flight requests");
}

/// Per-request allocations (hyper's, wasmtime's resource tables) are the
/// host's hottest library calls; mimalloc serves them from per-thread pages.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,s3s=warn,wasmtime=warn".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match Cli::parse().command {
        Command::Serve(args) => serve(*args).await,
        Command::KvGateway(args) => gateway_cmd::run(args).await,
        Command::S3(S3Command::Sweep(args)) => sweep_cmd::run(args).await,
    }
}
