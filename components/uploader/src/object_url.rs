//! Where an object lives: scheme, authority and path of its URL.

use crate::config::{Addressing, Config, Scheme};
use crate::key;

/// The URL of one object, split the way `wasi:http` wants it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectUrl {
    /// `http` or `https`.
    pub scheme: Scheme,
    /// `host[:port]`, with the bucket prefixed for virtual-hosted style.
    /// Also the value of the signed `host` header.
    pub authority: String,
    /// The percent-encoded path, starting with `/`, no query.
    pub path: String,
}

impl ObjectUrl {
    /// Builds the URL of `key` in the configured bucket. `key` must have
    /// passed [`key::validate`]; the bucket was checked by the config.
    pub fn new(config: &Config, key: &str) -> Self {
        let endpoint = &config.endpoint;
        let encoded = key::encode(key);
        match config.addressing {
            Addressing::Path => Self {
                scheme: endpoint.scheme,
                authority: endpoint.authority(),
                path: format!("/{}/{encoded}", config.bucket),
            },
            Addressing::Virtual => Self {
                scheme: endpoint.scheme,
                authority: format!("{}.{}", config.bucket, endpoint.authority()),
                path: format!("/{encoded}"),
            },
        }
    }

    /// The URL of the configured bucket itself, where a browser POSTs a
    /// form upload: `{endpoint}/{bucket}` or `{scheme}://{bucket}.{host}/`.
    pub fn bucket(config: &Config) -> Self {
        let endpoint = &config.endpoint;
        match config.addressing {
            Addressing::Path => Self {
                scheme: endpoint.scheme,
                authority: endpoint.authority(),
                path: format!("/{}", config.bucket),
            },
            Addressing::Virtual => Self {
                scheme: endpoint.scheme,
                authority: format!("{}.{}", config.bucket, endpoint.authority()),
                path: "/".to_owned(),
            },
        }
    }

    /// The whole URL, `scheme://authority/path`.
    pub fn to_url(&self) -> String {
        format!("{}://{}{}", self.scheme.as_str(), self.authority, self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_urls_in_both_styles() {
        assert_eq!(
            ObjectUrl::bucket(&config("http://127.0.0.1:9000", "path")).to_url(),
            "http://127.0.0.1:9000/my-bucket"
        );
        assert_eq!(
            ObjectUrl::bucket(&config("https://s3.amazonaws.com", "virtual")).to_url(),
            "https://my-bucket.s3.amazonaws.com/"
        );
    }

    fn config(endpoint: &str, addressing: &str) -> Config {
        Config::from_lookup(|k| {
            Ok(match k {
                "s3-endpoint" => Some(endpoint.to_owned()),
                "s3-bucket" => Some("my-bucket".to_owned()),
                "s3-access-key-id" => Some("AKID".to_owned()),
                "s3-secret-access-key" => Some("SECRET".to_owned()),
                "s3-addressing" => Some(addressing.to_owned()),
                _ => None,
            })
        })
        .unwrap()
    }

    #[test]
    fn path_style_keeps_the_port() {
        let url = ObjectUrl::new(&config("http://127.0.0.1:9000", "path"), "a/b c.txt");
        assert_eq!(url.scheme, Scheme::Http);
        assert_eq!(url.authority, "127.0.0.1:9000");
        assert_eq!(url.path, "/my-bucket/a/b%20c.txt");
        assert_eq!(url.to_url(), "http://127.0.0.1:9000/my-bucket/a/b%20c.txt");
    }

    #[test]
    fn virtual_style_prefixes_the_bucket() {
        let url = ObjectUrl::new(
            &config("https://s3.eu-west-1.amazonaws.com", "virtual"),
            "ü/x+y%z",
        );
        assert_eq!(
            url.to_url(),
            "https://my-bucket.s3.eu-west-1.amazonaws.com/%C3%BC/x%2By%25z"
        );
        let url = ObjectUrl::new(&config("http://minio.local:9000/", "virtual"), "k");
        assert_eq!(url.authority, "my-bucket.minio.local:9000");
        assert_eq!(url.path, "/k");
    }

    #[test]
    fn default_ports_are_dropped() {
        let url = ObjectUrl::new(&config("https://s3.example.com:443", "path"), "k");
        assert_eq!(url.to_url(), "https://s3.example.com/my-bucket/k");
    }

    #[test]
    fn reserved_characters_are_escaped() {
        let url = ObjectUrl::new(&config("http://localhost:9000", "path"), "a?b#c&d=e;f");
        assert_eq!(url.path, "/my-bucket/a%3Fb%23c%26d%3De%3Bf");
    }
}
