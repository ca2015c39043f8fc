//! Multipart uploads: create, upload a part, list parts, complete, abort,
//! list the open uploads. An open upload is a folder `uploads/{id}/` of
//! `upload.json` and, for each part, `{n}.part` and `{n}.json`.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use s3s::checksum::ChecksumHasher;
use s3s::crypto::{Checksum as _, Md5};
use s3s::dto::{
    AbortMultipartUploadInput, AbortMultipartUploadOutput, ChecksumAlgorithm,
    CompleteMultipartUploadInput, CompleteMultipartUploadOutput, CreateMultipartUploadInput,
    CreateMultipartUploadOutput, ETag, ListMultipartUploadsInput, ListMultipartUploadsOutput,
    ListPartsInput, ListPartsOutput, MultipartUpload, Part, StorageClass, UploadPartInput,
    UploadPartOutput,
};
use s3s::{S3Error, S3Request, S3Response, S3Result, s3_error};
use serde::{Deserialize, Serialize};

use super::checksums::{Alg, Checksums, checksums_of, set_checksums};
use super::errors::{internal, is_not_found, no_such_upload};
use super::keys::ObjectPaths;
use super::listing::{KeyEncoding, MAX_PAGE, max_entries};
use super::meta::{Attributes, ObjectMeta, Stamp, attributes_of, read_json};
use super::receive::{Declared, check_content_length};
use super::writes::WriteCondition;
use super::{FileStore, blocking, random_id, size_i64};

/// The least every part but the last must hold: 5 MiB.
const MIN_PART_BYTES: u64 = 5 * 1024 * 1024;
/// Part numbers run from 1 to this.
const MAX_PART_NUMBER: i32 = 10_000;
/// In an upload's folder: what the upload is for.
const UPLOAD_JSON: &str = "upload.json";

/// An open multipart upload.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct UploadMeta {
    bucket: String,
    key: String,
    initiated: Stamp,
    #[serde(default)]
    checksum_algorithm: Option<String>,
    #[serde(default)]
    attributes: Attributes,
}

impl UploadMeta {
    fn algorithm(&self) -> Option<Alg> {
        self.checksum_algorithm.as_deref().and_then(Alg::parse)
    }

    /// Its checksum algorithm, as S3 outputs carry it.
    fn checksum_algorithm_dto(&self) -> Option<ChecksumAlgorithm> {
        self.algorithm()
            .map(|alg| ChecksumAlgorithm::from_static(alg.name()))
    }
}

/// One uploaded part.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PartMeta {
    number: i32,
    size: u64,
    modified: Stamp,
    etag: String,
    #[serde(default)]
    checksums: Checksums,
}

fn part_data(number: i32) -> String {
    format!("{number:05}.part")
}

fn part_json(number: i32) -> String {
    format!("{number:05}.json")
}

fn invalid_part(number: i32) -> S3Error {
    s3_error!(
        InvalidPart,
        "Part {number} could not be found, or its entity tag or checksum did not match the part's."
    )
}

fn is_upload_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Refuses with `NoSuchUpload` once the upload in `dir` is completed or
/// aborted; the caller holds the lock, so it stays open while it writes.
pub(super) fn check_upload_open(dir: &Path) -> S3Result<()> {
    if dir.join(UPLOAD_JSON).is_file() {
        Ok(())
    } else {
        Err(no_such_upload())
    }
}

/// S3's checksum of a multipart object: the checksum of the parts' raw
/// checksums, then `-N`. `None` when a part lacks one.
fn composite_checksum(alg: Alg, parts: &[PartMeta]) -> Option<String> {
    let mut hasher = ChecksumHasher::default();
    alg.enable(&mut hasher);
    for part in parts {
        let raw = base64_simd::STANDARD
            .decode_to_vec(part.checksums.get(alg)?)
            .ok()?;
        hasher.update(&raw);
    }
    let whole = Checksums::from_dto(hasher.finalize());
    Some(format!("{}-{}", whole.get(alg)?, parts.len()))
}

