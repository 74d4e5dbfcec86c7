//! The tutor driven by random events on a random prompt, as the event loop drives it: keys from the
//! key table and others, mouse clicks, frames drawn at sizes from 1×1 to 300×100, and the worker's
//! answers arriving in order but late (a request waits in a queue until a random moment), so keys
//! land while the model runs. Three models (the bundled GPT-2, the tiny-a GPT-2, the llama-a Llama,
//! which has no BOS), the real lessons or mutated ones. Nothing panics, and after every event the
//! view state holds together (see [`assert_state_holds`]).

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use arbtest::arbitrary::{Result, Unstructured};
use candle_core::Device;
use glassbox::app::keymap::{Action, KEYS};
use glassbox::app::lessons::Lessons;
use glassbox::app::worker::{Request, Response, Session};
use glassbox::app::{App, Effect};
use glassbox::lesson::Lesson;
use glassbox::model;
use glassbox::ui::theme::ColorMode;
use ratatui::crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyEventState, KeyModifiers, MouseButton, MouseEvent,
    MouseEventKind,
};

use super::view_state::{assert_state_holds, draw};
use super::{lessons, mutate};

/// The models, each behind its own session, kept across cases (a new prompt resets a session).
pub fn sessions() -> Vec<Session> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    [
        None,
        Some(root.join("tests/fixtures/tiny-a")),
        Some(root.join("tests/fixtures/llama-a")),
    ]
    .into_iter()
    .map(|p| {
        let spec = p.as_deref().map(|p| p.to_str().unwrap().to_string());
        Session::new(model::load(spec.as_deref(), &Device::Cpu).unwrap())
    })
    .collect()
}

/// A key: mostly from the key table (quitting rarely, so sequences run long), else any key, with
/// modifiers and kinds now and then.
fn key(u: &mut Unstructured) -> Result<KeyEvent> {
    let bound: Vec<(KeyCode, Action)> = KEYS.iter().flat_map(|k| k.binds.iter().copied()).collect();
    let code = loop {
        if u.ratio(3, 4)? {
            let (code, action) = *u.choose(&bound)?;
            if action == Action::Quit && u.ratio(7, 8)? {
                continue;
            }
            break code;
        }
        break match u.int_in_range(0..=5)? {
            0 => KeyCode::Char(u.arbitrary()?),
            1 => KeyCode::Char(*u.choose(&['a', 'Z', ' ', 'é', '漢', '\u{301}', '\0', '\n'])?),
            2 => KeyCode::F(u.arbitrary()?),
            3 => *u.choose(&[
                KeyCode::Delete,
                KeyCode::Insert,
                KeyCode::Null,
                KeyCode::CapsLock,
                KeyCode::Menu,
                KeyCode::Enter,
                KeyCode::Backspace,
                KeyCode::Esc,
            ])?,
            _ => KeyCode::Char(char::from(u.int_in_range(b'a'..=b'z')?)),
        };
    };
    let modifiers = if u.ratio(1, 8)? {
        let m = KeyModifiers::from_bits_truncate(u.arbitrary()?);
        // Ctrl-C and Ctrl-Q quit; keep them rare like the other quit keys.
        if m.contains(KeyModifiers::CONTROL) && u.ratio(3, 4)? {
            m - KeyModifiers::CONTROL
        } else {
            m
        }
    } else {
        KeyModifiers::NONE
    };
    let kind = *u.choose(&[
        KeyEventKind::Press,
        KeyEventKind::Press,
        KeyEventKind::Press,
        KeyEventKind::Press,
        KeyEventKind::Repeat,
        KeyEventKind::Release,
    ])?;
    Ok(KeyEvent {
        code,
        modifiers,
        kind,
        state: KeyEventState::NONE,
    })
}

fn mouse(u: &mut Unstructured, (w, h): (u16, u16)) -> Result<MouseEvent> {
    let button = *u.choose(&[MouseButton::Left, MouseButton::Left, MouseButton::Right])?;
    let kind = *u.choose(&[
        MouseEventKind::Down(button),
        MouseEventKind::Down(button),
        MouseEventKind::Up(button),
        MouseEventKind::Drag(button),
        MouseEventKind::Moved,
        MouseEventKind::ScrollDown,
    ])?;
    let (column, row) = if u.ratio(7, 8)? {
        (
            u.int_in_range(0..=w.saturating_sub(1))?,
            u.int_in_range(0..=h.saturating_sub(1))?,
        )
    } else {
        (u.arbitrary()?, u.arbitrary()?)
    };
    Ok(MouseEvent {
        kind,
        column,
        row,
        modifiers: KeyModifiers::NONE,
    })
}

/// The lessons for a case: the committed ones, or a few with edge values or other changes that
/// still parse.
fn case_lessons(
    u: &mut Unstructured,
    real: &[Lesson],
    texts: &[(PathBuf, String)],
) -> Result<Vec<Lesson>> {
    if u.ratio(1, 2)? {
        return Ok(real.to_vec());
    }
    let mut out = Vec::new();
    for _ in 0..u.int_in_range(0..=3)? {
        let (path, text) = if u.ratio(3, 4)? {
            lessons::edged(u, texts)?
        } else {
            lessons::mutated(u, texts)?
        };
        if let Ok(l) = Lesson::parse(&path, &text) {
            out.push(l);
        }
    }
    Ok(out)
}

