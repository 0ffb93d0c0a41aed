//! A process's own scratch directory under a shared parent (upload staging, run work files):
//! `<parent>/<id>/`, claimed by an exclusive lock on `<parent>/<id>.lock` held as long as the
//! process lives. Claiming one sweeps what owners that are gone left behind (a crash or a
//! SIGKILL mid-upload leaves files no drop ever removes): their directories, their lock files,
//! and loose files of versions that staged directly into the parent. Live processes sharing
//! the parent (replicas on one host, a CLI beside a server) keep theirs, since their locks
//! are held.

use std::{
    fs::{self, File, TryLockError},
    io,
    path::{Path, PathBuf},
};

const LOCK: &str = "lock";

/// What a sweep removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    pub dirs: usize,
    pub files: usize,
}

/// A claimed scratch directory; removed with its lock when dropped (at a clean exit).
#[derive(Debug)]
pub struct ScratchDir {
    path: PathBuf,
    lock_path: PathBuf,
    _lock: File,
}

impl ScratchDir {
    /// Sweeps `parent` of dead owners' leftovers, then claims a fresh directory in it.
    pub fn claim(parent: &Path) -> io::Result<(ScratchDir, Swept)> {
        fs::create_dir_all(parent)?;
        let swept = sweep(parent)?;
        // A process sweeping at the same moment may take a lock file between its creation and
        // its locking here (and remove it): then another name is tried.
        let mut attempts = 0;
        loop {
            attempts += 1;
            match Self::try_claim(parent) {
                Ok(claimed) => return Ok((claimed, swept)),
                Err(e) if attempts < 3 => tracing::debug!(error = %e, "claiming again"),
                Err(e) => return Err(e),
            }
        }
    }

    fn try_claim(parent: &Path) -> io::Result<ScratchDir> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let lock_path = parent.join(format!("{id}.{LOCK}"));
        // The lock exists, held, before the directory does: a directory without one is
        // always a dead owner's.
        let lock = File::create_new(&lock_path)?;
        lock.try_lock().map_err(io::Error::other)?;
        let path = parent.join(&id);
        fs::create_dir(&path)?;
        Ok(ScratchDir {
            path,
            lock_path,
            _lock: lock,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
        let _ = fs::remove_file(&self.lock_path);
    }
}

/// Whether a lock file's owner is gone (its lock can be taken). The lock taken here is
/// released when the file closes, after its directory is removed.
fn owner_is_gone(lock_path: &Path) -> io::Result<Option<File>> {
    let file = match File::open(lock_path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(TryLockError::WouldBlock) => Err(io::Error::from(io::ErrorKind::WouldBlock)),
        Err(TryLockError::Error(e)) => Err(e),
    }
}

fn sweep(parent: &Path) -> io::Result<Swept> {
    let mut swept = Swept::default();
    for entry in fs::read_dir(parent)? {
        let entry = entry?;
        let path = entry.path();
        let kind = entry.file_type()?;
        let is_lock = path.extension().is_some_and(|e| e == LOCK);
        if kind.is_dir() {
            let lock_path = path.with_extension(LOCK);
            match owner_is_gone(&lock_path) {
                Ok(held) => {
                    let files = count_files(&path);
                    // Another process sweeping at the same time may have removed it first.
                    if ignore_missing(fs::remove_dir_all(&path))? {
                        swept.files += files;
                        swept.dirs += 1;
                    }
                    if held.is_some() {
                        let _ = fs::remove_file(&lock_path);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        } else if is_lock {
            // A lock whose directory is gone (or not made yet: then its lock is held).
            if let Ok(Some(_held)) = owner_is_gone(&path)
                && !path.with_extension("").exists()
            {
                let _ = fs::remove_file(&path);
            }
        } else if ignore_missing(fs::remove_file(&path))? {
            swept.files += 1;
        }
    }
    Ok(swept)
}

/// `Ok(true)` if removed here, `Ok(false)` if it was already gone.
fn ignore_missing(result: io::Result<()>) -> io::Result<bool> {
    match result {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

fn count_files(dir: &Path) -> usize {
    fs::read_dir(dir).map_or(0, |entries| {
        entries
            .flatten()
            .map(|e| match e.file_type() {
                Ok(t) if t.is_dir() => count_files(&e.path()),
                _ => 1,
            })
            .sum()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dead_owners_leftovers_go_and_a_live_owners_stay() {
        let parent = tempfile::tempdir().unwrap();
        let (live, swept) = ScratchDir::claim(parent.path()).unwrap();
        assert_eq!(swept, Swept::default());
        fs::write(live.path().join("upload-live"), b"x").unwrap();

        // What a killed process leaves: its directory and an unheld lock, a directory without
        // a lock, and a loose file from a version that staged into the parent.
        let dead = parent.path().join("dead");
        fs::create_dir_all(dead.join("nested")).unwrap();
        fs::write(dead.join("upload-1"), b"x").unwrap();
        fs::write(dead.join("nested/download-1"), b"x").unwrap();
        File::create(parent.path().join("dead.lock")).unwrap();
        fs::create_dir(parent.path().join("unlocked")).unwrap();
        fs::write(parent.path().join("upload-old"), b"x").unwrap();

        let (second, swept) = ScratchDir::claim(parent.path()).unwrap();
        assert_eq!(swept, Swept { dirs: 2, files: 3 });
        assert!(
            live.path().join("upload-live").exists(),
            "a live owner keeps its files"
        );
        assert!(!dead.exists() && !parent.path().join("dead.lock").exists());
        assert!(!parent.path().join("upload-old").exists());

        let (second_path, live_path) = (second.path().to_owned(), live.path().to_owned());
        drop(second);
        drop(live);
        assert!(
            !second_path.exists() && !live_path.exists(),
            "a clean exit leaves nothing"
        );
        assert_eq!(fs::read_dir(parent.path()).unwrap().count(), 0);
    }
}
