//! A local S3-compatible store that verifies SigV4: `s3s` routes requests and
//! checks their signatures, our own file store (`store/`) keeps the objects in a folder.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use http_body_util::BodyExt;
use s3s::auth::SimpleAuth;
use s3s::service::{S3Service, S3ServiceBuilder};
use wasmtime_wasi_http::{Error as HttpError, WasiBody};

use crate::outbound::OutboundHandler;

mod cors;
mod store;

use self::store::FileStore;
pub use cors::CorsRule;

/// Credentials and the bucket a [`LocalS3`] is set up with.
#[derive(Clone)]
pub struct S3Credentials {
    /// The access key id clients sign with.
    pub access_key_id: String,
    /// The secret access key clients sign with.
    pub secret_access_key: String,
}

impl std::fmt::Debug for S3Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret, not even in a test failure.
        f.debug_struct("S3Credentials")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// An S3-compatible store over a folder. It checks every request's SigV4
/// signature (header or presigned), so a badly signed upload fails.
///
/// Objects land as plain files: `{root}/{bucket}/{key}`. Everything else
/// (metadata, files being written, open multipart uploads) is kept in the
/// hidden folder `{root}/.edgeplug-s3/`, which is never taken for a bucket.
///
/// It answers browsers on other origins only once given a CORS rule
/// ([`LocalS3::with_cors`]), as an S3 bucket does.
#[derive(Clone)]
pub struct LocalS3 {
    service: S3Service,
    store: FileStore,
    root: PathBuf,
    cors: Option<Arc<CorsRule>>,
}

impl std::fmt::Debug for LocalS3 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalS3")
            .field("root", &self.root)
            .field("cors", &self.cors)
            .finish_non_exhaustive()
    }
}

/// The store over `root`, created if missing.
fn open_store(root: &Path) -> anyhow::Result<FileStore> {
    std::fs::create_dir_all(root)?;
    FileStore::open(root)
        .map_err(|e| anyhow::anyhow!("cannot open S3 data folder {}: {e}", root.display()))
}

impl LocalS3 {
    /// A store rooted at `root` (created if missing) that accepts requests
    /// signed with `credentials`.
    pub fn new(root: impl AsRef<Path>, credentials: &S3Credentials) -> anyhow::Result<Self> {
        let root = root.as_ref();
        let store = open_store(root)?;
        let mut builder = S3ServiceBuilder::new(store.clone());
        builder.set_auth(SimpleAuth::from_single(
            credentials.access_key_id.clone(),
            credentials.secret_access_key.clone(),
        ));
        Ok(Self {
            service: builder.build(),
            store,
            root: root.canonicalize()?,
            cors: None,
        })
    }

    /// A store rooted at `root` that checks no signature at all: only for
    /// measuring the store itself (`cargo xtask bench` compares uploads
    /// through the worker against writes straight into this).
    pub fn without_auth(root: impl AsRef<Path>) -> anyhow::Result<Self> {
        let root = root.as_ref();
        let store = open_store(root)?;
        Ok(Self {
            service: S3ServiceBuilder::new(store.clone()).build(),
            store,
            root: root.canonicalize()?,
            cors: None,
        })
    }

    /// The store answering browsers as a bucket with the CORS rule `rule`
    /// does (see [`CorsRule`]), over TCP and in process alike. A rule
    /// with no origins leaves the store without CORS, as it starts.
    #[must_use]
    pub fn with_cors(mut self, rule: CorsRule) -> Self {
        self.cors = (!rule.allowed_origins.is_empty()).then(|| Arc::new(rule));
        self
    }

    /// The folder objects are stored in.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Creates `bucket` (a folder) if it does not exist.
    pub fn create_bucket(&self, bucket: &str) -> anyhow::Result<()> {
        std::fs::create_dir_all(self.root.join(bucket))?;
        Ok(())
    }

    /// Where the object `key` of `bucket` is stored on disk.
    pub fn object_path(&self, bucket: &str, key: &str) -> PathBuf {
        self.root.join(bucket).join(key)
    }

    /// Reads an object straight from disk; `None` if it does not exist.
    pub fn read_object(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        std::fs::read(self.object_path(bucket, key)).ok()
    }

    /// The ids of multipart uploads that were created and neither completed
    /// nor aborted, in every bucket: what `ListMultipartUploads` would list.
    pub fn open_multipart_uploads(&self) -> Vec<String> {
        self.store.open_upload_ids()
    }

    /// The `s3s` service, to mount elsewhere; without the CORS rule, which
    /// sits in front of it.
    pub fn service(&self) -> &S3Service {
        &self.service
    }

    /// Serves the store over HTTP on `listener` until the task is dropped.
    pub async fn serve(self, listener: tokio::net::TcpListener) -> anyhow::Result<()> {
        loop {
            let (stream, _) = listener.accept().await?;
            let (service, cors) = (self.service.clone(), self.cors.clone());
            let service =
                hyper::service::service_fn(move |request: http::Request<hyper::body::Incoming>| {
                    let (service, cors) = (service.clone(), cors.clone());
                    async move {
                        cors::call(cors.as_deref(), &service, request.map(s3s::Body::from)).await
                    }
                });
            tokio::spawn(async move {
                let io = hyper_util::rt::TokioIo::new(stream);
                let builder = hyper_util::server::conn::auto::Builder::new(
                    hyper_util::rt::TokioExecutor::new(),
                );
                if let Err(error) = builder.serve_connection(io, service).await {
                    tracing::debug!(%error, "local S3 connection ended with an error");
                }
            });
        }
    }

    /// Binds `addr` and serves in a background task, returning the bound address.
    pub async fn spawn_server(&self, addr: SocketAddr) -> anyhow::Result<SocketAddr> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {addr} for the local S3 store: {e}"))?;
        let bound = listener.local_addr()?;
        let this = self.clone();
        tokio::spawn(async move {
            if let Err(error) = this.serve(listener).await {
                tracing::error!(%error, "local S3 server stopped");
            }
        });
        Ok(bound)
    }
}

#[async_trait]
impl OutboundHandler for LocalS3 {
    async fn handle(
        &self,
        request: http::Request<WasiBody>,
    ) -> Result<http::Response<WasiBody>, HttpError> {
        let request = request.map(s3s::Body::http_body_unsync);
        let response = cors::call(self.cors.as_deref(), &self.service, request)
            .await
            .map_err(|e| HttpError::InternalError(Some(format!("local S3: {e:?}"))))?;
        Ok(response.map(|body| {
            body.map_err(|e| HttpError::InternalError(Some(format!("local S3 body: {e}"))))
                .boxed_unsync()
        }))
    }
}
