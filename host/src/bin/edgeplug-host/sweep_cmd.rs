//! `edgeplug-host s3 sweep`: aborts multipart uploads nobody will finish.

use std::time::{Duration, SystemTime};

use clap::{Parser, ValueEnum};
use edgeplug_host::sweep::{self, Addressing, S3Target};

/// How the bucket appears in URLs, as a flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AddressingFlag {
    /// `endpoint/bucket/key`.
    Path,
    /// `bucket.endpoint/key`.
    Virtual,
}

/// `edgeplug-host s3 sweep`'s flags: the same settings the uploader reads.
#[derive(Debug, Parser)]
pub struct SweepArgs {
    /// Abort uploads initiated longer ago than this: `24h`, `30m`, `7d`, `0s`
    #[arg(long, value_parser = sweep::parse_age)]
    pub older_than: Duration,
    /// The store's base URL, as the uploader's `s3-endpoint`
    #[arg(long, env = "EDGEPLUG_S3_ENDPOINT")]
    pub endpoint: String,
    /// The bucket, as `s3-bucket`
    #[arg(long, env = "EDGEPLUG_S3_BUCKET")]
    pub bucket: String,
    /// The access key id, as `s3-access-key-id`
    #[arg(long, env = "EDGEPLUG_S3_ACCESS_KEY_ID")]
    pub access_key_id: String,
    /// The secret access key: from the environment only, so it never shows
    /// in a process list
    #[arg(skip = std::env::var("EDGEPLUG_S3_SECRET").ok())]
    pub secret_access_key: Option<String>,
    /// An STS session token, from the environment only
    #[arg(skip = std::env::var("EDGEPLUG_S3_SESSION_TOKEN").ok())]
    pub session_token: Option<String>,
    /// The signing region, as `s3-region`
    #[arg(long, env = "EDGEPLUG_S3_REGION", default_value = "us-east-1")]
    pub region: String,
    /// Path or virtual-host addressing, as `s3-addressing`
    #[arg(long, value_enum, default_value = "path")]
    pub addressing: AddressingFlag,
    /// Only uploads whose key starts with this (the uploader's
    /// `s3-key-prefix`, say)
    #[arg(long, default_value = "")]
    pub prefix: String,
    /// List what would be aborted, abort nothing
    #[arg(long)]
    pub dry_run: bool,
}

/// Runs the sweep and prints one line per upload aborted, then a summary.
/// Fails (exit 1) when the listing fails or any abort did.
pub async fn run(args: SweepArgs) -> anyhow::Result<()> {
    let Some(secret_access_key) = args.secret_access_key.filter(|s| !s.is_empty()) else {
        anyhow::bail!("set EDGEPLUG_S3_SECRET to the secret access key");
    };
    let target = S3Target {
        endpoint: args.endpoint,
        bucket: args.bucket,
        region: args.region,
        access_key_id: args.access_key_id,
        secret_access_key,
        session_token: args.session_token.filter(|s| !s.is_empty()),
        addressing: match args.addressing {
            AddressingFlag::Path => Addressing::Path,
            AddressingFlag::Virtual => Addressing::Virtual,
        },
    };
    let report = sweep::sweep(
        &target,
        &args.prefix,
        args.older_than,
        SystemTime::now(),
        args.dry_run,
    )
    .await?;
    let verb = if args.dry_run {
        "would abort"
    } else {
        "aborted"
    };
    for upload in &report.aborted {
        println!("{verb} {} (upload {})", upload.key, upload.upload_id);
    }
    for (upload, error) in &report.failed {
        eprintln!(
            "could not abort {} (upload {}): {error}",
            upload.key, upload.upload_id
        );
    }
    println!(
        "{verb} {} upload(s); kept {} younger than {:?}; {} failed",
        report.aborted.len(),
        report.kept.len(),
        args.older_than,
        report.failed.len()
    );
    anyhow::ensure!(
        report.failed.is_empty(),
        "{} abort(s) failed",
        report.failed.len()
    );
    Ok(())
}
