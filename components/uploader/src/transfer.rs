//! Moving a body of known length from the caller's stream into the outgoing
//! request, and telling apart the ways that can go wrong.
//!
//! The loop is written against [`Pipe`] so that its accounting is tested on
//! the host; `http.rs` implements it with `wasi:io` splices, which move the
//! bytes host-side without copying them into the guest.

use crate::error::Error;

/// The most bytes one splice moves.
pub const CHUNK: u64 = 64 * 1024;

/// The largest object one S3 `PUT` may create (5 GiB).
pub const MAX_PUT_BYTES: u64 = 5 * 1024 * 1024 * 1024;

/// How many splices in a row may move nothing before the transfer is
/// declared stuck; a blocking splice moves at least one byte unless
/// something is wrong, so this only guards against a misbehaving host.
const MAX_EMPTY_SPLICES: u32 = 1000;

/// What a stream operation reported, seen from the transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamFault {
    /// The stream ended (end of body, or the other side went away).
    Closed,
    /// The stream failed; the text is the host's description.
    Failed(String),
}

/// The two ends of a transfer.
pub trait Pipe {
    /// Moves up to `max` bytes from the body into the request, blocking
    /// until at least one byte moved or a stream ended or failed.
    fn splice(&mut self, max: u64) -> Result<u64, StreamFault>;

    /// Whether the request side still accepts bytes. Asked after a splice
    /// fails, to learn which side failed.
    fn request_is_open(&mut self) -> bool;

    /// Whether the body has more bytes, found by reading at most one.
    fn body_has_more(&mut self) -> Result<bool, StreamFault>;
}

/// Why a transfer stopped before the body was sent whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransferError {
    /// The body ended before `content-length` bytes.
    #[error("body was {moved} bytes, content-length said {expected}")]
    BodyTooShort {
        /// Bytes moved before the end.
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
    /// Reading the body failed.
    #[error("reading the body failed: {0}")]
    BodyFailed(String),
    /// The request side closed or failed: the connection to the store is
    /// gone, possibly because the store already answered (S3 may answer a
    /// refused `PUT` before reading its body). The caller should look at the
    /// response before deciding what to report.
    #[error("the connection to the store closed after {moved} bytes of the body")]
    RequestClosed {
        /// Bytes moved before it closed.
        moved: u64,
    },
    /// Splices kept moving nothing.
    #[error("the body transfer stalled after {moved} bytes")]
    Stalled {
        /// Bytes moved before it stalled.
        moved: u64,
    },
}

impl From<TransferError> for Error {
    fn from(err: TransferError) -> Self {
        match err {
            TransferError::BodyTooShort { .. }
            | TransferError::BodyTooLong { .. }
            | TransferError::BodyFailed(_) => Error::InvalidInput(err.to_string()),
            TransferError::RequestClosed { .. } | TransferError::Stalled { .. } => {
                Error::Unavailable(err.to_string())
            }
        }
    }
}

/// Moves exactly `expected` bytes through `pipe` and checks that the body
/// ends there. Returns the number of bytes moved (always `expected`).
///
/// Never asks for more than what is left, so the request never sees more
/// bytes than its `content-length` promised.
pub fn pump(pipe: &mut impl Pipe, expected: u64) -> Result<u64, TransferError> {
    let mut moved = 0u64;
    let mut empty = 0u32;
    while moved < expected {
        match pipe.splice(CHUNK.min(expected - moved)) {
            Ok(0) => {
                empty += 1;
                if empty >= MAX_EMPTY_SPLICES {
                    return Err(TransferError::Stalled { moved });
                }
            }
            Ok(n) => {
                empty = 0;
                // A host reporting more than asked would be a bug; never
                // let the count run past `expected` (or overflow).
                moved = moved.saturating_add(n).min(expected);
            }
            Err(fault) => return Err(blame(pipe, fault, moved, expected)),
        }
    }
    match pipe.body_has_more() {
        Ok(false) => Ok(moved),
        Ok(true) => Err(TransferError::BodyTooLong { expected }),
        Err(StreamFault::Closed) => Ok(moved),
        Err(StreamFault::Failed(reason)) => Err(TransferError::BodyFailed(reason)),
    }
}

