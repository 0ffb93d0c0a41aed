//! What a "not found" or a "conflict" is about, shared by the catalog (which finds them) and
//! the use cases (which report them): protocols answer them differently (MLflow's
//! `RESOURCE_ALREADY_EXISTS` is not its `INVALID_STATE`).

/// The kind of thing a request named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    Model,
    Version,
    Alias,
    User,
    Token,
    Peer,
    Share,
    Subscription,
    Dataset,
    Pipeline,
    Run,
    Rating,
    Comment,
    Webhook,
    Upload,
    /// Anything else (a route, a row the caller named by id).
    Other,
}

/// Why a request conflicts with the current state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConflictKind {
    /// Something with that name or key exists already.
    AlreadyExists,
    /// It is still referenced (an alias points to the version, for example).
    InUse,
    /// Its state forbids it: ended, removed, already reported or received, your own account.
    InvalidState,
    /// Another request is working on the same thing right now; retrying later can succeed.
    Contended,
    /// The version exists but cannot be served (ONNX Runtime cannot load it).
    CannotServe,
}
