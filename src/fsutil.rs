//! Atomic file writes: a temporary file beside the target, renamed over it only when complete, so a
//! failed or interrupted write never leaves a partial file behind (`interrupt` deletes the temporary file
//! on Ctrl-C, SIGTERM or SIGHUP).

use std::path::{Path, PathBuf};

use color_eyre::eyre::{Result, WrapErr};

use crate::error::hinted;

/// The folder `path` will be created in ("." for a bare name), which must exist: checked before any
/// work so that a typo fails at once.
pub fn existing_parent(path: &Path) -> Result<PathBuf> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !parent.is_dir() {
        return hinted(
            format!(
                "cannot write {}: the folder {} does not exist",
                path.display(),
                parent.display()
            ),
            "create the folder first, or choose another path",
        );
    }
    Ok(parent)
}

/// Write `path` through `write`, which receives the temporary path to fill.
pub fn write_atomic(path: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let parent = existing_parent(path)?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let tmp = parent.join(format!(".{file_name}.tmp-{}", std::process::id()));
    crate::interrupt::delete_on_interrupt(&tmp);
    let result = write(&tmp).and_then(|()| {
        std::fs::rename(&tmp, path).wrap_err_with(|| format!("cannot write {}", path.display()))
    });
    crate::interrupt::forget();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_write_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.bin");
        let r = write_atomic(&target, |tmp| {
            std::fs::write(tmp, b"partial")?;
            color_eyre::eyre::bail!("disk full")
        });
        assert!(r.is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

        write_atomic(&target, |tmp| Ok(std::fs::write(tmp, b"whole")?)).unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"whole");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn missing_folder_is_named() {
        let e = write_atomic(Path::new("/nonexistent-dir-xyz/out.bin"), |_| Ok(())).unwrap_err();
        assert!(e.to_string().contains("/nonexistent-dir-xyz"), "{e}");
    }
}
