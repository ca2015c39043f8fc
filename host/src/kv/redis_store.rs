//! A Redis KV backend: the step a user takes when one machine is not enough
//! and several host processes must share one store.

use async_trait::async_trait;
use redis::AsyncCommands;
use redis::aio::ConnectionManager;

use super::{KeyPage, KvBackend, KvError};

/// Keys are `{namespace}{bucket}/{key}`; increments are Redis `INCRBY`, atomic
/// across every process sharing the server, and stored as decimal strings.
#[derive(Clone)]
pub struct RedisKv {
    connection: ConnectionManager,
    namespace: String,
}

impl std::fmt::Debug for RedisKv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisKv")
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

fn other(error: redis::RedisError) -> KvError {
    KvError::Other(format!("redis: {error}"))
}

/// Escapes Redis glob characters so a prefix matches only itself.
fn glob_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\' | '^' | '-') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl RedisKv {
    /// Connects to `url` (`redis://host:port/db`), with every key under
    /// `namespace` (such as `edgeplug:`).
    pub async fn connect(url: &str, namespace: impl Into<String>) -> anyhow::Result<Self> {
        let client = redis::Client::open(url).map_err(|e| anyhow::anyhow!("bad Redis URL: {e}"))?;
        let connection = ConnectionManager::new(client)
            .await
            .map_err(|e| anyhow::anyhow!("cannot connect to Redis: {e}"))?;
        Ok(Self {
            connection,
            namespace: namespace.into(),
        })
    }

    fn key(&self, bucket: &str, key: &str) -> String {
        format!("{}{bucket}/{key}", self.namespace)
    }
}

#[async_trait]
impl KvBackend for RedisKv {
    async fn open(&self, _bucket: &str) -> Result<(), KvError> {
        Ok(())
    }

    async fn get(&self, bucket: &str, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        self.connection
            .clone()
            .get(self.key(bucket, key))
            .await
            .map_err(other)
    }

    async fn set(&self, bucket: &str, key: &str, value: Vec<u8>) -> Result<(), KvError> {
        self.connection
            .clone()
            .set(self.key(bucket, key), value)
            .await
            .map_err(other)
    }

    async fn delete(&self, bucket: &str, key: &str) -> Result<(), KvError> {
        self.connection
            .clone()
            .del(self.key(bucket, key))
            .await
            .map_err(other)
    }

    async fn exists(&self, bucket: &str, key: &str) -> Result<bool, KvError> {
        self.connection
            .clone()
            .exists(self.key(bucket, key))
            .await
            .map_err(other)
    }

    async fn list_keys(&self, bucket: &str, cursor: Option<u64>) -> Result<KeyPage, KvError> {
        // SCAN's cursor is exactly wasi:keyvalue's: opaque, 0 starts and ends.
        let prefix = self.key(bucket, "");
        let pattern = format!("{}*", glob_escape(&prefix));
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor.unwrap_or(0))
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut self.connection.clone())
            .await
            .map_err(other)?;
        let keys = keys
            .into_iter()
            .filter_map(|k| k.strip_prefix(&prefix).map(str::to_owned))
            .collect();
        Ok(KeyPage {
            keys,
            cursor: (next != 0).then_some(next),
        })
    }

    async fn increment(&self, bucket: &str, key: &str, delta: u64) -> Result<u64, KvError> {
        let delta = i64::try_from(delta)
            .map_err(|_| KvError::Other("delta exceeds Redis' 64-bit signed range".into()))?;
        let value: i64 = self
            .connection
            .clone()
            .incr(self.key(bucket, key), delta)
            .await
            .map_err(other)?;
        u64::try_from(value).map_err(|_| KvError::Other("counter holds a negative value".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::glob_escape;

    #[test]
    fn glob_characters_are_escaped() {
        assert_eq!(glob_escape("a*b?[c]"), "a\\*b\\?\\[c\\]");
        assert_eq!(glob_escape("plain/key:1"), "plain/key:1");
    }
}
