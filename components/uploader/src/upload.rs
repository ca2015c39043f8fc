//! The upload itself: one `PUT` or a multipart upload, with retries and an
//! abort on failure, written against [`Store`] and [`Source`] so that the
//! whole sequence is tested on the host with a scripted store.
//!
//! Every request's body is in memory when it is sent (a small object, a
//! part, an XML document), so it may be sent again: see [`crate::retry`].
//! All are retried except `CreateMultipartUpload`, which is not idempotent:
//! each one opens a new upload, and one whose answer was lost would leave an
//! upload nothing knows to abort (the host's `sweep` removes those).
//!
//! A retried `PutObject` or `CompleteMultipartUpload` may meet the effect of
//! an attempt whose answer was lost: `NoSuchUpload` (the upload was already
//! completed), `PreconditionFailed` (with overwrite protection, the object
//! now exists) or, from some stores, `AccessDenied` for an upload id that is
//! gone. Then the object is looked up (`HeadObject`), and if it is there with
//! the size and ETag this upload produces, the upload succeeded.
//!
//! Parts overlap with the store: while part N travels ([`Store::start`]),
//! part N+1 is read and hashed into a second buffer, and only then is part
//! N's answer taken ([`Store::finish`]). A retry of part N sends its own
//! buffer again, which is why there are two.
//!
//! When a multipart upload fails after `CreateMultipartUpload`, for
//! whatever reason (the body, a limit, the store), it is aborted, so that
//! no parts are left behind.

use std::time::SystemTime;

use md5::{Digest as _, Md5};

use crate::checksum::{self, Sha256Digest};
use crate::config::Config;
use crate::error::Error;
use crate::multipart::{self, CompletedPart, ParseError};
use crate::plan::{self, MAX_PARTS, Plan};
use crate::request::{ObjectRequests, PutInput, SignedRequest};
use crate::retry::{self, RetryPolicy};
use crate::s3_error;
use crate::transfer::{self, BodyReader, Source};

/// The store's answer to one request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// The `etag` header, raw.
    pub etag: Option<String>,
    /// The `x-amz-checksum-sha256` header.
    pub checksum_sha256: Option<String>,
    /// The `content-length` header (for `HeadObject`: the object's size).
    pub content_length: Option<u64>,
    /// The body, capped at [`s3_error::MAX_ERROR_BODY`] bytes.
    pub body: Vec<u8>,
}

/// A request that got no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// Whether trying again may help (connection refused, reset, timed
    /// out, DNS timeout, ...).
    pub retryable: bool,
    /// What went wrong, without secrets.
    pub message: String,
}

/// The store, and the clock and randomness that retries need.
pub trait Store {
    /// A request [`start`](Self::start) sent, its answer still to come.
    type InFlight;
    /// Sends `request` with `body` and returns once the body is handed over,
    /// without waiting for the answer: the uploader reads the next part
    /// while the store takes this one.
    fn start(&mut self, request: &SignedRequest, body: &[u8]) -> Result<Self::InFlight, Fault>;
    /// Waits for the answer to a request [`start`](Self::start) sent.
    fn finish(&mut self, in_flight: Self::InFlight) -> Result<Response, Fault>;
    /// A monotonic clock, in milliseconds.
    fn now_ms(&mut self) -> u64;
    /// Sleeps for `ms` milliseconds.
    fn sleep_ms(&mut self, ms: u64);
    /// A uniformly random number.
    fn random(&mut self) -> u64;
    /// The wall-clock time, to sign with.
    fn wall_time(&mut self) -> SystemTime;
}

/// What was stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// The stored key (with any prefix).
    pub key: String,
    /// Bytes stored.
    pub size: u64,
    /// The store's ETag, without quotes.
    pub etag: String,
    /// The SHA-256 the store checked, base64 (`…-N` for multipart).
    pub checksum_sha256: Option<String>,
}

/// Uploads `body` as `stored_key`, as `input` and `config` say.
pub fn put(
    store: &mut impl Store,
    body: &mut impl Source,
    config: &Config,
    input: &PutInput<'_>,
    stored_key: &str,
) -> Result<Stored, Error> {
    let secrets = config.secrets();
    let mut uploader = Uploader {
        store,
        requests: ObjectRequests::new(config, stored_key),
        policy: config.retry,
        secrets: &secrets,
        content_type: input.content_type,
    };
    let plan = plan::plan(
        input.content_length,
        input.max_length,
        config.multipart_threshold,
        config.part_size,
    )?;
    let (size, etag, checksum_sha256) = match plan {
        Plan::Single { length } => {
            let mut buf = buffer(length)?;
            let mut reader = BodyReader::new(Some(length), None);
            let sha = reader.fill(body, &mut buf, usize_of(length)?)?;
            uploader.put_object(&buf, &sha)?
        }
        Plan::Multipart {
            part_size,
            length,
            limit,
        } => uploader.multipart(body, part_size, length, limit)?,
    };
    Ok(Stored {
        key: stored_key.to_owned(),
        size,
        etag,
        checksum_sha256,
    })
}

fn usize_of(n: u64) -> Result<usize, Error> {
    usize::try_from(n).map_err(|_| too_big_for_memory(n))
}

fn too_big_for_memory(n: u64) -> Error {
    Error::Internal(format!(
        "a buffer of {n} bytes does not fit in this component's memory; lower s3-part-size or s3-multipart-threshold"
    ))
}

/// An empty buffer with room for `capacity` bytes, or an error (rather than
/// a trap) when memory is short.
fn buffer(capacity: u64) -> Result<Vec<u8>, Error> {
    let mut buf = Vec::new();
    buf.try_reserve_exact(usize_of(capacity)?)
        .map_err(|_| too_big_for_memory(capacity))?;
    Ok(buf)
}

/// Why one attempt failed, and whether another may succeed.
struct Failure {
    error: Error,
    retryable: bool,
}

