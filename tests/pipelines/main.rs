//! The pipelines suite: datasets, pipeline specs and runs against the real application, with a
//! real trainer process, on SQLite and on PostgreSQL.

mod datasets;
mod pages;
mod parquet;
mod pipeline_support;
mod recovery;
mod remote;
mod replicas;
mod runs;
mod specs;
mod triggers;
#[path = "../api/ui_client.rs"]
mod ui_client;
use caravan_tests as support;
use caravan_tests::on_both_backends;

on_both_backends!(
    datasets::a_csv_becomes_a_version_with_its_schema_preview_and_identical_bytes,
    datasets::ragged_rows_empty_files_and_non_owners_are_refused_and_nothing_is_stored,
    specs::specs_with_unknown_fields_bad_cron_or_missing_datasets_are_refused,
    specs::mappings_that_do_not_fit_the_dataset_or_the_model_are_refused,
    specs::only_admins_define_command_trainers_and_a_setting_turns_them_off,
    specs::specs_may_be_yaml,
    runs::a_new_dataset_version_retrains_evaluates_and_promotes_without_failed_requests,
    runs::failing_hanging_and_bad_trainers_fail_the_run_and_leave_the_alias,
    runs::a_running_trainer_can_be_cancelled,
    runs::a_scoring_pipeline_writes_the_rows_with_their_predictions_as_a_new_dataset,
    triggers::incoming_webhooks_start_runs_only_when_signed_recent_and_new,
    triggers::a_cron_schedule_queues_runs_on_time,
    triggers::events_are_signed_and_retried_until_the_receiver_accepts_them,
    remote::an_external_orchestrator_trains_onboards_and_reports,
    remote::a_webhook_trainer_aimed_inside_is_refused_and_never_told_which_ports_answer,
    parquet::parquet_datasets_are_sniffed_and_used_for_evaluation_and_scoring,
    parquet::nested_and_broken_parquet_files_are_refused_and_nothing_is_stored,
    recovery::a_run_left_by_a_dead_worker_is_taken_over_and_its_step_runs_again,
    recovery::a_candidate_with_another_signature_never_takes_the_alias,
    pages::the_pipelines_pages_show_runs_and_start_one_with_a_form,
);

// PostgreSQL only: SQLite is one process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_queued_on_both_replicas_never_run_two_at_once_with_a_limit_of_one() {
    replicas::runs_queued_on_both_replicas_never_run_two_at_once_with_a_limit_of_one().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cron_schedule_fires_once_across_both_replicas() {
    replicas::a_cron_schedule_fires_once_across_both_replicas().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_is_delivered_once_across_both_replicas() {
    replicas::an_event_is_delivered_once_across_both_replicas().await;
}
