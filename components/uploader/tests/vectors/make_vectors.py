#!/usr/bin/env python3
"""SigV4 header-signing vectors for the requests the uploader sends, signed
by botocore (an implementation independent of the crate's `aws-sigv4`).

    pip install botocore==1.43.11
    python3 components/uploader/tests/vectors/make_vectors.py          # print
    python3 components/uploader/tests/vectors/make_vectors.py --check  # compare
    python3 components/uploader/tests/vectors/make_vectors.py --write  # update
    python3 components/uploader/tests/vectors/make_vectors.py --canonical  # debug

It prints the Rust block that `components/uploader/tests/sigv4_vectors.rs`
holds between its `BEGIN GENERATED` and `END GENERATED` lines; `--check`
fails when that block differs from what this botocore signs now, and
`--write` replaces it.
`--canonical` also prints each canonical request to stderr.

Every input below is written out here, independently of the Rust code,
mirroring what `ObjectRequests` builds: the method, the key (encoded here
with Python's own `quote`, not the crate's encoder), the query as sent, the
headers the crate signs besides the ones SigV4 adds, and the body itself
(botocore hashes it: the signed payload). botocore adds `x-amz-date`,
`x-amz-content-sha256`, `x-amz-security-token` and `authorization`, and
derives `host` from the URL. The Rust test then checks that production
sends exactly these headers with exactly these values.

The secret key and the session token are test values, never printed: the
session token appears in the output as the Rust constant `TOKEN`.
"""

import base64
import datetime
import hashlib
import sys
from pathlib import Path
from unittest import mock
from urllib.parse import quote

import botocore
import botocore.auth
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config as BotoConfig
from botocore.credentials import Credentials

# 2026-03-14T15:09:26Z (Unix 1773500966), as botocore's clock returns it
# (naive UTC).
TIME = datetime.datetime(2026, 3, 14, 15, 9, 26)

AKID = "AKIDVECTORS0EXAMPLE"
SECRET = "edgeplug-vector-secret/Kq7+Rw2"
TOKEN = "edgeplug-vector-token/Jx4+Mn8="

BUCKET = "edgeplug-vectors"

# The two configurations of the Rust test (`Config::from_lookup`).
FLAVORS = {
    # s3-endpoint = http://127.0.0.1:9000, s3-addressing unset (path),
    # s3-region unset (us-east-1), no key prefix.
    "path": {
        "base": f"http://127.0.0.1:9000/{BUCKET}/",
        "region": "us-east-1",
        "prefix": "",
    },
    # s3-endpoint = https://s3.eu-west-1.amazonaws.com, s3-addressing =
    # virtual, s3-region = eu-west-1, s3-key-prefix = "tenants/a/" (the
    # crate keeps one '/').
    "virtual": {
        "base": f"https://{BUCKET}.s3.eu-west-1.amazonaws.com/",
        "region": "eu-west-1",
        "prefix": "tenants/a/",
    },
}

# Keys needing escapes: space, '+', '%', non-ASCII; '~' stays.
KEY_1 = "photos/ü b+c%.jpg"
KEY_2 = "a b/日本語+x~y (1).txt"

# Upload ids with characters a query escapes ('+', '/', '=') and ones it
# keeps ('.', '_', '-', '~').
UPLOAD_1 = "2~Vx.y_z-w"
UPLOAD_2 = "VXBsb2Fk+SUQ/x=="

COMPLETE_XML = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
    "<Part><PartNumber>1</PartNumber>"
    "<ETag>&quot;5d41402abc4b2a76b9719d911017c592&quot;</ETag>"
    "<ChecksumSHA256>LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=</ChecksumSHA256></Part>"
    "<Part><PartNumber>2</PartNumber>"
    "<ETag>&quot;7d793037a0760186574b0282f2f435e7&quot;</ETag>"
    "<ChecksumSHA256>SG6kYiTRu0+2gPNPfJrZao8k7Ii+c+qOWmxlJg6cuKc=</ChecksumSHA256></Part>"
    "</CompleteMultipartUpload>"
).encode()


def checksum(body):
    """`x-amz-checksum-sha256`: base64 of the raw SHA-256."""
    return base64.b64encode(hashlib.sha256(body).digest()).decode()


