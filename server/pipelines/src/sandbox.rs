//! Who trainers run as: never root. When Caravan runs as root, trainers run as `nobody`, and
//! the files a run gives them (its directory, the dataset) are handed to that user.

use std::path::Path;

pub use caravan_inference::sandbox::{NOBODY, running_as_root};

/// Gives `path` to the trainers' user, when they run as another user than this process.
pub fn hand_over(path: &Path) -> std::io::Result<()> {
    if running_as_root() {
        std::os::unix::fs::chown(path, Some(NOBODY.0), Some(NOBODY.1))?;
    }
    Ok(())
}
