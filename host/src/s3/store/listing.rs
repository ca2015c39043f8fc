//! Listing objects: `ListObjects` and `ListObjectsV2`, paged, rolled up to
//! a delimiter, keys percent-encoded when asked.

use std::fs;
use std::path::Path;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use s3s::dto::{
    CommonPrefix, ETag, EncodingType, ListObjectsInput, ListObjectsOutput, ListObjectsV2Input,
    ListObjectsV2Output, Object, ObjectStorageClass,
};
use s3s::{S3Request, S3Response, S3Result, s3_error};

use super::errors::{internal, is_not_found};
use super::meta::{ObjectMeta, Stamp, md5_of, read_json};
use super::{FileStore, blocking, size_i64};

/// The most entries one listing page holds, and its default.
pub(super) const MAX_PAGE: i32 = 1000;

/// Characters left as they are in a key of a listing asked for with
/// `encoding-type=url`: the unreserved set and `/`.
const URL_KEY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

/// One entry of an object listing.
enum Entry {
    /// The index of an object in the sorted file list.
    Object(usize),
    /// Keys rolled up to the delimiter.
    Prefix(String),
}

/// One page of an object listing.
struct ObjectPage {
    objects: Vec<Object>,
    prefixes: Vec<String>,
    /// The name of the page's last entry, when more follow.
    next: Option<String>,
}

/// The keys of a listing, percent-encoded when the client asked for
/// `encoding-type=url`.
pub(super) struct KeyEncoding(bool);

impl KeyEncoding {
    pub(super) fn of(encoding: Option<&EncodingType>) -> Self {
        Self(encoding.is_some_and(|e| e.as_str() == EncodingType::URL))
    }

    pub(super) fn apply(&self, text: String) -> String {
        if self.0 {
            utf8_percent_encode(&text, URL_KEY).to_string()
        } else {
            text
        }
    }

    /// A page's objects, their keys encoded.
    fn objects(&self, objects: Vec<Object>) -> Vec<Object> {
        objects
            .into_iter()
            .map(|object| Object {
                key: object.key.map(|key| self.apply(key)),
                ..object
            })
            .collect()
    }

    /// A page's rolled-up keys, encoded; `None` when there are none.
    fn common_prefixes(&self, prefixes: Vec<String>) -> Option<Vec<CommonPrefix>> {
        (!prefixes.is_empty()).then(|| {
            prefixes
                .into_iter()
                .map(|prefix| CommonPrefix {
                    prefix: Some(self.apply(prefix)),
                })
                .collect()
        })
    }
}

pub(super) fn max_entries(requested: Option<i32>) -> S3Result<usize> {
    match requested {
        None => Ok(MAX_PAGE as usize),
        Some(n) if n < 0 => Err(s3_error!(
            InvalidArgument,
            "The maximum number of entries must not be negative."
        )),
        Some(n) => Ok(usize::try_from(n.min(MAX_PAGE)).unwrap_or(0)),
    }
}

impl FileStore {
    /// One page of the objects of `bucket` under `prefix`, after `after`.
    /// Blocks.
    fn list_objects_page(
        &self,
        bucket: &str,
        prefix: &str,
        delimiter: Option<&str>,
        after: Option<&str>,
        max: usize,
    ) -> S3Result<ObjectPage> {
        let bucket_dir = self.existing_bucket(bucket)?;
        let mut files = walk(&bucket_dir, prefix)?;
        files.sort_by(|a, b| a.0.cmp(&b.0));
        let delimiter = delimiter.filter(|d| !d.is_empty());
        let mut entries: Vec<Entry> = Vec::new();
        let mut more = false;
        for (index, (key, _)) in files.iter().enumerate() {
            let rolled_up = delimiter.and_then(|d| {
                let rest = key.get(prefix.len()..)?;
                let at = rest.find(d)?;
                key.get(..prefix.len() + at + d.len())
            });
            let entry = match rolled_up {
                Some(common) => {
                    if after.is_some_and(|after| common <= after)
                        || matches!(entries.last(), Some(Entry::Prefix(last)) if last == common)
                    {
                        continue;
                    }
                    Entry::Prefix(common.to_owned())
                }
                None => {
                    if after.is_some_and(|after| key.as_str() <= after) {
                        continue;
                    }
                    Entry::Object(index)
                }
            };
            if entries.len() >= max {
                more = true;
                break;
            }
            entries.push(entry);
        }
        let next = more
            .then(|| match entries.last() {
                Some(Entry::Object(index)) => files.get(*index).map(|(key, _)| key.clone()),
                Some(Entry::Prefix(prefix)) => Some(prefix.clone()),
                None => None,
            })
            .flatten();
        let mut page = ObjectPage {
            objects: Vec::new(),
            prefixes: Vec::new(),
            next,
        };
        for entry in entries {
            match entry {
                Entry::Prefix(prefix) => page.prefixes.push(prefix),
                Entry::Object(index) => {
                    let Some((key, stat)) = files.get(index) else {
                        continue;
                    };
                    let meta = read_json::<ObjectMeta>(&self.meta_path(bucket, key))
                        .ok()
                        .flatten()
                        .filter(|m| m.describes(key, stat));
                    let etag = match meta {
                        Some(meta) => Some(meta.etag),
                        None => fs::File::open(bucket_dir.join(key))
                            .and_then(|mut file| md5_of(&mut file))
                            .ok()
                            .map(hex::encode),
                    };
                    page.objects.push(Object {
                        key: Some(key.clone()),
                        size: Some(size_i64(stat.len())),
                        last_modified: Some(Stamp::modified(stat).timestamp(false)),
                        e_tag: etag.map(ETag::Strong),
                        storage_class: Some(ObjectStorageClass::from_static(
                            ObjectStorageClass::STANDARD,
                        )),
                        ..Default::default()
                    });
                }
            }
        }
        Ok(page)
    }

