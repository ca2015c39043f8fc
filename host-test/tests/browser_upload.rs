//! The browser-upload example in a real browser: headless Chromium, driven
//! through chromedriver (WebDriver), opens the page that
//! `edgeplug-host serve --flavor fastedge --component <the example>` serves,
//! chooses a file and submits. The page asks the app for a POST policy and
//! the browser sends the file straight to the local store, which checks the
//! policy: the object lands byte for byte, and a file over the policy's
//! size range is refused by the store, with the page showing the refusal.
//!
//! `cargo xtask test` installs Debian's `chromium` and `chromium-driver`
//! when they are missing; `EDGEPLUG_CHROMIUM` and `EDGEPLUG_CHROMEDRIVER`
//! name other binaries.

use std::io::{BufRead as _, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::Context as _;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

mod common;

use common::served::{serve_command, start_command};

/// How long any one wait may take before the test gives up: generous, as a
/// busy CI machine may start Chromium slowly. Nothing is timed.
const GIVE_UP: Duration = Duration::from_secs(120);
/// The policy's size limit the app is configured with.
const MAX_UPLOAD_BYTES: usize = 64 * 1024;

/// A binary from the environment variable `var`, else Debian's path.
fn binary(var: &str, debian: &str) -> anyhow::Result<PathBuf> {
    let path = std::env::var_os(var).map_or_else(|| PathBuf::from(debian), PathBuf::from);
    anyhow::ensure!(
        path.exists(),
        "{} is missing: `cargo xtask test` installs Debian's chromium and chromium-driver (or set {var})",
        path.display()
    );
    Ok(path)
}

/// chromedriver on a free port, killed when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts chromedriver and waits for the line saying it listens.
fn start_driver() -> anyhow::Result<Driver> {
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let mut child = Command::new(binary("EDGEPLUG_CHROMEDRIVER", "/usr/bin/chromedriver")?)
        .arg(format!("--port={port}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("cannot start chromedriver")?;
    let stdout = child.stdout.take().context("chromedriver's stdout")?;
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let (ready, started) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.contains("started successfully") {
                let _ = ready.send(());
            }
        }
    });
    started
        .recv_timeout(GIVE_UP)
        .context("chromedriver never said it started")?;
    Ok(driver)
}

/// A headless Chromium session, with the flags a closed network needs.
async fn browser(driver: &Driver, profile: &Path) -> anyhow::Result<Client> {
    let chromium = binary("EDGEPLUG_CHROMIUM", "/usr/bin/chromium")?;
    let capabilities = json!({
        "goog:chromeOptions": {
            "binary": chromium,
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--window-size=900,760",
                format!("--user-data-dir={}", profile.display()),
            ],
        }
    });
    let serde_json::Value::Object(capabilities) = capabilities else {
        anyhow::bail!("capabilities are an object");
    };
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .context("cannot open a Chromium session through chromedriver")
}

/// Chooses `file` on the page, submits, and returns the status line's final
/// state (`stored`, `refused` or `failed`) and text.
async fn upload(client: &Client, file: &Path) -> anyhow::Result<(String, String)> {
    client
        .find(Locator::Id("file"))
        .await?
        .send_keys(&file.display().to_string())
        .await?;
    // The last upload's final state must not pass for this one's.
    client
        .execute(
            "document.getElementById('status').dataset.state = 'idle';",
            Vec::new(),
        )
        .await?;
    client.find(Locator::Id("upload")).await?.click().await?;
    let status = client
        .wait()
        .at_most(GIVE_UP)
        .for_element(Locator::Css(
            "#status[data-state=stored], #status[data-state=refused], #status[data-state=failed]",
        ))
        .await
        .context("the page never finished the upload")?;
    let state = status.attr("data-state").await?.unwrap_or_default();
    Ok((state, status.text().await?))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_browser_sends_a_file_straight_to_the_bucket_and_an_oversize_one_is_refused()
-> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let app = host_test::artifacts::component_path("browser-upload-fastedge")?;
    let max = format!("max-upload-bytes={MAX_UPLOAD_BYTES}");
    let server = start_command(serve_command(
        data.path(),
        &[
            "--flavor",
            "fastedge",
            "--component",
            &app.display().to_string(),
            "--config",
            "page-title=Drop a file at the edge",
            "--config",
            &max,
        ],
    )?)?;
    let driver = start_driver()?;
    let client = browser(&driver, &data.path().join("chromium-profile")).await?;

    // Failures inside return errors rather than panic, so that the browser
    // is always closed.
    let outcome = async {
        client.goto(&format!("http://{}/", server.addr)).await?;
        let title = client.title().await?;
        anyhow::ensure!(title == "Drop a file at the edge", "title {title:?}");
        client
            .find(Locator::Id("token"))
            .await?
            .send_keys(common::WRITE_TOKEN)
            .await?;

        // A file that fits lands in the bucket byte for byte.
        let fits = data.path().join("edge-notes.txt");
        let content: Vec<u8> = (0..10_000u32).flat_map(|i| i.to_le_bytes()).collect();
        anyhow::ensure!(content.len() <= MAX_UPLOAD_BYTES);
        std::fs::write(&fits, &content)?;
        let (state, text) = upload(&client, &fits).await?;
        anyhow::ensure!(state == "stored", "{state}: {text}");
        let key = text
            .strip_prefix("Stored as ")
            .and_then(|rest| rest.split(' ').next())
            .with_context(|| format!("the page names the key: {text}"))?;
        anyhow::ensure!(
            key.starts_with("uploads/") && key.ends_with("/edge-notes.txt"),
            "{key}"
        );
        let stored = std::fs::read(data.path().join("s3/uploads").join(key))
            .with_context(|| format!("{key} is in the bucket"))?;
        anyhow::ensure!(stored == content, "the stored object differs from the file");

        // The screenshot docs/your-own-fastedge-app.md shows.
        let png = client.screenshot().await?;
        let shots = host_test::artifacts::wasm_dir();
        std::fs::create_dir_all(&shots)?;
        std::fs::write(shots.join("browser-upload.png"), png)?;

        // One byte over the policy's range: the store refuses, the page says so.
        let over = data.path().join("too-big.bin");
        std::fs::write(&over, vec![7u8; MAX_UPLOAD_BYTES + 1])?;
        let (state, text) = upload(&client, &over).await?;
        anyhow::ensure!(state == "refused", "{state}: {text}");
        anyhow::ensure!(text == "Refused by the store: EntityTooLarge", "{text}");
        let objects = std::fs::read_dir(data.path().join("s3/uploads/uploads"))?.count();
        anyhow::ensure!(
            objects == 1,
            "{objects} folders in the bucket, not only the first upload's"
        );
        anyhow::Ok(())
    }
    .await;
    client.close().await?;
    server.assert_no_secret_printed();
    outcome
}
