//! Hostile inputs, in tables: every way a user (or a damaged download) can hand glassbox something
//! wrong, answered by the real binary with one `error:` line that names the problem (and at most a
//! hint), no panic, and nothing written or replaced in the output folder. The rows cover the holes
//! fixed so far and the cases that always passed, so both stay that way.
//!
//! One table per kind of input, in tests/hostile/ (prompts, options, outputs, training, weights, paths,
//! gguf, lessons); the broken inputs are built at test time from the committed fixtures, and every row
//! is held to the rules of the runner in tests/hostile/mod.rs. (The bad model folders, GGUF files and
//! arguments that tests/cli.rs used to check one by one are rows here now.)

mod common;
mod hostile;

use hostile::{assert_all_hold, Case, Lab};

/// Build one table in a fresh lab and run it; every broken rule of every row is listed on failure.
fn check(table: fn(&Lab) -> Vec<Case>) {
    let lab = Lab::new();
    let cases = table(&lab);
    assert_all_hold(lab.run(&cases));
}

#[test]
fn prompts_too_long_unreadable_or_empty() {
    check(hostile::prompts::cases);
}

#[test]
fn generate_inspect_and_export_options_out_of_range() {
    check(hostile::options::cases);
}

#[test]
fn dump_names_and_output_paths() {
    check(hostile::outputs::cases);
}

#[test]
fn train_options_and_output_folder() {
    check(hostile::training::cases);
}

#[test]
fn broken_safetensors_and_configs() {
    check(hostile::weights::cases);
}

#[test]
fn model_paths_links_and_shard_indexes() {
    check(hostile::paths::cases);
}

#[test]
fn broken_gguf_files() {
    check(hostile::gguf::cases);
}

#[test]
fn malformed_lesson_files() {
    check(hostile::lessons::cases);
}
