//! Files being written: made in `tmp/`, renamed into place once whole.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use s3s::S3Result;
use serde::Serialize;

use super::errors::{internal, is_not_found, no_such_upload};
use super::{FileStore, random_id};

/// Temporary files untouched for this long are a crashed write's: removed
/// when a store opens the folder.
const STALE_TEMP: Duration = Duration::from_secs(24 * 60 * 60);

/// A file or folder under `tmp/`, removed when dropped unless renamed into
/// place first.
pub(super) struct Temp {
    pub(super) path: PathBuf,
    armed: bool,
}

impl Temp {
    /// Renames it to `dest`, replacing a file there.
    pub(super) fn persist(mut self, dest: &Path) -> io::Result<()> {
        fs::rename(&self.path, dest)?;
        self.armed = false;
        Ok(())
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        if self.armed {
            remove_file_or_folder(&self.path);
        }
    }
}

/// Removes what is at `path`, a file or a whole folder, if it can.
fn remove_file_or_folder(path: &Path) {
    if fs::remove_file(path).is_err() {
        let _ = fs::remove_dir_all(path);
    }
}

impl FileStore {
    /// Removes what crashed writes left in `tmp/`, leaving anything touched
    /// in the last day: another store may be writing there.
    pub(super) fn remove_stale_temps(&self) {
        let Ok(entries) = fs::read_dir(self.tmp_dir()) else {
            return;
        };
        let now = SystemTime::now();
        for entry in entries.flatten() {
            let stale = entry
                .metadata()
                .and_then(|meta| meta.modified())
                .is_ok_and(|modified| {
                    now.duration_since(modified)
                        .is_ok_and(|age| age > STALE_TEMP)
                });
            if stale {
                remove_file_or_folder(&entry.path());
            }
        }
    }

    pub(super) fn new_temp(&self) -> S3Result<Temp> {
        Ok(Temp {
            path: self.tmp_dir().join(random_id()?),
            armed: true,
        })
    }

    pub(super) fn temp_json<T: Serialize>(&self, value: &T) -> S3Result<Temp> {
        let temp = self.new_temp()?;
        let bytes = serde_json::to_vec(value).map_err(|e| internal("cannot encode metadata", e))?;
        fs::write(&temp.path, bytes).map_err(|e| internal("cannot write metadata", e))?;
        Ok(temp)
    }

    /// Moves `dir` into `tmp/`, out of sight; it is deleted when the
    /// returned [`Temp`] is dropped.
    pub(super) fn retire(&self, dir: &Path) -> S3Result<Temp> {
        let temp = self.new_temp()?;
        match fs::rename(dir, &temp.path) {
            Ok(()) => Ok(temp),
            Err(e) if is_not_found(&e) => Err(no_such_upload()),
            Err(e) => Err(internal("cannot remove a folder", e)),
        }
    }
}
