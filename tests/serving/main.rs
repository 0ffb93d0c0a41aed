//! Serving over the Open Inference Protocol V2, against the real application and ONNX
//! Runtime, on SQLite and on PostgreSQL.

mod access;
mod acumos_runner;
mod bombs;
mod deletion;
mod golden;
mod grpc;
mod perf_analyzer;
mod protocol;
mod refusals;
mod replicas;
mod swap;

use caravan_tests as support;
use caravan_tests::on_both_backends;

// The serving suite's clients and servers share one runtime: more worker threads.
on_both_backends!(
    threads = 4;
    golden::json_inference_matches_python_onnxruntime,
    golden::binary_inference_matches_python_onnxruntime,
    golden::the_cloud_forensics_model_matches_its_golden_vectors,
    golden::bf16_travels_as_binary_both_ways,
    golden::outputs_can_be_selected_mixed_json_and_binary_with_the_id_echoed,
    golden::gzip_and_deflate_request_bodies_are_accepted,
    golden::the_real_tritonclient_gets_the_golden_outputs,
    grpc::tritonclient_grpc_gets_the_golden_outputs_raw_and_clear_refusals,
    protocol::health_and_server_metadata_answer_json,
    protocol::model_metadata_ready_and_config_describe_the_version,
    protocol::the_repository_loads_unloads_and_indexes,
    protocol::content_encoding_on_an_empty_body_is_accepted_and_unknown_or_false_ones_refused,
    protocol::statistics_and_metrics_count_inference_per_version,
    protocol::the_default_version_is_the_champion_else_the_latest,
    refusals::unknown_models_and_versions_are_404_with_an_error,
    refusals::bad_inputs_are_400_with_a_precise_message,
    refusals::bad_binary_framing_is_400,
    refusals::requests_over_the_row_cap_are_refused,
    refusals::a_full_queue_answers_503_with_retry_after,
    access::inference_needs_credentials_unless_anonymous_serving_is_on,
    access::load_and_unload_need_the_deploy_scope,
    access::an_alias_of_a_model_the_caller_cannot_read_is_404,
    swap::fifty_swaps_under_load_fail_no_request,
    swap::a_version_that_cannot_load_leaves_the_alias_alone,
    swap::aliased_versions_are_loaded_before_a_restarted_server_is_ready,
    bombs::bombs_fail_clearly_while_another_model_answers_every_request,
    bombs::a_caller_that_gives_up_frees_its_run_at_once,
    bombs::a_model_whose_output_is_always_too_large_is_refused_when_loaded,
    deletion::a_deleted_model_leaves_memory_and_is_never_served,
    deletion::a_deleted_version_is_never_served_by_number,
    deletion::a_version_deleted_through_another_replica_stops_being_served_there,
    acumos_runner::predict_answers_protobuf_and_json_with_python_onnxruntime_s_outputs,
    acumos_runner::the_artifacts_describe_the_generated_interface,
    acumos_runner::bad_messages_methods_and_media_types_are_refused_with_a_reason,
    acumos_runner::protoc_compiles_the_generated_proto_and_its_classes_get_the_golden_outputs,
);

// Replicas hear each other through PostgreSQL; SQLite is one process.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_alias_moved_on_one_replica_is_served_by_the_other_at_once() {
    replicas::an_alias_moved_on_one_replica_is_served_by_the_other_at_once().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_token_revoked_on_one_replica_is_refused_by_the_other_at_once() {
    replicas::a_token_revoked_on_one_replica_is_refused_by_the_other_at_once().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn perf_analyzer_sweeps_concurrency_one_to_eight_over_http_and_grpc() {
    perf_analyzer::perf_analyzer_sweeps_concurrency_one_to_eight_over_http_and_grpc().await;
}
