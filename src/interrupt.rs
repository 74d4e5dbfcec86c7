//! What glassbox does when a signal arrives, so that an interrupted run leaves nothing broken behind.
//!
//! - SIGINT, SIGTERM, SIGHUP, SIGQUIT: the temporary file of a write in progress is deleted (so that
//!   [`crate::fsutil::write_atomic`] leaves nothing behind even then: a dump of every hook of GPT-2 at
//!   1,024 tokens is a 1.8 GB temporary file until it is renamed; the same for the temporary folder
//!   `glassbox train` fills), the terminal is given back if the
//!   tutor holds it, and the signal's default action then ends the process, so the shell sees the
//!   usual status (130 for SIGINT, 143 for SIGTERM, …).
//! - SIGTSTP (`kill -TSTP`; the Ctrl-Z key, which raw mode turns into a key press, calls [`suspend`]):
//!   the terminal is given back, the process stops, and on SIGCONT takes the terminal again.
//! - SIGCONT on its own (`kill -STOP`, then `fg`): the terminal is taken again, in case the shell
//!   changed its modes meanwhile.
//!
//! The signals are received on a thread of their own (signal-hook's self-pipe), where ordinary code may
//! run: nothing here runs inside a signal handler. A signal the process was started with ignored
//! (`nohup`, a background job) stays ignored.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Delete `tmp` (a file, or a folder with everything in it) if the process is interrupted, until
/// [`forget`] is called.
pub(crate) fn delete_on_interrupt(tmp: &Path) {
    imp::start();
    *lock(&PENDING) = Some(tmp.to_path_buf());
}

/// The write finished or failed on its own: nothing to delete any more.
pub(crate) fn forget() {
    *lock(&PENDING) = None;
}

/// How to give the terminal back to the shell and take it again (the tutor's raw mode, alternate
/// screen, mouse reporting and hidden cursor). Both run with standard output locked, so no frame is
/// drawn halfway through.
pub struct TerminalHooks {
    pub release: Box<dyn Fn() + Send>,
    pub reclaim: Box<dyn Fn() + Send>,
}

/// From now on a signal gives the terminal back before the process ends or stops (see the module
/// documentation), until [`let_go_of_terminal`].
pub fn hold_terminal(hooks: TerminalHooks) {
    imp::start();
    *lock(&TERMINAL) = Some(hooks);
}

/// The terminal is given back in the ordinary way: signals no longer touch it.
pub fn let_go_of_terminal() {
    *lock(&TERMINAL) = None;
}

/// Stop the process as the shell's Ctrl-Z does (giving the terminal back first and taking it again on
/// `fg`). Returns at once where job control is not available.
pub fn suspend() {
    imp::suspend();
}

static PENDING: Mutex<Option<PathBuf>> = Mutex::new(None);
static TERMINAL: Mutex<Option<TerminalHooks>> = Mutex::new(None);

/// A poisoned lock still holds a valid path or hooks: a panic elsewhere must not keep the terminal
/// from being restored.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn release_terminal() {
    if let Some(hooks) = lock(&TERMINAL).as_ref() {
        (hooks.release)();
    }
}

fn reclaim_terminal() {
    if let Some(hooks) = lock(&TERMINAL).as_ref() {
        (hooks.reclaim)();
    }
}

#[cfg(unix)]
mod imp {
    use std::io::Write;
    use std::sync::Once;

    use signal_hook::consts::{SIGCONT, SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGTSTP};
    use signal_hook::iterator::Signals;
    use signal_hook::low_level::emulate_default_handler;

    use super::{lock, reclaim_terminal, release_terminal, PENDING};

    const ENDING: [libc::c_int; 4] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT];

    pub(super) fn start() {
        static ONCE: Once = Once::new();
        ONCE.call_once(|| {
            let wanted: Vec<libc::c_int> = ENDING
                .into_iter()
                .chain([SIGTSTP, SIGCONT])
                .filter(|&sig| !ignored(sig))
                .collect();
            let Ok(mut signals) = Signals::new(&wanted) else {
                return; // no handlers: signals keep their default actions
            };
            let _ = std::thread::Builder::new()
                .name("glassbox-signals".into())
                .spawn(move || {
                    for sig in signals.forever() {
                        match sig {
                            SIGTSTP => suspend(),
                            SIGCONT => {
                                let _out = std::io::stdout().lock();
                                reclaim_terminal();
                            }
                            _ => end(sig),
                        }
                    }
                });
        });
    }

    /// Whether `sig` is ignored now (inherited from the parent: nohup, a background job).
    fn ignored(sig: libc::c_int) -> bool {
        // SAFETY: sigaction with a null new action only reads the current one into `old`.
        unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            libc::sigaction(sig, std::ptr::null(), &mut old) == 0
                && old.sa_sigaction == libc::SIG_IGN
        }
    }

    fn end(sig: libc::c_int) {
        if let Some(tmp) = lock(&PENDING).take() {
            match tmp.symlink_metadata() {
                // The main thread may still be adding a file: try again if one appeared.
                Ok(meta) if meta.is_dir() => {
                    for _ in 0..5 {
                        if std::fs::remove_dir_all(&tmp).is_ok() {
                            break;
                        }
                    }
                }
                _ => {
                    let _ = std::fs::remove_file(tmp);
                }
            }
        }
        // Standard output stays locked until the process is gone, so nothing draws over the shell.
        let mut out = std::io::stdout().lock();
        release_terminal();
        let _ = out.flush();
        let _ = emulate_default_handler(sig);
        // Only reached if the default action could not be carried out.
        std::process::exit(128 + sig);
    }

    pub(super) fn suspend() {
        let mut out = std::io::stdout().lock();
        release_terminal();
        let _ = out.flush();
        stop();
        // Continued (`fg`): take the terminal again before anything is drawn.
        reclaim_terminal();
    }

    /// Stop as SIGTSTP's default action does: our handler is set aside for the moment, so the kernel
    /// stops the process (and leaves alone a process group no shell could continue, where SIGSTOP
    /// would stop it for good). Returns when continued.
    fn stop() {
        // SAFETY: sigaction reads and writes only the structs given; raise has no preconditions.
        unsafe {
            let mut default: libc::sigaction = std::mem::zeroed();
            default.sa_sigaction = libc::SIG_DFL;
            let mut ours: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(SIGTSTP, &default, &mut ours) != 0 {
                return;
            }
            libc::raise(SIGTSTP);
            libc::sigaction(SIGTSTP, &ours, std::ptr::null_mut());
        }
    }
}

#[cfg(not(unix))]
mod imp {
    pub(super) fn start() {}
    pub(super) fn suspend() {}
}

#[cfg(all(test, unix))]
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
        // The signal thread ends the process; a test that gets past this was not terminated.
        std::thread::sleep(std::time::Duration::from_secs(10));
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
