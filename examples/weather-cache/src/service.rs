//! One request, start to finish, over the [`Cache`] and [`Upstream`] traits:
//! plain Rust that the host glue runs with the real imports and the unit
//! tests run with fakes.

use crate::entry::Entry;
use crate::errors::{ApiError, UpstreamError};
use crate::reply::Reply;
use crate::route::route;
use crate::settings::{Settings, SettingsError, UpstreamUrl};

/// The biggest upstream answer passed on and cached; KV stores commonly cap
/// values around 1 MiB, and a forecast is a few KiB.
pub const MAX_BODY_BYTES: usize = 512 * 1024;

/// The content type assumed when the upstream sends none.
const DEFAULT_CONTENT_TYPE: &str = "application/json";

/// The cache's store. Errors are the store's message; the service only
/// reports them, since the cache is an optimisation.
pub trait Cache {
    /// The value under `key` in `bucket`, if any.
    fn get(&mut self, bucket: &str, key: &str) -> Result<Option<Vec<u8>>, String>;
    /// Stores `value` under `key` in `bucket`.
    fn set(&mut self, bucket: &str, key: &str, value: &[u8]) -> Result<(), String>;
}

/// An answer from the weather API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// The status code.
    pub status: u16,
    /// The `content-type`, if sent.
    pub content_type: Option<String>,
    /// The body: at most [`MAX_BODY_BYTES`] + 1 bytes, which is enough to
    /// tell that it was too long.
    pub body: Vec<u8>,
}

/// The weather API.
pub trait Upstream {
    /// Sends `GET {path_and_query}` to `url`'s scheme and authority; an
    /// error is why no answer came.
    fn get(&mut self, url: &UpstreamUrl, path_and_query: &str) -> Result<Fetched, String>;
}

/// The reply, and what went wrong on the way without changing it (for the
/// log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// What to send.
    pub reply: Reply,
    /// Cache trouble that the request survived.
    pub warnings: Vec<String>,
}

/// Answers one request. `settings` is only read for a request on the route
/// with a valid city, and nothing is fetched or cached for any other.
pub fn answer(
    method: &str,
    path_with_query: &str,
    settings: impl FnOnce() -> Result<Settings, SettingsError>,
    now: u64,
    cache: &mut impl Cache,
    upstream: &mut impl Upstream,
) -> Answer {
    let mut warnings = Vec::new();
    let reply = forecast(
        method,
        path_with_query,
        settings,
        now,
        cache,
        upstream,
        &mut warnings,
    )
    .unwrap_or_else(|error| error.reply());
    Answer { reply, warnings }
}

