//! The inference worker: a thread that owns the model, runs it when asked and sends back what the
//! views need. The UI thread never runs the model, so the screen never freezes.

use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;

use candle_core::Tensor;
use color_eyre::eyre::{Result, WrapErr};

use crate::analysis::attribution::{
    attribute, attribution_hooks, Attribution, RowRecorder, Target,
};
use crate::analysis::inside::{extra_hooks, head_inside, HeadInside, Sources};
use crate::analysis::residual::{logit_lens, LensRow};
use crate::model::family::Positions;
use crate::model::finite::NonFinite;
use crate::model::hook::{Chain, Recorder};
use crate::model::interventions::ZeroAblation;
use crate::model::positions::PositionHook;
use crate::model::sampling::{Sampler, SamplingConfig};
use crate::model::weight_check::warning_lines;
use crate::model::{Capture, Hook, LoadedModel, NamesFilter, PositionEdit, Trace};

/// Everything the views read about one state of the prompt.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Increases with every change of the prompt; answers for an older version are dropped.
    pub version: u64,
    pub ids: Vec<u32>,
    /// Each token's text as the tokenizer decodes it.
    pub tokens: Vec<String>,
    /// Hooks the tutor shows (see [`TUTOR_HOOKS`]), one chunk each.
    pub capture: crate::model::Capture,
    /// Where the pass first went NaN or infinite, when the next-token logits are not numbers.
    pub non_finite: Option<NonFinite>,
    /// The position what-if this run was made with (None: positions as the model learned them).
    pub positions: Option<PositionEdit>,
    /// In chat mode (the prompt is a question rendered through the chat template): the same
    /// question run bare, without the template, for the Next view to set beside it.
    pub bare: Option<Arc<BareRun>>,
}

/// A chat question run without its template: its next-token logits after the question's last token.
#[derive(Debug, Clone)]
pub struct BareRun {
    /// The question's tokens (BOS first when the model's tokenizer puts one there).
    pub n_tokens: usize,
    /// [d_vocab] at the question's last token.
    pub logits: Vec<f32>,
}

/// What the tutor records: patterns, scores, the residual stream's parts, and the logits.
pub const TUTOR_HOOKS: &str = "blocks.*.attn.hook_pattern, blocks.*.attn.hook_attn_scores, \
     blocks.*.hook_resid_pre, blocks.*.hook_attn_out, blocks.*.hook_mlp_out, \
     blocks.*.hook_resid_post, logits";

/// A model's positional encoding, as the Positions view shows it.
#[derive(Debug, Clone)]
pub enum PositionEncoding {
    /// W_pos [n_ctx, d_model], added to the token embedding.
    Learned(Tensor),
    /// The rotation frequency of each dimension pair of a head.
    Rotary(Vec<f64>),
}

/// Facts about the loaded model that never change.
#[derive(Clone)]
pub struct ModelInfo {
    pub name: String,
    pub config: crate::model::Config,
    pub n_params: usize,
    pub bos: Option<u32>,
    /// How the model encodes positions: W_pos [n_ctx, d_model], or the rotary frequencies.
    pub positions: PositionEncoding,
    pub device: String,
    /// The tokenizer, so the UI can label predicted tokens without asking the worker.
    pub codec: crate::model::tokenizer::TextCodec,
    /// Weights that hold NaN or infinite values, one line each (the status line shows them: the
    /// tutor never prints while its screen is up).
    pub weight_warnings: Vec<String>,
    /// The model's chat template (its end-of-turn token stops generation in chat mode), if it has one.
    pub chat: Option<crate::model::chat::ChatTemplate>,
}

/// How the model was trained and the scaling family, read from disk once by the worker after the
/// opening prompt is answered (so it never delays the first frame); a file that cannot be read is a
/// message for its view, never a failed load.
#[derive(Debug, Clone)]
pub struct TrainingData {
    /// The model folder's train_log.csv; `None` when it has none (any model `glassbox train` did
    /// not make).
    pub log: Option<Result<crate::analysis::training::TrainLog, String>>,
    /// The scaling family's runs (built into the binary, unpacked beside the bundled model).
    pub family: Result<crate::analysis::scaling::Family, String>,
}

