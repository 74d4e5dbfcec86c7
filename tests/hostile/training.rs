//! train's options: sizes that cannot train or cannot fit in memory, and its output folder.

use super::*;

pub fn cases(lab: &Lab) -> Vec<Case> {
    let new = lab.out_arg("new-model");
    let existing = lab.out_arg("existing-model");
    let train = |what: &str, options: &[&str], needles: &[&str]| {
        let mut args = vec!["train", "-o", &new, "--steps", "1", "--docs", "200"];
        args.extend_from_slice(options);
        fails(what, &args, needles)
    };
    let mut cases = vec![
        train("no layers", &["--layers", "0"], &["--layers is 0"]),
        train(
            "heads that do not divide",
            &["--heads", "3"],
            &["not divisible by --heads 3"],
        ),
        train(
            "a window past the context",
            &["--seq-len", "512"],
            &["longer than --context"],
        ),
        train(
            "a NaN learning rate",
            &["--lr", "NaN"],
            &["--lr NaN is out of range"],
        ),
        train(
            "a negative weight decay",
            &["--weight-decay", "-1"],
            &["--weight-decay -1"],
        ),
        train(
            "a share above 1",
            &["--repeat-fraction", "2"],
            &["--repeat-fraction 2"],
        ),
        train(
            "a hidden size no memory holds",
            &["--d-model", "1048576", "--heads", "1"],
            &[
                "training this model needs at least",
                "more than this machine's",
            ],
        ),
        train(
            "a vocabulary no memory holds",
            &["--vocab-size", "1000000000000"],
            &["needs at least"],
        ),
        train(
            "a batch no memory holds",
            &["--batch", "100000000"],
            &["needs at least"],
        ),
        fails(
            "an existing folder without --force",
            &["train", "-o", &existing, "--steps", "1"],
            &["already exists"],
        ),
        fails(
            "--force with options that cannot train keeps the old folder",
            &["train", "-o", &existing, "--force", "--layers", "0"],
            &["--layers is 0"],
        ),
    ];
    // --force replaces only a folder that training wrote: never a file, nor a folder of other files.
    let project = lab.out().join("project");
    std::fs::create_dir(&project).unwrap();
    std::fs::write(project.join("notes.txt"), b"mine").unwrap();
    let project = project.to_string_lossy().into_owned();
    let file = lab.out_arg("existing.safetensors");
    cases.extend([
        fails(
            "--force on a folder of someone's files",
            &["train", "-o", &project, "--force", "--steps", "1"],
            &["project holds notes.txt, which training did not write"],
        ),
        fails(
            "--force on a file",
            &["train", "-o", &file, "--force", "--steps", "1"],
            &["existing.safetensors already exists and is not a folder"],
        ),
    ]);
    if cfg!(target_os = "linux") {
        cases.push(fails(
            "an unwritable output folder",
            &["train", "-o", "/sys/new-model", "--steps", "1"],
            &["cannot write in /sys"],
        ));
    }
    cases
}
