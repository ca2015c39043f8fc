//! The app's settings: FastEdge environment variables and one secret.

use crate::errors::AppError;
use crate::platform::Platform;

/// The page title's environment variable.
pub const PAGE_TITLE: &str = "PAGE_TITLE";
/// The environment variable bounding a file's size, in bytes.
pub const MAX_UPLOAD_BYTES: &str = "MAX_UPLOAD_BYTES";
/// The environment variable that opens policies to anyone when `true`.
pub const ALLOW_ANONYMOUS_UPLOADS: &str = "ALLOW_ANONYMOUS_UPLOADS";
/// The secret holding the token a client needs for a policy.
pub const UPLOAD_TOKEN: &str = "UPLOAD_TOKEN";

/// The page title when `PAGE_TITLE` is unset.
pub const DEFAULT_TITLE: &str = "Upload a file";
/// The size limit when `MAX_UPLOAD_BYTES` is unset: 10 MiB.
pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 10 * 1024 * 1024;
/// The most a policy may allow: S3's single-POST limit, 5 GiB.
pub const LARGEST_UPLOAD_BYTES: u64 = 5 * 1024 * 1024 * 1024;

/// Who may ask for an upload policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Writers {
    /// Only a client that sends this token.
    WithToken(String),
    /// Anyone: the operator set `ALLOW_ANONYMOUS_UPLOADS=true`.
    Anyone,
    /// Nobody: neither a token nor the opt-in is configured.
    Nobody,
}

/// The title of the page.
pub fn title(platform: &impl Platform) -> String {
    platform
        .env(PAGE_TITLE)
        .filter(|title| !title.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_TITLE.to_owned())
}

/// The largest file a policy allows.
pub fn max_upload_bytes(platform: &impl Platform) -> Result<u64, AppError> {
    let Some(value) = platform.env(MAX_UPLOAD_BYTES) else {
        return Ok(DEFAULT_MAX_UPLOAD_BYTES);
    };
    match value.trim().parse::<u64>() {
        Ok(bytes) if (1..=LARGEST_UPLOAD_BYTES).contains(&bytes) => Ok(bytes),
        _ => Err(AppError::Misconfigured(format!(
            "{MAX_UPLOAD_BYTES} must be a number of bytes from 1 to {LARGEST_UPLOAD_BYTES}"
        ))),
    }
}

/// Who may ask for a policy. The opt-in is read strictly (`true` or
/// `false`): a typo must not open writes, nor close them silently.
pub fn writers(platform: &impl Platform) -> Result<Writers, AppError> {
    let anyone = match platform
        .env(ALLOW_ANONYMOUS_UPLOADS)
        .as_deref()
        .map(str::trim)
    {
        None | Some("") | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            return Err(AppError::Misconfigured(format!(
                "{ALLOW_ANONYMOUS_UPLOADS} must be `true` or `false`"
            )));
        }
    };
    if anyone {
        return Ok(Writers::Anyone);
    }
    // A secret the app may not read closes writes with a 500, rather than
    // reading as unset (which would also close them, but hide the cause).
    let token = platform.secret(UPLOAD_TOKEN).map_err(|_| {
        AppError::Misconfigured(format!("the secret {UPLOAD_TOKEN} cannot be read"))
    })?;
    Ok(match token.filter(|t| !t.trim().is_empty()) {
        Some(token) => Writers::WithToken(token),
        None => Writers::Nobody,
    })
}
