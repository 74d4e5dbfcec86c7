//! Keys and mouse clicks -> state changes and worker requests; what each key means is in [`super::keymap`].

use ratatui::crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};

use super::keymap::{action_of, Action as A, KEYS};
use super::worker::Request;
use super::{App, Overlay, TrainingPage, View};
use crate::model::sampling::SamplingConfig;

const TEMPERATURES: &[f32] = &[0.1, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0, 5.0];

impl App {
    /// Handle one key press; returns what the worker must do (effects wait in [`App::take_effects`]).
    pub fn on_key(&mut self, key: KeyEvent) -> Vec<Request> {
        if key.kind == KeyEventKind::Release {
            return Vec::new();
        }
        self.lessons.notice_seen = true;
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl && matches!(key.code, KeyCode::Char('c') | KeyCode::Char('q')) {
            self.quit = true;
            return Vec::new();
        }
        // Raw mode turns Ctrl-Z into a key: suspend as the shell would have.
        if ctrl && key.code == KeyCode::Char('z') {
            self.effects.push(super::Effect::Suspend);
            return Vec::new();
        }
        // An overlay takes the keys first; the main view gets them only when nothing covers it.
        match &mut self.overlay {
            Overlay::None => {}
            Overlay::Editing(_) => return self.on_edit_key(key),
            Overlay::Help { scroll } => {
                // ↑ ↓ scroll a help box that does not fit; any other key closes it; q still quits.
                match key.code {
                    KeyCode::Down | KeyCode::Char('j') => {
                        // No further than the box's end as last drawn (descriptions wrap when narrow).
                        let max = self.hits.borrow().help_scroll_max;
                        *scroll = (*scroll + 1).min(max.unwrap_or(KEYS.len() as u16))
                    }
                    KeyCode::Up | KeyCode::Char('k') => *scroll = scroll.saturating_sub(1),
                    code => {
                        self.overlay = Overlay::None;
                        if code == KeyCode::Char('q') {
                            self.quit = true;
                        }
                    }
                }
                return Vec::new();
            }
            Overlay::LessonList(_) => {
                let mut out = self.on_lesson_list_key(key);
                out.extend(self.follow_ups());
                self.check_task();
                return out;
            }
        }
        let Some(action) = action_of(key.code) else {
            return Vec::new();
        };
        let (n_layers, n_heads) = self.dims();
        let mut out = Vec::new();
        match action {
            A::Quit => self.quit = true,
            A::Help => self.overlay = Overlay::Help { scroll: 0 },
            A::CursorLeft => self.move_cursor(self.cursor as isize - 1),
            A::CursorRight => self.move_cursor(self.cursor as isize + 1),
            A::CursorFirst => self.move_cursor(0),
            A::CursorLast => self.move_cursor(isize::MAX / 2),
            A::HeadUp if n_heads > 0 => self.head = (self.head + n_heads - 1) % n_heads,
            A::HeadDown if n_heads > 0 => self.head = (self.head + 1) % n_heads,
            A::LayerPrev if n_layers > 0 => self.layer = (self.layer + n_layers - 1) % n_layers,
            A::LayerNext if n_layers > 0 => self.layer = (self.layer + 1) % n_layers,
            A::ViewNext => self.view = self.view.cycled(true),
            A::ViewPrev => self.view = self.view.cycled(false),
            A::ViewJump(i) => self.view = View::ALL[i.min(View::ALL.len() - 1)],
            A::GenerateOrOpen if self.view == View::Heads && key.code == KeyCode::Enter => {
                self.view = View::Attention
            }
            A::GenerateOrOpen => out.extend(self.generate()),
            A::ToggleSampling => {
                self.sampling.sample = !self.sampling.sample;
                self.status = if self.sampling.sample {
                    format!("sampling at temperature {}", self.sampling.temperature)
                } else {
                    "greedy: the most probable token".into()
                };
            }
            A::TemperatureUp => self.step_temperature(true),
            A::TemperatureDown => self.step_temperature(false),
            // Backspace also takes back generate presses still waiting.
            A::PopToken if self.queued > 0 => self.queued -= 1,
            A::PopToken if self.busy.is_none() && self.n_tokens() > 1 => {
                self.busy = Some("removing the last token…".into());
                self.in_flight += 1;
                out.push(Request::Pop);
            }
            A::EditPrompt => self.overlay = Overlay::Editing(self.edit_text().as_str().into()),
            A::ToggleChat => out.extend(self.toggle_chat()),
            A::Ablate => {
                let selected = (self.layer, self.head);
                self.what_if.ablation = if self.what_if.ablation == Some(selected) {
                    self.status = "ablation off".into();
                    None
                } else {
                    self.status = format!(
                        "L{}H{} ablated: its output is zeroed",
                        selected.0, selected.1
                    );
                    Some(selected)
                };
            }
            A::Positions => out.extend(self.cycle_positions()),
            A::Unscaled => {
                self.what_if.unscaled = !self.what_if.unscaled;
                self.status = if self.what_if.unscaled {
                    "what-if: scores without 1/√dₖ".into()
                } else {
                    "scores scaled by 1/√dₖ, as the model computes them".into()
                };
            }
            A::Dense => self.dense = !self.dense,
            A::CycleMetric if self.view == View::Training => {
                self.training_page = match self.training_page {
                    TrainingPage::Curve => TrainingPage::Scaling,
                    TrainingPage::Scaling => TrainingPage::Curve,
                };
                self.status = match self.training_page {
                    TrainingPage::Curve => "Training: this model's training curve",
                    TrainingPage::Scaling => "Training: the scaling family (i: back to the curve)",
                }
                .into();
            }
            A::CycleMetric if self.view == View::Lens => self.toggle_lens_page(),
            A::NextTarget => self.next_target(),
            A::NextVersus => self.next_versus(),
            A::CycleMetric => {
                self.head_metric = self.head_metric.cycled();
                self.status = format!(
                    "Heads view shows each head's {}",
                    self.head_metric.describe()
                );
            }
            A::Export => self
                .effects
                .push(super::Effect::ExportPng { dir: ".".into() }),
            A::LessonList
            | A::StepNext
            | A::StepPrev
            | A::Hint
            | A::RestorePrompt
            | A::LessonScrollDown
            | A::LessonScrollUp => out.extend(self.on_lesson_action(action)),
            _ => {}
        }
        out.extend(self.follow_ups());
        self.check_task();
        out
    }

