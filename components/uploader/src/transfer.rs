//! Reading the caller's body into a bounded buffer, one part (or one whole
//! small body) at a time, hashing it as it arrives and enforcing the
//! declared length and the size limit.
//!
//! The loop is written against [`Source`] so that its accounting is tested
//! on the host; `host` implements it with `wasi:io` `blocking-read`.
//!
//! The body goes through the component (rather than being spliced
//! host-side) because the component must see every byte to send its
//! SHA-256, and must hold a part to be able to send it again on a retry.

use sha2::{Digest, Sha256};

use crate::checksum::Sha256Digest;
use crate::error::Error;

/// The most bytes one read asks for.
pub const CHUNK: u64 = 64 * 1024;

/// How many reads in a row may return nothing before the body is declared
/// stuck; a blocking read returns at least one byte unless something is
/// wrong, so this only guards against a misbehaving host.
const MAX_EMPTY_READS: u32 = 1000;

/// What a stream operation reported, seen from the transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamFault {
    /// The stream ended, and the body with it: the source checked that it
    /// ended whole (see `host`'s finish and trailers check).
    Closed,
    /// The stream failed; the text is the host's description.
    Failed(String),
}

/// The caller's body.
pub trait Source {
    /// Reads up to `max` bytes, blocking until at least one byte arrived or
    /// the stream ended or failed.
    fn read(&mut self, max: u64) -> Result<Vec<u8>, StreamFault>;
}

/// Why reading the body stopped before it was read whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransferError {
    /// The body ended before `content-length` bytes: it was cut off.
    #[error("the request body was cut off: {moved} bytes arrived, content-length said {expected}")]
    BodyTooShort {
        /// Bytes read before the end.
        moved: u64,
        /// The declared length.
        expected: u64,
    },
    /// The body had more than `content-length` bytes.
    #[error("body was more than {expected} bytes, content-length said {expected}")]
    BodyTooLong {
        /// The declared length.
        expected: u64,
    },
    /// The body is longer than the limit (`max-length`, or what an upload
    /// of unknown length can hold).
    #[error("body is larger than {0} bytes")]
    TooLarge(u64),
    /// Reading the body failed, or the host reported its end with an
    /// error (a client that went away): it was cut off.
    #[error("the request body was cut off: {0}")]
    BodyFailed(String),
    /// Reads kept returning nothing.
    #[error("the body stalled after {moved} bytes")]
    Stalled {
        /// Bytes read before it stalled.
        moved: u64,
    },
}

impl From<TransferError> for Error {
    fn from(err: TransferError) -> Self {
        match err {
            TransferError::TooLarge(limit) => Error::TooLarge(limit),
            TransferError::BodyTooShort { .. }
            | TransferError::BodyTooLong { .. }
            | TransferError::BodyFailed(_) => Error::InvalidInput(err.to_string()),
            TransferError::Stalled { .. } => Error::Unavailable(err.to_string()),
        }
    }
}

/// Reads a body piece by piece, keeping count across pieces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyReader {
    read: u64,
    declared: Option<u64>,
    limit: Option<u64>,
    ended: bool,
}

impl BodyReader {
    /// A reader of a body that declared `declared` bytes (when known) and
    /// may have at most `limit` bytes (when limited).
    pub fn new(declared: Option<u64>, limit: Option<u64>) -> Self {
        Self {
            read: 0,
            declared,
            limit,
            ended: false,
        }
    }

    /// Bytes read so far.
    pub fn total(&self) -> u64 {
        self.read
    }

    /// Whether the body has ended: nothing more will be read.
    pub fn ended(&self) -> bool {
        self.ended
    }

