//! Validation in a child process: the server re-runs its own binary with a hidden subcommand
//! that loads the model under address-space and CPU-time limits and prints a JSON verdict. A
//! model that crashes ONNX Runtime, loops or allocates without end takes only the child down.
//! The child gets the model as its standard input (an open file, not a path) and, once ONNX
//! Runtime is loaded, confines itself to an empty directory (see [`crate::sandbox`]).

use std::{
    fs::File,
    os::fd::AsFd,
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use caravan_domain::ModelInfo;
use serde::{Deserialize, Serialize};

use crate::{Refusal, environment, inspect::map, inspect_bytes, sandbox};

/// The hidden subcommand the child runs (`caravan __validate-onnx ...`).
pub const CHILD_SUBCOMMAND: &str = "__validate-onnx";

/// What the child prints on its single line of output: the verdict, and how confined the
/// child was when it reached it.
#[derive(Debug, Serialize, Deserialize)]
struct Report {
    #[serde(flatten)]
    verdict: Verdict,
    #[serde(default)]
    confinement: Option<sandbox::Confinement>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Verdict {
    Accepted(Box<ModelInfo>),
    Refused(String),
    Failed(String),
}

/// Why validation did not accept a model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    /// The model is at fault; the message says why (a 4xx for the uploader).
    #[error("{0}")]
    Refused(String),
    /// Validation itself could not run (a 5xx).
    #[error("model validation failed to run: {0}")]
    Failed(String),
}

/// Runs validations in child processes.
#[derive(Debug, Clone)]
pub struct Validator {
    /// The `caravan` binary (normally the running one).
    pub exe: PathBuf,
    pub ort_library: PathBuf,
    pub timeout: Duration,
    /// Address-space limit in bytes, on top of the files of the program and of ONNX Runtime
    /// (which are mapped whole); `None` allows 1 GiB plus 4x the model's size.
    pub memory_limit: Option<u64>,
}

impl Validator {
    /// Validates the model file at `model` (of `size` bytes).
    pub async fn validate(&self, model: &Path, size: u64) -> Result<ModelInfo, ValidationError> {
        // What the model may take, on top of what the child has mapped once ONNX Runtime is
        // loaded (the child measures that itself: see `validate_confined`).
        let memory_limit = self
            .memory_limit
            .unwrap_or((1 << 30) + size.saturating_mul(4));
        let failed =
            |what: &str, e: std::io::Error| ValidationError::Failed(format!("{what}: {e}"));
        let model = File::open(model).map_err(|e| failed("cannot open the staged model", e))?;
        let child = tokio::process::Command::new(&self.exe)
            .arg(CHILD_SUBCOMMAND)
            .arg("--ort-library")
            .arg(&self.ort_library)
            .arg("--memory-limit")
            .arg(memory_limit.to_string())
            .arg("--cpu-seconds")
            .arg(self.timeout.as_secs().max(1).to_string())
            .stdin(Stdio::from(model))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                ValidationError::Failed(format!("cannot start {}: {e}", self.exe.display()))
            })?;
        // On timeout the future is dropped, which kills the child (kill_on_drop).
        let output = match tokio::time::timeout(self.timeout, child.wait_with_output()).await {
            Err(_) => {
                return Err(ValidationError::Refused(format!(
                    "loading the model took longer than the {} s validation limit",
                    self.timeout.as_secs()
                )));
            }
            Ok(Err(e)) => return Err(ValidationError::Failed(e.to_string())),
            Ok(Ok(output)) => output,
        };
        let stdout = String::from_utf8_lossy(&output.stdout);
        let Ok(report) = serde_json::from_str::<Report>(stdout.trim()) else {
            return Err(explain_crash(&output, memory_limit));
        };
        if let Some(confinement) = report.confinement {
            note_confinement(confinement);
        }
        match report.verdict {
            Verdict::Accepted(info) => Ok(*info),
            Verdict::Refused(reason) => Err(ValidationError::Refused(reason)),
            Verdict::Failed(reason) => Err(ValidationError::Failed(reason)),
        }
    }
}

/// Says once per process how confined validation is, loudly when it is only partly.
fn note_confinement(confinement: sandbox::Confinement) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if confinement.chrooted || confinement.landlocked {
            tracing::info!(?confinement, "model validation runs confined");
        } else {
            tracing::warn!(
                "model validation runs in an empty directory only: this machine offers neither \
                 root (for chroot) nor Landlock, so absolute paths stay readable to the child"
            );
        }
    });
}

