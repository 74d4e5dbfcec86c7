//! The tutor's side of lessons: which lesson and step is open, applying a step's view, checking its
//! task after every change, and asking for progress to be saved (an [`Effect`](super::Effect)).

use std::path::PathBuf;

use ratatui::crossterm::event::{KeyCode, KeyEvent};

use super::keymap::Action;
use super::worker::Request;
use super::{App, Overlay, TrainingPage, View};
use crate::lesson::progress::{Notice, Opened, Progress};
use crate::lesson::task::{check, Acted, Criterion, Evidence, Observed, Outcome};
use crate::lesson::{Lesson, LessonError, PositionsMode, Step};
use crate::model::loader::known::KnownModel;

#[derive(Debug, Default)]
pub struct Lessons {
    pub all: Vec<Lesson>,
    /// Files that did not load, shown in the list.
    pub errors: Vec<LessonError>,
    /// Index of the open lesson.
    pub current: Option<usize>,
    pub step: usize,
    pub outcome: Option<Outcome>,
    pub hints_shown: usize,
    /// Lines the step's text is scrolled by.
    pub scroll: u16,
    /// Temperatures the next-token distribution was shown at during this step, once the learner
    /// changed it.
    pub temps_seen: Vec<f32>,
    /// The state the step's setup left (taken at the first check after its prompt ran), against
    /// which the learner's own actions are told apart from the setup's.
    pub start: Option<StepStart>,
    /// What the learner has changed since the step began.
    pub acted: Acted,
    pub progress: Progress,
    pub progress_path: Option<PathBuf>,
    /// The last problem saving progress, shown in the status line until a save succeeds.
    pub save_error: Option<String>,
    /// What happened to a progress file that could not be used (set aside, or not saved to), shown
    /// in the status line at start and in the lesson list.
    pub notice: Option<Notice>,
    /// Real models some lessons are written for that are not downloaded here (looked for once, when
    /// the lessons are loaded), so the pane and the list can say how to get them.
    pub missing_models: Vec<String>,
    /// The learner has pressed a key since: the status line no longer shows the notice.
    pub notice_seen: bool,
    /// Progress changed since it was last handed over to be saved.
    pub(super) unsaved: bool,
}

/// What a task may depend on, as the step's setup left it.
#[derive(Debug, Clone, PartialEq)]
pub struct StepStart {
    pub cursor: usize,
    pub head: (usize, usize),
    /// The panel on screen, as lessons name it (the Training view's pages count as two).
    pub view: &'static str,
    pub temperature: f32,
    pub ablation: Option<(usize, usize)>,
    pub unscaled: bool,
    /// The position what-if of the run on screen.
    pub positions: Option<crate::model::PositionEdit>,
    pub n_tokens: usize,
    pub prompt: String,
}

impl StepStart {
    fn of(app: &App) -> Self {
        Self {
            cursor: app.cursor,
            head: (app.layer, app.head),
            view: app.panel_name(),
            temperature: app.sampling.temperature,
            ablation: app.what_if.ablation,
            unscaled: app.what_if.unscaled,
            positions: app.snap.as_ref().and_then(|s| s.positions),
            n_tokens: app.n_tokens(),
            prompt: app.prompt.clone(),
        }
    }
}

impl Lessons {
    /// The lessons, and the progress the shell read (see [`Progress::open`]): the app itself reads
    /// and writes no file.
    pub fn new(all: Vec<Lesson>, errors: Vec<LessonError>, opened: Opened) -> Self {
        let mut missing_models: Vec<String> = all
            .iter()
            .map(|l| &l.meta.model)
            .filter(|m| KnownModel::named(m).is_some_and(|k| k.find().is_none()))
            .cloned()
            .collect();
        missing_models.sort();
        missing_models.dedup();
        Self {
            all,
            errors,
            missing_models,
            progress: opened.progress,
            progress_path: opened.path,
            notice: opened.notice,
            ..Self::default()
        }
    }

    pub fn lesson(&self) -> Option<&Lesson> {
        self.all.get(self.current?)
    }

    pub fn current_step(&self) -> Option<&Step> {
        self.lesson()?.steps.get(self.step)
    }

    /// Steps done of a lesson, for the list.
    pub fn done_count(&self, lesson: &Lesson) -> usize {
        self.progress
            .lessons
            .get(&lesson.meta.id)
            .map_or(0, |p| p.done.len())
    }

    pub fn is_completed(&self, lesson: &Lesson) -> bool {
        self.progress
            .lessons
            .get(&lesson.meta.id)
            .is_some_and(|p| p.completed)
    }

    /// Progress changed: the next [`App::take_effects`] asks for it to be saved.
    fn save(&mut self) {
        self.unsaved = true;
    }
}

