//! The bundled model and the scaling family's records, embedded in the binary (see build.rs) and
//! unpacked once into a per-user cache folder named by their content hash, because the loader
//! memory-maps files by path: `bundled/models-<hash>/` under glassbox's cache folder
//! ([`super::cache_root`]: `$GLASSBOX_CACHE`, else `$XDG_CACHE_HOME/glassbox`, else
//! `~/.cache/glassbox`). The source tree is never consulted, so glassbox behaves the same
//! installed or run from the repository.
//!
//! The folder is written under a temporary name beside it and renamed into place when complete, so a
//! second glassbox starting at the same moment never sees half a folder: whichever rename comes
//! second finds the folder there and uses it.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use color_eyre::eyre::{eyre, Result};

use crate::error::Hinted;

mod data {
    include!(concat!(env!("OUT_DIR"), "/bundled_models.rs"));
}

/// Temporary folders left by an unpacking that was killed are removed once they are this old.
const STALE_AFTER: Duration = Duration::from_secs(600);

/// The bundled model's folder (unpacked on first use).
pub fn bundled_dir() -> Result<PathBuf> {
    Ok(unpacked()?.join("glassbox-tiny"))
}

/// The scaling family's runs, beside the bundled model (unpacked on first use).
pub fn scaling_dir() -> Result<PathBuf> {
    Ok(unpacked()?.join("scaling"))
}

/// The embedded files, as (path inside the bundle, contents).
pub fn files() -> &'static [(&'static str, &'static [u8])] {
    data::FILES
}

/// The folder the bundle is unpacked into: `bundled` in glassbox's cache folder.
pub fn cache_parent() -> Option<PathBuf> {
    Some(super::cache_root()?.join("bundled"))
}

fn unpacked() -> Result<PathBuf> {
    let Some(parent) = cache_parent() else {
        return Err(eyre!(Hinted::new(
            "no folder to unpack the bundled model into: GLASSBOX_CACHE, XDG_CACHE_HOME and HOME are all unset",
            "set GLASSBOX_CACHE to a writable folder, or pass --model FOLDER|FILE.gguf|HUB_NAME",
        )));
    };
    unpack_into(&parent)
}

/// The bundle's folder under `parent`, written there first if it is missing or incomplete.
pub fn unpack_into(parent: &Path) -> Result<PathBuf> {
    let target = parent.join(format!("models-{}", data::HASH));
    if complete(&target) {
        return Ok(target);
    }
    let fail = |e: std::io::Error| {
        eyre!(Hinted::new(
            format!(
                "cannot unpack the bundled model into {}: {e}",
                parent.display()
            ),
            "make that folder writable (and check there are 5 MB free), or set GLASSBOX_CACHE to a writable folder",
        ))
    };
    std::fs::create_dir_all(parent).map_err(fail)?;
    remove_stale(parent);
    let tmp = parent.join(format!(".models-{}.{}", data::HASH, unique("tmp")));
    let written = write_all(&tmp).and_then(|()| place(&tmp, &target));
    let _ = std::fs::remove_dir_all(&tmp);
    written.map_err(fail)?;
    Ok(target)
}

/// Every embedded file is there with its size. (A folder only ever appears whole, by a rename; this
/// also catches one damaged since, e.g. a file cut short or deleted by a cache cleaner.)
fn complete(dir: &Path) -> bool {
    data::FILES.iter().all(|(name, bytes)| {
        std::fs::metadata(dir.join(name))
            .is_ok_and(|m| m.is_file() && m.len() == bytes.len() as u64)
    })
}

fn write_all(tmp: &Path) -> std::io::Result<()> {
    for (name, bytes) in data::FILES {
        let path = tmp.join(name);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&path, bytes)?;
    }
    Ok(())
}

/// Rename the finished folder into place. Where the rename fails because the target exists, another
/// process won the race (use its folder) or an old folder is damaged (move it aside, then retry).
fn place(tmp: &Path, target: &Path) -> std::io::Result<()> {
    let Err(first) = std::fs::rename(tmp, target) else {
        return Ok(());
    };
    if !target.exists() {
        return Err(first);
    }
    if complete(target) {
        return Ok(());
    }
    let aside = target.with_file_name(format!(".models-{}.{}", data::HASH, unique("old")));
    std::fs::rename(target, &aside)?;
    let _ = std::fs::remove_dir_all(&aside);
    match std::fs::rename(tmp, target) {
        Err(_) if complete(target) => Ok(()),
        other => other,
    }
}

/// A name part no other process or thread uses at the same time: "tmp-PID-N".
fn unique(what: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{what}-{}-{n}", std::process::id())
}

/// Remove temporary folders (".models-*") that an interrupted unpacking left behind long ago; a
/// young one may belong to a process unpacking right now.
fn remove_stale(parent: &Path) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name.to_string_lossy().starts_with(".models-") {
            continue;
        }
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > STALE_AFTER);
        if old {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpacks_once_and_whole() {
        let cache = tempfile::tempdir().unwrap();
        let dir = unpack_into(cache.path()).unwrap();
        for (name, bytes) in files() {
            assert_eq!(&std::fs::read(dir.join(name)).unwrap(), bytes, "{name}");
        }
        assert!(dir.join("glassbox-tiny/model.safetensors").is_file());
        assert!(dir.join("scaling").is_dir());
        // Nothing else is left beside it.
        let names: Vec<_> = std::fs::read_dir(cache.path()).unwrap().flatten().collect();
        assert_eq!(names.len(), 1);

        // A damaged file is noticed and the folder written again.
        std::fs::write(dir.join("glassbox-tiny/config.json"), b"{").unwrap();
        let again = unpack_into(cache.path()).unwrap();
        assert_eq!(again, dir);
        assert!(complete(&again));
        assert_eq!(std::fs::read_dir(cache.path()).unwrap().count(), 1);
    }

    #[test]
    fn processes_unpacking_at_once_all_get_a_whole_folder() {
        let cache = tempfile::tempdir().unwrap();
        let parent = cache.path().to_path_buf();
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let parent = parent.clone();
                std::thread::spawn(move || unpack_into(&parent).unwrap())
            })
            .collect();
        for t in threads {
            let dir = t.join().unwrap();
            assert!(complete(&dir));
        }
        assert_eq!(std::fs::read_dir(cache.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_cache_that_cannot_be_written_is_named_with_the_fix() {
        let cache = tempfile::tempdir().unwrap();
        // A path through a file: refused even to root, unlike a read-only folder.
        let file = cache.path().join("file");
        std::fs::write(&file, b"x").unwrap();
        let parent = file.join("glassbox");
        let e = unpack_into(&parent).unwrap_err();
        let (line, hint) = crate::error::one_line(&e);
        assert!(line.contains(&parent.display().to_string()), "{line}");
        assert!(hint.unwrap().contains("GLASSBOX_CACHE"));
    }
}