impl TrainingData {
    pub fn read(files: &crate::model::loader::ModelFiles) -> TrainingData {
        let log_path = files.dir.join("train_log.csv");
        let log = (files.format == crate::model::loader::Format::Folder && log_path.is_file())
            .then(|| crate::analysis::training::TrainLog::read(&log_path));
        let family = crate::model::loader::scaling_dir()
            .map_err(|e| e.to_string())
            .and_then(|dir| crate::analysis::scaling::Family::read(&dir));
        TrainingData { log, family }
    }
}

#[derive(Debug, Clone)]
pub enum Request {
    /// Replace the prompt with this text (BOS is prepended when the model has one).
    Prompt(String),
    /// Replace the prompt with this question rendered through the model's chat template (its own
    /// special tokens, no extra BOS, as transformers' apply_chat_template tokenizes it); the
    /// question is also run bare, without the template, for the Next view's comparison.
    Chat(String),
    /// Append the next token chosen with this sampling configuration.
    Generate(SamplingConfig),
    /// Remove the last token.
    Pop,
    /// The logit lens at a position of a snapshot version.
    Lens {
        version: u64,
        pos: usize,
    },
    /// Run the model from now on with this position what-if (None: as trained), and the current
    /// prompt again with it.
    Positions(Option<PositionEdit>),
    /// Inside one head of a snapshot version at a query position (the Inside view).
    Inside(InsideKey),
    /// Direct logit attribution at a position of a snapshot version (the Lens view's second page).
    Attribution(AttributionKey),
    /// Next-token logits [seq, d_vocab] with these heads' outputs zeroed (and the position what-if
    /// of the current run, so the two runs differ only by the heads).
    Ablate {
        version: u64,
        heads: Vec<(usize, usize)>,
    },
    Quit,
}

pub enum Response {
    Loading(String),
    Loaded(Box<ModelInfo>),
    Ready(Box<Snapshot>),
    Lens(LensAnswer),
    Inside(InsideAnswer),
    Attribution(AttributionAnswer),
    Ablated(AblatedRun),
    /// The training log and the scaling family, once, after the opening prompt.
    Training(Box<TrainingData>),
    Failed(String),
}

/// The logit lens at one position of one snapshot, each row with its top tokens' texts.
#[derive(Debug, Clone)]
pub struct LensAnswer {
    pub version: u64,
    pub pos: usize,
    pub rows: Vec<(LensRow, Vec<String>)>,
}

/// Which head, query and snapshot an Inside answer is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InsideKey {
    pub version: u64,
    pub layer: usize,
    pub head: usize,
    pub pos: usize,
}

/// Inside one head at one query: `None` when asked of a snapshot the worker has already replaced
/// (the app asks again for the new one), the error's line when it could not be computed.
#[derive(Debug, Clone)]
pub struct InsideAnswer {
    pub key: InsideKey,
    pub data: Option<Result<HeadInside, String>>,
}

/// Which target, position and snapshot an attribution answer is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttributionKey {
    pub version: u64,
    pub pos: usize,
    pub target: Target,
}

/// Direct logit attribution at one position: `None` when asked of a replaced snapshot (the app
/// asks again), the error's line when it could not be computed.
#[derive(Debug, Clone)]
pub struct AttributionAnswer {
    pub key: AttributionKey,
    pub data: Option<Result<Attribution, String>>,
}

/// Logits of a run with some heads' outputs zeroed.
#[derive(Debug, Clone)]
pub struct AblatedRun {
    pub version: u64,
    pub heads: Vec<(usize, usize)>,
    /// [seq, d_vocab]
    pub logits: Tensor,
}

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

