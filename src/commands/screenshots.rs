//! `glassbox export screenshots`: pictures of the tutor's main screens, made without a terminal. The
//! app is driven through its key handler with the model worker's session answering in this thread (as
//! the tutor tests do); each screen is drawn into a buffer by the ui and rasterized by the export.

use std::path::{Path, PathBuf};

use candle_core::IndexOp;
use color_eyre::eyre::Result;
use glassbox::app::worker::{serve_inline, settle, start_inline};
use glassbox::app::{App, View};
use glassbox::export::screenshot::save_buffer_png;
use glassbox::model::hooks::{block_hook, BlockHook};
use glassbox::model::{LoadedModel, NamesFilter};
use glassbox::ui::screen_buffer;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// The prompt the screenshots use: the model must copy a made-up name's second part.
pub const PROMPT: &str = super::tutor::DEFAULT_PROMPT;

/// Write `<dir>/<panel>.png` for every view but the lesson pane, then `lesson.png` with a lesson open
/// beside its view; returns the paths written.
pub fn tutor_screenshots(
    loaded: LoadedModel,
    prompt: &str,
    dir: &Path,
    size: (u16, u16),
) -> Result<Vec<PathBuf>> {
    let (mut app, mut session) = start_inline(loaded, prompt)?;
    if let Some(err) = &app.error {
        return glassbox::error::hinted(
            format!("the tutor could not run the prompt: {err}"),
            "try a shorter prompt",
        );
    }
    if let Some((layer, head)) = copying_head(&app, &session.loaded.model) {
        app.layer = layer;
        app.head = head;
    }
    let mut written = Vec::new();
    // Each view is opened with its digit key, as a user would, so views that ask the worker for
    // data (the logit lens) have it.
    for (i, view) in View::ALL
        .iter()
        .enumerate()
        .filter(|(_, v)| **v != View::Lesson)
    {
        let key = char::from(b'1' + i as u8);
        let requests = app.on_key(KeyEvent::new(KeyCode::Char(key), KeyModifiers::NONE));
        serve_inline(&mut app, &mut session, requests)?;
        settle(&mut app, &mut session, |a| drop(screen_buffer(a, size)))?;
        let path = dir.join(format!("{}.png", view.panel()));
        save_buffer_png(&screen_buffer(&app, size), &path)?;
        written.push(path);
    }
    // A lesson open beside its view: the in-context-learning lesson at its heads step.
    let (all, _) = glassbox::lesson::Source::from_env().load();
    if let Some((index, lesson)) = glassbox::lesson::find(&all, "induction") {
        let step = lesson
            .steps
            .iter()
            .position(|s| s.task.is_some())
            .unwrap_or(0);
        app.lessons =
            glassbox::app::lessons::Lessons::new(all.clone(), Vec::new(), Default::default());
        let requests = app.open_lesson(index);
        serve_inline(&mut app, &mut session, requests)?;
        let requests = app.go_to_step(step);
        serve_inline(&mut app, &mut session, requests)?;
        app.check_task();
        settle(&mut app, &mut session, |a| drop(screen_buffer(a, size)))?;
        let path = dir.join("lesson.png");
        save_buffer_png(&screen_buffer(&app, size), &path)?;
        written.push(path);
    }
    Ok(written)
}

/// The head that, from the cursor's token, attends most to the tokens that followed an earlier copy
/// of it (where the copying happens): the most telling head to picture. `None` without a snapshot.
fn copying_head(app: &App, model: &glassbox::model::Model) -> Option<(usize, usize)> {
    let snap = app.snap.as_ref()?;
    let (n_layers, n_heads) = app.dims();
    let q = app.cursor;
    let targets: Vec<usize> = (1..=q)
        .filter(|&k| k < q && snap.ids[k - 1] == snap.ids[q])
        .collect();
    if targets.is_empty() {
        return None;
    }
    let trace = model
        .trace(&snap.ids, NamesFilter::parse("blocks.*.attn.hook_pattern"))
        .ok()?;
    let mut best = None;
    let mut best_score = f32::MIN;
    for layer in 0..n_layers {
        let pattern = trace
            .capture()
            .get(&block_hook(layer, BlockHook::Pattern))?
            .ok()?;
        for head in 0..n_heads {
            let row = pattern.i((0, head, q)).ok()?.to_vec1::<f32>().ok()?;
            let score: f32 = targets.iter().map(|&k| row[k]).sum();
            if score > best_score {
                best_score = score;
                best = Some((layer, head));
            }
        }
    }
    best
}
