//! What the bundle templates are filled with: names, images, the runner's environment and
//! the memory sizing, all derived from one version record and the `[deploy]` settings.

use caravan_domain::{TensorType, records::VersionRecord};
use serde_json::{Value, json};

use super::names::dns_label;

/// The runner's own resident memory (with ONNX Runtime loaded), before any model: the
/// measured idle RSS of a release runner serving a 15 KB model, rounded up (BENCHMARKS.md).
const RUNNER_BASE_MIB: u64 = 48;
/// CPU a runner asks for; a single request runs on one core.
const CPU_REQUEST: &str = "250m";
/// Scratch space: uploads to `PUT /model` and followed versions are staged in /tmp.
const MIN_TMP_MIB: u64 = 256;
/// Largest input (in values) the README's example request fills in.
const EXAMPLE_MAX_VALUES: i64 = 64;

/// The instance-wide part: `[deploy]`, the serving sessions per version and where the
/// instance is reached.
#[derive(Debug, Clone)]
pub struct BundleConfig {
    /// The Caravan image runners start from (`caravan:<version>` when empty).
    pub image: String,
    /// Prefix of the runner images bundles build (`registry.example/ml/`).
    pub registry: String,
    pub inference_memory_mb: u64,
    pub sessions_per_version: usize,
    /// `http.public_url`; empty: taken from the request.
    pub public_url: String,
}

impl BundleConfig {
    fn caravan_image(&self) -> String {
        if self.image.is_empty() {
            format!("caravan:{}", env!("CARGO_PKG_VERSION"))
        } else {
            self.image.clone()
        }
    }
}

/// An alias the runner follows instead of a baked-in model.
#[derive(Debug, Clone)]
pub struct Follow {
    pub alias: String,
    pub url: String,
}

/// One bundle's inputs.
#[derive(Debug, Clone)]
pub struct BundleSpec {
    pub model: String,
    pub version: VersionRecord,
    pub follow: Option<Follow>,
    /// The instance's base URL (`https://caravan.example`).
    pub instance: String,
    pub config: BundleConfig,
}

impl BundleSpec {
    /// A bundle that follows `alias` of the model on this instance.
    pub fn follow_alias(mut self, alias: &str) -> Self {
        self.follow = Some(Follow {
            alias: alias.to_owned(),
            url: format!(
                "{}/api/v1/models/{}/aliases/{alias}",
                self.instance, self.model
            ),
        });
        self
    }

    pub fn follows(&self) -> bool {
        self.follow.is_some()
    }

    /// The DNS label of what the bundle creates: `<model>-v<version>`, or `<model>-<alias>`
    /// for a runner that follows an alias (it outlives the version).
    pub fn resource_name(&self) -> String {
        match &self.follow {
            Some(f) => dns_label(&self.model, &f.alias),
            None => dns_label(&self.model, &format!("v{}", self.version.version)),
        }
    }

    /// The image reference (`repository:tag`) the bundle runs.
    pub fn image_reference(&self) -> String {
        let (repository, tag) = self.image();
        format!("{repository}:{tag}")
    }

    /// The image the runner runs: one built from the bundle (the model baked in), or
    /// Caravan's own image for a runner that follows an alias.
    fn image(&self) -> (String, String) {
        match &self.follow {
            Some(_) => {
                let image = self.config.caravan_image();
                match image.rsplit_once(':').filter(|(_, tag)| !tag.contains('/')) {
                    Some((repo, tag)) => (repo.to_owned(), tag.to_owned()),
                    None => (image, "latest".to_owned()),
                }
            }
            None => (
                format!(
                    "{}{}-{}",
                    self.config.registry,
                    match self.version.info.format {
                        caravan_domain::ArtifactFormat::Onnx => "caravan-runner",
                        caravan_domain::ArtifactFormat::AcumosBundle => "acumos-model",
                    },
                    dns_label(&self.model, "")
                ),
                format!("v{}", self.version.version),
            ),
        }
    }

    /// Memory in MiB: (one session's measured footprint, whether it was measured, the
    /// request, the limit).
    fn memory(&self) -> (u64, bool, u64, u64) {
        let measured = self.version.info.footprint_bytes;
        // Versions validated before the measurement: twice the file, the serving estimate.
        let footprint = measured.unwrap_or(self.version.size.max(0) as u64 * 2);
        let footprint_mib = footprint.div_ceil(1 << 20).max(1);
        let sessions = self.config.sessions_per_version.max(1) as u64;
        let request = round_up(RUNNER_BASE_MIB + footprint_mib * sessions, 16);
        let limit = round_up(request + self.config.inference_memory_mb, 16);
        (footprint_mib, measured.is_some(), request, limit)
    }

