//! The inference worker: a thread that owns the model, runs it when asked and sends back what the
//! views need. The UI thread never runs the model, so the screen never freezes.
//!
//! [`messages`] holds what crosses between the threads (requests, responses, snapshots); this file the
//! thread and its loop; [`session`] the model's side, which answers each request.

mod messages;
mod session;

pub use messages::*;
pub use session::Session;

use std::sync::mpsc::{channel, Receiver, Sender};
use std::thread::JoinHandle;

use color_eyre::eyre::Result;

use crate::model::LoadedModel;

/// The UI's handle on the worker thread.
pub struct Worker {
    tx: Sender<Request>,
    pub rx: Receiver<Response>,
    handle: Option<JoinHandle<()>>,
}

impl Worker {
    /// Start the thread: it loads the model with `load`, serves `opening` (the first prompt), then
    /// the requests sent; its answers wait in `rx`.
    pub fn spawn<F>(load: F, opening: Request) -> Self
    where
        F: FnOnce() -> Result<LoadedModel> + Send + 'static,
    {
        let (responses, rx) = channel::<Response>();
        let (tx, handle) = Self::start(load, opening, move |r| responses.send(r).is_ok());
        Self { tx, rx, handle }
    }

    /// The same, handing each answer to `deliver` (false: nobody listens any more, stop), so an event
    /// loop can receive answers, input and ticks on one channel and block on it. `rx` stays empty.
    pub fn spawn_with<F, D>(load: F, opening: Request, deliver: D) -> Self
    where
        F: FnOnce() -> Result<LoadedModel> + Send + 'static,
        D: FnMut(Response) -> bool + Send + 'static,
    {
        let (tx, handle) = Self::start(load, opening, deliver);
        Self {
            tx,
            rx: channel().1,
            handle,
        }
    }

    fn start<F, D>(
        load: F,
        opening: Request,
        deliver: D,
    ) -> (Sender<Request>, Option<JoinHandle<()>>)
    where
        F: FnOnce() -> Result<LoadedModel> + Send + 'static,
        D: FnMut(Response) -> bool + Send + 'static,
    {
        let (tx, requests) = channel::<Request>();
        let handle = std::thread::Builder::new()
            .name("glassbox-model".into())
            .spawn(move || serve(load, opening, requests, deliver))
            .ok();
        (tx, handle)
    }

    pub fn send(&self, request: Request) {
        // A worker that has stopped already reported why; nothing more to do here.
        let _ = self.tx.send(request);
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.tx.send(Request::Quit);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn serve<F, D>(load: F, opening: Request, requests: Receiver<Request>, mut deliver: D)
where
    F: FnOnce() -> Result<LoadedModel>,
    D: FnMut(Response) -> bool,
{
    deliver(Response::Loading("loading the model…".into()));
    let loaded = match load() {
        Ok(m) => m,
        Err(e) => {
            deliver(Response::Failed(crate::error::one_line(&e).0));
            return;
        }
    };
    let mut session = Session::new(loaded);
    deliver(Response::Loaded(Box::new(session.info())));
    let mut pending = Some(opening);
    let mut training_sent = false;
    loop {
        let request = match pending.take() {
            Some(r) => r,
            None => match requests.recv() {
                Ok(r) => r,
                Err(_) => return,
            },
        };
        if matches!(request, Request::Quit) {
            return;
        }
        let response = session
            .handle(request)
            .unwrap_or_else(|e| Response::Failed(crate::error::one_line(&e).0));
        if !deliver(response) {
            return;
        }
        // The first frame needs only the opening prompt: the Training view's files come after it.
        if !training_sent {
            training_sent = true;
            let training = TrainingData::read(&session.loaded.files);
            if !deliver(Response::Training(Box::new(training))) {
                return;
            }
        }
    }
}

/// Answer `requests`, and the follow-ups the app asks for, in this thread: what the worker thread
/// does, for screenshots, tests and benchmarks that need no terminal.
pub fn serve_inline(
    app: &mut super::App,
    session: &mut Session,
    mut requests: Vec<Request>,
) -> Result<()> {
    while let Some(request) = requests.pop() {
        let response = session.handle(request)?;
        requests.extend(app.on_response(response));
    }
    Ok(())
}

/// Draw with `draw`, answer what the frame asked for, and again until nothing is missing: what the
/// event loop does between frames, for screenshots and tests (the heads grid learns its thumbnails'
/// size only by drawing).
pub fn settle(
    app: &mut super::App,
    session: &mut Session,
    mut draw: impl FnMut(&super::App),
) -> Result<()> {
    for _ in 0..4 {
        draw(app);
        let requests = app.fetches();
        if requests.is_empty() {
            break;
        }
        serve_inline(app, session, requests)?;
    }
    Ok(())
}

/// An app with `loaded` and `prompt` already run, and the session that serves it, without a thread.
pub fn start_inline(loaded: LoadedModel, prompt: &str) -> Result<(super::App, Session)> {
    start_inline_as(loaded, prompt, false)
}

/// The same, with `chat` on: `prompt` is a question the worker renders through the chat template.
pub fn start_inline_as(
    loaded: LoadedModel,
    prompt: &str,
    chat: bool,
) -> Result<(super::App, Session)> {
    let mut session = Session::new(loaded);
    let mut app = super::App::new(prompt.to_string());
    app.chat = chat;
    let requests = app.on_response(Response::Loaded(Box::new(session.info())));
    serve_inline(&mut app, &mut session, requests)?;
    let opening = app.prompt_request(prompt.to_string());
    serve_inline(&mut app, &mut session, vec![opening])?;
    let training = TrainingData::read(&session.loaded.files);
    app.on_response(Response::Training(Box::new(training)));
    Ok((app, session))
}
