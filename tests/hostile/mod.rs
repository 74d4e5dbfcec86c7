//! The workshop of the hostile-input table: a folder of broken inputs built at test time from the
//! committed fixtures, the table's row type, and the runner that holds every row to the same rules.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use crate::common::fixture_dir;
pub use edit::{edit_config, edit_index, edit_tensor};
pub use serde_json::json;

mod edit;
pub mod gguf;
pub mod lessons;
pub mod options;
pub mod outputs;
pub mod paths;
pub mod prompts;
pub mod training;
pub mod weights;

/// What a row expects of the command.
pub enum Expect {
    /// Exit with `code`; standard error is one `error:` line naming every needle (plus an optional
    /// `  hint:` line). Code 2 is clap's usage error, whose own lines follow its error line.
    Fails { code: i32, needles: Vec<String> },
    /// Like `Fails`, but `file:line: problem` lines may come before the error (`lessons check`).
    FailsAfterReport { needles: Vec<String> },
    /// Succeed, with every needle somewhere in standard error (a note, or a report of bad files).
    Succeeds { stderr_has: Vec<String> },
}

/// One row: what it shows, the arguments, extra environment, and the outcome.
pub struct Case {
    pub what: String,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub expect: Expect,
}

/// A row that must fail with exit code 1, naming each needle.
pub fn fails<S: AsRef<str>>(what: &str, args: &[S], needles: &[&str]) -> Case {
    fails_with(what, 1, args, needles)
}

pub fn fails_with<S: AsRef<str>>(what: &str, code: i32, args: &[S], needles: &[&str]) -> Case {
    Case {
        what: what.into(),
        args: strings(args),
        env: Vec::new(),
        expect: Expect::Fails {
            code,
            needles: strings(needles),
        },
    }
}

pub fn succeeds<S: AsRef<str>>(what: &str, args: &[S], stderr_has: &[&str]) -> Case {
    Case {
        what: what.into(),
        args: strings(args),
        env: Vec::new(),
        expect: Expect::Succeeds {
            stderr_has: strings(stderr_has),
        },
    }
}

impl Case {
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Problem lines (`file:line: problem`) may precede the error line.
    pub fn after_report(mut self) -> Self {
        if let Expect::Fails { needles, .. } = self.expect {
            self.expect = Expect::FailsAfterReport { needles };
        }
        self
    }
}

fn strings<S: AsRef<str>>(list: &[S]) -> Vec<String> {
    list.iter().map(|s| s.as_ref().to_string()).collect()
}

/// A temporary folder of inputs, and `out/`, where commands write and where the rows check that
/// nothing appears or changes. `out/` starts with files a failing command must not replace.
pub struct Lab {
    dir: tempfile::TempDir,
}

impl Lab {
    pub fn new() -> Self {
        let lab = Self {
            dir: tempfile::tempdir().unwrap(),
        };
        std::fs::create_dir(lab.out()).unwrap();
        std::fs::write(lab.out().join("existing.safetensors"), b"keep me").unwrap();
        std::fs::write(lab.out().join("existing.png"), b"keep me too").unwrap();
        std::fs::create_dir(lab.out().join("existing-model")).unwrap();
        std::fs::write(lab.out().join("existing-model/config.json"), b"{}").unwrap();
        std::fs::create_dir(lab.path("data")).unwrap();
        lab
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `name` in the lab, as an argument.
    pub fn arg(&self, name: &str) -> String {
        self.path(name).to_str().unwrap().to_string()
    }

    pub fn out(&self) -> PathBuf {
        self.path("out")
    }

    /// `name` in `out/`, as an argument.
    pub fn out_arg(&self, name: &str) -> String {
        self.out().join(name).to_str().unwrap().to_string()
    }

    pub fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> String {
        let p = self.path(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, bytes).unwrap();
        self.arg(name)
    }

    /// A copy of fixture `fixture` named `name`, changed by `change`; its path as an argument.
    pub fn variant(&self, name: &str, fixture: &str, change: impl FnOnce(&Path)) -> String {
        let dir = self.path(name);
        std::fs::create_dir_all(&dir).unwrap();
        for e in std::fs::read_dir(fixture_dir(fixture)).unwrap().flatten() {
            let file = e.file_name();
            // The reference tensors are test data, not part of the model.
            if !file.to_string_lossy().contains("reference") {
                std::fs::copy(e.path(), dir.join(file)).unwrap();
            }
        }
        change(&dir);
        self.arg(name)
    }

    /// Every entry under `out/` with its bytes (a link: where it points; a device, fifo or socket:
    /// its kind, never read), to compare before and after a row.
    fn snapshot(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        let mut files = BTreeMap::new();
        let mut stack = vec![self.out()];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(&dir).unwrap().flatten() {
                let p = e.path();
                let rel = p.strip_prefix(self.out()).unwrap().to_path_buf();
                let kind = p.symlink_metadata().unwrap().file_type();
                let seen = if kind.is_symlink() {
                    let to = std::fs::read_link(&p).unwrap();
                    format!("link to {}", to.display()).into_bytes()
                } else if kind.is_dir() {
                    stack.push(p);
                    b"folder".to_vec()
                } else if kind.is_file() {
                    std::fs::read(&p).unwrap_or_default()
                } else {
                    format!("special {kind:?}").into_bytes()
                };
                files.insert(rel, seen);
            }
        }
        files
    }

