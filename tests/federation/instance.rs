//! Caravan instances with a federation listener, and the admin calls that pair and sync them.

use std::time::{Duration, Instant};

use caravan_federation::PeerIdentity;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::pki::{Leaf, Pki};
use crate::support::{Backend, TestApp, spawn_app_with};

pub struct Instance {
    pub app: TestApp,
    pub name: String,
    pub leaf: Leaf,
    /// The federation listener, https://127.0.0.1:PORT.
    pub url: String,
}

/// Largest JSON answer instances accept from peers in these tests.
pub const MAX_JSON_BYTES: usize = 256 * 1024;

/// A Caravan instance named `name` whose certificate `pki` issues and whose listener trusts
/// `pki`'s CA and honours its CRL.
pub async fn spawn(backend: Backend, pki: &Pki, name: &str) -> Instance {
    let leaf = pki.issue(name);
    let files = pki.files(&leaf);
    let app = spawn_app_with(backend, |s| {
        let f = &mut s.federation;
        f.bind = "127.0.0.1:0".into();
        f.name = name.into();
        f.poll_secs = 1;
        f.timeout_secs = 2;
        f.max_json_bytes = MAX_JSON_BYTES;
        f.tls.cert = files.cert.display().to_string();
        f.tls.key = files.key.display().to_string();
        f.tls.ca = files.ca.iter().map(|p| p.display().to_string()).collect();
        f.tls.crl = files.crl.iter().map(|p| p.display().to_string()).collect();
        f.tls.reload_secs = 1;
    })
    .await;
    let url = format!(
        "https://127.0.0.1:{}",
        app.federation_port.expect("listener")
    );
    Instance {
        app,
        name: name.into(),
        leaf,
        url,
    }
}

impl Instance {
    /// `GET /api/v1/federation/identity`.
    pub async fn identity(&self) -> Value {
        let (status, body) = self
            .app
            .get_json(Some(&self.app.admin_token), "/api/v1/federation/identity")
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    /// Registers a peer by what it published about itself.
    pub async fn add_peer(&self, name: &str, url: &str, identity: &PeerIdentity, key: &str) {
        let response = self
            .app
            .post_json(
                &self.app.admin_token,
                "/api/v1/peers",
                json!({
                    "name": name, "api_url": url, "subject": identity.subject,
                    "fingerprint": identity.fingerprint, "signing_key": key,
                }),
            )
            .await;
        let status = response.status();
        assert_eq!(
            status,
            StatusCode::CREATED,
            "{}",
            response.text().await.unwrap()
        );
    }

    /// Registers `other` as a peer, from its identity endpoint.
    pub async fn trust(&self, other: &Instance) {
        let identity = other.identity().await;
        assert_eq!(
            identity["fingerprint"],
            other.leaf.identity.fingerprint.as_str()
        );
        assert_eq!(identity["api_url"], other.url.as_str());
        let key = identity["signing_key"].as_str().unwrap();
        self.add_peer(&other.name, &other.url, &other.leaf.identity, key)
            .await;
    }

    /// `PATCH /api/v1/peers/{name}` to `status`.
    pub async fn set_peer_status(&self, name: &str, status: &str) {
        let response = self
            .app
            .send_json(
                reqwest::Method::PATCH,
                &self.app.admin_token,
                &format!("/api/v1/peers/{name}"),
                json!({ "status": status }),
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
    }

    /// Subscribes to `peer`'s `catalog`; returns the new subscription.
    pub async fn subscribe(&self, peer: &str, catalog: &str) -> Value {
        let response = self
            .app
            .post_json(
                &self.app.admin_token,
                "/api/v1/subscriptions",
                json!({
                    "peer": peer, "catalog_id": catalog, "interval_secs": 3600,
                    "visibility": "organization",
                }),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        response.json().await.unwrap()
    }

    pub async fn subscription(&self, id: &str) -> Value {
        let (status, page) = self
            .app
            .get_json(Some(&self.app.admin_token), "/api/v1/subscriptions")
            .await;
        assert_eq!(status, StatusCode::OK);
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == id)
            .cloned()
            .expect("the subscription is listed")
    }

    /// Waits until the worker has finished a pass of the subscription after `before`.
    pub async fn pass_after(&self, before: &Value) -> Value {
        let id = before["id"].as_str().unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let now = self.subscription(id).await;
            let changed = ["last_success_at", "last_error_at", "failures"]
                .iter()
                .any(|field| now[field] != before[field]);
            if changed {
                return now;
            }
            assert!(Instant::now() < deadline, "no sync pass came: {now}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Asks for a sync at once and waits for that pass.
    pub async fn sync(&self, subscription: &Value) -> Value {
        let id = subscription["id"].as_str().unwrap();
        let before = self.subscription(id).await;
        let response = self
            .app
            .post_json(
                &self.app.admin_token,
                &format!("/api/v1/subscriptions/{id}/sync"),
                json!({}),
            )
            .await;
        assert!(response.status().is_success(), "{}", response.status());
        self.pass_after(&before).await
    }

    /// The names of the models the admin sees, sorted.
    pub async fn model_names(&self) -> Vec<String> {
        let (status, page) = self
            .app
            .get_json(Some(&self.app.admin_token), "/api/v1/models?limit=100")
            .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let mut names: Vec<String> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["name"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        names
    }
}
