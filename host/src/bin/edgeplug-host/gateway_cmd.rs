//! `edgeplug-host kv-gateway`: a KV store served over the Redis REST
//! protocol, for the global flavors' counters.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Parser;
use edgeplug_host::kv_gateway::KvGateway;

/// The environment variable the gateway reads its token from.
const TOKEN_ENV: &str = "EDGEPLUG_KV_GATEWAY_TOKEN";

/// `edgeplug-host kv-gateway`'s flags.
#[derive(Debug, Parser)]
pub struct GatewayArgs {
    /// Where the gateway listens
    #[arg(long, default_value = "127.0.0.1:8079")]
    pub listen: SocketAddr,
    /// The store: `memory`, a redb file path, or `redis://host:port` (several
    /// gateways on one Redis share every count)
    #[arg(long, default_value = ".edgeplug-data/gateway.redb")]
    pub kv: String,
    /// A file holding the bearer token clients must send; without it the
    /// token comes from EDGEPLUG_KV_GATEWAY_TOKEN. There is no open mode.
    #[arg(long)]
    pub token_file: Option<PathBuf>,
}

fn token(args: &GatewayArgs) -> anyhow::Result<String> {
    let token = match &args.token_file {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the token file {}", path.display()))?,
        None => std::env::var(TOKEN_ENV).unwrap_or_default(),
    };
    let token = token.trim().to_owned();
    anyhow::ensure!(
        !token.is_empty(),
        "the KV gateway needs a token: set {TOKEN_ENV} or --token-file (clients send it as `Authorization: Bearer …`)"
    );
    Ok(token)
}

/// Runs the gateway until Ctrl-C or SIGTERM.
pub async fn run(args: GatewayArgs) -> anyhow::Result<()> {
    let token = token(&args)?;
    if let Some(parent) = std::path::Path::new(&args.kv)
        .parent()
        .filter(|_| args.kv != "memory" && !args.kv.contains("://"))
        .filter(|parent| !parent.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let backend = crate::open_kv(&args.kv).await?;
    let gateway = KvGateway::new(backend, &token)?;
    let listener = edgeplug_host::serve::bind(args.listen, "the KV gateway").await?;
    let addr = listener.local_addr()?;
    let store = if args.kv.contains("://") {
        "redis".to_owned()
    } else {
        args.kv.clone()
    };
    println!("KV gateway        http://{addr}/ (Redis REST protocol, store {store})");
    println!("auth              `Authorization: Bearer $TOKEN` ({TOKEN_ENV} or --token-file)");
    println!();
    println!(
        "  curl -H \"Authorization: Bearer $TOKEN\" -d '[\"INCRBY\",\"hits\",\"1\"]' http://{addr}/"
    );
    println!();
    println!("Ctrl-C stops.");
    gateway.run_server(listener, crate::shutdown_signal()).await;
    println!("stopped");
    Ok(())
}