/// The worker's state: the model and the current trace.
pub struct Session {
    pub loaded: LoadedModel,
    trace: Option<Trace>,
    version: u64,
    /// The position what-if every run is made with, and its hook.
    positions: Option<(PositionEdit, PositionHook)>,
    /// One layer's q, k, v, z and MLP neurons for a snapshot version ([`extra_hooks`]), recorded
    /// by a second pass when the Inside view first asks about that layer: another head or query of
    /// the same layer needs no pass.
    layer_capture: Option<(u64, usize, Capture)>,
    /// In chat mode: the question, and its run without the template.
    bare: Option<(String, Arc<BareRun>)>,
    /// One position's rows of the hooks attribution reads, for a snapshot version: another target
    /// at the same position needs no pass.
    attribution_rows: Option<(u64, RowRecorder)>,
}

impl Session {
    pub fn new(loaded: LoadedModel) -> Self {
        Self {
            loaded,
            trace: None,
            version: 0,
            positions: None,
            layer_capture: None,
            bare: None,
            attribution_rows: None,
        }
    }

    pub fn info(&self) -> ModelInfo {
        let cfg = self.loaded.model.config().clone();
        ModelInfo {
            name: self.loaded.files.name.clone(),
            n_params: cfg.n_params(),
            config: cfg,
            bos: self.loaded.codec.bos_id(),
            positions: match self.loaded.model.positions() {
                Positions::Learned(w) => PositionEncoding::Learned(w.clone()),
                Positions::Rotary(rope) => PositionEncoding::Rotary(rope.frequencies().to_vec()),
            },
            device: format!("{:?}", self.loaded.model.device().location()),
            codec: self.loaded.codec.clone(),
            weight_warnings: warning_lines(&self.loaded.bad_weights),
            chat: self.loaded.chat_template.clone(),
        }
    }

