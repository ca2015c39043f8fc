//! A host-side fake of an *imported* `wasi:http/incoming-handler`: the next
//! handler a middleware component hands requests on to.
//!
//! The request the guest passes on is read back into an `http::Request`
//! and sent through an [`OutboundHttp`], so the same routes (canned answers,
//! closures) answer it and the same log records it.
//!
//! [`HttpWorker`](crate::HttpWorker) links it with the context's
//! [`HostContext::next_handler`](crate::HostContext::next_handler), so a
//! test can drive a middleware component alone.

use std::pin::Pin;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use wasmtime::component::{Linker, Resource};
use wasmtime_wasi::p2::{InputStream, Pollable, StreamError};
use wasmtime_wasi_http::p2::bindings::http::types::{HostIncomingRequest as _, Method, Scheme};
use wasmtime_wasi_http::p2::types::{HostIncomingRequest, HostResponseOutparam};
use wasmtime_wasi_http::{WasiHttpHooks, WasiHttpView};

use edgeplug_host::{HostState, OutboundHttp};

/// The interface a middleware imports to reach its next handler.
pub const NEXT_HANDLER: &str = "wasi:http/incoming-handler@0.2.6";

/// Links a fake of the imported [`NEXT_HANDLER`] into `linker`: each
/// request the guest hands on goes to `next`'s routes, by the request's
/// authority (`localhost` for requests [`crate::Request`] builds).
pub fn add_to_linker(linker: &mut Linker<HostState>, next: OutboundHttp) -> anyhow::Result<()> {
    let mut instance = linker.instance(NEXT_HANDLER)?;
    instance.func_wrap_async(
        "handle",
        move |mut store,
              (request, out): (
            Resource<HostIncomingRequest>,
            Resource<HostResponseOutparam>,
        )| {
            let mut next = next.clone();
            Box::new(async move {
                let request = read_request(store.data_mut(), request).await?;
                let out = store.data_mut().table().delete(out)?;
                let done = Box::new(async { Ok(()) });
                let answer = Pin::from(next.send_request(request, None, done)).await;
                let answer = answer.map(|(response, _io)| response).map_err(|e| {
                    wasmtime_wasi_http::p2::bindings::http::types::ErrorCode::InternalError(Some(
                        e.to_string(),
                    ))
                });
                (out.send)(answer);
                Ok(())
            })
        },
    )?;
    Ok(())
}

/// Takes the guest's request out of the table, body read whole.
async fn read_request(
    state: &mut HostState,
    request: Resource<HostIncomingRequest>,
) -> wasmtime::Result<http::Request<wasmtime_wasi_http::WasiBody>> {
    let borrow = || Resource::<HostIncomingRequest>::new_borrow(request.rep());
    let mut view = state.http();
    let method = match view.method(borrow())? {
        Method::Get => "GET".to_owned(),
        Method::Head => "HEAD".to_owned(),
        Method::Post => "POST".to_owned(),
        Method::Put => "PUT".to_owned(),
        Method::Delete => "DELETE".to_owned(),
        Method::Connect => "CONNECT".to_owned(),
        Method::Options => "OPTIONS".to_owned(),
        Method::Trace => "TRACE".to_owned(),
        Method::Patch => "PATCH".to_owned(),
        Method::Other(other) => other,
    };
    let scheme = match view.scheme(borrow())? {
        Some(Scheme::Https) => "https".to_owned(),
        Some(Scheme::Other(other)) => other,
        _ => "http".to_owned(),
    };
    let authority = view
        .authority(borrow())?
        .unwrap_or_else(|| "localhost".to_owned());
    let path = view
        .path_with_query(borrow())?
        .unwrap_or_else(|| "/".to_owned());
    let fields = view.headers(borrow())?;
    let headers = wasmtime_wasi_http::p2::bindings::http::types::HostFields::entries(
        &mut view,
        Resource::new_borrow(fields.rep()),
    )?;
    wasmtime_wasi_http::p2::bindings::http::types::HostFields::drop(&mut view, fields)?;
    let mut taken = state.table().delete(request)?;
    let mut body = Vec::new();
    if let Some(mut stream) = taken.body.as_mut().and_then(|b| b.take_stream()) {
        loop {
            stream.ready().await;
            match stream.read(64 * 1024) {
                Ok(chunk) => body.extend_from_slice(&chunk),
                Err(StreamError::Closed) => break,
                Err(e) => {
                    return Err(wasmtime::Error::msg(format!(
                        "reading the passed-on body: {e}"
                    )));
                }
            }
        }
    }
    let mut builder = http::Request::builder()
        .method(method.as_str())
        .uri(format!("{scheme}://{authority}{path}"));
    for (name, value) in headers {
        builder = builder.header(name, value);
    }
    builder
        .body(
            Full::new(Bytes::from(body))
                .map_err(|never| match never {})
                .boxed_unsync(),
        )
        .map_err(|e| wasmtime::Error::msg(format!("the passed-on request is not valid HTTP: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CannedResponse, HostContext, OutboundRequest};
    use wasmtime_wasi_http::p2::bindings::ProxyPre;

    /// The rate limiter alone: its counter is the host's fake, its next
    /// handler this fake. Needs `cargo xtask build` first.
    #[tokio::test]
    async fn a_middleware_hands_requests_to_the_fake_next_handler() -> anyhow::Result<()> {
        let path = crate::artifacts::component_path("rate-limiter")?;
        let component = crate::load_component(path)?;
        let next = OutboundHttp::new();
        next.route_fn("localhost", |request: &OutboundRequest| {
            CannedResponse::text(
                200,
                format!("next saw {} {}", request.path(), request.text()),
            )
        });
        let mut linker = crate::linker()?;
        add_to_linker(&mut linker, next.clone())?;
        let pre = ProxyPre::new(linker.instantiate_pre(&component)?)?;
        let context = HostContext::new().with_inherited_stdio(false);
        context.set_config("rate-limit-requests", "1");

        let mut statuses = Vec::new();
        for _ in 0..2 {
            let request = crate::Request::post("/x?y=1")
                .header("x-client-ip", "203.0.113.7")
                .body("hello")
                .build()?;
            let mut store = context.new_store();
            let (sender, receiver) = tokio::sync::oneshot::channel();
            let request = store.data_mut().http().new_incoming_request(
                wasmtime_wasi_http::p2::bindings::http::types::Scheme::Http,
                request,
            )?;
            let out = store.data_mut().http().new_response_outparam(sender)?;
            let proxy = pre.instantiate_async(&mut store).await?;
            proxy
                .wasi_http_incoming_handler()
                .call_handle(&mut store, request, out)
                .await?;
            let response = receiver.await?.map_err(|e| anyhow::anyhow!("{e:?}"))?;
            let status = response.status().as_u16();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| anyhow::anyhow!("{e:?}"))?
                .to_bytes();
            statuses.push((status, String::from_utf8_lossy(&body).into_owned()));
        }
        assert_eq!(statuses[0], (200, "next saw /x hello".to_owned()));
        assert_eq!(statuses[1].0, 429);
        let passed = next.requests();
        assert_eq!(passed.len(), 1);
        assert_eq!(passed[0].header("x-client-ip"), Some("203.0.113.7"));
        assert_eq!(context.fake_counter().calls().len(), 2);
        Ok(())
    }
}