impl App {
    /// Open lesson `index` at the step saved in the progress file; returns the prompt request.
    pub fn open_lesson(&mut self, index: usize) -> Vec<Request> {
        let Some(lesson) = self.lessons.all.get(index).cloned() else {
            return Vec::new();
        };
        let id = lesson.meta.id.clone();
        let saved = self.lessons.progress.lesson_mut(&id).step;
        let step = saved.min(lesson.steps.len().saturating_sub(1));
        self.lessons.current = Some(index);
        self.lessons.progress.last = Some(id);
        self.overlay = Overlay::None;
        self.lessons.save();
        let mut out = vec![];
        // A lesson opens on its own prompt as plain text (a step can ask for the chat template).
        let prompt = lesson.meta.prompt.clone();
        if self.prompt != prompt || self.chat {
            self.chat = false;
            out.push(self.set_prompt(prompt));
        }
        out.extend(self.go_to_step(step));
        out
    }

    /// Show step `step` of the open lesson: set its view and reset the task's state.
    pub fn go_to_step(&mut self, step: usize) -> Vec<Request> {
        let Some(lesson) = self.lessons.lesson().cloned() else {
            return Vec::new();
        };
        let step = step.min(lesson.steps.len().saturating_sub(1));
        self.lessons.step = step;
        self.lessons.hints_shown = 0;
        self.lessons.scroll = 0;
        self.lessons.outcome = None;
        self.lessons.temps_seen.clear();
        self.lessons.start = None;
        self.lessons.acted = Acted::default();
        // The what-ifs of one step (or lesson) do not leak into the next: each starts from the model
        // as it is, unless its view sets them, and the status line forgets what no longer holds.
        self.what_if.ablation = None;
        let mut positions = None;
        self.what_if.unscaled = false;
        self.sampling.temperature = 1.0;
        self.sampling.sample = false;
        // The Training view's page too: a step that asks for the curve must not find the family.
        self.training_page = TrainingPage::Curve;
        self.status.clear();
        let entry = self.lessons.progress.lesson_mut(&lesson.meta.id);
        entry.step = step;
        entry.furthest = entry.furthest.max(step);
        self.update_completion();
        self.lessons.save();
        let mut out = Vec::new();
        if let Some(view) = &lesson.steps[step].view {
            // A step's prompt is plain text unless it says chat = true; chat alone puts the prompt
            // in force into the template (or takes it out).
            if view.prompt.is_some() || view.chat.is_some() {
                let prompt = view.prompt.clone().unwrap_or_else(|| self.prompt.clone());
                let mut chat = view.chat.unwrap_or(view.prompt.is_none() && self.chat);
                if chat && self.info.is_some() && !self.has_chat_template() {
                    self.status = "this step puts its prompt in a chat template, which this model does not have".into();
                    chat = false;
                }
                if prompt != self.prompt || chat != self.chat {
                    self.chat = chat;
                    out.push(self.set_prompt(prompt));
                }
            }
            if let Some(panel) = &view.panel {
                self.view = View::from_panel(panel).unwrap_or(self.view);
                if panel == "scaling" {
                    self.training_page = TrainingPage::Scaling;
                }
                // The Lens view's page: the one the step names.
                if panel == "attribution" {
                    self.lens_page = super::LensPage::Attribution;
                } else if panel == "lens" {
                    self.lens_page = super::LensPage::Lens;
                }
            }
            let (n_layers, n_heads) = self.dims();
            if let Some(l) = view.layer {
                self.layer = l.min(n_layers.saturating_sub(1));
            }
            if let Some(h) = view.head {
                self.head = h.min(n_heads.saturating_sub(1));
            }
            if let Some(t) = view.temperature {
                self.sampling.temperature = t;
            }
            if let Some(m) = view.score.as_deref().and_then(Criterion::parse) {
                self.head_metric = m;
            }
            if let Some(u) = view.unscaled {
                self.what_if.unscaled = u;
            }
            if let Some(a) = &view.ablate {
                self.what_if.ablation = match a.as_slice() {
                    [l, h] if *l < n_layers && *h < n_heads => Some((*l, *h)),
                    // A lesson written for a bigger model: no head to switch off here.
                    [l, h] => {
                        self.status = format!(
                            "this step ablates L{l}H{h}, which this model ({n_layers} layers × {n_heads} heads) does not have"
                        );
                        None
                    }
                    _ => None,
                };
            }
            if let Some(mode) = view.positions {
                positions = mode.edit();
                if mode == PositionsMode::Reversed && self.rotary() {
                    self.status = "this step reverses a learned position table, which this model (rotary) does not have".into();
                    positions = None;
                }
            }
            self.pending_cursor = view.cursor;
            self.apply_pending_cursor();
        }
        out.extend(self.set_positions(positions));
        out
    }