    /// Clears `buf` and fills it with the next bytes of the body, up to
    /// `want` of them, or fewer when the body ends. Returns the SHA-256 of
    /// what is in `buf`.
    ///
    /// With a declared length, the body is checked to end exactly there
    /// (reading at most one byte more); past `limit` it fails with
    /// [`TransferError::TooLarge`] after reading at most one byte more.
    /// `buf` keeps its allocation: one buffer serves every part.
    pub fn fill(
        &mut self,
        source: &mut impl Source,
        buf: &mut Vec<u8>,
        want: usize,
    ) -> Result<Sha256Digest, TransferError> {
        buf.clear();
        let mut hasher = Sha256::new();
        let mut empty = 0u32;
        while !self.ended {
            let room = want.saturating_sub(buf.len()) as u64;
            let mut ask = match self.declared {
                // Everything declared has arrived: the body must end here.
                Some(declared) if self.read >= declared => 1,
                _ if room == 0 => break,
                Some(declared) => room.min(CHUNK).min(declared - self.read),
                None => room.min(CHUNK),
            };
            if let Some(limit) = self.limit {
                // One byte past the limit is enough to know.
                ask = ask.min(limit.saturating_sub(self.read).saturating_add(1));
            }
            match source.read(ask) {
                Ok(bytes) if bytes.is_empty() => {
                    empty += 1;
                    if empty >= MAX_EMPTY_READS {
                        return Err(TransferError::Stalled { moved: self.read });
                    }
                }
                Ok(bytes) => {
                    empty = 0;
                    if let Some(expected) = self.declared
                        && self.read + bytes.len() as u64 > expected
                    {
                        return Err(TransferError::BodyTooLong { expected });
                    }
                    self.read += bytes.len() as u64;
                    if let Some(limit) = self.limit
                        && self.read > limit
                    {
                        return Err(TransferError::TooLarge(limit));
                    }
                    hasher.update(&bytes);
                    buf.extend_from_slice(&bytes);
                }
                Err(StreamFault::Closed) => {
                    if let Some(expected) = self.declared
                        && self.read < expected
                    {
                        return Err(TransferError::BodyTooShort {
                            moved: self.read,
                            expected,
                        });
                    }
                    self.ended = true;
                }
                Err(StreamFault::Failed(reason)) => return Err(TransferError::BodyFailed(reason)),
            }
        }
        Ok(hasher.finalize().into())
    }
}

