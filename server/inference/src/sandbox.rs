//! Confining a process that parses untrusted bytes. A model file is nearly code: whatever
//! ONNX Runtime can be made to open, a model can try to open. So the validator child, once
//! ONNX Runtime is loaded and the model is in memory, gives up the filesystem: it moves into a
//! fresh private directory and removes it at once, so its working directory is empty, nothing
//! can be created there and nothing is left behind whatever happens next; and where it can it
//! also
//! - as root: `chroot`s into that directory and becomes `nobody`, so nothing else is visible
//!   and nothing it could still reach belongs to it;
//! - on kernels with Landlock: forbids every filesystem access, whoever it runs as.
//!
//! What was applied is reported, so the server's log says how confined validation is.

use landlock::{ABI, Access, AccessFs, Ruleset, RulesetAttr, RulesetStatus};

/// The user (and group) untrusted work runs as when Caravan runs as root.
pub const NOBODY: (u32, u32) = (65534, 65534);

/// Whether this process runs as root (the owner of /proc/self is the effective user).
pub fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// What [`confine`] managed to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Confinement {
    /// The process sees only its empty directory and runs as `nobody`.
    pub chrooted: bool,
    /// Landlock forbids all filesystem access.
    pub landlocked: bool,
}

/// Confines this process to an empty, removed directory for the rest of its life. Threads
/// already running are confined too: glibc changes the user ids of every thread, and
/// Landlock's restriction covers the threads started after it (ONNX Runtime starts its own
/// when sessions are created).
pub fn confine() -> Result<Confinement, String> {
    let fail = |what: &str, e: &dyn std::fmt::Display| format!("cannot {what}: {e}");
    let dir = tempfile::Builder::new()
        .prefix("caravan-sandbox-")
        .tempdir()
        .map_err(|e| fail("make the sandbox directory", &e))?;
    std::env::set_current_dir(dir.path()).map_err(|e| fail("enter the sandbox", &e))?;
    dir.close()
        .map_err(|e| fail("remove the sandbox directory", &e))?;
    let chrooted = running_as_root();
    if chrooted {
        use nix::unistd::{Gid, Uid, chroot, setgid, setgroups, setuid};
        chroot(".").map_err(|e| fail("chroot into the sandbox", &e))?;
        std::env::set_current_dir("/").map_err(|e| fail("enter the sandbox", &e))?;
        setgroups(&[]).map_err(|e| fail("drop supplementary groups", &e))?;
        setgid(Gid::from_raw(NOBODY.1)).map_err(|e| fail("become group nobody", &e))?;
        setuid(Uid::from_raw(NOBODY.0)).map_err(|e| fail("become nobody", &e))?;
    }
    Ok(Confinement {
        chrooted,
        landlocked: forbid_filesystem()?,
    })
}

/// Landlock with no allowed path: every open, read, write or exec of a file fails. Kernels
/// without Landlock leave this a no-op (reported as not applied).
fn forbid_filesystem() -> Result<bool, String> {
    let status = Ruleset::default()
        .handle_access(AccessFs::from_all(ABI::V5))
        .and_then(|ruleset| ruleset.create())
        .and_then(|ruleset| ruleset.restrict_self())
        .map_err(|e| format!("cannot apply Landlock: {e}"))?;
    Ok(status.ruleset != RulesetStatus::NotEnforced)
}
