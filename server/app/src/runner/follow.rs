//! Follow mode: the runner serves the version an alias on a Caravan instance points to and
//! swaps when the alias moves. It long-polls the alias (`GET .../aliases/{alias}?after=&wait=`,
//! answered as soon as the alias points elsewhere), downloads the version's artifact, checks
//! its sha256 against what the instance said, and swaps through the runner (validated and
//! warmed first). While the instance is unreachable it keeps serving what it has and says so
//! in `/readyz` and `GET /model`.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use caravan_core::runner::{Runner, Source};
use caravan_domain::records::Timestamp;
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};

/// How long one poll waits for the alias to move (the server caps it at 60 s).
const POLL_WAIT: Duration = Duration::from_secs(30);
/// Retries after a failure start at this and double up to `MAX_BACKOFF`.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// `https://host/api/v1/models/{name}/aliases/{alias}`, taken apart.
#[derive(Debug, Clone)]
pub struct FollowTarget {
    pub url: String,
    base: String,
    pub model: String,
}

impl FollowTarget {
    pub fn parse(url: &str) -> anyhow::Result<Self> {
        let url = url.trim_end_matches('/');
        let (base, rest) = url
            .split_once("/api/v1/models/")
            .filter(|(base, _)| base.starts_with("http://") || base.starts_with("https://"))
            .ok_or_else(|| follow_shape(url))?;
        let (model, alias) = rest
            .split_once("/aliases/")
            .ok_or_else(|| follow_shape(url))?;
        anyhow::ensure!(
            !model.is_empty() && !alias.is_empty() && !alias.contains('/'),
            follow_shape(url)
        );
        Ok(Self {
            url: url.to_owned(),
            base: base.to_owned(),
            model: model.to_owned(),
        })
    }
}

fn follow_shape(url: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "--follow {url:?} must name an alias: https://HOST/api/v1/models/NAME/aliases/ALIAS"
    )
}

/// What the instance says of the alias.
#[derive(Debug, Deserialize)]
struct Alias {
    version: i64,
    sha256: String,
}

/// Why a step failed: the instance could not be reached (retried; the model keeps serving)
/// or it answered something that waiting will not change.
#[derive(Debug)]
enum Failure {
    Unreachable(String),
    Refused(String),
}

/// What the runner knows of the instance it follows, for `/readyz` and `GET /model`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Marketplace {
    pub url: String,
    pub reachable: bool,
    /// The last failure (unreachable, or a version that was refused), until a step succeeds.
    pub error: Option<String>,
    pub checked_at: Option<Timestamp>,
}

pub struct Follower {
    target: FollowTarget,
    http: reqwest::Client,
    token: Option<String>,
    status: RwLock<Marketplace>,
}

