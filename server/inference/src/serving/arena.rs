//! One memory arena for the tensors every serving session computes, with a hard ceiling.
//! ONNX Runtime gives each session an arena of its own that grows without bound, so a request
//! that makes a model allocate gigabytes (a `ConstantOfShape` or `Expand` whose size comes from
//! the request, say) would take the whole process down. Sessions built for serving use this
//! shared arena instead (`session.use_env_allocators`): an allocation that would pass the
//! ceiling fails inside ONNX Runtime, and the run answers an error. Weights are not in it
//! (initializers get their own allocation), so the ceiling is for what requests compute.

use std::sync::OnceLock;

use ort::{
    AsPointer,
    environment::Environment,
    memory::{AllocationDevice, AllocatorType, MemoryInfo, MemoryType},
};

static REGISTERED: OnceLock<Result<u64, String>> = OnceLock::new();

/// Registers the shared arena with at most `max_bytes`, once per process: ONNX Runtime keeps
/// one registered allocator per device, so later calls return the first ceiling whatever they
/// ask for.
pub fn register(env: &Environment, max_bytes: u64) -> Result<u64, String> {
    REGISTERED
        .get_or_init(|| create(env, max_bytes).map(|()| max_bytes))
        .clone()
}

/// The ceiling of the registered arena, if one is registered.
pub fn ceiling() -> Option<u64> {
    REGISTERED.get().and_then(|r| r.as_ref().ok().copied())
}

fn create(env: &Environment, max_bytes: u64) -> Result<(), String> {
    let fail = |e: ort::Error| format!("cannot register the serving memory arena: {e}");
    let info = MemoryInfo::new(
        AllocationDevice::CPU,
        0,
        AllocatorType::Arena,
        MemoryType::Default,
    )
    .map_err(fail)?;
    // Grow by what is asked (not by powers of two), so the arena holds what requests used.
    let keys = [c"max_mem".as_ptr(), c"arena_extend_strategy".as_ptr()];
    let values = [usize::try_from(max_bytes).unwrap_or(usize::MAX), 1];
    let api = ort::api();
    let mut config = std::ptr::null_mut();
    // SAFETY: the key and value arrays have `keys.len()` valid entries, the keys are
    // NUL-terminated C strings that outlive the call, and `config` receives a new arena
    // configuration owned here and released below.
    #[allow(unsafe_code)]
    unsafe {
        ort::Error::result_from_status((api.CreateArenaCfgV2)(
            keys.as_ptr(),
            values.as_ptr(),
            keys.len(),
            &mut config,
        ))
        .map_err(fail)?;
        // SAFETY: `env` and `info` are live ONNX Runtime objects; ONNX Runtime copies what it
        // needs from `info` and `config`, so both may be released after the call.
        let registered = ort::Error::result_from_status((api.CreateAndRegisterAllocator)(
            env.ptr().cast_mut(),
            info.ptr(),
            config,
        ));
        (api.ReleaseArenaCfg)(config);
        registered.map_err(fail)
    }
}
