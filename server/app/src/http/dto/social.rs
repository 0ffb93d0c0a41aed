//! Ratings, comments and favourites.

use caravan_domain::records::{CommentRecord, RatingRecord, SocialSummary};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRating {
    /// 1 to 5.
    pub stars: i64,
    /// Optional text, up to 5,000 characters.
    #[serde(default)]
    pub review: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Rating {
    pub user: String,
    pub stars: i32,
    pub review: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<RatingRecord> for Rating {
    fn from(r: RatingRecord) -> Self {
        Rating {
            user: r.username,
            stars: r.stars,
            review: r.review,
            created_at: r.created_at.0,
            updated_at: r.updated_at.0,
        }
    }
}

/// Counts shown with a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SocialCounts {
    pub ratings: i64,
    /// Average stars, `null` before the first rating.
    pub average: Option<f64>,
    pub favourites: i64,
    pub views: i64,
    pub comments: i64,
    /// Whether the caller marked it a favourite.
    pub favourite: bool,
}

impl From<SocialSummary> for SocialCounts {
    fn from(s: SocialSummary) -> Self {
        SocialCounts {
            average: s.average(),
            ratings: s.ratings,
            favourites: s.favourites,
            views: s.views,
            comments: s.comments,
            favourite: s.favourite,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Ratings {
    pub summary: SocialCounts,
    /// Newest first.
    pub items: Vec<Rating>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewComment {
    /// 1 to 5,000 characters (plain text; shown escaped).
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Comment {
    pub id: Uuid,
    pub user: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

impl From<CommentRecord> for Comment {
    fn from(c: CommentRecord) -> Self {
        Comment {
            id: c.id,
            user: c.username,
            body: c.body,
            created_at: c.created_at.0,
        }
    }
}
