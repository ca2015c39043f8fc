//! An embedded, persistent KV backend on redb: `serve`'s default, so counts
//! survive a restart with nothing to install.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use super::{KeyPage, KvBackend, KvError, add_to_stored};

/// Every bucket's keys in one table, keyed by `(bucket, key)`, so a bucket
/// is a contiguous, sorted range.
const TABLE: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("edgeplug_kv");

/// How many keys one `list-keys` page holds.
const PAGE_SIZE: usize = 1000;

/// A redb database file. Writes are serialized by redb's single writer, so
/// an increment (read, add, write, commit) is atomic and durable.
#[derive(Clone)]
pub struct RedbKv {
    db: Arc<Database>,
}

impl std::fmt::Debug for RedbKv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedbKv").finish_non_exhaustive()
    }
}

fn other(error: impl std::fmt::Display) -> KvError {
    KvError::Other(format!("embedded store: {error}"))
}

impl RedbKv {
    /// Opens (or creates) the database file at `path`.
    pub fn open(path: impl AsRef<Path>) -> anyhow::Result<Self> {
        let path = path.as_ref();
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let db = Database::create(path)
            .map_err(|e| anyhow::anyhow!("cannot open the KV store {}: {e}", path.display()))?;
        let txn = db.begin_write()?;
        txn.open_table(TABLE)?;
        txn.commit()?;
        Ok(Self { db: Arc::new(db) })
    }

    /// Runs blocking redb work off the async executor.
    async fn blocking<R: Send + 'static>(
        &self,
        work: impl FnOnce(&Database) -> Result<R, KvError> + Send + 'static,
    ) -> Result<R, KvError> {
        let db = Arc::clone(&self.db);
        tokio::task::spawn_blocking(move || work(&db))
            .await
            .map_err(other)?
    }

    async fn write<R: Send + 'static>(
        &self,
        work: impl FnOnce(&mut redb::Table<(&str, &str), &[u8]>) -> Result<R, KvError> + Send + 'static,
    ) -> Result<R, KvError> {
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(other)?;
            let result = {
                let mut table = txn.open_table(TABLE).map_err(other)?;
                work(&mut table)?
            };
            txn.commit().map_err(other)?;
            Ok(result)
        })
        .await
    }

    async fn read<R: Send + 'static>(
        &self,
        work: impl FnOnce(&redb::ReadOnlyTable<(&str, &str), &[u8]>) -> Result<R, KvError>
        + Send
        + 'static,
    ) -> Result<R, KvError> {
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(other)?;
            let table = txn.open_table(TABLE).map_err(other)?;
            work(&table)
        })
        .await
    }
}

#[async_trait]
impl KvBackend for RedbKv {
    async fn open(&self, _bucket: &str) -> Result<(), KvError> {
        Ok(())
    }

    async fn get(&self, bucket: &str, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        let (bucket, key) = (bucket.to_owned(), key.to_owned());
        self.read(move |table| {
            Ok(table
                .get((bucket.as_str(), key.as_str()))
                .map_err(other)?
                .map(|v| v.value().to_vec()))
        })
        .await
    }

    async fn set(&self, bucket: &str, key: &str, value: Vec<u8>) -> Result<(), KvError> {
        let (bucket, key) = (bucket.to_owned(), key.to_owned());
        self.write(move |table| {
            table
                .insert((bucket.as_str(), key.as_str()), value.as_slice())
                .map_err(other)?;
            Ok(())
        })
        .await
    }

    async fn delete(&self, bucket: &str, key: &str) -> Result<(), KvError> {
        let (bucket, key) = (bucket.to_owned(), key.to_owned());
        self.write(move |table| {
            table
                .remove((bucket.as_str(), key.as_str()))
                .map_err(other)?;
            Ok(())
        })
        .await
    }

    async fn exists(&self, bucket: &str, key: &str) -> Result<bool, KvError> {
        Ok(self.get(bucket, key).await?.is_some())
    }

    async fn list_keys(&self, bucket: &str, cursor: Option<u64>) -> Result<KeyPage, KvError> {
        let bucket = bucket.to_owned();
        let start =
            usize::try_from(cursor.unwrap_or(0)).map_err(|_| other("cursor out of range"))?;
        self.read(move |table| {
            let mut keys = Vec::new();
            let mut more = false;
            let range = table.range((bucket.as_str(), "")..).map_err(other)?;
            for entry in range.skip(start) {
                let (k, _) = entry.map_err(other)?;
                let (b, key) = k.value();
                if b != bucket {
                    break;
                }
                if keys.len() == PAGE_SIZE {
                    more = true;
                    break;
                }
                keys.push(key.to_owned());
            }
            let cursor = more.then(|| (start + keys.len()) as u64);
            Ok(KeyPage { keys, cursor })
        })
        .await
    }

    async fn increment(&self, bucket: &str, key: &str, delta: u64) -> Result<u64, KvError> {
        let (bucket, key) = (bucket.to_owned(), key.to_owned());
        self.write(move |table| {
            let id = (bucket.as_str(), key.as_str());
            let current = table.get(id).map_err(other)?.map(|v| v.value().to_vec());
            let next = add_to_stored(current.as_deref(), delta)?;
            table
                .insert(id, next.to_string().as_bytes())
                .map_err(other)?;
            Ok(next)
        })
        .await
    }
}
