//! The tutor's state and how keys, mouse clicks and the worker's answers change it. Nothing here
//! draws, runs the model or writes a file: handlers return the requests for the worker and queue
//! [`Effect`]s (export a PNG, save progress) for the event loop, so the app is testable alone.

mod attribution;
mod chat;
mod derived;
pub mod editor;
mod effects;
mod fetch;
pub mod keymap;
pub mod keys;
pub mod lessons;
mod parts;
mod positions;
mod view;
pub mod worker;

use std::cell::RefCell;

use ratatui::layout::Rect;

use crate::analysis::heatmap::Heatmap;
use crate::lesson::task::Criterion;
pub use attribution::{LensPage, TargetChoice, CANDIDATES};
pub use editor::Editor;
pub use effects::Effect;
pub use parts::{Overlay, Sampling, WhatIf};
pub use view::{TrainingPage, View};
use worker::{
    AttributionAnswer, AttributionKey, InsideAnswer, InsideKey, LensAnswer, ModelInfo, Request,
    Response, Snapshot,
};

/// What the last drawing measured: where mouse clicks land, and how far scrolled text can go (read
/// when a click or a scroll key arrives).
#[derive(Debug, Clone, Default)]
pub struct Hits {
    /// Token strip: a rectangle per token index.
    pub tokens: Vec<(Rect, usize)>,
    /// Heads grid: a rectangle per (layer, head).
    pub heads: Vec<(Rect, usize, usize)>,
    /// Heatmap cells: the plot area and the first row/col shown, rows per line and cols per key.
    pub heatmap: Option<HeatmapHit>,
    /// View tabs.
    pub tabs: Vec<(Rect, View)>,
    /// The heads grid's thumbnails drawn or wanted: (layer, rows, cols) each.
    pub thumbnails: Vec<(usize, usize, usize)>,
    /// The lesson pane's furthest scroll (its text's wrapped lines less the rows shown); `None`
    /// when no lesson pane was drawn.
    pub lesson_scroll_max: Option<u16>,
    /// The key help's furthest scroll, when it was drawn.
    pub help_scroll_max: Option<u16>,
}

#[derive(Debug, Clone, Copy)]
pub struct HeatmapHit {
    pub area: Rect,
    pub row0: usize,
    pub rows_per_line: usize,
}

/// The tutor's whole state.
pub struct App {
    pub info: Option<ModelInfo>,
    pub snap: Option<Snapshot>,
    /// The prompt text as typed (before generation); in chat mode the question, before the
    /// template is put around it.
    pub prompt: String,
    /// Chat mode: the worker renders `prompt` through the model's chat template (c toggles).
    pub chat: bool,
    /// How many tokens came from the prompt; the rest were generated.
    pub prompt_len: usize,
    pub view: View,
    pub cursor: usize,
    pub layer: usize,
    pub head: usize,
    /// How the next token is chosen and the temperature the Next view shows.
    pub sampling: Sampling,
    /// The what-ifs the views show the model under (a lesson step starts from none).
    pub what_if: WhatIf,
    /// The score the Heads view prints under each head.
    pub head_metric: Criterion,
    /// Which page the Training view shows.
    pub training_page: TrainingPage,
    /// The training log and the scaling family, once the worker has read them.
    pub training: Option<worker::TrainingData>,
    pub lens: Option<LensAnswer>,
    /// Inside the selected head at the cursor (the Inside view), once the worker has answered.
    pub inside: Option<InsideAnswer>,
    /// The last Inside question sent, so a key press while it is on its way does not ask again.
    inside_asked: Option<InsideKey>,
    /// Which page the Lens view shows: the logit lens or direct logit attribution.
    pub lens_page: LensPage,
    /// The attribution page's target, as ranks among the cursor's most likely next tokens.
    pub target: TargetChoice,
    /// Direct logit attribution at the cursor, once the worker has answered.
    pub attribution: Option<AttributionAnswer>,
    attribution_asked: Option<AttributionKey>,
    /// Half-block cells (two rows per line) instead of one row per line.
    pub dense: bool,
    /// What covers the main view and takes the keys first, if anything.
    pub overlay: Overlay,
    /// Work the worker is doing now, shown in the status line.
    pub busy: Option<String>,
    /// Generate presses made while the worker was busy, still to be carried out.
    pub queued: usize,
    /// Requests that change the tokens (prompt, generate, pop) sent and not answered yet, the
    /// opening prompt the worker runs after loading included: the app is busy until the last one
    /// is in, so nothing is asked of a snapshot about to be replaced.
    pub(crate) in_flight: usize,
    pub status: String,
    pub error: Option<String>,
    pub quit: bool,
    /// Advanced by the event loop while the worker is busy, to animate the status line's spinner.
    pub tick: usize,
    /// Lessons: the list, the open one and progress.
    pub lessons: lessons::Lessons,
    /// A lesson step's cursor, applied when its prompt has run.
    pub pending_cursor: Option<i64>,
    /// The lesson to open once the model has loaded (`--lesson`, or the one open last time).
    pub pending_lesson: Option<usize>,
    pub hits: RefCell<Hits>,
    /// Effects queued for the event loop (see [`App::take_effects`]).
    effects: Vec<Effect>,
    cache: RefCell<Option<(derived::CacheKey, std::rc::Rc<Heatmap>)>>,
    derived: RefCell<derived::Derived>,
    /// What the worker answered about the snapshot on screen ([`App::fetches`]).
    fetched: RefCell<fetch::FetchCache>,
}

