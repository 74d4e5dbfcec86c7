//! The lessons built into the binary (lessons/*.md in the source tree, embedded by build.rs), and
//! where the tutor takes its lessons from: these, or the folder GLASSBOX_LESSONS names.

use std::path::{Path, PathBuf};

use super::{Lesson, LessonError};

mod data {
    include!(concat!(env!("OUT_DIR"), "/builtin_lessons.rs"));
}

/// The variable that points the tutor at a folder of lessons instead of the built-in ones.
pub const ENV: &str = "GLASSBOX_LESSONS";

/// Every built-in file by name: the lessons (NN-name.md) and README.md, the format reference.
pub fn files() -> &'static [(&'static str, &'static str)] {
    data::FILES
}

/// Where lessons are read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The lessons built into the binary.
    Builtin,
    /// A folder of NN-name.md files (GLASSBOX_LESSONS).
    Folder(PathBuf),
}

impl Source {
    /// GLASSBOX_LESSONS when set (and not empty), else the built-in lessons.
    pub fn from_env() -> Source {
        match std::env::var_os(ENV).filter(|v| !v.is_empty()) {
            Some(dir) => Source::Folder(PathBuf::from(dir)),
            None => Source::Builtin,
        }
    }

    /// Every lesson, in name order; a broken one is reported and skipped, so the others still load.
    pub fn load(&self) -> (Vec<Lesson>, Vec<LessonError>) {
        match self {
            Source::Folder(dir) => super::load_all(dir),
            Source::Builtin => load_builtin(),
        }
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Builtin => f.write_str("the built-in lessons"),
            Source::Folder(dir) => write!(f, "{} ({ENV})", dir.display()),
        }
    }
}

/// Whether a file name is a lesson's (NN-name.md), not README.md or another note.
pub fn is_lesson_name(name: &str) -> bool {
    name.ends_with(".md") && name.starts_with(|c: char| c.is_ascii_digit())
}

/// The built-in lessons, parsed from the embedded text. Each is named lessons/NN-name.md, as in the
/// source tree, so an error still says which file and line.
fn load_builtin() -> (Vec<Lesson>, Vec<LessonError>) {
    let parsed = files()
        .iter()
        .filter(|(name, _)| is_lesson_name(name))
        .map(|(name, text)| Lesson::parse(&Path::new("lessons").join(name), text));
    super::collect(parsed)
}
