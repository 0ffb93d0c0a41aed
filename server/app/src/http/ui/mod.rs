//! The web UI: server-rendered pages (web/templates) with small progressive-enhancement
//! scripts (web/static). Handlers call the same `caravan_core` use cases as the REST API.

mod account;
mod admin;
mod browse;
mod manage;
mod model;
mod pipelines;
pub(crate) mod render;
pub mod session;
mod snippets;

use actix_web::{HttpResponse, http::header, web};

pub use render::UiError;
pub use session::UiConfig;

/// Registers the pages and their static files.
/// The pages, under one scope at the root (configured last, so it answers only what no other
/// surface did), with HTML errors for forms, queries and paths; what no page matches is the
/// JSON 404 every other unknown path gets.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("")
            .app_data(form_config())
            .app_data(query_config())
            .app_data(path_config())
            .configure(pages)
            .default_service(web::to(crate::http::error::no_route)),
    );
}

fn pages(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(browse::browse))
        .route("/static/{file}", web::get().to(static_file))
        .route("/login", web::get().to(account::login_page))
        .route("/login", web::post().to(account::login))
        .route("/logout", web::post().to(account::logout))
        .route("/upload", web::get().to(account::upload_page))
        .route("/account/tokens", web::get().to(account::tokens_page))
        .route("/account/tokens", web::post().to(account::create_token))
        .route(
            "/account/tokens/{id}/revoke",
            web::post().to(account::revoke_token),
        )
        .configure(model::routes)
        .configure(manage::routes)
        .configure(admin::routes)
        .configure(pipelines::routes);
}

/// Form bodies that do not parse get the HTML error page, not the API's JSON.
pub fn form_config() -> web::FormConfig {
    web::FormConfig::default()
        .limit(1 << 20)
        .error_handler(|e, _| {
            UiError::BadRequest(format!("The form could not be read: {e}")).into()
        })
}

/// Query strings that do not parse get the HTML error page.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|e, _| {
        UiError::BadRequest(format!("The address could not be read: {e}")).into()
    })
}

/// Path segments that do not parse get the HTML error page.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|e, _| {
        UiError::BadRequest(format!("The address could not be read: {e}")).into()
    })
}

/// The form fields of a posted form, in order (a name may repeat, as checkboxes do).
#[derive(serde::Deserialize)]
#[serde(transparent)]
pub struct Fields(Vec<(String, String)>);

impl Fields {
    /// The first value of `name`, or "".
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// Every value of `name`.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

/// Characters kept as they are in a URL path segment or query value.
const URL_SAFE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encodes a path segment or query value.
pub fn encode(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, URL_SAFE).to_string()
}

/// Splits "a, b ,c" into tags.
fn split_list(raw: &str) -> Vec<String> {
    raw.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

const CSS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../web/static/caravan.css"
));
const JS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../web/static/caravan.js"
));

async fn static_file(file: web::Path<String>) -> HttpResponse {
    let (body, content_type) = match file.as_str() {
        "caravan.css" => (CSS, "text/css; charset=utf-8"),
        "caravan.js" => (JS, "text/javascript; charset=utf-8"),
        _ => return HttpResponse::NotFound().finish(),
    };
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .content_type(content_type)
        .body(body)
}