impl App {
    pub fn new(prompt: String) -> Self {
        Self {
            info: None,
            snap: None,
            prompt,
            chat: false,
            prompt_len: 0,
            view: View::Attention,
            cursor: 0,
            layer: 0,
            head: 0,
            sampling: Sampling::default(),
            what_if: WhatIf::default(),
            head_metric: Criterion::PreviousToken,
            training_page: TrainingPage::Curve,
            training: None,
            lens: None,
            inside: None,
            inside_asked: None,
            lens_page: LensPage::Lens,
            target: TargetChoice::default(),
            attribution: None,
            attribution_asked: None,
            dense: false,
            overlay: Overlay::None,
            busy: Some("loading the model…".into()),
            queued: 0,
            in_flight: 0,
            status: String::new(),
            error: None,
            quit: false,
            tick: 0,
            lessons: lessons::Lessons::default(),
            pending_cursor: None,
            pending_lesson: None,
            hits: RefCell::new(Hits::default()),
            effects: Vec::new(),
            cache: RefCell::new(None),
            derived: RefCell::new(derived::Derived::default()),
            fetched: RefCell::new(fetch::FetchCache::default()),
        }
    }

    pub fn n_tokens(&self) -> usize {
        self.snap.as_ref().map_or(0, |s| s.ids.len())
    }