    /// Run every row; return one line per broken rule, so a failing test lists them all.
    pub fn run(&self, cases: &[Case]) -> Vec<String> {
        let mut broken = Vec::new();
        for case in cases {
            let before = self.snapshot();
            let mut problems = self.run_one(case);
            let after = self.snapshot();
            if before != after {
                let changed: std::collections::BTreeSet<_> = after
                    .keys()
                    .chain(before.keys())
                    .filter(|k| before.get(*k) != after.get(*k))
                    .map(|k| k.display().to_string())
                    .collect();
                problems.push(format!("out/ changed: {changed:?}"));
            }
            broken.extend(problems.into_iter().map(|p| format!("{}: {p}", case.what)));
        }
        broken
    }

    fn run_one(&self, case: &Case) -> Vec<String> {
        let mut cmd = assert_cmd::Command::new(env!("CARGO_BIN_EXE_glassbox"));
        cmd.args(&case.args)
            .env_remove("GLASSBOX_DEBUG")
            .env_remove("RUST_BACKTRACE")
            .env("HF_HUB_OFFLINE", "1")
            .env("HF_HUB_CACHE", self.path("empty-hub-cache"))
            .env("XDG_DATA_HOME", self.path("data"))
            .env("NO_COLOR", "1")
            .timeout(Duration::from_secs(120));
        for (k, v) in &case.env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let mut problems = Vec::new();
        for panic_text in ["panicked", "RUST_BACKTRACE", "stack backtrace"] {
            if stderr.contains(panic_text) {
                problems.push(format!("{panic_text:?} in standard error"));
            }
        }
        let code = out.status.code();
        let lines: Vec<&str> = stderr.lines().collect();
        match &case.expect {
            Expect::Succeeds { stderr_has } => {
                if code != Some(0) {
                    problems.push(format!("exit {code:?}, expected 0"));
                }
                problems.extend(missing(&stderr, stderr_has));
            }
            Expect::Fails {
                code: want,
                needles,
            } => {
                if code != Some(*want) {
                    problems.push(format!("exit {code:?}, expected {want}"));
                }
                let clap = *want == 2;
                problems.extend(error_shape(&lines, 0, clap));
                problems.extend(missing(lines.first().copied().unwrap_or(""), needles));
            }
            Expect::FailsAfterReport { needles } => {
                if code != Some(1) {
                    problems.push(format!("exit {code:?}, expected 1"));
                }
                let first_error = lines.iter().position(|l| l.starts_with("error: "));
                let report = &lines[..first_error.unwrap_or(lines.len())];
                if let Some(bad) = report.iter().find(|l| !is_report_line(l)) {
                    problems.push(format!("{bad:?} is not a file:line: problem line"));
                }
                problems.extend(error_shape(&lines, report.len(), false));
                problems.extend(missing(&stderr, needles));
            }
        }
        if !problems.is_empty() {
            problems.push(format!("standard error was {stderr:?}"));
        }
        problems
    }
}

/// `lines[from..]` is one `error:` line and at most a `  hint:` line (clap adds its own lines).
fn error_shape(lines: &[&str], from: usize, clap: bool) -> Vec<String> {
    let rest = &lines[from.min(lines.len())..];
    let mut problems = Vec::new();
    if !rest.first().is_some_and(|l| l.starts_with("error: ")) {
        problems.push("standard error does not start with an error: line".into());
    }
    if !clap {
        let extra = rest.get(1).is_some_and(|l| !l.starts_with("  hint: ")) || rest.len() > 2;
        if extra {
            problems.push("more than one error line and one hint".into());
        }
    }
    problems
}

/// `path:line: problem`, as `lessons check` reports a bad file.
fn is_report_line(line: &str) -> bool {
    let mut parts = line.splitn(3, ':');
    let (path, n, rest) = (parts.next(), parts.next(), parts.next());
    path.is_some_and(|p| !p.is_empty())
        && n.is_some_and(|n| n.parse::<usize>().is_ok())
        && rest.is_some_and(|r| r.starts_with(' '))
}

fn missing(text: &str, needles: &[String]) -> Vec<String> {
    needles
        .iter()
        .filter(|n| !text.contains(n.as_str()))
        .map(|n| format!("{n:?} not named"))
        .collect()
}

/// Fail the test with every broken rule listed.
pub fn assert_all_hold(broken: Vec<String>) {
    assert!(
        broken.is_empty(),
        "{} broken:\n{}",
        broken.len(),
        broken.join("\n")
    );
}

/// tiny-a, the GPT-2 fixture most rows run on, as an argument.
pub fn tiny() -> String {
    fixture_dir("tiny-a").to_str().unwrap().to_string()
}

/// The context of tiny-a.
pub const TINY_CTX: &str = "64 tokens";

/// `dump` of a short prompt with `--model model`, into the output folder's existing file.
pub fn dump_model(lab: &Lab, what: &str, model: &str, needles: &[&str]) -> Case {
    let out = lab.out_arg("existing.safetensors");
    fails(
        what,
        &["dump", "--prompt", "Boats", "-m", model, "-o", &out],
        needles,
    )
}
