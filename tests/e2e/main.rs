//! End-to-end tests in headless Chromium against the real application, on SQLite and on
//! PostgreSQL. Needs chromium and chromedriver: scripts/install-browser.sh.

mod harness;
mod journey;
mod refusals;
mod smoke;
use caravan_tests as support;
use caravan_tests::on_both_backends;

on_both_backends!(
    smoke::the_home_page_opens_with_the_caravan_title_and_is_not_blank,
    smoke::the_api_docs_page_lists_every_operation,
    journey::a_user_uploads_finds_tries_promotes_rates_and_signs_out,
    refusals::scripts_in_user_content_never_run_in_the_browser,
    refusals::an_upload_refused_by_validation_shows_why_next_to_the_file_and_stores_nothing,
);
