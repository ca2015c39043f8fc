//! The wasm glue: wstd's HTTP handler in front of [`app::handle`], and
//! [`Platform`] over the component's imports.

use http_body_util::{BodyExt as _, Limited};
use wstd::http::{Body, Error, Request, Response};

use crate::app;
use crate::bindings::edgeplug::worker::types::Error as WitError;
use crate::bindings::edgeplug::worker::{counter, uploader};
use crate::bindings::gcore::fastedge::{dictionary, secret};
use crate::platform::{EdgeplugError, Platform, PolicyRequest, PresignedPost};
use crate::policy::MAX_REQUEST_BYTES;

#[wstd::http_server]
async fn main(request: Request<Body>) -> Result<Response<Body>, Error> {
    let (parts, body) = request.into_parts();
    let authorization = parts
        .headers
        .get("authorization")
        .and_then(|value| value.to_str().ok());
    // Only a policy request has a body worth reading, and a small one: a
    // larger body is cut at the limit and then refused as too large.
    let body = match Limited::new(body.into_boxed_body(), MAX_REQUEST_BYTES + 1)
        .collect()
        .await
    {
        Ok(collected) => collected.to_bytes().to_vec(),
        Err(_) => vec![b' '; MAX_REQUEST_BYTES + 1],
    };
    let reply = app::handle(
        &Imported,
        &app::Request {
            method: parts.method.as_str(),
            path: parts.uri.path(),
            authorization,
            body: &body,
        },
    );
    let mut response = Response::builder().status(reply.status);
    for (name, value) in reply.headers {
        response = response.header(name, value);
    }
    Ok(response.body(Body::from(reply.body))?)
}

/// The component's imports.
struct Imported;

impl From<WitError> for EdgeplugError {
    fn from(error: WitError) -> Self {
        match error {
            WitError::InvalidInput(message) => Self::InvalidInput(message),
            WitError::Unauthorized(message) => Self::Unauthorized(message),
            WitError::TooLarge(limit) => Self::TooLarge(limit),
            WitError::Unavailable(message) => Self::Unavailable(message),
            WitError::Upstream(upstream) => {
                // The message may name accounts: the log keeps it.
                println!(
                    "storage refused: {} {}: {}",
                    upstream.status, upstream.code, upstream.message
                );
                Self::Upstream {
                    status: upstream.status,
                    code: upstream.code,
                }
            }
            WitError::Internal(message) => Self::Internal(message),
        }
    }
}

impl Platform for Imported {
    fn env(&self, name: &str) -> Option<String> {
        dictionary::get(name)
    }

    fn secret(&self, name: &str) -> Result<Option<String>, String> {
        secret::get(name).map_err(|error| format!("{error:?}"))
    }

    fn increment(&self, name: &str) -> Result<u64, EdgeplugError> {
        Ok(counter::increment(name, 1)?)
    }

    fn count(&self, name: &str) -> Result<u64, EdgeplugError> {
        Ok(counter::get(name)?)
    }

    fn presign_post(&self, request: &PolicyRequest) -> Result<PresignedPost, EdgeplugError> {
        let presigned = uploader::presign_post(
            &uploader::PostPolicyOptions {
                key: request.key.clone(),
                key_is_prefix: false,
                content_type: request.content_type.clone(),
                // An empty file is no upload.
                min_length: 1,
                max_length: request.max_length,
            },
            request.expires_in_secs,
        )?;
        Ok(PresignedPost {
            url: presigned.url,
            fields: presigned.fields,
            expires_at: presigned.expires_at,
        })
    }

    fn random_bytes(&self) -> [u8; 16] {
        let mut bytes = [0; 16];
        wstd::rand::get_random_bytes(&mut bytes);
        bytes
    }

    fn log(&self, line: &str) {
        // FastEdge keeps an app's stdout, not its stderr.
        println!("{line}");
    }
}
