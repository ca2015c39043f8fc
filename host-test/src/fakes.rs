//! Host-side stand-ins for `edgeplug:worker/{counter,uploader}`, so that a
//! component importing them (the entry) can be tested alone.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use wasmtime::component::Resource;
use wasmtime_wasi::p2::{InputStream as _, StreamError};
use wasmtime_wasi_http::p2::body::{HostFutureTrailers, HostIncomingBody};

use crate::bindings::WitError;
use crate::bindings::entry::edgeplug::worker::{counter, uploader};
use crate::call_log::{CallLog, lock};
use edgeplug_host::HostState;

/// One call the entry made to the host's counter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterCall {
    /// The counter's name.
    pub name: String,
    /// The delta of an `increment`; `None` for a `get`.
    pub delta: Option<u64>,
}

/// A counter service in host memory, with a log of calls and an injectable
/// error. Clones share state.
#[derive(Clone, Default)]
pub struct FakeCounter {
    values: Arc<Mutex<HashMap<String, u64>>>,
    calls: Arc<CallLog<CounterCall>>,
    failure: Arc<Mutex<Option<WitError>>>,
}

impl std::fmt::Debug for FakeCounter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeCounter").finish_non_exhaustive()
    }
}

impl FakeCounter {
    /// The current value of `name` (0 if never incremented).
    pub fn value(&self, name: &str) -> u64 {
        lock(&self.values).get(name).copied().unwrap_or(0)
    }

    /// Every call so far, oldest first.
    pub fn calls(&self) -> Vec<CounterCall> {
        self.calls.all()
    }

    /// Makes every following call fail with `error` (`None` to stop failing).
    pub fn fail_with(&self, error: Option<WitError>) {
        *lock(&self.failure) = error;
    }

    fn enter(&self, name: &str, delta: Option<u64>) -> Result<(), WitError> {
        self.calls.record(CounterCall {
            name: name.to_owned(),
            delta,
        });
        lock(&self.failure).clone().map_or(Ok(()), Err)
    }
}

/// One object the [`FakeUploader`] received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedObject {
    /// The body, whole.
    pub body: Vec<u8>,
    /// The options the caller passed.
    pub content_type: Option<String>,
    /// The length the caller announced.
    pub content_length: Option<u64>,
}

/// An uploader that keeps objects in host memory, with an injectable error.
/// Clones share state.
#[derive(Clone, Default)]
pub struct FakeUploader {
    objects: Arc<Mutex<BTreeMap<String, ReceivedObject>>>,
    failure: Arc<Mutex<Option<WitError>>>,
}

impl std::fmt::Debug for FakeUploader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeUploader").finish_non_exhaustive()
    }
}

impl FakeUploader {
    /// The object stored under `key`, if any.
    pub fn object(&self, key: &str) -> Option<ReceivedObject> {
        lock(&self.objects).get(key).cloned()
    }

    /// The keys received so far, sorted.
    pub fn keys(&self) -> Vec<String> {
        lock(&self.objects).keys().cloned().collect()
    }

    /// Makes every following call fail with `error` (`None` to stop failing).
    pub fn fail_with(&self, error: Option<WitError>) {
        *lock(&self.failure) = error;
    }
}

/// The fake of type `F` the instance's context linked (a [`HostContext`]
/// puts both in every instance's extensions).
///
/// [`HostContext`]: crate::HostContext
fn linked<F: Clone + Send + Sync + 'static>(state: &HostState) -> wasmtime::Result<F> {
    state.extensions().get::<F>().cloned().ok_or_else(|| {
        wasmtime::format_err!(
            "no {} in this instance: link the fakes through a HostContext",
            std::any::type_name::<F>()
        )
    })
}

impl counter::Host for HostState {
    async fn increment(
        &mut self,
        name: String,
        delta: u64,
    ) -> wasmtime::Result<Result<u64, WitError>> {
        let counter = linked::<FakeCounter>(self)?;
        if let Err(error) = counter.enter(&name, Some(delta)) {
            return Ok(Err(error));
        }
        let mut values = lock(&counter.values);
        let value = values.entry(name).or_default();
        *value = value.saturating_add(delta);
        Ok(Ok(*value))
    }

    async fn get(&mut self, name: String) -> wasmtime::Result<Result<u64, WitError>> {
        let counter = linked::<FakeCounter>(self)?;
        if let Err(error) = counter.enter(&name, None) {
            return Ok(Err(error));
        }
        Ok(Ok(counter.value(&name)))
    }
}

