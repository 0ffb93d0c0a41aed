//! The REST API suite, run against the real application on SQLite and on PostgreSQL.

mod acumos;
mod acumos_advanced;
mod acumos_client;
mod acumos_ui;
mod auth;
mod catalog;
mod cli_client;
mod crash_leftovers;
mod database_wait;
mod deployment;
mod downloads;
mod draining;
mod leaks;
mod metrics_access;
mod mlflow_client;
mod mlflow_multipart;
mod mlflow_tracking;
mod onboarding;
mod ops;
mod properties;
mod refusals;
mod session_keys;
mod slow_clients;
mod social;
use caravan_tests as support;
use caravan_tests::on_both_backends;
mod ui;
mod ui_client;
mod ui_hostile;
mod uploads;
mod uploads_s3;
mod wire;

on_both_backends!(
    acumos::auth_answers_a_jwt_in_the_body_and_the_header,
    acumos_ui::a_bundle_s_page_says_it_is_not_served_and_links_its_acumos_bundle,
    acumos_client::the_acumos_python_client_pushes_with_a_token_and_with_a_password,
    acumos::a_bundle_is_catalogued_with_its_signature_and_never_served,
    acumos::every_form_of_acumos_authorization_is_read,
    acumos::bad_bundles_are_400_and_leave_nothing,
    acumos_advanced::advanced_model_onboards_onnx_served_natively_with_its_protobuf,
    acumos_advanced::tracking_ids_are_echoed_only_when_plain,
    deployment::every_target_bundles_the_version_baked_in_by_its_sha256,
    deployment::a_following_bundle_names_the_alias_and_bakes_nothing,
    deployment::unknown_targets_missing_aliases_and_hidden_models_are_refused,
    deployment::names_from_the_model_and_the_request_cannot_break_out_of_their_quoting,
    wire::the_wire_types_read_back_exactly_what_the_server_writes,
    leaks::a_constraint_violation_answers_a_generic_conflict_on_the_api_and_the_ui,
    leaks::a_missing_blob_answers_a_generic_server_error_on_the_api_and_v2,
    ui::script_in_descriptions_cards_comments_and_reviews_is_rendered_inert,
    ui::forms_without_or_with_a_wrong_csrf_token_are_refused_and_change_nothing,
    ui::a_non_owner_cannot_edit_or_delete_through_the_pages,
    ui::a_rating_outside_one_to_five_is_refused_by_the_page_and_not_stored,
    ui::session_cookies_are_http_only_and_same_site_and_pages_forbid_inline_scripts,
    ui::the_session_cookie_calls_the_api_only_with_the_page_token,
    ui::anonymous_visitors_see_public_models_only,
    ui::the_deploy_section_downloads_bundles_for_those_who_can_see_the_model,
    social::ratings_are_one_per_user_replaced_and_averaged,
    social::ratings_outside_one_to_five_and_anonymous_ratings_are_refused,
    social::comments_are_kept_verbatim_and_only_author_owner_or_admin_delete_them,
    social::private_models_cannot_be_rated_commented_or_favourited_by_others,
    social::favourites_are_idempotent_and_counted,
    onboarding::a_first_push_creates_the_model_and_answers_201_with_the_signature,
    onboarding::identical_bytes_pushed_again_answer_200_with_the_same_version,
    onboarding::a_new_version_gets_the_next_number_and_updates_metadata,
    onboarding::concurrent_pushes_of_different_bytes_both_get_versions,
    onboarding::only_the_owner_can_push_versions_of_a_model,
    onboarding::an_api_token_with_publish_scope_can_push,
    onboarding::pushes_and_downloads_work_on_s3_storage,
    onboarding::unreachable_storage_makes_the_server_unready,
    refusals::an_empty_file_is_refused_and_nothing_is_stored,
    refusals::a_text_file_named_onnx_is_refused_and_nothing_is_stored,
    refusals::a_truncated_onnx_file_is_refused_and_nothing_is_stored,
    refusals::a_protobuf_the_runtime_refuses_is_refused_and_nothing_is_stored,
    refusals::a_zipmap_output_is_refused_with_what_to_change,
    refusals::external_data_is_refused_with_what_to_change,
    refusals::external_data_naming_a_server_file_is_refused_from_every_place,
    refusals::a_file_over_the_size_limit_is_refused_and_nothing_is_stored,
    refusals::multipart_without_the_model_part_is_refused,
    refusals::invalid_model_names_are_refused,
    refusals::metadata_that_is_not_json_or_has_unknown_fields_is_refused,
    refusals::a_model_exceeding_the_validation_memory_limit_is_refused,
    refusals::a_model_exceeding_the_validation_time_limit_is_refused,
    auth::login_returns_a_session_that_authenticates,
    auth::wrong_passwords_and_unknown_users_get_the_same_401,
    auth::expired_tampered_and_unsigned_jwts_are_refused,
    session_keys::an_unconfigured_key_lives_in_its_own_private_file_not_the_database,
    session_keys::a_key_left_in_the_database_moves_to_the_file_and_its_sessions_stay_valid,
    session_keys::a_rotated_key_signs_new_sessions_while_the_previous_one_is_still_accepted,
    session_keys::rotating_a_configured_key_is_refused_with_what_to_do,
    auth::repeated_failed_logins_are_rate_limited,
    auth::concurrent_guesses_are_counted_before_any_is_checked,
    auth::overlong_credentials_are_refused_before_any_work,
    auth::api_tokens_are_shown_once_listed_without_secret_and_revocable,
    auth::expired_api_tokens_are_refused,
    auth::a_token_without_publish_scope_cannot_push,
    auth::a_token_cannot_grant_scopes_its_holder_lacks,
    auth::changing_the_password_ends_older_sessions,
    auth::a_disabled_user_is_refused_at_once,
    auth::admin_endpoints_refuse_other_users,
    auth::pushing_without_credentials_is_401,
    catalog::search_filters_sorts_and_pages,
    catalog::private_models_are_invisible_to_others,
    catalog::organization_models_need_a_signed_in_user_and_public_ones_do_not,
    catalog::owners_edit_metadata_and_others_cannot,
    catalog::versions_resolve_by_number_alias_and_latest,
    catalog::an_aliased_version_cannot_be_deleted_and_blobs_are_swept,
    catalog::deleting_a_model_keeps_blobs_other_models_share,
    catalog::bad_query_parameters_are_400,
    catalog::every_write_is_in_the_audit_log,
    downloads::a_download_returns_the_pushed_bytes_and_counts,
    downloads::ranges_are_served_as_206_and_bad_ranges_as_416,
    downloads::if_none_match_answers_304_and_head_sends_no_body,
    ops::health_readiness_metrics_and_request_ids,
    metrics_access::metrics_need_an_admin_or_the_scraper_token,
    metrics_access::anonymous_metrics_when_allowed_name_public_models_only,
    metrics_access::model_labels_can_be_turned_off_for_everyone,
    metrics_access::made_up_http_methods_share_one_series,
    metrics_access::every_metric_family_passes_prometheus_lint,
    slow_clients::a_request_head_that_never_ends_is_closed,
    crash_leftovers::a_killed_servers_staging_leftovers_are_removed_at_the_next_start,
    ui_hostile::sign_in_redirects_only_to_paths_on_this_site,
    ui_hostile::pasted_snippets_run_only_the_request_whatever_the_tensor_names,
    slow_clients::a_body_that_stops_is_dropped,
    slow_clients::an_idle_keep_alive_connection_is_closed,
    slow_clients::a_multipart_body_the_parser_would_wait_on_forever_is_refused,
    slow_clients::stalled_connections_past_the_cap_hold_health_checks_only_until_their_deadline,
    ops::the_openapi_description_lists_the_api,
    ops::unknown_routes_and_methods_answer_json,
    uploads::parts_sent_out_of_order_complete_into_the_version_a_push_makes,
    uploads::bad_parts_are_refused_and_only_good_ones_are_kept,
    uploads::uploads_that_cannot_become_a_version_are_refused_and_leave_nothing,
    uploads::another_users_upload_is_not_found_and_a_token_needs_publish,
    uploads::two_clients_completing_one_upload_at_once_make_one_version,
    uploads::expired_uploads_are_swept_with_their_parts,
    uploads::a_store_that_fails_during_assembly_leaves_the_upload_open_to_resume,
    mlflow_client::the_mlflow_clients_register_alias_search_and_delete,
    mlflow_client::mlflow_requests_outside_the_protocol_get_mlflow_errors_never_a_5xx,
    mlflow_client::a_renamed_model_is_served_under_its_new_name_only,
    mlflow_tracking::mlflow_log_model_registers_a_served_version_whose_lineage_is_the_run,
    mlflow_tracking::mlflow_sources_caravan_does_not_hold_or_cannot_serve_are_refused,
    mlflow_multipart::mlflow_multipart_upload_ids_are_narrow_and_only_the_owner_completes,
    properties::properties_are_set_shown_and_deleted_by_those_who_may,
    properties::version_descriptions_are_set_by_those_who_may,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parts_sent_to_two_replicas_on_s3_complete_on_either() {
    uploads::parts_sent_to_two_replicas_on_s3_complete_on_either().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_parts_on_s3_are_joined_by_s3_and_never_stored_twice() {
    uploads_s3::large_parts_on_s3_are_joined_by_s3_and_never_stored_twice().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_reports_not_ready_then_finishes_in_flight_requests_and_exits() {
    draining::sigterm_reports_not_ready_then_finishes_in_flight_requests_and_exits().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_push_and_pull_round_trip_with_aliases_metadata_and_verified_bytes() {
    cli_client::login_push_and_pull_round_trip_with_aliases_metadata_and_verified_bytes().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_failures_exit_with_one_line_and_a_code_that_says_whose_fault() {
    cli_client::failures_exit_with_one_line_and_a_code_that_says_whose_fault().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_push_of_a_300_mb_model_resumes_from_the_parts_received() {
    cli_client::an_interrupted_push_of_a_300_mb_model_resumes_from_the_parts_received().await;
}
