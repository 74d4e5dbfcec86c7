//! `glassbox` / `glassbox tutor`: the interactive terminal tutor.
//!
//! The model is found here (so a wrong --model is a one-line error before the screen changes), then
//! loaded and run on a worker thread while the first frame is already on screen.

use std::io::stdout;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use color_eyre::eyre::{Result, WrapErr};
use glassbox::app::lessons::Lessons;
use glassbox::app::worker::{Request, Response, Worker};
use glassbox::app::App;
use glassbox::error::{hinted, Hinted};
use glassbox::interrupt::{self, TerminalHooks};
use glassbox::lesson::{self, progress::Progress};
use glassbox::model::{self, loader};
use glassbox::ui::theme::{ColorMode, Theme};
use glassbox::ui::Screen;
use ratatui::crossterm::cursor::{Hide, Show};
use ratatui::crossterm::event::{self, DisableMouseCapture, EnableMouseCapture, Event};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::DefaultTerminal;

use crate::cli::TutorArgs;

/// The prompt the tutor opens with: a made-up name the model must copy from earlier in the text.
pub const DEFAULT_PROMPT: &str =
    "There was a girl named Zorva Kelpim. Zorva Kelpim went to the park. The next day, Zorva";

/// The question `--chat` asks when none is given.
pub const DEFAULT_QUESTION: &str = "What is the capital of France?";

pub fn run(args: TutorArgs) -> Result<()> {
    let (all, errors) = lesson::Source::from_env().load();
    let lessons = Lessons::new(all, errors, Progress::open(Progress::default_path()));
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
            None if args.prompt.is_none() && args.prompt_file.is_none() && args.chat.is_none() => {
                let last = lessons.progress.last.as_deref();
                last.and_then(|id| lesson::find(&lessons.all, id))
                    .map(|(i, _)| i)
            }
            None => None,
        };
    let chat = args.chat.is_some();
    let question = args.chat.clone().flatten();
    if question.is_some() && (args.prompt.is_some() || args.prompt_file.is_some()) {
        return hinted(
            "--chat QUESTION and --prompt both give the prompt",
            "give the question once: --chat \"…\", or --chat with --prompt or --prompt-file",
        );
    }
    let prompt = match (&args.prompt, &args.prompt_file, open) {
        _ if question.is_some() => question.unwrap_or_default(),
        (Some(p), _, _) => p.clone(),
        (None, Some(path), _) => model::prompt::read_prompt_file(path, None)?,
        (None, None, Some(i)) => lessons.all[i].meta.prompt.clone(),
        (None, None, None) if chat => DEFAULT_QUESTION.to_string(),
        (None, None, None) => DEFAULT_PROMPT.to_string(),
    };
    let device = super::select_device(args.model.device)?;
    // Without --model, a lesson written for a real model opens on it: asked for with --lesson, a
    // missing model is the error that says how to get it; reopened from last time, the bundled model
    // opens instead and the lesson pane says how to get the lesson's.
    let files = match (&args.model.model, open) {
        (Some(m), _) => loader::resolve(Some(m))?,
        (None, Some(i)) if lessons.all[i].meta.model != loader::BUNDLED_NAME => {
            match loader::resolve(Some(&lessons.all[i].meta.model)) {
                Ok(files) => files,
                Err(e) if args.lesson.is_some() => return Err(e),
                Err(_) => loader::resolve(None)?,
            }
        }
        (None, _) => loader::resolve(None)?,
    };
    // The template is rendered after loading, on the worker; whether there is one is known from the
    // files alone, so a model without one is refused before the screen changes.
    if chat && !loader::has_chat_template(&files) {
        return hinted(
            format!("{} has no chat template", files.name),
            "--chat needs an instruction-tuned model whose GGUF metadata or tokenizer_config.json has one (SmolLM2-135M-Instruct does); leave out --chat",
        );
    }
    let opening = if chat {
        Request::Chat(prompt.clone())
    } else {
        Request::Prompt(prompt.clone())
    };
    // One channel carries everything the loop waits for: keys and mouse, the worker's answers, and a
    // tick for the spinner while the worker is busy. The loop blocks on it: nothing happens, nothing runs.
    let (events, inbox) = mpsc::channel::<Msg>();
    let to_loop = events.clone();
    let worker = Worker::spawn_with(
        move || loader::load_files(files, &device),
        opening,
        move |r| to_loop.send(Msg::Worker(Box::new(r))).is_ok(),
    );
    let theme = Theme::new(ColorMode::detect());

    check_terminal()?;
    let mut terminal = ratatui::try_init().wrap_err("cannot set up the terminal")?;
    install_mouse_restoring_panic_hook();
    let _ = execute!(stdout(), EnableMouseCapture);
    // A signal (kill -TERM, a closed SSH session, Ctrl-Z) gives the terminal back before the process
    // ends or stops; after `fg` the screen is taken again and drawn whole.
    let redraw = events.clone();
    interrupt::hold_terminal(TerminalHooks {
        release: Box::new(release_terminal),
        reclaim: Box::new(move || {
            take_terminal();
            let _ = redraw.send(Msg::Redraw);
        }),
    });
    let once = args.exit_after_first_frame;
    let mut app = App::new(prompt);
    app.chat = chat;
    app.lessons = lessons;
    app.pending_lesson = open;
    let busy = Arc::new(AtomicBool::new(true));
    let stop_input = Arc::new(AtomicBool::new(false));
    let input = spawn_input(events.clone(), Arc::clone(&stop_input));
    spawn_ticks(events, Arc::clone(&busy));
    let result = event_loop(&mut terminal, app, &worker, &inbox, &busy, theme, once);
    stop_input.store(true, Ordering::Relaxed);
    if let Some(input) = input {
        let _ = input.join();
    }
    interrupt::let_go_of_terminal();
    release_terminal();
    result
}