impl FileStore {
    /// The ids of the multipart uploads created and neither completed nor
    /// aborted, in every bucket.
    pub(crate) fn open_upload_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.uploads(None).into_iter().map(|(id, _)| id).collect();
        ids.sort();
        ids
    }

    /// An open upload of `bucket`/`key`: its folder and what it is for.
    /// Blocks (briefly).
    fn load_upload(&self, id: &str, bucket: &str, key: &str) -> S3Result<(PathBuf, UploadMeta)> {
        if !is_upload_id(id) {
            return Err(no_such_upload());
        }
        let dir = self.uploads_dir().join(id);
        let upload: UploadMeta = read_json(&dir.join(UPLOAD_JSON))
            .map_err(|e| internal("cannot read an upload", e))?
            .ok_or_else(no_such_upload)?;
        if upload.bucket != bucket || upload.key != key {
            return Err(no_such_upload());
        }
        Ok((dir, upload))
    }

    /// Every open upload (of `bucket`, when given), by id. Blocks.
    fn uploads(&self, bucket: Option<&str>) -> Vec<(String, UploadMeta)> {
        let Ok(entries) = fs::read_dir(self.uploads_dir()) else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter_map(|entry| {
                let id = entry.file_name().into_string().ok()?;
                if !is_upload_id(&id) {
                    return None;
                }
                let upload: UploadMeta = read_json(&entry.path().join(UPLOAD_JSON)).ok()??;
                bucket
                    .is_none_or(|bucket| upload.bucket == bucket)
                    .then_some((id, upload))
            })
            .collect()
    }

    /// The parts stored for the upload in `dir`, by number. Blocks.
    fn parts(dir: &Path) -> S3Result<Vec<PartMeta>> {
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if is_not_found(&e) => return Err(no_such_upload()),
            Err(e) => return Err(internal("cannot list parts", e)),
        };
        let mut parts = Vec::new();
        for entry in entries.flatten() {
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            if name == UPLOAD_JSON || !name.ends_with(".json") {
                continue;
            }
            if let Some(part) = read_json::<PartMeta>(&entry.path())
                .map_err(|e| internal("cannot read a part", e))?
            {
                parts.push(part);
            }
        }
        parts.sort_by_key(|part| part.number);
        Ok(parts)
    }

    /// Builds the object from the chosen parts and puts it in place; the
    /// upload is gone after. Blocks.
    fn complete(
        &self,
        paths: &ObjectPaths,
        id: &str,
        bucket: &str,
        chosen: &[(i32, Option<ETag>, Checksums)],
        condition: &WriteCondition,
    ) -> S3Result<(String, Checksums)> {
        let (dir, upload) = self.load_upload(id, bucket, &paths.key)?;
        let count = chosen.len();
        let mut parts = Vec::with_capacity(count);
        for (position, (number, etag, declared)) in chosen.iter().enumerate() {
            let part: PartMeta = read_json(&dir.join(part_json(*number)))
                .map_err(|e| internal("cannot read a part", e))?
                .ok_or_else(|| invalid_part(*number))?;
            let same_etag = etag.as_ref().is_some_and(|etag| {
                etag.value()
                    .trim_matches('"')
                    .eq_ignore_ascii_case(&part.etag)
            });
            let same_checksums = Alg::ALL.into_iter().all(|alg| {
                declared
                    .get(alg)
                    .is_none_or(|declared| part.checksums.get(alg) == Some(declared.trim()))
            });
            if !same_etag || !same_checksums {
                return Err(invalid_part(*number));
            }
            if position + 1 < count && part.size < MIN_PART_BYTES {
                return Err(s3_error!(
                    EntityTooSmall,
                    "Your proposed upload is smaller than the minimum allowed object size: part {number} has {} bytes, every part but the last needs 5 MiB.",
                    part.size
                ));
            }
            parts.push(part);
        }
        // Refuse early what would be refused at the end, before copying.
        {
            let _visible = self.lock();
            self.check_write_locked(condition, paths)?;
        }
        let temp = self.new_temp()?;
        {
            let mut out = fs::File::create(&temp.path)
                .map_err(|e| internal("cannot create a temporary file", e))?;
            for part in &parts {
                let mut input = match fs::File::open(dir.join(part_data(part.number))) {
                    Ok(input) => input,
                    // Aborted meanwhile.
                    Err(e) if is_not_found(&e) => return Err(no_such_upload()),
                    Err(e) => return Err(internal("cannot read a part", e)),
                };
                io::copy(&mut input, &mut out).map_err(|e| internal("cannot join the parts", e))?;
            }
        }
        let stat = fs::metadata(&temp.path).map_err(|e| internal("cannot read the object", e))?;
        let mut md5 = Md5::new();
        for part in &parts {
            let digest = hex::decode(&part.etag).map_err(|e| internal("a part's ETag", e))?;
            md5.update(&digest);
        }
        let etag = format!("{}-{count}", hex::encode(md5.finalize()));
        let mut checksums = Checksums::default();
        if let Some(alg) = upload.algorithm()
            && let Some(composite) = composite_checksum(alg, &parts)
        {
            checksums.set(alg, composite);
        }
        let meta = ObjectMeta {
            key: paths.key.clone(),
            size: stat.len(),
            modified: Stamp::modified(&stat),
            etag: etag.clone(),
            attributes: upload.attributes,
            checksums: checksums.clone(),
            parts: Some(count),
        };
        self.commit_object(paths, temp, &meta, condition, Some(&dir))?;
        Ok((etag, checksums))
    }
}

