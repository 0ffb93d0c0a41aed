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
}

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

impl Metrics {
    /// The process-wide recorder (installed once; every app in the process shares it).
    pub fn install() -> Self {
        let handle = HANDLE.get_or_init(|| {
            PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Suffix("seconds".into()),
                    &[
                        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                        10.0, 60.0,
                    ],
                )
                .expect("valid buckets")
                .install_recorder()
                .expect("no other metrics recorder is installed")
        });
        Self {
            handle: handle.clone(),
        }
    }

    pub fn render(&self) -> String {
        self.handle.render()
    }
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
