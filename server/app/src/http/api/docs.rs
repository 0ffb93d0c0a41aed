//! `GET /api/docs`: the OpenAPI document in Swagger UI, whose files are in the repository
//! (`web/vendor/swagger-ui`, from `scripts/vendor-swagger-ui.sh`) and compiled in: the page
//! loads nothing from anywhere else, under the same script and style policy as the UI's pages.

use actix_web::{HttpResponse, http::header, web};

// The UI pages' policy: scripts and styles from this server only (Swagger UI draws its icons
// as data: images, which it allows).
use crate::http::ui::render::CSP;

const PAGE: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../web/static/api-docs.html"
));
const INIT: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../web/static/api-docs.js"
));
const BUNDLE: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../web/vendor/swagger-ui/swagger-ui-bundle.js"
));
const CSS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../web/vendor/swagger-ui/swagger-ui.css"
));

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/docs", web::get().to(page))
        .route("/api/docs/{file}", web::get().to(file));
}

async fn page() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .content_type("text/html; charset=utf-8")
        .body(PAGE)
}

async fn file(name: web::Path<String>) -> HttpResponse {
    let (body, content_type) = match name.as_str() {
        "swagger-ui-bundle.js" => (BUNDLE, "text/javascript; charset=utf-8"),
        "api-docs.js" => (INIT, "text/javascript; charset=utf-8"),
        "swagger-ui.css" => (CSS, "text/css; charset=utf-8"),
        _ => {
            return HttpResponse::NotFound()
                .json(serde_json::json!({"error": "no such file", "code": "not_found"}));
        }
    };
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .content_type(content_type)
        .body(body)
}
