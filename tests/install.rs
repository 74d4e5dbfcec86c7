//! glassbox as `cargo install` leaves it: the binary alone, copied into an empty folder and run from
//! there with its own home and cache, so nothing of the source tree is found by looking near the
//! binary or the working folder. The bundled model, the scaling family and the lessons must all come
//! out of the binary (the model unpacked into the cache).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A folder with a copy of the binary in bin/, a working folder, and home, cache and data folders.
struct Place {
    root: tempfile::TempDir,
}

impl Place {
    fn new() -> Place {
        let root = tempfile::tempdir().unwrap();
        for d in ["bin", "work", "home", "cache", "data"] {
            std::fs::create_dir(root.path().join(d)).unwrap();
        }
        // A hard link where it can be: copying opens the new file for writing, and a test thread
        // that forks meanwhile keeps that open, so running the copy can fail with "text file busy".
        let (built, placed) = (
            env!("CARGO_BIN_EXE_glassbox"),
            root.path().join("bin/glassbox"),
        );
        if std::fs::hard_link(built, &placed).is_err() {
            std::fs::copy(built, &placed).unwrap();
        }
        Place { root }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root.path().join(rel)
    }

    /// The copied binary run in work/, with an environment of only what it needs: no CARGO_*
    /// variables, no GLASSBOX_LESSONS, nothing pointing back at the source tree.
    fn glassbox(&self, args: &[&str]) -> Command {
        let mut cmd = self.command(self.path("bin/glassbox").as_os_str());
        cmd.args(args);
        cmd
    }

    /// `program` run in work/ with the private environment.
    fn command(&self, program: &std::ffi::OsStr) -> Command {
        let mut cmd = Command::new(program);
        cmd.current_dir(self.path("work"))
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.path("home"))
            .env("XDG_CACHE_HOME", self.path("cache"))
            .env("XDG_DATA_HOME", self.path("data"))
            .env("HF_HOME", self.path("home/hf"))
            .env("HF_HUB_OFFLINE", "1");
        cmd
    }

    fn run(&self, args: &[&str]) -> String {
        stdout_of(self.glassbox(args).output().unwrap(), args)
    }
}

fn stdout_of(out: Output, args: &[&str]) -> String {
    assert!(
        out.status.success(),
        "glassbox {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn source(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// The one folder under cache/glassbox/bundled, holding the unpacked bundle.
fn unpacked(place: &Place) -> PathBuf {
    let parent = place.path("cache/glassbox/bundled");
    let dirs: Vec<PathBuf> = std::fs::read_dir(&parent)
        .unwrap_or_else(|e| panic!("{}: {e}", parent.display()))
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    dirs.into_iter().next().unwrap()
}

#[test]
fn the_bundled_model_comes_out_of_the_binary_into_the_cache() {
    let place = Place::new();
    let out = place.run(&["inspect", "--prompt", "Once upon a time"]);
    assert!(out.contains("glassbox-tiny"), "{out}");
    let out = place.run(&["generate", "--prompt", "Once upon a time", "-n", "5"]);
    assert!(out.starts_with("Once upon a time"), "{out}");

    // The files the loader read were unpacked under the private cache, equal to the source tree's.
    let dir = unpacked(&place);
    for f in [
        "config.json",
        "tokenizer.json",
        "model.safetensors",
        "train_log.csv",
    ] {
        assert_eq!(
            std::fs::read(dir.join("glassbox-tiny").join(f)).unwrap(),
            std::fs::read(source("models/glassbox-tiny").join(f)).unwrap(),
            "{f}"
        );
    }
    let runs = std::fs::read_dir(source("models/scaling")).unwrap().count();
    assert_eq!(
        std::fs::read_dir(dir.join("scaling")).unwrap().count(),
        runs
    );

    // The training log and the scaling family, as the Training view reads them.
    place.run(&["export", "training", "-o", "training.png"]);
    place.run(&["export", "scaling", "-o", "scaling.png"]);
    assert!(place.path("work/training.png").is_file());
    assert!(place.path("work/scaling.png").is_file());

    // A second run uses the same folder; nothing else appears beside it.
    place.run(&["inspect", "--prompt", "Once"]);
    assert_eq!(unpacked(&place), dir);
}

#[test]
fn the_built_in_lessons_list_check_and_export() {
    let place = Place::new();
    let list = place.run(&["lessons", "list"]);
    let n = std::fs::read_dir(source("lessons"))
        .unwrap()
        .filter(|e| {
            let name = e.as_ref().unwrap().file_name();
            name.to_string_lossy()
                .starts_with(|c: char| c.is_ascii_digit())
        })
        .count();
    assert_eq!(list.lines().count(), n, "{list}");

    // Exported: the same files as the source tree's lessons/, README.md included.
    let out = place.run(&["lessons", "export", "mine"]);
    assert!(out.contains("GLASSBOX_LESSONS=mine glassbox"), "{out}");
    let mine = place.path("work/mine");
    let mut names: Vec<String> = std::fs::read_dir(&mine)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), n + 1, "{names:?}");
    assert!(names.contains(&"README.md".to_string()));
    for name in &names {
        assert_eq!(
            std::fs::read_to_string(mine.join(name)).unwrap(),
            std::fs::read_to_string(source("lessons").join(name)).unwrap(),
            "{name}"
        );
    }

    // The exported lessons that need only the bundled model pass `lessons check` (a real model must
    // be downloaded, which this empty home has not).
    let on_bundled: Vec<String> = names
        .iter()
        .filter(|n| n.as_str() != "README.md")
        .filter(|n| {
            // Every model the lesson names (front matter and claim blocks) is the bundled one.
            let text = std::fs::read_to_string(mine.join(n)).unwrap();
            let models: Vec<&str> = text.lines().filter(|l| l.starts_with("model = ")).collect();
            !models.is_empty() && models.iter().all(|l| *l == "model = \"glassbox-tiny\"")
        })
        .map(|n| format!("mine/{n}"))
        .collect();
    assert!(on_bundled.len() >= 10, "{on_bundled:?}");
    let mut args = vec!["lessons", "check"];
    args.extend(on_bundled.iter().map(String::as_str));
    let check = place.run(&args);
    assert!(
        check.contains(&format!("{} lessons checked", on_bundled.len())),
        "{check}"
    );

    // A teacher's edit is never overwritten without --force, and a refusal writes nothing.
    let first = mine.join(&names[0]);
    let text = std::fs::read_to_string(&first).unwrap();
    let title = text
        .lines()
        .find(|l| l.starts_with("title = "))
        .unwrap()
        .to_string();
    let edited = text.replacen(&title, "title = \"Edited by a teacher\"", 1);
    std::fs::write(&first, &edited).unwrap();
    std::fs::remove_file(mine.join("README.md")).unwrap();
    let refused = place
        .glassbox(&["lessons", "export", "mine"])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("--force") && err.contains(&names[0]), "{err}");
    assert!(!mine.join("README.md").exists());

    // GLASSBOX_LESSONS points the tutor at the edited folder.
    let list = stdout_of(
        place
            .glassbox(&["lessons", "list"])
            .env("GLASSBOX_LESSONS", &mine)
            .output()
            .unwrap(),
        &["lessons", "list"],
    );
    assert!(list.contains("Edited by a teacher"), "{list}");

    place.run(&["lessons", "export", "mine", "--force"]);
    assert_eq!(std::fs::read_to_string(&first).unwrap(), text);
    assert!(mine.join("README.md").is_file());
}