impl Follower {
    pub fn new(target: FollowTarget, token: Option<String>) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .build()?;
        let status = RwLock::new(Marketplace {
            url: target.url.clone(),
            ..Default::default()
        });
        Ok(Self {
            target,
            http,
            token,
            status,
        })
    }

    pub fn status(&self) -> Marketplace {
        self.status.read().expect("follow status lock").clone()
    }

    fn record(&self, failure: Option<&Failure>) {
        let mut status = self.status.write().expect("follow status lock");
        status.checked_at = Some(Timestamp::now());
        match failure {
            None => (status.reachable, status.error) = (true, None),
            Some(Failure::Unreachable(why)) => {
                (status.reachable, status.error) = (false, Some(why.clone()));
            }
            Some(Failure::Refused(why)) => {
                (status.reachable, status.error) = (true, Some(why.clone()))
            }
        }
    }

    /// The instance answered; whatever was refused stays the error.
    fn reached(&self) {
        let mut status = self.status.write().expect("follow status lock");
        (status.reachable, status.checked_at) = (true, Some(Timestamp::now()));
    }

    fn get(&self, url: &str) -> reqwest::RequestBuilder {
        let request = self.http.get(url);
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// Where the alias points; with `after`, once it points elsewhere (or the wait ends).
    async fn poll(&self, after: Option<i64>, wait: Duration) -> Result<Alias, Failure> {
        let url = match after {
            Some(after) => format!("{}?after={after}&wait={}", self.target.url, wait.as_secs()),
            None => self.target.url.clone(),
        };
        let response = self
            .get(&url)
            .timeout(wait + Duration::from_secs(15))
            .send()
            .await
            .map_err(|e| {
                Failure::Unreachable(format!("{} is unreachable: {e}", self.target.url))
            })?;
        let response = checked(response, &self.target.url).await?;
        response.json().await.map_err(|e| {
            Failure::Unreachable(format!("{} answered unreadable JSON: {e}", self.target.url))
        })
    }

    /// The model-runner interface the version was published with, if any (a .proto sent
    /// with it), so the runner's Acumos surface answers as the instance's does.
    async fn interface(
        &self,
        version: i64,
    ) -> Result<Option<caravan_domain::AcumosInterface>, Failure> {
        #[derive(Deserialize)]
        struct Described {
            #[serde(default)]
            acumos: Option<caravan_domain::AcumosInterface>,
        }
        let url = format!(
            "{}/api/v1/models/{}/versions/{version}",
            self.target.base, self.target.model
        );
        let response = self
            .get(&url)
            .send()
            .await
            .map_err(|e| Failure::Unreachable(format!("describing version {version}: {e}")))?;
        let response = match checked(response, &url).await {
            Ok(response) => response,
            // The bytes were checked against the alias's sha256; without a description the
            // runner serves the interface generated from the model's signature.
            Err(Failure::Refused(why)) => {
                tracing::warn!(%why, "no description of the version; serving the generated interface");
                return Ok(None);
            }
            Err(unreachable) => return Err(unreachable),
        };
        let described: Described = response
            .json()
            .await
            .map_err(|e| Failure::Unreachable(format!("{url} answered unreadable JSON: {e}")))?;
        Ok(described.acumos)
    }

    /// Downloads the version, checks its bytes and swaps it in.
    async fn fetch_and_swap(&self, runner: &Runner, alias: &Alias) -> Result<(), Failure> {
        let url = format!(
            "{}/api/v1/models/{}/versions/{}/artifact",
            self.target.base, self.target.model, alias.version
        );
        let response = self.get(&url).send().await.map_err(|e| {
            Failure::Unreachable(format!("downloading version {}: {e}", alias.version))
        })?;
        let body = checked(response, &url)
            .await?
            .bytes_stream()
            .map_err(|e| e.to_string());
        let staged = runner
            .stager()
            .stage(body, runner.model_limit())
            .await
            .map_err(|e| {
                Failure::Unreachable(format!("downloading version {}: {e}", alias.version))
            })?;
        if staged.sha256() != alias.sha256 {
            return Err(Failure::Refused(format!(
                "version {} was refused: the download's sha256 {} is not the {} the instance \
                 gave for it",
                alias.version,
                staged.sha256(),
                alias.sha256
            )));
        }
        let acumos = self.interface(alias.version).await?;
        let source = Source::Follow {
            url: self.target.url.clone(),
            version: alias.version,
        };
        runner
            .swap_with(staged, source, false, acumos)
            .await
            .map_err(|e| Failure::Refused(format!("version {} was refused: {e}", alias.version)))?;
        Ok(())
    }

    /// The first model, before the runner listens: an answer that waiting will not change
    /// (no such alias, no access, a refused model) stops the runner with the reason; an
    /// unreachable instance does not (it starts not ready and keeps trying).
    pub async fn start(&self, runner: &Runner) -> anyhow::Result<()> {
        let step = async {
            let alias = self.poll(None, Duration::ZERO).await?;
            self.fetch_and_swap(runner, &alias).await
        };
        match step.await {
            Ok(()) => {
                self.record(None);
                Ok(())
            }
            Err(Failure::Refused(why)) => anyhow::bail!("following {}: {why}", self.target.url),
            Err(failure) => {
                tracing::warn!(
                    ?failure,
                    "the instance is unreachable; not ready until it answers"
                );
                self.record(Some(&failure));
                Ok(())
            }
        }
    }

    /// Follows the alias until the process ends.
    pub fn spawn(self: Arc<Self>, runner: Arc<Runner>) {
        tokio::spawn(async move {
            // The version last seen on the alias (served, or refused: not fetched again until
            // the alias moves).
            let mut seen = following(&runner);
            let mut backoff = FIRST_BACKOFF;
            loop {
                let step = match self.poll(seen, POLL_WAIT).await {
                    Ok(alias) if Some(alias.version) == seen => Ok(()),
                    Ok(alias) => {
                        seen = Some(alias.version);
                        self.fetch_and_swap(&runner, &alias).await
                    }
                    Err(failure) => Err(failure),
                };
                match &step {
                    // The alias still points to a version that was refused: keep saying so.
                    Ok(()) if seen != following(&runner) => self.reached(),
                    Ok(()) => self.record(None),
                    Err(failure) => {
                        tracing::warn!(?failure, "following the alias");
                        if matches!(failure, Failure::Unreachable(_)) {
                            // Fetched again once the instance answers.
                            seen = following(&runner);
                        }
                        self.record(Some(failure));
                    }
                }
                match step {
                    Ok(()) => backoff = FIRST_BACKOFF,
                    Err(_) => {
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                    }
                }
            }
        });
    }
}

/// The version the runner serves from the alias, if it serves one.
fn following(runner: &Runner) -> Option<i64> {
    runner.current().and_then(|served| match served.source {
        Source::Follow { version, .. } => Some(version),
        _ => None,
    })
}

/// The response if it is a success; the instance's own error text otherwise.
async fn checked(response: reqwest::Response, url: &str) -> Result<reqwest::Response, Failure> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let text = response.text().await.unwrap_or_default();
    let error = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v["error"].as_str().map(str::to_owned))
        .unwrap_or_else(|| text.chars().take(200).collect());
    let why = format!("{url} answered {status}: {error}");
    Err(
        if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            Failure::Unreachable(why)
        } else {
            Failure::Refused(why)
        },
    )
}