def q(text):
    """One query value, RFC 3986 unreserved characters kept."""
    return quote(text, safe="-_.~")


# (Rust constant, flavor, session token?, s3-refuse-overwrite?, method,
#  key, query as sent, headers before signing, body)
VECTORS = [
    (
        "PUT_OBJECT_PATH",
        "path", False, False, "PUT", KEY_1, None,
        [("content-length", "11"), ("content-type", "image/jpeg"),
         ("x-amz-checksum-sha256", checksum(b"hello world"))],
        b"hello world",
    ),
    (
        "PUT_OBJECT_VIRTUAL_TOKEN",
        "virtual", True, False, "PUT", KEY_2, None,
        [("content-length", "9"), ("content-type", "text/plain; charset=utf-8"),
         ("x-amz-checksum-sha256", checksum(b"edgeplug\n"))],
        b"edgeplug\n",
    ),
    (
        "PUT_OBJECT_PATH_TOKEN_EMPTY",
        "path", True, False, "PUT", KEY_2, None,
        [("content-length", "0"), ("x-amz-checksum-sha256", checksum(b""))],
        b"",
    ),
    (
        "PUT_OBJECT_PATH_REFUSE_OVERWRITE",
        "path", False, True, "PUT", KEY_1, None,
        [("content-length", "11"), ("content-type", "image/jpeg"),
         ("if-none-match", "*"),
         ("x-amz-checksum-sha256", checksum(b"hello world"))],
        b"hello world",
    ),
    (
        "PUT_OBJECT_VIRTUAL_TOKEN_REFUSE_OVERWRITE",
        "virtual", True, True, "PUT", KEY_1, None,
        [("content-length", "9"), ("if-none-match", "*"),
         ("x-amz-checksum-sha256", checksum(b"edgeplug\n"))],
        b"edgeplug\n",
    ),
    (
        # Sent as given; SigV4 signs it with the inner spaces collapsed.
        "PUT_OBJECT_PATH_SPACED_CONTENT_TYPE",
        "path", False, False, "PUT", KEY_2, None,
        [("content-length", "11"), ("content-type", "text/plain;   charset=utf-8"),
         ("x-amz-checksum-sha256", checksum(b"hello world"))],
        b"hello world",
    ),
    (
        "CREATE_MULTIPART_PATH",
        "path", False, False, "POST", KEY_1, "uploads",
        [("content-length", "0"), ("content-type", "video/mp4"),
         ("x-amz-checksum-algorithm", "SHA256")],
        b"",
    ),
    (
        "CREATE_MULTIPART_VIRTUAL_TOKEN",
        "virtual", True, False, "POST", KEY_2, "uploads",
        [("content-length", "0"), ("x-amz-checksum-algorithm", "SHA256")],
        b"",
    ),
    (
        "UPLOAD_PART_PATH",
        "path", False, False, "PUT", KEY_1,
        f"partNumber=1&uploadId={q(UPLOAD_1)}",
        [("content-length", "8"), ("x-amz-checksum-sha256", checksum(b"part one"))],
        b"part one",
    ),
    (
        "UPLOAD_PART_VIRTUAL_TOKEN",
        "virtual", True, False, "PUT", KEY_2,
        f"partNumber=10000&uploadId={q(UPLOAD_2)}",
        [("content-length", "14"),
         ("x-amz-checksum-sha256", checksum(b"part ten 000\r\n"))],
        b"part ten 000\r\n",
    ),
    (
        "COMPLETE_MULTIPART_PATH_TOKEN",
        "path", True, False, "POST", KEY_1, f"uploadId={q(UPLOAD_2)}",
        [("content-length", str(len(COMPLETE_XML))),
         ("content-type", "application/xml")],
        COMPLETE_XML,
    ),
    (
        "COMPLETE_MULTIPART_VIRTUAL_REFUSE_OVERWRITE",
        "virtual", False, True, "POST", KEY_2, f"uploadId={q(UPLOAD_1)}",
        [("content-length", str(len(COMPLETE_XML))),
         ("content-type", "application/xml"), ("if-none-match", "*")],
        COMPLETE_XML,
    ),
    (
        "ABORT_MULTIPART_PATH",
        "path", False, False, "DELETE", KEY_1, f"uploadId={q(UPLOAD_1)}",
        [("content-length", "0")],
        b"",
    ),
    (
        "ABORT_MULTIPART_VIRTUAL_TOKEN",
        "virtual", True, False, "DELETE", KEY_2, f"uploadId={q(UPLOAD_2)}",
        [("content-length", "0")],
        b"",
    ),
    (
        "HEAD_OBJECT_VIRTUAL_TOKEN",
        "virtual", True, False, "HEAD", KEY_1, None,
        [("content-length", "0")],
        b"",
    ),
]


