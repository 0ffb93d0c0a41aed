//! A hostile peer: a real mutual-TLS E5 listener whose models each misbehave in one chosen
//! way (tampered bytes, a forged manifest, oversized or malformed JSON, hanging), so the
//! importer's defences are tested against the wire, not against mocks of our own code.

use std::{
    net::TcpListener,
    sync::{Arc, Mutex},
};

use actix_web::{App, HttpResponse, HttpServer, web};
use caravan_federation::{
    InstanceKey,
    manifest::{Manifest, ManifestArtifact, SCHEMA},
    tls::{self, ReloadingVerifier},
    wire::{Artifact, Changes, Envelope, MODEL_ARTIFACT, Revision, Solution},
};
use chrono::Utc;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::pki::{Leaf, Pki};

/// How a model of the fake peer misbehaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attack {
    /// None: an honest model.
    Honest,
    /// The content is not what the signed manifest says (one weight changed).
    TamperedBytes,
    /// The manifest is signed with a key other than the one pinned for the peer.
    ForgedSignature,
    /// The solution's JSON is larger than the importer accepts.
    OversizedJson,
    /// The solution's JSON is cut off.
    MalformedJson,
    /// The revision request never gets an answer.
    Hang,
}

pub struct FakeModel {
    pub name: String,
    pub solution_id: Uuid,
    pub revision_id: Uuid,
    pub artifact_id: Uuid,
    pub bytes: Vec<u8>,
    pub attack: Attack,
}

impl FakeModel {
    /// A valid ONNX model (`y = x + w`, `n` weights) named `name`.
    pub fn new(name: &str, n: u64, attack: Attack) -> Self {
        FakeModel {
            name: name.into(),
            solution_id: Uuid::new_v4(),
            revision_id: Uuid::new_v4(),
            artifact_id: Uuid::new_v4(),
            bytes: crate::support::onnx::add_model(n),
            attack,
        }
    }
}

struct State {
    name: String,
    key: InstanceKey,
    forger: InstanceKey,
    models: Mutex<Vec<FakeModel>>,
}

pub struct FakePeer {
    pub url: String,
    pub leaf: Leaf,
    pub signing_key: String,
    state: Arc<State>,
}

impl FakePeer {
    pub fn start(pki: &Pki, name: &str, models: Vec<FakeModel>) -> FakePeer {
        let leaf = pki.issue(name);
        let files = pki.files(&leaf);
        let config =
            tls::server_config(&files, ReloadingVerifier::new(files.clone()).unwrap()).unwrap();
        let key = InstanceKey::generate();
        let signing_key = key.public_key();
        let state = Arc::new(State {
            name: name.into(),
            key,
            forger: InstanceKey::generate(),
            models: Mutex::new(models),
        });
        let data = web::Data::from(state.clone());
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!(
            "https://127.0.0.1:{}",
            listener.local_addr().unwrap().port()
        );
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route("/solutions", web::get().to(changes))
                .route("/solutions/{id}", web::get().to(solution))
                .route("/solutions/{id}/revisions/{rid}", web::get().to(revision))
                .route("/artifacts/{id}/content", web::get().to(content))
        })
        .workers(2)
        .disable_signals()
        .listen_rustls_0_23(listener, config)
        .unwrap()
        .run();
        tokio::spawn(server);
        FakePeer {
            url,
            leaf,
            signing_key,
            state,
        }
    }

    /// Makes the model named `name` behave as `attack` from now on.
    pub fn set_attack(&self, name: &str, attack: Attack) {
        let mut models = self.state.models.lock().unwrap();
        models.iter_mut().find(|m| m.name == name).unwrap().attack = attack;
    }
}

