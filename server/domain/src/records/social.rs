//! Ratings, comments and favourites of models.

use uuid::Uuid;

use super::Timestamp;

/// One user's rating of a model (1-5 stars) with an optional review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RatingRecord {
    pub model_id: Uuid,
    pub user_id: Uuid,
    pub username: String,
    pub stars: i32,
    pub review: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A comment on a model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentRecord {
    pub id: Uuid,
    pub model_id: Uuid,
    pub user_id: Uuid,
    pub username: String,
    pub body: String,
    pub created_at: Timestamp,
}

/// Counts shown with a model, and what the viewer did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SocialSummary {
    pub ratings: i64,
    /// Sum of all stars (the average is `stars_total / ratings`).
    pub stars_total: i64,
    pub favourites: i64,
    pub views: i64,
    pub comments: i64,
    /// Whether the viewer marked the model a favourite (false for anonymous viewers).
    pub favourite: bool,
}

impl SocialSummary {
    /// The average rating, if anyone rated.
    pub fn average(&self) -> Option<f64> {
        (self.ratings > 0).then(|| self.stars_total as f64 / self.ratings as f64)
    }
}