    /// The template context for `target`.
    pub fn context(&self, target: &str, title: &str) -> Value {
        let name = self.resource_name();
        let (repository, tag) = self.image();
        let (footprint_mib, footprint_measured, request, limit) = self.memory();
        let token_secret = format!("{name}-token");
        let mut env = vec![
            json!({"name": "CARAVAN_RUNNER_BIND", "value": "0.0.0.0:8080"}),
            json!({"name": "CARAVAN_RUNNER_NAME", "value": self.model}),
            json!({"name": "CARAVAN__SERVING__INFERENCE_MEMORY_MB",
                   "value": self.config.inference_memory_mb.to_string()}),
        ];
        match &self.follow {
            Some(f) => env.extend([
                json!({"name": "CARAVAN_RUNNER_FOLLOW", "value": f.url}),
                // A Secret mounted as a directory (a subPath mount would not see rotations).
                json!({"name": "CARAVAN_RUNNER_TOKEN_FILE",
                       "value": "/run/secrets/caravan/token"}),
            ]),
            None => {
                env.push(json!({"name": "CARAVAN_RUNNER_MODEL", "value": "/models/model.onnx"}))
            }
        }
        let selector = json!({
            "app.kubernetes.io/name": "caravan-runner",
            "app.kubernetes.io/instance": name,
        });
        let mut labels = selector.clone();
        labels["app.kubernetes.io/version"] = json!(format!("v{}", self.version.version));
        labels["app.kubernetes.io/managed-by"] = json!("caravan");
        json!({
            "target": target,
            "target_title": title,
            "model": self.model,
            "served_name": self.model,
            "version": self.version.version,
            "sha256": self.version.sha256,
            "size": self.version.size,
            "instance": self.instance,
            "artifact_url": format!("{}/api/v1/models/{}/versions/{}/artifact",
                self.instance, self.model, self.version.version),
            "follow": self.follow.as_ref().map(|f| json!({"alias": f.alias, "url": f.url})),
            "k8s_name": name,
            "image": format!("{repository}:{tag}"),
            "image_title": format!("{} v{}", self.model, self.version.version),
            "image_repository": repository,
            "image_tag": tag,
            "caravan_image": self.config.caravan_image(),
            "token_secret": token_secret,
            "labels": labels,
            "selector": selector,
            "annotations": {
                "caravan.dev/model": self.model,
                "caravan.dev/version": self.version.version.to_string(),
                "caravan.dev/sha256": self.version.sha256,
            },
            "env": env,
            "cpu_request": CPU_REQUEST,
            "sessions": self.config.sessions_per_version.max(1),
            "footprint_mib": footprint_mib,
            "footprint_measured": footprint_measured,
            "memory_request_mib": request,
            "memory_limit_mib": limit,
            "inference_memory_mb": self.config.inference_memory_mb,
            "tmp_size_mib": round_up(MIN_TMP_MIB.max(2 * (self.version.size.max(0) as u64 >> 20)), 64),
            "example_request": self.example_request().map(|body| shell_single_quoted(&body)),
            "acumos": self.version.info.acumos,
        })
    }

    /// A V2 request with zeros in every input (dynamic dimensions as 1; text inputs get
    /// empty strings), for the README; none for inputs too large to show.
    fn example_request(&self) -> Option<Value> {
        let inputs: Option<Vec<Value>> = self
            .version
            .info
            .signature
            .inputs
            .iter()
            .map(|input| {
                let shape: Vec<i64> = input.shape.iter().map(|&d| d.max(1)).collect();
                let count = shape.iter().try_fold(1i64, |n, &d| n.checked_mul(d))?;
                if count > EXAMPLE_MAX_VALUES {
                    return None;
                }
                let zero = match input.datatype {
                    TensorType::Bytes => json!(""),
                    TensorType::Bool => json!(false),
                    _ => json!(0),
                };
                Some(json!({
                    "name": input.name,
                    "shape": shape,
                    "datatype": input.datatype.v2_name(),
                    "data": vec![zero; count as usize],
                }))
            })
            .collect();
        Some(json!({ "inputs": inputs? }))
    }
}

fn round_up(n: u64, step: u64) -> u64 {
    n.div_ceil(step) * step
}

/// The JSON text of `body` as one single-quoted shell word (each `'` inside closed, escaped
/// and reopened), so an input name can never end the quoting.
fn shell_single_quoted(body: &Value) -> String {
    format!("'{}'", body.to_string().replace('\'', r"'\''"))
}