    /// A lesson's cursor is a token index (negative from the end), applied once the prompt is in.
    pub(super) fn apply_pending_cursor(&mut self) {
        let Some(c) = self.pending_cursor else { return };
        let n = self.n_tokens() as i64;
        if n == 0 || self.busy.is_some() {
            return;
        }
        let i = if c < 0 { n + c } else { c };
        self.cursor = i.clamp(0, n - 1) as usize;
        self.pending_cursor = None;
    }

    /// The prompt the open step is about and whether it is in the chat template: the last ones the
    /// views up to this step set (as [`App::go_to_step`] applies them), else the lesson's, plain.
    fn step_prompt(&self) -> Option<(String, bool)> {
        let lesson = self.lessons.lesson()?;
        let mut setup = (lesson.meta.prompt.clone(), false);
        let upto = self.lessons.step.min(lesson.steps.len() - 1);
        for view in lesson.steps[..=upto].iter().filter_map(|s| s.view.as_ref()) {
            match (&view.prompt, view.chat) {
                (Some(p), chat) => setup = (p.clone(), chat.unwrap_or(false)),
                (None, Some(chat)) => setup.1 = chat,
                (None, None) => {}
            }
        }
        setup.1 &= self.info.is_none() || self.has_chat_template();
        Some(setup)
    }

    /// Run `prompt` (a question in the template when chat mode is on) as the new prompt.
    pub(super) fn set_prompt(&mut self, prompt: String) -> Request {
        self.queued = 0;
        self.prompt = prompt.clone();
        self.prompt_len = 0;
        self.busy = Some("running the prompt…".into());
        self.in_flight += 1;
        self.prompt_request(prompt)
    }

    /// Check the open step's task against what the learner sees now; record it when done.
    pub fn check_task(&mut self) {
        let Some(task) = self.lessons.current_step().and_then(|s| s.task.clone()) else {
            return;
        };
        let Some(snap) = self.snap.as_ref() else {
            return;
        };
        let kind = task.kind;
        // Not while the step's prompt runs or its cursor waits to be placed; and a task once done
        // stays done for the step, wherever the learner looks next.
        let done = matches!(self.lessons.outcome, Some(Outcome::Done(_)));
        if self.busy.is_some() || self.pending_cursor.is_some() || done {
            return;
        }
        let now = StepStart::of(self);
        let start = self
            .lessons
            .start
            .get_or_insert_with(|| now.clone())
            .clone();
        let acted = &mut self.lessons.acted;
        acted.cursor |= now.cursor != start.cursor;
        acted.head |= now.head != start.head;
        acted.view |= now.view != start.view;
        acted.temperature |= now.temperature != start.temperature;
        acted.ablation |= now.ablation != start.ablation;
        acted.unscaled |= now.unscaled != start.unscaled;
        acted.positions |= now.positions != start.positions;
        acted.prompt |= now.prompt != start.prompt;
        acted.generated = now.n_tokens.saturating_sub(start.n_tokens);
        if acted.temperature && !self.lessons.temps_seen.contains(&self.sampling.temperature) {
            self.lessons.temps_seen.push(self.sampling.temperature);
        }
        let clean = self.next_probs();
        let ablated = self.ablated_probs();
        let full_text = self.full_text();
        let observed = Observed {
            ids: &snap.ids,
            evidence: &*self,
            cursor: self.cursor,
            layer: self.layer,
            head: self.head,
            panel: self.panel_name(),
            unscaled: self.what_if.unscaled,
            temperatures_seen: &self.lessons.temps_seen,
            acted: self.lessons.acted,
            prompt: &full_text,
            ablation: self.what_if.ablation,
            clean_probs: clean.as_deref(),
            ablated_probs: ablated.as_deref(),
            positions: now.positions,
        };
        let outcome = match check(&kind, &observed) {
            Ok(o) => o,
            Err(e) => Outcome::NotYet(format!("cannot check this task: {e}")),
        };
        let newly_done =
            outcome.is_done() && !matches!(self.lessons.outcome, Some(Outcome::Done(_)));
        self.lessons.outcome = Some(outcome);
        if newly_done {
            let step = self.lessons.step;
            if let Some(id) = self.lessons.lesson().map(|l| l.meta.id.clone()) {
                self.lessons.progress.lesson_mut(&id).done.insert(step);
                self.update_completion();
                self.lessons.save();
            }
        }
    }