fn solution_of(model: &FakeModel, with_revisions: bool) -> Solution {
    Solution {
        solution_id: model.solution_id,
        name: model.name.clone(),
        description: "from a hostile peer".into(),
        tags: Vec::new(),
        toolkit_type_code: "ON".into(),
        model_type_code: "PR".into(),
        active: true,
        card: None,
        license: None,
        created: Utc::now(),
        modified: Utc::now(),
        revisions: with_revisions.then(|| vec![revision_of(model, None)]),
    }
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn revision_of(model: &FakeModel, state: Option<&State>) -> Revision {
    let artifact = Artifact {
        artifact_id: model.artifact_id,
        artifact_type_code: MODEL_ARTIFACT.into(),
        name: model.name.clone(),
        filename: "model.onnx".into(),
        version: "1".into(),
        size: model.bytes.len() as u64,
        uri: String::new(),
        sha256: Some(sha256(&model.bytes)),
        created: Utc::now(),
        modified: Utc::now(),
    };
    let manifest = state.map(|state| {
        let manifest = Manifest {
            schema: SCHEMA.into(),
            issuer: state.name.clone(),
            solution_id: model.solution_id,
            solution_name: model.name.clone(),
            revision_id: model.revision_id,
            version: "1".into(),
            artifacts: vec![ManifestArtifact {
                artifact_id: model.artifact_id,
                artifact_type_code: MODEL_ARTIFACT.into(),
                sha256: sha256(&model.bytes),
                size: model.bytes.len() as u64,
            }],
            signed_at: Utc::now(),
        };
        match model.attack {
            Attack::ForgedSignature => state.forger.sign(&manifest),
            _ => state.key.sign(&manifest),
        }
    });
    Revision {
        revision_id: model.revision_id,
        solution_id: model.solution_id,
        version: "1".into(),
        description: String::new(),
        created: Utc::now(),
        modified: Utc::now(),
        artifacts: state.map(|_| vec![artifact]),
        manifest,
    }
}

/// Every model, every time: the importer must skip what it already has.
async fn changes(state: web::Data<State>) -> HttpResponse {
    let models = state.models.lock().unwrap();
    HttpResponse::Ok().json(Envelope::ok(Changes {
        solutions: models.iter().map(|m| solution_of(m, false)).collect(),
        withdrawn: Vec::new(),
        cursor: 1,
    }))
}

async fn solution(state: web::Data<State>, id: web::Path<Uuid>) -> HttpResponse {
    let models = state.models.lock().unwrap();
    let Some(model) = models.iter().find(|m| m.solution_id == *id) else {
        return HttpResponse::NotFound().json(Envelope::error("No solution"));
    };
    match model.attack {
        Attack::OversizedJson => {
            let mut solution = solution_of(model, true);
            solution.description = "x".repeat(crate::instance::MAX_JSON_BYTES * 2);
            HttpResponse::Ok().json(Envelope::ok(solution))
        }
        Attack::MalformedJson => {
            let json = serde_json::to_string(&Envelope::ok(solution_of(model, true))).unwrap();
            HttpResponse::Ok()
                .content_type("application/json")
                .body(json[..json.len() / 2].to_owned())
        }
        _ => HttpResponse::Ok().json(Envelope::ok(solution_of(model, true))),
    }
}

async fn revision(state: web::Data<State>, path: web::Path<(Uuid, Uuid)>) -> HttpResponse {
    let (answer, hang) = {
        let models = state.models.lock().unwrap();
        match models.iter().find(|m| m.solution_id == path.0) {
            None => (None, false),
            Some(model) => (
                Some(revision_of(model, Some(&state))),
                model.attack == Attack::Hang,
            ),
        }
    };
    if hang {
        std::future::pending::<()>().await;
    }
    match answer {
        Some(revision) => HttpResponse::Ok().json(Envelope::ok(revision)),
        None => HttpResponse::NotFound().json(Envelope::error("No revision")),
    }
}

async fn content(state: web::Data<State>, id: web::Path<Uuid>) -> HttpResponse {
    let models = state.models.lock().unwrap();
    let Some(model) = models.iter().find(|m| m.artifact_id == *id) else {
        return HttpResponse::NotFound().json(Envelope::error("No artifact"));
    };
    let mut bytes = model.bytes.clone();
    if model.attack == Attack::TamperedBytes {
        // One weight changes (the initializer's raw data is all zeros): still a valid model
        // of the same size, just not the one the manifest vouches for.
        let weight = bytes.iter().rposition(|&b| b == 0).unwrap();
        bytes[weight] = 0x3f;
    }
    HttpResponse::Ok()
        .content_type("application/octet-stream")
        .body(bytes)
}
