//! End to end: the real binary in a real terminal (tmux), driven by keys, read back with capture-pane.
//!
//! Needs tmux. Without it the tests say so and pass, unless GLASSBOX_REQUIRE_TMUX is set (.ci/run sets
//! it after installing tmux), so CI can never skip them silently.

use std::process::Command;
use std::time::{Duration, Instant};

struct Tmux {
    socket: String,
    session: String,
    _data: tempfile::TempDir,
}

impl Tmux {
    /// A shell in a detached session of `w`×`h` on a private server.
    fn start(name: &str, w: u16, h: u16) -> Option<Self> {
        if Command::new("tmux").arg("-V").output().is_err() {
            assert!(
                std::env::var_os("GLASSBOX_REQUIRE_TMUX").is_none(),
                "tmux is required (GLASSBOX_REQUIRE_TMUX is set) but not installed"
            );
            eprintln!("SKIPPED: tmux is not installed (.ci/run installs it)");
            return None;
        }
        let data = tempfile::tempdir().expect("a temporary folder");
        let t = Tmux {
            socket: format!("glassbox-test-{}-{name}", std::process::id()),
            session: name.to_string(),
            _data: data,
        };
        // Lesson progress goes to a fresh folder, so a learner's own progress never changes the test.
        let xdg = format!("XDG_DATA_HOME={}", t._data.path().display());
        let status = Command::new("tmux")
            .args(["-L", &t.socket, "-f", "/dev/null", "new-session", "-d"])
            .args(["-s", &t.session, "-x", &w.to_string(), "-y", &h.to_string()])
            .args(["env", "PS1=$ ", &xdg, "bash", "--norc", "--noprofile"])
            .status()
            .expect("tmux runs");
        assert!(status.success());
        Some(t)
    }

    fn keys(&self, keys: &[&str]) {
        let status = Command::new("tmux")
            .args(["-L", &self.socket, "send-keys", "-t", &self.session])
            .args(keys)
            .status()
            .expect("tmux send-keys");
        assert!(status.success());
    }

    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args([
                "-L",
                &self.socket,
                "capture-pane",
                "-p",
                "-t",
                &self.session,
            ])
            .output()
            .expect("tmux capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Wait until the screen contains `needle`; panics with the screen after 30 s.
    fn wait_for(&self, needle: &str) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if screen.contains(needle) {
                return screen;
            }
            if start.elapsed() > Duration::from_secs(30) {
                panic!("timed out waiting for {needle:?}; the screen was:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_glassbox")
}

#[test]
fn keys_drive_the_tutor_and_the_shell_works_after_quitting() {
    let Some(t) = Tmux::start("main", 120, 40) else {
        return;
    };
    t.keys(&[
        &format!(
            "COLORTERM=truecolor {} --prompt 'The dog bit the man.'",
            bin()
        ),
        "Enter",
    ]);
    let first = t.wait_for("hook_pattern");
    assert!(first.contains("glassbox · glassbox-tiny"), "{first}");
    assert!(first.contains("hook_pattern"), "{first}");
    // "The dog bit the man." is BOS + 6 tokens; the cursor starts on the last.
    assert!(first.contains(" 6/7 "), "{first}");

    t.keys(&["Left"]);
    t.wait_for(" 5/7 ");
    t.keys(&["Down"]);
    t.wait_for("L0H1");
    t.keys(&["]"]);
    t.wait_for("L1H1");
    t.wait_for("blocks.1.attn.hook_pattern  head 1");
    t.keys(&["n"]);
    t.wait_for(" 7/8 ");
    t.keys(&["Tab"]);
    t.wait_for("every head's pattern");
    t.keys(&["?"]);
    t.wait_for("any key closes this help");
    t.keys(&["x"]);
    // The lesson list opens and a lesson starts on its own prompt.
    t.keys(&["L"]);
    t.wait_for("Lessons · ↑↓ choose");
    t.keys(&["Enter"]);
    t.wait_for("step 1/");
    t.keys(&["q"]);
    t.wait_for("$ ");
    t.keys(&["echo shell-ok-$((40+2))", "Enter"]);
    let after = t.wait_for("shell-ok-42");
    assert!(
        !after.contains("Next token"),
        "the tutor's screen is gone:\n{after}"
    );
}

#[test]
fn no_color_and_a_small_terminal_still_show_the_view() {
    let Some(t) = Tmux::start("small", 40, 12) else {
        return;
    };
    t.keys(&[&format!("NO_COLOR=1 {}", bin()), "Enter"]);
    let screen = t.wait_for("Attention");
    assert!(
        screen.contains("(Tab)"),
        "narrow screens name the view:\n{screen}"
    );
    t.wait_for("greedy");
    t.keys(&["C-c"]);
    t.wait_for("$ ");
    t.keys(&["echo done-$((1+1))", "Enter"]);
    t.wait_for("done-2");
}
