//! Writing the output folder atomically: everything goes into a hidden temporary folder beside the
//! target, which is renamed into place only when complete. A failed run removes its temporary folder;
//! an interrupted one (Ctrl-C, SIGTERM) leaves nothing either: the folder is only created after
//! training, when the files are written, and `interrupt` deletes it if a signal comes then.

use std::path::{Path, PathBuf};

use color_eyre::eyre::{Result, WrapErr};

use crate::error::hinted;

/// The files a training run writes: a folder holding only these (or nothing) may be replaced.
const WRITTEN: [&str; 5] = [
    "config.json",
    "tokenizer.json",
    "model.safetensors",
    "train_log.csv",
    "train_args.json",
];

/// A checked output location.
#[derive(Debug, Clone)]
pub struct OutDir {
    pub target: PathBuf,
    parent: PathBuf,
    force: bool,
}

impl OutDir {
    /// Check before any work that the folder can be written, so a mistake fails in a second, not
    /// after an hour of training.
    pub fn check(target: &Path, force: bool) -> Result<Self> {
        if target.file_name().is_none() {
            return hinted(
                format!("--out {}: not a folder name", target.display()),
                "pass a folder to create, e.g. --out models/my-tiny",
            );
        };
        let parent = crate::fsutil::existing_parent(target)?;
        let out = Self {
            target: target.to_path_buf(),
            parent,
            force,
        };
        out.refuse_existing()?;
        out.probe()?;
        Ok(out)
    }

    /// Create and remove the temporary folder once, so an unwritable place fails now.
    fn probe(&self) -> Result<()> {
        let tmp = self.beside("probe"); // not "tmp": that name means a model being saved
        let _ = std::fs::remove_dir_all(&tmp); // a leftover from a crashed run with our PID
        if let Err(e) = std::fs::create_dir(&tmp) {
            return hinted(
                format!("cannot write in {}: {e}", self.parent.display()),
                "choose a folder you can write to",
            );
        }
        let _ = std::fs::remove_dir(&tmp);
        Ok(())
    }

    /// Without --force nothing that exists is replaced; with it, only a folder (a model written
    /// earlier), never a file, a symbolic link or a device that happens to have the name.
    fn refuse_existing(&self) -> Result<()> {
        let Ok(meta) = self.target.symlink_metadata() else {
            return Ok(());
        };
        if !meta.is_dir() {
            return hinted(
                format!(
                    "{} already exists and is not a folder",
                    self.target.display()
                ),
                "choose another --out; --force replaces only a folder",
            );
        }
        if !self.force {
            return hinted(
                format!("{} already exists", self.target.display()),
                "choose another --out, or pass --force to replace it",
            );
        }
        // A folder is replaced whole: only one that holds nothing but what training writes, so a
        // mistyped --out (a home folder, a project) is never deleted.
        let entries = std::fs::read_dir(&self.target)
            .wrap_err_with(|| format!("cannot read {}", self.target.display()))?;
        for entry in entries {
            let name = entry?.file_name();
            if !WRITTEN.iter().any(|w| name == *w) {
                return hinted(
                    format!(
                        "{} holds {}, which training did not write",
                        self.target.display(),
                        name.to_string_lossy()
                    ),
                    "--force replaces only a folder written by `glassbox train`: choose another --out",
                );
            }
        }
        Ok(())
    }

    fn beside(&self, what: &str) -> PathBuf {
        crate::fsutil::beside(&self.parent, &self.target, what)
    }

    /// Fill a fresh temporary folder through `fill`, then move it to the target (replacing an old
    /// one only under --force). On any error the temporary folder is removed.
    pub fn write(&self, fill: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
        let tmp = self.beside("tmp");
        let _ = std::fs::remove_dir_all(&tmp); // a leftover from a crashed run with our PID
        crate::interrupt::delete_on_interrupt(&tmp);
        let result = std::fs::create_dir(&tmp)
            .wrap_err_with(|| format!("cannot create {}", tmp.display()))
            .and_then(|()| fill(&tmp))
            .and_then(|()| self.swap_in(&tmp));
        crate::interrupt::forget();
        if result.is_err() {
            let _ = std::fs::remove_dir_all(&tmp);
        }
        result
    }

    fn swap_in(&self, tmp: &Path) -> Result<()> {
        self.refuse_existing()?; // it may have appeared while we trained
        let old = self.beside("old");
        let had_old = self.target.symlink_metadata().is_ok();
        if had_old {
            std::fs::rename(&self.target, &old)
                .wrap_err_with(|| format!("cannot move {} aside", self.target.display()))?;
        }
        if let Err(e) = std::fs::rename(tmp, &self.target) {
            if had_old {
                let _ = std::fs::rename(&old, &self.target); // put the old one back
            }
            return Err(e).wrap_err_with(|| format!("cannot create {}", self.target.display()));
        }
        if had_old {
            let removed = if old.is_dir() {
                std::fs::remove_dir_all(&old)
            } else {
                std::fs::remove_file(&old)
            };
            removed.wrap_err_with(|| format!("cannot remove the replaced {}", old.display()))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_leaves_nothing_and_force_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("m");
        let out = OutDir::check(&target, false).unwrap();
        let r = out.write(|tmp| {
            std::fs::write(tmp.join("a"), b"x")?;
            color_eyre::eyre::bail!("boom")
        });
        assert!(r.is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

        out.write(|tmp| Ok(std::fs::write(tmp.join("train_log.csv"), b"1")?))
            .unwrap();
        assert!(OutDir::check(&target, false).is_err());
        let forced = OutDir::check(&target, true).unwrap();
        forced
            .write(|tmp| Ok(std::fs::write(tmp.join("config.json"), b"2")?))
            .unwrap();
        assert!(target.join("config.json").is_file() && !target.join("train_log.csv").exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn force_never_replaces_what_training_did_not_write() {
        let dir = tempfile::tempdir().unwrap();
        // A folder with someone's files in it.
        let project = dir.path().join("project");
        std::fs::create_dir(&project).unwrap();
        std::fs::write(project.join("notes.txt"), b"mine").unwrap();
        let e = OutDir::check(&project, true).unwrap_err().to_string();
        assert!(e.contains("notes.txt"), "{e}");
        // A file, and a link to a model folder, are not folders to replace.
        let file = dir.path().join("file");
        std::fs::write(&file, b"mine").unwrap();
        let e = OutDir::check(&file, true).unwrap_err().to_string();
        assert!(e.contains("not a folder"), "{e}");
        #[cfg(unix)]
        {
            let link = dir.path().join("link");
            std::os::unix::fs::symlink(&project, &link).unwrap();
            assert!(OutDir::check(&link, true).is_err());
        }
        assert_eq!(std::fs::read(project.join("notes.txt")).unwrap(), b"mine");
    }

    #[test]
    fn a_long_name_keeps_its_temporary_folder_under_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("m".repeat(250));
        let out = OutDir::check(&target, false).unwrap();
        out.write(|tmp| Ok(std::fs::write(tmp.join("config.json"), b"1")?))
            .unwrap();
        assert!(target.join("config.json").is_file());
    }
}
