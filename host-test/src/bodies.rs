//! Large request bodies generated on the fly, so tests can stream many
//! megabytes without holding them.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use sha2::{Digest, Sha256};
use wasmtime_wasi::p2::{InputStream, Pollable, StreamError, StreamResult};

/// The size of each generated chunk.
const CHUNK: usize = 64 * 1024;

/// The pattern repeats every `PERIOD` bytes. A prime, so that no chunk, part
/// or power-of-two boundary lines up with it: reordered, dropped or repeated
/// chunks and parts still change the bytes.
const PERIOD: usize = 1_048_573;

/// The byte at `offset` of every generated body.
pub fn pattern_byte(offset: u64) -> u8 {
    mix((offset % PERIOD as u64) as usize)
}

fn mix(index: usize) -> u8 {
    let x = (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ ((index as u64) >> 13);
    (x >> 56) as u8
}

/// One period of the pattern plus a chunk, so that every chunk is a
/// zero-copy slice: generating gigabytes then costs next to nothing.
fn pattern_block() -> &'static Bytes {
    static BLOCK: std::sync::OnceLock<Bytes> = std::sync::OnceLock::new();
    BLOCK.get_or_init(|| {
        (0..PERIOD + CHUNK)
            .map(|i| mix(i % PERIOD))
            .collect::<Vec<u8>>()
            .into()
    })
}

/// The pattern's bytes from `offset` on: `len` of them, or fewer when
/// `len` is over the chunk size a [`PatternBody`] sends at once. Cheap: a
/// slice of one shared block.
pub fn pattern_chunk(offset: u64, len: usize) -> Bytes {
    let start = (offset % PERIOD as u64) as usize;
    pattern_block().slice(start..start + len.min(CHUNK))
}

/// The SHA-256 (hex) of the first `len` bytes of the pattern.
pub fn pattern_sha256(len: u64) -> String {
    let mut hasher = Sha256::new();
    let mut offset = 0;
    while offset < len {
        let n = (len - offset).min(CHUNK as u64) as usize;
        hasher.update(pattern_chunk(offset, n));
        offset += n as u64;
    }
    hex::encode(hasher.finalize())
}

/// The SHA-256 (hex) of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// An HTTP body of `len` pattern bytes, produced a chunk at a time.
#[derive(Debug, Clone)]
pub struct PatternBody {
    offset: u64,
    len: u64,
}

impl PatternBody {
    /// A body of `len` bytes.
    pub fn new(len: u64) -> Self {
        Self { offset: 0, len }
    }
}

impl http_body::Body for PatternBody {
    type Data = Bytes;
    type Error = wasmtime_wasi_http::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        if self.offset >= self.len {
            return Poll::Ready(None);
        }
        let n = (self.len - self.offset).min(CHUNK as u64) as usize;
        let chunk = pattern_chunk(self.offset, n);
        self.offset += n as u64;
        Poll::Ready(Some(Ok(http_body::Frame::data(chunk))))
    }

    fn is_end_stream(&self) -> bool {
        self.offset >= self.len
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.len - self.offset)
    }
}

/// A `wasi:io` input stream of `len` pattern bytes, to hand to a guest.
#[derive(Debug, Clone)]
pub struct PatternStream {
    offset: u64,
    len: u64,
}

impl PatternStream {
    /// A stream of `len` bytes.
    pub fn new(len: u64) -> Self {
        Self { offset: 0, len }
    }
}

#[async_trait::async_trait]
impl Pollable for PatternStream {
    async fn ready(&mut self) {}
}

impl InputStream for PatternStream {
    fn read(&mut self, size: usize) -> StreamResult<Bytes> {
        if self.offset >= self.len {
            return Err(StreamError::Closed);
        }
        let n = (self.len - self.offset).min(size.min(CHUNK) as u64) as usize;
        let chunk = pattern_chunk(self.offset, n);
        self.offset += n as u64;
        Ok(chunk)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[test]
    fn chunks_follow_the_pattern_across_the_period() {
        let offset = PERIOD as u64 - 10;
        let chunk = pattern_chunk(offset, 100);
        for (i, byte) in chunk.iter().enumerate() {
            assert_eq!(*byte, pattern_byte(offset + i as u64));
        }
    }

    #[tokio::test]
    async fn body_and_digest_agree() {
        let len = 3 * CHUNK as u64 + 17;
        let bytes = PatternBody::new(len).collect().await.map(|b| b.to_bytes());
        let bytes = bytes.unwrap_or_default();
        assert_eq!(bytes.len() as u64, len);
        assert_eq!(sha256_hex(&bytes), pattern_sha256(len));
    }
}
