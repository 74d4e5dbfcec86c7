//! Lesson progress: which step each lesson is at and which tasks are done, saved atomically under
//! $XDG_DATA_HOME/glassbox (or the platform's data folder), so a learner resumes where they left off.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use color_eyre::eyre::{Result, WrapErr};
use serde::{Deserialize, Serialize};

use crate::fsutil::write_atomic;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LessonProgress {
    /// The step shown last (0-based).
    pub step: usize,
    /// Steps whose task is done.
    pub done: BTreeSet<usize>,
    /// Every task done and the last step reached.
    pub completed: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// The lesson open last.
    pub last: Option<String>,
    pub lessons: BTreeMap<String, LessonProgress>,
}

impl Progress {
    /// $XDG_DATA_HOME/glassbox/progress.json, else the platform's data folder; None if neither is known.
    pub fn default_path() -> Option<PathBuf> {
        let base = std::env::var_os("XDG_DATA_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(dirs::data_dir)?;
        Some(base.join("glassbox").join("progress.json"))
    }

    /// Read the file; a missing file is a fresh start. A file that does not parse (for example cut
    /// short by a crash of an older version) is reported, not overwritten silently.
    pub fn load(path: &Path) -> Result<Progress> {
        match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text).wrap_err_with(|| {
                format!(
                    "cannot read lesson progress {}: delete it to start over",
                    path.display()
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Progress::default()),
            Err(e) => Err(e).wrap_err_with(|| format!("cannot read {}", path.display())),
        }
    }

    /// Write atomically: a temporary file beside it, renamed over it when complete.
    pub fn save(&self, path: &Path) -> Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .wrap_err_with(|| format!("cannot create {}", dir.display()))?;
        }
        let json = serde_json::to_string_pretty(self)?;
        write_atomic(path, |tmp| {
            std::fs::write(tmp, json.as_bytes())
                .wrap_err_with(|| format!("cannot write {}", tmp.display()))
        })
    }

    pub fn lesson_mut(&mut self, id: &str) -> &mut LessonProgress {
        self.lessons.entry(id.to_string()).or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saves_and_loads_and_a_failed_write_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("progress.json");
        assert_eq!(Progress::load(&path).unwrap(), Progress::default());
        let mut p = Progress {
            last: Some("tokens".into()),
            ..Progress::default()
        };
        p.lesson_mut("tokens").done.insert(2);
        p.save(&path).unwrap();
        assert_eq!(Progress::load(&path).unwrap(), p);

        // An interrupted write (the temporary file is written, the rename never happens) leaves the
        // saved progress as it was.
        let before = std::fs::read(&path).unwrap();
        let r = write_atomic(&path, |tmp| {
            std::fs::write(tmp, b"{\"last\": \"half")?;
            color_eyre::eyre::bail!("killed")
        });
        assert!(r.is_err());
        assert_eq!(std::fs::read(&path).unwrap(), before);
        assert_eq!(
            std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
            1
        );
    }

    #[test]
    fn a_corrupt_file_is_an_error_that_names_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("progress.json");
        std::fs::write(&path, "{not json").unwrap();
        let e = Progress::load(&path).unwrap_err().to_string();
        assert!(
            e.contains("progress.json") && e.contains("delete it"),
            "{e}"
        );
    }
}