pub(super) async fn create_multipart_upload(
    store: &FileStore,
    req: S3Request<CreateMultipartUploadInput>,
) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
    let input = req.input;
    store.object_paths(&input.bucket, &input.key)?;
    store.existing_bucket(&input.bucket)?;
    let algorithm = Alg::requested(input.checksum_algorithm.as_ref())?;
    let id = random_id()?;
    let upload = UploadMeta {
        bucket: input.bucket.clone(),
        key: input.key.clone(),
        initiated: Stamp::now(),
        checksum_algorithm: algorithm.map(|alg| alg.name().to_owned()),
        attributes: attributes_of!(input),
    };
    let store = store.clone();
    let dest = store.uploads_dir().join(&id);
    blocking(move || {
        // Made whole in tmp/, then moved into uploads/ at once.
        let dir = store.new_temp()?;
        fs::create_dir(&dir.path).map_err(|e| internal("cannot create the upload", e))?;
        let json =
            serde_json::to_vec(&upload).map_err(|e| internal("cannot encode the upload", e))?;
        fs::write(dir.path.join(UPLOAD_JSON), json)
            .map_err(|e| internal("cannot create the upload", e))?;
        dir.persist(&dest)
            .map_err(|e| internal("cannot create the upload", e))
    })
    .await?;
    Ok(S3Response::new(CreateMultipartUploadOutput {
        bucket: Some(input.bucket),
        key: Some(input.key),
        upload_id: Some(id),
        checksum_algorithm: input.checksum_algorithm,
        ..Default::default()
    }))
}

pub(super) async fn upload_part(
    store: &FileStore,
    req: S3Request<UploadPartInput>,
) -> S3Result<S3Response<UploadPartOutput>> {
    let S3Request {
        input,
        headers,
        trailing_headers,
        ..
    } = req;
    if !(1..=MAX_PART_NUMBER).contains(&input.part_number) {
        return Err(s3_error!(
            InvalidArgument,
            "Part number must be an integer between 1 and 10000, inclusive"
        ));
    }
    store.object_paths(&input.bucket, &input.key)?;
    check_content_length(input.content_length)?;
    let (dir, upload) = store.load_upload(&input.upload_id, &input.bucket, &input.key)?;
    let declared = Declared {
        checksums: checksums_of!(input),
        algorithm: input.checksum_algorithm.as_ref(),
        content_md5: input.content_md5.as_deref(),
        headers: &headers,
        trailers: trailing_headers.as_ref(),
    };
    let received = store
        .receive_checked(input.body, declared, upload.algorithm())
        .await?;
    let number = input.part_number;
    let part = PartMeta {
        number,
        size: received.size,
        modified: received.modified,
        etag: hex::encode(received.md5),
        checksums: received.computed.clone(),
    };
    let etag = part.etag.clone();
    let store = store.clone();
    let temp = received.temp;
    blocking(move || {
        let json = store.temp_json(&part)?;
        let _visible = store.lock();
        check_upload_open(&dir)?;
        temp.persist(&dir.join(part_data(number)))
            .map_err(|e| internal("cannot store the part", e))?;
        json.persist(&dir.join(part_json(number)))
            .map_err(|e| internal("cannot store the part", e))
    })
    .await?;
    let mut output = UploadPartOutput {
        e_tag: Some(ETag::Strong(etag)),
        ..Default::default()
    };
    set_checksums!(output, received.computed);
    Ok(S3Response::new(output))
}