    /// Lists for `ListObjects` and `ListObjectsV2`.
    async fn list(
        &self,
        bucket: &str,
        prefix: Option<&str>,
        delimiter: Option<&str>,
        after: Option<String>,
        max: usize,
    ) -> S3Result<ObjectPage> {
        let store = self.clone();
        let bucket = bucket.to_owned();
        let prefix = prefix.unwrap_or_default().to_owned();
        let delimiter = delimiter.map(str::to_owned);
        blocking(move || {
            store.list_objects_page(
                &bucket,
                &prefix,
                delimiter.as_deref(),
                after.as_deref(),
                max,
            )
        })
        .await
    }
}

/// Every file under `bucket_dir` whose key starts with `prefix`, with its
/// key, unsorted. Folders that cannot hold such a key are not entered.
pub(super) fn walk(bucket_dir: &Path, prefix: &str) -> S3Result<Vec<(String, fs::Metadata)>> {
    let mut found = Vec::new();
    let mut pending = vec![(bucket_dir.to_path_buf(), String::new())];
    while let Some((dir, base)) = pending.pop() {
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            // Removed meanwhile: nothing there.
            Err(e) if is_not_found(&e) => continue,
            Err(e) => return Err(internal("cannot list the bucket", e)),
        };
        for entry in entries.flatten() {
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let key = format!("{base}{name}");
            if kind.is_dir() {
                let folder = format!("{key}/");
                if folder.starts_with(prefix) || prefix.starts_with(&folder) {
                    pending.push((entry.path(), folder));
                }
            } else if kind.is_file()
                && key.starts_with(prefix)
                && let Ok(stat) = entry.metadata()
            {
                found.push((key, stat));
            }
        }
    }
    Ok(found)
}

fn encode_token(name: &str) -> String {
    base64_simd::URL_SAFE_NO_PAD.encode_to_string(name.as_bytes())
}

fn decode_token(token: &str) -> S3Result<String> {
    base64_simd::URL_SAFE_NO_PAD
        .decode_to_vec(token.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| {
            s3_error!(
                InvalidArgument,
                "The continuation token provided is incorrect"
            )
        })
}

pub(super) async fn list_objects(
    store: &FileStore,
    req: S3Request<ListObjectsInput>,
) -> S3Result<S3Response<ListObjectsOutput>> {
    let input = req.input;
    let max = max_entries(input.max_keys)?;
    let page = store
        .list(
            &input.bucket,
            input.prefix.as_deref(),
            input.delimiter.as_deref(),
            input.marker.clone(),
            max,
        )
        .await?;
    let encoding = KeyEncoding::of(input.encoding_type.as_ref());
    Ok(S3Response::new(ListObjectsOutput {
        is_truncated: Some(page.next.is_some()),
        next_marker: page.next.map(|next| encoding.apply(next)),
        contents: Some(encoding.objects(page.objects)),
        common_prefixes: encoding.common_prefixes(page.prefixes),
        name: Some(input.bucket),
        prefix: input.prefix.map(|prefix| encoding.apply(prefix)),
        marker: input.marker.map(|marker| encoding.apply(marker)),
        delimiter: input.delimiter.map(|delimiter| encoding.apply(delimiter)),
        max_keys: Some(i32::try_from(max).unwrap_or(MAX_PAGE)),
        encoding_type: input.encoding_type,
        ..Default::default()
    }))
}

