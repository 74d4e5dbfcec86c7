//! `glassbox` / `glassbox tutor`: the interactive terminal tutor.
//!
//! The model is found here (so a wrong --model is a one-line error before the screen changes), then
//! loaded and run on a worker thread while the first frame is already on screen.

use std::io::stdout;
use std::time::Duration;

use color_eyre::eyre::{Result, WrapErr};
use glassbox::app::lessons::Lessons;
use glassbox::app::worker::Worker;
use glassbox::app::App;
use glassbox::error::{hinted, Hinted};
use glassbox::lesson::{self, progress::Progress};
use glassbox::model::{self, loader};
use glassbox::ui::theme::{ColorMode, Theme};
use glassbox::ui::Screen;
use ratatui::crossterm::event::{self, DisableMouseCapture, EnableMouseCapture, Event};
use ratatui::crossterm::execute;
use ratatui::DefaultTerminal;

use crate::cli::TutorArgs;

/// The prompt the tutor opens with: a made-up name the model must copy from earlier in the text.
pub const DEFAULT_PROMPT: &str =
    "There was a girl named Zorva Kelpim. Zorva Kelpim went to the park. The next day, Zorva";

pub fn run(args: TutorArgs) -> Result<()> {
    let (all, errors) = lesson::load_all(&lesson::lessons_dir());
    let progress_path = Progress::default_path();
    let lessons = Lessons::new(all, errors, progress_path);
    // --lesson, else the lesson open last time unless a prompt was given.
    let open =
        match &args.lesson {
            Some(key) => Some(lesson::find(&lessons.all, key).map(|(i, _)| i).ok_or_else(
                || {
                    Hinted::new(
                        format!("no lesson {key:?}: there are {} lessons", lessons.all.len()),
                        "`glassbox lessons list` shows their numbers and ids",
                    )
                },
            )?),
            None if args.prompt.is_none() && args.prompt_file.is_none() => {
                let last = lessons.progress.last.as_deref();
                last.and_then(|id| lesson::find(&lessons.all, id))
                    .map(|(i, _)| i)
            }
            None => None,
        };
    let prompt = match (&args.prompt, &args.prompt_file, open) {
        (Some(p), _, _) => p.clone(),
        (None, Some(path), _) => std::fs::read_to_string(path)
            .wrap_err_with(|| format!("cannot read the prompt file {}", path.display()))?,
        (None, None, Some(i)) => lessons.all[i].meta.prompt.clone(),
        (None, None, None) => DEFAULT_PROMPT.to_string(),
    };
    let device = model::device::select(args.model.device)?;
    let files = loader::resolve(args.model.model.as_deref())?;
    let worker = Worker::spawn(move || loader::load_files(files, &device), prompt.clone());
    let theme = Theme::new(ColorMode::detect());

    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return hinted(
            "the tutor needs an interactive terminal, and this is not one",
            "run glassbox in a terminal; for scripts use `glassbox inspect`, `dump` or `export`",
        );
    }
    let mut terminal = ratatui::try_init().wrap_err("cannot set up the terminal")?;
    install_mouse_restoring_panic_hook();
    let _ = execute!(stdout(), EnableMouseCapture);
    let once = args.exit_after_first_frame;
    let mut app = App::new(prompt);
    app.lessons = lessons;
    app.pending_lesson = open;
    let result = event_loop(&mut terminal, app, &worker, theme, once);
    let _ = execute!(stdout(), DisableMouseCapture);
    ratatui::restore();
    result
}

/// ratatui's panic hook restores the screen but not mouse reporting; turn that off first.
fn install_mouse_restoring_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = execute!(stdout(), DisableMouseCapture);
        previous(info);
    }));
}

fn event_loop(
    terminal: &mut DefaultTerminal,
    mut app: App,
    worker: &Worker,
    theme: Theme,
    exit_after_first_frame: bool,
) -> Result<()> {
    let mut dirty = true;
    let mut last_tick = std::time::Instant::now();
    loop {
        // While the worker is busy the spinner turns, so a long load never looks frozen.
        if app.busy.is_some() && last_tick.elapsed() >= Duration::from_millis(100) {
            app.tick = app.tick.wrapping_add(1);
            last_tick = std::time::Instant::now();
            dirty = true;
        }
        if dirty {
            terminal.draw(|f| f.render_widget(Screen { app: &app, theme }, f.area()))?;
            dirty = false;
            if exit_after_first_frame && app.snap.is_some() {
                break;
            }
        }
        while let Ok(response) = worker.rx.try_recv() {
            for request in app.on_response(response) {
                worker.send(request);
            }
            dirty = true;
        }
        // While the worker is busy, look for its answer often; otherwise mostly wait for keys.
        let wait = if app.busy.is_some() { 4 } else { 40 };
        if event::poll(Duration::from_millis(wait))? {
            let requests = match event::read()? {
                Event::Key(key) => app.on_key(key),
                Event::Mouse(mouse) => app.on_mouse(mouse),
                _ => Vec::new(), // resize: just redraw
            };
            for request in requests {
                worker.send(request);
            }
            dirty = true;
        }
        // What the app asked for besides the worker: a PNG of the view, lesson progress saved.
        glassbox::shell::carry_out_queued(&mut app);
        if app.quit {
            break;
        }
    }
    // A model that never loaded is an error worth a non-zero exit, stated on one line.
    match (&app.snap, app.error.take()) {
        (None, Some(err)) => Err(color_eyre::eyre::eyre!(err)),
        _ => Ok(()),
    }
}