/// What the worker is doing: requests wait in order until the case lets it answer the next one.
struct Worker<'a> {
    session: &'a mut Session,
    loaded: bool,
    queue: VecDeque<Request>,
}

impl Worker<'_> {
    /// Answer the next request (the first answer is "loaded"), and queue the app's follow-ups.
    fn answer(&mut self, app: &mut App, log: &mut Vec<String>) {
        if !self.loaded {
            self.loaded = true;
            log.push("loaded".into());
            let more = app.on_response(Response::Loaded(Box::new(self.session.info())));
            self.queue.extend(more);
            return;
        }
        let Some(request) = self.queue.pop_front() else {
            return;
        };
        let what = format!("{request:?}");
        let what = what.chars().take(60).collect::<String>();
        let from_user = matches!(request, Request::Prompt(_));
        let response = match self.session.handle(request) {
            Ok(r) => r,
            Err(e) => {
                let msg = glassbox::error::one_line(&e).0;
                log.push(format!("{what} failed: {msg}"));
                // A prompt is the user's text and may fail (too long, no tokens); every other
                // request is made by the app from its own state, and must be one the model can do.
                if !from_user {
                    panic!(
                        "the app asked for {what}, which failed: {msg}\nafter: {}",
                        log.join(" · ")
                    );
                }
                Response::Failed(msg)
            }
        };
        log.push(format!("answer {what}"));
        let more = app.on_response(response);
        self.queue.extend(more);
    }
}

/// One case: a model, a prompt, lessons, then up to 80 events, then the worker catches up.
pub fn target(
    u: &mut Unstructured,
    sessions: &mut [Session],
    real: &[Lesson],
    texts: &[(PathBuf, String)],
) -> Result<bool> {
    let which = u.choose_index(sessions.len())?;
    let prompt = mutate::odd_text(u)?;
    let mut log = vec![format!("model {which}, prompt {prompt:?}")];
    let mut app = App::new(prompt.clone());
    app.lessons = Lessons::new(
        case_lessons(u, real, texts)?,
        Vec::new(),
        Default::default(),
    );
    if u.ratio(1, 2)? {
        app.pending_lesson = Some(u.int_in_range(0..=app.lessons.all.len())?);
    }
    // Progress as a saved file may have it: any step of any lesson, done or not.
    for l in &app.lessons.all {
        if u.ratio(1, 2)? {
            let saved = app
                .lessons
                .progress
                .lessons
                .entry(l.meta.id.clone())
                .or_default();
            saved.step = if u.ratio(1, 8)? {
                u.arbitrary()?
            } else {
                u.int_in_range(0..=l.steps.len())?
            };
        }
    }
    let mut worker = Worker {
        session: &mut sessions[which],
        loaded: false,
        queue: VecDeque::from([Request::Prompt(prompt)]),
    };
    let mut size = (80, 24);
    for _ in 0..u.int_in_range(1..=80)? {
        match u.int_in_range(0..=99)? {
            0..=54 => {
                let k = key(u)?;
                log.push(format!(
                    "{:?}{}",
                    k.code,
                    if k.modifiers.is_empty() { "" } else { "+mod" }
                ));
                let more = app.on_key(k);
                worker.queue.extend(more);
            }
            55..=64 => {
                let m = mouse(u, size)?;
                log.push(format!("{:?} at {},{}", m.kind, m.column, m.row));
                let more = app.on_mouse(m);
                worker.queue.extend(more);
            }
            65..=84 => worker.answer(&mut app, &mut log),
            85..=96 => {
                size = (u.int_in_range(1..=300)?, u.int_in_range(1..=100)?);
                let mode =
                    *u.choose(&[ColorMode::TrueColor, ColorMode::Ansi256, ColorMode::Mono])?;
                log.push(format!("draw {size:?}"));
                draw(&app, size, mode, &log);
            }
            _ => {
                app.tick += 1;
                for effect in app.take_effects() {
                    match effect {
                        Effect::ExportPng { .. } => app.exported(if u.arbitrary()? {
                            Ok(PathBuf::from("glassbox-attention.png"))
                        } else {
                            Err("cannot write".into())
                        }),
                        Effect::SaveProgress { .. } => app.progress_saved(if u.arbitrary()? {
                            Ok(())
                        } else {
                            Err("cannot write progress.json".into())
                        }),
                        // The shell stops the process; the state is the same when it resumes.
                        Effect::Suspend => {}
                    }
                }
            }
        }
        assert_state_holds(&app, &log);
        if app.quit {
            return Ok(false);
        }
    }
    // The worker catches up: the queue empties (follow-ups do not chase each other for ever), and
    // then nothing is left waiting.
    for _ in 0..200 {
        if worker.loaded && worker.queue.is_empty() {
            break;
        }
        worker.answer(&mut app, &mut log);
        assert_state_holds(&app, &log);
    }
    if !worker.queue.is_empty() {
        panic!(
            "the requests never settle: {:?}\nafter: {}",
            worker.queue,
            log.join(" · ")
        );
    }
    if let Some(busy) = &app.busy {
        panic!(
            "busy ({busy}) with nothing left to do\nafter: {}",
            log.join(" · ")
        );
    }
    let size = (u.int_in_range(1..=300)?, u.int_in_range(1..=100)?);
    draw(&app, size, ColorMode::TrueColor, &log);
    // Accepted: the prompt ran and the case went to its end.
    Ok(app.snap.is_some())
}