    /// The open lesson is complete once every task is done and its last step has been reached, in
    /// whichever order the learner got there.
    fn update_completion(&mut self) {
        let Some(lesson) = self.lessons.lesson() else {
            return;
        };
        let n_steps = lesson.steps.len();
        let tasks: Vec<usize> = (0..n_steps)
            .filter(|&i| lesson.steps[i].task.is_some())
            .collect();
        let id = lesson.meta.id.clone();
        let entry = self.lessons.progress.lesson_mut(&id);
        let all_done = tasks.iter().all(|i| entry.done.contains(i));
        if all_done && entry.furthest + 1 >= n_steps {
            entry.completed = true;
        }
    }

    /// A key while the lesson list is open: ↑ ↓ choose, Enter opens, q quits, anything else closes it.
    pub(super) fn on_lesson_list_key(&mut self, key: KeyEvent) -> Vec<Request> {
        let Overlay::LessonList(sel) = self.overlay else {
            return Vec::new();
        };
        let n = self.lessons.all.len();
        match key.code {
            KeyCode::Up | KeyCode::Char('k') => {
                self.overlay = Overlay::LessonList(sel.saturating_sub(1))
            }
            KeyCode::Down | KeyCode::Char('j') => {
                self.overlay = Overlay::LessonList((sel + 1).min(n.saturating_sub(1)))
            }
            KeyCode::Enter => return self.open_lesson(sel),
            KeyCode::Char('q') => self.quit = true,
            _ => self.overlay = Overlay::None,
        }
        Vec::new()
    }

    /// A lesson key of the main view ([`Action::LessonList`] and the step keys, which need an open
    /// lesson).
    pub(super) fn on_lesson_action(&mut self, action: Action) -> Vec<Request> {
        if action == Action::LessonList {
            self.overlay = Overlay::LessonList(self.lessons.current.unwrap_or(0));
            return Vec::new();
        }
        // The text scrolls no further than its end as last drawn (the guide before any lesson too).
        let max = self.hits.borrow().lesson_scroll_max.unwrap_or(u16::MAX);
        match action {
            Action::LessonScrollDown => {
                self.lessons.scroll = self.lessons.scroll.saturating_add(3).min(max);
                return Vec::new();
            }
            Action::LessonScrollUp => {
                self.lessons.scroll = self.lessons.scroll.min(max).saturating_sub(3);
                return Vec::new();
            }
            _ => {}
        }
        if self.lessons.current.is_none() {
            return Vec::new();
        }
        match action {
            Action::StepNext => {
                let next = self.lessons.step + 1;
                let last = self.lessons.lesson().map_or(0, |l| l.steps.len() - 1);
                if next > last {
                    self.status = "last step: L lists the other lessons".into();
                    return Vec::new();
                }
                return self.go_to_step(next);
            }
            Action::StepPrev => return self.go_to_step(self.lessons.step.saturating_sub(1)),
            Action::RestorePrompt => {
                let Some((prompt, chat)) = self.step_prompt() else {
                    return Vec::new();
                };
                let same = if chat {
                    self.chat && self.prompt == prompt && self.n_tokens() == self.prompt_len
                } else {
                    !self.chat && self.full_text() == prompt
                };
                if same {
                    self.status = "this is the step's prompt already".into();
                    return Vec::new();
                }
                self.status = "the step's prompt again".into();
                self.chat = chat;
                return vec![self.set_prompt(prompt)];
            }
            Action::Hint => {
                let n = self
                    .lessons
                    .current_step()
                    .and_then(|s| s.task.as_ref())
                    .map_or(0, |t| t.hints.len());
                self.lessons.hints_shown = (self.lessons.hints_shown + 1).min(n);
                if n == 0 {
                    self.status = "this step has no hints".into();
                } else {
                    // Show the new hint: on a short screen the task and its hints follow the text
                    // (a hint can be what pushes them there), so the text scrolls to its end, as
                    // far as the pane lets it.
                    self.lessons.scroll = u16::MAX;
                }
            }
            _ => {}
        }
        Vec::new()
    }
}

/// A task reads the worker's answers, once they are here.
impl Evidence for App {
    fn head_scores(&self, c: Criterion) -> candle_core::Result<Option<Vec<Vec<f32>>>> {
        Ok(self.head_scores_by(c))
    }

    fn pattern(
        &self,
        layer: usize,
        head: usize,
    ) -> candle_core::Result<Option<crate::analysis::heatmap::Heatmap>> {
        Ok(self
            .head_map_of(View::Attention, layer, head)
            .map(|m| (*m).clone()))
    }

    fn token_losses(&self) -> candle_core::Result<Option<Vec<f32>>> {
        Ok(self.token_losses())
    }
}