fn forecast(
    method: &str,
    path_with_query: &str,
    settings: impl FnOnce() -> Result<Settings, SettingsError>,
    now: u64,
    cache: &mut impl Cache,
    upstream: &mut impl Upstream,
    warnings: &mut Vec<String>,
) -> Result<Reply, ApiError> {
    let city = route(method, path_with_query)?;
    let settings = settings()?;
    let key = city.cache_key();

    // A store that fails to answer costs a fetch, not the request.
    match cache.get(&settings.bucket, &key) {
        Ok(Some(stored)) => match Entry::decode(&stored) {
            Ok(entry) if entry.is_fresh(now, settings.ttl_secs) => {
                return Ok(Reply::new(200, &entry.content_type, entry.body.clone())
                    .header("x-cache", "hit")
                    .header("age", entry.age(now).to_string()));
            }
            Ok(_) => {}
            Err(error) => warnings.push(format!("ignoring the entry {key:?}: {error}")),
        },
        Ok(None) => {}
        Err(error) => warnings.push(format!("cannot read the cache, fetching: {error}")),
    }

    let path = settings.upstream.forecast_path(&city.query_value());
    let fetched = upstream
        .get(&settings.upstream, &path)
        .map_err(UpstreamError::Unreachable)?;
    if !(200..300).contains(&fetched.status) {
        return Err(UpstreamError::Status(fetched.status).into());
    }
    if fetched.body.len() > MAX_BODY_BYTES {
        return Err(UpstreamError::TooLarge(MAX_BODY_BYTES).into());
    }
    let content_type = fetched
        .content_type
        .unwrap_or_else(|| DEFAULT_CONTENT_TYPE.to_owned());
    // Only a plain 200 is a forecast worth keeping; other 2xx pass through.
    if fetched.status == 200 {
        let entry = Entry {
            fetched_at: now,
            content_type: content_type.clone(),
            body: fetched.body.clone(),
        };
        if let Err(error) = cache.set(&settings.bucket, &key, &entry.encode()) {
            warnings.push(format!("cannot cache {key:?}: {error}"));
        }
    }
    Ok(Reply::new(fetched.status, &content_type, fetched.body).header("x-cache", "miss"))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::settings::Scheme;

    const NOW: u64 = 1_700_000_000;

    #[derive(Default)]
    struct MapCache {
        values: HashMap<(String, String), Vec<u8>>,
        failing: bool,
    }

    impl Cache for MapCache {
        fn get(&mut self, bucket: &str, key: &str) -> Result<Option<Vec<u8>>, String> {
            if self.failing {
                return Err("down".into());
            }
            Ok(self.values.get(&(bucket.into(), key.into())).cloned())
        }
        fn set(&mut self, bucket: &str, key: &str, value: &[u8]) -> Result<(), String> {
            if self.failing {
                return Err("down".into());
            }
            self.values
                .insert((bucket.into(), key.into()), value.to_vec());
            Ok(())
        }
    }

    /// Answers with `answer` and remembers what was asked.
    struct Canned {
        answer: Result<Fetched, String>,
        asked: Vec<String>,
    }

    impl Canned {
        fn ok(status: u16, body: &str) -> Self {
            Self {
                answer: Ok(Fetched {
                    status,
                    content_type: Some("application/json".into()),
                    body: body.into(),
                }),
                asked: Vec::new(),
            }
        }
    }

    impl Upstream for Canned {
        fn get(&mut self, url: &UpstreamUrl, path: &str) -> Result<Fetched, String> {
            self.asked.push(format!("{}{path}", url.authority));
            self.answer.clone()
        }
    }

    fn settings() -> Result<Settings, SettingsError> {
        Ok(Settings {
            upstream: UpstreamUrl {
                scheme: Scheme::Http,
                authority: "weather.test".into(),
                base_path: String::new(),
            },
            bucket: "weather".into(),
            ttl_secs: 300,
        })
    }

    fn get(path: &str, now: u64, cache: &mut MapCache, upstream: &mut Canned) -> Answer {
        answer("GET", path, settings, now, cache, upstream)
    }

    #[test]
    fn a_miss_fetches_and_stores_then_a_hit_does_not_fetch() {
        let (mut cache, mut upstream) = (MapCache::default(), Canned::ok(200, "{\"t\":1}"));
        let first = get("/weather/Paris", NOW, &mut cache, &mut upstream);
        assert_eq!(first.reply.header_value("x-cache"), Some("miss"));
        assert_eq!(first.reply.body, b"{\"t\":1}");
        let second = get("/weather/PARIS", NOW + 10, &mut cache, &mut upstream);
        assert_eq!(second.reply.status, 200);
        assert_eq!(second.reply.header_value("x-cache"), Some("hit"));
        assert_eq!(second.reply.header_value("age"), Some("10"));
        assert_eq!(second.reply.body, b"{\"t\":1}");
        assert_eq!(upstream.asked, ["weather.test/forecast?city=paris"]);
    }

    #[test]
    fn a_stale_or_unreadable_entry_is_refetched() {
        let (mut cache, mut upstream) = (MapCache::default(), Canned::ok(200, "{}"));
        get("/weather/Paris", NOW, &mut cache, &mut upstream);
        let stale = get("/weather/Paris", NOW + 300, &mut cache, &mut upstream);
        assert_eq!(stale.reply.header_value("x-cache"), Some("miss"));
        cache
            .values
            .insert(("weather".into(), "city:paris".into()), b"junk".to_vec());
        let junk = get("/weather/Paris", NOW + 301, &mut cache, &mut upstream);
        assert_eq!(junk.reply.header_value("x-cache"), Some("miss"));
        assert_eq!(junk.warnings.len(), 1, "{:?}", junk.warnings);
        assert_eq!(upstream.asked.len(), 3);
    }

    #[test]
    fn upstream_failures_are_502_and_cache_nothing() {
        for mut upstream in [
            Canned::ok(500, "oops"),
            Canned::ok(404, "{}"),
            Canned {
                answer: Err("connection refused".into()),
                asked: Vec::new(),
            },
            Canned::ok(200, &"x".repeat(MAX_BODY_BYTES + 1)),
        ] {
            let mut cache = MapCache::default();
            let answer = get("/weather/Paris", NOW, &mut cache, &mut upstream);
            assert_eq!(answer.reply.status, 502);
            assert!(cache.values.is_empty());
        }
    }

    #[test]
    fn a_failing_cache_still_answers_with_warnings() {
        let mut cache = MapCache {
            failing: true,
            ..MapCache::default()
        };
        let mut upstream = Canned::ok(200, "{}");
        let answer = get("/weather/Paris", NOW, &mut cache, &mut upstream);
        assert_eq!(answer.reply.status, 200);
        assert_eq!(answer.warnings.len(), 2, "{:?}", answer.warnings);
    }

    #[test]
    fn refusals_read_no_settings_and_touch_nothing() {
        let (mut cache, mut upstream) = (MapCache::default(), Canned::ok(200, "{}"));
        for (method, path, status) in [
            ("GET", "/weather/R2D2", 400),
            ("GET", "/forecast", 404),
            ("PUT", "/weather/Paris", 405),
        ] {
            let answer = answer(
                method,
                path,
                || panic!("settings read for {path}"),
                NOW,
                &mut cache,
                &mut upstream,
            );
            assert_eq!(answer.reply.status, status);
        }
        assert!(upstream.asked.is_empty());
    }
}
