//! What is wrong with a path a model is read from, said precisely.
//!
//! `Path::is_file` is false for a missing file, a folder of that name, a symbolic link to nothing (an
//! interrupted Hugging Face download leaves one to a missing blob), a link loop, and a path through a
//! regular file: all of them used to be reported as "missing". Here each gets its own message.

use std::path::{Path, PathBuf};

use color_eyre::eyre::Result;

use crate::error::hinted;

/// Whether `path` is a regular file that can be opened: `Ok(true)` if so, `Ok(false)` if nothing is
/// there (the caller says what was expected), an error naming the problem for anything else.
pub(super) fn present(path: &Path) -> Result<bool> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => match std::fs::File::open(path) {
            Ok(_) => Ok(true),
            Err(e) => hinted(
                format!("cannot open {}: {e}", path.display()),
                "check the file's permissions",
            ),
        },
        Ok(meta) if meta.is_dir() => hinted(
            format!("{} is a folder, not a file", path.display()),
            "put the file itself there (a model folder holds config.json, tokenizer.json and model.safetensors as files)",
        ),
        Ok(_) => hinted(
            format!("{} is not a regular file", path.display()),
            "a model's files must be regular files (not devices, pipes or sockets)",
        ),
        Err(e) => {
            why_unreachable(path, &e)?;
            if e.kind() == std::io::ErrorKind::NotFound {
                return Ok(false);
            }
            hinted(
                format!("cannot read {}: {e}", path.display()),
                "check the path and its permissions",
            )
        }
    }
}

/// An error for a path that cannot be reached for a reason other than plain absence: a link to
/// nothing, a link that cannot be followed, a path through a file. `Ok(())` otherwise, for the caller.
pub(super) fn why_unreachable(path: &Path, err: &std::io::Error) -> Result<()> {
    if let Ok(link) = std::fs::symlink_metadata(path) {
        if link.file_type().is_symlink() {
            let target = std::fs::read_link(path).unwrap_or_default();
            if err.kind() == std::io::ErrorKind::NotFound {
                return hinted(
                    format!(
                        "{} is a link to {}, which does not exist",
                        path.display(),
                        target.display()
                    ),
                    "the file it points to was moved or deleted, or its download never finished; download the model again",
                );
            }
            return hinted(
                format!(
                    "{} is a link that cannot be followed ({err})",
                    path.display()
                ),
                "point the link at the real file",
            );
        }
    }
    if err.kind() == std::io::ErrorKind::NotADirectory {
        if let Some(file) = file_on_the_way(path) {
            return hinted(
                format!(
                    "{}: {} is a file, not a folder",
                    path.display(),
                    file.display()
                ),
                "check the path",
            );
        }
    }
    Ok(())
}

/// The first component of `path` that is a file although more of the path follows it.
fn file_on_the_way(path: &Path) -> Option<PathBuf> {
    let mut ancestors: Vec<&Path> = path.ancestors().skip(1).collect();
    ancestors.reverse();
    ancestors
        .into_iter()
        .filter(|a| !a.as_os_str().is_empty())
        .find(|a| a.is_file())
        .map(Path::to_path_buf)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn message(r: Result<bool>) -> String {
        crate::error::one_line(&r.unwrap_err()).0
    }

    #[test]
    fn each_way_of_not_being_a_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let at = |n: &str| dir.path().join(n);
        std::fs::write(at("file"), "x").unwrap();
        std::fs::create_dir(at("folder")).unwrap();
        std::os::unix::fs::symlink("../blobs/abc", at("dangling")).unwrap();
        std::os::unix::fs::symlink("loop", at("loop")).unwrap();
        assert!(present(&at("file")).unwrap());
        assert!(!present(&at("missing")).unwrap());
        assert!(message(present(&at("folder"))).ends_with("is a folder, not a file"));
        assert!(message(present(&at("dangling")))
            .contains("is a link to ../blobs/abc, which does not exist"));
        assert!(message(present(&at("loop"))).contains("is a link that cannot be followed"));
        let through = message(present(&at("file").join("config.json")));
        assert!(
            through.ends_with("file is a file, not a folder"),
            "{through}"
        );
    }
}