class RecordingAuth(S3SigV4Auth):
    """botocore's S3 signer, keeping the canonical request it signed."""

    canonical = ""

    def canonical_request(self, request):
        self.canonical = super().canonical_request(request)
        return self.canonical


def sign(flavor, token, method, key, query, headers, body, canonical_out=None):
    """botocore's signed request: (url as sent, every header but host)."""
    conf = FLAVORS[flavor]
    # S3 signs the path as sent, encoded once: each byte other than RFC
    # 3986's unreserved characters (and the '/' between segments) as %XX.
    url = conf["base"] + quote(conf["prefix"] + key, safe="/~")
    if query is not None:
        url += "?" + query
    credentials = Credentials(AKID, SECRET, TOKEN if token else None)
    request = AWSRequest(method=method, url=url, headers=dict(headers), data=body)
    # Sign the body's SHA-256 even over https (the uploader always does).
    request.context["client_config"] = BotoConfig(
        s3={"payload_signing_enabled": True}
    )
    auth = RecordingAuth(credentials, "s3", conf["region"])
    with mock.patch.object(botocore.auth, "get_current_datetime", return_value=TIME):
        auth.add_auth(request)
    if canonical_out is not None:
        canonical_out.write(auth.canonical.replace(TOKEN, "<session token>") + "\n\n")
    signed = sorted((k.lower(), v) for k, v in request.headers.items())
    return url, signed


def rust_str(text):
    out = text.replace("\\", "\\\\").replace('"', '\\"')
    assert out.isascii() and out.isprintable(), text
    return f'"{out}"'


def generate(canonical_out=None):
    lines = [
        "// BEGIN GENERATED by tests/vectors/make_vectors.py "
        f"(botocore {botocore.__version__})",
        "/// What botocore signed for each vector (see this file's doc comment).",
        "#[rustfmt::skip]",
        "mod botocore {",
        "    use super::{Expected, TOKEN};",
    ]
    for name, flavor, token, _refuse, method, key, query, headers, body in VECTORS:
        url, signed = sign(flavor, token, method, key, query, headers, body, canonical_out)
        lines.append("")
        lines.append(f"    pub(super) const {name}: Expected = Expected {{")
        lines.append(f"        method: {rust_str(method)},")
        lines.append(f"        url: {rust_str(url)},")
        lines.append("        headers: &[")
        for k, v in signed:
            assert SECRET not in v
            value = "TOKEN" if k == "x-amz-security-token" else rust_str(v)
            if token and k == "x-amz-security-token":
                assert v == TOKEN
            lines.append(f"            ({rust_str(k)}, {value}),")
        lines.append("        ],")
        lines.append("    };")
    lines.append("}")
    lines.append("// END GENERATED")
    return "\n".join(lines) + "\n"


def main():
    canonical_out = sys.stderr if "--canonical" in sys.argv else None
    block = generate(canonical_out)
    if "--check" not in sys.argv and "--write" not in sys.argv:
        sys.stdout.write(block)
        return 0
    test = Path(__file__).resolve().parent.parent / "sigv4_vectors.rs"
    text = test.read_text()
    start = text.index("// BEGIN GENERATED")
    end = text.index("// END GENERATED\n") + len("// END GENERATED\n")
    if "--write" in sys.argv:
        test.write_text(text[:start] + block + text[end:])
        print(f"{test}: vectors written")
        return 0
    if text[start:end] != block:
        print(f"{test}: the generated block differs from botocore's vectors", file=sys.stderr)
        return 1
    print(f"{test}: vectors match botocore {botocore.__version__}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