pub(super) async fn list_parts(
    store: &FileStore,
    req: S3Request<ListPartsInput>,
) -> S3Result<S3Response<ListPartsOutput>> {
    let input = req.input;
    store.object_paths(&input.bucket, &input.key)?;
    let max = max_entries(input.max_parts)?;
    let marker = input.part_number_marker.unwrap_or(0);
    let store = store.clone();
    let (id, bucket, key) = (
        input.upload_id.clone(),
        input.bucket.clone(),
        input.key.clone(),
    );
    let (upload, mut parts) = blocking(move || {
        let (dir, upload) = store.load_upload(&id, &bucket, &key)?;
        Ok((upload, FileStore::parts(&dir)?))
    })
    .await?;
    parts.retain(|part| part.number > marker);
    let truncated = parts.len() > max;
    parts.truncate(max);
    let next = parts.last().map(|part| part.number).filter(|_| truncated);
    let parts = parts
        .into_iter()
        .map(|part| {
            let mut out = Part {
                part_number: Some(part.number),
                size: Some(size_i64(part.size)),
                e_tag: Some(ETag::Strong(part.etag)),
                last_modified: Some(part.modified.timestamp(false)),
                ..Default::default()
            };
            set_checksums!(out, part.checksums);
            out
        })
        .collect();
    Ok(S3Response::new(ListPartsOutput {
        bucket: Some(input.bucket),
        key: Some(input.key),
        upload_id: Some(input.upload_id),
        parts: Some(parts),
        part_number_marker: input.part_number_marker,
        next_part_number_marker: next,
        max_parts: Some(i32::try_from(max).unwrap_or(MAX_PAGE)),
        is_truncated: Some(truncated),
        checksum_algorithm: upload.checksum_algorithm_dto(),
        storage_class: Some(StorageClass::from_static(StorageClass::STANDARD)),
        ..Default::default()
    }))
}

pub(super) async fn complete_multipart_upload(
    store: &FileStore,
    req: S3Request<CompleteMultipartUploadInput>,
) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
    let input = req.input;
    let paths = store.object_paths(&input.bucket, &input.key)?;
    let condition = WriteCondition::of(input.if_match.as_ref(), input.if_none_match.as_ref())?;
    let requested = input
        .multipart_upload
        .and_then(|upload| upload.parts)
        .filter(|parts| !parts.is_empty())
        .ok_or_else(|| {
            s3_error!(
                MalformedXML,
                "The XML you provided was not well-formed or did not validate against our published schema: it lists no part."
            )
        })?;
    let mut chosen = Vec::with_capacity(requested.len());
    let mut previous = 0;
    for part in requested {
        let number = part
            .part_number
            .ok_or_else(|| s3_error!(MalformedXML, "A part in the list has no part number."))?;
        if !(1..=MAX_PART_NUMBER).contains(&number) {
            return Err(invalid_part(number));
        }
        if number <= previous {
            return Err(s3_error!(
                InvalidPartOrder,
                "The list of parts was not in ascending order. The parts list must be specified in order by part number."
            ));
        }
        previous = number;
        let checksums = checksums_of!(part);
        chosen.push((number, part.e_tag, checksums));
    }
    let store = store.clone();
    let (id, bucket) = (input.upload_id.clone(), input.bucket.clone());
    let (etag, checksums) =
        blocking(move || store.complete(&paths, &id, &bucket, &chosen, &condition)).await?;
    let mut output = CompleteMultipartUploadOutput {
        bucket: Some(input.bucket),
        key: Some(input.key),
        e_tag: Some(ETag::Strong(etag)),
        ..Default::default()
    };
    set_checksums!(output, checksums);
    Ok(S3Response::new(output))
}

pub(super) async fn abort_multipart_upload(
    store: &FileStore,
    req: S3Request<AbortMultipartUploadInput>,
) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
    let input = req.input;
    store.object_paths(&input.bucket, &input.key)?;
    let store = store.clone();
    blocking(move || {
        let (dir, _) = store.load_upload(&input.upload_id, &input.bucket, &input.key)?;
        let retired = {
            let _visible = store.lock();
            check_upload_open(&dir)?;
            store.retire(&dir)?
        };
        drop(retired);
        Ok(())
    })
    .await?;
    Ok(S3Response::new(AbortMultipartUploadOutput::default()))
}