/// The ETag header's value without its quotes (S3 sends `"<md5>"`).
pub fn etag(header: Option<&[u8]>) -> String {
    let text = header.map(String::from_utf8_lossy).unwrap_or_default();
    let text = text.trim();
    text.strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text)
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checksum::sha256;

    /// A scripted body of `len` bytes (byte `i` is `i % 251`) that answers
    /// at most `step` bytes per read and may fail after `fails_at`.
    struct FakeBody {
        len: u64,
        pos: u64,
        step: u64,
        fails_at: Option<u64>,
        max_seen: u64,
        empty_reads: u32,
    }

    impl FakeBody {
        fn new(len: u64) -> Self {
            Self {
                len,
                pos: 0,
                step: 10_000,
                fails_at: None,
                max_seen: 0,
                empty_reads: 0,
            }
        }
    }

    fn pattern(from: u64, to: u64) -> Vec<u8> {
        (from..to).map(|i| (i % 251) as u8).collect()
    }

    impl Source for FakeBody {
        fn read(&mut self, max: u64) -> Result<Vec<u8>, StreamFault> {
            self.max_seen = self.max_seen.max(max);
            if self.empty_reads > 0 {
                self.empty_reads -= 1;
                return Ok(Vec::new());
            }
            if self.fails_at.is_some_and(|at| self.pos >= at) {
                return Err(StreamFault::Failed("client went away".into()));
            }
            if self.pos >= self.len {
                return Err(StreamFault::Closed);
            }
            let n = max.min(self.len - self.pos).min(self.step);
            let bytes = pattern(self.pos, self.pos + n);
            self.pos += n;
            Ok(bytes)
        }
    }

    #[test]
    fn reads_a_declared_body_whole_in_bounded_chunks() {
        let mut body = FakeBody::new(200_000);
        body.step = u64::MAX;
        let mut reader = BodyReader::new(Some(200_000), None);
        let mut buf = Vec::new();
        let digest = reader.fill(&mut body, &mut buf, 200_000).unwrap();
        assert_eq!(buf, pattern(0, 200_000));
        assert_eq!(digest, sha256(&buf));
        assert!(reader.ended());
        assert_eq!(reader.total(), 200_000);
        assert!(body.max_seen <= CHUNK);
    }

    #[test]
    fn parts_of_a_declared_body() {
        let mut body = FakeBody::new(25);
        let mut reader = BodyReader::new(Some(25), None);
        let mut buf = Vec::with_capacity(10);
        let mut parts = Vec::new();
        while !reader.ended() {
            let digest = reader.fill(&mut body, &mut buf, 10).unwrap();
            assert_eq!(digest, sha256(&buf));
            parts.push(buf.clone());
        }
        assert_eq!(parts, [pattern(0, 10), pattern(10, 20), pattern(20, 25)]);
        assert_eq!(buf.capacity(), 10, "one buffer, never grown");
    }

    #[test]
    fn parts_of_an_unknown_length_body() {
        let mut body = FakeBody::new(20);
        let mut reader = BodyReader::new(None, None);
        let mut buf = Vec::new();
        reader.fill(&mut body, &mut buf, 10).unwrap();
        assert_eq!((buf.len(), reader.ended()), (10, false));
        reader.fill(&mut body, &mut buf, 10).unwrap();
        assert_eq!((buf.len(), reader.ended()), (10, false));
        // The end shows up only on the next read: an empty last piece.
        let digest = reader.fill(&mut body, &mut buf, 10).unwrap();
        assert_eq!((buf.len(), reader.ended()), (0, true));
        assert_eq!(digest, sha256(b""));
        assert_eq!(reader.total(), 20);
    }

    #[test]
    fn empty_bodies() {
        for declared in [Some(0), None] {
            let mut reader = BodyReader::new(declared, None);
            let mut buf = Vec::new();
            reader.fill(&mut FakeBody::new(0), &mut buf, 10).unwrap();
            assert!(buf.is_empty() && reader.ended());
        }
    }

    #[test]
    fn short_body_is_invalid_input() {
        let err = BodyReader::new(Some(11), None)
            .fill(&mut FakeBody::new(5), &mut Vec::new(), 11)
            .unwrap_err();
        assert_eq!(
            err,
            TransferError::BodyTooShort {
                moved: 5,
                expected: 11
            }
        );
        assert_eq!(
            Error::from(err),
            Error::InvalidInput(
                "the request body was cut off: 5 bytes arrived, content-length said 11".into()
            )
        );
    }

    #[test]
    fn long_body_is_refused_reading_one_byte_past() {
        let mut body = FakeBody::new(100);
        let err = BodyReader::new(Some(10), None)
            .fill(&mut body, &mut Vec::new(), 10)
            .unwrap_err();
        assert_eq!(err, TransferError::BodyTooLong { expected: 10 });
        assert_eq!(body.pos, 11);
        assert_eq!(
            Error::from(err),
            Error::InvalidInput("body was more than 10 bytes, content-length said 10".into())
        );
    }

    #[test]
    fn the_limit_fails_mid_stream_as_too_large() {
        let mut body = FakeBody::new(1_000_000);
        let mut reader = BodyReader::new(None, Some(25));
        let mut buf = Vec::new();
        reader.fill(&mut body, &mut buf, 10).unwrap();
        reader.fill(&mut body, &mut buf, 10).unwrap();
        let err = reader.fill(&mut body, &mut buf, 10).unwrap_err();
        assert_eq!(err, TransferError::TooLarge(25));
        assert_eq!(body.pos, 26, "at most one byte past the limit");
        assert_eq!(Error::from(err), Error::TooLarge(25));
        // Exactly the limit is fine.
        let mut reader = BodyReader::new(None, Some(25));
        let mut body = FakeBody::new(25);
        while !reader.ended() {
            reader.fill(&mut body, &mut buf, 10).unwrap();
        }
        assert_eq!(reader.total(), 25);
    }

    #[test]
    fn body_failure_is_invalid_input() {
        let mut body = FakeBody::new(100);
        body.fails_at = Some(30);
        assert_eq!(
            Error::from(
                BodyReader::new(Some(100), None)
                    .fill(&mut body, &mut Vec::new(), 100)
                    .unwrap_err()
            ),
            Error::InvalidInput("the request body was cut off: client went away".into())
        );
        // Also when it fails at the end check.
        let mut body = FakeBody::new(100);
        body.fails_at = Some(100);
        assert_eq!(
            BodyReader::new(Some(100), None).fill(&mut body, &mut Vec::new(), 100),
            Err(TransferError::BodyFailed("client went away".into()))
        );
    }

    #[test]
    fn a_few_empty_reads_are_tolerated_but_not_forever() {
        let mut body = FakeBody::new(10);
        body.empty_reads = 5;
        let mut buf = Vec::new();
        BodyReader::new(Some(10), None)
            .fill(&mut body, &mut buf, 10)
            .unwrap();
        assert_eq!(buf.len(), 10);
        let mut body = FakeBody::new(10);
        body.empty_reads = u32::MAX;
        assert_eq!(
            BodyReader::new(Some(10), None).fill(&mut body, &mut buf, 10),
            Err(TransferError::Stalled { moved: 0 })
        );
    }

    #[test]
    fn etags_lose_their_quotes() {
        assert_eq!(
            etag(Some(b"\"d41d8cd98f00b204e9800998ecf8427e\"")),
            "d41d8cd98f00b204e9800998ecf8427e"
        );
        assert_eq!(etag(Some(b"bare")), "bare");
        assert_eq!(etag(Some(b" \"x-2\" ")), "x-2");
        assert_eq!(etag(Some(b"\"")), "\"");
        assert_eq!(etag(None), "");
    }
}