/// Why a request failed in the end, and whether an earlier attempt of it
/// failed in a way that leaves its effect unknown (no answer, or a 5xx).
struct Failed {
    error: Error,
    after_unknown_outcome: bool,
}

impl From<Failed> for Error {
    fn from(failed: Failed) -> Self {
        failed.error
    }
}

/// Whether a request is sent again after a retryable failure.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Retry {
    /// Idempotent: retried as the policy allows.
    Yes,
    /// Sent once only.
    No,
}

/// Whether an S3 error, met by a retry, may be the footprint of an earlier
/// attempt that succeeded unseen.
fn may_be_own_success(error: &Error) -> bool {
    matches!(error, Error::Upstream { status, code, .. }
    if matches!(
        (*status, code.as_str()),
        (404, "NoSuchUpload") | (412, "PreconditionFailed") | (403, "AccessDenied")
    ))
}

/// Logs a store's refusal for the host's log: what the client is not told.
/// The message was scrubbed of secrets when it was parsed.
fn log_upstream(operation: &str, error: &Error) {
    if let Error::Upstream {
        status,
        code,
        message,
    } = error
    {
        eprintln!("edgeplug uploader: {operation} answered {status} {code}: {message}");
    }
}

struct Uploader<'a, S> {
    store: &'a mut S,
    requests: ObjectRequests<'a>,
    policy: RetryPolicy,
    secrets: &'a [&'a str],
    content_type: Option<&'a str>,
}

type Outcome = (u64, String, Option<String>);

