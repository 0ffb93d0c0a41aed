//! Deployment bundles: one version of a model as a `caravan runner` deployment for Docker,
//! Compose, Kubernetes, Helm or KServe, rendered from the templates in `deploy/bundles` (and the
//! chart in `deploy/helm/caravan-runner`), compiled in, into a `.tar.gz`.
//!
//! Values never reach a file by string concatenation: YAML templates render every value
//! JSON-escaped (minijinja's JSON auto-escape: a JSON scalar is a YAML scalar), the Dockerfile
//! quotes with `tojson`, and the only text taken from the ONNX file (input names, in the
//! README's example request) is JSON-encoded and then quoted for the shell.

mod context;
mod download;
mod names;

use std::{fmt, str::FromStr, sync::OnceLock};

use caravan_domain::ArtifactFormat;
use minijinja::{AutoEscape, Environment};

pub use context::{BundleConfig, BundleSpec};
pub use download::{Download, download};

/// What a bundle deploys to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Docker,
    Compose,
    Kubernetes,
    Helm,
    Kserve,
    /// An Acumos model bundle under the Acumos Python model runner (the only target of such
    /// versions, and not one of ONNX versions, which `caravan runner` serves).
    Acumos,
}

impl Target {
    pub const ALL: [Target; 6] = [
        Target::Docker,
        Target::Compose,
        Target::Kubernetes,
        Target::Helm,
        Target::Kserve,
        Target::Acumos,
    ];

    /// The targets a version of this format deploys to.
    pub fn for_format(format: ArtifactFormat) -> &'static [Target] {
        match format {
            ArtifactFormat::Onnx => &Target::ALL[..5],
            ArtifactFormat::AcumosBundle => &[Target::Acumos],
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Target::Docker => "docker",
            Target::Compose => "compose",
            Target::Kubernetes => "kubernetes",
            Target::Helm => "helm",
            Target::Kserve => "kserve",
            Target::Acumos => "acumos",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Target::Docker => "a Docker image",
            Target::Compose => "Docker Compose",
            Target::Kubernetes => "Kubernetes",
            Target::Helm => "a Helm release",
            Target::Kserve => "a KServe InferenceService",
            Target::Acumos => "the Acumos model runner",
        }
    }

    /// The generated files of this target (template name, path in the bundle); the README
    /// and, where the model is baked in, the Dockerfile that builds its image come with all.
    fn files(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Target::Docker => &[],
            Target::Compose => &[("compose.yaml.j2", "compose.yaml")],
            Target::Kubernetes => &[
                ("kubernetes/deployment.yaml.j2", "deployment.yaml"),
                ("kubernetes/service.yaml.j2", "service.yaml"),
                ("kubernetes/hpa.yaml.j2", "hpa.yaml"),
            ],
            Target::Helm => &[("helm/values.yaml.j2", "values.yaml")],
            Target::Kserve => &[("kserve/inferenceservice.yaml.j2", "inferenceservice.yaml")],
            Target::Acumos => &[("acumos/requirements.txt.j2", "requirements.txt")],
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown target, with the list of known ones.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown deployment target {0:?}: use one of docker, compose, kubernetes, helm, kserve (acumos for Acumos bundles)"
)]
pub struct UnknownTarget(pub String);

impl FromStr for Target {
    type Err = UnknownTarget;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        Target::ALL
            .into_iter()
            .find(|t| t.as_str() == raw)
            .ok_or_else(|| UnknownTarget(raw.chars().take(40).collect()))
    }
}

macro_rules! embedded {
    ($dir:literal: $($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/", $dir, "/", $name)))),*]
    };
}

const TEMPLATES: &[(&str, &str)] = embedded!("bundles":
    "README.md.j2",
    "Dockerfile.j2",
    "dockerignore",
    "compose.yaml.j2",
    "kubernetes/deployment.yaml.j2",
    "kubernetes/service.yaml.j2",
    "kubernetes/hpa.yaml.j2",
    "helm/values.yaml.j2",
    "kserve/inferenceservice.yaml.j2",
    "acumos/README.md.j2",
    "acumos/Dockerfile.j2",
    "acumos/dockerignore",
    "acumos/requirements.txt.j2",
);

/// The runner chart, shipped whole in Helm bundles (its templates are Helm's, not ours).
const RUNNER_CHART: &[(&str, &str)] = embedded!("helm/caravan-runner":
    "Chart.yaml",
    "values.yaml",
    "templates/_helpers.tpl",
    "templates/deployment.yaml",
    "templates/service.yaml",
    "templates/hpa.yaml",
    "templates/NOTES.txt",
);

fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".yaml.j2") {
                AutoEscape::Json
            } else {
                AutoEscape::None
            }
        });
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        env.set_keep_trailing_newline(true);
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .unwrap_or_else(|e| panic!("bundle template {name}: {e}"));
        }
        env
    })
}

/// One file of a bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleFile {
    pub path: String,
    pub contents: String,
}

/// The files of `target`'s bundle for `spec`, paths relative to the bundle's directory.
pub fn files(target: Target, spec: &BundleSpec) -> anyhow::Result<Vec<BundleFile>> {
    let env = environment();
    let ctx = spec.context(target.as_str(), target.title());
    let render = |template: &str, path: &str| -> anyhow::Result<BundleFile> {
        let contents = env.get_template(template)?.render(&ctx)?;
        Ok(BundleFile {
            path: path.to_owned(),
            contents,
        })
    };
    if target == Target::Acumos {
        let mut files = vec![
            render("acumos/README.md.j2", "README.md")?,
            render("acumos/Dockerfile.j2", "Dockerfile")?,
            render("acumos/dockerignore", ".dockerignore")?,
        ];
        for (template, path) in target.files() {
            files.push(render(template, path)?);
        }
        return Ok(files);
    }
    let mut files = vec![render("README.md.j2", "README.md")?];
    if !spec.follows() || target == Target::Docker || target == Target::Compose {
        files.push(render("Dockerfile.j2", "Dockerfile")?);
    }
    if !spec.follows() {
        files.push(render("dockerignore", ".dockerignore")?);
    }
    for (template, path) in target.files() {
        files.push(render(template, path)?);
    }
    if target == Target::Helm {
        files.extend(RUNNER_CHART.iter().map(|(path, contents)| BundleFile {
            path: format!("caravan-runner/{path}"),
            contents: (*contents).to_owned(),
        }));
    }
    Ok(files)
}

/// The bundle as a `.tar.gz` with everything under one directory (`dir`), every entry
/// timestamped `mtime` so the same version always gives the same bytes.
pub fn tar_gz(dir: &str, files: &[BundleFile], mtime: u64) -> std::io::Result<Vec<u8>> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    tar.mode(tar::HeaderMode::Deterministic);
    for file in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(file.contents.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(mtime);
        header.set_entry_type(tar::EntryType::Regular);
        tar.append_data(
            &mut header,
            format!("{dir}/{}", file.path),
            file.contents.as_bytes(),
        )?;
    }
    tar.into_inner()?.finish()
}

/// The name of the bundle's directory and archive: `<model>-v<version>-<target>`.
pub fn bundle_name(spec: &BundleSpec, target: Target) -> String {
    format!("{}-{}", spec.resource_name(), target)
}
