//! `wasi:config/store.{get,get-all}` over FastEdge's dictionary and secrets.

use crate::error::{ConfigError, SecretError};
use crate::{keys, names};

/// `gcore:fastedge/dictionary`: the app's environment variables.
pub trait Env {
    /// The value of the variable `name`, if set.
    fn get(&self, name: &str) -> Option<String>;
}

/// `gcore:fastedge/secret`: the app's secrets.
pub trait Secrets {
    /// The current value of the secret `name`, if set.
    fn get(&self, name: &str) -> Result<Option<String>, SecretError>;
}

/// `store.get`: a secret key from `secrets`, any other from `env`, both by
/// its FastEdge name. Unset is `Ok(None)`; a failing secret store is an
/// error that names the key and the secret, never a value.
pub fn get(
    env: &impl Env,
    secrets: &impl Secrets,
    key: &str,
) -> Result<Option<String>, ConfigError> {
    let Some(name) = names::fastedge_name(key) else {
        return Ok(None);
    };
    if keys::is_secret(key) {
        secrets.get(&name).map_err(|error| {
            ConfigError::Upstream(format!(
                "FastEdge secret `{name}` (config key `{key}`): {error}"
            ))
        })
    } else {
        Ok(env.get(&name))
    }
}

/// `store.get-all`: every known edgeplug key that is set.
pub fn get_all(
    env: &impl Env,
    secrets: &impl Secrets,
) -> Result<Vec<(String, String)>, ConfigError> {
    let mut all = Vec::new();
    for key in keys::KNOWN_KEYS {
        if let Some(value) = get(env, secrets, key)? {
            all.push((key.to_owned(), value));
        }
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    struct Map(HashMap<&'static str, &'static str>);

    impl Env for Map {
        fn get(&self, name: &str) -> Option<String> {
            self.0.get(name).map(|v| (*v).to_owned())
        }
    }

    impl Secrets for Map {
        fn get(&self, name: &str) -> Result<Option<String>, SecretError> {
            Ok(self.0.get(name).map(|v| (*v).to_owned()))
        }
    }

    struct Denied;

    impl Secrets for Denied {
        fn get(&self, _: &str) -> Result<Option<String>, SecretError> {
            Err(SecretError::AccessDenied)
        }
    }

    fn env() -> Map {
        Map(HashMap::from([
            ("S3_ENDPOINT", "https://s3.example"),
            ("S3_SECRET_ACCESS_KEY", "from-env-must-not-be-used"),
        ]))
    }

    fn secrets() -> Map {
        Map(HashMap::from([("S3_SECRET_ACCESS_KEY", "hunter2")]))
    }

    #[test]
    fn plain_keys_come_from_the_environment() {
        assert_eq!(
            get(&env(), &secrets(), "s3-endpoint"),
            Ok(Some("https://s3.example".into()))
        );
        assert_eq!(get(&env(), &secrets(), "s3-bucket"), Ok(None));
        assert_eq!(get(&env(), &secrets(), "bad key"), Ok(None));
    }

    #[test]
    fn secret_keys_come_from_secrets_only() {
        assert_eq!(
            get(&env(), &secrets(), "s3-secret-access-key"),
            Ok(Some("hunter2".into()))
        );
        assert_eq!(
            get(&env(), &Map(HashMap::new()), "s3-secret-access-key"),
            Ok(None)
        );
    }

    #[test]
    fn the_redis_rest_token_is_a_secret_and_its_url_a_variable() {
        let env = Map(HashMap::from([
            ("KV_REST_URL", "https://eu1.example.upstash.io"),
            ("KV_REST_TOKEN", "from-env-must-not-be-used"),
        ]));
        let secrets = Map(HashMap::from([("KV_REST_TOKEN", "s3cr3t")]));
        assert_eq!(
            get(&env, &secrets, "kv-rest-url"),
            Ok(Some("https://eu1.example.upstash.io".into()))
        );
        assert_eq!(
            get(&env, &secrets, "kv-rest-token"),
            Ok(Some("s3cr3t".into()))
        );
        assert_eq!(get(&env, &Map(HashMap::new()), "kv-rest-token"), Ok(None));
        assert_eq!(
            get_all(&env, &secrets),
            Ok(vec![
                (
                    "kv-rest-url".into(),
                    "https://eu1.example.upstash.io".into()
                ),
                ("kv-rest-token".into(), "s3cr3t".into()),
            ])
        );
    }

    #[test]
    fn a_failing_secret_store_names_the_key_not_a_value() {
        let error = get(&env(), &Denied, "upload-token")
            .unwrap_err()
            .to_string();
        assert!(error.contains("UPLOAD_TOKEN"), "{error}");
        assert!(error.contains("upload-token"), "{error}");
        assert!(error.contains("access denied"), "{error}");
    }

    #[test]
    fn get_all_reports_the_known_keys_that_are_set() {
        assert_eq!(
            get_all(&env(), &secrets()),
            Ok(vec![
                ("s3-endpoint".into(), "https://s3.example".into()),
                ("s3-secret-access-key".into(), "hunter2".into()),
            ])
        );
        assert!(get_all(&env(), &Denied).is_err());
    }
}