    /// Generate a token now, or once the model is free: presses while it works are counted and
    /// carried out one after another ([`App::next_queued`]), never dropped.
    pub(super) fn generate(&mut self) -> Vec<Request> {
        let n_ctx = self.info.as_ref().map_or(0, |i| i.config.n_ctx);
        if self.busy.is_none() && self.turn_over() {
            self.stop_at_turn_end();
            return Vec::new();
        }
        if self.busy.is_some() || self.snap.is_none() {
            let room = n_ctx.saturating_sub(self.n_tokens() + 1);
            self.queued = (self.queued + 1).min(room);
            return Vec::new();
        }
        if self.n_tokens() >= n_ctx {
            self.queued = 0;
            self.error = Some(format!(
                "the context is full ({n_ctx} tokens): remove tokens with Backspace"
            ));
            return Vec::new();
        }
        self.busy = Some("generating…".into());
        self.sampling.seed = self
            .sampling
            .seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1);
        self.in_flight += 1;
        vec![Request::Generate(SamplingConfig {
            temperature: if self.sampling.sample {
                f64::from(self.sampling.temperature)
            } else {
                0.0
            },
            top_k: None,
            top_p: None,
            seed: self.sampling.seed,
        })]
    }

    fn step_temperature(&mut self, up: bool) {
        let t = self.sampling.temperature;
        self.sampling.temperature = if up {
            TEMPERATURES.iter().copied().find(|&x| x > t + 1e-6)
        } else {
            TEMPERATURES.iter().rev().copied().find(|&x| x < t - 1e-6)
        }
        .unwrap_or(t);
        self.status = format!("temperature {}", self.sampling.temperature);
    }

    fn on_edit_key(&mut self, key: KeyEvent) -> Vec<Request> {
        let Overlay::Editing(buf) = &mut self.overlay else {
            return Vec::new();
        };
        match key.code {
            KeyCode::Esc => self.overlay = Overlay::None,
            KeyCode::Enter => {
                let text = buf.text().to_string();
                self.overlay = Overlay::None;
                self.queued = 0;
                if self.lessons.current.is_some() {
                    self.status = "your own prompt: R brings back the lesson's".into();
                }
                self.prompt = text.clone();
                self.prompt_len = 0; // the next snapshot is all prompt
                self.busy = Some("running the prompt…".into());
                self.in_flight += 1;
                // In chat mode the edited question goes through the template again.
                return vec![self.prompt_request(text)];
            }
            _ => buf.on_key(key),
        }
        Vec::new()
    }

    /// Handle a mouse event: a left click selects a tab, a token, a head or a heatmap row.
    pub fn on_mouse(&mut self, event: MouseEvent) -> Vec<Request> {
        let editing = matches!(self.overlay, Overlay::Editing(_));
        if event.kind != MouseEventKind::Down(MouseButton::Left) || editing {
            return Vec::new();
        }
        let (x, y) = (event.column, event.row);
        let inside = |r: &ratatui::layout::Rect| {
            x >= r.x && x < r.x + r.width && y >= r.y && y < r.y + r.height
        };
        let hits = self.hits.borrow().clone();
        if let Some((_, view)) = hits.tabs.iter().find(|(r, _)| inside(r)) {
            self.view = *view;
        } else if let Some((_, i)) = hits.tokens.iter().find(|(r, _)| inside(r)) {
            self.move_cursor(*i as isize);
        } else if let Some((_, l, h)) = hits.heads.iter().find(|(r, _, _)| inside(r)) {
            self.select_head(*l, *h);
            self.view = View::Attention;
        } else if let Some(hit) = hits.heatmap.filter(|h| inside(&h.area)) {
            let line = usize::from(y - hit.area.y);
            self.move_cursor((hit.row0 + line * hit.rows_per_line) as isize);
        }
        let out = self.follow_ups();
        self.check_task();
        out
    }
}
