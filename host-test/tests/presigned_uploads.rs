//! Presigned uploads are bounded by the store itself: the uploader
//! component presigns, and a plain HTTP client (raw HTTP/1.1 over TCP, no
//! signing of its own) sends to the signature-verifying local S3 over the
//! network, as a browser would.
//!
//! A presigned `PUT` signs `content-length` and `content-type`, so the store
//! refuses another length or type; a presigned POST policy bounds the
//! file's length, its key and its content type.

mod common;

use std::net::SocketAddr;

use common::raw_http::{RawAnswer as Answer, exchange as raw_http};
use common::{BUCKET, S3Fixture, SECRET};
use host_test::bindings::WitError;
use host_test::bindings::uploader::exports::edgeplug::worker::uploader::{
    PostPolicyOptions, PresignedPost,
};
use host_test::{UploadOptions, UploaderClient};

/// The uploader component, configured for a local S3 served over TCP on a
/// loopback port; returns the store's address too.
async fn uploader() -> anyhow::Result<(UploaderClient, S3Fixture, SocketAddr)> {
    let (context, s3) = common::context_with_s3();
    let addr = s3.s3.spawn_server("127.0.0.1:0".parse()?).await?;
    // The URLs it presigns name the served store, so a plain client can
    // use them as they are.
    context.set_config("s3-endpoint", format!("http://{addr}"));
    let client = UploaderClient::new(&common::component("uploader"), context)?;
    Ok((client, s3, addr))
}

/// `(authority, path?query)` of an `http://` URL.
fn split_url(url: &str) -> anyhow::Result<(String, String)> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| anyhow::anyhow!("not an http URL: {url}"))?;
    let slash = rest.find('/').unwrap_or(rest.len());
    let path = if slash == rest.len() {
        "/".to_owned()
    } else {
        rest[slash..].to_owned()
    };
    Ok((rest[..slash].to_owned(), path))
}

