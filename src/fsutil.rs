//! Writing output files without harming what is already there.
//!
//! A regular file (or a name that does not exist yet) is written atomically: a temporary file beside
//! the target, renamed over it only when complete, so a failed or interrupted write never leaves a
//! partial file behind (`interrupt` deletes the temporary file on Ctrl-C, SIGTERM, SIGHUP or SIGQUIT).
//! Anything else that already exists is never replaced by a rename: a symbolic link is written through
//! to the file it points to (as editors do), a character device or a fifo (`/dev/null`, `/dev/stdout`, a
//! named pipe) is written to directly, and a folder, block device or socket is refused.

use std::fs::FileType;
use std::path::{Path, PathBuf};

use color_eyre::eyre::{Result, WrapErr};

use crate::error::hinted;

/// The longest file name most file systems take (bytes).
const NAME_MAX: usize = 255;

/// The folder `path` will be created in ("." for a bare name), which must exist: checked before any
/// work so that a typo fails at once.
pub fn existing_parent(path: &Path) -> Result<PathBuf> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !parent.is_dir() {
        let why = if parent.exists() {
            "is not a folder"
        } else {
            "does not exist"
        };
        return hinted(
            format!(
                "cannot write {}: {} {why}",
                path.display(),
                parent.display()
            ),
            "create the folder first, or choose another path",
        );
    }
    Ok(parent)
}

/// How an output path is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// A regular file, new or old, at this path (a symbolic link's final target): replaced atomically.
    Replace(PathBuf),
    /// A character device or a fifo: written directly, in order, never renamed over.
    Direct(PathBuf),
}

/// Check an output path before any work, and say how it will be written. Errors name the path and
/// why it cannot be written.
pub fn check_output(path: &Path) -> Result<Output> {
    check_name_length(path)?;
    let meta = match path.symlink_metadata() {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            existing_parent(path)?;
            return Ok(Output::Replace(path.to_path_buf()));
        }
        Err(e) => return cannot_write(path, e),
    };
    if meta.file_type().is_symlink() {
        // Write through to what the link names. A regular file is replaced at its real path; a
        // device or pipe is opened through the link (`/dev/stdout` → `/proc/self/fd/1` → `pipe:[…]`
        // has no path of its own).
        return match std::fs::metadata(path) {
            Ok(target) if target.is_file() => match std::fs::canonicalize(path) {
                Ok(real) => check_output(&real),
                Err(e) => cannot_write(path, e),
            },
            Ok(target) => classify(path, &target),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let to = std::fs::read_link(path).unwrap_or_default();
                hinted(
                    format!(
                        "cannot write {}: it is a symbolic link to {}, which does not exist",
                        path.display(),
                        to.display()
                    ),
                    "remove the link, or give the path of the file itself",
                )
            }
            Err(e) => cannot_write(path, e),
        };
    }
    classify(path, &meta)
}

/// A path that exists and is not a symbolic link.
fn classify(path: &Path, meta: &std::fs::Metadata) -> Result<Output> {
    let kind = meta.file_type();
    if kind.is_file() {
        if meta.permissions().readonly() {
            return hinted(
                format!("cannot write {}: the file is read-only", path.display()),
                "make it writable, or choose another path",
            );
        }
        existing_parent(path)?;
        return Ok(Output::Replace(path.to_path_buf()));
    }
    if is_streamable(kind) {
        return Ok(Output::Direct(path.to_path_buf()));
    }
    hinted(
        format!(
            "cannot write {}: it is {}, not a file",
            path.display(),
            describe(kind)
        ),
        "give the path of a regular file",
    )
}

fn cannot_write<T>(path: &Path, e: std::io::Error) -> Result<T> {
    let why = if e.kind() == std::io::ErrorKind::NotADirectory {
        "a part of the path is a file, not a folder".to_string()
    } else {
        e.to_string() // e.g. "Too many levels of symbolic links" for a link loop
    };
    hinted(
        format!("cannot write {}: {why}", path.display()),
        "check the path, or choose another one",
    )
}

#[cfg(unix)]
fn is_streamable(kind: FileType) -> bool {
    use std::os::unix::fs::FileTypeExt;
    kind.is_char_device() || kind.is_fifo()
}

#[cfg(not(unix))]
fn is_streamable(_kind: FileType) -> bool {
    false
}

fn describe(kind: FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_block_device() {
            return "a block device";
        }
        if kind.is_socket() {
            return "a socket";
        }
    }
    if kind.is_dir() {
        "a folder"
    } else {
        "a special file"
    }
}

