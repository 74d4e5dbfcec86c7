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
    /// The furthest step reached (0-based), so a lesson whose last step was seen before its last task
    /// was done still completes. Absent in files of earlier versions.
    #[serde(default)]
    pub furthest: usize,
}

/// The progress a session starts from, the file it saves to (None: it does not save), and what to
/// tell the learner about the file, if anything.
#[derive(Debug, Clone, Default)]
pub struct Opened {
    pub progress: Progress,
    pub path: Option<PathBuf>,
    pub notice: Option<Notice>,
}

/// What happened to a progress file that could not be used: a few words for a status line, and the
/// whole story (paths, the parse error) for where there is room.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub short: String,
    pub full: String,
}

/// `progress.json` → `progress.json.damaged-20261129-213005` (UTC), beside it.
fn set_aside_name(path: &Path, now: std::time::SystemTime) -> PathBuf {
    let secs = now
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let t = secs % 86_400;
    let stamp = format!(
        "{y:04}{m:02}{d:02}-{:02}{:02}{:02}",
        t / 3600,
        t / 60 % 60,
        t % 60
    );
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".damaged-{stamp}"));
    path.with_file_name(name)
}

/// Days since 1970-01-01 → (year, month, day) in the proleptic Gregorian calendar (Howard Hinnant's
/// `civil_from_days`), so a file name can carry a readable date without a date crate.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
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

    /// Read the progress file for a session that will save to it. A file that cannot be used is
    /// never overwritten: a damaged one (cut short, edited by hand) is renamed aside with a timestamp
    /// and the learner starts afresh; one that cannot be read at all (permissions, a folder) is left
    /// alone and this session does not save. Either way `notice` says so.
    pub fn open(path: Option<PathBuf>) -> Opened {
        let Some(path) = path else {
            return Opened::default();
        };
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Opened {
                    path: Some(path),
                    ..Opened::default()
                }
            }
            Err(e) => {
                return Opened {
                    notice: Some(Notice {
                        short: "lesson progress cannot be read and will not be saved".into(),
                        full: format!(
                            "cannot read {}: {e}; progress will not be saved this session",
                            path.display()
                        ),
                    }),
                    ..Opened::default()
                }
            }
        };
        let damage = match serde_json::from_slice(&bytes) {
            Ok(progress) => {
                return Opened {
                    progress,
                    path: Some(path),
                    notice: None,
                }
            }
            Err(e) => e,
        };
        let aside = set_aside_name(&path, std::time::SystemTime::now());
        match std::fs::rename(&path, &aside) {
            Ok(()) => Opened {
                progress: Progress::default(),
                path: Some(path.clone()),
                notice: Some(Notice {
                    short: "lesson progress was damaged: set aside, starting afresh".into(),
                    full: format!(
                        "{} was damaged ({damage}): kept as {} and starting afresh",
                        path.display(),
                        aside.display()
                    ),
                }),
            },
            Err(e) => Opened {
                notice: Some(Notice {
                    short: "lesson progress was damaged and will not be saved".into(),
                    full: format!(
                        "{} was damaged ({damage}) and could not be set aside ({e}): progress will not be saved this session",
                        path.display()
                    ),
                }),
                ..Opened::default()
            },
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
    fn a_damaged_file_is_set_aside_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("progress.json");
        let damaged = "{\"last\": \"tokens\", \"lessons\": {},}";
        std::fs::write(&path, damaged).unwrap();
        let opened = Progress::open(Some(path.clone()));
        assert_eq!(opened.progress, Progress::default());
        assert_eq!(opened.path.as_deref(), Some(path.as_path()));
        let notice = opened.notice.unwrap().full;
        assert!(
            notice.contains("trailing comma") && notice.contains(".damaged-"),
            "{notice}"
        );
        // The damaged bytes are kept, under the name the notice gives; the path is free for saving.
        assert!(!path.exists());
        let kept: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(kept.len(), 1);
        let kept = kept[0].as_ref().unwrap().path();
        assert!(notice.contains(&kept.display().to_string()), "{notice}");
        assert_eq!(std::fs::read_to_string(&kept).unwrap(), damaged);

        // A missing file is a fresh start with nothing to say; a good file reads back.
        let opened = Progress::open(Some(path.clone()));
        assert!(opened.notice.is_none() && opened.path.is_some());
        opened.progress.save(&path).unwrap();
        assert!(Progress::open(Some(path)).notice.is_none());
    }

    #[test]
    fn a_progress_path_that_is_not_a_file_is_left_alone_and_not_saved() {
        let dir = tempfile::tempdir().unwrap();
        let opened = Progress::open(Some(dir.path().to_path_buf()));
        assert!(opened.path.is_none());
        assert!(opened.notice.unwrap().full.contains("not be saved"));
        assert!(dir.path().is_dir());
    }

    #[test]
    fn set_aside_names_carry_the_utc_date() {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_795_987_805);
        let name = set_aside_name(Path::new("/d/progress.json"), t);
        assert_eq!(name, Path::new("/d/progress.json.damaged-20261129-213005"));
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
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
