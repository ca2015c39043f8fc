//! `cargo xtask`: build, compose, validate, test, serve and bench edgeplug.
//!
//! Every command does its own set-up (the wasm target, the builds it needs),
//! so that on a fresh machine `cargo xtask serve` and `cargo xtask test` are
//! all a newcomer runs.

mod architecture;
mod build;
mod cargo_component;
mod chromium;
mod compose;
mod debian;
mod gateway;
mod inspect;
mod monolith;
mod optimize;
mod redis;
mod token;
mod user_compose;
mod wasmtime_cli;
mod workspace;

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

use crate::inspect::Platform;

#[derive(Parser)]
#[command(name = "cargo xtask", about = "edgeplug's build, test and serve tasks")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build every component for wasm32-wasip2, compose the workers, validate
    /// them and print their sizes.
    Build,
    /// Build, then run every test: unit tests of each crate, component-level
    /// tests and composed-worker tests.
    Test {
        /// Extra arguments for `cargo test` (after `--`).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Build, then print benchmark figures (sizes, compile time, per-request
    /// time, requests per second over loopback HTTP, upload throughput
    /// against a direct write, guest peak memory), each against the
    /// monolith (the three components linked into one, built for this
    /// only) where it applies, instance reuse against fresh instances, and
    /// `edgeplug-host serve` against `wasmtime serve` 48.0.8 (installed into
    /// target/tools/ on first use); write them to target/edgeplug/bench.json.
    Bench {
        /// Extra arguments for `edgeplug-bench` (try `-- --help`).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Build, then serve the portable worker on 127.0.0.1:8080 with a KV
    /// store and a local S3-compatible store on 127.0.0.1:9000. Writes need
    /// the local upload token in .edgeplug-data/upload-token (made on first
    /// use, owner-only), which this prints how to send.
    Serve {
        /// Extra arguments for `edgeplug-host serve` (try `-- --help`).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Check the dependency rules of docs/architecture.md against what
    /// cargo resolves: guests never link host code, the host never links a
    /// guest or the test kit, the test kit brings none of the server's crates.
    Architecture,
    /// Build every crate with `[package.metadata.component]` with
    /// `cargo component build --release --target wasm32-wasip2` and check
    /// that its WIT world equals the one the xtask's build has.
    CargoComponent,
    /// Build, then compose your own .wac with edgeplug's components
    /// (edgeplug:counter, edgeplug:uploader, edgeplug:entry,
    /// edgeplug:fastedge-kv, edgeplug:fastedge-config,
    /// edgeplug:redis-rest-kv) and yours (--dep),
    /// check that the platform can run the result, and only then write it.
    Compose {
        /// The .wac file to compose.
        wac: PathBuf,
        /// The platform whose import rules the result must meet.
        #[arg(long, value_enum)]
        platform: Platform,
        /// Where to write the composed component.
        #[arg(short, long)]
        output: PathBuf,
        /// A package the .wac names and the component that provides it,
        /// as `<package>=<path.wasm>` (e.g. my:app=app.wasm); repeatable.
        /// An edgeplug:* name replaces edgeplug's component.
        #[arg(long = "dep", value_name = "PACKAGE=PATH")]
        deps: Vec<String>,
    },
}

/// The composed worker `serve` runs unless the arguments name one: the
/// FastEdge worker for `--flavor fastedge`, the portable one otherwise.
fn default_component<'a>(
    args: &[String],
    outputs: &'a build::Outputs,
) -> Option<&'a std::path::Path> {
    let flag_value = |flag: &str| {
        let prefix = format!("{flag}=");
        args.iter().enumerate().find_map(|(i, arg)| {
            if arg == flag {
                Some(args.get(i + 1).map(String::as_str).unwrap_or_default())
            } else {
                arg.strip_prefix(&prefix)
            }
        })
    };
    if flag_value("--component").is_some() {
        return None;
    }
    Some(match flag_value("--flavor") {
        Some("fastedge") => &outputs.fastedge_worker,
        Some("global") => &outputs.global_worker,
        Some("fastedge-global") => &outputs.fastedge_global_worker,
        _ => &outputs.worker,
    })
}

