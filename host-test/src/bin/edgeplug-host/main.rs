//! `edgeplug-host`: runs an edgeplug worker locally with a KV store and a
//! local S3-compatible store. `cargo xtask serve` builds the worker and runs
//! this.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use host_test::kv::{KvBackend, MemoryKv, RedbKv, RedisKv};
use host_test::{ConfigValues, HostContext, HttpWorker, LocalS3, S3Credentials, load_component};

#[derive(Parser)]
#[command(name = "edgeplug-host", about = "Run edgeplug workers locally")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve a worker over HTTP, with a local S3-compatible store beside it.
    Serve(ServeArgs),
}

#[derive(Parser)]
struct ServeArgs {
    /// The composed worker (any component exporting wasi:http/incoming-handler).
    #[arg(long, default_value = "target/edgeplug/worker.wasm")]
    component: PathBuf,
    /// Where the worker listens.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Where the local S3-compatible store listens.
    #[arg(long, default_value = "127.0.0.1:9000")]
    s3_listen: SocketAddr,
    /// The KV store: `memory`, a redb file path (the default, so counts
    /// survive restarts), or `redis://host:port` to share one store between
    /// several hosts.
    #[arg(long, default_value = ".edgeplug-data/kv.redb")]
    kv: String,
    /// The folder the local store keeps objects in.
    #[arg(long, default_value = ".edgeplug-data/s3")]
    s3_data: PathBuf,
    /// The bucket uploads go to (created if missing).
    #[arg(long, default_value = "uploads")]
    bucket: String,
    /// The local store's access key id.
    #[arg(long, default_value = "edgeplug-local")]
    s3_access_key_id: String,
    /// The local store's secret key; random for each run when not given.
    #[arg(long, env = "EDGEPLUG_S3_SECRET", hide_env_values = true)]
    s3_secret_access_key: Option<String>,
    /// How long a request may take before the host answers 504 and tears
    /// the instance down, in milliseconds (0: no limit).
    #[arg(long, default_value_t = 120_000)]
    request_timeout_ms: u64,
    /// The most linear memory each guest memory may grow to, in MiB.
    #[arg(long, default_value_t = 256)]
    max_memory_mib: usize,
    /// Extra worker config, KEY=VALUE (repeatable); overrides the defaults.
    #[arg(long = "config", value_parser = ConfigValues::parse_assignment)]
    config: Vec<(String, String)>,
}

fn random_secret() -> anyhow::Result<String> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness for a secret: {e}"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

async fn open_kv(spec: &str) -> anyhow::Result<Arc<dyn KvBackend>> {
    Ok(match spec {
        "memory" => Arc::new(MemoryKv::new()),
        url if url.starts_with("redis://") || url.starts_with("rediss://") => {
            Arc::new(RedisKv::connect(url, "edgeplug:").await?)
        }
        path => Arc::new(RedbKv::open(path)?),
    })
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let credentials = S3Credentials {
        access_key_id: args.s3_access_key_id.clone(),
        secret_access_key: match args.s3_secret_access_key {
            Some(secret) => secret,
            None => random_secret()?,
        },
    };
    let s3 = LocalS3::new(&args.s3_data, &credentials)?;
    s3.create_bucket(&args.bucket)?;
    let s3_addr = s3.spawn_server(args.s3_listen).await?;

    let mut context = HostContext::new()
        .with_kv(open_kv(&args.kv).await?)
        .with_memory_limit(args.max_memory_mib * 1024 * 1024);
    if args.request_timeout_ms > 0 {
        context = context.with_request_timeout(Duration::from_millis(args.request_timeout_ms));
    }
    context.outbound().allow_network(true);
    let mut config = ConfigValues::new()
        .with("s3-endpoint", format!("http://{s3_addr}"))
        .with("s3-bucket", args.bucket.as_str())
        .with("s3-access-key-id", credentials.access_key_id.as_str())
        .with(
            "s3-secret-access-key",
            credentials.secret_access_key.as_str(),
        );
    for (key, value) in args.config {
        config.set(key, value);
    }
    context.replace_config(config);

    let component = load_component(&args.component)
        .with_context(|| "build it first with `cargo xtask build`".to_string())?;
    let worker = HttpWorker::new(&component, context)?;
    let listener = host_test::serve::bind(args.listen, "the worker").await?;
    let addr = listener.local_addr()?;

    println!("edgeplug worker   http://{addr}/");
    let kv_shown = if args.kv.starts_with("redis") {
        "redis"
    } else {
        args.kv.as_str()
    };
    println!("KV store          {kv_shown}");
    println!(
        "local S3 store    http://{s3_addr}/ (bucket `{}`, data in {})",
        args.bucket,
        s3.root().display()
    );
    println!();
    println!("  curl http://{addr}/                                  # Page views: N");
    println!("  curl http://{addr}/counters/page_views               # read a counter");
    println!("  curl -X POST 'http://{addr}/counters/likes?by=5'     # add to a counter");
    println!("  curl -T README.md http://{addr}/objects/docs/readme.md  # upload into the bucket");
    println!();
    println!("Ctrl-C stops.");

    tokio::select! {
        result = host_test::serve::serve(worker, listener) => result,
        _ = tokio::signal::ctrl_c() => {
            println!("stopping");
            Ok(())
        }
    }
}

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
        Command::Serve(args) => serve(args).await,
    }
}
