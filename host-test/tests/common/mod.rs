//! Shared set-up for the component-level and composed-worker tests.
#![allow(dead_code)] // each test binary uses its own part of this module

pub mod raw_http;
pub mod served;

use std::sync::Arc;

use host_test::artifacts::component_path;
use host_test::{FaultyS3, HostContext, LocalS3, S3Credentials, load_component};
use wasmtime::component::Component;

/// The bucket uploads go to.
pub const BUCKET: &str = "uploads";
/// The authority the fake S3 answers on.
pub const S3_AUTHORITY: &str = "s3.test:9000";
/// The access key id the local store accepts.
pub const ACCESS_KEY_ID: &str = "AKIDEDGEPLUGTEST";
/// The secret the local store accepts; no response or error may contain it.
pub const SECRET: &str = "edgeplug-test-secret-Zq9xV7";
/// The write token (`upload-token`) the tests' workers are configured
/// with; no response or log line may contain it.
pub const WRITE_TOKEN: &str = "edgeplug-write-token-Hk4wQ2";
/// `Authorization` with [`WRITE_TOKEN`].
pub const WRITE_AUTHORIZATION: &str = "Bearer edgeplug-write-token-Hk4wQ2";

/// Loads a built component by name.
pub fn component(name: &str) -> Component {
    let path = component_path(name).unwrap_or_else(|e| panic!("{e:#}"));
    load_component(path).unwrap_or_else(|e| panic!("{e:#}"))
}

/// A local S3 store in a temporary folder, kept alive with the fixture.
pub struct S3Fixture {
    pub s3: LocalS3,
    _dir: tempfile::TempDir,
}

impl S3Fixture {
    /// The bytes of an object, read straight from disk.
    pub fn object(&self, key: &str) -> Option<Vec<u8>> {
        self.s3.read_object(BUCKET, key)
    }
}

/// A host context whose outgoing HTTP to `s3.test:9000` reaches a local,
/// signature-verifying S3 store, with every uploader config key set.
pub fn context_with_s3() -> (HostContext, S3Fixture) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let credentials = S3Credentials {
        access_key_id: ACCESS_KEY_ID.into(),
        secret_access_key: SECRET.into(),
    };
    let s3 = LocalS3::new(dir.path(), &credentials).expect("a local S3 store");
    s3.create_bucket(BUCKET).expect("a bucket");
    let context = HostContext::new();
    context.outbound().route(S3_AUTHORITY, Arc::new(s3.clone()));
    context.set_config("s3-endpoint", format!("http://{S3_AUTHORITY}"));
    context.set_config("s3-bucket", BUCKET);
    context.set_config("s3-region", "us-east-1");
    context.set_config("s3-access-key-id", ACCESS_KEY_ID);
    context.set_config("s3-secret-access-key", SECRET);
    (context, S3Fixture { s3, _dir: dir })
}

/// [`context_with_s3`] with a fault layer in front of the store: every
/// request to `s3.test:9000` passes through the returned [`FaultyS3`], on
/// which a test sets its faults.
pub fn context_with_faulty_s3() -> (HostContext, S3Fixture, FaultyS3) {
    let (context, s3) = context_with_s3();
    let faults = FaultyS3::new(Arc::new(s3.s3.clone()));
    // Replaces the plain store the fixture routed there.
    context
        .outbound()
        .route(S3_AUTHORITY, Arc::new(faults.clone()));
    (context, s3, faults)
}
