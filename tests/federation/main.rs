//! The federation suite: real instances paired over mutual TLS with a CA made at test time,
//! a hostile peer, and Acumos E5 answers, on SQLite and on PostgreSQL.

mod acumos;
mod acumos_import;
mod fake_peer;
mod instance;
mod listener;
mod malicious;
mod pki;
use caravan_tests as support;
use caravan_tests::on_both_backends;
mod sync;

on_both_backends!(
    sync::a_subscriber_gets_exactly_the_public_models_byte_identical_and_servable,
    sync::a_model_shared_with_one_peer_reaches_only_that_peer,
    sync::a_model_peers_can_see_keeps_its_name,
    listener::only_active_registered_peers_with_valid_certificates_get_answers,
    listener::a_revoked_certificate_is_refused_without_a_restart,
    listener::a_peer_gets_nothing_of_private_models_by_any_endpoint,
    listener::a_missing_blob_answers_a_peer_in_the_envelope_without_internals,
    malicious::every_bad_item_is_refused_and_the_good_one_still_imports,
    malicious::a_hanging_peer_times_out_and_a_later_sync_recovers,
    acumos_import::a_legacy_acumos_peer_s_onnx_revision_is_imported_unverified_and_served,
    acumos_import::an_acumos_bundle_travels_between_caravan_instances_unrun,
    acumos_import::a_legacy_acumos_peer_s_python_bundle_is_catalogued_unverified,
);