pub(super) async fn list_objects_v2(
    store: &FileStore,
    req: S3Request<ListObjectsV2Input>,
) -> S3Result<S3Response<ListObjectsV2Output>> {
    let input = req.input;
    let after = match &input.continuation_token {
        Some(token) => Some(decode_token(token)?),
        None => input.start_after.clone(),
    };
    let max = max_entries(input.max_keys)?;
    let page = store
        .list(
            &input.bucket,
            input.prefix.as_deref(),
            input.delimiter.as_deref(),
            after,
            max,
        )
        .await?;
    let encoding = KeyEncoding::of(input.encoding_type.as_ref());
    let count = page.objects.len() + page.prefixes.len();
    Ok(S3Response::new(ListObjectsV2Output {
        is_truncated: Some(page.next.is_some()),
        next_continuation_token: page.next.as_deref().map(encode_token),
        key_count: Some(i32::try_from(count).unwrap_or(MAX_PAGE)),
        contents: (!page.objects.is_empty()).then(|| encoding.objects(page.objects)),
        common_prefixes: encoding.common_prefixes(page.prefixes),
        name: Some(input.bucket),
        prefix: input.prefix.map(|prefix| encoding.apply(prefix)),
        start_after: input.start_after.map(|after| encoding.apply(after)),
        delimiter: input.delimiter.map(|delimiter| encoding.apply(delimiter)),
        continuation_token: input.continuation_token,
        max_keys: Some(i32::try_from(max).unwrap_or(MAX_PAGE)),
        encoding_type: input.encoding_type,
        ..Default::default()
    }))
}

#[cfg(test)]
mod tests {
    use s3s::S3 as _;
    use s3s::dto::{ETag, ListObjectsV2Input};

    use super::super::FileStore;
    use super::super::test_support::{BUCKET, code, md5_hex, put, request, store};

    async fn list_v2(
        store: &FileStore,
        prefix: Option<&str>,
        delimiter: Option<&str>,
        max_keys: i32,
    ) -> Vec<String> {
        let mut names = Vec::new();
        let mut token = None;
        for _ in 0..100 {
            let output = store
                .list_objects_v2(request(ListObjectsV2Input {
                    bucket: BUCKET.into(),
                    prefix: prefix.map(str::to_owned),
                    delimiter: delimiter.map(str::to_owned),
                    max_keys: Some(max_keys),
                    continuation_token: token.clone(),
                    ..Default::default()
                }))
                .await
                .expect("listed")
                .output;
            let mut page: Vec<String> = output
                .contents
                .unwrap_or_default()
                .into_iter()
                .filter_map(|object| object.key)
                .chain(
                    output
                        .common_prefixes
                        .unwrap_or_default()
                        .into_iter()
                        .filter_map(|prefix| prefix.prefix),
                )
                .collect();
            assert!(page.len() <= usize::try_from(max_keys).unwrap_or(0));
            assert_eq!(
                output.key_count,
                Some(i32::try_from(page.len()).unwrap_or(0))
            );
            page.sort();
            names.extend(page);
            match output.next_continuation_token {
                Some(next) => {
                    assert_eq!(output.is_truncated, Some(true));
                    token = Some(next);
                }
                None => return names,
            }
        }
        panic!("the listing never ended");
    }

    #[tokio::test]
    async fn list_objects_v2_pages_through_keys_and_common_prefixes() {
        let (_dir, store) = store();
        for key in ["d.txt", "b/1", "a.txt", "c/x/y", "b/2", "c/z"] {
            put(&store, key, key.as_bytes()).await.expect("stored");
        }
        let all = ["a.txt", "b/1", "b/2", "c/x/y", "c/z", "d.txt"];
        assert_eq!(list_v2(&store, None, None, 1000).await, all);
        assert_eq!(list_v2(&store, None, None, 2).await, all);
        assert_eq!(list_v2(&store, None, None, 1).await, all);
        assert_eq!(list_v2(&store, Some("b/"), None, 1).await, ["b/1", "b/2"]);
        assert_eq!(
            list_v2(&store, Some("c"), None, 1000).await,
            ["c/x/y", "c/z"]
        );
        let rolled = ["a.txt", "b/", "c/", "d.txt"];
        assert_eq!(list_v2(&store, None, Some("/"), 1000).await, rolled);
        assert_eq!(list_v2(&store, None, Some("/"), 1).await, rolled);
        assert_eq!(
            list_v2(&store, Some("c/"), Some("/"), 1).await,
            ["c/x/", "c/z"]
        );

        let output = store
            .list_objects_v2(request(ListObjectsV2Input {
                bucket: BUCKET.into(),
                max_keys: Some(1),
                ..Default::default()
            }))
            .await
            .expect("listed")
            .output;
        let object = &output.contents.expect("one object")[0];
        assert_eq!(object.e_tag, Some(ETag::Strong(md5_hex(b"a.txt"))));
        assert_eq!(object.size, Some(5));

        let bad_token = store
            .list_objects_v2(request(ListObjectsV2Input {
                bucket: BUCKET.into(),
                continuation_token: Some("%%%".into()),
                ..Default::default()
            }))
            .await;
        assert_eq!(code(bad_token), "InvalidArgument");
    }
}
