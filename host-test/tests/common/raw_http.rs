//! A raw HTTP/1.1 exchange over TCP, for tests that must send exactly the
//! bytes a browser or a plain client would (a presigned URL used as it is,
//! a form POST, a CORS preflight) and read every byte of the answer.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// How long one exchange may take before the test gives up: a give-up
/// bound, not a timing assertion.
pub const GIVE_UP: Duration = Duration::from_secs(60);

/// What the server answered.
pub struct RawAnswer {
    /// The status code.
    pub status: u16,
    /// Each header line, its name in lower case, in order.
    pub headers: Vec<(String, String)>,
    /// The body, as text.
    pub body: String,
    /// The whole answer, head and body, as text.
    pub text: String,
}

impl RawAnswer {
    /// The value of the header `name` (lower case), the first if repeated.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Sends `head` then `body` over a fresh connection to `addr` and reads the
/// answer to its end (the request must say `Connection: close`).
pub async fn exchange(addr: SocketAddr, head: String, body: &[u8]) -> anyhow::Result<RawAnswer> {
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await?;
        stream.write_all(head.as_bytes()).await?;
        // The server may answer (and close) before reading a body it
        // refuses: its answer is what counts, not whether every byte went out.
        let _ = stream.write_all(body).await;
        let mut raw = Vec::new();
        let _ = stream.read_to_end(&mut raw).await;
        let text = String::from_utf8_lossy(&raw).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|line| line.split(' ').nth(1))
            .and_then(|code| code.parse().ok())
            .ok_or_else(|| anyhow::anyhow!("no HTTP status in {text:?}"))?;
        let headers = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
            .collect();
        let body = body.to_owned();
        anyhow::Ok(RawAnswer {
            status,
            headers,
            body,
            text,
        })
    };
    tokio::time::timeout(GIVE_UP, exchange).await?
}

/// The boundary [`form_body`] separates parts with.
pub const FORM_BOUNDARY: &str = "----edgeplug-form-boundary-7d3f";

/// A `multipart/form-data` body as a browser's form sends it: `fields` in
/// order, then the file as the last field, named `file`, with its name and
/// type. Its `Content-Type` is `multipart/form-data; boundary=`
/// [`FORM_BOUNDARY`].
pub fn form_body(
    fields: &[(String, String)],
    file_name: &str,
    file_type: &str,
    file: &[u8],
) -> Vec<u8> {
    let boundary = FORM_BOUNDARY;
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n\
             Content-Type: {file_type}\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    body
}