    /// The panel on screen as lessons name it: the view's, or "scaling" for the Training view's
    /// second page.
    pub fn panel_name(&self) -> &'static str {
        if self.view == View::Training && self.training_page == TrainingPage::Scaling {
            "scaling"
        } else if self.view == View::Lens && self.lens_page == LensPage::Attribution {
            "attribution"
        } else {
            self.view.panel()
        }
    }

    pub fn dims(&self) -> (usize, usize) {
        self.info
            .as_ref()
            .map_or((0, 0), |i| (i.config.n_layers, i.config.n_heads))
    }

    /// Apply an answer from the worker; returns follow-up requests.
    pub fn on_response(&mut self, response: Response) -> Vec<Request> {
        match response {
            Response::Loading(msg) => {
                self.busy = Some(msg);
                Vec::new()
            }
            Response::Loaded(info) => {
                self.info = Some(*info);
                self.busy = Some("running the prompt…".into());
                // The worker runs the opening prompt right after loading, before any request.
                self.in_flight += 1;
                match self.pending_lesson.take() {
                    Some(i) => self.open_lesson(i),
                    None => Vec::new(),
                }
            }
            Response::Ready(snap) => {
                self.in_flight = self.in_flight.saturating_sub(1);
                if self.in_flight > 0 {
                    // Another prompt, token or pop is on its way and will replace this snapshot:
                    // stay busy, and ask nothing of it.
                    return Vec::new();
                }
                let grew = self
                    .snap
                    .as_ref()
                    .is_some_and(|s| snap.ids.len() > s.ids.len());
                let first = self.snap.is_none() || self.prompt_len == 0;
                if first {
                    self.prompt_len = snap.ids.len();
                }
                self.prompt_len = self.prompt_len.min(snap.ids.len());
                // After a new prompt or a generated token, look at the newest position.
                if first || grew || self.cursor >= snap.ids.len() {
                    self.cursor = snap.ids.len().saturating_sub(1);
                }
                self.snap = Some(*snap);
                self.busy = None;
                self.error = None;
                self.lens = None;
                self.inside = None;
                self.attribution = None;
                self.apply_pending_cursor();
                if grew && self.turn_over() {
                    self.stop_at_turn_end();
                }
                let mut out = self.follow_ups();
                out.extend(self.next_queued());
                self.check_task();
                out
            }
            Response::Lens(answer) => {
                // An answer about a snapshot the worker has already replaced has no rows, and one
                // that comes while a prompt, token or pop is on its way is about to be stale: the
                // next snapshot asks again.
                if !answer.rows.is_empty() && self.in_flight == 0 {
                    self.lens = Some(answer);
                }
                Vec::new()
            }
            Response::Training(training) => {
                self.training = Some(*training);
                Vec::new()
            }
            Response::Inside(answer) => {
                if self.inside_asked == Some(answer.key) {
                    self.inside_asked = None;
                }
                // Stale (no data) or about to be: the next snapshot asks again.
                if answer.data.is_some() && self.in_flight == 0 {
                    self.inside = Some(answer);
                }
                Vec::new()
            }
            Response::Attribution(answer) => {
                self.on_attribution(answer);
                Vec::new()
            }
            Response::Fetched(fetched) => {
                self.on_fetched(*fetched);
                self.check_task();
                // The attribution's target is chosen from the logits that may just have come.
                let mut out: Vec<Request> = self.attribution_follow_up().into_iter().collect();
                out.extend(self.fetches());
                out
            }
            Response::Failed(msg) => {
                // The answers come in order and what fails is almost always a prompt, token or pop
                // (too long, full, empty): one fewer on its way. Busy until the last is in.
                self.in_flight = self.in_flight.saturating_sub(1);
                if self.in_flight == 0 {
                    self.busy = None;
                }
                self.queued = 0;
                self.error = Some(msg);
                Vec::new()
            }
        }
    }

    /// The next queued generate press, once the worker is free.
    fn next_queued(&mut self) -> Vec<Request> {
        if self.queued == 0 || self.busy.is_some() {
            return Vec::new();
        }
        self.queued -= 1;
        self.generate()
    }

    /// Requests the current view needs and does not have yet (lens rows, Inside, attribution, and
    /// what [`App::fetches`] asks).
    pub fn follow_ups(&mut self) -> Vec<Request> {
        let Some(snap) = &self.snap else {
            return Vec::new();
        };
        let version = snap.version;
        let mut out = Vec::new();
        let lens_ok = self
            .lens
            .as_ref()
            .is_some_and(|a| a.version == version && a.pos == self.cursor);
        if self.view == View::Lens && self.lens_page == LensPage::Lens && !lens_ok {
            out.push(Request::Lens {
                version,
                pos: self.cursor,
            });
        }
        if let Some(key) = self.inside_wanted() {
            let have = self.inside.as_ref().is_some_and(|a| a.key == key);
            if !have && self.inside_asked != Some(key) {
                self.inside_asked = Some(key);
                out.push(Request::Inside(key));
            }
        }
        out.extend(self.attribution_follow_up());
        out.extend(self.fetches());
        out
    }

    /// What the Inside view needs answered now, when it is open on a snapshot.
    pub fn inside_wanted(&self) -> Option<InsideKey> {
        let snap = self.snap.as_ref().filter(|_| self.view == View::Inside)?;
        Some(InsideKey {
            version: snap.version,
            layer: self.layer,
            head: self.head,
            pos: self.cursor,
        })
    }

    /// Whether the screen waits on the worker: busy, or the Inside view's answer or another the
    /// screen needs on its way (the event loop turns the spinner meanwhile).
    pub fn waiting(&self) -> bool {
        self.busy.is_some()
            || self.fetching()
            || (self.inside_wanted().is_some() && self.inside_current().is_none())
            || (self.attribution_wanted().is_some() && self.attribution_current().is_none())
    }

    /// The Inside answer for the selected head and the cursor, if the worker has sent it.
    pub fn inside_current(&self) -> Option<&InsideAnswer> {
        let key = self.inside_wanted()?;
        self.inside.as_ref().filter(|a| a.key == key)
    }

    /// The text typed, with generated tokens appended as their text.
    pub fn full_text(&self) -> String {
        let Some((snap, info)) = self.snap.as_ref().zip(self.info.as_ref()) else {
            return self.prompt.clone();
        };
        let skip = usize::from(info.bos.is_some() && snap.ids.first() == info.bos.as_ref());
        info.codec.decode(&snap.ids[skip..])
    }

    fn move_cursor(&mut self, to: isize) {
        let n = self.n_tokens();
        if n == 0 {
            return;
        }
        self.cursor = to.clamp(0, n as isize - 1) as usize;
    }

    fn select_head(&mut self, layer: usize, head: usize) {
        let (n_layers, n_heads) = self.dims();
        if n_layers == 0 {
            return;
        }
        self.layer = layer.min(n_layers - 1);
        self.head = head.min(n_heads - 1);
    }
}
