//! The checksums S3 knows (CRC32, CRC32C, SHA-1, SHA-256, CRC64NVME), as
//! kept beside an object or a part and as S3 inputs and outputs carry them.

use s3s::checksum::ChecksumHasher;
use s3s::dto::{Checksum, ChecksumAlgorithm};
use s3s::{S3Result, s3_error};
use serde::{Deserialize, Serialize};

/// The checksums of an object or a part, base64 as S3 carries them.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub(super) struct Checksums {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) crc32: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) crc32c: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) sha1: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) sha256: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) crc64nvme: Option<String>,
}

/// The `checksum_*` fields of an S3 input or output as [`Checksums`].
macro_rules! checksums_of {
    ($dto:expr) => {
        $crate::s3::store::checksums::Checksums {
            crc32: $dto.checksum_crc32.clone(),
            crc32c: $dto.checksum_crc32c.clone(),
            sha1: $dto.checksum_sha1.clone(),
            sha256: $dto.checksum_sha256.clone(),
            crc64nvme: $dto.checksum_crc64nvme.clone(),
        }
    };
}

/// Sets the `checksum_*` fields of an S3 output from [`Checksums`].
macro_rules! set_checksums {
    ($dto:expr, $checksums:expr) => {{
        let checksums: $crate::s3::store::checksums::Checksums = $checksums;
        $dto.checksum_crc32 = checksums.crc32;
        $dto.checksum_crc32c = checksums.crc32c;
        $dto.checksum_sha1 = checksums.sha1;
        $dto.checksum_sha256 = checksums.sha256;
        $dto.checksum_crc64nvme = checksums.crc64nvme;
    }};
}
pub(super) use {checksums_of, set_checksums};

impl Checksums {
    pub(super) fn from_dto(checksum: Checksum) -> Self {
        checksums_of!(checksum)
    }

    pub(super) fn get(&self, alg: Alg) -> Option<&str> {
        match alg {
            Alg::Crc32 => self.crc32.as_deref(),
            Alg::Crc32c => self.crc32c.as_deref(),
            Alg::Sha1 => self.sha1.as_deref(),
            Alg::Sha256 => self.sha256.as_deref(),
            Alg::Crc64Nvme => self.crc64nvme.as_deref(),
        }
    }

    pub(super) fn set(&mut self, alg: Alg, value: String) {
        let slot = match alg {
            Alg::Crc32 => &mut self.crc32,
            Alg::Crc32c => &mut self.crc32c,
            Alg::Sha1 => &mut self.sha1,
            Alg::Sha256 => &mut self.sha256,
            Alg::Crc64Nvme => &mut self.crc64nvme,
        };
        *slot = Some(value);
    }

    /// Refuses with `BadDigest` unless every checksum in `self` (what the
    /// client declared) is the one `computed` has.
    pub(super) fn verify(&self, computed: &Checksums) -> S3Result<()> {
        for alg in Alg::ALL {
            if let Some(declared) = self.get(alg)
                && computed.get(alg) != Some(declared.trim())
            {
                return Err(s3_error!(
                    BadDigest,
                    "The {} you specified did not match the calculated checksum.",
                    alg.name()
                ));
            }
        }
        Ok(())
    }
}

/// A checksum algorithm S3 knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Alg {
    Crc32,
    Crc32c,
    Sha1,
    Sha256,
    Crc64Nvme,
}

impl Alg {
    pub(super) const ALL: [Alg; 5] = [
        Alg::Crc32,
        Alg::Crc32c,
        Alg::Sha1,
        Alg::Sha256,
        Alg::Crc64Nvme,
    ];

    /// As `x-amz-checksum-algorithm` names it.
    pub(super) fn name(self) -> &'static str {
        match self {
            Alg::Crc32 => ChecksumAlgorithm::CRC32,
            Alg::Crc32c => ChecksumAlgorithm::CRC32C,
            Alg::Sha1 => ChecksumAlgorithm::SHA1,
            Alg::Sha256 => ChecksumAlgorithm::SHA256,
            Alg::Crc64Nvme => ChecksumAlgorithm::CRC64NVME,
        }
    }

    /// The header (or trailer) that carries it.
    pub(super) fn header(self) -> &'static str {
        match self {
            Alg::Crc32 => "x-amz-checksum-crc32",
            Alg::Crc32c => "x-amz-checksum-crc32c",
            Alg::Sha1 => "x-amz-checksum-sha1",
            Alg::Sha256 => "x-amz-checksum-sha256",
            Alg::Crc64Nvme => "x-amz-checksum-crc64nvme",
        }
    }

    pub(super) fn parse(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|alg| alg.name().eq_ignore_ascii_case(name.trim()))
    }

    /// `x-amz-checksum-algorithm`, refused when S3 does not know it.
    pub(super) fn requested(algorithm: Option<&ChecksumAlgorithm>) -> S3Result<Option<Self>> {
        algorithm
            .map(|algorithm| {
                Self::parse(algorithm.as_str()).ok_or_else(|| {
                    s3_error!(
                        InvalidArgument,
                        "Value for x-amz-checksum-algorithm header is invalid."
                    )
                })
            })
            .transpose()
    }

    pub(super) fn enable(self, hasher: &mut ChecksumHasher) {
        match self {
            Alg::Crc32 => hasher.crc32 = Some(Default::default()),
            Alg::Crc32c => hasher.crc32c = Some(Default::default()),
            Alg::Sha1 => hasher.sha1 = Some(Default::default()),
            Alg::Sha256 => hasher.sha256 = Some(Default::default()),
            Alg::Crc64Nvme => hasher.crc64nvme = Some(Default::default()),
        }
    }
}
