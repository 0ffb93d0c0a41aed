//! `caravan runner`: the server's Open Inference Protocol surface over one model with no
//! database, the authenticated hot swap `PUT /model`, and follow mode against a real server
//! (on both backends), with the real ONNX Runtime and the real validator.

mod follow;
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
    serve::a_runner_answers_the_acumos_model_runner_surface_at_its_root,
    swap::swaps_under_load_fail_no_request_and_each_answer_matches_its_revision,
    swap::swapping_needs_the_token_and_is_off_without_one,
    swap::a_bad_model_is_refused_with_its_reason_and_the_old_one_keeps_serving,
    swap::a_changed_signature_is_refused_unless_allowed,
    follow::a_tampered_download_or_an_unreachable_instance_leaves_the_model_serving,
    follow::an_unreachable_instance_at_start_leaves_the_runner_not_ready,
);

caravan_tests::on_both_backends!(
    threads = 4;
    follow::a_following_runner_swaps_on_every_alias_move_and_no_request_fails,
    follow::a_missing_alias_or_a_bad_token_stops_the_runner_with_the_reason,
    follow::a_following_runner_serves_the_interface_the_version_was_published_with,
);
