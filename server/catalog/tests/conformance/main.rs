//! The catalog conformance suite: every `Catalog` method, run against SQLite and PostgreSQL.
//! Each check is written once, against `&dyn Catalog`, and instantiated for both backends.

mod blobs;
mod federation;
mod models;
mod search;
mod support;
mod users;

use support::Harness;

/// Declares `sqlite::<check>` and `postgres::<check>` tests for each check function.
macro_rules! on_both_backends {
    ($($module:ident :: $check:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    let h = super::Harness::sqlite().await;
                    super::$module::$check(&h).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    let h = super::Harness::postgres().await;
                    super::$module::$check(&h).await;
                }
            )*
        }
    };
}

on_both_backends!(
    users::users_are_created_found_listed_disabled_and_given_new_passwords,
    users::duplicate_usernames_are_a_conflict,
    users::tokens_are_found_by_secret_listed_touched_and_revoked,
    users::the_audit_log_records_writes_newest_first_and_refuses_changes,
    users::instance_settings_keep_their_first_value,
    users::a_removed_setting_answers_its_value_once,
    models::publishing_creates_the_model_and_numbers_its_versions,
    models::identical_bytes_return_the_existing_version,
    models::publishing_to_another_users_model_is_forbidden,
    models::concurrent_pushes_of_different_bytes_all_get_versions,
    models::concurrent_identical_pushes_yield_one_version,
    models::update_changes_only_the_given_fields,
    models::deleting_a_model_removes_versions_aliases_and_returns_blobs,
    models::aliases_point_move_and_protect_their_version,
    models::version_numbers_are_never_reused,
    models::downloads_are_counted,
    search::search_finds_words_in_name_description_card_and_tags,
    search::search_filters_by_tag_and_visibility_and_respects_the_viewer,
    search::pages_follow_cursors_without_gaps_or_repeats,
    search::sorting_by_name_downloads_and_updated,
    search::a_foreign_cursor_is_refused,
    blobs::reserved_and_referenced_blobs_cannot_be_claimed,
    blobs::a_claimed_blob_refuses_reservations_until_forgotten,
    blobs::stale_reservations_do_not_protect_a_blob,
    federation::peers_are_found_by_their_certificate_and_can_be_disabled,
    federation::peers_see_public_and_shared_local_models_only,
    federation::the_change_feed_reports_updates_and_withdrawals_to_peers_that_saw_them,
    federation::subscriptions_are_claimed_once_and_record_their_outcome,
    federation::imports_record_provenance_and_withdrawal,
);
