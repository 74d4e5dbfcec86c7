//! `glassbox lessons list`, `glassbox lessons check` and `glassbox lessons export`.

use std::io::Write;
use std::path::Path;

use color_eyre::eyre::Result;
use glassbox::error::hinted;
use glassbox::lesson::check::{check_against, check_claims_on};
use glassbox::lesson::progress::Progress;
use glassbox::lesson::{builtin, Lesson, Source};
use glassbox::model::loader::{self, known::KnownModel};

use super::load_model;
use crate::cli::{LessonsCommand, ModelArgs};

pub fn run(cmd: LessonsCommand) -> Result<()> {
    match cmd {
        LessonsCommand::List => list(),
        LessonsCommand::Export { dir, force } => export(&dir, force),
        LessonsCommand::Check { files, model } => {
            let (lessons, mut errors) = if files.is_empty() {
                let source = Source::from_env();
                let (lessons, errors) = source.load();
                if lessons.is_empty() && errors.is_empty() {
                    return no_lessons(&source);
                }
                (lessons, errors)
            } else {
                let mut ok = Vec::new();
                let mut bad = Vec::new();
                for f in &files {
                    match Lesson::load(f) {
                        Ok(l) => ok.push(l),
                        Err(e) => bad.push(e),
                    }
                }
                (ok, bad)
            };
            // With --model, every lesson against that model (a lesson written for another is reported);
            // without it, each lesson against its own model, each model loaded once.
            let mut checked_against = Vec::new();
            if model.model.is_some() {
                let loaded = load_model(&model)?;
                for l in &lessons {
                    errors.extend(check_against(l, &loaded));
                }
                checked_against.push(loaded.files.name.clone());
            } else {
                let mut names: Vec<&str> = lessons
                    .iter()
                    .flat_map(|l| std::iter::once(l.meta.model.as_str()).chain(l.other_models()))
                    .collect();
                names.sort();
                names.dedup();
                for name in names {
                    let spec = ModelArgs {
                        model: (name != loader::BUNDLED_NAME).then(|| name.to_string()),
                        device: model.device,
                    };
                    let loaded = load_model(&spec).map_err(|e| {
                        let needing: Vec<&str> = lessons
                            .iter()
                            .filter(|l| l.meta.model == name || l.other_models().contains(&name))
                            .map(|l| l.meta.id.as_str())
                            .collect();
                        e.wrap_err(format!(
                            "lessons {} are written for {name}",
                            needing.join(", ")
                        ))
                    })?;
                    for l in &lessons {
                        if l.meta.model == name {
                            errors.extend(check_against(l, &loaded));
                        }
                        errors.extend(check_claims_on(l, &loaded));
                    }
                    checked_against.push(loaded.files.name.clone());
                }
            }
            for e in &errors {
                eprintln!("{e}");
            }
            let n = lessons.len()
                + errors
                    .iter()
                    .filter(|e| !lessons.iter().any(|l| l.path == e.path))
                    .count();
            if errors.is_empty() {
                writeln!(
                    std::io::stdout(),
                    "{} lessons checked against {}: no problems",
                    lessons.len(),
                    checked_against.join(" and ")
                )?;
                Ok(())
            } else {
                hinted(
                    format!(
                        "{} in {}",
                        plural(errors.len(), "problem"),
                        plural(n, "lesson file")
                    ),
                    "each line above is file:line: problem; lessons/README.md explains the format",
                )
            }
        }
    }
}

fn list() -> Result<()> {
    let source = Source::from_env();
    let (lessons, errors) = source.load();
    let opened = Progress::open(Progress::default_path());
    if let Some(notice) = &opened.notice {
        eprintln!("warning: {}", notice.full);
    }
    let progress = opened.progress;
    // Written, not printed: `glassbox lessons list | head` closing the pipe is not a crash.
    let mut out = std::io::stdout().lock();
    // Columns as wide as their longest entry, so a long title never pushes the counts out of line.
    let id_w = lessons
        .iter()
        .map(|l| l.meta.id.chars().count())
        .max()
        .unwrap_or(0);
    let title_w = lessons
        .iter()
        .map(|l| l.meta.title.chars().count())
        .max()
        .unwrap_or(0);
    for (i, l) in lessons.iter().enumerate() {
        let tasks = l.steps.iter().filter(|s| s.task.is_some()).count();
        let p = progress.lessons.get(&l.meta.id);
        let done = p.map_or(0, |p| p.done.len());
        let mark = if p.is_some_and(|p| p.completed) {
            "✓"
        } else {
            " "
        };
        writeln!(
            out,
            "{mark} {:>2}  {:<id_w$}  {:<title_w$}  {done}/{tasks} tasks{}",
            i + 1,
            l.meta.id,
            l.meta.title,
            model_note(&l.meta.model)
        )?;
    }
    for e in &errors {
        eprintln!("{e}");
    }
    if lessons.is_empty() && errors.is_empty() {
        return no_lessons(&source);
    }
    Ok(())
}