/// The tutor draws with cursor movement and colour escape codes: refuse, before the screen changes,
/// where they cannot work.
fn check_terminal() -> Result<()> {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return hinted(
            "the tutor needs an interactive terminal, and this is not one",
            "run glassbox in a terminal; for scripts use `glassbox inspect`, `dump` or `export`",
        );
    }
    if std::env::var_os("TERM").is_some_and(|t| t == "dumb") {
        return hinted(
            "the tutor needs a terminal that can move the cursor, and TERM=dumb says this one cannot",
            "run it in a terminal emulator (or set TERM=xterm-256color); for scripts use `glassbox inspect`, `dump` or `export`",
        );
    }
    Ok(())
}

/// Everything the tutor changed in the terminal, undone: mouse reporting, the alternate screen, the
/// hidden cursor, raw mode. Errors are ignored: the terminal may already be gone (SIGHUP).
fn release_terminal() {
    let _ = execute!(stdout(), DisableMouseCapture, LeaveAlternateScreen, Show);
    let _ = disable_raw_mode();
}

/// The tutor's terminal modes again, after a suspend.
fn take_terminal() {
    let _ = enable_raw_mode();
    let _ = execute!(stdout(), EnterAlternateScreen, EnableMouseCapture, Hide);
}

/// ratatui's panic hook restores the screen but not mouse reporting; turn that off first.
fn install_mouse_restoring_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = execute!(stdout(), DisableMouseCapture);
        previous(info);
    }));
}

/// What the event loop wakes up for.
enum Msg {
    Input(Event),
    Worker(Box<Response>),
    Tick,
    /// The terminal was taken again after a suspend: draw the whole screen, not the difference.
    Redraw,
}

