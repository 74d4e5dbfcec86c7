//! Malformed lesson files: `lessons list` reports them and lists the rest, `lessons check` fails on them.

use super::*;
use std::path::Path;

pub fn cases(lab: &Lab) -> Vec<Case> {
    let dir = lab.path("lessons");
    std::fs::create_dir(&dir).unwrap();
    let good = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("lessons/01-what-a-language-model-does.md"),
    )
    .unwrap();
    lab.write("lessons/01-good.md", &good);
    lab.write("lessons/02-no-front-matter.md", "hello");
    lab.write("lessons/03-bad-toml.md", "+++\nid = 3\n+++\n");
    lab.write("lessons/04-latin1.md", b"+++\ntitle = \"caf\xe9\"\n+++\n");
    lab.write("lessons/05-nul.md", b"+++\0");
    std::fs::create_dir(dir.join("06-folder.md")).unwrap();
    let lessons = lab.arg("lessons");
    let bad_list = [
        "02-no-front-matter.md:1: a lesson starts with TOML front matter",
        "03-bad-toml.md:2: invalid type",
        "04-latin1.md:1: the file is not UTF-8 text",
        "05-nul.md:1: the file is not text: it holds a NUL byte",
        "06-folder.md:1: the file is a folder, not a file",
    ];
    // A claim about a model glassbox does not know, checked alone (its own folder).
    let claims = lab.path("claim-lessons");
    std::fs::create_dir(&claims).unwrap();
    lab.write(
        "claim-lessons/01-unknown-model.md",
        good.replacen("```claim\n", "```claim\nmodel = \"gpt-5\"\n", 1),
    );
    let empty = lab.arg("empty-lessons");
    std::fs::create_dir(&empty).unwrap();
    let mut cases = vec![
        // The list shows what loads and reports the rest.
        succeeds(
            "lessons list with broken files",
            &["lessons", "list"],
            &bad_list,
        )
        .env("GLASSBOX_LESSONS", &lessons),
        fails(
            "lessons check with broken files",
            &["lessons", "check"],
            &bad_list,
        )
        .after_report()
        .env("GLASSBOX_LESSONS", &lessons),
        fails(
            "lessons check of one file that is not a lesson",
            &[
                "lessons",
                "check",
                &lab.arg("lessons/02-no-front-matter.md"),
            ],
            &[
                "a lesson starts with TOML front matter",
                "1 problem in 1 lesson file",
            ],
        )
        .after_report(),
        fails(
            "lessons check of a claim about an unknown model",
            &["lessons", "check"],
            &["01-unknown-model.md:", "claim: unknown model \"gpt-5\""],
        )
        .after_report()
        .env("GLASSBOX_LESSONS", &lab.arg("claim-lessons")),
        fails(
            "lessons list of an empty folder",
            &["lessons", "list"],
            &["no lessons in"],
        )
        .env("GLASSBOX_LESSONS", &empty),
        fails(
            "lessons check of an empty folder",
            &["lessons", "check"],
            &["no lessons in"],
        )
        .env("GLASSBOX_LESSONS", &empty),
        fails(
            "lessons check of a missing folder",
            &["lessons", "check"],
            &["no lessons in", "no-such-folder"],
        )
        .env("GLASSBOX_LESSONS", &lab.arg("no-such-folder")),
        fails(
            "the tutor with a lesson that does not exist",
            &["tutor", "--lesson", "99"],
            &["no lesson \"99\""],
        )
        .env("GLASSBOX_LESSONS", &lessons),
    ];
    if cfg!(unix) {
        cases.push(
            fails(
                "lessons check of /dev/zero",
                &["lessons", "check", "/dev/zero"],
                &["/dev/zero:1: the file is longer than 1048576 bytes"],
            )
            .after_report(),
        );
    }
    cases
}
