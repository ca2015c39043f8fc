//! Running a [`Command`] on a [`KvBackend`].

use crate::kv::{KvBackend, KvError};

use super::command::Command;
use super::reply::Reply;

/// Runs `command` on the gateway's one bucket of `backend`.
///
/// Multi-key `DEL` and `EXISTS` run key by key: each key is atomic, the
/// command as a whole is not (as a Redis cluster, too, would have it).
pub async fn execute(
    backend: &dyn KvBackend,
    bucket: &str,
    command: Command,
) -> Result<Reply, KvError> {
    Ok(match command {
        Command::Ping => Reply::Status("PONG"),
        Command::Get(key) => match backend.get(bucket, &key).await? {
            Some(value) => Reply::Bulk(value),
            None => Reply::Nil,
        },
        Command::Set(key, value) => {
            backend.set(bucket, &key, value).await?;
            Reply::Status("OK")
        }
        Command::Del(keys) => {
            let mut deleted = 0;
            for key in keys {
                if backend.exists(bucket, &key).await? {
                    backend.delete(bucket, &key).await?;
                    deleted += 1;
                }
            }
            Reply::Integer(deleted)
        }
        Command::Exists(keys) => {
            let mut present = 0;
            for key in keys {
                present += i64::from(backend.exists(bucket, &key).await?);
            }
            Reply::Integer(present)
        }
        Command::IncrBy(key, by) => {
            let value = backend.increment(bucket, &key, by).await?;
            // Redis integers are signed 64-bit; past that Redis says no too.
            Reply::Integer(
                i64::try_from(value).map_err(|_| {
                    KvError::Other("increment or decrement would overflow".to_owned())
                })?,
            )
        }
        Command::Scan { cursor, prefix } => {
            let start = (cursor != 0).then_some(cursor);
            let page = backend.list_keys(bucket, start).await?;
            let keys = page
                .keys
                .into_iter()
                .filter(|key| key.starts_with(&prefix))
                .map(|key| Reply::Bulk(key.into_bytes()))
                .collect();
            let next = page.cursor.unwrap_or(0);
            Reply::Array(vec![
                Reply::Bulk(next.to_string().into_bytes()),
                Reply::Array(keys),
            ])
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kv::MemoryKv;

    async fn run(kv: &MemoryKv, command: Command) -> Reply {
        execute(kv, "b", command).await.unwrap()
    }

    #[tokio::test]
    async fn commands_run_on_the_backend() {
        let kv = MemoryKv::new();
        assert_eq!(run(&kv, Command::Get("k".into())).await, Reply::Nil);
        assert_eq!(
            run(&kv, Command::IncrBy("k".into(), 5)).await,
            Reply::Integer(5)
        );
        assert_eq!(
            run(&kv, Command::IncrBy("k".into(), 2)).await,
            Reply::Integer(7)
        );
        assert_eq!(
            run(&kv, Command::Get("k".into())).await,
            Reply::Bulk(b"7".to_vec())
        );
        assert_eq!(
            run(&kv, Command::Set("v".into(), vec![0xff, 0])).await,
            Reply::Status("OK")
        );
        assert_eq!(
            run(
                &kv,
                Command::Exists(vec!["k".into(), "v".into(), "x".into()])
            )
            .await,
            Reply::Integer(2)
        );
        assert_eq!(
            run(&kv, Command::Del(vec!["v".into(), "x".into()])).await,
            Reply::Integer(1)
        );
        assert_eq!(kv.get("b", "v").await, Ok(None));
    }

    #[tokio::test]
    async fn scan_filters_by_prefix_and_ends_at_cursor_zero() {
        let kv = MemoryKv::new();
        for key in ["app:a", "app:b", "other:c"] {
            kv.set("b", key, b"1".to_vec()).await.unwrap();
        }
        let reply = run(
            &kv,
            Command::Scan {
                cursor: 0,
                prefix: "app:".into(),
            },
        )
        .await;
        assert_eq!(
            reply,
            Reply::Array(vec![
                Reply::Bulk(b"0".to_vec()),
                Reply::Array(vec![
                    Reply::Bulk(b"app:a".to_vec()),
                    Reply::Bulk(b"app:b".to_vec())
                ]),
            ])
        );
    }
}