    /// Serve one request (the worker thread's loop, and tests without a thread).
    pub fn handle(&mut self, request: Request) -> Result<Response> {
        match request {
            Request::Prompt(text) => {
                let bos = self.loaded.codec.prepends_bos();
                let ids = self.loaded.encode_prompt(&text, bos)?;
                self.bare = None;
                self.run(&ids)
            }
            Request::Chat(question) => {
                let Some(chat) = self.loaded.chat_template.as_ref() else {
                    return Err(crate::error::Hinted::new(
                        format!("{} has no chat template", self.loaded.files.name),
                        "chat mode needs an instruction-tuned model whose GGUF metadata or tokenizer_config.json has one",
                    )
                    .into());
                };
                let text = chat.render(&question)?;
                let ids = self.loaded.encode_prompt(&text, false)?;
                let bare = self.bare_run(&question)?;
                self.bare = Some((question, Arc::new(bare)));
                self.run(&ids)
            }
            Request::Positions(edit) => {
                self.positions = match edit {
                    Some(e) => Some((e, self.loaded.model.position_edit(e)?)),
                    None => None,
                };
                // The bare question too, so both sides of the comparison have the same what-if.
                if let Some((question, _)) = self.bare.take() {
                    let bare = self.bare_run(&question)?;
                    self.bare = Some((question, Arc::new(bare)));
                }
                // No prompt has run yet (the first one failed): the what-if holds for the next.
                let Some(trace) = &self.trace else {
                    return Ok(Response::Failed(
                        "no prompt has run yet: the position what-if applies to the next one"
                            .into(),
                    ));
                };
                let ids = trace.ids().to_vec();
                self.run(&ids)
                    .wrap_err("running the prompt with the position what-if")
            }
            Request::Generate(config) => {
                let trace = self.current()?;
                let mut sampler = Sampler::new(SamplingConfig {
                    // A new seed per position, so sampling twice at one spot can differ.
                    seed: config.seed ^ trace.len() as u64,
                    ..config
                });
                // Logits that are not numbers: the error names the hook, not the sampler's complaint.
                let id = sampler.sample(trace.finite_logits()?)?;
                let model = &self.loaded.model;
                let hook = self.positions.as_mut().map(|(_, h)| h as &mut dyn Hook);
                let trace = self.trace.as_mut().expect("checked by current()");
                model.step_with(trace, id, hook)?;
                self.snapshot()
            }
            Request::Pop => {
                let model = &self.loaded.model;
                let hook = self.positions.as_mut().map(|(_, h)| h as &mut dyn Hook);
                let trace = self
                    .trace
                    .as_mut()
                    .ok_or_else(|| color_eyre::eyre::eyre!("no prompt yet"))?;
                model.pop_with(trace, hook)?;
                self.snapshot()
            }
            Request::Lens { version, pos } => {
                // Asked before the app saw a newer snapshot (a token popped or generated since):
                // the position may be gone, and the app asks again for the new snapshot anyway.
                if version != self.version {
                    return Ok(Response::Lens(LensAnswer {
                        version,
                        pos,
                        rows: Vec::new(),
                    }));
                }
                let trace = self.current()?;
                let rows = logit_lens(&self.loaded.model, trace.capture(), pos, 5)?
                    .into_iter()
                    .map(|row| {
                        let texts = row
                            .top
                            .iter()
                            .map(|&(id, _)| self.loaded.codec.token_label(id))
                            .collect();
                        (row, texts)
                    })
                    .collect();
                Ok(Response::Lens(LensAnswer { version, pos, rows }))
            }
            Request::Inside(key) => {
                // Asked of a replaced snapshot: the app asks again for the new one.
                if key.version != self.version {
                    return Ok(Response::Inside(InsideAnswer { key, data: None }));
                }
                let data = self.inside(key).map_err(|e| crate::error::one_line(&e).0);
                Ok(Response::Inside(InsideAnswer {
                    key,
                    data: Some(data),
                }))
            }
            Request::Attribution(key) => {
                if key.version != self.version {
                    return Ok(Response::Attribution(AttributionAnswer { key, data: None }));
                }
                let data = self
                    .attribution(key)
                    .map_err(|e| crate::error::one_line(&e).0);
                Ok(Response::Attribution(AttributionAnswer {
                    key,
                    data: Some(data),
                }))
            }
            Request::Ablate { version, heads } => {
                let ids = self.current()?.ids().to_vec();
                let model = &self.loaded.model;
                model.check_heads(&heads)?;
                let mut ablation = ZeroAblation::new(&heads);
                let logits = match self.positions.as_mut() {
                    Some((_, positions)) => model.run_with_hook(
                        &ids,
                        &mut crate::model::hook::Chain(vec![positions, &mut ablation]),
                    ),
                    None => model.run_with_hook(&ids, &mut ablation),
                }
                .wrap_err("running the model with heads ablated")?; // [seq, d_vocab]
                Ok(Response::Ablated(AblatedRun {
                    version,
                    heads,
                    logits,
                }))
            }
            Request::Quit => Ok(Response::Loading("stopping".into())),
        }
    }

    /// Run `ids` from the start with the position what-if, as the current trace.
    fn run(&mut self, ids: &[u32]) -> Result<Response> {
        let model = &self.loaded.model;
        let hook = self.positions.as_mut().map(|(_, h)| h as &mut dyn Hook);
        let trace = model.trace_with(ids, NamesFilter::parse(TUTOR_HOOKS), hook)?;
        self.trace = Some(trace);
        self.snapshot()
    }

    /// `question` without the chat template, as a raw prompt runs (BOS first when the model's
    /// tokenizer puts one there), recording only its next-token logits.
    fn bare_run(&mut self, question: &str) -> Result<BareRun> {
        let bos = self.loaded.codec.prepends_bos();
        let ids = self.loaded.encode_prompt(question, bos)?;
        let model = &self.loaded.model;
        let hook = self.positions.as_mut().map(|(_, h)| h as &mut dyn Hook);
        let trace = model
            .trace_with(&ids, NamesFilter::names::<&str>(&[]), hook)
            .wrap_err("running the question without the chat template")?;
        Ok(BareRun {
            n_tokens: ids.len(),
            logits: trace.next_logits().to_vec1::<f32>()?,
        })
    }