/// A splice fails on either side; ask the request side whether it is still
/// open to know which.
fn blame(pipe: &mut impl Pipe, fault: StreamFault, moved: u64, expected: u64) -> TransferError {
    if !pipe.request_is_open() {
        return TransferError::RequestClosed { moved };
    }
    match fault {
        StreamFault::Closed => TransferError::BodyTooShort { moved, expected },
        StreamFault::Failed(reason) => TransferError::BodyFailed(reason),
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

    /// A scripted pipe: a body of `body_len` bytes, a request side that
    /// closes after `request_limit` bytes, and optional faults.
    struct FakePipe {
        body_len: u64,
        read: u64,
        request_limit: u64,
        body_fails_at: Option<u64>,
        max_seen: u64,
        zero_splices: u32,
    }

    impl FakePipe {
        fn new(body_len: u64) -> Self {
            Self {
                body_len,
                read: 0,
                request_limit: u64::MAX,
                body_fails_at: None,
                max_seen: 0,
                zero_splices: 0,
            }
        }
    }

    impl Pipe for FakePipe {
        fn splice(&mut self, max: u64) -> Result<u64, StreamFault> {
            self.max_seen = self.max_seen.max(max);
            if self.zero_splices > 0 {
                self.zero_splices -= 1;
                return Ok(0);
            }
            if self.read >= self.request_limit {
                return Err(StreamFault::Closed);
            }
            if self.body_fails_at.is_some_and(|at| self.read >= at) {
                return Err(StreamFault::Failed("client went away".into()));
            }
            if self.read >= self.body_len {
                return Err(StreamFault::Closed);
            }
            // Move less than asked sometimes, as real streams do.
            let n = max.min(self.body_len - self.read).min(10_000);
            self.read += n;
            Ok(n)
        }

        fn request_is_open(&mut self) -> bool {
            self.read < self.request_limit
        }

        fn body_has_more(&mut self) -> Result<bool, StreamFault> {
            if self.body_fails_at.is_some_and(|at| self.read >= at) {
                return Err(StreamFault::Failed("client went away".into()));
            }
            if self.read < self.body_len {
                self.read += 1;
                Ok(true)
            } else {
                Err(StreamFault::Closed)
            }
        }
    }

    #[test]
    fn moves_an_exact_body_in_bounded_chunks() {
        let mut pipe = FakePipe::new(200_000);
        assert_eq!(pump(&mut pipe, 200_000), Ok(200_000));
        assert!(pipe.max_seen <= CHUNK);
    }

    #[test]
    fn empty_body() {
        assert_eq!(pump(&mut FakePipe::new(0), 0), Ok(0));
    }

    #[test]
    fn short_body_is_invalid_input() {
        let err = pump(&mut FakePipe::new(5), 11).unwrap_err();
        assert_eq!(
            err,
            TransferError::BodyTooShort {
                moved: 5,
                expected: 11
            }
        );
        assert_eq!(
            Error::from(err),
            Error::InvalidInput("body was 5 bytes, content-length said 11".into())
        );
    }

    #[test]
    fn long_body_is_refused_without_overfilling_the_request() {
        let mut pipe = FakePipe::new(100);
        let err = pump(&mut pipe, 10).unwrap_err();
        assert_eq!(err, TransferError::BodyTooLong { expected: 10 });
        assert!(pipe.max_seen <= 10);
        assert_eq!(
            Error::from(err),
            Error::InvalidInput("body was more than 10 bytes, content-length said 10".into())
        );
    }

    #[test]
    fn body_failure_is_invalid_input() {
        let mut pipe = FakePipe::new(100);
        pipe.body_fails_at = Some(30);
        assert_eq!(
            Error::from(pump(&mut pipe, 100).unwrap_err()),
            Error::InvalidInput("reading the body failed: client went away".into())
        );
    }

    #[test]
    fn body_failure_at_the_end_check_is_invalid_input() {
        let mut pipe = FakePipe::new(100);
        pipe.body_fails_at = Some(100);
        assert_eq!(
            pump(&mut pipe, 100),
            Err(TransferError::BodyFailed("client went away".into()))
        );
    }

    #[test]
    fn closed_request_is_reported_as_such() {
        let mut pipe = FakePipe::new(100_000);
        pipe.request_limit = 50_000;
        assert_eq!(
            pump(&mut pipe, 100_000),
            Err(TransferError::RequestClosed { moved: 50_000 })
        );
    }

    #[test]
    fn a_few_empty_splices_are_tolerated_but_not_forever() {
        let mut pipe = FakePipe::new(10);
        pipe.zero_splices = 5;
        assert_eq!(pump(&mut pipe, 10), Ok(10));
        let mut pipe = FakePipe::new(10);
        pipe.zero_splices = u32::MAX;
        assert_eq!(
            pump(&mut pipe, 10),
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
