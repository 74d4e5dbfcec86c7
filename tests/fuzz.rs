//! Fuzzing with arbtest: each target feeds random and mutated inputs to one entry point for a time
//! budget and checks that it never panics and that what it accepts holds together.
//!
//! - `config_json`: config.json for both families (tests/fuzz/config.rs);
//! - `safetensors_header`: the 8-byte length, JSON header and data of a model folder's weights
//!   (tests/fuzz/weights.rs);
//! - `gguf_header`: GGUF files' headers and data (tests/fuzz/gguf.rs);
//! - `lesson_files`: the committed lessons, mutated (tests/fuzz/lessons.rs);
//! - `tutor_keys`: random keys, clicks, frame sizes and late worker answers through `App` on a
//!   random prompt (tests/fuzz/tutor.rs).
//!
//! Each target runs for `GLASSBOX_FUZZ_SECS` seconds (default 20; the five run two at a time in
//! `cargo test`, so about a minute in all). For a longer run by hand, one target at a time:
//!
//! ```sh
//! GLASSBOX_FUZZ_SECS=600 cargo test --test fuzz tutor_keys -- --nocapture
//! ```
//!
//! Each target prints how many cases it ran. A failure prints `arbtest failed! Seed: 0x…`; rerun
//! exactly that case with `ARBTEST_SEED=0x… cargo test --test fuzz <target>`.

#[path = "fuzz/config.rs"]
mod config;
#[path = "fuzz/gguf.rs"]
mod gguf;
#[path = "fuzz/lessons.rs"]
mod lessons;
#[path = "fuzz/mutate.rs"]
mod mutate;
#[path = "fuzz/tutor.rs"]
mod tutor;
#[path = "fuzz/view_state.rs"]
mod view_state;
#[path = "fuzz/weights.rs"]
mod weights;

use std::time::{Duration, Instant};

use arbtest::arbitrary::{Result, Unstructured};

/// Seconds per target when `GLASSBOX_FUZZ_SECS` is not set.
const DEFAULT_SECS: f64 = 20.0;

fn budget() -> Duration {
    let secs = std::env::var("GLASSBOX_FUZZ_SECS")
        .ok()
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .unwrap_or(DEFAULT_SECS);
    Duration::from_secs_f64(secs)
}

/// A cap on the test process's address space, so an allocation sized by a hostile header fails
/// (and the test with it) instead of taking the machine's memory.
fn cap_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        const CAP: libc::rlim_t = 8 << 30;
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit and setrlimit only read and write the struct passed to them.
        unsafe {
            if libc::getrlimit(libc::RLIMIT_AS, &mut limit) == 0 && limit.rlim_cur > CAP {
                limit.rlim_cur = CAP;
                libc::setrlimit(libc::RLIMIT_AS, &limit);
            }
        }
    }
}

/// Run `property` on fresh random input until the budget is spent; report the cases run and how
/// many of them the code under test accepted (the property returns whether it did).
fn fuzz(name: &str, size_max: u32, mut property: impl FnMut(&mut Unstructured) -> Result<bool>) {
    cap_memory();
    let start = Instant::now();
    let (mut cases, mut accepted) = (0u64, 0u64);
    arbtest::arbtest(|u| {
        cases += 1;
        accepted += u64::from(property(u)?);
        Ok(())
    })
    .size_max(size_max)
    .budget(budget())
    .run();
    eprintln!(
        "fuzz {name}: {cases} cases, {accepted} accepted, in {:.1} s",
        start.elapsed().as_secs_f64()
    );
}

#[test]
fn config_json() {
    let bases = config::base_configs();
    let dir = config::folder();
    fuzz("config_json", 4096, |u| {
        config::target(u, &bases, dir.path())
    });
}

#[test]
fn safetensors_header() {
    let base = weights::safetensors_base();
    let dir = config::folder();
    fuzz("safetensors_header", 4096, |u| {
        weights::safetensors_target(u, &base, dir.path())
    });
}

#[test]
fn gguf_header() {
    let bases = gguf::bases();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.gguf");
    fuzz("gguf_header", 4096, |u| gguf::target(u, &bases, &path));
}

#[test]
fn lesson_files() {
    let texts = lessons::originals();
    fuzz("lesson_files", 4096, |u| lessons::target(u, &texts));
}