/// Terminal input, read on its own thread and forwarded to the loop. It reads only what is already
/// there and looks at `stop` before each read, so once the tutor quits it takes nothing more: keys typed
/// while the tutor closes stay for the shell.
fn spawn_input(
    to_loop: mpsc::Sender<Msg>,
    stop: Arc<AtomicBool>,
) -> Option<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("glassbox-input".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match event::poll(Duration::from_millis(50)) {
                    Ok(true) if !stop.load(Ordering::Relaxed) => {
                        let sent = event::read().map(|ev| to_loop.send(Msg::Input(ev)));
                        if !matches!(sent, Ok(Ok(()))) {
                            return;
                        }
                    }
                    Ok(_) => {}
                    Err(_) => return,
                }
            }
        })
        .ok()
}

/// Ten ticks a second while the worker is busy, so the spinner turns; none otherwise.
fn spawn_ticks(to_loop: mpsc::Sender<Msg>, busy: Arc<AtomicBool>) {
    let _ = std::thread::Builder::new()
        .name("glassbox-tick".into())
        .spawn(move || loop {
            std::thread::sleep(Duration::from_millis(100));
            if busy.load(Ordering::Relaxed) && to_loop.send(Msg::Tick).is_err() {
                return;
            }
        });
}

fn event_loop(
    terminal: &mut DefaultTerminal,
    mut app: App,
    worker: &Worker,
    inbox: &mpsc::Receiver<Msg>,
    busy: &AtomicBool,
    theme: Theme,
    exit_after_first_frame: bool,
) -> Result<()> {
    let mut clear = false;
    loop {
        if std::mem::take(&mut clear) {
            terminal.clear()?;
        }
        terminal.draw(|f| f.render_widget(Screen { app: &app, theme }, f.area()))?;
        // The frame said what it needs (the heads grid its thumbnails' size): ask for what is missing.
        for request in app.fetches() {
            worker.send(request);
        }
        // The first whole frame: the prompt has run and what the view shows has come.
        if exit_after_first_frame && app.snap.is_some() && !app.waiting() {
            break;
        }
        busy.store(app.waiting(), Ordering::Relaxed);
        // Wait for the next thing to happen, then take whatever else is already waiting, so a burst
        // (a key held down, a resize storm) is drawn once.
        let Ok(first) = inbox.recv() else { break };
        for msg in std::iter::once(first).chain(inbox.try_iter()) {
            handle(&mut app, worker, msg, &mut clear);
            if app.quit {
                break;
            }
        }
        // What the screen now needs from the worker (a head's map, the logits at the cursor) mostly
        // comes within milliseconds: wait for it a moment before drawing, so a key shows the new head
        // at once instead of a "computing" frame first. Past ANSWER_WAIT the spinner shows.
        let deadline = Instant::now() + ANSWER_WAIT;
        while !app.quit && app.answers_on_the_way() {
            let left = deadline.saturating_duration_since(Instant::now());
            match inbox.recv_timeout(left) {
                Ok(msg) => handle(&mut app, worker, msg, &mut clear),
                Err(_) => break,
            }
        }
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

/// How long a frame waits for answers the worker is computing before it draws without them.
const ANSWER_WAIT: Duration = Duration::from_millis(50);

/// One message: a key, a click, a resize, a worker's answer or a tick, with the requests and effects
/// it leads to sent and carried out.
fn handle(app: &mut App, worker: &Worker, msg: Msg, clear: &mut bool) {
    let requests = match msg {
        Msg::Input(Event::Key(key)) => app.on_key(key),
        Msg::Input(Event::Mouse(mouse)) => app.on_mouse(mouse),
        Msg::Input(_) => Vec::new(), // resize: just redraw
        Msg::Worker(response) => app.on_response(*response),
        Msg::Tick => {
            app.tick = app.tick.wrapping_add(1);
            Vec::new()
        }
        Msg::Redraw => {
            *clear = true;
            Vec::new()
        }
    };
    for request in requests {
        worker.send(request);
    }
    // What the app asked for besides the worker: a PNG of the view, lesson progress saved.
    glassbox::shell::carry_out_queued(app);
}