    /// Inside one head at one query, from the snapshot's capture and the layer's extra hooks.
    fn inside(&mut self, key: InsideKey) -> Result<HeadInside> {
        let model = &self.loaded.model;
        let cfg = model.config();
        let trace = self
            .trace
            .as_ref()
            .ok_or_else(|| color_eyre::eyre::eyre!("no prompt yet"))?;
        let cached =
            matches!(&self.layer_capture, Some((v, l, _)) if *v == key.version && *l == key.layer);
        if !cached {
            // Drop the old layer before recording the new one: only one is ever held.
            self.layer_capture = None;
            let filter = NamesFilter::names(&extra_hooks(cfg, key.layer));
            let mut capture = Capture::default();
            let mut recorder = Recorder {
                filter: &filter,
                capture: &mut capture,
            };
            // The same position what-if as the snapshot's run, so both passes agree.
            let mut hooks: Vec<&mut dyn Hook> = vec![&mut recorder];
            if let Some((_, h)) = self.positions.as_mut() {
                hooks.insert(0, h);
            }
            model
                .record(trace.ids(), &mut Chain(hooks))
                .wrap_err_with(|| format!("recording layer {}'s q, k, v and neurons", key.layer))?;
            self.layer_capture = Some((key.version, key.layer, capture));
        }
        let layer_capture = &self.layer_capture.as_ref().expect("recorded above").2;
        let sources = Sources(vec![trace.capture(), layer_capture]);
        let (w_o, b_o) = model.w_o(key.layer)?;
        Ok(head_inside(
            &sources,
            cfg,
            (&w_o, b_o.as_ref()),
            key.layer,
            key.head,
            key.pos,
        )?)
    }

    /// Direct logit attribution at one position, recording that position's rows once per version.
    fn attribution(&mut self, key: AttributionKey) -> Result<Attribution> {
        let model = &self.loaded.model;
        let trace = self
            .trace
            .as_ref()
            .ok_or_else(|| color_eyre::eyre::eyre!("no prompt yet"))?;
        if key.pos >= trace.len() {
            color_eyre::eyre::bail!("position {} is past the prompt", key.pos);
        }
        let cached =
            matches!(&self.attribution_rows, Some((v, r)) if *v == key.version && r.pos == key.pos);
        if !cached {
            self.attribution_rows = None;
            let mut rows = RowRecorder::new(key.pos, attribution_hooks(model.config()));
            // The same position what-if as the snapshot's run, so both passes agree.
            let mut hooks: Vec<&mut dyn Hook> = vec![&mut rows];
            if let Some((_, h)) = self.positions.as_mut() {
                hooks.insert(0, h);
            }
            model
                .record(trace.ids(), &mut Chain(hooks))
                .wrap_err("recording the heads' outputs for the attribution")?;
            self.attribution_rows = Some((key.version, rows));
        }
        let rows = &self.attribution_rows.as_ref().expect("recorded above").1;
        Ok(attribute(model, rows, key.target)?)
    }

    fn current(&self) -> Result<&Trace> {
        self.trace
            .as_ref()
            .ok_or_else(|| color_eyre::eyre::eyre!("no prompt yet"))
    }

    fn snapshot(&mut self) -> Result<Response> {
        self.version += 1;
        let version = self.version;
        let trace = self
            .trace
            .as_mut()
            .ok_or_else(|| color_eyre::eyre::eyre!("no prompt yet"))?;
        trace.capture_mut().compact()?;
        let ids = trace.ids().to_vec();
        Ok(Response::Ready(Box::new(Snapshot {
            version,
            tokens: self.loaded.codec.token_labels(&ids),
            ids,
            capture: trace.capture().clone(),
            non_finite: trace.non_finite().cloned(),
            positions: self.positions.as_ref().map(|(e, _)| *e),
            bare: self.bare.as_ref().map(|(_, b)| Arc::clone(b)),
        })))
    }

    /// The text of one token id.
    pub fn token_text(&self, id: u32) -> String {
        self.loaded.codec.token_label(id)
    }
}