pub(super) async fn list_multipart_uploads(
    store: &FileStore,
    req: S3Request<ListMultipartUploadsInput>,
) -> S3Result<S3Response<ListMultipartUploadsOutput>> {
    let input = req.input;
    store.existing_bucket(&input.bucket)?;
    if input.delimiter.as_deref().is_some_and(|d| !d.is_empty()) {
        return Err(s3_error!(
            NotImplemented,
            "This store lists multipart uploads without a delimiter."
        ));
    }
    let max = match input.max_uploads {
        None => MAX_PAGE as usize,
        Some(n) => usize::try_from(n.clamp(1, MAX_PAGE)).unwrap_or(1),
    };
    let store = store.clone();
    let bucket = input.bucket.clone();
    let mut uploads = blocking(move || Ok(store.uploads(Some(&bucket)))).await?;
    let prefix = input.prefix.clone().unwrap_or_default();
    uploads.retain(|(id, upload)| {
        upload.key.starts_with(&prefix)
            && match (&input.key_marker, &input.upload_id_marker) {
                (Some(key), Some(id_marker)) => {
                    upload.key > *key || (upload.key == *key && id > id_marker)
                }
                (Some(key), None) => upload.key > *key,
                (None, _) => true,
            }
    });
    uploads.sort_by(|a, b| (&a.1.key, &a.0).cmp(&(&b.1.key, &b.0)));
    let truncated = uploads.len() > max;
    uploads.truncate(max);
    let next = uploads
        .last()
        .filter(|_| truncated)
        .map(|(id, upload)| (upload.key.clone(), id.clone()));
    let encoding = KeyEncoding::of(input.encoding_type.as_ref());
    let listed = uploads
        .into_iter()
        .map(|(id, upload)| MultipartUpload {
            initiated: Some(upload.initiated.timestamp(false)),
            checksum_algorithm: upload.checksum_algorithm_dto(),
            key: Some(encoding.apply(upload.key)),
            upload_id: Some(id),
            storage_class: Some(StorageClass::from_static(StorageClass::STANDARD)),
            ..Default::default()
        })
        .collect();
    let (next_key_marker, next_upload_id_marker) = match next {
        Some((key, id)) => (Some(encoding.apply(key)), Some(id)),
        None => (None, None),
    };
    Ok(S3Response::new(ListMultipartUploadsOutput {
        bucket: Some(input.bucket),
        prefix: input.prefix.map(|prefix| encoding.apply(prefix)),
        key_marker: input.key_marker.map(|key| encoding.apply(key)),
        upload_id_marker: input.upload_id_marker,
        max_uploads: Some(i32::try_from(max).unwrap_or(MAX_PAGE)),
        is_truncated: Some(truncated),
        next_key_marker,
        next_upload_id_marker,
        uploads: Some(listed),
        encoding_type: input.encoding_type,
        ..Default::default()
    }))
}

#[cfg(test)]
mod tests {
    use std::fs;

    use s3s::S3 as _;
    use s3s::S3Result;
    use s3s::crypto::{Checksum as _, Md5};
    use s3s::dto::{
        AbortMultipartUploadInput, ChecksumAlgorithm, CompleteMultipartUploadInput,
        CompleteMultipartUploadOutput, CompletedMultipartUpload, CompletedPart,
        CreateMultipartUploadInput, ETag, ETagCondition, HeadObjectInput,
        ListMultipartUploadsInput, ListMultipartUploadsOutput, ListPartsInput, UploadPartInput,
        UploadPartOutput,
    };
    use sha2::{Digest as _, Sha256};

    use super::super::test_support::{
        BUCKET, blob, code, get, md5_hex, names, put, request, sha256_b64, store,
    };
    use super::super::{FileStore, size_i64};

    const MIB: usize = 1024 * 1024;

    async fn create_upload(store: &FileStore, key: &str) -> String {
        store
            .create_multipart_upload(request(CreateMultipartUploadInput {
                bucket: BUCKET.into(),
                key: key.into(),
                checksum_algorithm: Some(ChecksumAlgorithm::from_static(ChecksumAlgorithm::SHA256)),
                content_type: Some("application/x-test".into()),
                ..Default::default()
            }))
            .await
            .expect("created")
            .output
            .upload_id
            .expect("an upload id")
    }