#[test]
fn a_cache_that_cannot_be_written_is_one_line_with_the_fix() {
    let place = Place::new();
    let file = place.path("cache-file");
    std::fs::write(&file, b"not a folder").unwrap();
    let out = place
        .glassbox(&["inspect", "--prompt", "Once"])
        .env("XDG_CACHE_HOME", &file)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(lines[0].starts_with("error: cannot unpack the bundled model into"));
    assert!(lines[0].contains(&file.display().to_string()), "{err}");
    assert!(lines[1].contains("GLASSBOX_CACHE"), "{err}");
}

/// Where strace can run, prove it: the binary opens nothing under the source tree.
#[test]
fn nothing_under_the_source_tree_is_opened() {
    let works = Command::new("strace")
        .args(["-o", "/dev/null", "true"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !works {
        eprintln!("strace is not available here: skipped");
        return;
    }
    let place = Place::new();
    for (i, args) in [
        &["inspect", "--prompt", "Once upon a time"][..],
        &["lessons", "list"][..],
        &["export", "scaling", "-o", "s.png"][..],
        // Every view of the tutor, the Training view (train_log.csv) and a lesson among them.
        &["export", "screenshots", "-o", "shots"][..],
    ]
    .iter()
    .enumerate()
    {
        let trace = place.path(&format!("trace-{i}.txt"));
        let mut cmd = place.command("strace".as_ref());
        cmd.args(["-f", "-e", "trace=%file", "-o"])
            .arg(&trace)
            .arg(place.path("bin/glassbox"))
            .args(*args);
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = std::fs::read_to_string(&trace).unwrap();
        let src = env!("CARGO_MANIFEST_DIR");
        let touched: Vec<&str> = text.lines().filter(|l| l.contains(src)).collect();
        assert!(
            touched.is_empty(),
            "{args:?} touched the source tree:\n{touched:?}"
        );
        assert!(text.contains("model.safetensors") || args[0] != "inspect");
    }
}

#[test]
fn glassboxes_started_at_once_all_find_the_whole_model() {
    let place = Place::new();
    let runs: Vec<_> = (0..4)
        .map(|_| {
            place
                .glassbox(&["inspect", "--prompt", "Once upon a time"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in runs {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // One folder, and no temporary one left beside it.
    let dir = unpacked(&place);
    assert!(dir.join("glassbox-tiny/model.safetensors").is_file());
}
