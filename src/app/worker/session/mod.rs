//! The worker's side: the loaded model, the current trace and the caches that answer each request.

mod answers;

use std::collections::HashMap;
use std::sync::Arc;

use candle_core::Tensor;
use color_eyre::eyre::{Result, WrapErr};

use super::{
    tutor_hooks, AttributionAnswer, AttributionKey, BareRun, Fetched, InsideAnswer, InsideKey,
    LensAnswer, ModelInfo, PositionEncoding, Request, Response, Snapshot,
};
use crate::analysis::attribution::{attribute, attribution_hooks, Attribution, RowRecorder};
use crate::analysis::heads::{Criterion, RowScores};
use crate::analysis::inside::{extra_hooks, head_inside, HeadInside, Sources};
use crate::analysis::residual::{logit_lens, NormRecorder};
use crate::model::family::Positions;
use crate::model::hook::{Chain, Recorder};
use crate::model::positions::PositionHook;
use crate::model::sampling::{Sampler, SamplingConfig};
use crate::model::weight_check::warning_lines;
use crate::model::{Capture, Hook, LoadedModel, NamesFilter, PositionEdit, Trace};

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
    /// The residual stream's norms at every position of the trace, kept up by every pass.
    norms: NormRecorder,
    /// Answers that cost a sweep over every layer or a second pass, for the current version (a new
    /// snapshot drops them): every head's scores by criterion, and the last ablated run (its heads
    /// and the last block's `hook_resid_post` [n, d_model], from which any position's logits are one
    /// product).
    head_scores: HashMap<Criterion, Arc<Vec<Vec<f32>>>>,
    ablated: Option<(Vec<(usize, usize)>, Tensor)>,
    /// The losses of these ids with the current position what-if: a token appended keeps them.
    losses: Option<(Vec<u32>, Arc<Vec<f32>>)>,
    /// Each head's scores by query row with the current position what-if, likewise.
    row_scores: Option<RowScores>,
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
            norms: NormRecorder::default(),
            head_scores: HashMap::new(),
            ablated: None,
            losses: None,
            row_scores: None,
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
                // Other positions give other logits and patterns: no loss or score carries over.
                self.losses = None;
                self.row_scores = None;
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
                let mut hooks = pass_hooks(&mut self.positions, &mut self.norms);
                let trace = self.trace.as_mut().expect("checked by current()");
                model.step_with(trace, id, Some(&mut hooks))?;
                self.snapshot()
            }
            Request::Pop => {
                let model = &self.loaded.model;
                let mut hooks = pass_hooks(&mut self.positions, &mut self.norms);
                let trace = self
                    .trace
                    .as_mut()
                    .ok_or_else(|| color_eyre::eyre::eyre!("no prompt yet"))?;
                model.pop_with(trace, Some(&mut hooks))?;
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
            Request::Fetch { version, query } => {
                // Asked of a replaced snapshot: the app asks again for the new one.
                let answer = (version == self.version)
                    .then(|| self.fetch(&query).map_err(|e| crate::error::one_line(&e).0));
                Ok(Response::Fetched(Box::new(Fetched {
                    version,
                    query,
                    answer,
                })))
            }
            Request::Quit => Ok(Response::Loading("stopping".into())),
        }
    }

    /// Run `ids` from the start with the position what-if, as the current trace.
    fn run(&mut self, ids: &[u32]) -> Result<Response> {
        let model = &self.loaded.model;
        // The current trace and its norms stay until the new prompt has run: one that fails (too
        // long, say) leaves the prompt on screen as it was.
        let mut norms = NormRecorder::new(model.config().n_layers);
        let filter = NamesFilter::parse(&tutor_hooks(model.config()));
        let mut hooks = pass_hooks(&mut self.positions, &mut norms);
        let trace = model.trace_with(ids, filter, Some(&mut hooks))?;
        self.trace = Some(trace);
        self.norms = norms;
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
        self.head_scores.clear();
        self.ablated = None;
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
            norms: Arc::new(self.norms.norms().to_vec()),
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

/// The hooks every pass of the tutor's trace runs with: the position what-if, if any, then the
/// norms' recorder (which sees what the pass really computed).
fn pass_hooks<'a>(
    positions: &'a mut Option<(PositionEdit, PositionHook)>,
    norms: &'a mut NormRecorder,
) -> Chain<'a> {
    let mut hooks: Vec<&mut dyn Hook> = Vec::new();
    if let Some((_, h)) = positions.as_mut() {
        hooks.push(h);
    }
    hooks.push(norms);
    Chain(hooks)
}
