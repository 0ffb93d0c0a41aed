//! Templates (compiled into the binary from web/templates, HTML auto-escaped), Markdown cards
//! (rendered, then sanitized), security headers, and the HTML error page.

use std::sync::OnceLock;

use actix_web::{
    HttpResponse, ResponseError,
    http::{StatusCode, header},
};
use caravan_core::CoreError;
use minijinja::{Environment, Value, context};

use super::session::Visitor;

macro_rules! templates {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../web/templates/", $name)))),*]
    };
}

const TEMPLATES: &[(&str, &str)] = templates!(
    "base.html",
    "macros.html",
    "browse.html",
    "model.html",
    "model_social.html",
    "try.html",
    "login.html",
    "upload.html",
    "edit.html",
    "confirm.html",
    "tokens.html",
    "admin_users.html",
    "admin_peers.html",
    "admin_subscriptions.html",
    "audit.html",
    "pipelines.html",
    "pipeline.html",
    "error.html",
);

/// No inline script or style anywhere, so the policy can forbid both.
pub(crate) const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";

fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .unwrap_or_else(|e| panic!("template {name}: {e}"));
        }
        env.add_filter("bytes", human_bytes);
        env.add_filter("when", when);
        env.add_filter("urlpart", urlpart);
        env
    })
}

fn human_bytes(n: i64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// An RFC 3339 time as `2026-11-28 20:46 UTC`.
fn when(value: String) -> String {
    match chrono::DateTime::parse_from_rfc3339(&value) {
        Ok(t) => t.format("%Y-%m-%d %H:%M UTC").to_string(),
        Err(_) => value,
    }
}

/// Percent-encodes a value for a URL query or path segment.
fn urlpart(value: String) -> String {
    super::encode(&value)
}

/// Renders a model card: CommonMark (tables, strikethrough) to HTML, then sanitized by
/// ammonia, which drops scripts, event handlers, `javascript:` links and styles.
pub fn markdown(card: &str) -> Value {
    use pulldown_cmark::{Options, Parser, html};
    let parser = Parser::new_ext(card, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH);
    let mut unsafe_html = String::new();
    html::push_html(&mut unsafe_html, parser);
    Value::from_safe_string(ammonia::clean(&unsafe_html))
}

/// An error with its causes (an include's error is only in the chain).
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

fn with_security_headers(builder: &mut actix_web::HttpResponseBuilder) {
    builder
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "same-origin"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((header::CACHE_CONTROL, "no-store"));
}

/// Renders `template` for `visitor` with status 200.
pub fn page(visitor: &Visitor, template: &str, ctx: Value) -> Result<HttpResponse, UiError> {
    page_with_status(StatusCode::OK, visitor, template, ctx)
}

/// Renders `template` with the visitor's name and form token in the context.
pub fn page_with_status(
    status: StatusCode,
    visitor: &Visitor,
    template: &str,
    ctx: Value,
) -> Result<HttpResponse, UiError> {
    let me = visitor.who.as_ref().map(|p| {
        context! { username => p.username.clone(), admin => p.is_admin() }
    });
    let full = context! { me => me, csrf => visitor.csrf.clone(), ..ctx };
    let html = environment()
        .get_template(template)
        .and_then(|t| t.render(full))
        .map_err(|e| UiError::Internal(format!("rendering {template}: {}", chain(&e))))?;
    let mut builder = HttpResponse::build(status);
    with_security_headers(&mut builder);
    for cookie in visitor.cookies() {
        builder.cookie(cookie);
    }
    Ok(builder.content_type("text/html; charset=utf-8").body(html))
}

/// A 303 to `location` (after a form post), with the visitor's cookies.
pub fn redirect(visitor: &Visitor, location: &str) -> HttpResponse {
    let mut builder = HttpResponse::SeeOther();
    with_security_headers(&mut builder);
    for cookie in visitor.cookies() {
        builder.cookie(cookie);
    }
    builder
        .insert_header((header::LOCATION, location.to_owned()))
        .finish()
}

/// Why a page could not be shown; rendered as an HTML page.
#[derive(Debug, thiserror::Error)]
pub enum UiError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("sign in to continue")]
    Login(String),
    #[error("This form has expired or came from another site. Reload the page and try again.")]
    Csrf,
    #[error("{0}")]
    TooMany(String),
    #[error("something went wrong on our side")]
    Internal(String),
}

impl From<CoreError> for UiError {
    /// Renders from the one table of kinds: the page shows the public message, and an
    /// internal error's causes are logged here, never shown.
    fn from(e: CoreError) -> Self {
        e.log();
        let message = e.public_message();
        match e.class().status {
            401 => UiError::Login("/".into()),
            403 => UiError::Forbidden(message),
            404 => UiError::NotFound(message),
            429 | 503 => UiError::TooMany(message),
            500.. => UiError::Internal(message),
            _ => UiError::BadRequest(message),
        }
    }
}

impl ResponseError for UiError {
    fn status_code(&self) -> StatusCode {
        match self {
            UiError::NotFound(_) => StatusCode::NOT_FOUND,
            UiError::Forbidden(_) | UiError::Csrf => StatusCode::FORBIDDEN,
            UiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            UiError::Login(_) => StatusCode::SEE_OTHER,
            UiError::TooMany(_) => StatusCode::TOO_MANY_REQUESTS,
            UiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut builder = HttpResponse::build(self.status_code());
        with_security_headers(&mut builder);
        if let UiError::Login(next) = self {
            let location = format!("/login?next={}", urlpart(next.clone()));
            return builder.insert_header((header::LOCATION, location)).finish();
        }
        if let UiError::Internal(cause) = self {
            tracing::error!(%cause, "page failed");
        }
        let ctx = context! { status => self.status_code().as_u16(), message => self.to_string() };
        let html = environment()
            .get_template("error.html")
            .and_then(|t| t.render(ctx))
            .unwrap_or_else(|_| "error".into());
        builder.content_type("text/html; charset=utf-8").body(html)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses() {
        for (name, _) in TEMPLATES {
            environment().get_template(name).unwrap();
        }
    }

    #[test]
    fn cards_lose_scripts_handlers_and_javascript_links() {
        let html = markdown(
            "# Title\n\n<script>alert(1)</script>\n\n<img src=x onerror=alert(2)>\n\n[x](javascript:alert(3)) [ok](https://example.org)",
        )
        .to_string();
        assert!(html.contains("<h1>Title</h1>"), "{html}");
        assert!(html.contains(r#"href="https://example.org""#), "{html}");
        for bad in ["<script", "onerror", "href=\"javascript"] {
            assert!(!html.contains(bad), "{bad} survived: {html}");
        }
    }

    #[test]
    fn sizes_read_as_humans_write_them() {
        assert_eq!(human_bytes(15488), "15.1 KiB");
        assert_eq!(human_bytes(12), "12 B");
    }
}
