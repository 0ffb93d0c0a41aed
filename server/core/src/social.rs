//! Ratings, comments, favourites and view counts: anyone who can see a model can rate it,
//! comment on it and mark it a favourite; only signed-in users, never anonymous visitors.

use caravan_domain::Subject;
use caravan_domain::records::{CommentRecord, RatingRecord, SocialSummary};
use caravan_domain::{ModelName, Principal, Scope};
use uuid::Uuid;

use crate::{
    Core, CoreError, Result,
    auth::{actor, require},
};

/// Longest review or comment, in characters.
pub const MAX_TEXT_CHARS: usize = 5000;
/// Most ratings or comments returned with a model.
const LIST_LIMIT: i64 = 200;

/// Ratings of a model with their summary.
#[derive(Debug, Clone)]
pub struct Ratings {
    pub summary: SocialSummary,
    pub items: Vec<RatingRecord>,
}

fn check_stars(stars: i64) -> Result<i32> {
    match i32::try_from(stars) {
        Ok(s @ 1..=5) => Ok(s),
        _ => Err(CoreError::Invalid(format!(
            "a rating is 1 to 5 stars, not {stars}"
        ))),
    }
}

fn check_text(what: &str, text: &str, required: bool) -> Result<String> {
    let text = text.trim();
    if required && text.is_empty() {
        return Err(CoreError::Invalid(format!("the {what} is empty")));
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(CoreError::Invalid(format!(
            "the {what} is longer than {MAX_TEXT_CHARS} characters"
        )));
    }
    Ok(text.to_owned())
}

impl Core {
    #[tracing::instrument(skip_all)]
    pub async fn rate_model(
        &self,
        who: &Principal,
        name: &ModelName,
        stars: i64,
        review: &str,
    ) -> Result<RatingRecord> {
        require(who, Scope::Read)?;
        let stars = check_stars(stars)?;
        let review = check_text("review", review, false)?;
        let model = self.visible_model(Some(who), name).await?;
        Ok(self
            .catalog
            .rate_model(model.id, who.user_id, stars, &review, &actor(who))
            .await?)
    }

    #[tracing::instrument(skip_all)]
    pub async fn delete_rating(&self, who: &Principal, name: &ModelName) -> Result<()> {
        require(who, Scope::Read)?;
        let model = self.visible_model(Some(who), name).await?;
        self.catalog
            .delete_rating(model.id, who.user_id, &actor(who))
            .await
            .map_err(|e| match e {
                caravan_catalog::CatalogError::NotFound(_) => {
                    CoreError::not_found(Subject::Rating, format!("you have not rated {name}"))
                }
                other => other.into(),
            })
    }

    #[tracing::instrument(skip_all)]
    pub async fn ratings(&self, who: Option<&Principal>, name: &ModelName) -> Result<Ratings> {
        let model = self.visible_model(who, name).await?;
        let summary = self
            .catalog
            .social_summary(model.id, who.map(|p| p.user_id))
            .await?;
        let items = self.catalog.ratings(model.id, LIST_LIMIT).await?;
        Ok(Ratings { summary, items })
    }

    #[tracing::instrument(skip_all)]
    pub async fn add_comment(
        &self,
        who: &Principal,
        name: &ModelName,
        body: &str,
    ) -> Result<CommentRecord> {
        require(who, Scope::Read)?;
        let body = check_text("comment", body, true)?;
        let model = self.visible_model(Some(who), name).await?;
        Ok(self
            .catalog
            .add_comment(model.id, who.user_id, &body, &actor(who))
            .await?)
    }

    #[tracing::instrument(skip_all)]
    pub async fn comments(
        &self,
        who: Option<&Principal>,
        name: &ModelName,
    ) -> Result<Vec<CommentRecord>> {
        let model = self.visible_model(who, name).await?;
        Ok(self.catalog.comments(model.id, LIST_LIMIT).await?)
    }

    /// Deletes a comment: its author, the model's owner or an admin may.
    #[tracing::instrument(skip_all)]
    pub async fn delete_comment(&self, who: &Principal, name: &ModelName, id: Uuid) -> Result<()> {
        require(who, Scope::Read)?;
        let model = self.visible_model(Some(who), name).await?;
        let comment = match self.catalog.comment(id).await? {
            Some(c) if c.model_id == model.id => c,
            _ => {
                return Err(CoreError::not_found(
                    Subject::Comment,
                    format!("no comment {id} on {name}"),
                ));
            }
        };
        if comment.user_id != who.user_id && !who.can_manage(model.owner_id) {
            return Err(CoreError::Forbidden(
                "only the comment's author, the model's owner or an admin can delete it".into(),
            ));
        }
        Ok(self.catalog.delete_comment(id, &actor(who)).await?)
    }

    /// Marks or unmarks a favourite and returns the model's counts after it.
    #[tracing::instrument(skip_all)]
    pub async fn set_favourite(
        &self,
        who: &Principal,
        name: &ModelName,
        favourite: bool,
    ) -> Result<SocialSummary> {
        require(who, Scope::Read)?;
        let model = self.visible_model(Some(who), name).await?;
        self.catalog
            .set_favourite(model.id, who.user_id, favourite)
            .await?;
        Ok(self
            .catalog
            .social_summary(model.id, Some(who.user_id))
            .await?)
    }

    /// Counts one view of a model's page.
    #[tracing::instrument(skip_all)]
    pub async fn record_view(&self, model_id: Uuid) -> Result<()> {
        Ok(self.catalog.record_view(model_id).await?)
    }

    #[tracing::instrument(skip_all)]
    pub async fn social_summary(
        &self,
        who: Option<&Principal>,
        model_id: Uuid,
    ) -> Result<SocialSummary> {
        Ok(self
            .catalog
            .social_summary(model_id, who.map(|p| p.user_id))
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratings_outside_one_to_five_are_refused() {
        for bad in [0, 6, -1, i64::MAX] {
            assert!(
                matches!(check_stars(bad), Err(CoreError::Invalid(_))),
                "{bad}"
            );
        }
        assert_eq!(check_stars(5).unwrap(), 5);
    }

    #[test]
    fn comments_must_have_text_and_stay_under_the_limit() {
        assert!(check_text("comment", "  \n ", true).is_err());
        assert!(check_text("comment", &"x".repeat(MAX_TEXT_CHARS + 1), true).is_err());
        assert_eq!(check_text("review", "  fine ", false).unwrap(), "fine");
    }
}
