//! Writing the output folder atomically: everything goes into a hidden temporary folder beside the
//! target, which is renamed into place only when complete. A failed run removes its temporary folder;
//! an interrupted one (Ctrl-C) leaves nothing either, because the folder is only created after
//! training, when the files are written (a second or two).

use std::path::{Path, PathBuf};

use color_eyre::eyre::{Result, WrapErr};

use crate::error::hinted;

/// A checked output location.
#[derive(Debug, Clone)]
pub struct OutDir {
    pub target: PathBuf,
    parent: PathBuf,
    name: String,
    force: bool,
}

impl OutDir {
    /// Check before any work that the folder can be written, so a mistake fails in a second, not
    /// after an hour of training.
    pub fn check(target: &Path, force: bool) -> Result<Self> {
        let Some(name) = target.file_name().map(|n| n.to_string_lossy().into_owned()) else {
            return hinted(
                format!("--out {}: not a folder name", target.display()),
                "pass a folder to create, e.g. --out models/my-tiny",
            );
        };
        let parent = crate::fsutil::existing_parent(target)?;
        let out = Self {
            target: target.to_path_buf(),
            parent,
            name,
            force,
        };
        out.refuse_existing()?;
        out.probe()?;
        Ok(out)
    }

    /// Create and remove the temporary folder once, so an unwritable place fails now.
    fn probe(&self) -> Result<()> {
        let tmp = self.beside("tmp");
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

    fn refuse_existing(&self) -> Result<()> {
        if !self.force && self.target.symlink_metadata().is_ok() {
            return hinted(
                format!("{} already exists", self.target.display()),
                "choose another --out, or pass --force to replace it",
            );
        }
        Ok(())
    }

    fn beside(&self, what: &str) -> PathBuf {
        self.parent
            .join(format!(".{}.{what}-{}", self.name, std::process::id()))
    }

    /// Fill a fresh temporary folder through `fill`, then move it to the target (replacing an old
    /// one only under --force). On any error the temporary folder is removed.
    pub fn write(&self, fill: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
        let tmp = self.beside("tmp");
        let _ = std::fs::remove_dir_all(&tmp); // a leftover from a crashed run with our PID
        let result = std::fs::create_dir(&tmp)
            .wrap_err_with(|| format!("cannot create {}", tmp.display()))
            .and_then(|()| fill(&tmp))
            .and_then(|()| self.swap_in(&tmp));
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

        out.write(|tmp| Ok(std::fs::write(tmp.join("a"), b"1")?))
            .unwrap();
        assert!(OutDir::check(&target, false).is_err());
        let forced = OutDir::check(&target, true).unwrap();
        forced
            .write(|tmp| Ok(std::fs::write(tmp.join("b"), b"2")?))
            .unwrap();
        assert!(target.join("b").is_file() && !target.join("a").exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
