//! Who trainers run as: never root. When Caravan runs as root, trainers run as `nobody`, and
//! the files a run gives them (its directory, the dataset) are handed to that user.

use std::path::Path;

/// The user (and group) trainers run as when Caravan runs as root.
pub const NOBODY: (u32, u32) = (65534, 65534);

/// Whether this process runs as root (the owner of /proc/self is the effective user).
pub fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// Gives `path` to the trainers' user, when they run as another user than this process.
pub fn hand_over(path: &Path) -> std::io::Result<()> {
    if running_as_root() {
        std::os::unix::fs::chown(path, Some(NOBODY.0), Some(NOBODY.1))?;
    }
    Ok(())
}