#[test]
fn tutor_keys() {
    let mut sessions = tutor::sessions();
    let texts = lessons::originals();
    let (real, errors) = glassbox::lesson::load_all(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("lessons"),
    );
    assert!(errors.is_empty(), "{errors:?}");
    fuzz("tutor_keys", 8192, |u| {
        tutor::target(u, &mut sessions, &real, &texts)
    });
}

// Cases the targets found, kept as fixed tests (the fixes are in src/; the model and config findings
// have unit tests beside their fixes).

/// A lesson step that ablates a head the model lacks (lesson 9's L1H3 opened on a model with
/// fewer heads, or a typo) switched the missing head "off": every key then asked the worker for a run
/// that could only fail. Now the step leaves ablation off and says why.
#[test]
fn found_a_lesson_ablating_a_head_the_model_does_not_have() {
    use glassbox::app::lessons::Lessons;
    let tiny_a = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny-a");
    let loaded = glassbox::model::load(tiny_a.to_str(), &candle_core::Device::Cpu).unwrap();
    let (mut app, mut session) = glassbox::app::worker::start_inline(loaded, "The cat").unwrap();
    assert_eq!(app.dims(), (2, 4));
    let text = "+++\nid = \"x\"\ntitle = \"t\"\nsummary = \"s\"\nprompt = \"The cat\"\nmodel = \"m\"\n+++\n\n## Step\n```view\nablate = [0, 4]\n```\n";
    let lesson = glassbox::lesson::Lesson::parse(std::path::Path::new("x.md"), text).unwrap();
    app.lessons = Lessons::new(vec![lesson], Vec::new(), Default::default());
    let requests = app.open_lesson(0);
    glassbox::app::worker::serve_inline(&mut app, &mut session, requests).unwrap();
    assert_eq!(app.what_if.ablation, None);
    assert!(app.status.contains("L0H4"), "{}", app.status);
}

/// In the Lens view, a cursor move made while a Backspace was still running asked for the lens at a
/// position of the old snapshot; answered after the pop, that position was gone and the user saw a
/// candle error ("narrow invalid args"). The worker now answers a stale request with nothing.
#[test]
fn found_a_lens_request_overtaken_by_a_pop() {
    use glassbox::app::worker::Request;
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let loaded = glassbox::model::load(None, &candle_core::Device::Cpu).unwrap();
    let (mut app, mut session) =
        glassbox::app::worker::start_inline(loaded, "The cat sat on the mat").unwrap();
    let mut queue = std::collections::VecDeque::<Request>::new();
    let key =
        |app: &mut glassbox::app::App, code| app.on_key(KeyEvent::new(code, KeyModifiers::NONE));
    // The worker answers in order, as its thread does.
    let serve = |app: &mut glassbox::app::App,
                 session: &mut glassbox::app::worker::Session,
                 queue: &mut std::collections::VecDeque<Request>| {
        while let Some(r) = queue.pop_front() {
            let response = session.handle(r).unwrap();
            queue.extend(app.on_response(response));
        }
    };
    queue.extend(key(&mut app, KeyCode::Char('7')));
    queue.extend(key(&mut app, KeyCode::Left));
    serve(&mut app, &mut session, &mut queue);
    let n = app.n_tokens();
    assert_eq!(app.cursor, n - 2);
    queue.extend(key(&mut app, KeyCode::Backspace)); // pop, not answered yet
    queue.extend(key(&mut app, KeyCode::Right)); // the lens at n - 1, which the pop removes
    serve(&mut app, &mut session, &mut queue);
    assert_eq!(app.error, None);
    assert_eq!(app.n_tokens(), n - 1);
    let lens = app.lens.as_ref().expect("the lens for the new snapshot");
    assert_eq!(
        (lens.version, lens.pos),
        (app.snap.as_ref().unwrap().version, app.cursor)
    );
}

/// A lesson block whose TOML error toml placed inside a multi-byte character: finding the error's
/// line sliced the text there and panicked. The line is now counted in bytes.
#[test]
fn found_a_toml_error_inside_a_multi_byte_character() {
    let texts = lessons::originals();
    arbtest::arbtest(|u| {
        lessons::target(u, &texts)?;
        Ok(())
    })
    .seed(0xdb50198c00001000)
    .run();
}