/// A plain `PUT` of `body` to a presigned `url`, with `content_type`.
async fn plain_put(
    addr: SocketAddr,
    url: &str,
    content_type: &str,
    body: &[u8],
) -> anyhow::Result<Answer> {
    let (authority, path) = split_url(url)?;
    let head = format!(
        "PUT {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: {content_type}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    raw_http(addr, head, body).await
}

/// A plain `multipart/form-data` POST of `fields` (in order) and then the
/// file, as a browser's form sends it.
async fn plain_form_post(
    addr: SocketAddr,
    post: &PresignedPost,
    fields: &[(String, String)],
    file: &[u8],
) -> anyhow::Result<Answer> {
    let (authority, path) = split_url(&post.url)?;
    let boundary = common::raw_http::FORM_BOUNDARY;
    let body = common::raw_http::form_body(fields, "f.txt", "application/octet-stream", file);
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\n\
         Content-Type: multipart/form-data; boundary={boundary}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    raw_http(addr, head, &body).await
}

/// Asserts the store refused a form because the policy's condition on
/// `field` failed: S3's 400 `InvalidPolicyDocument`, naming the field.
fn assert_policy_refused(answer: &Answer, field: &str) {
    assert_eq!(answer.status, 400, "{}", answer.text);
    assert!(
        answer.text.contains("<Code>InvalidPolicyDocument</Code>")
            && answer.text.contains(&format!("field &apos;{field}&apos;")),
        "{}",
        answer.text
    );
}

fn put_options(content_type: &str, length: u64) -> UploadOptions {
    UploadOptions {
        content_type: Some(content_type.into()),
        content_length: Some(length),
        max_length: None,
    }
}

fn post_options(key: &str, key_is_prefix: bool, min: u64, max: u64) -> PostPolicyOptions {
    PostPolicyOptions {
        key: key.into(),
        key_is_prefix,
        content_type: "text/plain".into(),
        min_length: min,
        max_length: max,
    }
}

fn with_field(fields: &[(String, String)], name: &str, value: &str) -> Vec<(String, String)> {
    fields
        .iter()
        .map(|(k, v)| {
            let v = if k == name { value } else { v.as_str() };
            (k.clone(), v.to_owned())
        })
        .collect()
}

#[tokio::test]
async fn a_presigned_put_refuses_a_body_one_byte_over_its_signed_length() -> anyhow::Result<()> {
    let (uploader, s3, addr) = uploader().await?;
    let presigned = uploader
        .presign_put("docs/bounded.txt", 300, put_options("text/plain", 10))
        .await?
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    assert!(!presigned.url.contains(SECRET));
    let answer = plain_put(addr, &presigned.url, "text/plain", b"0123456789X").await?;
    assert_eq!(answer.status, 403, "{}", answer.text);
    assert_eq!(s3.object("docs/bounded.txt"), None);
    Ok(())
}

#[tokio::test]
async fn a_presigned_put_refuses_another_content_type() -> anyhow::Result<()> {
    let (uploader, s3, addr) = uploader().await?;
    let presigned = uploader
        .presign_put("docs/typed.txt", 300, put_options("text/plain", 4))
        .await?
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let answer = plain_put(addr, &presigned.url, "text/html", b"<b/>").await?;
    assert_eq!(answer.status, 403, "{}", answer.text);
    assert_eq!(s3.object("docs/typed.txt"), None);
    Ok(())
}

#[tokio::test]
async fn a_presigned_put_as_issued_stores_the_body() -> anyhow::Result<()> {
    let (uploader, s3, addr) = uploader().await?;
    let presigned = uploader
        .presign_put("docs/ok.txt", 300, put_options("text/plain", 10))
        .await?
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    assert_eq!(
        presigned.headers,
        [
            ("content-type".to_owned(), "text/plain".to_owned()),
            ("content-length".to_owned(), "10".to_owned())
        ]
    );
    let answer = plain_put(addr, &presigned.url, "text/plain", b"0123456789").await?;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(
        s3.object("docs/ok.txt").as_deref(),
        Some(&b"0123456789"[..])
    );
    Ok(())
}

#[tokio::test]
async fn presign_put_needs_a_length_and_a_type_within_the_limit() -> anyhow::Result<()> {
    let (uploader, _s3, _addr) = uploader().await?;
    let no_type = UploadOptions {
        content_type: None,
        ..put_options("x", 1)
    };
    match uploader.presign_put("k", 60, no_type).await? {
        Err(WitError::InvalidInput(m)) => assert!(m.contains("content-type"), "{m}"),
        other => panic!("expected invalid-input, got {other:?}"),
    }
    let no_length = UploadOptions {
        content_length: None,
        ..put_options("text/plain", 1)
    };
    match uploader.presign_put("k", 60, no_length).await? {
        Err(WitError::InvalidInput(m)) => assert!(m.contains("content-length"), "{m}"),
        other => panic!("expected invalid-input, got {other:?}"),
    }
    let over = UploadOptions {
        max_length: Some(100),
        ..put_options("text/plain", 101)
    };
    assert_eq!(
        uploader.presign_put("k", 60, over).await?,
        Err(WitError::TooLarge(100))
    );
    Ok(())
}

#[tokio::test]
async fn a_post_policy_refuses_a_file_over_its_length_range() -> anyhow::Result<()> {
    let (uploader, s3, addr) = uploader().await?;
    let post = uploader
        .presign_post(post_options("forms/over.txt", false, 1, 10), 300)
        .await?
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let answer = plain_form_post(addr, &post, &post.fields, b"0123456789X").await?;
    assert_eq!(answer.status, 400, "{}", answer.text);
    assert!(answer.text.contains("EntityTooLarge"), "{}", answer.text);
    assert_eq!(s3.object("forms/over.txt"), None);
    // Under the range's minimum too.
    let answer = plain_form_post(addr, &post, &post.fields, b"").await?;
    assert_eq!(answer.status, 400, "{}", answer.text);
    assert_eq!(s3.object("forms/over.txt"), None);
    Ok(())
}

#[tokio::test]
async fn a_post_policy_upload_inside_its_range_succeeds() -> anyhow::Result<()> {
    let (uploader, s3, addr) = uploader().await?;
    let post = uploader
        .presign_post(post_options("forms/ok.txt", false, 1, 10), 300)
        .await?
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    assert_eq!(post.url, format!("http://{addr}/{BUCKET}"));
    for (name, value) in &post.fields {
        assert!(!value.contains(SECRET), "{name}");
    }
    let answer = plain_form_post(addr, &post, &post.fields, b"0123456789").await?;
    assert!(
        (200..300).contains(&answer.status),
        "{}: {}",
        answer.status,
        answer.text
    );
    assert_eq!(
        s3.object("forms/ok.txt").as_deref(),
        Some(&b"0123456789"[..])
    );
    Ok(())
}

#[tokio::test]
async fn a_post_policy_binds_the_key_and_the_content_type() -> anyhow::Result<()> {
    let (uploader, s3, addr) = uploader().await?;
    let post = uploader
        .presign_post(post_options("forms/bound.txt", false, 0, 10), 300)
        .await?
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let other_key = with_field(&post.fields, "key", "forms/other.txt");
    let answer = plain_form_post(addr, &post, &other_key, b"x").await?;
    assert_policy_refused(&answer, "key");
    assert_eq!(s3.object("forms/other.txt"), None);
    let html = with_field(&post.fields, "Content-Type", "text/html");
    let answer = plain_form_post(addr, &post, &html, b"<b/>").await?;
    assert_policy_refused(&answer, "content-type");
    assert_eq!(s3.object("forms/bound.txt"), None);
    Ok(())
}

#[tokio::test]
async fn a_post_policy_for_a_folder_takes_any_key_inside_it_only() -> anyhow::Result<()> {
    let (uploader, s3, addr) = uploader().await?;
    let post = uploader
        .presign_post(post_options("users/42", true, 0, 10), 300)
        .await?
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let key = post
        .fields
        .iter()
        .find(|(k, _)| k == "key")
        .map(|(_, v)| v.clone());
    assert_eq!(key.as_deref(), Some("users/42/${filename}"));
    // The browser names the file inside the folder.
    let inside = with_field(&post.fields, "key", "users/42/photo.txt");
    let answer = plain_form_post(addr, &post, &inside, b"hi").await?;
    assert!((200..300).contains(&answer.status), "{}", answer.text);
    assert_eq!(s3.object("users/42/photo.txt").as_deref(), Some(&b"hi"[..]));
    // A sibling that shares the folder's name as a prefix is outside it.
    let sibling = with_field(&post.fields, "key", "users/421/photo.txt");
    let answer = plain_form_post(addr, &post, &sibling, b"hi").await?;
    assert_policy_refused(&answer, "key");
    assert_eq!(s3.object("users/421/photo.txt"), None);
    Ok(())
}

#[tokio::test]
async fn presign_post_checks_its_arguments() -> anyhow::Result<()> {
    let (uploader, _s3, _addr) = uploader().await?;
    match uploader
        .presign_post(post_options("k", false, 11, 10), 60)
        .await?
    {
        Err(WitError::InvalidInput(m)) => assert!(m.contains("min-length"), "{m}"),
        other => panic!("expected invalid-input, got {other:?}"),
    }
    match uploader
        .presign_post(post_options("bidi\u{202E}txt.exe", false, 0, 10), 60)
        .await?
    {
        Err(WitError::InvalidInput(m)) => assert!(m.contains("U+202E"), "{m}"),
        other => panic!("expected invalid-input, got {other:?}"),
    }
    assert!(matches!(
        uploader
            .presign_post(post_options("k", false, 0, 10), 0)
            .await?,
        Err(WitError::InvalidInput(_))
    ));
    Ok(())
}

#[tokio::test]
async fn a_post_policy_with_a_session_token_in_another_region_is_accepted_by_the_store()
-> anyhow::Result<()> {
    // Temporary credentials: the token is a secret, so it is never printed.
    const SESSION_TOKEN: &str = "edgeplug-session-token-Rb7nK2";
    let (context, s3) = common::context_with_s3();
    let addr = s3.s3.spawn_server("127.0.0.1:0".parse()?).await?;
    context.set_config("s3-endpoint", format!("http://{addr}"));
    context.set_config("s3-region", "eu-central-1");
    context.set_config("s3-session-token", SESSION_TOKEN);
    let uploader = UploaderClient::new(&common::component("uploader"), context)?;
    let post = uploader
        .presign_post(post_options("forms/session.txt", false, 1, 10), 300)
        .await?
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let credential = post
        .fields
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("x-amz-credential"))
        .map(|(_, value)| value.as_str())
        .unwrap_or_default();
    assert!(
        credential.ends_with("/eu-central-1/s3/aws4_request"),
        "{credential}"
    );
    let answer = plain_form_post(addr, &post, &post.fields, b"hi").await?;
    assert!(
        (200..300).contains(&answer.status),
        "{}: {}",
        answer.status,
        answer.text.replace(SESSION_TOKEN, "[token]")
    );
    assert_eq!(s3.object("forms/session.txt").as_deref(), Some(&b"hi"[..]));

    // Another token than the policy names is refused.
    let other = with_field(&post.fields, "x-amz-security-token", "another-token");
    let answer = plain_form_post(addr, &post, &other, b"ho").await?;
    assert_eq!(
        answer.status,
        400,
        "{}",
        answer.text.replace(SESSION_TOKEN, "[token]")
    );
    assert!(
        answer.text.contains("<Code>InvalidPolicyDocument</Code>")
            && answer
                .text
                .contains("field &apos;x-amz-security-token&apos;"),
        "{}",
        answer.text.replace(SESSION_TOKEN, "[token]")
    );
    assert_eq!(s3.object("forms/session.txt").as_deref(), Some(&b"hi"[..]));
    Ok(())
}
