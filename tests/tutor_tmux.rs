//! End to end: the real binary in a real terminal (tmux), driven by keys, read back with capture-pane.
//!
//! Needs tmux. Without it the tests say so and pass, unless GLASSBOX_REQUIRE_TMUX is set (.ci/run sets
//! it after installing tmux), so CI can never skip them silently. The chat-mode test runs SmolLM2 from
//! GLASSBOX_SMOLLM2 and is skipped without it, unless GLASSBOX_REQUIRE_SMOLLM2 is set.

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
            // In the test's own folder: a PNG the x key writes lands there, not in the repository.
            .arg("-c")
            .arg(t._data.path())
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

    /// Make the window `w`×`h`, as a terminal resized by its user.
    fn resize(&self, w: u16, h: u16) {
        let status = Command::new("tmux")
            .args(["-L", &self.socket, "resize-window", "-t", &self.session])
            .args(["-x", &w.to_string(), "-y", &h.to_string()])
            .status()
            .expect("tmux resize-window");
        assert!(status.success());
    }

    /// A tmux format (`#{alternate_on}`, …) read for the pane.
    fn display(&self, format: &str) -> String {
        let out = Command::new("tmux")
            .args([
                "-L",
                &self.socket,
                "display",
                "-p",
                "-t",
                &self.session,
                format,
            ])
            .output()
            .expect("tmux display");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// What the terminal's state says about who holds it: the alternate screen, mouse reporting
    /// and a visible cursor.
    fn modes(&self) -> String {
        self.display("alt=#{alternate_on} mouse=#{mouse_any_flag} cursor=#{cursor_flag}")
    }

    /// The process the pane's shell is running (the tutor), if any.
    fn child_pid(&self) -> Option<u32> {
        let shell = self.display("#{pane_pid}");
        let out = Command::new("pgrep").args(["-P", &shell]).output().ok()?;
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    }

    /// Wait until the screen contains `needle`; panics with the screen after 30 s.
    fn wait_for(&self, needle: &str) -> String {
        self.wait_for_within(needle, 30)
    }

    /// The same, waiting up to `secs` seconds (a real model loads for longer).
    fn wait_for_within(&self, needle: &str, secs: u64) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if screen.contains(needle) {
                return screen;
            }
            if start.elapsed() > Duration::from_secs(secs) {
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
    // The status line is drawn last: waiting for it, not for the title, never reads a frame that
    // tmux has only half received (seen under load).
    t.wait_for(" 6/7 ");
    // The head's map comes from the worker a moment after the frame that asked for it.
    let first = t.wait_for("hook_pattern");
    // At 120 columns every tab fits beside the model's name, by its short name.
    assert!(first.contains(" glassbox-tiny  1 Attn "), "{first}");
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
    // Nothing of the tutor stays on the shell's screen: not its panels, not its status line.
    for trace in ["Next token", "q quit", "greedy", "L0H"] {
        assert!(
            !after.contains(trace),
            "{trace:?} is still on the screen after q:\n{after}"
        );
    }
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

/// The Lens view's attribution page in a real terminal at 80×24: i opens it, the worker's answer
/// replaces the spinner, v subtracts a second token, and i goes back to the logit lens.
#[test]
fn the_attribution_page_opens_with_i_in_the_lens_view() {
    let Some(t) = Tmux::start("attribution", 80, 24) else {
        return;
    };
    start_tutor(&t);
    t.keys(&["7"]);
    t.wait_for("logit lens");
    t.keys(&["i"]);
    let screen = t.wait_for("largest");
    assert!(screen.contains("attribution at"), "{screen}");
    assert!(screen.contains("MLP"), "{screen}");
    t.keys(&["v"]);
    t.wait_for(" − logit “");
    t.keys(&["i"]);
    t.wait_for("hook_resid_post");
    t.keys(&["q"]);
    t.wait_for("$ ");
}

/// Lesson 6 at 80×24: p turns the position what-if on, the status bar says which run the views show,
/// the step's task is done, and the next step's view sets positions itself.
#[test]
fn p_cycles_the_position_what_if_in_lesson_6() {
    let Some(t) = Tmux::start("positions", 80, 24) else {
        return;
    };
    t.keys(&[&format!("{} --lesson 6", bin()), "Enter"]);
    t.wait_for("step 1/");
    for _ in 0..4 {
        t.keys(&[">"]);
    }
    t.wait_for("Positions, removed");
    t.wait_for("press p to change the positions");
    t.keys(&["p"]);
    let zeroed = t.wait_for("│ positions zeroed │");
    t.wait_for("Done: the views now show the run with positions zeroed");
    assert!(zeroed.contains("0.753"), "{zeroed}");
    t.keys(&["p"]);
    t.wait_for("│ positions reversed │");
    t.keys(&["p"]);
    t.wait_for("positions as learned");
    let learned = t.wait_for("0.966");
    let status = learned.lines().last().unwrap_or_default();
    assert!(
        !status.contains("positions zeroed") && !status.contains("positions reversed"),
        "{learned}"
    );
    // The next step opens with positions zeroed on layer 0.
    t.keys(&[">"]);
    t.wait_for("Order leaks through the mask");
    t.wait_for("│ positions zeroed │");
    t.keys(&["q"]);
    t.wait_for("$ ");
}

/// Start the tutor in the pane and wait for its first frame.
fn start_tutor(t: &Tmux) {
    t.keys(&[
        &format!("{} --prompt 'The dog bit the man.'", bin()),
        "Enter",
    ]);
    t.wait_for("hook_pattern");
    assert_eq!(t.modes(), "alt=1 mouse=1 cursor=0");
}

/// Back at the shell: the terminal is as the shell left it (no alternate screen, no mouse reporting,
/// a visible cursor, canonical mode with echo) and the tutor's exit status is `status`.
fn assert_terminal_given_back(t: &Tmux, what: &str, status: i32) {
    static ASKED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(1);
    let start = Instant::now();
    while t.modes() != "alt=0 mouse=0 cursor=1" && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(t.modes(), "alt=0 mouse=0 cursor=1", "after {what}");
    // A marker new to this screen, written as arithmetic so the command line does not contain it.
    let n = ASKED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    t.keys(&[
        &format!(
            r"s=$?; clear; echo status=$s $(stty -a | tr -s ' ;' '\n\n' | grep -x -- '-\?icanon\|-\?echo' | tr '\n' ' ')done-$(({n}+1000))"
        ),
        "Enter",
    ]);
    let screen = t.wait_for(&format!("done-{}", n + 1000));
    assert!(
        screen.contains(&format!("status={status} ")),
        "after {what}:\n{screen}"
    );
    assert!(
        screen.contains("icanon echo done"),
        "after {what}, stty says:\n{screen}"
    );
}

#[test]
fn a_signal_gives_the_terminal_back_and_ends_with_the_usual_status() {
    let Some(t) = Tmux::start("signals", 80, 24) else {
        return;
    };
    for (name, sig) in [("TERM", 15), ("INT", 2), ("HUP", 1), ("QUIT", 3)] {
        start_tutor(&t);
        let pid = t.child_pid().expect("the tutor runs");
        let status = Command::new("kill")
            .args([&format!("-{name}"), &pid.to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
        assert_terminal_given_back(&t, &format!("SIG{name}"), 128 + sig);
    }
}

#[test]
fn ctrl_z_and_sigtstp_suspend_and_fg_resumes() {
    let Some(t) = Tmux::start("suspend", 80, 24) else {
        return;
    };
    start_tutor(&t);
    t.keys(&["Left"]);
    t.wait_for(" 5/7 ");
    for how in ["Ctrl-Z", "SIGTSTP"] {
        if how == "Ctrl-Z" {
            t.keys(&["C-z"]);
        } else {
            let pid = t.child_pid().expect("the tutor runs");
            let status = Command::new("kill")
                .args(["-TSTP", &pid.to_string()])
                .status()
                .expect("kill runs");
            assert!(status.success());
        }
        t.wait_for("Stopped");
        // 148 = 128 + SIGTSTP: what the shell reports for a stopped job.
        assert_terminal_given_back(&t, how, 148);
        t.keys(&["fg", "Enter"]);
        // The whole screen is drawn again, in the state it was left in.
        let screen = t.wait_for(" 5/7 ");
        assert!(screen.contains("hook_pattern"), "after fg:\n{screen}");
        assert_eq!(t.modes(), "alt=1 mouse=1 cursor=0", "after {how} and fg");
        t.keys(&["Right"]);
        t.wait_for(" 6/7 ");
        t.keys(&["Left"]);
        t.wait_for(" 5/7 ");
    }
    t.keys(&["q"]);
    assert_terminal_given_back(&t, "q", 0);
}

#[test]
fn a_dumb_terminal_is_refused_in_one_line() {
    let Some(t) = Tmux::start("dumb", 80, 24) else {
        return;
    };
    t.keys(&[&format!("TERM=dumb {}", bin()), "Enter"]);
    let screen = t.wait_for("error:");
    assert!(
        screen.contains("error: the tutor needs a terminal"),
        "{screen}"
    );
    assert_terminal_given_back(&t, "TERM=dumb", 1);
}

#[test]
fn a_resize_and_key_storm_leaves_a_working_tutor() {
    let Some(t) = Tmux::start("storm", 80, 24) else {
        return;
    };
    start_tutor(&t);
    // Sizes from 1×1 to 300×100, in an order that jumps between extremes, with keys in between
    // that open overlays, move, switch views and run the model.
    let sizes = [
        (1, 1),
        (300, 100),
        (2, 1),
        (80, 24),
        (1, 100),
        (300, 1),
        (13, 7),
        (200, 50),
        (40, 12),
        (3, 3),
        (120, 36),
        (299, 99),
        (5, 40),
        (81, 25),
        (1, 1),
        (160, 48),
    ];
    // One key per size, in this order: ends in the main view with nothing open over it, and no
    // key that quits or writes a file.
    let keys = [
        "Tab", "Left", "?", "Down", "]", "L", "Enter", "n", "BSpace", "Tab", "Up", "l", "3",
        "Right", "H", "Tab",
    ];
    for (i, &(w, h)) in sizes.iter().enumerate() {
        t.resize(w, h);
        t.keys(&[keys[i % keys.len()]]);
        std::thread::sleep(Duration::from_millis(30));
    }
    t.resize(120, 36);
    // Still alive and answering: the help opens and closes, and q quits with status 0.
    assert!(t.child_pid().is_some(), "the tutor ended during the storm");
    t.keys(&["?"]);
    t.wait_for("any key closes this help");
    t.keys(&["Space"]);
    t.keys(&["q"]);
    assert_terminal_given_back(&t, "the storm", 0);
}

/// Chat mode on SmolLM2 at 80×24 (needs GLASSBOX_SMOLLM2; skipped without it unless
/// GLASSBOX_REQUIRE_SMOLLM2 is set): the template's special tokens in the strip, the Next view with
/// and without the template, n until the model writes <|im_end|>, and e editing the question.
#[test]
fn chat_mode_on_smollm2_shows_the_template_and_stops_at_its_end() {
    let Some(model) = std::env::var_os("GLASSBOX_SMOLLM2") else {
        assert!(
            std::env::var_os("GLASSBOX_REQUIRE_SMOLLM2").is_none(),
            "GLASSBOX_REQUIRE_SMOLLM2 is set but GLASSBOX_SMOLLM2 is not: run tools/fetch_smollm2.sh"
        );
        eprintln!("SKIPPED: GLASSBOX_SMOLLM2 is not set (eval \"$(tools/fetch_smollm2.sh)\")");
        return;
    };
    let Some(t) = Tmux::start("chat", 80, 24) else {
        return;
    };
    t.keys(&[
        &format!(
            "{} --model '{}' --chat 'What is the capital of France?'",
            bin(),
            model.to_string_lossy()
        ),
        "Enter",
    ]);
    // The status line's place and "chat" come with the first frame that shows the model's analysis
    // (a screen caught mid-frame may show the strip before them).
    t.wait_for_within("│ chat ", 120);
    let first = t.wait_for("<|im_start|> ass");
    assert!(first.contains("<|im_start|> user"), "{first}");
    t.keys(&["8"]);
    t.wait_for("WITHOUT it: the bare question");
    // The bare question's top token, <|im_end|>, heads the right-hand column.
    let next = t.wait_for("│<|im_end|>");
    assert!(next.contains("WITH the chat template"), "{next}");
    for _ in 0..12 {
        t.keys(&["n"]);
    }
    let done = t.wait_for_within("<|im_end|> ends the", 120);
    assert!(done.contains("·Paris"), "{done}");
    t.keys(&["e"]);
    let editing = t.wait_for("Edit the question");
    assert!(
        editing.contains("What is the capital of France?▏"),
        "{editing}"
    );
    // Ctrl-C quits from the editor too (Esc then q at once would read as Alt-q).
    t.keys(&["C-c"]);
    t.wait_for("$ ");
}
