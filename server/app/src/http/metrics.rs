//! Prometheus metrics: requests by method, route template and status, and their latency.

use std::{sync::OnceLock, time::Instant};

use actix_web::{
    Error,
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    middleware::Next,
};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Renders the process's metrics.
#[derive(Clone)]
pub struct Metrics {
    handle: PrometheusHandle,
    pub access: MetricsAccess,
}

/// Who may read `/metrics`, and how much of it (`[metrics]` in the configuration).
#[derive(Clone, Default)]
pub struct MetricsAccess {
    /// A bearer token that reads everything (for a Prometheus scraper); empty: none.
    pub token: secrecy::SecretString,
    /// Whether callers without credentials are answered (with public models' series only).
    pub anonymous: bool,
    /// Whether series may name models at all.
    pub model_labels: bool,
}

impl MetricsAccess {
    /// Whether `presented` is the configured scraper token (compared as digests, so the time
    /// taken tells nothing about the token).
    pub fn is_scraper_token(&self, presented: &str) -> bool {
        use secrecy::ExposeSecret;
        use sha2::{Digest, Sha256};
        let token = self.token.expose_secret();
        !token.is_empty() && Sha256::digest(token) == Sha256::digest(presented)
    }
}

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide recorder (once; every listener and app in the process shares it).
pub fn install_recorder() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let handle = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Suffix("seconds".into()),
                &[
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                    10.0, 60.0,
                ],
            )
            .expect("valid buckets")
            .install_recorder()
            .expect("no other metrics recorder is installed");
        describe_families();
        handle
    })
}

/// What kind of family a metric is, for its description.
#[derive(Clone, Copy)]
enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// Every family the process records, with its unit and its `# HELP` text (Prometheus' lint
/// wants one each).
#[rustfmt::skip]
const FAMILIES: &[(Kind, &str, Option<metrics::Unit>, &str)] = &[
    (Kind::Counter, "caravan_http_requests_total", None,
        "HTTP requests answered, by method, route template and status."),
    (Kind::Histogram, "caravan_http_request_duration_seconds", Some(metrics::Unit::Seconds),
        "Time to answer an HTTP request, by method and route template."),
    (Kind::Counter, "caravan_inference_requests_total", None,
        "Inference requests a loaded version answered, by model and version."),
    (Kind::Counter, "caravan_inference_failures_total", None,
        "Inference requests a loaded version failed (busy, out of memory, engine errors)."),
    (Kind::Histogram, "caravan_inference_duration_seconds", Some(metrics::Unit::Seconds),
        "Time from submitting an inference to its answer, queue included."),
    (Kind::Histogram, "caravan_inference_queue_seconds", Some(metrics::Unit::Seconds),
        "Time an inference waited for its run (batching and a busy executor)."),
    (Kind::Histogram, "caravan_inference_batch_rows", None,
        "Rows in the batch an inference ran in."),
    (Kind::Gauge, "caravan_loaded_versions", None, "Versions loaded for serving."),
    (Kind::Gauge, "caravan_loaded_estimated_bytes", Some(metrics::Unit::Bytes),
        "Estimated memory of all loaded versions."),
    (Kind::Gauge, "caravan_loaded_version_estimated_bytes", Some(metrics::Unit::Bytes),
        "Estimated memory of a loaded version (0 once unloaded)."),
    (Kind::Counter, "caravan_password_hashes_refused_total", None,
        "Password checks refused because the hashing pool was full."),
    (Kind::Counter, "caravan_changes_received_total", None,
        "Catalog change notices received from other replicas."),
];

fn describe_families() {
    metrics::with_recorder(|recorder| {
        for &(kind, name, unit, help) in FAMILIES {
            let (key, help) = (name.into(), help.into());
            match kind {
                Kind::Counter => recorder.describe_counter(key, unit, help),
                Kind::Gauge => recorder.describe_gauge(key, unit, help),
                Kind::Histogram => recorder.describe_histogram(key, unit, help),
            }
        }
    });
}

impl Metrics {
    pub fn install(access: MetricsAccess) -> Self {
        Self {
            handle: install_recorder().clone(),
            access,
        }
    }

    pub fn render(&self) -> String {
        self.handle.render()
    }
}

/// The models the samples of a rendering name (their `model` label).
pub fn models_named(text: &str) -> std::collections::BTreeSet<String> {
    text.lines()
        .filter_map(model_label)
        .map(str::to_owned)
        .collect()
}

/// The rendering without the samples of models `keep` refuses (comments are kept).
pub fn without_models(text: &str, keep: impl Fn(&str) -> bool) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        if model_label(line).is_none_or(&keep) {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// The value of a sample line's `model` label. Model names cannot hold quotes or
/// backslashes, so the value ends at the next quote.
fn model_label(line: &str) -> Option<&str> {
    if line.starts_with('#') {
        return None;
    }
    let labels = &line[line.find('{')? + 1..];
    let labels = &labels[..labels.find('}')?];
    let at = if labels.starts_with("model=\"") {
        0
    } else {
        labels.find(",model=\"")? + 1
    };
    let value = &labels[at + "model=\"".len()..];
    Some(&value[..value.find('"')?])
}

/// Counts and times each request under its route template (`/api/v1/models/{name}`), never
/// the raw path, so label cardinality stays bounded.
pub async fn record(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let method = super::spans::method_label(req.method()).to_owned();
    let response = next.call(req).await?;
    let route = response
        .request()
        .match_pattern()
        .unwrap_or_else(|| unmatched_route(response.request().path()));
    let status = response.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("caravan_http_requests_total", &labels).increment(1);
    metrics::histogram!("caravan_http_request_duration_seconds", &labels[..2])
        .record(started.elapsed().as_secs_f64());
    Ok(response)
}

/// The label of paths no route pattern matched: the V2 model routes are dispatched in code
/// (see `v2`), everything else is an unknown path.
fn unmatched_route(path: &str) -> String {
    if path.starts_with("/v2/models/") {
        "/v2/models/{model}/...".into()
    } else {
        "unmatched".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "# TYPE caravan_inference_requests_total counter
caravan_inference_requests_total{model=\"fraud\",version=\"1\",outcome=\"ok\"} 3
caravan_inference_requests_total{outcome=\"ok\",model=\"secret\",version=\"2\"} 1
caravan_loaded_versions 2
caravan_http_requests_total{method=\"GET\",route=\"/metrics\",status=\"200\"} 9
caravan_other{remodel=\"fraud\"} 1
";

    #[test]
    fn samples_of_models_not_kept_are_dropped_and_the_rest_stays() {
        assert_eq!(
            models_named(TEXT).into_iter().collect::<Vec<_>>(),
            ["fraud", "secret"]
        );
        let kept = without_models(TEXT, |m| m == "fraud");
        assert!(kept.contains("model=\"fraud\""));
        assert!(!kept.contains("secret"));
        assert!(kept.contains("caravan_loaded_versions 2"));
        assert!(kept.contains("route=\"/metrics\""));
        assert!(kept.contains("remodel"), "only the model label counts");
        assert!(kept.starts_with("# TYPE"));
        let none = without_models(TEXT, |_| false);
        assert!(
            !none.contains("{model=") && !none.contains(",model="),
            "{none}"
        );
    }
}
