//! `caravan __run-limited --memory-mb M --cpu-secs S -- PROGRAM ARGS...`: starts a pipeline's
//! trainer with an address-space and CPU-time limit and no core dumps, and never as root
//! (as root, it becomes `nobody` first). The limits survive `exec`, so they bind the trainer
//! and everything it starts.

use std::os::unix::process::CommandExt;
use std::process::ExitCode;

use caravan_pipelines::sandbox::{NOBODY, running_as_root};

/// Applies the limits and replaces this process with `argv`; returns only on failure.
pub fn exec_limited(memory_mb: u64, cpu_secs: u64, argv: &[String]) -> ExitCode {
    use rlimit::Resource;
    let Some((program, args)) = argv.split_first() else {
        eprintln!("caravan __run-limited: nothing to run");
        return ExitCode::from(2);
    };
    let memory = memory_mb.saturating_mul(1 << 20);
    let limits = Resource::AS
        .set(memory, memory)
        .and_then(|()| Resource::CPU.set(cpu_secs, cpu_secs.saturating_add(5)))
        .and_then(|()| Resource::CORE.set(0, 0));
    if let Err(e) = limits {
        eprintln!("caravan __run-limited: cannot set resource limits: {e}");
        return ExitCode::from(2);
    }
    let mut command = std::process::Command::new(program);
    command.args(args);
    if running_as_root() {
        command.gid(NOBODY.1).uid(NOBODY.0);
    }
    let error = command.exec();
    eprintln!("caravan __run-limited: cannot run {program}: {error}");
    ExitCode::from(127)
}
