//! The errors more than one part of the store answers with.

use std::io;

use s3s::{S3Error, s3_error};

pub(super) fn internal(what: &str, error: impl std::fmt::Display) -> S3Error {
    s3_error!(InternalError, "{what}: {error}")
}

pub(super) fn no_such_upload() -> S3Error {
    s3_error!(
        NoSuchUpload,
        "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed."
    )
}

pub(super) fn precondition_failed() -> S3Error {
    s3_error!(
        PreconditionFailed,
        "At least one of the pre-conditions you specified did not hold"
    )
}

/// A file or folder that is not there, or a path that runs through a file.
pub(super) fn is_not_found(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    )
}
