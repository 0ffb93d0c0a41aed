//! The catalog conformance suite: every `Catalog` method, run against SQLite and PostgreSQL.
//! Each check is written once, against `&dyn Catalog`, and instantiated for both backends.

mod blobs;
mod datasets;
mod events;
mod federation;
mod feed_order;
mod models;
mod pipelines;
mod runs;
mod search;
mod social;
mod support;
mod triggers;
mod uploads;
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
    users::login_attempts_are_capped_per_key_across_concurrent_callers,
    models::publishing_creates_the_model_and_numbers_its_versions,
    models::renaming_keeps_the_id_versions_and_aliases_and_refuses_a_taken_name,
    models::identical_bytes_return_the_existing_version,
    models::publishing_to_another_users_model_is_forbidden,
    models::concurrent_pushes_of_different_bytes_all_get_versions,
    models::concurrent_identical_pushes_yield_one_version,
    models::update_changes_only_the_given_fields,
    models::deleting_a_model_removes_versions_aliases_and_returns_blobs,
    models::aliases_point_move_and_protect_their_version,
    models::version_numbers_are_never_reused,
    models::downloads_are_counted,
    models::a_model_created_without_a_version_is_found_and_takes_a_first_push,
    models::properties_of_models_and_versions_are_set_replaced_deleted_and_go_with_a_version,
    search::search_finds_words_in_name_description_card_and_tags,
    search::search_filters_by_tag_and_visibility_and_respects_the_viewer,
    search::pages_follow_cursors_without_gaps_or_repeats,
    search::a_renamed_model_is_found_by_its_new_name_only,
    search::sorting_by_name_downloads_and_updated,
    search::a_foreign_cursor_is_refused,
    blobs::reserved_and_referenced_blobs_cannot_be_claimed,
    blobs::a_claimed_blob_refuses_reservations_until_forgotten,
    blobs::stale_reservations_do_not_protect_a_blob,
    blobs::a_claim_given_up_after_a_failed_delete_lets_writes_reserve_again,
    federation::peers_are_found_by_their_certificate_and_can_be_disabled,
    federation::peers_see_public_and_shared_local_models_only,
    federation::the_change_feed_reports_updates_and_withdrawals_to_peers_that_saw_them,
    federation::subscriptions_are_claimed_once_and_record_their_outcome,
    federation::imports_record_provenance_and_withdrawal,
    social::ratings_are_one_per_user_and_replace_the_previous_one,
    social::a_removed_rating_is_not_found_the_second_time,
    social::ratings_outside_one_to_five_stars_or_of_unknown_models_are_refused,
    social::comments_read_oldest_first_and_are_deleted_once,
    social::favourites_are_idempotent_and_the_summary_shows_the_viewers_own,
    social::views_are_counted_per_model_and_are_not_updates,
    social::deleting_a_model_removes_its_ratings_comments_and_favourites,
    datasets::dataset_versions_are_numbered_and_the_first_creates_the_dataset,
    datasets::identical_bytes_return_the_existing_dataset_version,
    datasets::a_dataset_version_needs_its_blob_a_known_format_and_a_real_owner,
    datasets::blobs_of_dataset_versions_are_neither_orphans_nor_claimable,
    datasets::concurrent_versions_of_a_dataset_all_get_numbers,
    datasets::concurrent_first_uploads_create_the_dataset_once,
    pipelines::pipelines_are_created_found_listed_and_replaced,
    pipelines::a_taken_pipeline_name_or_an_unknown_owner_is_refused,
    pipelines::deleting_a_pipeline_removes_its_runs_reports_schedule_and_deliveries,
    pipelines::lineage_is_kept_once_per_version_and_goes_with_it,
    runs::runs_are_numbered_per_pipeline_and_listed_newest_first,
    runs::runs_are_claimed_oldest_first_once_until_their_lease_expires,
    runs::saving_progress_extends_the_lease_until_the_run_is_cancelled,
    runs::ending_a_run_records_its_outcome_or_queues_a_retry,
    runs::cancelling_stops_a_queued_run_at_once_and_leaves_finished_ones,
    runs::concurrent_claims_hand_out_each_run_once,
    runs::a_global_limit_caps_live_leases_and_a_taken_over_run_fences_out_its_old_worker,
    runs::concurrent_claims_under_a_global_limit_never_exceed_it,
    runs::concurrent_enqueues_number_a_pipelines_runs_one_after_the_other,
    triggers::schedules_fire_in_time_order_and_only_when_due,
    triggers::firing_a_schedule_moves_it_once_and_queues_one_run,
    triggers::webhook_secrets_are_replaced_in_order_and_logged,
    triggers::replayed_webhook_deliveries_are_refused_until_pruned,
    triggers::a_run_keeps_its_first_external_report,
    events::hooks_are_created_listed_and_deleted_once,
    events::events_are_queued_for_every_hook_that_wants_their_type,
    events::deliveries_are_leased_retried_and_given_up,
    events::concurrent_outbox_claims_hand_out_each_delivery_once,
    events::deleting_a_hook_drops_its_pending_deliveries,
    uploads::upload_parts_are_recorded_replaced_and_listed_in_order,
    uploads::one_completion_at_a_time_and_no_parts_while_it_runs,
    uploads::an_upload_marked_for_deletion_takes_no_part_completion_or_second_deletion,
    uploads::expired_uploads_are_listed_unless_being_completed_and_deleted_with_their_parts,
);
