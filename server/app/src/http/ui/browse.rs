//! The catalog page: search, filters, sort and cursor pagination, all in the query string so
//! it works without JavaScript.

use actix_web::{HttpResponse, web};
use caravan_core::{Core, SearchParams};
use caravan_domain::Visibility;
use caravan_domain::records::ModelSort;
use minijinja::context;
use serde::Deserialize;

use super::{
    UiError,
    render::{page, page_with_status},
    session::Visitor,
};
use crate::http::dto;

/// Models per page.
const PAGE_SIZE: u32 = 24;

#[derive(Deserialize, Default)]
pub struct BrowseQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    tag: String,
    #[serde(default)]
    visibility: String,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    cursor: String,
}

impl BrowseQuery {
    fn url(&self, cursor: Option<&str>) -> String {
        let mut params = vec![
            ("q", self.q.as_str()),
            ("tag", self.tag.as_str()),
            ("visibility", self.visibility.as_str()),
            ("sort", self.sort.as_str()),
        ];
        if let Some(c) = cursor {
            params.push(("cursor", c));
        }
        let query: Vec<String> = params
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{k}={}", super::encode(v)))
            .collect();
        format!("/?{}", query.join("&"))
    }
}

pub async fn browse(
    core: web::Data<Core>,
    visitor: Visitor,
    query: web::Query<BrowseQuery>,
) -> Result<HttpResponse, UiError> {
    let query = query.into_inner();
    let sort = match query.sort.as_str() {
        "updated" => ModelSort::Updated,
        "name" => ModelSort::Name,
        "downloads" => ModelSort::Downloads,
        _ => ModelSort::Relevance,
    };
    let visibility = query.visibility.parse::<Visibility>().ok();
    let params = SearchParams {
        q: Some(query.q.clone()),
        tag: Some(query.tag.trim().to_owned()).filter(|t| !t.is_empty()),
        visibility,
        sort,
        descending: None,
        limit: Some(PAGE_SIZE),
        cursor: Some(query.cursor.clone()).filter(|c| !c.is_empty()),
    };
    let (status, found) = match core.search(visitor.who.as_ref(), params).await {
        Ok(found) => (actix_web::http::StatusCode::OK, Some(found)),
        // A stale or hand-edited cursor: show the filters again rather than an error page.
        Err(caravan_core::CoreError::Invalid(_)) => {
            (actix_web::http::StatusCode::BAD_REQUEST, None)
        }
        Err(e) => return Err(e.into()),
    };
    let (models, next) = match found {
        Some(page) => (
            page.items
                .into_iter()
                .map(dto::Model::from)
                .collect::<Vec<_>>(),
            page.next_cursor,
        ),
        None => (Vec::new(), None),
    };
    let next_url = next.as_deref().map(|c| query.url(Some(c)));
    let first_url = query.url(None);
    let ctx = context! {
        models => models,
        q => query.q,
        tag => query.tag,
        visibility => query.visibility,
        sort => query.sort,
        cursor => query.cursor,
        next_url => next_url,
        first_url => first_url,
    };
    if status.is_success() {
        page(&visitor, "browse.html", ctx)
    } else {
        page_with_status(status, &visitor, "browse.html", ctx)
    }
}
