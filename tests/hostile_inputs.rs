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

/// The outputs that are written, not refused: through a link (which stays a link), straight into a
/// device or a pipe, and under a long name whose temporary file would not fit the name limit.
#[cfg(unix)]
#[test]
fn outputs_through_links_devices_and_long_names_are_written_in_place() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().unwrap();
    let dump = |out: &std::path::Path| {
        assert_cmd::Command::new(env!("CARGO_BIN_EXE_glassbox"))
            .args(["dump", "--prompt", "hi", "-o"])
            .arg(out)
            .assert()
            .success();
    };
    let real = dir.path().join("real.safetensors");
    std::fs::write(&real, b"old").unwrap();
    let link = dir.path().join("link.safetensors");
    std::os::unix::fs::symlink("real.safetensors", &link).unwrap();
    dump(&link);
    assert!(link.symlink_metadata().unwrap().file_type().is_symlink());
    assert!(
        std::fs::metadata(&real).unwrap().len() > 1000,
        "written through the link"
    );

    dump(std::path::Path::new("/dev/null"));
    let null = std::path::Path::new("/dev/null")
        .symlink_metadata()
        .unwrap();
    assert!(
        null.file_type().is_char_device(),
        "/dev/null is still a device"
    );

    let long = dir.path().join(format!("{}.safetensors", "n".repeat(233)));
    assert_eq!(long.file_name().unwrap().len(), 245);
    dump(&long);
    assert!(long.is_file());
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(names.len(), 3, "no temporary file left: {names:?}");
}