/// After a lesson written for a real model: which one, and how to get it when it is missing.
fn model_note(model: &str) -> String {
    if model == loader::BUNDLED_NAME {
        return String::new();
    }
    match KnownModel::named(model) {
        Some(k) if k.find().is_none() => format!("  on {} (not downloaded: {})", k.name, k.fetch),
        Some(k) => format!("  on {}", k.name),
        None => format!("  on {model}"),
    }
}

/// A lessons folder that is missing or holds no lesson file: nothing to list or check is an error,
/// not "0 lessons: no problems".
fn no_lessons(source: &Source) -> Result<()> {
    hinted(
        format!("no lessons in {source}"),
        "set GLASSBOX_LESSONS to a folder of NN-name.md lesson files (`glassbox lessons export DIR` writes one), or unset it for the built-in lessons",
    )
}

/// Write the built-in lessons and README.md into `dir` for a teacher to edit. Every name is checked
/// before anything is written, so a refusal leaves the folder as it was; each file is written
/// atomically.
fn export(dir: &Path, force: bool) -> Result<()> {
    if dir.exists() && !dir.is_dir() {
        return hinted(
            format!(
                "cannot export the lessons into {}: it is not a folder",
                dir.display()
            ),
            "give the path of a folder (it is created if missing)",
        );
    }
    let files = builtin::files();
    let taken: Vec<&str> = files
        .iter()
        .map(|(name, _)| *name)
        .filter(|name| dir.join(name).symlink_metadata().is_ok())
        .collect();
    if !taken.is_empty() && !force {
        return hinted(
            format!(
                "{} already holds {}: nothing was written",
                dir.display(),
                list_names(&taken)
            ),
            "pass --force to replace them, or choose an empty folder",
        );
    }
    std::fs::create_dir_all(dir).map_err(|e| {
        color_eyre::eyre::eyre!(glassbox::error::Hinted::new(
            format!("cannot create {}: {e}", dir.display()),
            "check the path, or choose another folder",
        ))
    })?;
    for (name, text) in files {
        glassbox::fsutil::write_atomic(&dir.join(name), |tmp| {
            std::fs::write(tmp, text).map_err(Into::into)
        })?;
    }
    let lessons = files
        .iter()
        .filter(|(n, _)| builtin::is_lesson_name(n))
        .count();
    let shown = shell_word(&dir.display().to_string());
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "wrote {lessons} lessons and README.md (the format reference) to {}",
        dir.display()
    )?;
    writeln!(out, "edit them, then teach from them with:")?;
    writeln!(out, "  {}={shown} glassbox", builtin::ENV)?;
    writeln!(out, "  {}={shown} glassbox lessons check", builtin::ENV)?;
    Ok(())
}

/// "a.md", "a.md and b.md", "a.md, b.md and 3 more".
fn list_names(names: &[&str]) -> String {
    match names {
        [one] => one.to_string(),
        [a, b] => format!("{a} and {b}"),
        [a, b, rest @ ..] => format!("{a}, {b} and {} more", rest.len()),
        [] => String::new(),
    }
}

/// `text` as one word for a POSIX shell: as it is when it needs no quoting, else in single quotes.
fn shell_word(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+,:@%".contains(c));
    if plain {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

/// "1 problem", "2 problems".
fn plural(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_is_shown_as_one_shell_word() {
        assert_eq!(shell_word("my-lessons/v2"), "my-lessons/v2");
        assert_eq!(shell_word("my lessons"), "'my lessons'");
        assert_eq!(shell_word("it's"), "'it'\\''s'");
        assert_eq!(shell_word(""), "''");
    }

    #[test]
    fn names_are_listed_short() {
        assert_eq!(list_names(&["a.md"]), "a.md");
        assert_eq!(list_names(&["a.md", "b.md"]), "a.md and b.md");
        assert_eq!(list_names(&["a", "b", "c", "d"]), "a, b and 2 more");
    }
}