/// Turns a child that died without a verdict into a refusal that says what happened.
fn explain_crash(output: &std::process::Output, memory_limit: u64) -> ValidationError {
    use std::os::unix::process::ExitStatusExt;
    let stderr = String::from_utf8_lossy(&output.stderr);
    let out_of_memory = stderr.contains("memory allocation of")
        || stderr.contains("bad_alloc")
        || stderr.contains("Cannot allocate memory");
    if out_of_memory {
        return ValidationError::Refused(format!(
            "loading the model needs more than the {} MiB validation memory limit",
            memory_limit >> 20
        ));
    }
    match output.status.signal() {
        // SIGXCPU / SIGKILL: the CPU-time limit (RLIMIT_CPU) was reached.
        Some(24) | Some(9) => ValidationError::Refused(
            "loading the model used more CPU time than validation allows".into(),
        ),
        Some(signal) => ValidationError::Refused(format!(
            "ONNX Runtime crashed while loading the model (signal {signal}); the file is \
             malformed or uses an operator in a way the runtime cannot handle"
        )),
        None => {
            let tail: String = stderr
                .chars()
                .rev()
                .take(300)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            ValidationError::Failed(format!("validator exited with {}: {tail}", output.status))
        }
    }
}

/// The child's side: applies the limits, loads ONNX Runtime, maps the model (the file at
/// `model`, or standard input), confines itself to its working directory, inspects the model
/// and prints the verdict as one JSON line. Returns the process exit code.
pub fn run_validation_child(
    library: &Path,
    memory_limit: u64,
    cpu_seconds: u64,
    model: Option<&Path>,
) -> i32 {
    let mut confinement = None;
    let verdict =
        match validate_confined(library, memory_limit, cpu_seconds, model, &mut confinement) {
            Ok(info) => Verdict::Accepted(Box::new(info)),
            Err(ChildError::Refused(reason)) => Verdict::Refused(reason),
            Err(ChildError::Failed(reason)) => Verdict::Failed(reason),
        };
    let report = Report {
        verdict,
        confinement,
    };
    println!(
        "{}",
        serde_json::to_string(&report).expect("verdict serializes")
    );
    0
}

enum ChildError {
    Refused(String),
    Failed(String),
}

fn validate_confined(
    library: &Path,
    memory_limit: u64,
    cpu_seconds: u64,
    model: Option<&Path>,
    confinement: &mut Option<sandbox::Confinement>,
) -> Result<ModelInfo, ChildError> {
    use rlimit::Resource;
    let limits = |e: std::io::Error| ChildError::Failed(format!("cannot set resource limits: {e}"));
    Resource::CPU
        .set(cpu_seconds, cpu_seconds + 1)
        .and_then(|()| Resource::CORE.set(0, 0))
        .map_err(limits)?;
    let env = environment(library).map_err(|e| ChildError::Failed(e.to_string()))?;
    // The model's allowance comes on top of what this process maps before it reads a byte of
    // the model (the executable, ONNX Runtime), measured rather than guessed from file sizes:
    // a debug executable's file is mostly debug information that is never mapped.
    let address_space = mapped_bytes().unwrap_or(0).saturating_add(memory_limit);
    Resource::AS
        .set(address_space, address_space)
        .map_err(limits)?;
    let file = match model {
        Some(path) => File::open(path),
        None => std::io::stdin()
            .lock()
            .as_fd()
            .try_clone_to_owned()
            .map(File::from),
    }
    .map_err(|e| ChildError::Failed(format!("cannot open the model: {e}")))?;
    // The footprint is what the model adds to what is resident before it is read. The status
    // file is opened now because confinement hides /proc; read again, an open one is current.
    let mut status = File::open("/proc/self/status").ok();
    let resident_before = status.as_mut().and_then(|f| status_bytes(f, "VmRSS:"));
    let bytes = map(&file).map_err(|Refusal(reason)| ChildError::Refused(reason))?;
    drop(file);
    *confinement = Some(sandbox::confine().map_err(ChildError::Failed)?);
    let mut info =
        inspect_bytes(env, &bytes).map_err(|Refusal(reason)| ChildError::Refused(reason))?;
    let peak = status.as_mut().and_then(|f| status_bytes(f, "VmHWM:"));
    info.footprint_bytes = resident_before
        .zip(peak)
        .map(|(before, peak)| peak.saturating_sub(before));
    Ok(info)
}

/// This process's address space now (`VmSize` of /proc/self/status), in bytes.
fn mapped_bytes() -> Option<u64> {
    status_bytes(&mut File::open("/proc/self/status").ok()?, "VmSize:")
}

/// A `kB` field of an open /proc/self/status, in bytes, as of now.
fn status_bytes(status: &mut File, field: &str) -> Option<u64> {
    use std::io::{Read, Seek};
    let mut text = String::new();
    status.rewind().ok()?;
    status.read_to_string(&mut text).ok()?;
    let line = text.lines().find(|l| l.starts_with(field))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib << 10)
}