    fn part_input(key: &str, id: &str, number: i32, body: &[u8]) -> UploadPartInput {
        UploadPartInput {
            bucket: BUCKET.into(),
            key: key.into(),
            upload_id: id.into(),
            part_number: number,
            body: blob(body),
            content_length: Some(size_i64(body.len() as u64)),
            checksum_sha256: Some(sha256_b64(body)),
            ..Default::default()
        }
    }

    async fn upload_part(
        store: &FileStore,
        key: &str,
        id: &str,
        number: i32,
        body: &[u8],
    ) -> S3Result<UploadPartOutput> {
        Ok(store
            .upload_part(request(part_input(key, id, number, body)))
            .await?
            .output)
    }

    fn completed(parts: &[(i32, &str)]) -> Option<CompletedMultipartUpload> {
        Some(CompletedMultipartUpload {
            parts: Some(
                parts
                    .iter()
                    .map(|(number, etag)| CompletedPart {
                        part_number: Some(*number),
                        e_tag: Some(ETag::Strong((*etag).to_owned())),
                        ..Default::default()
                    })
                    .collect(),
            ),
        })
    }

    fn complete_input(
        key: &str,
        id: &str,
        parts: Option<CompletedMultipartUpload>,
    ) -> CompleteMultipartUploadInput {
        CompleteMultipartUploadInput {
            bucket: BUCKET.into(),
            key: key.into(),
            upload_id: id.into(),
            multipart_upload: parts,
            ..Default::default()
        }
    }

    async fn complete(
        store: &FileStore,
        key: &str,
        id: &str,
        parts: &[(i32, &str)],
    ) -> S3Result<CompleteMultipartUploadOutput> {
        Ok(store
            .complete_multipart_upload(request(complete_input(key, id, completed(parts))))
            .await?
            .output)
    }

    #[tokio::test]
    async fn a_multipart_upload_completes_only_with_its_parts_etags() {
        let (dir, store) = store();
        let key = "mp/big.bin";
        let id = create_upload(&store, key).await;
        assert!(
            id.len() >= 16 && id.bytes().all(|b| b.is_ascii_alphanumeric()),
            "{id}"
        );
        assert_eq!(store.open_upload_ids(), [id.as_str()]);
        let one = vec![1u8; 5 * MIB];
        let two = b"the last part may be small".to_vec();
        let first = upload_part(&store, key, &id, 1, &one)
            .await
            .expect("part 1");
        assert_eq!(first.e_tag, Some(ETag::Strong(md5_hex(&one))));
        assert_eq!(first.checksum_sha256, Some(sha256_b64(&one)));
        upload_part(&store, key, &id, 2, &two)
            .await
            .expect("part 2");
        let (etag1, etag2) = (md5_hex(&one), md5_hex(&two));

        let parts = store
            .list_parts(request(ListPartsInput {
                bucket: BUCKET.into(),
                key: key.into(),
                upload_id: id.clone(),
                ..Default::default()
            }))
            .await
            .expect("listed")
            .output
            .parts
            .unwrap_or_default();
        let listed: Vec<_> = parts
            .iter()
            .map(|part| (part.part_number, part.size, part.e_tag.clone()))
            .collect();
        assert_eq!(
            listed,
            [
                (
                    Some(1),
                    Some(size_i64(one.len() as u64)),
                    Some(ETag::Strong(etag1.clone()))
                ),
                (
                    Some(2),
                    Some(size_i64(two.len() as u64)),
                    Some(ETag::Strong(etag2.clone()))
                ),
            ]
        );

        assert_eq!(
            code(complete(&store, key, &id, &[(1, &etag1), (2, &etag1)]).await),
            "InvalidPart"
        );
        assert_eq!(
            code(complete(&store, key, &id, &[(1, &etag1), (3, &etag2)]).await),
            "InvalidPart"
        );
        assert_eq!(
            code(complete(&store, key, &id, &[(2, &etag2), (1, &etag1)]).await),
            "InvalidPartOrder"
        );
        assert_eq!(
            code(complete(&store, key, &id, &[(1, &etag1), (1, &etag1)]).await),
            "InvalidPartOrder"
        );
        assert_eq!(
            code(
                store
                    .complete_multipart_upload(request(complete_input(key, &id, None)))
                    .await
            ),
            "MalformedXML"
        );
        assert_eq!(
            code(complete(&store, "mp/other.bin", &id, &[(1, &etag1)]).await),
            "NoSuchUpload"
        );
        assert!(!dir.path().join(BUCKET).join(key).exists());
        assert_eq!(store.open_upload_ids(), [id.as_str()], "still open");

        let quoted = format!("\"{etag2}\"");
        let done = complete(&store, key, &id, &[(1, &etag1), (2, &quoted)])
            .await
            .expect("completed");
        let mut md5 = Md5::new();
        md5.update(&Md5::checksum(&one));
        md5.update(&Md5::checksum(&two));
        let expected = format!("{}-2", hex::encode(md5.finalize()));
        assert_eq!(done.e_tag, Some(ETag::Strong(expected.clone())));
        let mut sha = Sha256::new();
        sha.update(Sha256::digest(&one));
        sha.update(Sha256::digest(&two));
        let composite = format!(
            "{}-2",
            base64_simd::STANDARD.encode_to_string(sha.finalize())
        );
        assert_eq!(done.checksum_sha256, Some(composite));

        let stored = fs::read(dir.path().join(BUCKET).join(key)).expect("the object");
        assert_eq!(stored, [one.as_slice(), two.as_slice()].concat());
        assert!(store.open_upload_ids().is_empty());
        assert!(names(&store.tmp_dir()).is_empty(), "the parts are gone");
        let head = store
            .head_object(request(HeadObjectInput {
                bucket: BUCKET.into(),
                key: key.into(),
                ..Default::default()
            }))
            .await
            .expect("head")
            .output;
        assert_eq!(head.e_tag, Some(ETag::Strong(expected)));
        assert_eq!(head.content_type.as_deref(), Some("application/x-test"));
        assert_eq!(head.parts_count, Some(2));

        // A lost answer's retry meets an upload that is gone.
        assert_eq!(
            code(complete(&store, key, &id, &[(1, &etag1), (2, &etag2)]).await),
            "NoSuchUpload"
        );
    }

