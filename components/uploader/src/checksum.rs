//! SHA-256 checksums as S3 carries them: base64 of the raw digest in
//! `x-amz-checksum-sha256`, hex in `x-amz-content-sha256`, and the
//! "checksum of checksums" S3 reports for a multipart upload.

use sha2::{Digest, Sha256};

/// A raw SHA-256 digest.
pub type Sha256Digest = [u8; 32];

/// The SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> Sha256Digest {
    Sha256::digest(bytes).into()
}

/// Lower-case hex, as `x-amz-content-sha256` wants it.
pub fn to_hex(digest: &Sha256Digest) -> String {
    hex::encode(digest)
}

/// Standard base64 with padding (RFC 4648 §4), as S3's checksum headers and
/// XML elements carry digests.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let sextet = |shift: u32| char::from(ALPHABET[((n >> shift) & 63) as usize]);
        out.push(sextet(18));
        out.push(sextet(12));
        out.push(if chunk.len() > 1 { sextet(6) } else { '=' });
        out.push(if chunk.len() > 2 { sextet(0) } else { '=' });
    }
    out
}

/// S3's checksum of a multipart object: the SHA-256 of the parts' raw
/// SHA-256 digests, concatenated in part order, base64, then `-N`.
pub fn composite(parts: &[Sha256Digest]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    let digest: Sha256Digest = hasher.finalize().into();
    format!("{}-{}", base64(&digest), parts.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        for (input, expected) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), expected, "{input:?}");
        }
        assert_eq!(base64(&[0xfb, 0xff, 0xfe]), "+//+");
    }

    #[test]
    fn checksum_of_the_empty_body_is_what_s3_reports() {
        // `aws s3api put-object --checksum-algorithm SHA256` of an empty file.
        let digest = sha256(b"");
        assert_eq!(
            base64(&digest),
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
        assert_eq!(
            to_hex(&digest),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            base64(&sha256(b"hello")),
            "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ="
        );
    }

    #[test]
    fn composite_hashes_the_raw_part_digests() {
        let parts = [sha256(b"a"), sha256(b"b")];
        let mut joined = Vec::new();
        joined.extend_from_slice(&parts[0]);
        joined.extend_from_slice(&parts[1]);
        assert_eq!(composite(&parts), format!("{}-2", base64(&sha256(&joined))));
        assert!(composite(&parts[..1]).ends_with("-1"));
    }
}