/// A name the file system would refuse anyway, said before any work.
fn check_name_length(path: &Path) -> Result<()> {
    let len = path.file_name().map_or(0, |n| n.as_encoded_bytes().len());
    if len > NAME_MAX {
        return hinted(
            format!(
                "cannot write {}: the file name is {len} bytes, more than the {NAME_MAX} a file system allows",
                path.display()
            ),
            "choose a shorter name",
        );
    }
    Ok(())
}

/// A hidden name beside `target` for a temporary file or folder (`what` = "tmp", "old", …), unique to
/// this process and never past [`NAME_MAX`] bytes however long the target's name is.
pub fn beside(parent: &Path, target: &Path, what: &str) -> PathBuf {
    let suffix = format!(".{what}-{}", std::process::id());
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let room = NAME_MAX - 1 - suffix.len();
    let mut end = name.len().min(room);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    parent.join(format!(".{}{suffix}", &name[..end]))
}

/// Write `path` through `write`, which receives the path to fill: a temporary file renamed over the
/// target when complete, or the target itself where it is a device or fifo (see [`check_output`]).
pub fn write_atomic(path: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let real = match check_output(path)? {
        Output::Direct(p) => return write(&p),
        Output::Replace(real) => real,
    };
    let parent = existing_parent(&real)?;
    let tmp = beside(&parent, &real, "tmp");
    crate::interrupt::delete_on_interrupt(&tmp);
    let result = write(&tmp).and_then(|()| {
        std::fs::rename(&tmp, &real).wrap_err_with(|| format!("cannot write {}", path.display()))
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

    #[cfg(unix)]
    #[test]
    fn a_symbolic_link_is_written_through_and_stays_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.bin");
        std::fs::write(&real, b"old").unwrap();
        let link = dir.path().join("link.bin");
        std::os::unix::fs::symlink("real.bin", &link).unwrap();
        write_atomic(&link, |tmp| Ok(std::fs::write(tmp, b"new")?)).unwrap();
        assert!(link.symlink_metadata().unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read(&real).unwrap(), b"new");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);

        // A link to nothing, and a link loop, are refused by name; nothing is created.
        let dangling = dir.path().join("dangling.bin");
        std::os::unix::fs::symlink("missing.bin", &dangling).unwrap();
        let e = write_atomic(&dangling, |tmp| Ok(std::fs::write(tmp, b"x")?)).unwrap_err();
        assert!(e.to_string().contains("missing.bin"), "{e}");
        let looped = dir.path().join("loop.bin");
        std::os::unix::fs::symlink("loop.bin", &looped).unwrap();
        assert!(check_output(&looped).is_err());
        assert!(!dir.path().join("missing.bin").exists());
    }

    #[cfg(unix)]
    #[test]
    fn a_device_is_written_directly_and_never_replaced() {
        let null = Path::new("/dev/null");
        assert_eq!(check_output(null).unwrap(), Output::Direct(null.into()));
        write_atomic(null, |p| Ok(std::fs::write(p, b"gone")?)).unwrap();
        let meta = null.symlink_metadata().unwrap();
        use std::os::unix::fs::FileTypeExt;
        assert!(meta.file_type().is_char_device());
    }

    #[test]
    fn folders_read_only_files_and_paths_through_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let e = check_output(dir.path()).unwrap_err().to_string();
        assert!(e.contains("a folder"), "{e}");

        let file = dir.path().join("file");
        std::fs::write(&file, b"x").unwrap();
        let e = check_output(&file.join("out.bin")).unwrap_err().to_string();
        assert!(e.contains("file") && e.contains("out.bin"), "{e}");

        let mut perms = std::fs::metadata(&file).unwrap().permissions();
        perms.set_readonly(true);
        std::fs::set_permissions(&file, perms).unwrap();
        let e = check_output(&file).unwrap_err().to_string();
        assert!(e.contains("read-only"), "{e}");
    }

    #[test]
    fn long_names_get_a_temporary_name_within_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        // 245 bytes: valid, though ".NAME.tmp-PID" would not be.
        let target = dir.path().join(format!("{}.bin", "é".repeat(120) + "a"));
        assert_eq!(target.file_name().unwrap().len(), 245);
        write_atomic(&target, |tmp| Ok(std::fs::write(tmp, b"ok")?)).unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"ok");

        let too_long = dir.path().join("x".repeat(256));
        let e = check_output(&too_long).unwrap_err().to_string();
        assert!(e.contains("256 bytes"), "{e}");
    }
}