impl<S: Store> Uploader<'_, S> {
    /// Sends the request `build` makes (signed afresh for each attempt)
    /// with `body`, retrying as the policy allows when `retry` says so, and
    /// hands a 2xx answer to `accept`.
    fn send<T>(
        &mut self,
        retry: Retry,
        build: impl Fn(&ObjectRequests<'_>, SystemTime) -> Result<SignedRequest, Error>,
        body: &[u8],
        accept: impl Fn(Response) -> Result<T, Failure>,
    ) -> Result<T, Failed> {
        self.send_overlapping(retry, build, body, accept, || ()).0
    }

    /// [`send`](Self::send), running `meanwhile` once while the first
    /// request that got out travels (between its [`Store::start`] and its
    /// answer). Its result is `None` only if no attempt got out.
    fn send_overlapping<T, W>(
        &mut self,
        retry: Retry,
        build: impl Fn(&ObjectRequests<'_>, SystemTime) -> Result<SignedRequest, Error>,
        body: &[u8],
        accept: impl Fn(Response) -> Result<T, Failure>,
        meanwhile: impl FnOnce() -> W,
    ) -> (Result<T, Failed>, Option<W>) {
        let mut meanwhile = Some(meanwhile);
        let mut done = None;
        let result = self.attempts(retry, build, accept, |store, request| {
            let in_flight = store.start(request, body)?;
            if let Some(work) = meanwhile.take() {
                done = Some(work());
            }
            store.finish(in_flight)
        });
        (result, done)
    }

    fn attempts<T>(
        &mut self,
        retry: Retry,
        build: impl Fn(&ObjectRequests<'_>, SystemTime) -> Result<SignedRequest, Error>,
        accept: impl Fn(Response) -> Result<T, Failure>,
        mut exchange: impl FnMut(&mut S, &SignedRequest) -> Result<Response, Fault>,
    ) -> Result<T, Failed> {
        let start = self.store.now_ms();
        let mut attempts = 0u32;
        let mut unknown_outcome = false;
        let failed = |error, unknown| Failed {
            error,
            after_unknown_outcome: unknown,
        };
        loop {
            let request =
                build(&self.requests, self.store.wall_time()).map_err(|e| failed(e, false))?;
            attempts += 1;
            let (failure, outcome_unknown) = match exchange(self.store, &request) {
                Ok(response) if (200..300).contains(&response.status) => match accept(response) {
                    Ok(value) => return Ok(value),
                    Err(failure) => (failure, true),
                },
                Ok(response) => {
                    let error =
                        s3_error::upstream_error(response.status, &response.body, self.secrets);
                    log_upstream(request.operation, &error);
                    let retryable = matches!(&error, Error::Upstream { status, code, .. }
                        if retry::status_is_retryable(*status, code));
                    let unknown = response.status >= 500;
                    (Failure { error, retryable }, unknown)
                }
                Err(fault) => {
                    eprintln!(
                        "edgeplug uploader: {} got no answer: {}",
                        request.operation, fault.message
                    );
                    (
                        Failure {
                            error: Error::Unavailable(format!(
                                "{} to the store failed: {}",
                                request.operation, fault.message
                            )),
                            retryable: fault.retryable,
                        },
                        true,
                    )
                }
            };
            if !failure.retryable || retry == Retry::No {
                return Err(failed(failure.error, unknown_outcome));
            }
            unknown_outcome |= outcome_unknown;
            let elapsed = self.store.now_ms().saturating_sub(start);
            let random = self.store.random();
            match self.policy.next_delay_ms(attempts, elapsed, random) {
                Some(delay) => self.store.sleep_ms(delay),
                None => return Err(failed(failure.error, unknown_outcome)),
            }
        }
    }

    /// After a retried request failed with `failed`: whether the object is
    /// there with `size` bytes and, when known, the ETag `etag` (an earlier
    /// attempt succeeded, its answer lost). Returns the stored ETag if so,
    /// else the original error.
    fn confirm_stored(
        &mut self,
        failed: Failed,
        size: u64,
        etag: Option<&str>,
    ) -> Result<String, Error> {
        if !(failed.after_unknown_outcome && may_be_own_success(&failed.error)) {
            return Err(failed.error);
        }
        let head = self.send(Retry::Yes, |r, time| r.head_object(time), &[], Ok);
        let Ok(head) = head else {
            return Err(failed.error);
        };
        let stored_etag = transfer::etag(head.etag.as_deref().map(str::as_bytes));
        let same_size = head.content_length == Some(size);
        let same_etag = etag.is_none_or(|e| e.eq_ignore_ascii_case(&stored_etag));
        if same_size && same_etag {
            eprintln!(
                "edgeplug uploader: an earlier attempt had stored the object; its answer was lost"
            );
            Ok(stored_etag)
        } else {
            Err(failed.error)
        }
    }

    fn put_object(&mut self, buf: &[u8], sha: &Sha256Digest) -> Result<Outcome, Error> {
        let content_type = self.content_type;
        let len = buf.len() as u64;
        let (etag, checksum) = match self.send(
            Retry::Yes,
            |r, time| r.put_object(content_type, len, sha, time),
            buf,
            |response| Ok((response.etag, response.checksum_sha256)),
        ) {
            Ok((etag, checksum)) => (transfer::etag(etag.as_deref().map(str::as_bytes)), checksum),
            Err(failed) => {
                // A single PUT's ETag is the MD5 of its body (without
                // SSE-KMS): enough to tell our object from another.
                let md5 = hex::encode(Md5::digest(buf));
                (self.confirm_stored(failed, len, Some(&md5))?, None)
            }
        };
        Ok((
            len,
            etag,
            // The store checked the checksum we sent (it refuses a mismatch
            // with `BadDigest`); report its own word when it gives it.
            Some(checksum.unwrap_or_else(|| checksum::base64(sha))),
        ))
    }

    fn multipart(
        &mut self,
        body: &mut impl Source,
        part_size: u64,
        length: Option<u64>,
        limit: u64,
    ) -> Result<Outcome, Error> {
        let want = usize_of(part_size)?;
        // Two buffers at most, reused for every part (the second is made
        // for the second part): memory stays at two parts.
        let mut buf = buffer(length.map_or(part_size, |l| l.min(part_size)))?;
        let mut reader = BodyReader::new(length, length.is_none().then_some(limit));
        // The first part is read before anything is created: a body that
        // fails or is too large early leaves nothing to clean up.
        let sha = reader.fill(body, &mut buf, want)?;
        if buf.is_empty() && reader.ended() {
            // Unknown length, and empty: a multipart upload cannot have 0 parts.
            return self.put_object(&buf, &sha);
        }

        let content_type = self.content_type;
        // Not retried: each Create opens a new upload (see the module docs).
        let upload_id = self.send(
            Retry::No,
            |r, time| r.create_multipart(content_type, time),
            &[],
            |response| {
                multipart::parse_create(&response.body).map_err(|err| unreadable(&response, err))
            },
        )?;

        let result = self.parts_and_complete(body, &mut reader, &mut buf, want, sha, &upload_id);
        if result.is_err() {
            // Best effort: the original error is what the caller needs.
            let _ = self.send(
                Retry::Yes,
                |r, time| r.abort_multipart(&upload_id, time),
                &[],
                |_| Ok(()),
            );
        }
        result
    }

    fn parts_and_complete(
        &mut self,
        body: &mut impl Source,
        reader: &mut BodyReader,
        buf: &mut Vec<u8>,
        want: usize,
        mut sha: Sha256Digest,
        upload_id: &str,
    ) -> Result<Outcome, Error> {
        let mut parts: Vec<CompletedPart> = Vec::new();
        let mut digests: Vec<Sha256Digest> = Vec::new();
        // The next part is read into this one while the store takes `buf`:
        // hashing in the guest and the store's work overlap. It is a second
        // buffer, not `buf`, because a retried part is sent again whole.
        let mut next_buf: Vec<u8> = Vec::new();
        loop {
            let number = parts.len() as u32 + 1;
            if u64::from(number) > MAX_PARTS {
                // The reader's limit makes this unreachable; never send part
                // 10,001 anyway.
                return Err(Error::TooLarge(reader.total()));
            }
            let len = buf.len() as u64;
            let last = reader.ended();
            if !last && next_buf.capacity() == 0 {
                next_buf = buffer(want as u64)?;
            }
            let (etag, next) = self.send_overlapping(
                Retry::Yes,
                |r, time| r.upload_part(upload_id, number, len, &sha, time),
                buf,
                |response| Ok(transfer::etag(response.etag.as_deref().map(str::as_bytes))),
                || (!last).then(|| reader.fill(body, &mut next_buf, want)),
            );
            let etag = etag?;
            parts.push(CompletedPart {
                number,
                etag,
                checksum_sha256: checksum::base64(&sha),
            });
            digests.push(sha);
            if last {
                break;
            }
            // `None` only if the part never got out; then it failed above.
            sha = match next.flatten() {
                Some(read) => read?,
                None => reader.fill(body, &mut next_buf, want)?,
            };
            std::mem::swap(buf, &mut next_buf);
            if buf.is_empty() && reader.ended() {
                break;
            }
        }

        let xml = multipart::complete_body(&parts);
        let secrets = self.secrets;
        let completed = self.send(
            Retry::Yes,
            |r, time| r.complete_multipart(upload_id, xml.as_bytes(), time),
            xml.as_bytes(),
            |response| match multipart::parse_complete(&response.body) {
                Ok(completed) => Ok(completed),
                // S3 may fail a Complete inside a 200: retry it.
                Err(ParseError::ErrorDocument) => Err(Failure {
                    error: s3_error::upstream_error(500, &response.body, secrets),
                    retryable: true,
                }),
                Err(err) => Err(unreadable(&response, err)),
            },
        );
        let total = reader.total();
        let composite = || checksum::composite(&digests);
        match completed {
            Ok(completed) => Ok((
                total,
                completed.etag,
                Some(completed.checksum_sha256.unwrap_or_else(composite)),
            )),
            Err(failed) => {
                let etag = multipart_etag(&parts);
                let etag = self.confirm_stored(failed, total, etag.as_deref())?;
                Ok((total, etag, Some(composite())))
            }
        }
    }
}

/// The ETag S3 gives a multipart object: the MD5 of the parts' binary MD5s,
/// then `-<number of parts>`. `None` when a part's ETag is not a plain MD5
/// (encrypted objects), so the size alone must do.
fn multipart_etag(parts: &[CompletedPart]) -> Option<String> {
    let mut md5 = Md5::new();
    for part in parts {
        let bytes = hex::decode(&part.etag).ok().filter(|b| b.len() == 16)?;
        md5.update(&bytes);
    }
    Some(format!("{}-{}", hex::encode(md5.finalize()), parts.len()))
}

fn unreadable(response: &Response, err: ParseError) -> Failure {
    Failure {
        error: Error::Upstream {
            status: response.status,
            code: String::new(),
            message: err.to_string(),
        },
        retryable: false,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::time::Duration;

    use super::*;
    use crate::checksum::sha256;
    use crate::plan::MIB;
    use crate::request::Method;
    use crate::transfer::StreamFault;

    const SECRET: &str = "SECRET/KEY+123";

    fn config(extra: &[(&str, &str)]) -> Config {
        let mut map: HashMap<&str, &str> = HashMap::from([
            ("s3-endpoint", "http://127.0.0.1:9000"),
            ("s3-bucket", "b"),
            ("s3-access-key-id", "AKID"),
            ("s3-secret-access-key", SECRET),
            ("s3-part-size", "5242880"),
            ("s3-multipart-threshold", "1048576"),
        ]);
        map.extend(extra.iter().copied());
        Config::from_lookup(|k| Ok(map.get(k).map(|v| (*v).to_owned()))).unwrap()
    }

    /// What the scripted store saw.
    #[derive(Debug, Clone)]
    struct Seen {
        operation: &'static str,
        method: Method,
        path: String,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    }

    type Script = Box<dyn FnMut(&Seen, usize) -> Option<Result<Response, Fault>>>;

    /// An S3 that accepts everything, unless `script` (given the request
    /// and how many of that operation came before) answers otherwise.
    struct FakeStore {
        seen: Vec<Seen>,
        script: Script,
        now: u64,
        sleeps: Vec<u64>,
    }

    impl FakeStore {
        fn new() -> Self {
            Self::scripted(|_, _| None)
        }

        fn scripted(
            script: impl FnMut(&Seen, usize) -> Option<Result<Response, Fault>> + 'static,
        ) -> Self {
            Self {
                seen: Vec::new(),
                script: Box::new(script),
                now: 0,
                sleeps: Vec::new(),
            }
        }

        fn operations(&self) -> Vec<&'static str> {
            self.seen.iter().map(|s| s.operation).collect()
        }
    }

    fn ok(status: u16) -> Response {
        Response {
            status,
            ..Response::default()
        }
    }

    fn s3_error(status: u16, code: &str) -> Response {
        Response {
            status,
            body: format!("<Error><Code>{code}</Code><Message>m</Message></Error>").into_bytes(),
            ..Response::default()
        }
    }

    impl FakeStore {
        fn answer(&mut self, request: &SignedRequest, body: &[u8]) -> Result<Response, Fault> {
            let seen = Seen {
                operation: request.operation,
                method: request.method,
                path: request.path_with_query.clone(),
                headers: request.headers.clone(),
                body: body.to_vec(),
            };
            let before = self
                .seen
                .iter()
                .filter(|s| s.operation == seen.operation)
                .count();
            self.seen.push(seen.clone());
            self.now += 1;
            if let Some(answer) = (self.script)(&seen, before) {
                return answer;
            }
            Ok(match seen.operation {
                "PutObject" => Response {
                    status: 200,
                    etag: Some("\"put-etag\"".into()),
                    ..Response::default()
                },
                "CreateMultipartUpload" => Response {
                    status: 200,
                    body: b"<InitiateMultipartUploadResult><UploadId>up-1</UploadId></InitiateMultipartUploadResult>".to_vec(),
                    ..Response::default()
                },
                "UploadPart" => Response {
                    status: 200,
                    etag: Some(format!("\"etag-{}\"", before + 1)),
                    ..Response::default()
                },
                "CompleteMultipartUpload" => Response {
                    status: 200,
                    body: b"<CompleteMultipartUploadResult><ETag>&quot;whole-3&quot;</ETag></CompleteMultipartUploadResult>".to_vec(),
                    ..Response::default()
                },
                _ => ok(204),
            })
        }
    }

    impl Store for FakeStore {
        // Answered at once: the fake has nothing to overlap.
        type InFlight = Result<Response, Fault>;

        fn start(&mut self, request: &SignedRequest, body: &[u8]) -> Result<Self::InFlight, Fault> {
            Ok(self.answer(request, body))
        }

        fn finish(&mut self, in_flight: Self::InFlight) -> Result<Response, Fault> {
            in_flight
        }

        fn now_ms(&mut self) -> u64 {
            self.now
        }

        fn sleep_ms(&mut self, ms: u64) {
            self.sleeps.push(ms);
            self.now += ms;
        }

        fn random(&mut self) -> u64 {
            7
        }

        fn wall_time(&mut self) -> SystemTime {
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600)
        }
    }

    /// A body of `len` bytes (byte `i` is `i % 251`), in reads of 64 KiB.
    struct Body {
        len: u64,
        pos: u64,
    }

    fn body(len: u64) -> Body {
        Body { len, pos: 0 }
    }

    fn pattern(len: u64) -> Vec<u8> {
        (0..len).map(|i| (i % 251) as u8).collect()
    }

    impl Source for Body {
        fn read(&mut self, max: u64) -> Result<Vec<u8>, StreamFault> {
            if self.pos >= self.len {
                return Err(StreamFault::Closed);
            }
            let n = max.min(self.len - self.pos);
            let bytes = (self.pos..self.pos + n).map(|i| (i % 251) as u8).collect();
            self.pos += n;
            Ok(bytes)
        }
    }

    fn run(
        store: &mut FakeStore,
        config: &Config,
        len: u64,
        declared: Option<u64>,
        max: Option<u64>,
    ) -> Result<Stored, Error> {
        let input = PutInput::check("k", Some("text/plain"), declared, max)?;
        put(store, &mut body(len), config, &input, "pre/k")
    }

    fn header<'a>(seen: &'a Seen, name: &str) -> Option<&'a str> {
        seen.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn a_small_body_is_one_put_with_its_checksum() {
        let mut store = FakeStore::new();
        let stored = run(&mut store, &config(&[]), 1000, Some(1000), None).unwrap();
        let expected = checksum::base64(&sha256(&pattern(1000)));
        assert_eq!(
            stored,
            Stored {
                key: "pre/k".into(),
                size: 1000,
                etag: "put-etag".into(),
                checksum_sha256: Some(expected.clone()),
            }
        );
        assert_eq!(store.operations(), ["PutObject"]);
        let put = &store.seen[0];
        assert_eq!((put.method, put.path.as_str()), (Method::Put, "/b/pre/k"));
        assert_eq!(put.body, pattern(1000));
        assert_eq!(
            header(put, "x-amz-checksum-sha256"),
            Some(expected.as_str())
        );
        assert_eq!(header(put, "content-type"), Some("text/plain"));
    }

    /// A store that logs when each request starts and when its answer is
    /// taken, around a [`FakeStore`].
    struct Logged {
        inner: FakeStore,
        log: std::rc::Rc<std::cell::RefCell<Vec<String>>>,
    }

    impl Store for Logged {
        type InFlight = (String, Result<Response, Fault>);

        fn start(&mut self, request: &SignedRequest, body: &[u8]) -> Result<Self::InFlight, Fault> {
            let name = format!("{} {}", request.operation, body.len());
            self.log.borrow_mut().push(format!("start {name}"));
            Ok((name, self.inner.answer(request, body)))
        }

        fn finish(&mut self, (name, answer): Self::InFlight) -> Result<Response, Fault> {
            self.log.borrow_mut().push(format!("finish {name}"));
            answer
        }

        fn now_ms(&mut self) -> u64 {
            self.inner.now_ms()
        }

        fn sleep_ms(&mut self, ms: u64) {
            self.inner.sleep_ms(ms);
        }

        fn random(&mut self) -> u64 {
            self.inner.random()
        }

        fn wall_time(&mut self) -> SystemTime {
            self.inner.wall_time()
        }
    }

    /// [`Body`], logging where each read starts.
    struct LoggedBody {
        body: Body,
        log: std::rc::Rc<std::cell::RefCell<Vec<String>>>,
    }

    impl Source for LoggedBody {
        fn read(&mut self, max: u64) -> Result<Vec<u8>, StreamFault> {
            self.log
                .borrow_mut()
                .push(format!("read {}", self.body.pos));
            self.body.read(max)
        }
    }

    #[test]
    fn the_next_part_is_read_while_the_store_takes_this_one() {
        let log = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
        let mut store = Logged {
            inner: FakeStore::new(),
            log: log.clone(),
        };
        let len = 11 * MIB;
        let input = PutInput::check("k", Some("text/plain"), Some(len), None).unwrap();
        let mut source = LoggedBody {
            body: body(len),
            log: log.clone(),
        };
        put(&mut store, &mut source, &config(&[]), &input, "pre/k").unwrap();
        let log = log.borrow();
        let starts: Vec<usize> = log
            .iter()
            .enumerate()
            .filter(|(_, e)| e.starts_with("start UploadPart"))
            .map(|(i, _)| i)
            .collect();
        assert_eq!(starts.len(), 3, "{log:?}");
        let part = 5 * MIB;
        // Part 2 is read between part 1 going out and its answer being
        // taken; part 3 likewise within part 2's.
        for (n, start) in starts[..2].iter().copied().enumerate() {
            let finish = start
                + log[start..]
                    .iter()
                    .position(|e| e.starts_with("finish UploadPart"))
                    .unwrap();
            let next_from = format!("read {}", (n as u64 + 1) * part);
            assert!(
                log[start..finish].contains(&next_from),
                "part {}: {:?}",
                n + 1,
                &log[start..=finish]
            );
        }
        // The last part is not overlapped with anything: nothing is left.
        let last = log
            .iter()
            .rposition(|e| e.starts_with("start UploadPart"))
            .unwrap();
        assert!(
            !log[last..].iter().any(|e| e.starts_with("read ")),
            "{log:?}"
        );
        // Every part still went out whole, in order.
        assert_three_parts_of(&store.inner, len);
    }

    /// `store` saw a multipart upload of the `len`-byte [`pattern`] in three
    /// 5 MiB parts, in order, each part's body whole.
    fn assert_three_parts_of(store: &FakeStore, len: u64) {
        assert_eq!(
            store.operations(),
            [
                "CreateMultipartUpload",
                "UploadPart",
                "UploadPart",
                "UploadPart",
                "CompleteMultipartUpload"
            ]
        );
        let all = pattern(len);
        for (i, seen) in store.seen[1..4].iter().enumerate() {
            assert_eq!(seen.body, all.chunks(5 * MIB as usize).nth(i).unwrap());
        }
    }

    #[test]
    fn a_large_body_goes_multipart_in_order() {
        let mut store = FakeStore::new();
        let len = 11 * MIB;
        let stored = run(&mut store, &config(&[]), len, Some(len), None).unwrap();
        assert_three_parts_of(&store, len);
        let all = pattern(len);
        let chunks: Vec<&[u8]> = all.chunks(5 * MIB as usize).collect();
        let digests: Vec<_> = chunks.iter().map(|c| sha256(c)).collect();
        for (i, part) in store.seen[1..4].iter().enumerate() {
            assert_eq!(
                part.path,
                format!("/b/pre/k?partNumber={}&uploadId=up-1", i + 1)
            );
            assert_eq!(part.body, chunks[i]);
            assert_eq!(
                header(part, "x-amz-checksum-sha256").map(str::to_owned),
                Some(checksum::base64(&digests[i]))
            );
        }
        let complete = &store.seen[4];
        assert_eq!(complete.path, "/b/pre/k?uploadId=up-1");
        let xml = String::from_utf8(complete.body.clone()).unwrap();
        assert!(
            xml.contains("<PartNumber>3</PartNumber><ETag>&quot;etag-3&quot;</ETag>"),
            "{xml}"
        );
        assert_eq!(stored.size, len);
        assert_eq!(stored.etag, "whole-3");
        assert_eq!(stored.checksum_sha256, Some(checksum::composite(&digests)));
    }

    #[test]
    fn the_stores_own_multipart_checksum_wins() {
        let mut store = FakeStore::scripted(|seen, _| {
            (seen.operation == "CompleteMultipartUpload").then(|| {
                Ok(Response {
                    status: 200,
                    body: b"<CompleteMultipartUploadResult><ETag>\"e-1\"</ETag><ChecksumSHA256>abc=-1</ChecksumSHA256></CompleteMultipartUploadResult>".to_vec(),
                    ..Response::default()
                })
            })
        });
        let stored = run(&mut store, &config(&[]), 2 * MIB, None, None).unwrap();
        assert_eq!(stored.checksum_sha256.as_deref(), Some("abc=-1"));
    }

    #[test]
    fn unknown_length_goes_multipart_and_an_empty_one_is_a_put() {
        let mut store = FakeStore::new();
        let stored = run(&mut store, &config(&[]), 6 * MIB, None, None).unwrap();
        assert_eq!(stored.size, 6 * MIB);
        assert_eq!(
            store.operations(),
            [
                "CreateMultipartUpload",
                "UploadPart",
                "UploadPart",
                "CompleteMultipartUpload"
            ]
        );
        assert_eq!(store.seen[2].body.len() as u64, MIB);

        // Exactly one part: no empty second part.
        let mut store = FakeStore::new();
        run(&mut store, &config(&[]), 5 * MIB, None, None).unwrap();
        assert_eq!(
            store.operations(),
            [
                "CreateMultipartUpload",
                "UploadPart",
                "CompleteMultipartUpload"
            ]
        );

        let mut store = FakeStore::new();
        let stored = run(&mut store, &config(&[]), 0, None, None).unwrap();
        assert_eq!(store.operations(), ["PutObject"]);
        assert_eq!(header(&store.seen[0], "content-length"), Some("0"));
        assert_eq!(stored.size, 0);
    }

    #[test]
    fn max_length_fails_mid_stream_and_aborts() {
        let mut store = FakeStore::new();
        let err = run(&mut store, &config(&[]), 20 * MIB, None, Some(7 * MIB)).unwrap_err();
        assert_eq!(err, Error::TooLarge(7 * MIB));
        assert_eq!(
            store.operations(),
            [
                "CreateMultipartUpload",
                "UploadPart",
                "AbortMultipartUpload"
            ]
        );
        assert_eq!(store.seen[2].method, Method::Delete);
        assert_eq!(store.seen[2].path, "/b/pre/k?uploadId=up-1");
    }

    #[test]
    fn max_length_in_the_first_part_or_declared_sends_nothing() {
        let mut store = FakeStore::new();
        let err = run(&mut store, &config(&[]), 3 * MIB, None, Some(MIB)).unwrap_err();
        assert_eq!(err, Error::TooLarge(MIB));
        assert!(store.seen.is_empty());
        let err = run(&mut store, &config(&[]), 3 * MIB, Some(3 * MIB), Some(MIB)).unwrap_err();
        assert_eq!(err, Error::TooLarge(MIB));
        assert!(store.seen.is_empty());
    }

    #[test]
    fn a_short_multipart_body_is_aborted() {
        let mut store = FakeStore::new();
        let err = run(&mut store, &config(&[]), 6 * MIB, Some(12 * MIB), None).unwrap_err();
        assert!(matches!(err, Error::InvalidInput(m) if m.contains("content-length")));
        assert_eq!(
            store.operations(),
            [
                "CreateMultipartUpload",
                "UploadPart",
                "AbortMultipartUpload"
            ]
        );
    }

    #[test]
    fn transient_failures_are_retried_with_backoff() {
        let mut store = FakeStore::scripted(|seen, before| match (seen.operation, before) {
            ("UploadPart", 1) => Some(Ok(s3_error(503, "SlowDown"))),
            ("UploadPart", 2) => Some(Err(Fault {
                retryable: true,
                message: "ConnectionReset".into(),
            })),
            ("CompleteMultipartUpload", 0) => Some(Ok(Response {
                status: 200,
                body: b"<Error><Code>InternalError</Code><Message>try again</Message></Error>"
                    .to_vec(),
                ..Response::default()
            })),
            _ => None,
        });
        let stored = run(&mut store, &config(&[]), 6 * MIB, Some(6 * MIB), None).unwrap();
        assert_eq!(stored.size, 6 * MIB);
        assert_eq!(
            store.operations(),
            [
                "CreateMultipartUpload",
                "UploadPart",
                "UploadPart",
                "UploadPart",
                "UploadPart",
                "CompleteMultipartUpload",
                "CompleteMultipartUpload"
            ]
        );
        // Part 2 was sent three times, whole each time.
        for seen in &store.seen[2..5] {
            assert!(seen.path.contains("partNumber=2"));
            assert_eq!(seen.body.len() as u64, MIB);
        }
        // Full jitter with random = 7: 7 % (100 + 1), then 7 % (200 + 1).
        assert_eq!(store.sleeps, [7, 7, 7]);
    }

    #[test]
    fn a_single_put_is_retried_too() {
        let mut store = FakeStore::scripted(|seen, before| {
            (seen.operation == "PutObject" && before == 0)
                .then(|| Ok(s3_error(500, "InternalError")))
        });
        run(&mut store, &config(&[]), 10, Some(10), None).unwrap();
        assert_eq!(store.operations(), ["PutObject", "PutObject"]);
        assert_eq!(store.seen[1].body, pattern(10));
    }

    #[test]
    fn client_errors_are_not_retried_and_abort() {
        let mut store = FakeStore::scripted(|seen, _| {
            (seen.operation == "UploadPart").then(|| Ok(s3_error(403, "AccessDenied")))
        });
        let err = run(&mut store, &config(&[]), 6 * MIB, None, None).unwrap_err();
        assert!(
            matches!(err, Error::Upstream { status: 403, ref code, .. } if code == "AccessDenied")
        );
        assert_eq!(
            store.operations(),
            [
                "CreateMultipartUpload",
                "UploadPart",
                "AbortMultipartUpload"
            ]
        );
        assert!(store.sleeps.is_empty());
    }

    #[test]
    fn giving_up_after_max_attempts_aborts() {
        let mut store = FakeStore::scripted(|seen, _| {
            (seen.operation == "UploadPart").then(|| {
                Err(Fault {
                    retryable: true,
                    message: "ConnectionRefused".into(),
                })
            })
        });
        let err = run(&mut store, &config(&[]), 6 * MIB, None, None).unwrap_err();
        assert_eq!(
            err,
            Error::Unavailable("UploadPart to the store failed: ConnectionRefused".into())
        );
        assert_eq!(
            store.operations(),
            [
                "CreateMultipartUpload",
                "UploadPart",
                "UploadPart",
                "UploadPart",
                "UploadPart",
                "AbortMultipartUpload"
            ]
        );
        assert_eq!(store.sleeps.len(), 3);
    }

    #[test]
    fn the_deadline_cuts_retries_short() {
        let mut store = FakeStore::scripted(|seen, _| {
            (seen.operation == "PutObject").then(|| Ok(s3_error(503, "SlowDown")))
        });
        let config = config(&[("s3-retry-deadline-ms", "2"), ("s3-retry-base-ms", "0")]);
        let err = run(&mut store, &config, 10, Some(10), None).unwrap_err();
        assert!(matches!(err, Error::Upstream { status: 503, .. }));
        assert_eq!(store.operations(), ["PutObject", "PutObject"]);
    }

    #[test]
    fn a_failed_create_leaves_nothing_to_abort() {
        let mut store = FakeStore::scripted(|seen, _| {
            (seen.operation == "CreateMultipartUpload").then(|| Ok(s3_error(403, "AccessDenied")))
        });
        assert!(run(&mut store, &config(&[]), 6 * MIB, None, None).is_err());
        assert_eq!(store.operations(), ["CreateMultipartUpload"]);
    }

    fn lost() -> Fault {
        Fault {
            retryable: true,
            message: "ConnectionTerminated".into(),
        }
    }

    #[test]
    fn create_is_never_retried() {
        let mut store = FakeStore::scripted(|seen, _| {
            (seen.operation == "CreateMultipartUpload").then(|| Err(lost()))
        });
        let err = run(&mut store, &config(&[]), 6 * MIB, None, None).unwrap_err();
        assert!(matches!(err, Error::Unavailable(_)), "{err:?}");
        assert_eq!(store.operations(), ["CreateMultipartUpload"]);
        let mut store = FakeStore::scripted(|seen, _| {
            (seen.operation == "CreateMultipartUpload").then(|| Ok(s3_error(503, "SlowDown")))
        });
        assert!(run(&mut store, &config(&[]), 6 * MIB, None, None).is_err());
        assert_eq!(store.operations(), ["CreateMultipartUpload"]);
    }

    /// A store that completes the first Complete but loses its answer, then
    /// answers `code` to the retry; HEAD answers with `size` and `etag`.
    fn lost_complete(code: &'static str, status: u16, size: u64, etag: &'static str) -> FakeStore {
        FakeStore::scripted(move |seen, before| match (seen.operation, before) {
            ("CompleteMultipartUpload", 0) => Some(Err(lost())),
            ("CompleteMultipartUpload", _) => Some(Ok(s3_error(status, code))),
            ("HeadObject", _) => Some(Ok(Response {
                status: 200,
                etag: Some(format!("\"{etag}\"")),
                content_length: Some(size),
                ..Response::default()
            })),
            _ => None,
        })
    }

    /// The ETag S3 computes for the fake store's parts `etag-1`, ...: they
    /// are no MD5s, so the size alone decides.
    #[test]
    fn a_lost_complete_answer_is_confirmed_with_head_object() {
        for (status, code) in [(404, "NoSuchUpload"), (403, "AccessDenied")] {
            let mut store = lost_complete(code, status, 6 * MIB, "whole-2");
            let stored = run(&mut store, &config(&[]), 6 * MIB, None, None).unwrap();
            assert_eq!(stored.size, 6 * MIB);
            assert_eq!(stored.etag, "whole-2");
            assert_eq!(
                store.operations(),
                [
                    "CreateMultipartUpload",
                    "UploadPart",
                    "UploadPart",
                    "CompleteMultipartUpload",
                    "CompleteMultipartUpload",
                    "HeadObject"
                ],
                "{code}"
            );
            assert_eq!(store.seen[5].method, Method::Head);
        }
    }

    #[test]
    fn another_object_under_the_key_is_not_taken_for_ours() {
        let mut store = lost_complete("NoSuchUpload", 404, 6 * MIB - 1, "other-2");
        let err = run(&mut store, &config(&[]), 6 * MIB, None, None).unwrap_err();
        assert!(
            matches!(&err, Error::Upstream { status: 404, code, .. } if code == "NoSuchUpload"),
            "{err:?}"
        );
        assert_eq!(
            store.operations().last(),
            Some(&"AbortMultipartUpload"),
            "a failed complete is aborted"
        );
    }

    #[test]
    fn no_such_upload_without_an_earlier_attempt_is_a_failure() {
        let mut store = FakeStore::scripted(|seen, _| {
            (seen.operation == "CompleteMultipartUpload").then(|| Ok(s3_error(404, "NoSuchUpload")))
        });
        assert!(run(&mut store, &config(&[]), 6 * MIB, None, None).is_err());
        assert!(!store.operations().contains(&"HeadObject"));
    }

    #[test]
    fn multipart_etags_are_the_md5_of_the_part_md5s() {
        let part = |number, etag: &str| CompletedPart {
            number,
            etag: etag.to_owned(),
            checksum_sha256: String::new(),
        };
        // MD5("a") and MD5("b"); MD5 of their 32 bytes, as S3 and s3s do.
        let parts = [
            part(1, "0cc175b9c0f1b6a831c399e269772661"),
            part(2, "92eb5ffee6ae2fec3ad71c777531578f"),
        ];
        let mut md5 = Md5::new();
        md5.update(hex::decode(&parts[0].etag).unwrap());
        md5.update(hex::decode(&parts[1].etag).unwrap());
        assert_eq!(
            multipart_etag(&parts),
            Some(format!("{}-2", hex::encode(md5.finalize())))
        );
        assert_eq!(multipart_etag(&[part(1, "not-an-md5")]), None);
    }

    #[test]
    fn overwrite_protection_surfaces_precondition_failed() {
        let mut store = FakeStore::scripted(|seen, _| {
            (seen.operation == "PutObject").then(|| Ok(s3_error(412, "PreconditionFailed")))
        });
        let config = config(&[("s3-refuse-overwrite", "true")]);
        let err = run(&mut store, &config, 10, Some(10), None).unwrap_err();
        assert!(
            matches!(&err, Error::Upstream { status: 412, code, .. } if code == "PreconditionFailed"),
            "{err:?}"
        );
        assert_eq!(store.operations(), ["PutObject"]);
        assert_eq!(header(&store.seen[0], "if-none-match"), Some("*"));

        // On Complete too, and the upload is then aborted.
        let mut store = FakeStore::scripted(|seen, _| {
            (seen.operation == "CompleteMultipartUpload")
                .then(|| Ok(s3_error(412, "PreconditionFailed")))
        });
        let err = run(&mut store, &config, 6 * MIB, None, None).unwrap_err();
        assert!(matches!(err, Error::Upstream { status: 412, .. }));
        assert_eq!(store.operations().last(), Some(&"AbortMultipartUpload"));
    }

    #[test]
    fn a_retried_put_that_finds_its_own_object_succeeds() {
        let md5 = hex::encode(Md5::digest(pattern(10)));
        let mut store = FakeStore::scripted(move |seen, before| match (seen.operation, before) {
            ("PutObject", 0) => Some(Err(lost())),
            ("PutObject", _) => Some(Ok(s3_error(412, "PreconditionFailed"))),
            ("HeadObject", _) => Some(Ok(Response {
                status: 200,
                etag: Some(format!("\"{md5}\"")),
                content_length: Some(10),
                ..Response::default()
            })),
            _ => None,
        });
        let config = config(&[("s3-refuse-overwrite", "true")]);
        let stored = run(&mut store, &config, 10, Some(10), None).unwrap();
        assert_eq!(stored.etag, hex::encode(Md5::digest(pattern(10))));
        assert_eq!(store.operations(), ["PutObject", "PutObject", "HeadObject"]);

        // Same size, another body: not ours.
        let mut store = FakeStore::scripted(|seen, before| match (seen.operation, before) {
            ("PutObject", 0) => Some(Err(lost())),
            ("PutObject", _) => Some(Ok(s3_error(412, "PreconditionFailed"))),
            ("HeadObject", _) => Some(Ok(Response {
                status: 200,
                etag: Some("\"0cc175b9c0f1b6a831c399e269772661\"".into()),
                content_length: Some(10),
                ..Response::default()
            })),
            _ => None,
        });
        let err = run(&mut store, &config, 10, Some(10), None).unwrap_err();
        assert!(matches!(err, Error::Upstream { status: 412, .. }));
    }

    /// A body that fails after `fails_at` bytes, as a cut-off client does.
    struct CutOff {
        inner: Body,
        fails_at: u64,
    }

    impl Source for CutOff {
        fn read(&mut self, max: u64) -> Result<Vec<u8>, StreamFault> {
            if self.inner.pos >= self.fails_at {
                return Err(StreamFault::Failed("the body ended with an error".into()));
            }
            self.inner.read(max.min(self.fails_at - self.inner.pos))
        }
    }

    #[test]
    fn a_cut_off_body_is_never_completed() {
        for (len, declared) in [
            (12 * MIB, None),
            (12 * MIB, Some(12 * MIB)),
            (100, Some(100)),
        ] {
            let mut store = FakeStore::new();
            let config = config(&[]);
            let input = PutInput::check("k", None, declared, None).unwrap();
            let mut source = CutOff {
                inner: body(len),
                fails_at: len,
            };
            let err = put(&mut store, &mut source, &config, &input, "k").unwrap_err();
            assert!(
                matches!(&err, Error::InvalidInput(m) if m.starts_with("the request body was cut off")),
                "{err:?}"
            );
            let ops = store.operations();
            assert!(!ops.contains(&"CompleteMultipartUpload"), "{ops:?}");
            assert!(!ops.contains(&"PutObject"), "{ops:?}");
            if ops.contains(&"CreateMultipartUpload") {
                assert_eq!(ops.last(), Some(&"AbortMultipartUpload"));
            }
        }
    }

    #[test]
    fn secrets_never_leave_in_errors() {
        let mut store = FakeStore::scripted(|seen, _| {
            (seen.operation == "PutObject").then(|| {
                Ok(Response {
                    status: 403,
                    body: format!("<Error><Code>X</Code><Message>{SECRET}</Message></Error>")
                        .into_bytes(),
                    ..Response::default()
                })
            })
        });
        let err = run(&mut store, &config(&[]), 10, Some(10), None).unwrap_err();
        assert!(!err.to_string().contains(SECRET), "{err}");
    }
}
