//! `guest-stdio`, which every edgeplug component links: its imports stop at
//! what the component uses (no stdin, terminal, environment or exit, which
//! wasi-libc's stdio would bring), and a guest's panic message still
//! reaches stderr.

mod common;

use host_test::{HostContext, HttpWorker};

/// Every component edgeplug ships, and the workers composed from them.
const SHIPPED: [&str; 10] = [
    "counter",
    "uploader",
    "entry",
    "fastedge-kv",
    "fastedge-config",
    "redis-rest-kv",
    "worker",
    "worker-fastedge",
    "worker-global",
    "worker-fastedge-global",
];

/// `wasi:cli` interfaces wasi-libc's stdio and environment import, which
/// none of our components uses.
const UNUSED_CLI: [&str; 7] = [
    "wasi:cli/stdin@",
    "wasi:cli/environment@",
    "wasi:cli/exit@",
    "wasi:cli/terminal-input@",
    "wasi:cli/terminal-stdin@",
    "wasi:cli/terminal-stdout@",
    "wasi:cli/terminal-stderr@",
];

#[test]
fn shipped_components_import_no_stdin_terminal_environment_or_exit() {
    let engine = host_test::engine();
    let mut found = Vec::new();
    for name in SHIPPED {
        let component = common::component(name);
        for (import, _) in component.component_type().imports(engine) {
            if UNUSED_CLI.iter().any(|unused| import.starts_with(unused)) {
                found.push(format!("{name}.wasm imports {import}"));
            }
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_panic_message_reaches_stderr() -> anyhow::Result<()> {
    let context = HostContext::new().with_captured_stderr();
    let worker = HttpWorker::new(&common::component("misbehave"), context.clone())?;
    worker
        .get("/panic")
        .await
        .expect_err("a panic traps: an error, not an answer");
    let stderr = context.guest_stderr();
    assert!(
        stderr.contains("misbehave was asked to panic"),
        "guest stderr: {stderr:?}"
    );
    // The worker goes on serving.
    assert_eq!(worker.get("/").await?.status, 200);
    Ok(())
}
