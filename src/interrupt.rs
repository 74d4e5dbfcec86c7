//! Deleting the temporary file of a write in progress when the process is interrupted (Ctrl-C, SIGTERM,
//! SIGHUP), so that [`crate::fsutil::write_atomic`] leaves nothing behind even then: a dump of every hook
//! of GPT-2 at 1,024 tokens is a 1.8 GB temporary file until it is renamed.
//!
//! The handler deletes the file, restores the signal's default action and raises the signal again, so
//! the process ends exactly as it would have without it. A signal the process was started with ignored
//! (`nohup`, a background job) stays ignored.

use std::path::Path;

/// Delete `tmp` if the process is interrupted, until [`forget`] is called.
pub(crate) fn delete_on_interrupt(tmp: &Path) {
    imp::set(tmp);
}

/// The write finished or failed on its own: nothing to delete any more.
pub(crate) fn forget() {
    imp::clear();
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod imp {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicPtr, Ordering};
    use std::sync::{Mutex, Once};

    const SIGNALS: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

    /// The path the handler deletes, or null. Whatever it points to is never freed: the handler may
    /// run on any thread, at any moment, so a string it could be reading must stay valid.
    static PENDING: AtomicPtr<libc::c_char> = AtomicPtr::new(std::ptr::null_mut());

    /// The strings handed to PENDING so far, by path, so that writing the same file again (the lesson
    /// progress file, an export overwritten) reuses its string instead of leaking another.
    static KNOWN: Mutex<Vec<(PathBuf, usize)>> = Mutex::new(Vec::new());

    extern "C" fn on_signal(sig: libc::c_int) {
        let path = PENDING.load(Ordering::SeqCst);
        // SAFETY: unlink, signal and raise are async-signal-safe; `path` is null or a C string that
        // lives for the rest of the process.
        unsafe {
            if !path.is_null() {
                libc::unlink(path);
            }
            libc::signal(sig, libc::SIG_DFL);
            libc::raise(sig);
        }
    }

    fn install() {
        static ONCE: Once = Once::new();
        ONCE.call_once(|| {
            for sig in SIGNALS {
                // SAFETY: `on_signal` only makes async-signal-safe calls. If the signal was ignored,
                // put that back at once.
                unsafe {
                    let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
                    if libc::signal(sig, handler) == libc::SIG_IGN {
                        libc::signal(sig, libc::SIG_IGN);
                    }
                }
            }
        });
    }

    pub(super) fn set(tmp: &Path) {
        install();
        let Ok(mut known) = KNOWN.lock() else { return };
        let ptr = match known.iter().find(|(p, _)| p == tmp) {
            Some(&(_, ptr)) => ptr as *mut libc::c_char,
            None => {
                let Ok(c) = CString::new(tmp.as_os_str().as_bytes()) else {
                    return; // a NUL in the path: it could not be created either
                };
                let ptr = c.into_raw();
                known.push((tmp.to_path_buf(), ptr as usize));
                ptr
            }
        };
        PENDING.store(ptr, Ordering::SeqCst);
    }

    pub(super) fn clear() {
        PENDING.store(std::ptr::null_mut(), Ordering::SeqCst);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
mod imp {
    pub(super) fn set(_tmp: &std::path::Path) {}
    pub(super) fn clear() {}
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    use std::os::unix::process::ExitStatusExt;
    use std::process::Command;

    const CHILD_ENV: &str = "GLASSBOX_INTERRUPT_TEST_FILE";

    /// Runs in a child process (see below): marks a file for deletion, then signals itself.
    #[test]
    #[ignore = "run by terminated_process_leaves_no_temporary_file in a child process"]
    fn child_marks_a_file_and_is_terminated() {
        let Some(path) = std::env::var_os(CHILD_ENV) else {
            return;
        };
        let path = std::path::PathBuf::from(path);
        std::fs::write(&path, b"partial").unwrap();
        super::delete_on_interrupt(&path);
        // SAFETY: raise has no preconditions.
        unsafe { libc::raise(libc::SIGTERM) };
        unreachable!("SIGTERM's default action ends the process");
    }

    #[test]
    fn terminated_process_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".out.tmp-test");
        let status = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "interrupt::tests::child_marks_a_file_and_is_terminated",
                "--ignored",
                "--nocapture",
            ])
            .env(CHILD_ENV, &path)
            .status()
            .unwrap();
        assert_eq!(status.signal(), Some(libc::SIGTERM), "{status:?}");
        assert!(!path.exists(), "{} was left behind", path.display());
    }
}
