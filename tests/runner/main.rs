//! `caravan runner` with a model file: the server's Open Inference Protocol surface over one
//! model with no database, and the authenticated hot swap `PUT /model`, against the real
//! ONNX Runtime and the real validator.

mod serve;
mod swap;

use caravan_tests as support;

macro_rules! tests {
    ($($module:ident :: $test:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $test() {
                $module::$test().await;
            }
        )*
    };
}

tests!(
    serve::a_runner_serves_its_file_over_v2_with_health_and_metrics,
    serve::other_names_and_versions_are_404_and_repository_control_is_refused,
    serve::a_file_that_is_not_a_servable_model_stops_the_runner_at_start,
    swap::swaps_under_load_fail_no_request_and_each_answer_matches_its_revision,
    swap::swapping_needs_the_token_and_is_off_without_one,
    swap::a_bad_model_is_refused_with_its_reason_and_the_old_one_keeps_serving,
    swap::a_changed_signature_is_refused_unless_allowed,
);
