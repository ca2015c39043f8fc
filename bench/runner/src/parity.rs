//! Before anything is measured: the monolith must answer like the composed
//! worker, or comparing their figures means nothing.

use std::sync::Arc;

use anyhow::Context as _;
use host_test::{HostContext, HttpWorker, LocalS3, S3Credentials};
use wasmtime::component::Component;

use crate::scratch_dir;

const BUCKET: &str = "parity";
const S3_AUTHORITY: &str = "s3.parity:9000";

/// The requests both are sent, in order: counters, every error class the
/// entry answers by itself, an upload into a local S3 and one over the
/// upload limit.
const REQUESTS: [(&str, &str, &str); 11] = [
    ("GET", "/", ""),
    ("GET", "/", ""),
    ("GET", "/counters/page_views", ""),
    ("GET", "/counters/x", ""),
    ("POST", "/counters/x?by=5", ""),
    ("GET", "/counters/x", ""),
    ("GET", "/counters/bad%21name", ""),
    ("GET", "/no/such/route", ""),
    ("DELETE", "/", ""),
    (
        "PUT",
        "/objects/parity/a.txt",
        "the same bytes through both",
    ),
    (
        "PUT",
        "/objects/parity/too-big.bin",
        "more than the sixty-four bytes the upload limit allows here, so 413 before any byte goes anywhere",
    ),
];

/// The answers the monolith must give to the first requests, whatever the
/// worker says: the routes a page-view counter is about.
const EXPECTED: [(usize, &str); 4] = [
    (0, "Page views: 1"),
    (1, "Page views: 2"),
    (2, r#"{"name":"page_views","value":2}"#),
    (3, r#"{"name":"x","value":0}"#),
];

/// One answer, as compared: status, content type and body.
type Answer = (u16, String, String);

/// Sends [`REQUESTS`] to `component` in a fresh context with a local S3 of
/// its own.
async fn answers(component: &Component, name: &str) -> anyhow::Result<Vec<Answer>> {
    let dir = scratch_dir(&format!("parity-{name}"))?;
    let credentials = S3Credentials {
        access_key_id: "AKIDPARITY".into(),
        secret_access_key: "parity-secret-not-shown".into(),
    };
    let s3 = LocalS3::new(&dir, &credentials)?;
    s3.create_bucket(BUCKET)?;
    let context = HostContext::new().with_inherited_stdio(false);
    context.outbound().route(S3_AUTHORITY, Arc::new(s3));
    context.set_config("s3-endpoint", format!("http://{S3_AUTHORITY}"));
    context.set_config("s3-bucket", BUCKET);
    context.set_config("s3-access-key-id", credentials.access_key_id.as_str());
    context.set_config(
        "s3-secret-access-key",
        credentials.secret_access_key.as_str(),
    );
    context.set_config("max-upload-bytes", "64");
    // Writes are closed by default; parity compares uploads, so open them.
    context.set_config("allow-anonymous-uploads", "true");
    let worker = HttpWorker::new(component, context)?;
    let mut answers = Vec::new();
    for (method, path, body) in REQUESTS {
        let response = worker
            .request(method, path, body)
            .await
            .with_context(|| format!("{name}: {method} {path} failed"))?;
        answers.push((
            response.status.as_u16(),
            response
                .header("content-type")
                .unwrap_or_default()
                .to_owned(),
            response.text(),
        ));
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(answers)
}

/// Fails, showing both answers, unless the monolith answers every request
/// exactly as the worker does and the counter routes as expected. Returns
/// how many requests were compared.
pub async fn check(worker: &Component, monolith: &Component) -> anyhow::Result<usize> {
    let expected = answers(worker, "worker").await?;
    let actual = answers(monolith, "monolith").await?;
    for (index, body) in EXPECTED {
        let (status, _, got) = &actual[index];
        let (method, path, _) = REQUESTS[index];
        anyhow::ensure!(
            *status == 200 && got == body,
            "the monolith answered {method} {path} with {status} {got:?}, not 200 {body:?}"
        );
    }
    for (((method, path, _), want), got) in REQUESTS.iter().zip(&expected).zip(&actual) {
        anyhow::ensure!(
            want == got,
            "the monolith answered {method} {path} with {got:?}, the worker with {want:?}"
        );
    }
    // The upload must have answered 201 and the oversized one 413, or the
    // comparison above only proved both fail alike.
    let statuses: Vec<u16> = expected.iter().map(|(status, _, _)| *status).collect();
    anyhow::ensure!(
        statuses[9..] == [201, 413],
        "the worker answered the uploads with {:?}: {:?}",
        &statuses[9..],
        &expected[9..]
    );
    Ok(REQUESTS.len())
}
