//! `caravan login`, `push` and `pull`: a client of a Caravan server's HTTP API (never its
//! database), for people at a terminal and for CI jobs. Failures end the process with one line
//! and an exit code that says whose fault it was.

mod credentials;
mod progress;
mod pull;
mod push;

use std::time::Duration;

use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::Value;

pub use credentials::login;
pub use pull::{PullArgs, pull};
pub use push::{PushArgs, push};

/// Why a client command failed; each kind has its exit code.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Bad arguments, a missing file, no server or token configured (exit 2).
    #[error("{0}")]
    Usage(String),
    /// The server refused the credentials or the scope (exit 3).
    #[error("{0}")]
    Auth(String),
    /// The server refused the request: a 4xx with its reason (exit 4).
    #[error("{0}")]
    Refused(String),
    /// The server could not be reached or kept failing (exit 5): a rerun may pass, and a push
    /// or pull resumes where it stopped.
    #[error("{0}")]
    Unavailable(String),
    /// Anything else (local I/O, a corrupt download) (exit 1).
    #[error("{0}")]
    Failed(String),
}

impl ClientError {
    pub fn exit_code(&self) -> u8 {
        match self {
            ClientError::Failed(_) => 1,
            ClientError::Usage(_) => 2,
            ClientError::Auth(_) => 3,
            ClientError::Refused(_) => 4,
            ClientError::Unavailable(_) => 5,
        }
    }
}

pub type Result<T, E = ClientError> = std::result::Result<T, E>;

fn io_error(what: &str) -> impl Fn(std::io::Error) -> ClientError + '_ {
    move |e| ClientError::Failed(format!("{what}: {e}"))
}

/// A server and the token to present to it.
#[derive(Clone)]
pub struct Api {
    base: String,
    token: Option<String>,
    http: reqwest::Client,
}

/// How many times a request that failed for want of the server is tried.
const ATTEMPTS: u32 = 5;

impl Api {
    pub fn new(base: &str, token: Option<String>) -> Result<Self> {
        let base = base.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(ClientError::Usage(format!(
                "the server URL must start with http:// or https://, not {base:?}"
            )));
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("caravan-cli/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(Duration::from_secs(300))
            .build()
            .map_err(|e| ClientError::Failed(format!("cannot build an HTTP client: {e}")))?;
        Ok(Self { base, token, http })
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let request = self.http.request(method, format!("{}{path}", self.base));
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// Sends what `build` makes, again after connection failures, 429 and 5xx answers (with
    /// backoff); a 4xx comes back as an error with the server's reason.
    pub async fn send(&self, what: &str, build: impl Fn() -> RequestBuilder) -> Result<Response> {
        let mut delay = Duration::from_millis(500);
        for attempt in 1..=ATTEMPTS {
            let last = attempt == ATTEMPTS;
            match build().send().await {
                Ok(r) if r.status().is_success() => return Ok(r),
                Ok(r) if retryable(r.status()) && !last => {
                    tracing::debug!(status = %r.status(), "retrying {what}");
                }
                Ok(r) => return Err(refusal(what, r).await),
                Err(e) if !last => tracing::debug!(error = %e, "retrying {what}"),
                Err(e) => {
                    return Err(ClientError::Unavailable(format!(
                        "{what}: cannot reach {}: {}",
                        self.base,
                        root_cause(&e)
                    )));
                }
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(8));
        }
        unreachable!("the last attempt returns")
    }

    /// `send`, then the JSON body.
    pub async fn json(&self, what: &str, build: impl Fn() -> RequestBuilder) -> Result<Value> {
        let response = self.send(what, build).await?;
        response
            .json()
            .await
            .map_err(|e| ClientError::Unavailable(format!("{what}: the answer was cut short: {e}")))
    }
}

fn retryable(status: StatusCode) -> bool {
    status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS
}

/// The error for an answer that is not a success, with the server's own reason.
async fn refusal(what: &str, response: Response) -> ClientError {
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    let reason = body["error"].as_str().unwrap_or("no reason given");
    let code = body["code"].as_str().unwrap_or("");
    let message = format!("{what}: {reason} ({} {code})", status.as_u16());
    match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => ClientError::Auth(message),
        s if retryable(s) => ClientError::Unavailable(message),
        _ => ClientError::Refused(message),
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// The server and token for a command: `--url` or `CARAVAN_URL`, else the server of the last
/// `caravan login`; `CARAVAN_TOKEN`, else the token stored for that server.
pub fn api_for(url: Option<String>) -> Result<Api> {
    let stored = credentials::Store::load()?;
    let url = url.or_else(|| stored.default.clone()).ok_or_else(|| {
        ClientError::Usage(
            "no server: pass --url, set CARAVAN_URL, or run `caravan login URL`".into(),
        )
    })?;
    let token = std::env::var("CARAVAN_TOKEN")
        .ok()
        .filter(|t| !t.is_empty())
        .or_else(|| stored.token_for(&url));
    Api::new(&url, token)
}