impl uploader::Host for HostState {
    async fn put(
        &mut self,
        key: String,
        body: Resource<HostIncomingBody>,
        opts: uploader::PutOptions,
    ) -> wasmtime::Result<Result<uploader::ObjectInfo, WitError>> {
        let uploader = linked::<FakeUploader>(self)?;
        let mut body = self.table().delete(body)?;
        if let Some(error) = lock(&uploader.failure).clone() {
            return Ok(Err(error));
        }
        let Some(mut stream) = body.take_stream() else {
            return Ok(Err(WitError::Internal(
                "the request body's stream was already taken".into(),
            )));
        };
        let mut bytes = Vec::new();
        loop {
            match stream.blocking_read(64 * 1024).await {
                Ok(chunk) => bytes.extend_from_slice(&chunk),
                Err(StreamError::Closed) => break,
                Err(StreamError::LastOperationFailed(e)) => {
                    return Ok(Err(WitError::InvalidInput(format!(
                        "the request body was cut off: {e}"
                    ))));
                }
                Err(StreamError::Trap(e)) => return Err(e),
            }
        }
        // As the real uploader does: the end of the stream is the end of
        // the body only if its trailers arrive without error.
        drop(stream);
        let mut trailers = body.into_future_trailers();
        wasmtime_wasi::p2::Pollable::ready(&mut trailers).await;
        if let HostFutureTrailers::Done(Err(e)) = &trailers {
            return Ok(Err(WitError::InvalidInput(format!(
                "the request body was cut off: {e}"
            ))));
        }
        if let Some(expected) = opts.content_length.filter(|&n| n != bytes.len() as u64) {
            return Ok(Err(WitError::InvalidInput(format!(
                "the request body was cut off: {} bytes arrived, content-length said {expected}",
                bytes.len()
            ))));
        }
        if let Some(limit) = opts.max_length.filter(|&limit| bytes.len() as u64 > limit) {
            return Ok(Err(WitError::TooLarge(limit)));
        }
        let info = uploader::ObjectInfo {
            key: key.clone(),
            size: bytes.len() as u64,
            etag: format!("fake-{}", bytes.len()),
            checksum_sha256: None,
        };
        lock(&uploader.objects).insert(
            key,
            ReceivedObject {
                body: bytes,
                content_type: opts.content_type,
                content_length: opts.content_length,
            },
        );
        Ok(Ok(info))
    }

    async fn presign_put(
        &mut self,
        key: String,
        expires_in_secs: u32,
        opts: uploader::PutOptions,
    ) -> wasmtime::Result<Result<uploader::PresignedRequest, WitError>> {
        if let Some(error) = lock(&linked::<FakeUploader>(self)?.failure).clone() {
            return Ok(Err(error));
        }
        // As the contract says: both are required, and both are signed.
        let Some(content_type) = opts.content_type else {
            return Ok(Err(WitError::InvalidInput(
                "content-type is required: a presigned PUT binds the type it stores".into(),
            )));
        };
        let Some(content_length) = opts.content_length else {
            return Ok(Err(WitError::InvalidInput(
                "content-length is required: a presigned PUT binds the size it stores".into(),
            )));
        };
        if let Some(max) = opts.max_length.filter(|&max| content_length > max) {
            return Ok(Err(WitError::TooLarge(max)));
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Ok(Ok(uploader::PresignedRequest {
            url: format!("https://fake-uploader.invalid/{key}?expires={expires_in_secs}"),
            method: "PUT".into(),
            expires_at: now + u64::from(expires_in_secs),
            headers: vec![
                ("content-type".to_owned(), content_type),
                ("content-length".to_owned(), content_length.to_string()),
            ],
        }))
    }

    async fn presign_post(
        &mut self,
        opts: uploader::PostPolicyOptions,
        expires_in_secs: u32,
    ) -> wasmtime::Result<Result<uploader::PresignedPost, WitError>> {
        if let Some(error) = lock(&linked::<FakeUploader>(self)?.failure).clone() {
            return Ok(Err(error));
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let key = if opts.key_is_prefix {
            format!("{}${{filename}}", opts.key)
        } else {
            opts.key
        };
        Ok(Ok(uploader::PresignedPost {
            url: "https://fake-uploader.invalid/bucket".into(),
            fields: vec![
                ("key".to_owned(), key),
                ("content-type".to_owned(), opts.content_type),
                (
                    "x-fake-content-length-range".to_owned(),
                    format!("{},{}", opts.min_length, opts.max_length),
                ),
                ("x-fake-expires".to_owned(), expires_in_secs.to_string()),
            ],
            expires_at: now + u64::from(expires_in_secs),
        }))
    }
}