    #[tokio::test]
    async fn a_small_part_before_the_last_is_refused() {
        let (_dir, store) = store();
        let id = create_upload(&store, "small").await;
        upload_part(&store, "small", &id, 1, b"tiny")
            .await
            .expect("part 1");
        upload_part(&store, "small", &id, 2, b"last")
            .await
            .expect("part 2");
        let parts = [(1, md5_hex(b"tiny")), (2, md5_hex(b"last"))];
        let parts: Vec<(i32, &str)> = parts.iter().map(|(n, e)| (*n, e.as_str())).collect();
        assert_eq!(
            code(complete(&store, "small", &id, &parts).await),
            "EntityTooSmall"
        );
        // One small part alone is a whole object.
        complete(&store, "small", &id, &parts[..1])
            .await
            .expect("one part");
        assert_eq!(get(&store, "small").await.expect("read"), b"tiny");
    }

    #[tokio::test]
    async fn a_part_whose_checksum_does_not_match_is_refused() {
        let (_dir, store) = store();
        let id = create_upload(&store, "k").await;
        let mut input = part_input("k", &id, 1, b"body");
        input.checksum_sha256 = Some(sha256_b64(b"other"));
        assert_eq!(code(store.upload_part(request(input)).await), "BadDigest");
        let mut input = part_input("k", &id, 0, b"body");
        input.part_number = 10_001;
        assert_eq!(
            code(store.upload_part(request(input)).await),
            "InvalidArgument"
        );
        // The part that was stored lists its checksum; Complete must agree.
        upload_part(&store, "k", &id, 1, b"body")
            .await
            .expect("part 1");
        let mut parts = completed(&[(1, &md5_hex(b"body"))]);
        if let Some(part) = parts
            .as_mut()
            .and_then(|upload| upload.parts.as_mut())
            .and_then(|parts| parts.first_mut())
        {
            part.checksum_sha256 = Some(sha256_b64(b"other"));
        }
        let refused = store
            .complete_multipart_upload(request(complete_input("k", &id, parts)))
            .await;
        assert_eq!(code(refused), "InvalidPart");
    }

