//! Calling a component's edgeplug exports directly, without HTTP.

use anyhow::Context as _;
use bytes::Bytes;
use http_body_util::BodyExt as _;
use wasmtime::component::Component;
use wasmtime_wasi_http::p2::body::HostIncomingBody;

use crate::bindings::WitError;
use crate::bindings::counter::CounterComponentPre;
use crate::bindings::uploader::UploaderComponentPre;
use crate::bindings::uploader::exports::edgeplug::worker::uploader::{
    ObjectInfo, PostPolicyOptions, PresignedPost, PresignedRequest, PutOptions,
};
use crate::context::HostContext;
use crate::linker;

/// The `edgeplug:worker/counter` export of a component; every call runs in
/// a fresh instance.
#[derive(Clone)]
pub struct CounterClient {
    pre: CounterComponentPre<edgeplug_host::HostState>,
    context: HostContext,
}

impl std::fmt::Debug for CounterClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CounterClient").finish_non_exhaustive()
    }
}

impl CounterClient {
    /// Links `component`, which must export `edgeplug:worker/counter`.
    pub fn new(component: &Component, context: HostContext) -> anyhow::Result<Self> {
        let pre = linker()?.instantiate_pre(component)?;
        let pre = CounterComponentPre::new(pre)
            .map_err(anyhow::Error::from)
            .context("the component does not export edgeplug:worker/counter")?;
        Ok(Self { pre, context })
    }

    /// Calls `increment(name, delta)`. The outer error is a trap.
    pub async fn increment(&self, name: &str, delta: u64) -> anyhow::Result<Result<u64, WitError>> {
        let mut store = self.context.new_store();
        let instance = self.pre.instantiate_async(&mut store).await?;
        Ok(instance
            .edgeplug_worker_counter()
            .call_increment(&mut store, name, delta)
            .await?
            .map_err(WitError::from))
    }

    /// Calls `get(name)`. The outer error is a trap.
    pub async fn get(&self, name: &str) -> anyhow::Result<Result<u64, WitError>> {
        let mut store = self.context.new_store();
        let instance = self.pre.instantiate_async(&mut store).await?;
        Ok(instance
            .edgeplug_worker_counter()
            .call_get(&mut store, name)
            .await?
            .map_err(WitError::from))
    }
}

/// The `edgeplug:worker/uploader` export of a component; every call runs in
/// a fresh instance.
#[derive(Clone)]
pub struct UploaderClient {
    pre: UploaderComponentPre<edgeplug_host::HostState>,
    context: HostContext,
}

impl std::fmt::Debug for UploaderClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploaderClient").finish_non_exhaustive()
    }
}

/// Options for [`UploaderClient::put`].
pub type UploadOptions = PutOptions;

impl UploaderClient {
    /// Links `component`, which must export `edgeplug:worker/uploader`.
    pub fn new(component: &Component, context: HostContext) -> anyhow::Result<Self> {
        let pre = linker()?.instantiate_pre(component)?;
        let pre = UploaderComponentPre::new(pre)
            .map_err(anyhow::Error::from)
            .context("the component does not export edgeplug:worker/uploader")?;
        Ok(Self { pre, context })
    }

    /// Calls `put(key, body, opts)`, with `body` handed to the guest as a
    /// `wasi:http/types.incoming-body`: its data frames are the body, an
    /// error frame is a cut-off body. The outer error is a trap.
    pub async fn put<B>(
        &self,
        key: &str,
        body: B,
        opts: PutOptions,
    ) -> anyhow::Result<Result<ObjectInfo, WitError>>
    where
        B: http_body::Body<Data = Bytes, Error = wasmtime_wasi_http::Error> + Send + 'static,
    {
        let mut store = self.context.new_store();
        let body = HostIncomingBody::new(body.boxed_unsync());
        let body = store.data_mut().table().push(body)?;
        let instance = self.pre.instantiate_async(&mut store).await?;
        Ok(instance
            .edgeplug_worker_uploader()
            .call_put(&mut store, key, body, &opts)
            .await?
            .map_err(WitError::from))
    }

    /// Calls `presign-put(key, expires_in_secs, opts)`. The outer error is a trap.
    pub async fn presign_put(
        &self,
        key: &str,
        expires_in_secs: u32,
        opts: PutOptions,
    ) -> anyhow::Result<Result<PresignedRequest, WitError>> {
        let mut store = self.context.new_store();
        let instance = self.pre.instantiate_async(&mut store).await?;
        Ok(instance
            .edgeplug_worker_uploader()
            .call_presign_put(&mut store, key, expires_in_secs, &opts)
            .await?
            .map_err(WitError::from))
    }

    /// Calls `presign-post(opts, expires_in_secs)`. The outer error is a trap.
    pub async fn presign_post(
        &self,
        opts: PostPolicyOptions,
        expires_in_secs: u32,
    ) -> anyhow::Result<Result<PresignedPost, WitError>> {
        let mut store = self.context.new_store();
        let instance = self.pre.instantiate_async(&mut store).await?;
        Ok(instance
            .edgeplug_worker_uploader()
            .call_presign_post(&mut store, &opts, expires_in_secs)
            .await?
            .map_err(WitError::from))
    }
}