/// Whether `serve` should get a local KV gateway: a global flavor, with no
/// central store of the user's own named (`kv-rest-url=…`) on the command
/// line.
fn wants_local_gateway(args: &[String]) -> bool {
    let global = args.windows(2).any(|pair| {
        pair[0] == "--flavor" && matches!(pair[1].as_str(), "global" | "fastedge-global")
    }) || args
        .iter()
        .any(|arg| matches!(arg.as_str(), "--flavor=global" | "--flavor=fastedge-global"));
    global && !args.iter().any(|arg| arg.contains("kv-rest-url="))
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let root = workspace::root()?;
    match cli.command {
        Command::Architecture => architecture::check(&root)?,
        Command::Build => {
            build::all(&root)?;
        }
        Command::Test { args } => {
            build::all(&root)?;
            let redis = redis::start()?;
            // The browser test (host-test/tests/browser_upload.rs) drives it.
            chromium::ensure()?;
            let mut cargo = workspace::cargo(&root);
            cargo.env("EDGEPLUG_REDIS_URL", &redis.url);
            cargo.args(["test", "--workspace", "--exclude", "xtask"]);
            if !args.is_empty() {
                cargo.arg("--").args(args);
            }
            workspace::run(&mut cargo)?;
            // The xtask's own tests last: they include the check that a bad
            // composition is refused.
            workspace::run(workspace::cargo(&root).args(["test", "-p", "xtask"]))?;
        }
        Command::Bench { args } => {
            build::all(&root)?;
            // Only the bench builds it: the monolith is never shipped.
            let monolith = monolith::build(&root)?;
            let out = workspace::output_dir(&root);
            // The bench times `serve` from launch and loads it beside
            // `wasmtime serve`: both as users install them, release builds.
            println!("building edgeplug-host (release) for the start-up and serve figures");
            workspace::run(workspace::cargo(&root).args([
                "build",
                "--release",
                "-p",
                "edgeplug-host",
                "--bin",
                "edgeplug-host",
            ]))?;
            let host_bin = workspace::target_dir(&root)
                .join("release")
                .join(format!("edgeplug-host{}", std::env::consts::EXE_SUFFIX));
            // The same worker and route on `wasmtime serve`, in the same run.
            let wasmtime_bin = wasmtime_cli::ensure(&root)?;
            // In-process figures (composition, native upload) are taken in
            // the bench's own process: a release build, as users run hosts.
            println!("building edgeplug-bench (release)");
            let mut bench = workspace::release_host_binary(&root, "edgeplug-bench");
            bench
                .arg("--host-bin")
                .arg(&host_bin)
                .arg("--wasmtime-bin")
                .arg(&wasmtime_bin)
                .arg("--wasm-dir")
                .arg(&out)
                .arg("--monolith")
                .arg(&monolith)
                .arg("--json")
                .arg(out.join("bench.json"))
                .args(args);
            workspace::run(&mut bench)?;
        }
        Command::CargoComponent => {
            cargo_component::check_all(&root)?;
        }
        Command::Compose {
            wac,
            platform,
            output,
            deps,
        } => {
            user_compose::run(
                &root,
                &user_compose::Args {
                    wac,
                    platform,
                    output,
                    deps,
                },
            )?;
        }
        Command::Serve { args } => {
            let outputs = build::all(&root)?;
            let (token_path, token) = token::ensure(&root)?;
            let mut serve = workspace::host_binary(&root, "edgeplug-host");
            // Through the environment: a command-line argument would show in `ps`.
            serve.env(token::ENV_VAR, token);
            println!(
                "{}",
                token::usage_line(&token_path, token::listen_address(&args))
            );
            serve.arg("serve");
            if let Some(component) = default_component(&args, &outputs) {
                serve.arg("--component").arg(component);
            }
            // The global flavors keep counters in a central store: start
            // one beside the worker, as a PoP's would be elsewhere.
            let _gateway = if wants_local_gateway(&args) {
                let gateway = gateway::LocalGateway::start(&root)?;
                serve.env(gateway::SERVE_TOKEN_ENV, gateway.token());
                serve
                    .arg("--config")
                    .arg(format!("kv-rest-url={}", gateway.url()));
                Some(gateway)
            } else {
                None
            };
            serve.args(args);
            // Not `workspace::run`: its messages show the command with
            // `{:?}`, which includes the environment, so the token.
            let status = serve.status().context("cannot start edgeplug-host serve")?;
            if !status.success() {
                anyhow::bail!("edgeplug-host serve failed with {status}");
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outputs() -> build::Outputs {
        build::Outputs {
            worker: "out/worker.wasm".into(),
            fastedge_worker: "out/worker-fastedge.wasm".into(),
            global_worker: "out/worker-global.wasm".into(),
            fastedge_global_worker: "out/worker-fastedge-global.wasm".into(),
        }
    }

    fn component(args: &[&str]) -> Option<std::path::PathBuf> {
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        default_component(&args, &outputs()).map(std::path::Path::to_path_buf)
    }

    #[test]
    fn serve_runs_the_worker_of_the_flavor_asked_for() {
        assert_eq!(component(&[]), Some("out/worker.wasm".into()));
        assert_eq!(
            component(&["--flavor", "portable"]),
            Some("out/worker.wasm".into())
        );
        assert_eq!(
            component(&["--listen", "127.0.0.1:0", "--flavor", "fastedge"]),
            Some("out/worker-fastedge.wasm".into())
        );
        assert_eq!(
            component(&["--flavor=fastedge"]),
            Some("out/worker-fastedge.wasm".into())
        );
    }

    #[test]
    fn the_global_flavors_serve_their_workers_beside_a_local_gateway() {
        assert_eq!(
            component(&["--flavor", "global"]),
            Some("out/worker-global.wasm".into())
        );
        assert_eq!(
            component(&["--flavor=fastedge-global"]),
            Some("out/worker-fastedge-global.wasm".into())
        );
        let args = |list: &[&str]| list.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>();
        assert!(wants_local_gateway(&args(&["--flavor", "global"])));
        assert!(wants_local_gateway(&args(&["--flavor=fastedge-global"])));
        assert!(!wants_local_gateway(&args(&["--flavor", "fastedge"])));
        assert!(!wants_local_gateway(&args(&[])));
        assert!(!wants_local_gateway(&args(&[
            "--flavor",
            "global",
            "--config",
            "kv-rest-url=https://eu1-example.upstash.io"
        ])));
    }

    #[test]
    fn a_component_given_is_left_to_serve() {
        assert_eq!(component(&["--component", "mine.wasm"]), None);
        assert_eq!(
            component(&["--component=mine.wasm", "--flavor", "fastedge"]),
            None
        );
    }
}