    #[tokio::test]
    async fn complete_honours_if_none_match() {
        let (_dir, store) = store();
        put(&store, "taken", b"first").await.expect("stored");
        let id = create_upload(&store, "taken").await;
        upload_part(&store, "taken", &id, 1, b"second")
            .await
            .expect("part");
        let mut input = complete_input("taken", &id, completed(&[(1, &md5_hex(b"second"))]));
        input.if_none_match = Some(ETagCondition::Any);
        assert_eq!(
            code(store.complete_multipart_upload(request(input)).await),
            "PreconditionFailed"
        );
        assert_eq!(get(&store, "taken").await.expect("read"), b"first");
        assert_eq!(store.open_upload_ids(), [id]);
    }

    #[tokio::test]
    async fn an_aborted_upload_is_gone() {
        let (_dir, store) = store();
        let id = create_upload(&store, "k").await;
        upload_part(&store, "k", &id, 1, b"part")
            .await
            .expect("part");
        let abort = |key: &str, id: &str| {
            request(AbortMultipartUploadInput {
                bucket: BUCKET.into(),
                key: key.into(),
                upload_id: id.into(),
                ..Default::default()
            })
        };
        assert_eq!(
            code(store.abort_multipart_upload(abort("other", &id)).await),
            "NoSuchUpload"
        );
        store
            .abort_multipart_upload(abort("k", &id))
            .await
            .expect("aborted");
        assert!(store.open_upload_ids().is_empty());
        assert!(names(&store.tmp_dir()).is_empty(), "its parts are deleted");
        assert_eq!(
            code(store.abort_multipart_upload(abort("k", &id)).await),
            "NoSuchUpload"
        );
        assert_eq!(
            code(upload_part(&store, "k", &id, 2, b"late").await),
            "NoSuchUpload"
        );
        for bad in ["", "../../etc", "0123456789abcdef0123456789ABCDEF", "x"] {
            assert_eq!(
                code(store.abort_multipart_upload(abort("k", bad)).await),
                "NoSuchUpload",
                "{bad:?}"
            );
        }
    }

    #[tokio::test]
    async fn open_uploads_are_listed_by_key_and_paged() {
        let (_dir, store) = store();
        let mut ids = vec![
            ("a/1.bin".to_owned(), create_upload(&store, "a/1.bin").await),
            ("b.bin".to_owned(), create_upload(&store, "b.bin").await),
            ("b.bin".to_owned(), create_upload(&store, "b.bin").await),
        ];
        ids.sort();
        let list = |prefix: Option<&str>, max: Option<i32>, markers: Option<(String, String)>| {
            let (key_marker, upload_id_marker) = markers.unzip();
            request(ListMultipartUploadsInput {
                bucket: BUCKET.into(),
                prefix: prefix.map(str::to_owned),
                max_uploads: max,
                key_marker,
                upload_id_marker,
                ..Default::default()
            })
        };
        let keys_and_ids = |output: &ListMultipartUploadsOutput| -> Vec<(String, String)> {
            output
                .uploads
                .iter()
                .flatten()
                .map(|upload| {
                    assert!(upload.initiated.is_some());
                    (
                        upload.key.clone().unwrap_or_default(),
                        upload.upload_id.clone().unwrap_or_default(),
                    )
                })
                .collect()
        };
        let all = store
            .list_multipart_uploads(list(None, None, None))
            .await
            .expect("listed")
            .output;
        assert_eq!(keys_and_ids(&all), ids);
        assert_eq!(all.is_truncated, Some(false));
        let under_a = store
            .list_multipart_uploads(list(Some("a/"), None, None))
            .await
            .expect("listed")
            .output;
        assert_eq!(keys_and_ids(&under_a), ids[..1]);

        let mut paged = Vec::new();
        let mut markers = None;
        for _ in 0..10 {
            let page = store
                .list_multipart_uploads(list(None, Some(1), markers.clone()))
                .await
                .expect("listed")
                .output;
            paged.extend(keys_and_ids(&page));
            if page.is_truncated != Some(true) {
                break;
            }
            markers = page.next_key_marker.zip(page.next_upload_id_marker);
        }
        assert_eq!(paged, ids);

        let mut input = list(None, None, None).input;
        input.bucket = "no-such-bucket".into();
        assert_eq!(
            code(store.list_multipart_uploads(request(input)).await),
            "NoSuchBucket"
        );
    }
}
