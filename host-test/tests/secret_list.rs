//! `tests/secrets.txt` is the one list of the secrets tests configure: CI
//! greps everything the tests print for each of them (`.ci/run`). This test
//! keeps the list whole: it reads every test source of the workspace and
//! fails when a test configures a secret the list lacks, or when the list
//! names one no test uses any more.
//!
//! What counts as configuring a secret, in test code:
//! - a `const` whose name has `SECRET` or `TOKEN` in it, set to a literal;
//! - a `let` binding whose name has `secret`, `token` or `wrong` in it;
//! - a literal passed right after the name of a secret setting
//!   (`("upload-token", "…")`, `("EDGEPLUG_S3_SECRET", "…")`, …).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The names of settings whose values are secrets.
const SECRET_SETTINGS: [&str; 13] = [
    "upload-token",
    "s3-secret-access-key",
    "s3-session-token",
    "UPLOAD_TOKEN",
    "S3_SECRET_ACCESS_KEY",
    "S3_SESSION_TOKEN",
    "EDGEPLUG_UPLOAD_TOKEN",
    "EDGEPLUG_S3_SECRET",
    "EDGEPLUG_S3_SESSION_TOKEN",
    "kv-rest-token",
    "KV_REST_TOKEN",
    "EDGEPLUG_KV_REST_TOKEN",
    "EDGEPLUG_KV_GATEWAY_TOKEN",
];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// The secrets in `tests/secrets.txt`.
fn listed() -> BTreeSet<String> {
    include_str!("secrets.txt")
        .lines()
        .map(|line| line.split("  #").next().unwrap_or_default().trim())
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

/// Every `.rs` file below `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

/// The test sources: every crate's `tests/` folder, and the `src/` files
/// of the crates whose unit tests configure credentials.
fn test_sources() -> Vec<PathBuf> {
    let root = workspace();
    let mut files = Vec::new();
    rust_files(&root.join("host-test/tests"), &mut files);
    for group in ["components", "examples"] {
        if let Ok(crates) = std::fs::read_dir(root.join(group)) {
            for krate in crates.flatten() {
                rust_files(&krate.path().join("tests"), &mut files);
            }
        }
    }
    files.retain(|file| file.file_name().is_none_or(|name| name != "secret_list.rs"));
    files
}

/// The string literal at the start of `text` (after whitespace), if any.
fn literal_at(text: &str) -> Option<&str> {
    let rest = text.trim_start().strip_prefix('"')?;
    rest.find('"').map(|end| &rest[..end])
}

/// The secrets `source` configures, by the rules in the module docs.
fn configured(source: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in source.lines() {
        let line = line.trim_start();
        let binding = line
            .strip_prefix("const ")
            .or_else(|| line.strip_prefix("pub const "))
            .map(|rest| (rest, ["SECRET", "TOKEN"].as_slice()))
            .or_else(|| {
                line.strip_prefix("let ")
                    .map(|rest| (rest, ["secret", "token", "wrong"].as_slice()))
            });
        if let Some((rest, markers)) = binding
            && let Some((name, value)) = rest.split_once('=')
            && markers.iter().any(|marker| name.contains(marker))
            && let Some(literal) = literal_at(value)
        {
            found.push(literal.to_owned());
        }
    }
    for setting in SECRET_SETTINGS {
        let quoted = format!("\"{setting}\"");
        for (at, _) in source.match_indices(&quoted) {
            let after = source[at + quoted.len()..].trim_start();
            if let Some(value) = after.strip_prefix(',').and_then(literal_at) {
                found.push(value.to_owned());
            }
        }
    }
    // Names of settings are not secrets, nor is an empty value.
    found.retain(|value| !value.is_empty() && !SECRET_SETTINGS.contains(&value.as_str()));
    found
}

#[test]
fn every_secret_a_test_configures_is_in_the_list() {
    let listed = listed();
    let mut missing = Vec::new();
    for file in test_sources() {
        let source = std::fs::read_to_string(&file).unwrap_or_default();
        for secret in configured(&source) {
            if !listed.contains(&secret) {
                missing.push(format!("{} ({} chars)", file.display(), secret.len()));
            }
        }
    }
    // The message names files, never the secrets themselves.
    assert!(
        missing.is_empty(),
        "secrets configured here are missing from host-test/tests/secrets.txt: {missing:#?}"
    );
}

#[test]
fn every_listed_secret_is_still_used_by_a_test() {
    let sources: String = test_sources()
        .iter()
        .filter_map(|file| std::fs::read_to_string(file).ok())
        .collect();
    let stale: Vec<usize> = listed()
        .iter()
        .enumerate()
        .filter(|(_, secret)| !sources.contains(secret.as_str()))
        .map(|(line, _)| line)
        .collect();
    assert!(
        stale.is_empty(),
        "entries of secrets.txt no test uses (by position): {stale:?}"
    );
}

#[test]
fn the_scanner_finds_each_way_of_configuring_a_secret() {
    let source = r#"
        const SECRET: &str = "a-const-secret";
        pub const WRITE_TOKEN: &str = "a-pub-const-token";
        const BUCKET: &str = "not-a-secret";
        let wrong = "a-wrong-secret";
        let name = "not-a-secret-either";
        context.set_config("upload-token", "a-config-token");
        command.env(
            "EDGEPLUG_S3_SECRET",
            "an-env-secret",
        );
        context.set_config("s3-bucket", "not-a-secret-at-all");
        context.set_config("upload-token", common::WRITE_TOKEN);
    "#;
    assert_eq!(
        configured(source),
        [
            "a-const-secret",
            "a-pub-const-token",
            "a-wrong-secret",
            "a-config-token",
            "an-env-secret"
        ]
    );
}
